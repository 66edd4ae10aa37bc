/*
 * The container's root filesystem, built by its first process in its new mount namespace
 * (container.c, steps 5, 6 and 8):
 *
 *   5. host-side mounts: the overlay of the image's layers (overlay.c), or the rootfs bound onto
 *      itself, so it is a mount point
 *   6. the steps inside the root, in plan order: directories, files, mounts, devices, links, masks,
 *      sysctls, read-only binds. Every path is resolved inside the root (openat2 RESOLVE_IN_ROOT),
 *      and what is mounted on is the fd that was checked, through /proc/self/fd: a symlink planted
 *      in the image can point only back into the image, never at the host
 *   8. pivot_root into it, the old root detached
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "helper.h"

/* Opens path (absolute, as seen inside the container) with every symlink resolved inside rootfd:
 * an absolute symlink planted in the rootfs points back into the rootfs, never at the host. */
int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";
	long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

static void fd_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* Splits an absolute in-container path into an fd of its parent directory and its last component. */
static int open_parent(int rootfd, const char *path, const char **base)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	if (slash == NULL || slash[1] == '\0' || strlen(path) >= sizeof(dir))
		return fail(0, "the plan holds a bad container path '%s'", path);
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	*base = slash + 1;
	int fd = open_in_root(rootfd, dir[0] ? dir : "/", O_PATH | O_DIRECTORY);
	if (fd < 0)
		return fail(-fd, "cannot open %s in the container", dir[0] ? dir : "/");
	return fd;
}

static int step_mkdir(int rootfd, const char *path, mode_t mode)
{
	const char *base;
	int dfd = open_parent(rootfd, path, &base);
	if (dfd < 0)
		return dfd;
	int ret = mkdirat(dfd, base, mode) < 0 ? -errno : 0;
	if (ret == -EEXIST) {
		/* Present already: fine when it is a directory, or a symlink to one resolved inside the
		 * root (/var/run -> /run); mount steps check their own targets more strictly. */
		int fd = open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
		ret = fd < 0 ? fail(0, "cannot use %s in the container: it exists and is not a directory", path) : 0;
		if (fd >= 0)
			close(fd);
	} else if (ret < 0) {
		ret = fail(-ret, "cannot create the directory %s in the container", path);
	}
	close(dfd);
	return ret;
}

static int step_file(int rootfd, const char *path, mode_t mode)
{
	const char *base;
	struct stat st;
	int dfd = open_parent(rootfd, path, &base);
	if (dfd < 0)
		return dfd;
	int ret = 0;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(st.st_mode))
			ret = fail(0, "cannot use %s in the container: it exists and is not a regular file", path);
	} else if (errno == ENOENT) {
		int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0)
			ret = fail(errno, "cannot create %s in the container", path);
		else
			close(fd);
	} else {
		ret = fail(errno, "cannot look at %s in the container", path);
	}
	close(dfd);
	return ret;
}

/* A device of the host bound into the container, after checking that the host path really is
 * the character device major:minor (a tampered host /dev must not hand over something else). */
static int step_device(int rootfd, const struct root_step *s)
{
	struct stat st;
	char from[64], to[64];
	int hfd = open(s->host_device, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (hfd < 0)
		return fail(errno, "cannot open the host's %s", s->host_device);
	if (fstat(hfd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(s->major, s->minor)) {
		close(hfd);
		return fail(0, "refusing the host's %s: it is not the character device %u:%u", s->host_device, s->major, s->minor);
	}
	int ret = step_file(rootfd, s->path, 0644);
	if (ret >= 0) {
		int fd = open_in_root(rootfd, s->path, O_PATH | O_NOFOLLOW);
		if (fd < 0) {
			ret = fail(-fd, "cannot open %s in the container", s->path);
		} else {
			fd_path(from, sizeof(from), hfd);
			fd_path(to, sizeof(to), fd);
			if (mount(from, to, NULL, MS_BIND, NULL) < 0)
				ret = fail(errno, "cannot bind the device %s into the container", s->host_device);
			close(fd);
		}
	}
	close(hfd);
	return ret;
}

/* Hides a path: a directory gets an empty read-only tmpfs, anything else /dev/null, after checking
 * that the container's /dev/null is the real 1:3. A path the kernel does not have is fine. */
static int step_mask(int rootfd, const char *path)
{
	struct stat st;
	char to[64], from[64];
	int ret = 0;
	int fd = open_in_root(rootfd, path, O_PATH | O_NOFOLLOW);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fail(-fd, "cannot open %s in the container to mask it", path);
	fd_path(to, sizeof(to), fd);
	if (fstat(fd, &st) < 0) {
		ret = fail(errno, "cannot look at %s in the container", path);
	} else if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", to, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=555") < 0)
			ret = fail(errno, "cannot mask %s in the container", path);
	} else {
		int nfd = open_in_root(rootfd, "/dev/null", O_PATH | O_NOFOLLOW);
		if (nfd < 0 || fstat(nfd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
			ret = fail(0, "cannot mask %s: the container's /dev/null is not the 1:3 device", path);
		} else {
			fd_path(from, sizeof(from), nfd);
			if (mount(from, to, NULL, MS_BIND, NULL) < 0)
				ret = fail(errno, "cannot mask %s in the container", path);
		}
		if (nfd >= 0)
			close(nfd);
	}
	close(fd);
	return ret;
}

