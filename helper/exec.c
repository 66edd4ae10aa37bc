/*
 * box exec: a new process in a running container, never more privileged than the container.
 *
 *   1. channels, stdio, cgroup files, signals (as for a new container, supervise.c)
 *   2. the container's init, pinned: a pidfd first, then its start time checked against the plan's
 *      (a pid alone may have been reused by another process), then its /proc dir and root (with a
 *      user namespace of its own: the root of its mount namespace, once joined, and then the
 *      joiner opens the terminal and sends its master back)
 *   3. tty: a pty master of the container's own devpts, opened through that root fd (pty.c)
 *   4. fork the joiner, which stays in the host's PID namespace, out of the container's sight:
 *        a. into the container's cgroups: on v1 it writes 0 into each tasks file itself (host.c,
 *           join_own_cgroups); non-dumpable, dies with us; waits for sync 1 (where we move it into
 *           a cgroup, that is done)
 *        b. joins every namespace of the init at once (setns on the pidfd; kernels before 5.8:
 *           /proc/PID/ns of the pinned process) and its root (chroot)
 *        c. takes the terminal's slave from the master
 *        d. confines itself completely: user, capabilities, no_new_privs, seccomp (command.c)
 *        e. clones the command into the container's PID namespace as our child (CLONE_PARENT),
 *           tells us its pid and ends
 *      So the only process of this exec the container can see is already confined as tightly as
 *      the container: it is non-dumpable until its execve, and has nothing left to do but start.
 *   5. the joiner into the container's cgroups (the command inherits them); sync 1
 *   6. the command's pid from the joiner; then EOF on the report pipe at its execve, or a failure
 *   7. relay and wait (stdio.c, wait_command); for the runc CLI's exec --detach ('handoff'),
 *      return: the command is left to our caller's reaper
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

struct pinned {
	int pidfd;  /* -1 on kernels without pidfd_open (before 5.3) */
	int procfd; /* /proc/PID, bound to that very process: it fails once the process is gone */
	int rootfd;
};

static int still_alive(const struct pinned *init)
{
	return init->pidfd < 0 || syscall(SYS_pidfd_send_signal, init->pidfd, 0, NULL, 0) == 0;
}

/* Step 2. The pidfd pins whatever process has the pid now; the start time, read after that, tells
 * it is the plan's init and not a process that reused its pid; still alive after that read, the
 * pidfd and the /proc dir both are that init. */
static int pin_init(const struct plan *p, struct pinned *init)
{
	char path[64], stat[1024];
	unsigned long long start;
	init->pidfd = (int)syscall(SYS_pidfd_open, p->join_pid, 0);
	if (init->pidfd < 0 && errno != ENOSYS)
		return fail(0, "the container's init (pid %d) is gone: is the container still running?", (int)p->join_pid);
	snprintf(path, sizeof(path), "/proc/%d", (int)p->join_pid);
	init->procfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (init->procfd < 0 || read_small_at(init->procfd, "stat", stat, sizeof(stat)) <= 0 ||
	    stat_start_time(stat, &start) < 0 || start != p->join_start || !still_alive(init))
		return fail(0, "the container's init (pid %d) is gone: is the container still running?", (int)p->join_pid);
	/* A container with a user namespace of its own is entered by its mount namespace's root
	 * instead: its init is not dumpable, and its /proc/PID/root is the host's root's alone. */
	init->rootfd = p->join_user ? -1 : openat(init->procfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (init->rootfd < 0 && !p->join_user)
		return fail(errno, "cannot open the container's root");
	TRACE("2", "pin-init", "pid=%d start=%llu pidfd=%d", (int)p->join_pid, start, init->pidfd >= 0);
	return 0;
}

/* Step 4b. The user namespace (when the container has one) comes first, the time namespace
 * (when it has one) with the others. */
static int join_namespaces(const struct plan *p, const struct pinned *init)
{
	static const struct { const char *name; int type; } ns[] = {
		{ "ns/user", CLONE_NEWUSER }, { "ns/ipc", CLONE_NEWIPC }, { "ns/uts", CLONE_NEWUTS }, { "ns/net", CLONE_NEWNET },
		{ "ns/pid", CLONE_NEWPID }, { "ns/cgroup", CLONE_NEWCGROUP }, { "ns/time", CLONE_NEWTIME }, { "ns/mnt", CLONE_NEWNS },
	};
	int all = CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWCGROUP | CLONE_NEWNS |
		  (p->join_user ? CLONE_NEWUSER : 0) | (p->join_time ? CLONE_NEWTIME : 0);
	if (init->pidfd < 0 || setns(init->pidfd, all) < 0) {
		if (init->pidfd >= 0 && errno != EINVAL)
			return fail(errno, "cannot join the container's namespaces");
		for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
			if (!(all & ns[i].type))
				continue;
			int fd = openat(init->procfd, ns[i].name, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, ns[i].type) < 0)
				return fail(errno, "cannot join the container's %s namespace", ns[i].name + 3);
			close(fd);
		}
	}
	/* Without the init's root fd, joining the mount namespace put us at its root: the container's. */
	if (init->rootfd >= 0 ? fchdir(init->rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0 : chdir("/") < 0)
		return fail(errno, "cannot enter the container's root");
	TRACE("4b", "join", "namespaces=%sipc,uts,net,pid,cgroup,%smnt root=%s", p->join_user ? "user," : "", p->join_time ? "time," : "",
	      init->rootfd >= 0 ? "chroot" : "mount-namespace");
	return 0;
}

