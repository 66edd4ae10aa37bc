/*
 * The log of a detached container: its stdout and stderr, written by the supervisor.
 *
 * Format "k8s-file" (the CRI log format, as podman's k8s-file driver and containerd write it), one
 * record per line of output:
 *
 *   <timestamp> <stream> <tag> <content>\n
 *
 *   timestamp  RFC 3339 in UTC with nanoseconds, always 9 digits: 2024-05-01T12:00:00.123456789Z
 *   stream     stdout or stderr
 *   tag        F: the content is a full line (its newline is the record's own);
 *              P: a partial line: the output had no newline yet where it was read, the rest follows
 *              in the next record(s) of the same stream
 *   content    the bytes as the command wrote them, without the newline; never a newline inside
 *
 * Format "raw": the bytes as the command wrote them, both streams in one file.
 *
 * The log is rotated past its cap: the file becomes <log>.1 (replacing the older one) and a new one
 * is started, so at most about twice the cap is kept; records are never split between the two.
 * A reader that follows the log (box logs -f) holds a read lock (F_OFD_SETLK) on the generation it
 * is reading; while <log>.1 is so held, the rotation that would remove it waits, and the log grows
 * past its cap instead: a slow follower never loses a generation it has not read yet.
 *
 * A write that fails (ENOSPC, a full disk) never stops the container: its output is still read,
 * and what cannot be written is dropped and counted; a record written in part is cut off again, so
 * the log holds whole records only. Once writing works again, a marker record comes first, in the
 * same write as the records that follow it (never alone):
 *
 *   <timestamp> stderr F box: N bytes of output were lost: cannot write the log (<error>)
 *
 * (in the raw format, the same sentence on a line of its own).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

struct log {
	int fd;
	const char *path;
	long cap;                 /* rotate past this many bytes; 0: never */
	mode_t mode;
	enum log_format format;
	off_t size;               /* of the current file: only whole records */
	unsigned long long lost;  /* bytes of output dropped since the last record written */
	int lost_err;
};

static struct log the_log;

static int open_log_file(struct log *log)
{
	return open(log->path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, log->mode);
}

struct log *log_open(const struct plan *p)
{
	struct stat st;
	struct log *log = &the_log;
	*log = (struct log){ .path = p->log.path, .cap = p->log.cap, .mode = p->log.mode, .format = p->log.format };
	log->fd = open_log_file(log);
	if (log->fd < 0)
		return fail(errno, "cannot open the log %s", log->path), NULL;
	log->size = fstat(log->fd, &st) == 0 ? st.st_size : 0;
	return log;
}

void log_close(struct log *log)
{
	if (log && log->fd >= 0)
		close(log->fd);
}

/* The current file becomes .1 and a new one takes its fd. If no new file can be made, the name
 * goes back and writing goes on in the old one. */
/* Whether a follower still reads the file at path (holds a read lock on it). */
static int being_read(const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int held = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return held;
}

static void rotate(struct log *log)
{
	char old[4200];
	snprintf(old, sizeof(old), "%s.1", log->path);
	if (being_read(old))
		return;
	if (rename(log->path, old) < 0)
		return;
	int fd = open_log_file(log);
	if (fd < 0) {
		rename(old, log->path);
		return;
	}
	dup3(fd, log->fd, O_CLOEXEC);
	close(fd);
	log->size = 0;
}

/* Appends whole records: all of them, or none (a part written is cut off again). */
static int append(struct log *log, const struct iovec *iov, int niov, size_t total)
{
	if (log->cap > 0 && log->size > 0 && log->size + (off_t)total > log->cap)
		rotate(log);
	ssize_t n;
	do
		n = writev(log->fd, iov, niov);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)total) {
		log->size += (off_t)total;
		return 0;
	}
	int err = n < 0 ? errno : ENOSPC;
	if (n > 0 && ftruncate(log->fd, log->size) < 0)
		log->size += n; /* cannot cut it off: at least count it */
	return -err;
}

static size_t timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	return n + (size_t)snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

/* After a loss, the marker: it goes in front of the next records, in the same write, so it is
 * only ever in the log with output after it. */
static size_t marker(const struct log *log, char *text, size_t len)
{
	char ts[64];
	int n = 0;
	if (log->format == LOG_K8S_FILE) {
		timestamp(ts, sizeof(ts));
		n = snprintf(text, len, "%s stderr F ", ts);
	}
	n += snprintf(text + n, len - (size_t)n, "box: %llu bytes of output were lost: cannot write the log (%s)\n",
		      log->lost, strerror(log->lost_err));
	return (size_t)n;
}

/* Writes records (iov[1..niov]; iov[0] is kept free for the marker), or counts them as lost. */
static void flush(struct log *log, struct iovec *iov, int niov, size_t total, size_t content)
{
	char text[256];
	if (niov == 0)
		return;
	int first = 1;
	if (log->lost) {
		iov[0] = (struct iovec){ .iov_base = text, .iov_len = marker(log, text, sizeof(text)) };
		total += iov[0].iov_len;
		first = 0;
	}
	int ret = append(log, iov + first, niov + 1 - first, total);
	if (ret < 0) {
		log->lost += content;
		log->lost_err = -ret;
	} else {
		log->lost = 0;
	}
}

#define RECORDS_PER_WRITE 256

/* A chunk of one stream (1: stdout, 2: stderr), as read: split into records, written in batches. */
void log_write(struct log *log, int stream, const char *buf, size_t len)
{
	struct iovec iov[1 + 3 * RECORDS_PER_WRITE];
	char full[80], partial[80];
	int niov = 0;
	size_t total = 0, content = 0;
	if (log->format == LOG_RAW) {
		iov[1] = (struct iovec){ .iov_base = (void *)buf, .iov_len = len };
		flush(log, iov, 1, len, len);
		return;
	}
	size_t ts = timestamp(full, sizeof(full));
	const char *name = stream == 1 ? "stdout" : "stderr";
	snprintf(full + ts, sizeof(full) - ts, " %s F ", name);
	memcpy(partial, full, sizeof(full));
	partial[ts + strlen(name) + 2] = 'P';
	size_t prefix = strlen(full);
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(buf + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - buf) : len;
		iov[1 + niov++] = (struct iovec){ .iov_base = nl ? full : partial, .iov_len = prefix };
		iov[1 + niov++] = (struct iovec){ .iov_base = (void *)(buf + at), .iov_len = end - at };
		iov[1 + niov++] = (struct iovec){ .iov_base = "\n", .iov_len = 1 };
		total += prefix + (end - at) + 1;
		content += end - at + (nl ? 1 : 0);
		at = nl ? end + 1 : end;
		if (niov == 3 * RECORDS_PER_WRITE) {
			flush(log, iov, niov, total, content);
			niov = 0;
			total = content = 0;
		}
	}
	flush(log, iov, niov, total, content);
}

/* A line of box's own, as the stderr stream: what the container could not say itself. */
void log_note(struct log *log, const char *text)
{
	char line[600];
	snprintf(line, sizeof(line), "%s\n", text);
	log_write(log, 2, line, strlen(line));
}

/* A failed step, as report_print says it, into the log. */
void log_report(struct log *log, const struct report *r)
{
	char text[600];
	if (log == NULL)
		return;
	if (r->err)
		snprintf(text, sizeof(text), "box: %s: %s", r->msg, strerror(r->err));
	else
		snprintf(text, sizeof(text), "box: %s", r->msg);
	log_note(log, text);
}
