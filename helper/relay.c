/*
 * The supervisor's loop while the container runs: copy the host's stdin to the container and the
 * container's output to the host's stdout/stderr (through pipes, or through the pty master), act on
 * signals, and notice when the container's init has ended.
 *
 * Relaying is only used where the host's fd is a terminal (or with -t): the host's terminal never
 * enters the container, so TIOCSTI and friends cannot reach it. Plain pipes and files are passed to
 * the command directly and cost nothing here.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
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

/* A detached container's log past its cap: the current file becomes .1 (replacing the older one)
 * and a fresh one takes its fd, so the log keeps at most twice the cap. */
static void rotate_log(struct relay *r, int fd)
{
	struct stat st;
	char old[4200];
	if (fstat(fd, &st) < 0 || st.st_size < r->log_cap)
		return;
	snprintf(old, sizeof(old), "%s.1", r->log_path);
	rename(r->log_path, old);
	int nfd = open(r->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (nfd >= 0) {
		dup3(nfd, fd, O_CLOEXEC);
		close(nfd);
	}
}

/* Copies what is readable now; returns 0 on EOF (or when the reader end is gone), 1 otherwise. */
static int pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0) /* EOF, or EIO on a pty master once the last slave is closed */
		return 0;
	return write_all(to, buf, (size_t)n) < 0 ? 0 : 1;
}

int relay_run(struct relay *r, pid_t child, int *wstatus)
{
	int exited = 0;
	for (;;) {
		struct pollfd fds[4];
		int n = 0, in_i = -1, out_i[2] = { -1, -1 };
		fds[n++] = (struct pollfd){ .fd = r->sigfd, .events = POLLIN };
		if (r->in_from >= 0 && !exited) {
			in_i = n;
			fds[n++] = (struct pollfd){ .fd = r->in_from, .events = POLLIN };
		}
		for (int i = 0; i < 2; i++) {
			if (r->out_from[i] >= 0) {
				out_i[i] = n;
				fds[n++] = (struct pollfd){ .fd = r->out_from[i], .events = POLLIN };
			}
		}
		if (exited && out_i[0] < 0 && out_i[1] < 0)
			return 0;
		/* Once init is gone, nothing can write any more: drain what is buffered, without waiting. */
		int ready = poll(fds, (nfds_t)n, exited ? 0 : -1);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (exited && ready == 0)
			return 0;

		if (fds[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(r->sigfd, &si, sizeof(si)) == sizeof(si)) {
				int sig = (int)si.ssi_signo;
				if (sig == SIGCHLD) {
					if (waitpid(child, wstatus, WNOHANG) == child)
						exited = 1;
				} else if (sig == SIGWINCH && r->pty_master >= 0) {
					copy_winsize(STDIN_FILENO, r->pty_master);
				} else {
					kill(child, sig);
				}
			}
		}
		if (in_i >= 0 && fds[in_i].revents) {
			if (!pump(r->in_from, r->in_to)) {
				/* EOF on the host's stdin: a pipe is closed; a pty gets its EOF character. */
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
		}
		for (int i = 0; i < 2; i++) {
			if (out_i[i] >= 0 && fds[out_i[i]].revents) {
				int more = pump(r->out_from[i], r->out_to[i]);
				if (r->log_path && r->log_cap > 0)
					rotate_log(r, r->out_to[i]);
				if (!more) {
					if (r->out_from[i] != r->pty_master)
						close(r->out_from[i]);
					r->out_from[i] = -1;
				}
			}
		}
	}
}
