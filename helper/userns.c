/*
 * User namespaces and the time namespace (userns.h says what the plan holds of them).
 *
 * A container with a user namespace of its own (supervise.c):
 *   3a. right after clone, while its first process still waits at sync 0 (and is still dumpable,
 *       which newuidmap and a direct write both need): its uid and gid maps, either through
 *       newuidmap/newgidmap (set-uid root; they check the ranges an admin gave the user in
 *       /etc/subuid and /etc/subgid) or written here (root; or a user mapping only itself, which
 *       needs setgroups denied first)
 *   4a. the mounter, when the plan has one: a process of the supervisor's that enters the
 *       container's mount namespace from outside and makes the host mounts there. As the host's
 *       root (MOUNTER_HOST) it covers each image layer with an idmapped clone of itself and mounts
 *       the overlay on them: the layers stay shared by every container, whatever ids it has. As
 *       root of the container's user namespace (MOUNTER_CONTAINER) it runs fuse-overlayfs, whose
 *       daemon then lives outside the container's PID namespace.
 * In the container (container.c, step 2): its time namespace, the clocks' offsets written before
 *   any process is in it, then entered by the container's first process.
 * The namespace as a place to run things (the container's first process executed again, the
 * clean-up, the tool mode): userns_run.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* One write: the kernel takes a map (or the clock offsets) whole or not at all. */
	ssize_t n = write(fd, text, strlen(text));
	int err = errno;
	close(fd);
	return n < 0 ? -err : n != (ssize_t)strlen(text) ? -EIO : 0;
}

/* Runs argv (an absolute path) with stdin and stdout on /dev/null and every signal unblocked;
 * the last line of its stderr goes into msg. Returns its wait status, or a negative errno. */
