/*
 * The host side of one container: create the namespaces, hand the container its cgroup and
 * terminal, wait for exec, relay stdio and signals, and clean up when it ends.
 *
 * This process is the one the user's shell started as `box run`: the front end exec'd into it, so
 * nothing of Bun stays resident while the container runs. Sync points with container.c:
 *   sync 1: after the cgroup join, the container may start building its root
 *   sync 2 (tty only): after the pty master arrived and was sized, the command may start
 * After that, EOF on the report pipe means the command is executing; a record means a step failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <net/if.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

/* The cgroup.procs files are opened before anything else: an exec joins the container's mount
 * namespace before it forks, and from there the host's /sys/fs/cgroup is out of sight. */
#define MAX_CGROUPS 16
struct cgroup_files {
	int fd[MAX_CGROUPS];
	int n;
};

static int open_cgroups(const struct plan *p, struct cgroup_files *cg)
{
	cg->n = 0;
	for (int i = 0; i < p->nrecords; i++) {
		const struct record *r = &p->records[i];
		if (strcmp(r->key, "cgroup") != 0)
			continue;
		if (cg->n == MAX_CGROUPS)
			return fail(0, "the plan names more than %d cgroups", MAX_CGROUPS);
		int fd = open(r->fields[0], O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return fail(errno, "cannot open %s", r->fields[0]);
		cg->fd[cg->n++] = fd;
	}
	return 0;
}

/* Writes pid into every cgroup.procs file (none when pid is 0), and closes them. */
static int join_cgroups(struct cgroup_files *cg, pid_t pid)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d\n", (int)pid), ret = 0;
	for (int i = 0; i < cg->n; i++) {
		if (pid > 0 && ret >= 0 && (ret = write_all(cg->fd[i], buf, (size_t)len)) < 0)
			fail(-ret, "cannot move the container's process into its cgroup");
		close(cg->fd[i]);
	}
	cg->n = 0;
	return ret;
}

/* A cgroup can be removed once its last process has gone; the kernel reaps the rest of the PID
 * namespace just after init, so a busy cgroup is tried again for a while. */
static void remove_cgroup(const char *dir)
{
	for (int i = 0; i < 200; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			break;
		usleep(10000);
	}
	fail(errno, "cannot remove the cgroup %s (the next box command will)", dir);
	report_print(&g_report);
}

/* Runs a program the front end chose for after the container (removing its firewall rules), quietly. */
static void run_quietly(char **argv)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		for (int i = 0; i < 3 && null >= 0; i++)
			dup2(null, i);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
		execve(argv[0], argv, envp);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void cleanup(const struct plan *p)
{
	for (int i = 0; i < p->nrecords; i++)
		if (strcmp(p->records[i].key, "cleanup_exec") == 0)
			run_quietly(p->records[i].fields);
	/* The veth would go with the container's namespace, but only once the kernel tears it down,
	 * which it does in the background: removed now, so box rm leaves no link behind. */
	if (p->veth)
		nl_delete_link(p->veth[0]);
	for (int i = 0; i < p->nrecords; i++) {
		const struct record *r = &p->records[i];
		if (strcmp(r->key, "rmcgroup") == 0)
			remove_cgroup(r->fields[0]);
		else if (strcmp(r->key, "cleanup") == 0 && remove_tree(r->fields[0]) < 0)
			report_print(&g_report);
	}
}

/* After the container ended: did the kernel's OOM killer act in its cgroup? The counter is the
 * "oom_kill N" line of memory.events (v2) or memory.oom_control (v1). Says so, and returns the
 * status box ends with: 137 when the command was killed, else its own. */
static int report_oom(const struct plan *p, int status, int *oom_killed)
{
	for (int i = 0; i < p->nrecords; i++) {
		const struct record *r = &p->records[i];
		if (strcmp(r->key, "oom") != 0)
			continue;
		char buf[1024];
		if (read_small(r->fields[0], buf, sizeof(buf)) <= 0)
			continue;
		const char *line = strstr(buf, "oom_kill ");
		while (line && line != buf && line[-1] != '\n')
			line = strstr(line + 1, "oom_kill ");
		if (line && atol(line + 9) > 0) {
			*oom_killed = 1;
			fail(0, "%s", status > 128 ? r->fields[1] : r->fields[2]);
			report_print(&g_report);
			if (status > 128)
				status = 137;
		}
	}
	return status;
}

