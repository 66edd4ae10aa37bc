/*
 * The container's root as an overlay of its image's layers (container.c, step 5), made in the
 * container's own mount namespace, so it goes away with it.
 *
 * An image may have many layers. The classic mount(2) takes every option in one data page (4096
 * bytes), which absolute lowerdirs fill at about a hundred layers; overlayfs itself takes 500.
 * So, in this order:
 *   a. the new mount API (Linux 6.8 and later): fsopen("overlay"), one fsconfig "lowerdir+" per
 *      layer (top first), upperdir, workdir, create, fsmount with the plan's flags, move_mount
 *      onto the merged directory. Nothing is joined into one string: any count overlayfs allows.
 *      In a user namespace (rootless), userxattr: whiteouts and opaque marks are user.overlay.*.
 *   b. older kernels (fsopen missing, or "lowerdir+" refused: EINVAL): mount(2) with one lowerdir=
 *      string. When the layers share a directory (the image store's short links, <images>/l/),
 *      the string names them relative to it, from inside it (chdir), which keeps it short; a
 *      string that still does not fit one page is refused with a sentence saying why.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

/* Mount flags the plan may give the overlay, as mount attributes of the new API. */
static const struct { unsigned long flag; unsigned long long attr; } attrs[] = {
	{ MS_RDONLY, MOUNT_ATTR_RDONLY }, { MS_NOSUID, MOUNT_ATTR_NOSUID }, { MS_NODEV, MOUNT_ATTR_NODEV },
	{ MS_NOEXEC, MOUNT_ATTR_NOEXEC }, { MS_NOATIME, MOUNT_ATTR_NOATIME }, { MS_NODIRATIME, MOUNT_ATTR_NODIRATIME },
	{ MS_STRICTATIME, MOUNT_ATTR_STRICTATIME }, { MS_RELATIME, MOUNT_ATTR_RELATIME },
};

static int mount_attrs(unsigned long flags, unsigned long long *out)
{
	*out = 0;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		if (flags & attrs[i].flag) {
			*out |= attrs[i].attr;
			flags &= ~attrs[i].flag;
		}
	}
	return flags ? fail(0, "the plan gives the overlay mount flags %#lx that are not a mount's own", flags) : 0;
}

/* What overlayfs said about a refused option: the kernel keeps it on the fs context's fd. */
static const char *kernel_says(int fsfd, char *buf, size_t len)
{
	ssize_t n = read(fsfd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return buf;
}

static int set_string(int fsfd, const char *key, const char *value)
{
	return syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, key, value, 0) < 0 ? -errno : 0;
}

static int create(int fsfd)
{
	return syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ? -errno : 0;
}

/* a. Returns -ENOSYS when this kernel lacks what it needs (then b.). */
static int mount_new_api(const struct overlay *o)
{
	char said[512];
	unsigned long long attr;
	int ret = mount_attrs(o->flags, &attr);
	if (ret < 0)
		return ret;
	int fsfd = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return errno == ENOSYS ? -ENOSYS : fail(errno, "cannot open an overlay filesystem context");
	if ((ret = set_string(fsfd, "source", "overlay")) < 0) {
		close(fsfd);
		return fail(-ret, "cannot name the overlay filesystem");
	}
	/* Before Linux 6.8 there is no "lowerdir+": overlayfs of 6.5 to 6.7 refuses the key (EINVAL);
	 * older ones take options through the legacy context, which collects any key and leaves the
	 * refusal (EINVAL) to the create. Either way b. does the work, and says what is wrong if that
	 * too fails. */
	int refused = -1; /* the layer the kernel refused, if one was */
	for (int i = 0; ret >= 0 && i < o->n_lowers; i++)
		if ((ret = set_string(fsfd, "lowerdir+", o->lowers[i])) < 0)
			refused = i;
	if (ret >= 0 && (ret = set_string(fsfd, "upperdir", o->upper)) >= 0 && (ret = set_string(fsfd, "workdir", o->work)) >= 0 &&
	    (!o->userxattr || (ret = syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0 ? -errno : 0) >= 0))
		ret = create(fsfd);
	if (ret == -EINVAL) {
		close(fsfd);
		return -ENOSYS;
	}
	if (ret < 0 && refused >= 0)
		ret = fail(-ret, "cannot use the image layer %s (layer %d of %d) in the overlay: %s", o->lowers[refused], refused + 1,
			   o->n_lowers, kernel_says(fsfd, said, sizeof(said)));
	else if (ret < 0)
		ret = fail(-ret, "cannot create the overlay for %s: %s", o->merged, kernel_says(fsfd, said, sizeof(said)));
	int mfd = ret < 0 ? -1 : (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, attr);
	if (ret >= 0 && mfd < 0)
		ret = fail(errno, "cannot mount the overlay for %s", o->merged);
	close(fsfd);
	if (ret >= 0 && syscall(SYS_move_mount, mfd, "", AT_FDCWD, o->merged, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		ret = fail(errno, "cannot mount the overlay on %s", o->merged);
	if (mfd >= 0)
		close(mfd);
	return ret;
}

/* The directory every layer is in, when they share one (its length), else 0. */
static size_t shared_dir(const struct overlay *o)
{
	const char *slash = strrchr(o->lowers[0], '/');
	size_t len = (size_t)(slash - o->lowers[0]);
	for (int i = 1; i < o->n_lowers; i++)
		if (strncmp(o->lowers[i], o->lowers[0], len + 1) != 0 || strchr(o->lowers[i] + len + 1, '/') != NULL)
			return 0;
	return len ? len : 1;
}

/* b. */
static int mount_one_page(const struct overlay *o)
{
	static char data[4096];
	char dir[4096];
	size_t at = 0, dirlen = shared_dir(o);
	int n = snprintf(data, sizeof(data), "lowerdir=");
	at = (size_t)n;
	for (int i = 0; i < o->n_lowers && at < sizeof(data); i++) {
		const char *name = dirlen ? o->lowers[i] + dirlen + (dirlen > 1) : o->lowers[i];
		n = snprintf(data + at, sizeof(data) - at, "%s%s", i ? ":" : "", name);
		at += n > 0 ? (size_t)n : 0;
	}
	if (at < sizeof(data)) {
		n = snprintf(data + at, sizeof(data) - at, ",upperdir=%s,workdir=%s%s", o->upper, o->work, o->userxattr ? ",userxattr" : "");
		at += n > 0 ? (size_t)n : 0;
	}
	if (at >= sizeof(data))
		return fail(0, "the image's %d layers do not fit in one overlay mount on this kernel (Linux 6.8 and later take up to 500)",
			    o->n_lowers);
	if (dirlen) {
		memcpy(dir, o->lowers[0], dirlen);
		dir[dirlen] = '\0';
		if (chdir(dir) < 0)
			return fail(errno, "cannot enter the image's layer directory %s", dir);
	}
	int ret = syscall(SYS_mount, "overlay", o->merged, "overlay", o->flags, data) < 0
			  ? fail(errno, "cannot mount the overlay of %d layers on %s", o->n_lowers, o->merged)
			  : 0;
	if (dirlen && chdir("/") < 0 && ret >= 0)
		ret = fail(errno, "cannot leave the image's layer directory");
	return ret;
}

int mount_overlay(const struct overlay *o)
{
	int ret = mount_new_api(o);
	const char *how = "lowerdir+";
	if (ret == -ENOSYS) {
		ret = mount_one_page(o);
		how = "one-page";
	}
	if (ret >= 0)
		TRACE("5", "overlay", "merged=%s layers=%d api=%s", trace_token(o->merged), o->n_lowers, how);
	return ret;
}
