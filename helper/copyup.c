/*
 * tmpcopyup (podman's --tmpfs and --read-only): a tmpfs mounted on a directory of the image, with
 * that directory's contents copied into it first, so /tmp or /run keep what the image put there.
 *
 * The directory is opened inside the root before the mount hides it; the copy reads through that
 * fd, relative to directory fds all the way down, never following a symlink (links are copied as
 * links), into the new tmpfs, also opened inside the root. Regular files, directories, symlinks and
 * fifos are copied with their modes and owners; other special files are left out (the tmpfs is
 * nodev in podman's configs anyway). A step of rootfs.c (step 6), for the record 'mount_copyup'.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"

#define COPYUP_MAX_DEPTH 64

static int copy_file(int src, int dst, const char *name, const struct stat *st)
{
	int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		int err = errno;
		close(in);
		return -err;
	}
	int ret = 0;
	for (off_t left = st->st_size; left > 0 && ret == 0;) {
		ssize_t n = sendfile(out, in, NULL, left > (1 << 30) ? (1 << 30) : (size_t)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ret = n < 0 ? -errno : 0, left = 0;
		else
			left -= n;
	}
	if (ret == 0 && (fchown(out, st->st_uid, st->st_gid) < 0 || fchmod(out, st->st_mode & 07777) < 0))
		ret = -errno;
	close(in);
	close(out);
	return ret;
}

static int copy_tree(int src, int dst, int depth);

static int copy_entry(int src, int dst, const char *name, int depth)
{
	struct stat st;
	char target[PATH_MAX];
	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISREG(st.st_mode))
		return copy_file(src, dst, name, &st);
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (symlinkat(target, dst, name) < 0 || fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		return 0;
	}
	if (S_ISFIFO(st.st_mode)) {
		if (mkfifoat(dst, name, st.st_mode & 07777) < 0 || fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return 0; /* devices and sockets are not copied */
	if (mkdirat(dst, name, 0700) < 0)
		return -errno;
	int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int d = s < 0 ? -1 : openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int ret = s < 0 || d < 0 ? -errno : copy_tree(s, d, depth + 1);
	if (ret == 0 && (fchown(d, st.st_uid, st.st_gid) < 0 || fchmod(d, st.st_mode & 07777) < 0))
		ret = -errno;
	if (s >= 0)
		close(s);
	if (d >= 0)
		close(d);
	return ret;
}

/* Copies what the directory src holds into dst; both fds stay open. */
static int copy_tree(int src, int dst, int depth)
{
	if (depth > COPYUP_MAX_DEPTH)
		return -ELOOP;
	int fd = dup(src);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	if (dir == NULL) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(dir);
	int ret = 0;
	for (struct dirent *e; ret == 0 && (e = readdir(dir)) != NULL;)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			ret = copy_entry(src, dst, e->d_name, depth);
	closedir(dir);
	return ret;
}

int step_mount_copyup(int rootfd, const struct mount_spec *m)
{
	char at[64];
	int ret = 0;
	/* The directory as the image has it, before the mount hides it. */
	int src = open_in_root(rootfd, m->target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (src < 0)
		return fail(-src, "cannot open %s in the container to copy it up", m->target);
	int target = open_in_root(rootfd, m->target, O_PATH | O_DIRECTORY | O_NOFOLLOW);
	if (target < 0) {
		ret = fail(-target, "cannot open the mount point %s in the container", m->target);
	} else {
		snprintf(at, sizeof(at), "/proc/self/fd/%d", target);
		if (mount(m->source, at, m->fstype, m->flags, m->data) < 0)
			ret = fail(errno, "cannot mount %s on %s in the container", m->source ? m->source : m->fstype, m->target);
	}
	if (target >= 0)
		close(target);
	int dst = ret < 0 ? -1 : open_in_root(rootfd, m->target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (ret == 0 && dst < 0)
		ret = fail(-dst, "cannot open the new mount on %s in the container", m->target);
	/* The entries only: the tmpfs's own root keeps the mode its options give (1777 by default). */
	if (ret == 0)
		ret = copy_tree(src, dst, 0);
	if (ret < 0 && dst >= 0)
		ret = fail(-ret, "cannot copy the contents of %s up into its tmpfs", m->target);
	close(src);
	if (dst >= 0)
		close(dst);
	return ret;
}