static int recv_master(int sock)
{
	char byte, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -EPIPE; /* the container failed before its terminal existed: the report says why */
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c == NULL || c->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* 1 and the record when a step failed, 0 on EOF (the command is executing). */
static int read_report(int fd, struct report *r)
{
	size_t got = 0;
	while (got < sizeof(*r)) {
		ssize_t n = read(fd, (char *)r + got, sizeof(*r) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == 0)
		return 0;
	if (got < sizeof(*r)) {
		fail(EPROTO, "the container ended while reporting an error");
		*r = g_report;
	}
	r->msg[sizeof(r->msg) - 1] = '\0';
	return 1;
}

/* Which fds the command gets, and which of them box must relay: a terminal is never handed over. */
static int prepare_stdio(const struct plan *p, struct channels *ch, struct relay *rl, int keep[4])
{
	int fds[2];
	ch->stdio[0] = p->stdin_open ? -1 : -2;
	ch->stdio[1] = ch->stdio[2] = -1;
	if (p->detach) {
		/* Detached: no stdin; stdout and stderr go through the supervisor into the log. */
		ch->stdio[0] = -2;
		int log = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (log < 0)
			return fail(errno, "cannot open the log %s", p->log_path);
		rl->out_to[0] = rl->out_to[1] = log;
		rl->log_path = p->log_path;
		rl->log_cap = p->log_cap;
		for (int i = 1; i <= 2; i++) {
			if (pipe2(fds, O_CLOEXEC) < 0)
				return fail(errno, "cannot create a pipe for fd %d", i);
			ch->stdio[i] = keep[i] = fds[1];
			rl->out_from[i - 1] = fds[0];
		}
		return 0;
	}
	if (p->tty) {
		rl->in_from = p->stdin_open ? STDIN_FILENO : -1;
		return 0; /* the pty master, once it arrives, is both ends */
	}
	if (p->stdin_open && isatty(STDIN_FILENO)) {
		if (pipe2(fds, O_CLOEXEC) < 0)
			return fail(errno, "cannot create a pipe for stdin");
		ch->stdio[0] = keep[0] = fds[0];
		rl->in_from = STDIN_FILENO;
		rl->in_to = fds[1];
	}
	for (int i = 1; i <= 2; i++) {
		if (!isatty(i))
			continue;
		if (pipe2(fds, O_CLOEXEC) < 0)
			return fail(errno, "cannot create a pipe for fd %d", i);
		ch->stdio[i] = keep[i] = fds[1];
		rl->out_from[i - 1] = fds[0];
	}
	return 0;
}

/* clone3's arguments (<linux/sched.h>, which clashes with <sched.h>). */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define CLONE_INTO_CGROUP_FLAG 0x200000000ULL

/* Creates the container's first process in its namespaces. On cgroup v2 it is born directly in
 * its cgroup (CLONE_INTO_CGROUP): moving a process into a cgroup afterwards waits for a kernel RCU
 * grace period, often the longest single step of a start. Kernels before 5.7 take the old way.
 * *in_cgroup tells whether the cgroup join is done. */
static pid_t clone_container(const struct plan *p, int *in_cgroup)
{
	*in_cgroup = 0;
	if (p->clone_into) {
		int cfd = open(p->clone_into, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cfd < 0)
			return fail(errno, "cannot open the cgroup %s", p->clone_into);
		struct clone3_args a = { .flags = p->clone_flags | CLONE_INTO_CGROUP_FLAG, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cfd };
		long pid = syscall(SYS_clone3, &a, sizeof(a));
		int err = errno;
		if (pid == 0)
			return 0;
		close(cfd);
		if (pid > 0) {
			*in_cgroup = 1;
			return (pid_t)pid;
		}
		if (err != ENOSYS && err != E2BIG && err != EINVAL)
			return fail(err, "cannot create the container's namespaces in its cgroup");
	}
	long pid = syscall(SYS_clone, p->clone_flags | SIGCHLD, 0, 0, 0, 0);
	return pid < 0 ? fail(errno, "cannot create the container's namespaces") : (pid_t)pid;
}

/* Detached runs: the process the user started (box, exec'd into us) waits only until the command
 * runs, prints the id and returns; a child, in a session of its own, goes on as the supervisor.
 * Returns, in that child, the fd on which to say "running" (or on error, in the caller, -1). */
static int detach_from_caller(const struct plan *p)
{
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return fail(errno, "cannot create a pipe");
	pid_t pid = fork();
	if (pid < 0)
		return fail(errno, "cannot start the supervisor");
	if (pid > 0) {
		char c = 0;
		int st = 0;
		close(ready[1]);
		if (read(ready[0], &c, 1) == 1 && c == 'k') {
			write_all(1, p->detach, strlen(p->detach));
			write_all(1, "\n", 1);
			_exit(0);
		}
		/* It failed and said why on our shared stderr; its status is ours. Killed, it could not
		 * say anything: then we do. */
		waitpid(pid, &st, 0);
		if (WIFSIGNALED(st)) {
			fail(0, "the container's supervisor was killed by signal %d before the container ran", WTERMSIG(st));
			report_print(&g_report);
		}
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 125);
	}
	close(ready[0]);
	setsid();
	return ready[1];
}

/* The supervisor's own start time (field 22 of /proc/self/stat), so a reused pid is not mistaken
 * for it. */
static void start_time(char *out, size_t len)
{
	char buf[1024];
	out[0] = '\0';
	if (read_small("/proc/self/stat", buf, sizeof(buf)) <= 0)
		return;
	char *s = strrchr(buf, ')');
	for (int field = 2; s && field < 22; field++)
		s = strchr(s + 1, ' ');
	if (s)
		snprintf(out, len, "%.*s", (int)strcspn(s + 1, " "), s + 1);
}

/* Written whole, then renamed: a reader sees the file complete or not at all. */
static void write_file(const char *path, const char *text)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	write_all(fd, text, strlen(text));
	close(fd);
	rename(tmp, path);
}

