/*
 * Removal of a container's directories after it ended. Never crosses into another filesystem
 * (FTW_MOUNT) and never follows a symlink (FTW_PHYS): a mount or a link left inside a container
 * directory stays untouched rather than being emptied.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>

#include "helper.h"

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int remove_tree(const char *path)
{
	int ret = nftw(path, remove_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	if (ret < 0 && errno == ENOENT)
		return 0;
	if (ret != 0)
		return fail(ret < 0 ? errno : -ret, "cannot remove %s", path);
	return 0;
}
