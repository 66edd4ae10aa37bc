/*
 * Inside the container: everything between clone() and exec, in the order it happens.
 *
 * The namespaces themselves are created by the clone() in supervise.c; this process starts in them
 * and builds the container's view of the world:
 *
 *   1. die with the supervisor; wait for it (sync 1: the cgroup join is done)
 *   2. cgroup namespace (after the join, so the container's own cgroup is its root)
 *   3. a new session: the host's terminal is not our controlling terminal
 *   4. mount propagation private, so nothing we mount reaches the host
 *   5. host-side mounts (the overlay, or the rootfs bound onto itself)
 *   6. steps inside the root (proc, dev, devpts, sys, /etc files), never following a symlink out
 *   7. hostname, loopback
 *   8. pivot_root, old root detached
 *   9. tty: a pty from the container's devpts; its master goes to the supervisor (sync 2)
 *  10. fork the command; this process stays as PID 1 (init.c)
 *
 * The command, in its own process: session and terminal, stdio, keyring, close every inherited fd,
 * capabilities and user, working directory, signals, no_new_privs, seccomp, exec with PATH looked
 * up inside the container.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "helper.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Opens path (absolute, as seen inside the container) with every symlink resolved inside rootfd:
 * an absolute symlink planted in the rootfs points back into the rootfs, never at the host. */
static int open_in_root(int rootfd, const char *path, int flags)
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

