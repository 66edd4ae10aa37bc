/*
 * The command's terminal: a pty of the container's own devpts instance, never of the host's.
 *
 * Its master is opened through the container's root fd, never through a path the container
 * controls: /dev/pts is resolved inside the root without following any symlink, must be a devpts
 * filesystem (statfs magic), and its "ptmx" is opened without crossing a mount and must be the
 * 5:2 device of that very devpts. A container that replaced /dev/ptmx or /dev/pts with a FIFO, a
 * symlink or another filesystem gets a clean error, never a hang or the host's pty. The slave is
 * then opened from the master (TIOCGPTPEER), not by its /dev/pts/N path.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "helper.h"

static int openat2_fd(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = { .flags = (unsigned long long)(flags | O_CLOEXEC), .resolve = resolve };
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* The master of a new pty of the devpts at /dev/pts under rootfd, unlocked. */
int open_pty_master(int rootfd)
{
	struct statfs sfs;
	struct stat pts_st, st;
	int unlock = 0, ret = 0;
	int pts = openat2_fd(rootfd, "dev/pts", O_PATH | O_DIRECTORY | O_NOFOLLOW,
			     RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (pts < 0)
		return fail(-pts, "cannot open the container's /dev/pts");
	if (fstatfs(pts, &sfs) < 0 || fstat(pts, &pts_st) < 0)
		ret = fail(errno, "cannot look at the container's /dev/pts");
	else if (sfs.f_type != DEVPTS_SUPER_MAGIC)
		ret = fail(0, "refusing the container's /dev/pts: it is not a devpts filesystem");
	int master = ret < 0 ? ret : openat2_fd(pts, "ptmx", O_RDWR | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK,
						   RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS);
	close(pts);
	if (ret < 0)
		return ret;
	if (master < 0)
		return fail(-master, "cannot open the container's /dev/pts/ptmx");
	if (fstat(master, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(5, 2) || st.st_dev != pts_st.st_dev) {
		close(master);
		return fail(0, "refusing the container's /dev/pts/ptmx: it is not the 5:2 device of its devpts");
	}
	/* O_NONBLOCK only kept the open from waiting; the relay wants a blocking master. */
	if (fcntl(master, F_SETFL, O_RDWR) < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0) {
		close(master);
		return fail(errno, "cannot unlock a pseudo-terminal in the container");
	}
	return master;
}

/* One fd over a unix socket, with a message: the master from the container to the supervisor
 * (one byte), or to the runc CLI's console socket (the terminal's name, as runc sends it).
 * 0 or -errno: the caller says which hand-over failed. */
int send_fd(int sock, int fd, const void *data, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	memset(cbuf, 0, sizeof(cbuf));
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int recv_fd(int sock)
{
	char byte, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -EPIPE; /* the container failed before its terminal existed: its report says why */
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPROTO;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}
