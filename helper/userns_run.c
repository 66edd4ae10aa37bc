/*
 * A user namespace as a place to run things (userns.c makes and maps them):
 *
 *   the container's first process, rootless, executes the helper again once mapped (container.c,
 *     step 0), so that it belongs to the namespace and its user may join it (box exec)
 *   after the container (host.c): the clean-up paths removed as root of its user namespace, kept
 *     alive by an fd opened at its start: the container's files belong to its ids, not to the user
 *     removing them
 *   MODE_USERNS (main.c): a new user namespace with the plan's maps, in which trees are removed and
 *     a program runs (box's unpacker: image files get the ids they have in containers)
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

/*
 * Container step 0, rootless. A process's memory belongs to the user namespace in which it last
 * executed a program: the container's first process, cloned from the supervisor, still belongs to
 * the host's, where its user has no CAP_SYS_PTRACE; non-dumpable as it makes itself, neither its
 * user's box exec could join its namespaces (setns through a pidfd, /proc/PID/ns, /proc/PID/root
 * all ask for that) nor anything else of the user's reach it. Executing the helper again (the same
 * sealed memfd, /proc/self/exe) once mapped makes it the namespace's: the namespace's owner may
 * join it; the container's own processes, without CAP_SYS_PTRACE, still may not touch it.
 * The plan is read again from its fd; the channels' fds cross the execve by number.
 */
int g_plan_fd = -1;

/* Container step 0, once mapped: root of the namespace, which is the host's id the plan mapped to 0
 * (as root, the process came from the host's root, whose id the namespace does not map). */
int become_namespace_root(const struct plan *p)
{
	if ((!p->userns.deny_setgroups && setgroups(0, NULL) < 0) || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return fail(errno, "cannot become root of the user namespace");
	return 0;
}

int reexec_in_namespace(const struct plan *p, const struct channels *ch)
{
	int fds[] = { ch->report_w, ch->sync_r, ch->console_w, ch->stdio[0], ch->stdio[1], ch->stdio[2],
		      ch->devnull, ch->hold_fd, g_trace_fd, g_plan_fd };
	char text[160], planfd[16];
	size_t at = 0;
	if (!p->userns.reexec)
		return 0;
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (fds[i] >= 0 && fcntl(fds[i], F_SETFD, 0) < 0)
			return fail(errno, "cannot keep fd %d for the helper's second start", fds[i]);
		if (i + 1 < sizeof(fds) / sizeof(fds[0]))
			at += (size_t)snprintf(text + at, sizeof(text) - at, "%s%d", i ? "," : "", fds[i]);
	}
	snprintf(planfd, sizeof(planfd), "%d", g_plan_fd);
	char *argv[] = { "box-helper", "--container", text, "--plan-fd", planfd, NULL };
	extern char **environ; /* the store's label, BOX_ROOT=..., kept (src/helper.ts) */
	TRACE("0", "reexec", "plan-fd=%d", g_plan_fd);
	execve("/proc/self/exe", argv, environ);
	return fail(errno, "cannot execute the helper again in the user namespace");
}

/* The channels, back from the numbers reexec_in_namespace wrote (and close-on-exec again). */
int resume_arguments(const char *text, struct channels *ch)
{
	int *slots[] = { &ch->report_w, &ch->sync_r, &ch->console_w, &ch->stdio[0], &ch->stdio[1], &ch->stdio[2],
			 &ch->devnull, &ch->hold_fd, &g_trace_fd };
	const char *s = text;
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s || v < -2 || v > 1 << 20 || *end != (i + 1 < sizeof(slots) / sizeof(slots[0]) ? ',' : '\0'))
			return fail(0, "the helper's second start got malformed channels '%s'", text);
		*slots[i] = (int)v;
		if (v > 2) /* 0-2 may be the command's stdio, handed over as they are */
			fcntl((int)v, F_SETFD, FD_CLOEXEC);
		s = end + 1;
	}
	ch->tty_slave = -1;
	ch->pid_w = -1;
	return 0;
}

/* The container's user namespace, held open for the clean-up (cleanup_inside). */
static int g_userns_fd = -1;

int open_user_namespace(const struct plan *p, pid_t pid)
{
	char path[64];
	if (!p->userns.cleanup_inside)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (g_userns_fd >= 0)
		close(g_userns_fd); /* the last run's: a restarted container has a namespace of its own */
	g_userns_fd = open(path, O_RDONLY | O_CLOEXEC);
	return g_userns_fd < 0 ? fail(errno, "cannot open the container's user namespace") : 0;
}

static void remove_paths(const struct plan *p)
{
	for (int i = 0; i < p->n_cleanup_paths; i++)
		if (remove_tree(p->cleanup_paths[i]) < 0)
			report_print(&g_report);
}

/* After the container: its paths removed by a child that became root of its user namespace. Returns
 * 0 when that is not the plan's way (the caller removes them itself). */
int remove_inside(const struct plan *p)
{
	if (!p->userns.cleanup_inside || g_userns_fd < 0)
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		if (setns(g_userns_fd, CLONE_NEWUSER) < 0) {
			fail(errno, "cannot enter the container's user namespace to remove its files (the next box command will)");
			report_print(&g_report);
			_exit(125);
		}
		remove_paths(p);
		_exit(0);
	}
	while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return 1;
}

/* MODE_USERNS: a child in a new user namespace, mapped as the plan says, removes the plan's trees
 * and runs its program (argv, env) as the namespace's root; its status is ours. */
int userns_tool(const struct plan *p)
{
	int sync[2], status;
	if (pipe2(sync, O_CLOEXEC) < 0)
		return fail(errno, "cannot create a pipe"), report_print(&g_report), 125;
	long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		close(sync[1]);
		wait_sync(sync[0]); /* mapped */
		remove_paths(p);
		if (p->proc.argv == NULL)
			_exit(g_report.status ? 125 : 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(p->proc.argv[0], p->proc.argv, p->proc.env);
		fail(errno, "cannot run %s in the user namespace", p->proc.argv[0]);
		report_print(&g_report);
		_exit(127);
	}
	close(sync[0]);
	if (pid < 0 || write_maps(p, (pid_t)pid) < 0) {
		if (pid < 0)
			fail(errno, "cannot create a user namespace");
		report_print(&g_report);
		if (pid > 0)
			kill((pid_t)pid, SIGKILL), waitpid((pid_t)pid, NULL, 0);
		return 125;
	}
	write_all(sync[1], "0", 1);
	close(sync[1]);
	while (waitpid((pid_t)pid, &status, 0) < 0)
		if (errno != EINTR)
			return 125;
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
