/*
 * The step trace. When the plan holds a 'trace' record, every step writes one line to that fd:
 *
 *   <usec> <role> <file>:<step> <what>[ <key>=<value>...]
 *
 *   usec      microseconds since the plan was read. The first line,
 *             "0 supervisor trace.c:0 start monotonic-us=N" (its usec 0 or close), gives that origin
 *             on CLOCK_MONOTONIC, so a front end can line the helper's steps up with its own phases.
 *   role      which process wrote it: supervisor, caller (a detached run's waiting caller),
 *             container (the container's first process, before it forks the command), init,
 *             command, joiner (box exec's process that joins the container).
 *   file:step the source file and the step number in its header comment (letters are sub-steps
 *             of the command's process, command.c).
 *   what      the step: clone, namespaces, cgroup, mount, pivot_root, capabilities, seccomp,
 *             veth, address, route, execve, ...
 *   values    numbers as they are; strings as tokens (plan_print.c: no spaces, odd bytes as
 *             \xNN), cut after 200 bytes with "...".
 *
 * Each line is one write(2) of less than PIPE_BUF bytes, so lines of different processes never
 * interleave. Without a trace record nothing is formatted at all: TRACE() tests g_trace_fd first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

int g_trace_fd = -1;
const char *g_role = "supervisor";
static struct timespec origin;

static long long usec_since(const struct timespec *from)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - from->tv_sec) * 1000000 + (now.tv_nsec - from->tv_nsec) / 1000;
}

/* The fd is moved above 2 (where the command's stdio goes) and is close-on-exec. */
int trace_start(int fd)
{
	clock_gettime(CLOCK_MONOTONIC, &origin);
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (moved < 0)
		return fail(errno, "cannot use fd %d for the step trace", fd);
	if (fd > 2)
		close(fd);
	g_trace_fd = moved;
	TRACE("0", "start", "monotonic-us=%lld", (long long)origin.tv_sec * 1000000 + origin.tv_nsec / 1000);
	return 0;
}

/* A string as a token, in one of four rotating buffers: enough for the arguments of one line. */
const char *trace_token(const char *s)
{
	static char bufs[4][808];
	static int next;
	char *out = bufs[next++ % 4], *at = out;
	if (s == NULL || *s == '\0')
		return "\"\"";
	for (int i = 0; s[i] && i < 200; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c > 0x20 && c < 0x7f && c != '\\' && c != '"')
			*at++ = (char)c;
		else
			at += sprintf(at, "\\x%02x", c);
	}
	strcpy(at, strlen(s) > 200 ? "..." : "");
	return out;
}

void trace_line(const char *file, const char *step, const char *what, const char *fmt, ...)
{
	char line[1024];
	const char *base = strrchr(file, '/');
	int errno_saved = errno;
	int n = snprintf(line, sizeof(line), "%lld %s %s:%s %s", usec_since(&origin), g_role, base ? base + 1 : file, step, what);
	if (n > 0 && fmt[0] && (size_t)n < sizeof(line) - 1) {
		line[n++] = ' ';
		va_list ap;
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		va_end(ap);
		n = m < 0 ? n : n + m;
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* A trace that cannot be written must not change what the helper does: its result is dropped
	 * (the one write in the helper that is not checked, on purpose). */
	ssize_t written = write(g_trace_fd, line, (size_t)n);
	(void)written;
	errno = errno_saved;
}