static int master_from_inside(const struct channels *ch)
{
	int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int master = rootfd < 0 ? fail(errno, "cannot open the container's root") : open_pty_master(rootfd);
	if (rootfd >= 0)
		close(rootfd);
	int ret = master >= 0 ? send_fd(ch->console_w, master, "m", 1) : 0;
	if (ret < 0) {
		fail(-ret, "cannot pass the terminal to box");
		close(master);
		return -EIO;
	}
	return master;
}

/* Step 4, in the joiner. */
static _Noreturn void joiner_main(const struct plan *p, struct channels *ch, struct cgroup_files *cg, const struct pinned *init,
				   int master)
{
	g_role = "joiner";
	/* a. */
	if (join_own_cgroups(cg) < 0)
		report_and_exit(ch->report_w);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
		fail(errno, "cannot prepare the process that joins the container");
		report_and_exit(ch->report_w);
	}
	wait_sync(ch->sync_r);
	/* b. */
	if (join_namespaces(p, init) < 0)
		report_and_exit(ch->report_w);
	/* c. (Without the init's root fd, the master is opened here, through the root we are in, and
	 * goes to the supervisor.) */
	if (p->proc.tty && master < 0 && (master = master_from_inside(ch)) < 0)
		report_and_exit(ch->report_w);
	if (master >= 0) {
		ch->tty_slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (ch->tty_slave < 0) {
			fail(errno, "cannot open the container's terminal");
			report_and_exit(ch->report_w);
		}
		/* The size of box's terminal, set here before the command runs: set by the supervisor
		 * once it has the master, a quick command (stty size) could see 0x0 first. */
		copy_winsize(isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, master);
	}
	/* d. */
	if (confine_process(&p->proc, ch) < 0)
		report_and_exit(ch->report_w);
	/* e. */
	long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		g_role = "command";
		if (!p->oci.handoff)
			prctl(PR_SET_PDEATHSIG, SIGKILL);
		start_command(&p->proc, ch);
	}
	if (pid < 0) {
		fail(errno, "cannot start the command in the container");
		report_and_exit(ch->report_w);
	}
	int command = (int)pid;
	_exit(write_all(ch->pid_w, &command, sizeof(command)) < 0 ? 125 : 0);
}

/* Step 6. The joiner says the command's pid, or (it failed) closes the pipe after its report. */
static pid_t command_pid(pid_t joiner, int pid_r)
{
	int pid = -1;
	if (read_all(pid_r, &pid, sizeof(pid)) < 0)
		pid = -1;
	waitpid(joiner, NULL, 0);
	return (pid_t)pid;
}

