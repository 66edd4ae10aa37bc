/*
 * The console a detached container's supervisor offers on a unix socket (the plan's 'console'
 * record, <run>/<id>.attach), for box attach, box start -a and box run -it (whose caller is its
 * first client, through a socket pair: attach.c). One client at a time; a second one is told so
 * and let go. Only clients of the supervisor's own user are taken (SO_PEERCRED).
 *
 * The protocol, version 1 (src/container/console.ts and the docker commands speak it too):
 *
 *   client -> supervisor, once:  "BOXATTACH 1 stdin=0|1 rows=R cols=C[ notes=1]\n"
 *   supervisor -> client, once:  "OK tty=0|1\n", or "ERR <one sentence>\n" and the end
 *   then frames both ways: a type byte, a u32 big-endian length, that many bytes:
 *     client -> supervisor   'i' input for the command (to its pty, or to its stdin pipe when it
 *                                 was started with -i; dropped otherwise)
 *                            'e' end of input (a pipe is closed; a pty gets its EOF character)
 *                            'w' window size: u16 rows, u16 cols (big-endian), set on the pty
 *                            's' u32 big-endian signal number, passed on as box's own signals are
 *                            'd' the client leaves on purpose (its detach keys); then it closes
 *     supervisor -> client   'o' output (the pty's, or the command's stdout)
 *                            'r' the command's stderr (without a tty)
 *                            'x' the command ended: i32 big-endian exit status, then (only to a
 *                                client that said notes=1) what box has to say about it, as
 *                                lines; then the end. A restart policy keeps the supervisor (and
 *                                its socket) for the next run.
 *
 * A client gets the output from the moment it is attached; the log gets all of it. A slow client
 * slows the container's output down (what it has not read yet is not read from the container
 * either), never the supervisor: every socket, pipe and pty is written without blocking. The
 * client that is the run's caller (box run -it) owns the container: when it goes without 'd'
 * (killed, say), the container is killed too, as it was with the terminal's own process.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "helper.h"

struct console_buffers g_console_buf;
struct console g_console = { .listen = -1, .dirfd = -1, .client = -1, .at_listen = -1, .at_client = -1, .at_in = -1 };

/* "/proc/self/fd/N/name": a unix socket path short enough for sun_path, however long the
 * directory's own path is. */
static int sockaddr_in_dir(int dirfd, const char *name, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", dirfd, name);
	return n > 0 && (size_t)n < sizeof(sa->sun_path) ? 0 : -ENAMETOOLONG;
}

/* Splits an absolute path into an O_PATH fd of its directory and its last component. */
int open_socket_dir(const char *path, const char **name)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= sizeof(dir) || slash[1] == '\0')
		return fail(0, "the console socket %s is not a file's path", path);
	memcpy(dir, path, len);
	dir[len] = '\0';
	*name = slash + 1;
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? fail(errno, "cannot open the directory of the console socket %s", path) : fd;
}

/* Step 1 of the supervisor: the socket, mode 0700 (only its user may connect). A socket left
 * there by a supervisor that was killed is replaced. */
int console_listen(const char *path, int tty)
{
	struct sockaddr_un sa;
	struct stat st;
	g_console.tty = tty;
	if ((g_console.dirfd = open_socket_dir(path, &g_console.name)) < 0)
		return g_console.dirfd;
	if (sockaddr_in_dir(g_console.dirfd, g_console.name, &sa) < 0)
		return fail(ENAMETOOLONG, "cannot offer the console on %s", path);
	if (fstatat(g_console.dirfd, g_console.name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode))
		unlinkat(g_console.dirfd, g_console.name, 0);
	g_console.listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (g_console.listen < 0)
		return fail(errno, "cannot create the console socket");
	mode_t old = umask(077);
	int ret = bind(g_console.listen, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret < 0 || listen(g_console.listen, 4) < 0)
		return fail(errno, "cannot offer the console on %s", path);
	TRACE("1", "console", "socket=%s", trace_token(path));
	return 0;
}

