/*
 * The host side of a new container: create the namespaces, hand the container its cgroup and
 * terminal, wait until the command runs, relay stdio and signals, and clean up when it ends.
 *
 * This process is the one the user's shell started as `box run`: the front end exec'd into it, so
 * nothing of Bun stays resident while the container runs. Its steps (supervise_run):
 *   0. detached: fork; the caller waits only until the command runs (or is held), then returns
 *   1. channels to the container, stdio, cgroup files, the hold FIFO, signals
 *   2. the bridge and sysctls the container's network needs            host.c
 *   3. clone(): the container's first process, in all its new namespaces at once; the pidfile
 *      (with a hold FIFO: in step 6, once the command waits there); 3a. with a user namespace of
 *      its own, its ids (sync 0: it waits for them before anything else; userns.c)
 *   4. its veth, its cgroups; 4a. the mounter; 4b. pasta or slirp4netns (nettool.c); sync 1
 *      (container.c goes on from its step 1)
 *   5. tty: the pty master from the container, sized like ours, ours raw; sync 2
 *   6. the report pipe: EOF once the command executes, "held" at the hold FIFO, or a failed step;
 *      the detached caller is told
 *   7. relay and wait; the OOM check, the exit file, the clean-up (finish)
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

/* Whether the host's fd can be handed to the command as it is: a pipe or a socket gives the
 * container nothing more than the bytes that flow through it. Anything else (a terminal, a file, a
 * device) would let it reopen /proc/self/fd/N: read what a file held before, rewrite it from offset
 * 0 despite O_APPEND, inject input into a terminal. Those are relayed; /dev/null (or a closed fd)
 * becomes the host's /dev/null. */
enum stdio_kind { STDIO_PASS, STDIO_NULL, STDIO_RELAY };

static enum stdio_kind stdio_kind(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return STDIO_NULL;
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return STDIO_PASS;
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
		return STDIO_NULL;
	return STDIO_RELAY;
}

/* A relay pipe holds 1 MiB rather than 64 KiB: splice moves more per call, and the two sides wake
 * each other less often. Its pages are the writer's, charged to the container when it writes. */
static int relay_pipe(int *container_end, int *box_end, int reading)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return fail(errno, "cannot create a pipe for the command's stdio");
	fcntl(fds[0], F_SETPIPE_SZ, 1 << 20); /* a smaller pipe still works: the result may be ignored */
	*container_end = reading ? fds[0] : fds[1];
	*box_end = reading ? fds[1] : fds[0];
	return *container_end;
}

