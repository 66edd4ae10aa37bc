/*
 * A client of a container's console (console.c, which documents the protocol): the process that
 * holds the user's terminal. It is box run -it's caller (over a socket pair made before the
 * supervisor was forked off, step 0 of supervise.c), or box attach (a plan of mode attach: the
 * socket by its path). The supervisor never holds the terminal, and nothing of the terminal ever
 * reaches the container: only bytes, in frames.
 *
 *   1. the hello (window size, whether stdin goes along, notes=1); the supervisor's "OK tty=X"
 *   2. the terminal raw, when the container has one and box's stdin is a terminal that goes along
 *   3. relay: stdin into 'i' frames (watching for the detach keys, which are not sent), EOF as
 *      'e'; SIGWINCH as 'w'; other signals as 's' (sig-proxy); 'o' and 'r' to stdout and stderr
 *   4. the end: 'x' (the terminal restored, what box says printed, its status ours), or the
 *      detach keys ('d', then 0: the container runs on), or the supervisor gone (125)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "helper.h"

static int send_frame(int sock, char type, const void *data, size_t len)
{
	unsigned char head[5] = { (unsigned char)type, (unsigned char)(len >> 24), (unsigned char)(len >> 16), (unsigned char)(len >> 8),
				  (unsigned char)len };
	int ret = write_all(sock, head, 5);
	return ret < 0 || len == 0 ? ret : write_all(sock, data, len);
}

static int send_u32(int sock, char type, unsigned int v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v };
	return send_frame(sock, type, b, 4);
}

static int send_winsize(int sock)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
		return 0;
	unsigned char b[4] = { (unsigned char)(ws.ws_row >> 8), (unsigned char)ws.ws_row, (unsigned char)(ws.ws_col >> 8), (unsigned char)ws.ws_col };
	return send_frame(sock, 'w', b, 4);
}

/* Step 1, the client's half: written before anything is read (box run -it writes it before the
 * supervisor exists, so the first output of the container already has a client). */
int attach_hello(int sock, int stdin_open)
{
	struct winsize ws = { 0 };
	char line[96];
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
		ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
	int n = snprintf(line, sizeof(line), "BOXATTACH 1 stdin=%d rows=%u cols=%u notes=1\n", stdin_open, ws.ws_row, ws.ws_col);
	int ret = write_all(sock, line, (size_t)n);
	return ret < 0 ? fail(-ret, "cannot talk to the container's console") : 0;
}