/* At the very end: nobody can attach any more. */
void console_close(void)
{
	if (g_console.listen >= 0) {
		unlinkat(g_console.dirfd, g_console.name, 0);
		close(g_console.listen);
		close(g_console.dirfd);
	}
	g_console.listen = g_console.dirfd = -1;
}

static void drop_client(void)
{
	if (g_console.client >= 0)
		close(g_console.client);
	g_console.client = -1;
	g_console.owner = g_console.greeted = g_console.notes = 0;
	g_console.hello_len = g_console.head_len = g_console.left = g_console.small_len = g_console.out_len = g_console.out_at = g_console.in_len = g_console.in_at = 0;
}

/* Writes what is pending to the client, without blocking: 0 when all of it went, 1 when some is
 * left (the relay waits for POLLOUT), -1 when the client is gone. */
static int flush_out(void)
{
	while (g_console.out_at < g_console.out_len) {
		ssize_t n = send(g_console.client, g_console_buf.out + g_console.out_at, g_console.out_len - g_console.out_at, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n <= 0)
			return -1;
		g_console.out_at += (size_t)n;
	}
	g_console.out_len = g_console.out_at = 0;
	return 0;
}

static void queue(char type, const void *data, size_t len)
{
	g_console_buf.out[0] = type;
	g_console_buf.out[1] = (char)(len >> 24);
	g_console_buf.out[2] = (char)(len >> 16);
	g_console_buf.out[3] = (char)(len >> 8);
	g_console_buf.out[4] = (char)len;
	memcpy(g_console_buf.out + 5, data, len);
	g_console.out_len = 5 + len;
	g_console.out_at = 0;
}

/* Output of the container (stream 1 or 2) for the client, if one is attached; the relay reads no
 * more output until this is written (console_blocked). */
void console_output(int stream, const char *buf, size_t len)
{
	if (g_console.client < 0 || !g_console.greeted)
		return;
	for (size_t at = 0; at < len && g_console.client >= 0; at += CHUNK) {
		size_t n = len - at < CHUNK ? len - at : CHUNK;
		if (g_console.out_len) /* a frame is still on its way: this output waits for nobody */
			return;
		queue(stream == 2 && !g_console.tty ? 'r' : 'o', buf + at, n);
		if (flush_out() < 0)
			drop_client();
	}
}

int console_blocked(void)
{
	return g_console.client >= 0 && g_console.out_len > 0;
}

/* The value of " key=N" in the hello line, or 0. */
static unsigned int hello_field(const char *key)
{
	const char *at = strstr(g_console_buf.hello, key);
	return at ? (unsigned int)strtoul(at + strlen(key), NULL, 10) : 0;
}

/* The greeting, once the client's hello line is whole. */
int console_greet(void)
{
	char reply[64];
	g_console_buf.hello[g_console.hello_len] = '\0';
	if (strncmp(g_console_buf.hello, "BOXATTACH 1 ", 12) != 0)
		return -1;
	g_console.rows = (unsigned short)hello_field(" rows=");
	g_console.cols = (unsigned short)hello_field(" cols=");
	g_console.notes = hello_field(" notes=") == 1;
	g_console.greeted = 1;
	g_console.out_len = (size_t)snprintf(reply, sizeof(reply), "OK tty=%d\n", g_console.tty);
	memcpy(g_console_buf.out, reply, g_console.out_len);
	g_console.out_at = 0;
	TRACE("7", "attached", "owner=%d rows=%u cols=%u", g_console.owner, g_console.rows, g_console.cols);
	return flush_out() < 0 ? -1 : 0;
}

/* A client that connected: taken when it is of our user and nobody else is attached. */
static void take_client(void)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(g_console.listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	const char *refusal = NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != geteuid())
		refusal = "ERR only the container's own user may attach to it\n";
	else if (g_console.client >= 0)
		refusal = "ERR the container already has a client attached: one at a time\n";
	if (refusal) {
		send(fd, refusal, strlen(refusal), MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return;
	}
	g_console.client = fd;
}

/* The run's caller (box run -it): its end of a socket pair, its hello already in it and read now,
 * so the container's first output already goes to it. */