/* Which fds the command gets, and which box relays. The host's terminal is never handed over. */
int prepare_stdio(const struct plan *p, struct channels *ch, struct relay *rl)
{
	struct stat st;
	int ret = 0;
	ch->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (ch->devnull < 0 || fstat(ch->devnull, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return fail(errno, "cannot open the host's /dev/null");
	for (int i = 0; i < 3; i++)
		ch->stdio[i] = ch->devnull;
	if (p->detach_id) {
		/* Detached: no stdin; stdout and stderr go through the supervisor into the log. */
		if ((rl->log = log_open(p)) == NULL)
			return -EIO;
		for (int i = 1; i <= 2 && ret >= 0; i++)
			ret = rl->child_ends[i] = relay_pipe(&ch->stdio[i], &rl->out_from[i - 1], 0);
		return ret;
	}
	if (p->proc.tty) {
		rl->in_from = p->proc.stdin_open ? STDIN_FILENO : -1;
		return 0; /* the pty master, once it arrives, is both ends */
	}
	for (int i = p->proc.stdin_open ? 0 : 1; i <= 2 && ret >= 0; i++) {
		enum stdio_kind kind = stdio_kind(i);
		if (kind == STDIO_PASS) {
			ch->stdio[i] = i;
		} else if (kind == STDIO_RELAY && i == 0) {
			ret = rl->child_ends[0] = relay_pipe(&ch->stdio[0], &rl->in_to, 1);
			rl->in_from = STDIN_FILENO;
		} else if (kind == STDIO_RELAY) {
			ret = rl->child_ends[i] = relay_pipe(&ch->stdio[i], &rl->out_from[i - 1], 0);
		}
	}
	return ret;
}

/* Signals: all blocked (the container's processes inherit that; its init takes them with
 * sigwaitinfo); the ones box acts on arrive through a signalfd. */
int block_signals(struct relay *rl)
{
	static const int forwarded[] = { SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	sigset_t all, handled;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sigemptyset(&handled);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&handled, forwarded[i]);
	rl->sigfd = signalfd(-1, &handled, SFD_CLOEXEC);
	return rl->sigfd < 0 ? fail(errno, "cannot create a signalfd") : 0;
}

/* 1 and the record when one arrived, 0 on EOF (every writer gone: the command is executing). */
int read_report(int fd, struct report *r)
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

/* A start that failed: say why, record it, clean up. */
int fail_start(const struct plan *p)
{
	terminal_restore();
	report_print(&g_report);
	int status = g_report.status ? g_report.status : 125;
	write_exitfile(p, status, 0);
	cleanup_after(p);
	return status;
}

static int kill_and_fail(const struct plan *p, pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return fail_start(p);
}

/* The command runs: relay until it ends, then what it ended with. A command that was held may
 * still have failed at its execve after it was released: its report is read last (late_report). */
int finish(const struct plan *p, pid_t child, struct relay *rl, int late_report)
{
	struct report rep;
	int wstatus = 0, oom = 0;
	if (relay_run(rl, child, &wstatus) < 0)
		waitpid(child, &wstatus, 0);
	terminal_restore();
	if (late_report >= 0 && read_report(late_report, &rep) && rep.status != 0) {
		report_print(&rep);
		if (rl->log)
			log_note(rl->log, rep.msg);
	}
	log_close(rl->log);
	int status = WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
	status = report_oom(p, status, &oom);
	write_exitfile(p, status, oom);
	cleanup_after(p);
	return status;
}

/* clone3's arguments (<linux/sched.h>, which clashes with <sched.h>). */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define CLONE_INTO_CGROUP_FLAG 0x200000000ULL

/* Step 3. On cgroup v2 the process is born directly in its cgroup (CLONE_INTO_CGROUP): moving it
 * afterwards waits for a kernel RCU grace period, often the longest single step of a start.
 * Kernels before 5.7 take the old way. *in_cgroup tells whether the cgroup join is done. */
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

/* Step 0. The process the user started (box, exec'd into us) waits only until the command runs
 * (or is held), prints the plan's id and returns; a child, in a session of its own, goes on as the
 * supervisor. Returns, in that child, the fd on which to say "started". */
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
		g_role = "caller";
		close(ready[1]);
		if (read(ready[0], &c, 1) == 1 && c == 'k') {
			if (p->detach_id[0] && (write_all(1, p->detach_id, strlen(p->detach_id)) < 0 || write_all(1, "\n", 1) < 0))
				_exit(125);
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

/* Step 6, once the command executes or is held: the detached caller returns, and we let go of its
 * terminal. */
static void release_caller(int ready)
{
	if (ready < 0)
		return;
	write_all(ready, "k", 1);
	close(ready);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3 && null >= 0; i++)
		dup2(null, i);
	if (null > 2)
		close(null);
}

/* The hold FIFO is opened here, on the host, and only as O_PATH: the command reopens it through
 * /proc/self/fd just before its execve (command.c, step k). */
static int open_hold(const struct plan *p, struct channels *ch)
{
	struct stat st;
	if (p->hold_fifo == NULL)
		return 0;
	ch->hold_fd = open(p->hold_fifo, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (ch->hold_fd < 0)
		return fail(errno, "cannot open the hold FIFO %s", p->hold_fifo);
	if (fstat(ch->hold_fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		return fail(0, "refusing the hold FIFO %s: it is not a FIFO", p->hold_fifo);
	return 0;
}

/* Step 5. */
static int receive_terminal(const struct plan *p, int console_r, struct relay *rl)
{
	int master = recv_fd(console_r);
	if (master < 0)
		return master; /* the container failed before: its report says why */
	rl->pty_master = rl->out_from[0] = rl->in_to = master;
	copy_winsize(isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, master);
	if (p->proc.stdin_open && isatty(STDIN_FILENO))
		terminal_raw(STDIN_FILENO);
	return 0;
}

int supervise_run(const struct plan *p)
{
	int report[2], sync[2], console[2] = { -1, -1 }, ready = -1, in_cgroup = 0;
	struct channels ch = { .console_w = -1, .devnull = -1, .hold_fd = -1, .tty_slave = -1, .pid_w = -1 };
	struct relay rl = { .in_from = -1, .in_to = -1, .out_from = { -1, -1 }, .out_to = { 1, 2 }, .pty_master = -1,
			    .sigfd = -1, .child_ends = { -1, -1, -1 } };
	struct cgroup_files cg = { .n = 0 };
	struct report rep;

	/* 0. */
	if (p->detach_id && (ready = detach_from_caller(p)) < 0)
		return fail_start(p);
	/* 1. */
	if (pipe2(report, O_CLOEXEC) < 0 || pipe2(sync, O_CLOEXEC) < 0 ||
	    (p->proc.tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0))
		return fail(errno, "cannot create the channels to the container"), fail_start(p);
	ch.report_w = report[1];
	ch.sync_r = sync[0];
	ch.console_w = console[1];
	if (prepare_stdio(p, &ch, &rl) < 0 || open_hold(p, &ch) < 0 || open_cgroups(p, &cg) < 0 || block_signals(&rl) < 0)
		return fail_start(p);
	/* 2. */
	if (prepare_network(p) < 0)
		return fail_start(p);
	/* 3. */
	pid_t pid = clone_container(p, &in_cgroup);
	if (pid < 0)
		return fail_start(p);
	if (pid == 0) {
		close(report[0]);
		close(sync[1]);
		container_main(p, &ch);
	}
	TRACE("3", "clone", "pid=%d in-cgroup=%d", (int)pid, in_cgroup);
	if (g_trace_fd >= 0)
		trace_namespaces(pid);
	/* 3a. Its own user namespace gets its ids (sync 0); it is kept for the clean-up (userns.c). */
	if (p->clone_flags & CLONE_NEWUSER) {
		if (map_user_namespace(p, pid) < 0 || open_user_namespace(p, pid) < 0 || write_all(sync[1], "0", 1) < 0)
			return kill_and_fail(p, pid);
	}
	close(report[1]);
	close(sync[0]);
	for (int i = 0; i < 3; i++)
		if (rl.child_ends[i] >= 0)
			close(rl.child_ends[i]);
	if (ch.hold_fd >= 0)
		close(ch.hold_fd);
	close(ch.devnull);
	if (!p->hold_fifo && write_pidfile(p, pid) < 0)
		return kill_and_fail(p, pid);
	/* 4. 4a: the mounter makes the root's mounts from outside (userns.c); 4b: pasta or
	 * slirp4netns (nettool.c). */
	if (connect_container(p, pid) < 0 || (in_cgroup ? (close_cgroups(&cg), 0) : join_cgroups(&cg, pid)) < 0 ||
	    run_mounter(p, pid) < 0 || start_net_tool(p, pid) < 0)
		return kill_and_fail(p, pid);
	int ret = write_all(sync[1], "1", 1);
	if (ret < 0 && ret != -EPIPE)
		return fail(-ret, "cannot signal the container"), kill_and_fail(p, pid);
	/* 5. */
	if (p->proc.tty) {
		close(console[1]);
		if (receive_terminal(p, console[0], &rl) >= 0)
			write_all(sync[1], "2", 1);
		close(console[0]);
	}
	/* 6. */
	int reported = read_report(report[0], &rep);
	if (reported && rep.status != 0) {
		waitpid(pid, NULL, 0);
		g_report = rep;
		return fail_start(p);
	}
	if (p->hold_fifo && write_pidfile(p, pid) < 0)
		return kill_and_fail(p, pid);
	release_caller(ready);
	TRACE("6", "started", "held=%d", reported);
	if (!reported)
		close(report[0]);
	/* 7. */
	return finish(p, pid, &rl, reported ? report[0] : -1);
}
