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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

struct report g_report;
static char said[1024];
static size_t said_len;

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

/* One line on stderr. The message may quote the plan or the user's argv, which may hold any byte:
 * control bytes are written as \xNN, so the sentence stays one line. */
void report_print(const struct report *r)
{
	char text[700], line[2200];
	size_t at = 0;
	if (g_oci && g_oci->report_format != REPORT_BOX) {
		oci_report_print(r);
		return;
	}
	if (r->err != 0)
		snprintf(text, sizeof(text), "box: %s: %s", r->msg, strerror(r->err));
	else
		snprintf(text, sizeof(text), "box: %s", r->msg);
	for (const unsigned char *c = (const unsigned char *)text; *c && at < sizeof(line) - 5; c++) {
		if (*c < 0x20 || *c == 0x7f)
			at += (size_t)snprintf(line + at, sizeof(line) - at, "\\x%02x", *c);
		else
			line[at++] = (char)*c;
	}
	line[at++] = '\n';
	write_all(2, line, at);
	if (said_len + at < sizeof(said)) {
		memcpy(said + said_len, line, at);
		said_len += at;
		said[said_len] = '\0';
	}
}

/* What report_print said since report_forget: a detached supervisor's stderr goes nowhere, so the
 * console's client is told (console.c, the 'x' frame). */
const char *report_said(void)
{
	return said;
}

void report_forget(void)
{
	said_len = 0;
	said[0] = '\0';
}

/* In the container: the record goes to the supervisor, and the process ends. */
_Noreturn void report_and_exit(int report_w)
{
	write_all(report_w, &g_report, sizeof(g_report));
	_exit(g_report.status ? g_report.status : 125);
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
	return read_small_at(AT_FDCWD, path, buf, len);
}

ssize_t read_small_at(int dirfd, const char *path, char *buf, size_t len)
{
	int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
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

/* The start time of a process (field 22 of /proc/PID/stat, in clock ticks since boot): with the pid,
 * it names one process for good, where a pid alone may be reused. The command name (field 2) may
 * hold spaces and parentheses, so fields are counted from its last ')'. */
int stat_start_time(const char *stat, unsigned long long *start)
{
	const char *s = strrchr(stat, ')');
	for (int field = 2; s && field < 22; field++)
		s = strchr(s + 1, ' ');
	if (s == NULL)
		return -EINVAL;
	char *end;
	errno = 0;
	*start = strtoull(s + 1, &end, 10);
	return errno != 0 || end == s + 1 || (*end != ' ' && *end != '\0') ? -EINVAL : 0;
}
