/*
 * The supervisor's loop while the container runs: copy the host's stdin to the container and the
 * container's output to the host's stdout/stderr (through pipes, or through the pty master) or
 * into the log of a detached container, act on signals, and notice when the command has ended.
 *
 * Only pipes and sockets of the host are handed to the command as they are (supervise.c,
 * prepare_stdio): anything else, a terminal, a file, a device, is relayed, so the container can
 * neither reopen it through /proc/self/fd nor inject input into a terminal. Relayed bytes move with
 * splice(2) where the kernel allows it (a pipe on one side), so they are not copied through here;
 * a terminal on either side takes read and write.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

static struct termios saved_termios;
static int saved_fd = -1;

int terminal_raw(int fd)
{
	struct termios t;
	if (tcgetattr(fd, &saved_termios) < 0)
		return -errno;
	t = saved_termios;
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	saved_fd = fd;
	return 0;
}

void terminal_restore(void)
{
	if (saved_fd >= 0)
		tcsetattr(saved_fd, TCSANOW, &saved_termios);
	saved_fd = -1;
}

void copy_winsize(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

/* One direction of the relay. */
struct flow {
	int from, to;
	int spliced; /* 1 until splice(2) says this pair cannot be spliced */
};

/* Moves what is readable now; returns 0 on EOF or when the other end is gone, 1 otherwise. */
static int move(struct flow *f)
{
	char buf[16384];
	if (f->spliced) {
		ssize_t n = splice(f->from, NULL, f->to, NULL, 1 << 20, SPLICE_F_MOVE);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno == EINTR || errno == EAGAIN)
			return 1;
		if (errno != EINVAL)
			return 0;
		f->spliced = 0; /* a terminal, or a file system without splice: read and write */
	}
	ssize_t n = read(f->from, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0) /* EOF, or EIO on a pty master once the last slave is closed */
		return 0;
	return write_all(f->to, buf, (size_t)n) < 0 ? 0 : 1;
}

/* Detached: the output goes into the log, line by line, and to the console's client if one is
 * attached; a log that cannot be written never stops the reading (log.c counts what is lost). */
static int to_log(struct log *log, int stream, int from)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0)
		return 0;
	log_write(log, stream, buf, (size_t)n);
	console_output(stream, buf, (size_t)n);
	return 1;
}

/* EOF on the host's stdin: a pipe is closed; a pty gets its EOF character. */
static void end_input(struct relay *r)
{
	if (r->in_to == r->pty_master) {
		struct termios t;
		char eof = 4;
		if (tcgetattr(r->pty_master, &t) == 0)
			eof = (char)t.c_cc[VEOF];
		write_all(r->pty_master, &eof, 1);
	} else {
		close(r->in_to);
	}
	r->in_from = -1;
}

/* 1 once the command has ended (its status in *wstatus). */
static int take_signal(struct relay *r, pid_t child, int *wstatus)
{
	struct signalfd_siginfo si;
	if (read(r->sigfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	int sig = (int)si.ssi_signo;
	if (sig == SIGCHLD)
		return waitpid(child, wstatus, WNOHANG) == child;
	if (sig == SIGWINCH && r->pty_master >= 0)
		copy_winsize(STDIN_FILENO, r->pty_master);
	else if (sig != SIGWINCH)
		kill(child, sig);
	if (sig == SIGTERM)
		r->stopping = 1;
	return 0;
}

/* A restart's back-off (restart.c): ms of waiting, with signals taken meanwhile. Returns 0 once the
 * time is up, -1 when SIGTERM came (box stop: no restart). */
int relay_wait(struct relay *r, unsigned int ms)
{
	struct timespec end, now;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (long)(ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	while (!r->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long left = (long long)(end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
		if (left <= 0)
			return 0;
		struct pollfd fds[4] = { { .fd = r->sigfd, .events = POLLIN } };
		struct signalfd_siginfo si;
		int n = console_poll(r, fds, 1); /* clients may come and go meanwhile; input goes nowhere */
		if (poll(fds, (nfds_t)n, (int)(left > 60000 ? 60000 : left)) <= 0)
			continue;
		if ((fds[0].revents & POLLIN) && read(r->sigfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGTERM)
				r->stopping = 1;
			while (si.ssi_signo == SIGCHLD && waitpid(-1, NULL, WNOHANG) > 0)
				;
		}
		console_events(r, fds, 0);
	}
	return -1;
}

int relay_run(struct relay *r, pid_t child, int *wstatus)
{
	struct flow in = { r->in_from, r->in_to, 1 };
	struct flow out[2] = { { r->out_from[0], r->out_to[0], 1 }, { r->out_from[1], r->out_to[1], 1 } };
	int exited = 0;
	for (;;) {
		struct pollfd fds[8];
		int n = 0, in_i = -1, out_i[2] = { -1, -1 }, blocked = console_blocked();
		fds[n++] = (struct pollfd){ .fd = r->sigfd, .events = POLLIN };
		if (r->in_from >= 0 && !exited) {
			in_i = n;
			fds[n++] = (struct pollfd){ .fd = r->in_from, .events = POLLIN };
		}
		for (int i = 0; i < 2 && !blocked; i++) {
			if (r->out_from[i] >= 0) {
				out_i[i] = n;
				fds[n++] = (struct pollfd){ .fd = r->out_from[i], .events = POLLIN };
			}
		}
		n = console_poll(r, fds, n);
		if (exited && r->out_from[0] < 0 && r->out_from[1] < 0)
			return 0;
		/* Once the command is gone, nothing can write any more: drain what is buffered, waiting
		 * only for a console client to take what it was sent. */
		int ready = poll(fds, (nfds_t)n, exited ? (blocked ? 2000 : 0) : -1);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (exited && ready == 0)
			return 0;
		if ((fds[0].revents & POLLIN) && take_signal(r, child, wstatus))
			exited = 1;
		if (in_i >= 0 && fds[in_i].revents && !move(&in))
			end_input(r);
		for (int i = 0; i < 2; i++) {
			if (out_i[i] < 0 || !fds[out_i[i]].revents)
				continue;
			if (r->log ? to_log(r->log, i + 1, r->out_from[i]) : move(&out[i]))
				continue;
			if (r->out_from[i] != r->pty_master)
				close(r->out_from[i]);
			r->out_from[i] = -1;
		}
		console_events(r, fds, exited ? 0 : child);
	}
}

/* After a run: what is left of its relay (a pipe some dying process still held, the pty) closed,
 * so the next run starts from nothing. */
void relay_close(struct relay *r)
{
	for (int i = 0; i < 2; i++)
		if (r->out_from[i] >= 0 && r->out_from[i] != r->pty_master)
			close(r->out_from[i]);
	if (r->in_to >= 0 && r->in_to != r->pty_master)
		close(r->in_to);
	if (r->pty_master >= 0)
		close(r->pty_master);
	r->out_from[0] = r->out_from[1] = r->in_to = r->pty_master = -1;
}