/* The supervisor's answer: "OK tty=X", or a sentence. Read a byte at a time: frames follow. */
static int greeting(int sock, int *tty)
{
	char line[600];
	size_t len = 0;
	while (len + 1 < sizeof(line)) {
		ssize_t n = read(sock, line + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(0, "the container's console closed before it answered: has the container ended?");
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	if (strncmp(line, "ERR ", 4) == 0)
		return fail(0, "%s", line + 4);
	if (strcmp(line, "OK tty=0") != 0 && strcmp(line, "OK tty=1") != 0)
		return fail(0, "the container's console answered something else than its protocol");
	*tty = line[7] == '1';
	return 0;
}

/* The detach keys: bytes that start the sequence are held back until it is clear whether it
 * comes; if it does not, they go on. Returns 1 when the sequence is complete. */
struct keys {
	const unsigned char *want;
	int n, held;
};

static int watch_keys(struct keys *k, const unsigned char *in, size_t len, unsigned char *out, size_t *out_len)
{
	*out_len = 0;
	for (size_t i = 0; i < len; i++) {
		if (k->n && in[i] == k->want[k->held]) {
			if (++k->held == k->n)
				return 1;
			continue;
		}
		memcpy(out + *out_len, k->want, (size_t)k->held);
		*out_len += (size_t)k->held;
		k->held = 0;
		if (k->n && in[i] == k->want[0])
			k->held = 1;
		else
			out[(*out_len)++] = in[i];
	}
	return 0;
}

/* What the supervisor sent: frames to stdout and stderr, until 'x'. Returns 1 with *status once
 * the command ended, 0 to go on, -1 when the supervisor is gone. */
static int from_console(int sock, int *status, char *notes, size_t notes_len)
{
	static unsigned char head[5];
	static size_t head_len, left;
	static unsigned char x[4];
	static size_t x_len, note_len;
	unsigned char buf[16384];
	ssize_t n = read(sock, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	for (size_t i = 0; i < (size_t)n;) {
		if (head_len < 5) {
			head[head_len++] = buf[i++];
			if (head_len == 5)
				left = (size_t)head[1] << 24 | (size_t)head[2] << 16 | (size_t)head[3] << 8 | head[4];
		} else {
			size_t take = left < (size_t)n - i ? left : (size_t)n - i;
			if (head[0] == 'o' || head[0] == 'r')
				write_all(head[0] == 'o' ? STDOUT_FILENO : STDERR_FILENO, buf + i, take);
			for (size_t j = 0; head[0] == 'x' && j < take; j++) {
				if (x_len < 4)
					x[x_len++] = buf[i + j];
				else if (note_len + 1 < notes_len)
					notes[note_len++] = (char)buf[i + j];
			}
			i += take;
			left -= take;
		}
		if (head_len == 5 && left == 0) {
			head_len = 0;
			if (head[0] == 'x') {
				notes[note_len] = '\0';
				*status = (int)((unsigned int)x[0] << 24 | (unsigned int)x[1] << 16 | (unsigned int)x[2] << 8 | x[3]);
				return 1;
			}
		}
	}
	return 0;
}

static int proxy_signals(void)
{
	static const int sigs[] = { SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* Steps 2 to 4, once the hello is sent. Returns box's exit status. */
int attach_relay(int sock, const unsigned char *keys, int n_keys, int stdin_open, int sig_proxy)
{
	struct keys k = { keys, n_keys, 0 };
	char notes[1024];
	int tty = 0, status = 0, done = 0, in_open = stdin_open;
	if (greeting(sock, &tty) < 0) {
		report_print(&g_report);
		return 125;
	}
	/* 2. */
	if (tty && stdin_open && isatty(STDIN_FILENO))
		terminal_raw(STDIN_FILENO);
	int sigfd = proxy_signals();
	if (tty)
		send_winsize(sock);
	/* 3. */
	while (!done) {
		struct pollfd fds[3] = { { .fd = sock, .events = POLLIN }, { .fd = sigfd, .events = POLLIN }, { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN } };
		if (poll(fds, 3, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents && (done = from_console(sock, &status, notes, sizeof(notes))) < 0)
			break;
		struct signalfd_siginfo si;
		if (fds[1].revents && read(sigfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGWINCH) {
				send_winsize(sock);
			} else if (sig_proxy) {
				send_u32(sock, 's', si.ssi_signo);
			} else if (si.ssi_signo != SIGUSR1 && si.ssi_signo != SIGUSR2) {
				/* Not passed on: it ends box alone, as it would a program that does not catch it,
				 * and the container runs on. */
				send_frame(sock, 'd', NULL, 0);
				terminal_restore();
				return 128 + (int)si.ssi_signo;
			}
		}
		if (!done && fds[2].revents) {
			unsigned char in[4096], out[4096 + PLAN_MAX_KEYS];
			size_t len;
			ssize_t n = read(STDIN_FILENO, in, sizeof(in));
			if (n <= 0 && !(n < 0 && errno == EINTR)) {
				in_open = 0;
				send_frame(sock, 'e', NULL, 0);
			} else if (n > 0) {
				int detach = watch_keys(&k, in, (size_t)n, out, &len);
				if (len)
					send_frame(sock, 'i', out, len);
				if (detach) {
					send_frame(sock, 'd', NULL, 0);
					terminal_restore();
					return 0;
				}
			}
		}
	}
	/* 4. */
	terminal_restore();
	if (done < 0) {
		fail(0, "the container's console went away without saying how the container ended");
		report_print(&g_report);
		return 125;
	}
	if (notes[0])
		write_all(STDERR_FILENO, notes, strlen(notes));
	return status;
}

/* box attach: a plan of mode attach. */
int attach_main(const struct plan *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *name;
	int dirfd = open_socket_dir(p->attach.socket, &name);
	if (dirfd < 0) {
		report_print(&g_report);
		return 125;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dirfd, name);
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fail(errno, "cannot attach to the container's console %s", p->attach.socket);
		report_print(&g_report);
		return 125;
	}
	close(dirfd);
	/* A console that turns us away may have closed already: its sentence is read all the same. */
	if (attach_hello(sock, p->attach.stdin_open) < 0 && g_report.err != EPIPE) {
		report_print(&g_report);
		return 125;
	}
	return attach_relay(sock, p->attach.keys, p->attach.n_keys, p->attach.stdin_open, p->attach.sig_proxy);
}