int supervise_exec(const struct plan *p)
{
	int report[2], sync[2], pids[2], console[2] = { -1, -1 }, master = -1;
	struct channels ch = { .console_w = -1, .devnull = -1, .hold_fd = -1, .tty_slave = -1 };
	struct relay rl = { .in_from = -1, .in_to = -1, .out_from = { -1, -1 }, .out_to = { 1, 2 }, .pty_master = -1,
			    .sigfd = -1, .child_ends = { -1, -1, -1 } };
	struct cgroup_files cg = { .n = 0 };
	struct pinned init = { -1, -1, -1 };
	struct report rep;

	/* 1. */
	if (pipe2(report, O_CLOEXEC) < 0 || pipe2(sync, O_CLOEXEC) < 0 || pipe2(pids, O_CLOEXEC) < 0)
		return fail(errno, "cannot create the channels to the container"), fail_start(p);
	ch.report_w = report[1];
	ch.sync_r = sync[0];
	ch.pid_w = pids[1];
	if (prepare_stdio(p, &ch, &rl) < 0 || open_cgroups(p, &cg) < 0 || block_signals(&rl) < 0)
		return fail_start(p);
	/* 2. */
	if (pin_init(p, &init) < 0)
		return fail_start(p);
	/* 3. */
	if (p->proc.tty && init.rootfd >= 0 && (master = open_pty_master(init.rootfd)) < 0)
		return fail_start(p);
	if (p->proc.tty && init.rootfd < 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0)
		return fail(errno, "cannot create the channels to the container"), fail_start(p);
	ch.console_w = console[1];
	/* 4. */
	pid_t joiner = fork();
	if (joiner < 0)
		return fail(errno, "cannot start the command in the container"), fail_start(p);
	if (joiner == 0) {
		close(report[0]);
		close(sync[1]);
		close(pids[0]);
		joiner_main(p, &ch, &cg, &init, master);
	}
	close_tasks(&cg); /* the joiner writes itself into them */
	close(report[1]);
	close(sync[0]);
	close(pids[1]);
	if (console[1] >= 0)
		close(console[1]);
	close(ch.devnull);
	for (int i = 0; i < 3; i++)
		if (rl.child_ends[i] >= 0)
			close(rl.child_ends[i]);
	/* 5. */
	if (join_cgroups(&cg, joiner) < 0 || oci_set_oom_score_adj(p, joiner) < 0 || write_all(sync[1], "1", 1) < 0) {
		kill(joiner, SIGKILL);
		waitpid(joiner, NULL, 0);
		return fail_start(p);
	}
	if (console[0] >= 0) {
		master = recv_fd(console[0]); /* fails when the joiner did: its report says why */
		close(console[0]);
	}
	if (master >= 0 && p->oci.console_socket) {
		/* The runc CLI's: the caller relays the terminal (the joiner has its own copy). */
		int sent = oci_send_console(p, master);
		close(master);
		if (sent < 0) {
			kill(joiner, SIGKILL);
			waitpid(joiner, NULL, 0);
			return fail_start(p);
		}
	} else if (master >= 0) {
		rl.pty_master = rl.out_from[0] = rl.in_to = master; /* its size set by the joiner */
		if (p->proc.stdin_open && isatty(STDIN_FILENO))
			terminal_raw(STDIN_FILENO);
	}
	/* 6. */
	pid_t pid = command_pid(joiner, pids[0]);
	if (read_report(report[0], &rep)) {
		if (pid > 0)
			waitpid(pid, NULL, 0);
		g_report = rep;
		return fail_start(p);
	}
	if (pid < 0)
		return fail(EPROTO, "the command did not start in the container"), fail_start(p);
	close(report[0]);
	if (oci_write_pidfile(p, pid) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return fail_start(p);
	}
	/* The runc CLI's exec --detach: the command is left to our caller's reaper (conmon). */
	if (p->oci.handoff)
		return 0;
	/* 7. */
	return wait_command(pid, &rl);
}