int console_adopt(int fd)
{
	drop_client();
	g_console.client = fd;
	g_console.owner = 1;
	while (!g_console.greeted) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || g_console.hello_len + 1 >= sizeof(g_console_buf.hello))
			return fail(n < 0 ? errno : EPROTO, "cannot read the hello of box's console client");
		if (c != '\n')
			g_console_buf.hello[g_console.hello_len++] = c;
		else if (console_greet() < 0)
			return fail(EPROTO, "cannot greet box's console client");
	}
	fcntl(fd, F_SETFL, O_NONBLOCK | O_RDWR);
	return 0;
}

/* A new pty takes the attached client's window size. */
void console_size(int master)
{
	struct winsize ws = { .ws_row = g_console.rows, .ws_col = g_console.cols };
	if (g_console.client >= 0 && g_console.rows && g_console.cols)
		ioctl(master, TIOCSWINSZ, &ws);
}

/* The client is gone. The run's caller that went without saying so takes the container along. */
static void lost(struct relay *r, pid_t child)
{
	if (g_console.owner && child > 0) {
		kill(child, SIGKILL);
		r->stopping = 1;
	}
	TRACE("7", "client-gone", "owner=%d", g_console.owner);
	drop_client();
}

/* The console's part of the relay's poll set, added from index n; returns the new count. */
int console_poll(const struct relay *r, struct pollfd *fds, int n)
{
	g_console.at_listen = g_console.at_client = g_console.at_in = -1;
	if (g_console.listen >= 0) {
		g_console.at_listen = n;
		fds[n++] = (struct pollfd){ .fd = g_console.listen, .events = POLLIN };
	}
	if (g_console.client >= 0) {
		g_console.at_client = n;
		fds[n++] = (struct pollfd){ .fd = g_console.client, .events = (short)((g_console.in_len ? 0 : POLLIN) | (g_console.out_len ? POLLOUT : 0)) };
	}
	if (g_console.in_len && r->in_to >= 0) {
		g_console.at_in = n;
		fds[n++] = (struct pollfd){ .fd = r->in_to, .events = POLLOUT };
	}
	return n;
}

/* What poll said about them. child: the container's init, or 0 between runs. */
void console_events(struct relay *r, const struct pollfd *fds, pid_t child)
{
	if (g_console.at_in >= 0 && fds[g_console.at_in].revents)
		console_flush_in(r);
	if (g_console.at_client >= 0 && g_console.client >= 0) {
		short ev = fds[g_console.at_client].revents;
		if ((ev & POLLOUT) && flush_out() < 0)
			lost(r, child);
		else if ((ev & (POLLIN | POLLHUP | POLLERR)) && g_console.in_len == 0 && console_read(r, child) < 0)
			lost(r, child);
	}
	if (g_console.at_listen >= 0 && (fds[g_console.at_listen].revents & POLLIN))
		take_client();
}

/* Waits up to ms for what is pending to reach the client; drops a client that does not read. */
static void flush_wait(int ms)
{
	while (g_console.client >= 0 && g_console.out_len) {
		struct pollfd fd = { .fd = g_console.client, .events = POLLOUT };
		if (poll(&fd, 1, ms) <= 0 || flush_out() < 0) {
			drop_client();
			return;
		}
	}
}

/* The run ended with status: the client is told (with what box said about it, when it asked for
 * that), and let go. */
void console_ended(int status, const char *notes)
{
	char x[4 + 1024];
	size_t len = 4;
	if (g_console.client < 0)
		return;
	flush_wait(2000);
	if (g_console.client >= 0 && g_console.greeted) {
		x[0] = (char)((unsigned int)status >> 24);
		x[1] = (char)((unsigned int)status >> 16);
		x[2] = (char)((unsigned int)status >> 8);
		x[3] = (char)status;
		if (g_console.notes && notes) {
			size_t n = strlen(notes) < sizeof(x) - 4 ? strlen(notes) : sizeof(x) - 4;
			memcpy(x + 4, notes, n);
			len += n;
		}
		queue('x', x, len);
		flush_wait(2000);
	}
	drop_client();
}
