/*
 * The container's first process: everything between clone() and the fork of the command, in the
 * order it happens. The namespaces themselves were created by the clone() in supervise.c (step 3);
 * this process starts in them and builds the container's view of the world:
 *
 *   0. into its cgroups, before anything else: on cgroup v1 it writes 0 into each tasks file
 *      itself (host.c, join_own_cgroups; v2 is born in its cgroup); with a user namespace of its
 *      own, its ids (sync 0) and, rootless, the helper executed again inside it (userns_run.c);
 *      non-dumpable (nothing in the container may ptrace it or read its /proc files); namespaces
 *      the plan joins by path (oci.c); every fd but the channels closed
 *   1. die with the supervisor (unless it hands us over: 'handoff'); wait for it (sync 1: the veth
 *      is in; where the supervisor moves it into a cgroup, that is done)
 *   2. cgroup namespace (after the join, so the container's own cgroup is its root); the time
 *      namespace (userns.c)
 *   3. a new session: the host's terminal is not our controlling terminal
 *   4. mount propagation private, so nothing we mount reaches the host
 *   5. host-side mounts (the overlay, or the rootfs bound onto itself)          rootfs.c
 *   6. steps inside the root (proc, dev, devpts, sys, /etc files), never following a symlink out
 *   7. hostname, domain name; loopback; the veth's address and the default route
 *  7b. OCI hooks: prestart and createRuntime (the supervisor's), createContainer  hooks.c
 *   8. pivot_root, old root detached; the root's propagation                  rootfs.c
 *   9. tty: a pty of the container's devpts; its master goes to the supervisor (sync 2)
 *  10. fork the command (command.c); this process stays as PID 1 (init.c); or, with 'pid1',
 *      become the command itself
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int wait_sync(int fd)
{
	char b;
	int ret = read_all(fd, &b, 1);
	if (ret < 0)
		_exit(125); /* the supervisor is gone: nobody is left to report to */
	return 0;
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

/* Step 7. */
static int set_identity(const struct plan *p)
{
	const struct network *net = &p->net;
	int ret;
	if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
		return fail(errno, "cannot set the hostname to %s", p->hostname);
	if ((ret = oci_set_domainname(p)) < 0)
		return ret;
	if (net->loopback && (ret = loopback_up()) < 0)
		return ret;
	if (net->container_if == NULL)
		return 0;
	if ((ret = nl_add_address(net->container_if, &net->address)) < 0)
		return fail(-ret, "cannot give %s its address", net->container_if);
	if ((ret = nl_link_up(net->container_if, 0)) < 0)
		return fail(-ret, "cannot bring up %s", net->container_if);
	if ((ret = nl_default_route(net->gateway)) < 0)
		return fail(-ret, "cannot add the default route");
	TRACE("7", "address", "if=%s prefix=%u default-route=yes", trace_token(net->container_if), net->address.prefix);
	return 0;
}

/* Step 9: the master goes to the supervisor; the slave, opened from it, stays for the command. */
static int open_console(struct channels *ch)
{
	int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return fail(errno, "cannot open the container's root");
	int master = open_pty_master(rootfd);
	close(rootfd);
	if (master < 0)
		return master;
	ch->tty_slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	int ret = ch->tty_slave < 0 ? fail(errno, "cannot open the container's terminal") : send_fd(ch->console_w, master, "m", 1);
	if (ret < 0 && ch->tty_slave >= 0)
		ret = fail(-ret, "cannot pass the terminal to box");
	close(master);
	TRACE("9", "tty", "slave-fd=%d", ch->tty_slave);
	return ret;
}

/* Step 7b. The supervisor runs the prestart and createRuntime hooks while we wait here (it is asked
 * with a report of status 0, "hooks", and answers on the sync pipe); createContainer hooks run in
 * our namespaces, where the host's files are still in sight, with our pid as the host sees it. */
static int container_hooks(const struct plan *p, struct channels *ch)
{
	char self[32];
	if (has_hooks(&p->oci, HOOK_PRESTART) || has_hooks(&p->oci, HOOK_CREATE_RUNTIME)) {
		struct report ask = { .status = 0, .err = 0, .msg = "hooks" };
		int ret = write_all(ch->report_w, &ask, sizeof(ask));
		if (ret < 0)
			return fail(-ret, "cannot ask box to run the container's hooks");
		wait_sync(ch->sync_r);
	}
	if (!has_hooks(&p->oci, HOOK_CREATE_CONTAINER))
		return 0;
	ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	return run_hooks(&p->oci, HOOK_CREATE_CONTAINER, (pid_t)atoi(self));
}

