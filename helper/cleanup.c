/*
 * Removal of a container's directories after it ended. What is inside them (the overlay's upper
 * layer) was written by the container, so the walk never goes by path: it works relative to
 * directory fds, at any depth (a container can nest directories far past PATH_MAX, where a walk by
 * full paths such as nftw fails), never follows a symlink (a link is removed, not followed) and never
 * crosses into another mount (a mount point, or anything on another device, is left alone and
 * reported).
 *
 * One directory fd is held at a time: the walk goes down into a subdirectory by name, and comes
 * back up through "..", checking that ".." is the directory it came from (device and inode are
 * remembered for every level), so a directory moved meanwhile cannot lead it anywhere else. A
 * directory is removed once it is empty; one that cannot be emptied is remembered and skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

struct dir_id {
	dev_t dev;
	ino_t ino;
};

/* A growable list of directory ids: the path from the top (levels), or directories that could not
 * be emptied (stuck). */
struct dir_ids {
	struct dir_id *ids;
	size_t n, cap;
};

static int push(struct dir_ids *l, const struct stat *st)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct dir_id *ids = realloc(l->ids, cap * sizeof(*ids));
		if (ids == NULL)
			return -ENOMEM;
		l->ids = ids;
		l->cap = cap;
	}
	l->ids[l->n++] = (struct dir_id){ st->st_dev, st->st_ino };
	return 0;
}

static int contains(const struct dir_ids *l, const struct stat *st)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->ids[i].dev == st->st_dev && l->ids[i].ino == st->st_ino)
			return 1;
	return 0;
}

/* One pass over a directory: removes what it can. Returns 1 with the name of a non-empty
 * subdirectory to go down into, 0 when nothing more can be done here, or a negative errno.
 * *left counts what stays: mounts, other devices, stuck directories, failures. */
static int scan(int fd, dev_t dev, const struct dir_ids *stuck, const struct dir_id *just_left, char *child, size_t len,
		int *left, int *err)
{
	struct stat st;
	int dup_fd = dup(fd);
	DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	if (d == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -errno;
	}
	rewinddir(d);
	int ret = 0;
	*left = 0;
	for (struct dirent *e; ret == 0 && (e = readdir(d)) != NULL;) {
		const char *name = e->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				(*left)++, *err = errno;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (unlinkat(fd, name, 0) < 0 && errno != ENOENT)
				(*left)++, *err = errno;
		} else if (st.st_dev != dev || contains(stuck, &st)) {
			(*left)++, *err = st.st_dev != dev ? EXDEV : *err;
		} else if (unlinkat(fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
			/* Not empty: go down into it, unless we just came up from it (it cannot be emptied). */
			int again = just_left->dev == st.st_dev && just_left->ino == st.st_ino;
			if ((errno == ENOTEMPTY || errno == EEXIST) && !again && strlen(name) < len) {
				strcpy(child, name);
				ret = 1;
			} else {
				(*left)++, *err = errno;
			}
		}
	}
	closedir(d);
	return ret;
}

/* Down into a subdirectory: beneath the current one, no symlink, no mount crossed. */
static int open_child(int fd, const char *name)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long child = syscall(SYS_openat2, fd, name, &how, sizeof(how));
	return child < 0 ? -errno : (int)child;
}

/* Back up through "..", which must be the directory remembered for that level. */
static int open_parent_checked(int fd, const struct dir_id *expected)
{
	struct stat st;
	int parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (parent < 0)
		return -errno;
	if (fstat(parent, &st) < 0 || st.st_dev != expected->dev || st.st_ino != expected->ino) {
		close(parent);
		return -ESTALE; /* moved while we were below it */
	}
	return parent;
}

static int remove_below(int fd, const struct stat *top, int *left, int *err)
{
	struct dir_ids levels = { 0 }, stuck = { 0 };
	struct stat st;
	struct dir_id just_left = { 0, 0 };
	char child[256];
	int ret = push(&levels, top), here_left = 0;
	while (ret >= 0) {
		ret = scan(fd, top->st_dev, &stuck, &just_left, child, sizeof(child), &here_left, err);
		if (ret == 1) {
			int next = open_child(fd, child);
			if (next < 0 || fstat(next, &st) < 0) {
				ret = next < 0 ? next : -errno;
				break;
			}
			close(fd);
			fd = next;
			ret = push(&levels, &st);
			continue;
		}
		if (ret < 0 || levels.n == 1)
			break;
		/* This directory is as empty as it gets; if something stays in it, it stays too. */
		if (here_left > 0 && (fstat(fd, &st) < 0 || push(&stuck, &st) < 0)) {
			ret = -ENOMEM;
			break;
		}
		int parent = open_parent_checked(fd, &levels.ids[levels.n - 2]);
		if (parent < 0) {
			ret = parent;
			break;
		}
		close(fd);
		fd = parent;
		just_left = levels.ids[--levels.n];
	}
	*left += here_left;
	close(fd);
	free(levels.ids);
	free(stuck.ids);
	return ret < 0 ? ret : 0;
}

int remove_tree(const char *path)
{
	struct stat st;
	int left = 0, err = 0;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
		/* A file, or a symlink: removed itself, never followed. */
		if (unlink(path) < 0 && errno != ENOENT)
			return fail(errno, "cannot remove %s", path);
		return 0;
	}
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail(errno, "cannot open %s to remove it", path);
	int ret = remove_below(fd, &st, &left, &err);
	if (ret < 0)
		return fail(-ret, "cannot remove %s", path);
	if (rmdir(path) < 0 && errno != ENOENT)
		return fail(left ? err : errno, "cannot remove %s completely", path);
	return 0;
}