/* Binds a path onto itself, then makes that bind read-only (a bind mount takes its flags only on
 * a remount). A path the kernel does not have is fine. */
static int step_readonly(int rootfd, const char *path)
{
	char at[64];
	int fd = open_in_root(rootfd, path, O_PATH | O_NOFOLLOW);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fail(-fd, "cannot open %s in the container", path);
	fd_path(at, sizeof(at), fd);
	int ret = mount(at, at, NULL, MS_BIND | MS_REC, NULL) < 0 ? -errno : 0;
	close(fd);
	if (ret < 0)
		return fail(-ret, "cannot bind %s onto itself in the container", path);
	/* Reopened: the path now leads to the new bind mount. */
	fd = open_in_root(rootfd, path, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return fail(-fd, "cannot open %s in the container", path);
	fd_path(at, sizeof(at), fd);
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	ret = mount(NULL, at, NULL, flags, NULL) < 0 ? fail(errno, "cannot make %s read-only in the container", path) : 0;
	close(fd);
	return ret;
}

static int step_symlink(int rootfd, const char *target, const char *path)
{
	const char *base;
	int dfd = open_parent(rootfd, path, &base);
	if (dfd < 0)
		return dfd;
	int ret = 0;
	if (symlinkat(target, dfd, base) < 0)
		ret = fail(errno, "cannot create the link %s -> %s in the container", path, target);
	close(dfd);
	return ret;
}

/* Mounts onto a target inside the root. The target is opened first (symlinks resolved inside the
 * root, and the target itself must be a directory or a regular file, never a symlink), then mounted
 * on through /proc/self/fd, so what is mounted on is exactly what was checked. */
static int step_mount(int rootfd, const struct mount_spec *m)
{
	struct stat st;
	char at[64];
	int ret = 0;
	int fd = open_in_root(rootfd, m->target, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return fail(-fd, "cannot open the mount point %s in the container", m->target);
	if (fstat(fd, &st) < 0) {
		ret = fail(errno, "cannot look at the mount point %s in the container", m->target);
	} else if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
		ret = fail(0, "refusing to mount on %s in the container: it is a symbolic link or a special file",
			   m->target);
	} else {
		fd_path(at, sizeof(at), fd);
		if (mount(m->source, at, m->fstype, m->flags, m->data) < 0)
			ret = fail(errno, "cannot mount %s on %s in the container", m->source ? m->source : m->fstype,
				   m->target);
	}
	close(fd);
	return ret;
}

/* A sysctl of the container's own namespaces (net.*, kernel.shm*, ...): its file under the /proc
 * mounted in step 6, reached through the root fd without following any symlink, and written only
 * when it is a regular file of a proc filesystem. Before /proc/sys is made read-only (the plan
 * puts these records first), and before the network comes up (step 7), so eth0 starts with them. */
static int step_sysctl(int rootfd, const char *path, const char *value)
{
	char full[4200];
	struct stat st;
	struct statfs sfs;
	snprintf(full, sizeof(full), "proc/sys/%s", path);
	struct open_how how = { .flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS };
	int fd = (int)syscall(SYS_openat2, rootfd, full, &how, sizeof(how));
	if (fd < 0)
		return fail(errno, "cannot open /proc/sys/%s in the container", path);
	int ret = 0;
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
		ret = fail(errno, "cannot look at /proc/sys/%s in the container", path);
	else if (!S_ISREG(st.st_mode) || sfs.f_type != PROC_SUPER_MAGIC)
		ret = fail(0, "refusing /proc/sys/%s in the container: it is not a file of the container's /proc", path);
	else if ((ret = write_all(fd, value, strlen(value))) < 0)
		ret = fail(-ret, "cannot set the sysctl %s to %s in the container", path, value);
	close(fd);
	return ret;
}

static void trace_mount(const char *step, const char *what, const struct mount_spec *m)
{
	char flags[512];
	TRACE(step, what, "source=%s target=%s type=%s flags=%s data=%s", trace_token(m->source), trace_token(m->target),
	      trace_token(m->fstype), mount_flag_names(m->flags, flags, sizeof(flags)), trace_token(m->data));
}

/* Step 5: the mounts made on host paths, which make the rootfs a mount point. */
int run_host_mounts(const struct plan *p)
{
	int ret;
	if (p->overlay.n_lowers && (ret = mount_overlay(&p->overlay)) < 0)
		return ret;
	for (int i = 0; i < p->n_host_mounts; i++) {
		const struct mount_spec *m = &p->host_mounts[i];
		if (mount(m->source, m->target, m->fstype, m->flags, m->data) < 0)
			return fail(errno, "cannot mount %s on %s", m->source ? m->source : m->fstype, m->target);
		trace_mount("5", "host-mount", m);
	}
	return 0;
}

/* Step 6: the steps inside the root, in plan order. */
int run_root_steps(const struct plan *p, int rootfd)
{
	static const char *names[] = { "mkdir", "file", "mount", "device", "symlink", "mask", "readonly", "sysctl", "mknod", "mount-copyup" };
	int ret = 0;
	for (int i = 0; i < p->n_root_steps && ret >= 0; i++) {
		const struct root_step *s = &p->root_steps[i];
		switch (s->kind) {
		case ROOT_MKDIR: ret = step_mkdir(rootfd, s->path, s->mode); break;
		case ROOT_FILE: ret = step_file(rootfd, s->path, s->mode); break;
		case ROOT_MOUNT: ret = step_mount(rootfd, &s->mount); break;
		case ROOT_DEVICE: ret = step_device(rootfd, s); break;
		case ROOT_SYMLINK: ret = step_symlink(rootfd, s->link_target, s->path); break;
		case ROOT_MASK: ret = step_mask(rootfd, s->path); break;
		case ROOT_READONLY: ret = step_readonly(rootfd, s->path); break;
		case ROOT_SYSCTL: ret = step_sysctl(rootfd, s->path, s->value); break;
		case ROOT_MKNOD: ret = step_mknod(rootfd, s); break;
		case ROOT_MOUNT_COPYUP: ret = step_mount_copyup(rootfd, &s->mount); break;
		}
		if (ret >= 0 && s->kind == ROOT_MOUNT)
			trace_mount("6", "mount", &s->mount);
		else if (ret >= 0 && s->kind == ROOT_SYSCTL)
			TRACE("6", names[s->kind], "path=%s value=%s", trace_token(s->path), trace_token(s->value));
		else if (ret >= 0)
			TRACE("6", names[s->kind], "path=%s", trace_token(s->path));
	}
	return ret;
}

/* Step 8. pivot_root(".", ".") stacks the old root under the new one at "/"; detaching it leaves
 * only the container's root. This avoids needing a directory for the old root inside the rootfs
 * (the trick runc and LXC use); it is safe because propagation was made private in step 4. */
int enter_root(int rootfd)
{
	if (fchdir(rootfd) < 0)
		return fail(errno, "cannot enter the root filesystem");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(errno, "cannot pivot_root into the root filesystem");
	if (umount2(".", MNT_DETACH) < 0)
		return fail(errno, "cannot detach the host's root filesystem");
	if (chdir("/") < 0)
		return fail(errno, "cannot change to / in the container");
	TRACE("8", "pivot_root", "new-root=. old-root=detached");
	return 0;
}
