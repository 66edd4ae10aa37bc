/*
 * Failures, described where they happen and printed once by the supervisor.
 *
 * Inside the container nothing can be printed usefully (stderr may be a pty or a pipe the user
 * redirected), so the failing step fills g_report and the container writes it, as one fixed-size
 * record, to a close-on-exec pipe. EOF on that pipe without a record means exec succeeded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

struct report g_report;

static int vfail(int status, int err, const char *fmt, va_list ap)
{
	g_report.status = status;
	g_report.err = err;
	vsnprintf(g_report.msg, sizeof(g_report.msg), fmt, ap);
	return err > 0 ? -err : -EINVAL;
}

int fail(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = vfail(125, err, fmt, ap);
	va_end(ap);
	return ret;
}

int fail_status(int status, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = vfail(status, err, fmt, ap);
	va_end(ap);
	return ret;
}

void report_print(const struct report *r)
{
	char line[700];
	int n;
	if (r->err != 0)
		n = snprintf(line, sizeof(line), "box: %s: %s\n", r->msg, strerror(r->err));
	else
		n = snprintf(line, sizeof(line), "box: %s\n", r->msg);
	if (n > 0)
		write_all(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes; -EPIPE when the other side closed first (0 bytes read is also -EPIPE). */
int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A small file (a /proc or cgroup file) into buf, NUL-terminated; its length, or a negative errno. */
ssize_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	return n;
}