/* Splits an absolute in-container path into an fd of its parent directory and its last component. */
static int open_parent(int rootfd, const char *path, const char **base)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	if (path[0] != '/' || slash == NULL || slash[1] == '\0' || strlen(path) >= sizeof(dir))
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
static int step_device(int rootfd, char **f)
{
	unsigned long major, minor;
	struct stat st;
	char from[64], to[64];
	int ret;
	if ((ret = plan_number(f[2], 10, 4095, &major)) < 0 || (ret = plan_number(f[3], 10, 1048575, &minor)) < 0)
		return ret;
	int hfd = open(f[0], O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (hfd < 0)
		return fail(errno, "cannot open the host's %s", f[0]);
	if (fstat(hfd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(major, minor)) {
		close(hfd);
		return fail(0, "refusing the host's %s: it is not the character device %lu:%lu", f[0], major, minor);
	}
	if ((ret = step_file(rootfd, f[1], 0644)) >= 0) {
		int fd = open_in_root(rootfd, f[1], O_PATH | O_NOFOLLOW);
		if (fd < 0) {
			ret = fail(-fd, "cannot open %s in the container", f[1]);
		} else {
			snprintf(from, sizeof(from), "/proc/self/fd/%d", hfd);
			snprintf(to, sizeof(to), "/proc/self/fd/%d", fd);
			if (mount(from, to, NULL, MS_BIND, NULL) < 0)
				ret = fail(errno, "cannot bind the device %s into the container", f[0]);
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
	snprintf(to, sizeof(to), "/proc/self/fd/%d", fd);
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
			snprintf(from, sizeof(from), "/proc/self/fd/%d", nfd);
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
	char fdpath[64];
	int fd = open_in_root(rootfd, path, O_PATH | O_NOFOLLOW);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fail(-fd, "cannot open %s in the container", path);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	int ret = mount(fdpath, fdpath, NULL, MS_BIND | MS_REC, NULL) < 0 ? -errno : 0;
	close(fd);
	if (ret < 0)
		return fail(-ret, "cannot bind %s onto itself in the container", path);
	/* Reopened: the path now leads to the new bind mount. */
	fd = open_in_root(rootfd, path, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return fail(-fd, "cannot open %s in the container", path);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	ret = mount(NULL, fdpath, NULL, flags, NULL) < 0 ? fail(errno, "cannot make %s read-only in the container", path) : 0;
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

static const char *or_null(const char *s)
{
	return s[0] ? s : NULL;
}

/* Mounts onto a target inside the root. The target is opened first (symlinks resolved inside the
 * root, and the target itself must be a directory or a regular file, never a symlink), then mounted
 * on through /proc/self/fd, so what is mounted on is exactly what was checked. */
static int step_mount(int rootfd, char **f)
{
	unsigned long flags;
	struct stat st;
	char fdpath[64];
	const char *src = f[0], *target = f[1], *fstype = f[2];
	int ret = plan_number(f[3], 10, ~0ul, &flags);
	if (ret < 0)
		return ret;
	int fd = open_in_root(rootfd, target, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return fail(-fd, "cannot open the mount point %s in the container", target);
	if (fstat(fd, &st) < 0) {
		ret = fail(errno, "cannot look at the mount point %s in the container", target);
	} else if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
		ret = fail(0, "refusing to mount on %s in the container: it is a symbolic link or a special file",
			   target);
	} else {
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
		if (mount(or_null(src), fdpath, or_null(fstype), flags, or_null(f[4])) < 0)
			ret = fail(errno, "cannot mount %s on %s in the container",
				   src[0] ? src : fstype, target);
	}
	close(fd);
	return ret;
}

static int step_host_mount(char **f)
{
	unsigned long flags;
	int ret = plan_number(f[3], 10, ~0ul, &flags);
	if (ret < 0)
		return ret;
	if (mount(or_null(f[0]), f[1], or_null(f[2]), flags, or_null(f[4])) < 0)
		return fail(errno, "cannot mount %s on %s", f[0][0] ? f[0] : f[2], f[1]);
	return 0;
}

static int run_root_steps(const struct plan *p, int rootfd)
{
	int ret = 0;
	unsigned long mode;
	for (int i = 0; i < p->nrecords && ret >= 0; i++) {
		const struct record *r = &p->records[i];
		char **f = r->fields;
		if (strcmp(r->key, "mkdir") == 0) {
			if ((ret = plan_number(f[1], 8, 07777, &mode)) >= 0)
				ret = step_mkdir(rootfd, f[0], (mode_t)mode);
		} else if (strcmp(r->key, "file") == 0) {
			if ((ret = plan_number(f[1], 8, 07777, &mode)) >= 0)
				ret = step_file(rootfd, f[0], (mode_t)mode);
		} else if (strcmp(r->key, "device") == 0) {
			ret = step_device(rootfd, f);
		} else if (strcmp(r->key, "mask") == 0) {
			ret = step_mask(rootfd, f[0]);
		} else if (strcmp(r->key, "readonly") == 0) {
			ret = step_readonly(rootfd, f[0]);
		} else if (strcmp(r->key, "symlink") == 0) {
			ret = step_symlink(rootfd, f[0], f[1]);
		} else if (strcmp(r->key, "mount") == 0) {
			ret = step_mount(rootfd, f);
		}
	}
	return ret;
}

static int loopback_up(void)
{
	struct ifreq ifr;
	int ret = 0;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail(errno, "cannot open a socket to bring up lo");
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		ret = fail(errno, "cannot read the flags of lo");
	} else {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			ret = fail(errno, "cannot bring up lo");
	}
	close(s);
	return ret;
}

/* pivot_root(".", ".") stacks the old root under the new one at "/"; detaching it leaves only the
 * container's root. This avoids needing a directory for the old root inside the rootfs (the trick
 * runc and LXC use); it is safe because propagation was made private in step 4. */
static int enter_root(int rootfd)
{
	if (fchdir(rootfd) < 0)
		return fail(errno, "cannot enter the root filesystem");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(errno, "cannot pivot_root into the root filesystem");
	if (umount2(".", MNT_DETACH) < 0)
		return fail(errno, "cannot detach the host's root filesystem");
	if (chdir("/") < 0)
		return fail(errno, "cannot change to / in the container");
	return 0;
}

/* A pty of the devpts instance at /dev/pts (the container's, once inside its root): the master,
 * unlocked, and the slave's number. */
int open_pty(int *ptn)
{
	unsigned int n;
	int unlock = 0;
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return fail(errno, "cannot open /dev/ptmx in the container");
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || ioctl(m, TIOCGPTN, &n) < 0) {
		close(m);
		return fail(errno, "cannot unlock a pseudo-terminal in the container");
	}
	*ptn = (int)n;
	return m;
}

/* Step 9: a pty of the container's own devpts; the master goes to the supervisor, the slave's
 * number is kept so the command can open it as its controlling terminal. */
static int open_console(int console_w, int *ptn)
{
	int m = open_pty(ptn);
	if (m < 0)
		return m;
	char cbuf[CMSG_SPACE(sizeof(int))];
	char byte = 'm';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	memset(cbuf, 0, sizeof(cbuf));
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &m, sizeof(int));
	int ret = sendmsg(console_w, &msg, MSG_NOSIGNAL) < 0 ? fail(errno, "cannot pass the terminal to box") : 0;
	close(m);
	return ret;
}

int wait_sync(int fd)
{
	char b;
	int ret = read_all(fd, &b, 1);
	if (ret < 0)
		_exit(125); /* the supervisor is gone: nobody is left to report to */
	return 0;
}

static _Noreturn void report_and_exit(int report_w)
{
	write_all(report_w, &g_report, sizeof(g_report));
	_exit(g_report.status ? g_report.status : 125);
}

static void reset_signals(void)
{
	sigset_t none;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL); /* some are reserved by libc and refuse; that is fine */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int setup_stdio(const struct plan *p, const struct channels *ch, int ptn)
{
	if (p->tty) {
		char name[32];
		snprintf(name, sizeof(name), "/dev/pts/%d", ptn);
		int fd = open(name, O_RDWR); /* we lead a new session, so this becomes our terminal */
		if (fd < 0)
			return fail(errno, "cannot open the container's terminal %s", name);
		if (ioctl(fd, TIOCSCTTY, 0) < 0)
			return fail(errno, "cannot make %s the controlling terminal", name);
		for (int i = 0; i < 3; i++)
			if (dup2(fd, i) < 0)
				return fail(errno, "cannot attach the terminal as fd %d", i);
		if (fd > 2)
			close(fd);
		return 0;
	}
	for (int i = 0; i < 3; i++) {
		int fd = ch->stdio[i];
		if (fd == -2) {
			fd = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (fd < 0)
				return fail(errno, "cannot open /dev/null in the container");
		}
		if (fd >= 0 && dup2(fd, i) < 0)
			return fail(errno, "cannot set up fd %d of the command", i);
	}
	return 0;
}

static const char *env_path(char **env)
{
	for (char **e = env; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			return *e + 5;
	return DEFAULT_PATH;
}

/* execvpe, but with the PATH of the container's environment and docker's exit codes: 127 when the
 * command is not found, 126 when it exists but cannot be executed. */
static int exec_command(char **argv, char **env)
{
	const char *file = argv[0];
	char buf[4096];
	int err;
	if (strchr(file, '/') != NULL) {
		execve(file, argv, env);
		err = errno;
	} else {
		err = ENOENT;
		const char *dir = env_path(env);
		while (*dir) {
			const char *end = strchrnul(dir, ':');
			size_t len = (size_t)(end - dir);
			if (len + strlen(file) + 2 <= sizeof(buf)) {
				if (len == 0)
					buf[len++] = '.';
				else
					memcpy(buf, dir, len);
				buf[len] = '/';
				strcpy(buf + len + 1, file);
				execve(buf, argv, env);
				if (errno == EACCES || (errno != ENOENT && errno != ENOTDIR))
					err = errno;
			}
			dir = *end ? end + 1 : end;
		}
	}
	if (err == ENOENT || err == ENOTDIR)
		return fail_status(127, 0, "%s: command not found in the container", file);
	return fail_status(126, err, "cannot execute %s in the container", file);
}

/* After chdir: the working directory must be inside the container's root. A directory reached
 * through an fd leaked from the host would be "(unreachable)" (CVE-2024-21626, "leaky vessels"). */
static int check_cwd(const char *cwd)
{
	char buf[4096];
	long n = syscall(SYS_getcwd, buf, sizeof(buf));
	if (n < 0 || buf[0] != '/')
		return fail(n < 0 ? errno : 0, "the working directory %s is outside the container", cwd);
	return 0;
}

/* The command, from a copy of PID 1 to exec. The order is the kernel's: the bounding set while we
 * are root; keep capabilities across the uid change; the sets; then no_new_privs and seccomp,
 * which must come last because it would refuse what comes after it. */
_Noreturn void command_main(const struct plan *p, const struct channels *ch, int ptn)
{
	/* a. Own session (and the pty as controlling terminal), stdio, a fresh keyring. */
	setsid();
	if (setup_stdio(p, ch, ptn) < 0 || (p->session_keyring && join_session_keyring() < 0))
		report_and_exit(ch->report_w);
	/* b. No fd of box or of the host survives, but the report pipe (close-on-exec) until exec. */
	if (ch->report_w > 3)
		syscall(SYS_close_range, 3, ch->report_w - 1, 0);
	syscall(SYS_close_range, ch->report_w + 1, ~0u, 0);
	/* c. The bounding set, then the user (groups first), keeping capabilities across it. */
	if (p->have_caps && drop_bounding(p->caps[0]) < 0)
		report_and_exit(ch->report_w);
	prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	if (setgroups((size_t)p->ngroups, p->groups) < 0 || setgid(p->gid) < 0 || setuid(p->uid) < 0) {
		fail(errno, "cannot switch to user %u:%u", (unsigned)p->uid, (unsigned)p->gid);
		report_and_exit(ch->report_w);
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* d. Working directory: we are past pivot_root; still, check where we landed. */
	if (chdir(p->cwd) < 0) {
		fail(errno, "cannot change to the working directory %s in the container", p->cwd);
		report_and_exit(ch->report_w);
	}
	if (check_cwd(p->cwd) < 0)
		report_and_exit(ch->report_w);
	/* e. Without no_new_privs, installing seccomp needs CAP_SYS_ADMIN: do it while we have it. */
	if (p->seccomp && !p->no_new_privs && install_seccomp(p->seccomp, p->seccomp_len) < 0)
		report_and_exit(ch->report_w);
	/* f. The capability sets. */
	if (p->have_caps && set_capabilities(p->caps) < 0)
		report_and_exit(ch->report_w);
	/* g. Signals and umask as a freshly started program expects them. */
	reset_signals();
	umask(022);
	/* h. no_new_privs, and seccomp as the very last step. */
	if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		fail(errno, "cannot set no_new_privs");
		report_and_exit(ch->report_w);
	}
	if (p->seccomp && p->no_new_privs && install_seccomp(p->seccomp, p->seccomp_len) < 0)
		report_and_exit(ch->report_w);
	/* i. Exec. */
	exec_command(p->argv, p->env);
	report_and_exit(ch->report_w);
}

static int setup(const struct plan *p, const struct channels *ch, int *ptn)
{
	int ret;
	/* 1. If the supervisor dies, so does the container (init's death ends the PID namespace). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return fail(errno, "cannot tie the container to box's life");
	wait_sync(ch->sync_r); /* sync 1 */

	/* 2. Cgroup namespace, now that we are in the container's cgroup. */
	if (p->cgroup_ns && unshare(CLONE_NEWCGROUP) < 0)
		return fail(errno, "cannot create a cgroup namespace");

	/* 3. Leave the host's session. */
	if (setsid() < 0)
		return fail(errno, "cannot start a new session");
	umask(0);

	/* 4. Private propagation: our mounts stay in our mount namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(errno, "cannot make the mounts private");

	/* 5. Host-side mounts: they make the rootfs a mount point. */
	for (int i = 0; i < p->nrecords; i++)
		if (strcmp(p->records[i].key, "hmount") == 0 && (ret = step_host_mount(p->records[i].fields)) < 0)
			return ret;

	/* 6. Steps inside the root. */
	int rootfd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return fail(errno, "cannot open the root filesystem %s", p->rootfs);
	if ((ret = run_root_steps(p, rootfd)) < 0)
		return ret;

	/* 7. Identity on the network and in UTS. */
	if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
		return fail(errno, "cannot set the hostname to %s", p->hostname);
	if (p->loopback && (ret = loopback_up()) < 0)
		return ret;
	if (p->ip) {
		if ((ret = nl_add_address("eth0", p->ip[0])) < 0)
			return fail(-ret, "cannot give eth0 the address %s", p->ip[0]);
		if ((ret = nl_link_up("eth0", 0)) < 0)
			return fail(-ret, "cannot bring up eth0");
		if ((ret = nl_default_route(p->ip[1])) < 0)
			return fail(-ret, "cannot add the default route via %s", p->ip[1]);
	}

	/* 8. Into the root. */
	if ((ret = enter_root(rootfd)) < 0)
		return ret;
	close(rootfd);

	/* 9. The terminal. */
	if (p->tty) {
		if ((ret = open_console(ch->console_w, ptn)) < 0)
			return ret;
		wait_sync(ch->sync_r); /* sync 2: the supervisor has sized the terminal */
	}
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Closes every fd above 2 but the channels: the supervisor's signalfd and relay ends must not be
 * reachable from PID 1 of the container. */
static void close_other_fds(const struct channels *ch)
{
	int keep[6] = { ch->report_w, ch->sync_r, ch->console_w, ch->stdio[0], ch->stdio[1], ch->stdio[2] };
	unsigned int from = 3;
	qsort(keep, 6, sizeof(int), cmp_int);
	for (int i = 0; i < 6; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned int)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned int)keep[i] - 1, 0);
		from = (unsigned int)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0u, 0);
}

_Noreturn void container_main(const struct plan *p, const struct channels *ch)
{
	int ptn = -1;
	close_other_fds(ch);
	if (setup(p, ch, &ptn) < 0)
		report_and_exit(ch->report_w);

	/* 10. The command runs as PID 2; we stay PID 1, forward signals and reap. */
	pid_t pid = fork();
	if (pid < 0) {
		fail(errno, "cannot start the command");
		report_and_exit(ch->report_w);
	}
	if (pid == 0)
		command_main(p, ch, ptn);
	close(ch->report_w);
	close(ch->sync_r);
	if (ch->console_w >= 0)
		close(ch->console_w);
	for (int i = 0; i < 3; i++)
		if (ch->stdio[i] > 2)
			close(ch->stdio[i]);
	/* PID 1 keeps no fd of the host: its stdio, possibly the host's terminal, becomes /dev/null. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3; i++) {
		if (null >= 0)
			dup2(null, i);
		else
			close(i);
	}
	if (null > 2)
		close(null);
	init_main(pid);
}
