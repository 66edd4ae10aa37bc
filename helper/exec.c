/*
 * box exec: a new process in a running container. Instead of creating namespaces, the supervisor
 * joins those of the container's init (setns), and its root (chroot through /proc/PID/root); the
 * command is then forked, which puts it in the container's PID namespace, and goes through the same
 * steps as a container's command (command_main): the same capabilities, no_new_privs and seccomp,
 * never more.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#include "helper.h"

int join_container(pid_t pid)
{
	/* Every fd first: once in the container's mount namespace, /proc/PID may no longer be ours. */
	static const struct { const char *name; int type; } ns[] = {
		{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET },
		{ "pid", CLONE_NEWPID }, { "cgroup", CLONE_NEWCGROUP }, { "mnt", CLONE_NEWNS },
	};
	int fds[6], rootfd, ret = 0;
	char path[64];
	for (int i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns[i].name);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			ret = fail(errno, "cannot open the container's %s namespace (is it still running?)", ns[i].name);
			while (i-- > 0)
				close(fds[i]);
			return ret;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		ret = fail(errno, "cannot open the container's root");
	for (int i = 0; i < 6 && ret >= 0; i++)
		if (setns(fds[i], ns[i].type) < 0)
			ret = fail(errno, "cannot join the container's %s namespace", ns[i].name);
	for (int i = 0; i < 6; i++)
		close(fds[i]);
	if (ret >= 0 && (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0))
		ret = fail(errno, "cannot enter the container's root");
	if (rootfd >= 0)
		close(rootfd);
	return ret;
}