static int setup(const struct plan *p, struct channels *ch, struct cgroup_files *cg, int resumed)
{
	int ret;
	/* 0. The cgroups first (not again once resumed: done before the second start). With a user
	 * namespace of our own: our ids next (sync 0), while newuidmap can still see that this process
	 * is its user's; then, rootless, the helper executed again (resumed) so this process belongs to
	 * the namespace (userns_run.c). */
	if (!resumed && (ret = join_own_cgroups(cg)) < 0)
		return ret;
	if ((p->clone_flags & CLONE_NEWUSER) && !resumed) {
		wait_sync(ch->sync_r);
		if ((ret = become_namespace_root(p)) < 0 || (ret = reexec_in_namespace(p, ch)) < 0)
			return ret;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return fail(errno, "cannot make the container's first process non-dumpable");
	/* The namespaces the plan joins by path (the runc CLI's), before anything happens in them. */
	if (!resumed && (ret = oci_join_namespaces(p)) < 0)
		return ret;
	int keep[] = { ch->report_w, ch->sync_r, ch->console_w, ch->stdio[0], ch->stdio[1], ch->stdio[2],
		       ch->devnull, ch->hold_fd, g_trace_fd };
	close_fds_except(keep, sizeof(keep) / sizeof(keep[0]));

	/* 1. If the supervisor dies, so does the container (init's death ends the PID namespace);
	 * unless the supervisor is to hand the container over to its caller once it is set up. */
	if (!p->oci.handoff && prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return fail(errno, "cannot tie the container to box's life");
	wait_sync(ch->sync_r);

	/* 2. */
	if (p->cgroup_ns && unshare(CLONE_NEWCGROUP) < 0)
		return fail(errno, "cannot create a cgroup namespace");
	TRACE("2", "cgroup-namespace", "new=%d", p->cgroup_ns);
	if ((ret = enter_time_namespace(p)) < 0)
		return ret;

	/* 3. */
	if (setsid() < 0)
		return fail(errno, "cannot start a new session");
	umask(0);

	/* 4. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(errno, "cannot make the mounts private");
	TRACE("4", "propagation", "target=/ flags=rec,private");

	/* 5. (Made from outside instead when the plan has a mounter: userns.c.) */
	if (p->userns.mounter == MOUNTER_NONE && (ret = run_host_mounts(p)) < 0)
		return ret;

	/* 6. */
	int rootfd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return fail(errno, "cannot open the root filesystem %s", p->rootfs);
	if ((ret = run_root_steps(p, rootfd)) < 0)
		return ret;

	/* 7. */
	if ((ret = set_identity(p)) < 0)
		return ret;

	/* 7b. OCI hooks: prestart and createRuntime by the supervisor, createContainer here. */
	if ((ret = container_hooks(p, ch)) < 0)
		return ret;

	/* 8. */
	if ((ret = enter_root(rootfd)) < 0 || (ret = oci_root_propagation(p)) < 0)
		return ret;
	close(rootfd);

	/* 9. */
	if (p->proc.tty) {
		if ((ret = open_console(ch)) < 0)
			return ret;
		wait_sync(ch->sync_r); /* sync 2: the supervisor has sized the terminal */
	}
	close(ch->sync_r);
	if (ch->console_w >= 0)
		close(ch->console_w);
	return 0;
}

/* Step 10, init's side: nothing of the command's or of the host stays open in PID 1; its stdio,
 * possibly the host's terminal, becomes /dev/null. */
static _Noreturn void become_init(const struct plan *p, const struct channels *ch, pid_t command)
{
	g_role = "init";
	TRACE("10", "fork", "command-pid=%d", (int)command);
	for (int i = 0; i < 3; i++)
		dup2(ch->devnull, i);
	int keep[] = { ch->report_w, g_trace_fd };
	close_fds_except(keep, 2);
	init_main(&p->proc, command, ch->report_w);
}

/* Step 10 without box's init (the runc CLI's 'pid1'): this process becomes the command itself, the
 * container's PID 1, as runc and crun run it; signals it does not handle are then ignored. */
static _Noreturn void become_command(const struct plan *p, struct channels *ch)
{
	g_role = "command";
	TRACE("10", "pid1", "command-pid=%d", (int)getpid());
	if (confine_process(&p->proc, ch) < 0)
		report_and_exit(ch->report_w);
	start_command(&p->proc, ch);
}

static _Noreturn void container_run(const struct plan *p, struct channels *ch, struct cgroup_files *cg, int resumed)
{
	g_role = "container";
	if (setup(p, ch, cg, resumed) < 0)
		report_and_exit(ch->report_w);
	if (p->oci.pid1)
		become_command(p, ch);
	/* 10. The command runs as PID 2; we stay PID 1, forward signals and reap. */
	pid_t pid = fork();
	if (pid < 0) {
		fail(errno, "cannot start the command");
		report_and_exit(ch->report_w);
	}
	if (pid == 0) {
		g_role = "command";
		if (confine_process(&p->proc, ch) < 0)
			report_and_exit(ch->report_w);
		start_command(&p->proc, ch);
	}
	become_init(p, ch, pid);
}

_Noreturn void container_main(const struct plan *p, struct channels *ch, struct cgroup_files *cg)
{
	container_run(p, ch, cg, 0);
}

/* The same process, after executing the helper again in its user namespace (main.c). */
_Noreturn void container_resume(const struct plan *p, struct channels *ch)
{
	container_run(p, ch, NULL, 1);
}