static void write_exitfile(const struct plan *p, int status, int oom)
{
	char text[128];
	struct timespec ts;
	if (!p->exitfile)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(text, sizeof(text), "%d %d %lld\n", status, oom, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	write_file(p->exitfile, text);
}

int supervise(const struct plan *p)
{
	int report[2] = { -1, -1 }, sync[2] = { -1, -1 }, console[2] = { -1, -1 };
	int child_ends[4] = { -1, -1, -1, -1 };
	struct channels ch = { .console_w = -1, .stdio = { -1, -1, -1 } };
	struct relay rl = { .in_from = -1, .in_to = -1, .out_from = { -1, -1 }, .out_to = { 1, 2 }, .pty_master = -1, .sigfd = -1 };
	struct report rep;
	sigset_t all, handled;
	int status = 125, wstatus = 0, ret, ptn = -1, ready = -1, oom = 0, in_cgroup = 0;
	struct cgroup_files cg = { .n = 0 };
	pid_t pid = -1;

	/* 0. Detached: the caller returns once the command runs. */
	if (p->detach && (ready = detach_from_caller(p)) < 0)
		goto failed;

	/* 1. Channels to the container. */
	if (pipe2(report, O_CLOEXEC) < 0 || pipe2(sync, O_CLOEXEC) < 0 ||
	    (p->tty && !p->join_pid && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0)) {
		fail(errno, "cannot create the channels to the container");
		goto failed;
	}
	ch.report_w = report[1];
	ch.sync_r = sync[0];
	ch.console_w = console[1];
	if (prepare_stdio(p, &ch, &rl, child_ends) < 0 || open_cgroups(p, &cg) < 0)
		goto failed;

	/* 2. Signals: all blocked (the container's init inherits that and takes them with sigwaitinfo);
	 * the ones box acts on arrive here through a signalfd. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sigemptyset(&handled);
	int forwarded[] = { SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&handled, forwarded[i]);
	rl.sigfd = signalfd(-1, &handled, SFD_CLOEXEC);
	if (rl.sigfd < 0) {
		fail(errno, "cannot create a signalfd");
		goto failed;
	}

	/* 2b. The bridge the container's veth goes on: made by the first container that needs it. */
	if (p->bridge) {
		ret = nl_create_bridge(p->bridge[0]);
		if (ret < 0 && ret != -EEXIST) {
			fail(-ret, "cannot create the bridge %s", p->bridge[0]);
			goto failed;
		}
		if ((ret = nl_add_address(p->bridge[0], p->bridge[1])) < 0 && ret != -EEXIST) {
			fail(-ret, "cannot give the bridge %s the address %s", p->bridge[0], p->bridge[1]);
			goto failed;
		}
		if ((ret = nl_link_up(p->bridge[0], 0)) < 0) {
			fail(-ret, "cannot bring up the bridge %s", p->bridge[0]);
			goto failed;
		}
	}
	for (int i = 0; i < p->nrecords; i++) {
		const struct record *r = &p->records[i];
		if (strcmp(r->key, "sysctl") == 0) {
			int fd = open(r->fields[0], O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write_all(fd, r->fields[1], strlen(r->fields[1])) < 0) {
				fail(errno, "cannot set %s to %s", r->fields[0], r->fields[1]);
				if (fd >= 0)
					close(fd);
				goto failed;
			}
			close(fd);
		}
	}

	if (p->join_pid) {
		/* 3. exec: join the running container, then fork the command into its PID namespace. */
		if (join_container(p->join_pid) < 0)
			goto failed;
		if (p->tty) {
			int m = open_pty(&ptn);
			if (m < 0)
				goto failed;
			rl.pty_master = rl.out_from[0] = rl.in_to = m;
		}
		pid = fork();
		if (pid < 0) {
			fail(errno, "cannot start the command in the container");
			goto failed;
		}
		if (pid == 0) {
			close(report[0]);
			close(sync[1]);
			if (rl.pty_master >= 0)
				close(rl.pty_master);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			wait_sync(ch.sync_r);
			command_main(p, &ch, ptn);
		}
	} else {
		/* 3. The namespaces: clone() starts the container's first process inside all of them at
		 * once (mount, UTS, IPC, network, PID; the cgroup namespace follows after the cgroup join). */
		pid = clone_container(p, &in_cgroup);
		if (pid < 0)
			goto failed;
		if (pid == 0) {
			close(report[0]);
			close(sync[1]);
			if (console[0] >= 0)
				close(console[0]);
			container_main(p, &ch);
		}
	}
	if (p->pidfile) {
		char text[128], start[32];
		start_time(start, sizeof(start));
		snprintf(text, sizeof(text), "%d %s %d\n", (int)getpid(), start, (int)pid);
		write_file(p->pidfile, text);
	}
	close(report[1]);
	close(sync[0]);
	if (console[1] >= 0)
		close(console[1]);
	for (int i = 0; i < 4; i++)
		if (child_ends[i] >= 0)
			close(child_ends[i]);

	/* 4a. The container's end of the network: a veth pair, the peer born as eth0 in its namespace
	 * (gone with the namespace, so nothing to clean up), the host end on the bridge. */
	if (p->veth) {
		int master = (int)if_nametoindex(p->veth[1]);
		if ((ret = nl_create_veth(p->veth[0], "eth0", pid)) < 0) {
			fail(-ret, "cannot create the veth pair %s", p->veth[0]);
			goto kill_child;
		}
		if (master == 0 || (ret = nl_link_up(p->veth[0], master)) < 0) {
			fail(master == 0 ? errno : -ret, "cannot put %s on the bridge %s", p->veth[0], p->veth[1]);
			goto kill_child;
		}
	}

	/* 4. cgroup join, then sync 1. */
	if (in_cgroup)
		join_cgroups(&cg, 0 /* closes the files only */);
	else if (join_cgroups(&cg, pid) < 0)
		goto kill_child;
	if ((ret = write_all(sync[1], "1", 1)) < 0 && ret != -EPIPE) {
		fail(-ret, "cannot signal the container");
		goto kill_child;
	}

	/* 5. The terminal: master from the container, sized like ours, ours in raw mode; sync 2. */
	if (p->tty && p->join_pid) {
		copy_winsize(isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, rl.pty_master);
		if (p->stdin_open && isatty(STDIN_FILENO))
			terminal_raw(STDIN_FILENO);
	} else if (p->tty) {
		int m = recv_master(console[0]);
		if (m >= 0) {
			rl.pty_master = rl.out_from[0] = m;
			rl.in_to = m;
			copy_winsize(isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, m);
			if (p->stdin_open && isatty(STDIN_FILENO))
				terminal_raw(STDIN_FILENO);
			write_all(sync[1], "2", 1);
		}
	}

	/* 6. Exec or failure. */
	if (read_report(report[0], &rep)) {
		waitpid(pid, &wstatus, 0);
		g_report = rep;
		goto failed;
	}

	/* 7. Running. A detached caller may return now; we let go of its terminal. */
	if (ready >= 0) {
		write_all(ready, "k", 1);
		close(ready);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int i = 0; i < 3 && null >= 0; i++)
			dup2(null, i);
		if (null > 2)
			close(null);
	}
	if (relay_run(&rl, pid, &wstatus) < 0)
		waitpid(pid, &wstatus, 0);
	terminal_restore();
	status = WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
	status = report_oom(p, status, &oom);
	write_exitfile(p, status, oom);
	cleanup(p);
	return status;

kill_child:
	kill(pid, SIGKILL);
	waitpid(pid, &wstatus, 0);
failed:
	terminal_restore();
	report_print(&g_report);
	status = g_report.status ? g_report.status : 125;
	write_exitfile(p, status, 0);
	cleanup(p);
	return status;
}