static int run_program(char *const argv[], char *msg, size_t len)
{
	static char *no_env[] = { NULL };
	int err[2];
	msg[0] = '\0';
	if (pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(err[1], 2) < 0)
			_exit(126);
		execve(argv[0], argv, no_env);
		_exit(127);
	}
	close(err[1]);
	if (pid < 0) {
		close(err[0]);
		return -errno;
	}
	size_t got = 0;
	ssize_t n;
	while (got < len - 1 && (n = read(err[0], msg + got, len - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	while (got > 0 && msg[got - 1] == '\n')
		got--;
	msg[got] = '\0';
	char *last = strrchr(msg, '\n');
	if (last != NULL)
		memmove(msg, last + 1, strlen(last + 1) + 1);
	close(err[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return status;
}

/* "inside outside count" lines, as /proc/PID/uid_map takes them. */
static void map_text(const struct id_range *r, int n, char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (int i = 0; i < n && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%u %u %u\n", r[i].inside, r[i].outside, r[i].count);
}

static int map_ids(pid_t pid, const char *tool, const struct id_range *r, int n, const char *file, const char *what)
{
	char text[16 * 40], path[64], msg[300];
	if (tool == NULL) {
		map_text(r, n, text, sizeof(text));
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
		int ret = write_file(path, text);
		return ret < 0 ? fail(-ret, "cannot write the %s ids of the user namespace", what) : 0;
	}
	/* newuidmap PID inside outside count [inside outside count ...] */
	char nums[1 + 3 * USERNS_MAX_RANGES][12], *argv[2 + 3 * USERNS_MAX_RANGES + 1];
	int k = 0;
	argv[k] = (char *)tool;
	snprintf(nums[0], sizeof(nums[0]), "%d", (int)pid);
	argv[++k] = nums[0];
	for (int i = 0; i < n; i++) {
		unsigned int v[3] = { r[i].inside, r[i].outside, r[i].count };
		for (int j = 0; j < 3; j++) {
			snprintf(nums[1 + 3 * i + j], sizeof(nums[0]), "%u", v[j]);
			argv[++k] = nums[1 + 3 * i + j];
		}
	}
	argv[++k] = NULL;
	int status = run_program(argv, msg, sizeof(msg));
	if (status < 0)
		return fail(-status, "cannot run %s", tool);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail(0, "%s could not give the user namespace its %s ids: %s", tool, what,
			    msg[0] ? msg : "it failed without a word");
	return 0;
}

/* Step 3a (and the tool mode): the maps of pid's user namespace. */
int write_maps(const struct plan *p, pid_t pid)
{
	const struct userns_plan *u = &p->userns;
	char path[64];
	int ret = map_ids(pid, u->uid_tool, u->uid, u->n_uid, "uid_map", "user");
	if (ret < 0)
		return ret;
	if (u->deny_setgroups) {
		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
		if ((ret = write_file(path, "deny")) < 0)
			return fail(-ret, "cannot deny setgroups in the user namespace");
	}
	if ((ret = map_ids(pid, u->gid_tool, u->gid, u->n_gid, "gid_map", "group")) < 0)
		return ret;
	TRACE("3a", "user-namespace", "uid-ranges=%d gid-ranges=%d tool=%s", u->n_uid, u->n_gid, u->uid_tool ? "yes" : "no");
	return 0;
}

int map_user_namespace(const struct plan *p, pid_t pid)
{
	return (p->clone_flags & CLONE_NEWUSER) ? write_maps(p, pid) : 0;
}

static int enter_ns(pid_t pid, const char *name, int type)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret = fd < 0 || setns(fd, type) < 0 ? fail(errno, "cannot enter the container's %s namespace", name) : 0;
	if (fd >= 0)
		close(fd);
	return ret;
}

/* An idmapped clone of the mount at dir, put over dir: the files below show with the ids of the
 * container's user namespace (root's files as the container's root), on disk they stay as they are. */
static int idmap_over(const char *dir, int userns)
{
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return fail(errno, "cannot clone the mount of %s", dir);
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (unsigned long long)userns };
	int ret = 0;
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		ret = fail(errno, "cannot make an idmapped mount of %s (Linux 5.12 and a filesystem that allows them are needed)", dir);
	else if (syscall(SYS_move_mount, fd, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		ret = fail(errno, "cannot put the idmapped mount over %s", dir);
	close(fd);
	return ret;
}

/* Step 4a, in the mounter, as the host's root: idmapped layers and the overlay on them, in the
 * container's mount namespace. The container's first process waits at sync 1 meanwhile: nothing of
 * it has run past its own set-up, and its mount namespace is still a copy of the host's. */
static int mount_as_host(const struct plan *p, pid_t pid)
{
	const struct userns_plan *u = &p->userns;
	char path[64];
	int ret;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	int userns = open(path, O_RDONLY | O_CLOEXEC);
	if (userns < 0)
		return fail(errno, "cannot open the container's user namespace");
	if ((ret = enter_ns(pid, "mnt", CLONE_NEWNS)) < 0)
		return ret;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(errno, "cannot make the container's mounts private");
	for (int i = 0; i < u->n_idmap; i++) {
		if ((ret = idmap_over(u->idmap[i], userns)) < 0)
			return ret;
		TRACE("4a", "idmap", "path=%s", trace_token(u->idmap[i]));
	}
	close(userns);
	return run_host_mounts(p);
}

/* Step 4a, in the mounter, as root of the container's user namespace: a FUSE filesystem. The
 * mount itself is made in the container's mount namespace (by a child), on a connection to
 * /dev/fuse opened here; its daemon is started here, in the host's mount namespace, on that
 * connection: it reaches the layers by their host paths, and holds nothing of the container, so
 * once the container's mount namespace is gone the kernel ends the connection and the daemon. */
static int mount_fuse(const struct plan *p, pid_t pid)
{
	const struct userns_plan *u = &p->userns;
	char path[64], data[1024], dev[32], msg[300];
	int ret, status, count = 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	int userns = open(path, O_RDONLY | O_CLOEXEC);
	if (userns < 0 || setns(userns, CLONE_NEWUSER) < 0)
		return fail(errno, "cannot enter the container's user namespace");
	close(userns);
	int fuse = open("/dev/fuse", O_RDWR); /* inherited by the daemon */
	if (fuse < 0)
		return fail(errno, "cannot open /dev/fuse");
	snprintf(data, sizeof(data), "fd=%d,%s", fuse, u->fuse.options);
	pid_t child = fork();
	if (child == 0) {
		if (enter_ns(pid, "mnt", CLONE_NEWNS) < 0 || mount(p->userns.fuse.argv[0], u->fuse.target, u->fuse.fstype, MS_NOSUID | MS_NODEV, data) < 0)
			_exit(errno ? errno : 1);
		_exit(0);
	}
	if (child < 0 || waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail(child < 0 ? errno : WIFEXITED(status) ? WEXITSTATUS(status) : 0, "cannot mount %s on %s", u->fuse.fstype, u->fuse.target);
	while (u->fuse.argv[count])
		count++;
	char *argv[count + 1];
	snprintf(dev, sizeof(dev), "/dev/fd/%d", fuse);
	for (int i = 0; i <= count; i++)
		argv[i] = u->fuse.argv[i] && strcmp(u->fuse.argv[i], "{fd}") == 0 ? dev : u->fuse.argv[i];
	if ((ret = run_program(argv, msg, sizeof(msg))) < 0)
		return fail(-ret, "cannot run %s", argv[0]);
	if (!WIFEXITED(ret) || WEXITSTATUS(ret) != 0)
		return fail(0, "%s could not serve the container's root: %s", argv[0], msg[0] ? msg : "it failed without a word");
	TRACE("4a", "fuse", "daemon=%s", trace_token(argv[0]));
	return 0;
}

static int mount_from_outside(const struct plan *p, pid_t pid)
{
	return p->userns.mounter == MOUNTER_HOST ? mount_as_host(p, pid) : mount_fuse(p, pid);
}

int run_mounter(const struct plan *p, pid_t pid)
{
	int rep[2], status;
	struct report r;
	if (p->userns.mounter == MOUNTER_NONE)
		return 0;
	if (pipe2(rep, O_CLOEXEC) < 0)
		return fail(errno, "cannot create a pipe");
	pid_t m = fork();
	if (m == 0) {
		g_role = "mounter";
		close(rep[0]);
		if (mount_from_outside(p, pid) < 0)
			report_and_exit(rep[1]);
		_exit(0);
	}
	close(rep[1]);
	if (m < 0) {
		close(rep[0]);
		return fail(errno, "cannot start the process that mounts the container's root");
	}
	int reported = read_report(rep[0], &r);
	close(rep[0]);
	while (waitpid(m, &status, 0) < 0 && errno == EINTR)
		;
	if (reported) {
		g_report = r;
		return -EIO;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail(0, "the process that mounts the container's root ended without a word");
	return 0;
}

/* Container step 2. The offsets apply to the namespace made for our children, which no process
 * has entered yet; then this process enters it too, so PID 1 and box exec's processes share it. */
int enter_time_namespace(const struct plan *p)
{
	struct timespec mono, boot;
	char text[128];
	int ret;
	if (!p->timens.on)
		return 0;
	if (unshare(CLONE_NEWTIME) < 0)
		return fail(errno, "cannot create a time namespace");
	if (p->timens.from_start) {
		/* Whole seconds back: the clocks start between 0 and 1 s, never below 0 (which the
		 * kernel refuses). */
		clock_gettime(CLOCK_MONOTONIC, &mono);
		clock_gettime(CLOCK_BOOTTIME, &boot);
		snprintf(text, sizeof(text), "monotonic %lld 0\nboottime %lld 0\n", -(long long)mono.tv_sec, -(long long)boot.tv_sec);
		if ((ret = write_file("/proc/self/timens_offsets", text)) < 0)
			return fail(-ret, "cannot set the clocks of the time namespace");
	}
	int fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	ret = fd < 0 || setns(fd, CLONE_NEWTIME) < 0 ? fail(errno, "cannot enter the time namespace") : 0;
	if (fd >= 0)
		close(fd);
	TRACE("2", "time-namespace", "from-start=%d", p->timens.from_start);
	return ret;
}
