/*
 * The host side of a new container: create the namespaces, hand the container its cgroup and
 * terminal, wait until the command runs, relay stdio and signals, start it again as its restart
 * policy says, and clean up when it ends for good.
 *
 * This process is the one the user's shell started as `box run`: the front end exec'd into it, so
 * nothing of Bun stays resident while the container runs. Its steps (supervise_run):
 *   0. detached: fork; the caller waits only until the command runs (or is held), then returns
 *   1. what lives as long as the supervisor: signals, the log, the hold FIFO
 *   2. the bridge and sysctls the container's network needs            host.c
 *   for each run of the container (start_run, wait_run):
 *   3. channels to the container, stdio, cgroup files; clone(): the container's first process, in
 *      all its new namespaces at once; the pidfile (with a hold FIFO: in step 6, once the command
 *      waits there); 3a. with a user namespace of its own, its ids (sync 0: it waits for them
 *      before anything else; userns.c)
 *   4. its veth, its cgroups (on v1, the container joins them itself, container.c step 0); 4a. the
 *      mounter; 4b. pasta or slirp4netns (nettool.c); sync 1 (container.c goes on from its step 1);
 *      4c. the runc CLI's prestart and createRuntime hooks, asked for by the container (hooks.c)
 *   5. tty: the pty master from the container, sized like ours, ours raw; sync 2
 *   6. the report pipe: EOF once the command executes, "held" at the hold FIFO, or a failed step;
 *      the detached caller is told (after the first run)
 *   7. relay and wait; the OOM check, the exit file
 *   8. its restart policy (restart.c): after the back-off, a new run from step 3: new namespaces,
 *      processes, veth and pty; the same root (its overlay is remounted), cgroups, address, log
 *   9. the clean-up (host.c), and box's exit status: the last run's
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
#include <time.h>
#include <unistd.h>

#include "helper.h"

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
 * (or is held), prints the plan's id and returns, or (box run -it) stays as the console's first
 * client, holding the user's terminal (attach.c); a child, in a session of its own, goes on as the
 * supervisor. Returns, in that child, the fd on which to say "started"; *client is its end of the
 * caller's console connection, or -1. */
static int detach_from_caller(const struct plan *p, int *client)
{
	int ready[2], pair[2] = { -1, -1 };
	if (pipe2(ready, O_CLOEXEC) < 0 || (p->attach.caller && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0))
		return fail(errno, "cannot create a pipe");
	/* The hello goes first, so the console has its client before the container can say anything. */
	if (p->attach.caller && attach_hello(pair[0], p->proc.stdin_open) < 0)
		return -EIO;
	pid_t pid = fork();
	if (pid < 0)
		return fail(errno, "cannot start the supervisor");
	if (pid > 0) {
		char c = 0;
		int st = 0;
		g_role = "caller";
		close(ready[1]);
		if (pair[1] >= 0)
			close(pair[1]);
		if (read(ready[0], &c, 1) == 1 && c == 'k') {
			if (p->attach.caller)
				_exit(attach_relay(pair[0], p->attach.keys, p->attach.n_keys, p->proc.stdin_open, p->attach.sig_proxy));
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
	if (pair[0] >= 0)
		close(pair[0]);
	*client = pair[1];
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
 * /proc/self/fd just before its execve (command.c, step l). Only the first run is held. */
static int open_hold(const struct plan *p, int *hold_fd)
{
	struct stat st;
	if (p->hold_fifo == NULL)
		return 0;
	*hold_fd = open(p->hold_fifo, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (*hold_fd < 0)
		return fail(errno, "cannot open the hold FIFO %s", p->hold_fifo);
	if (fstat(*hold_fd, &st) < 0 || !S_ISFIFO(st.st_mode))
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
	console_size(master);
	if (p->detach_id == NULL) {
		copy_winsize(isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, master);
		if (p->proc.stdin_open && isatty(STDIN_FILENO))
			terminal_raw(STDIN_FILENO);
	}
	return 0;
}

/* What lives as long as the supervisor, across runs of the container. */
struct supervisor {
	const struct plan *p;
	struct relay rl;           /* signals, the log; each run's stdio */
	int ready;                 /* detached: the caller waits on it until the first command runs */
	int hold_fd;               /* the hold FIFO (O_PATH), for the first run only */
	unsigned int restarts;     /* how often the container was started again */
	long oom_before[PLAN_MAX_LIST]; /* the OOM counters as a run started */
};

/* One run's channels to the container (step 3); -1 once closed. */
struct run {
	int report[2], sync[2], console[2];
	struct channels ch;
	struct cgroup_files cg;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Closes what is left of a run's channels on our side. */
static void close_run(struct run *r, struct relay *rl)
{
	for (int i = 0; i < 2; i++) {
		close_fd(&r->report[i]);
		close_fd(&r->sync[i]);
		close_fd(&r->console[i]);
	}
	for (int i = 0; i < 3; i++)
		close_fd(&rl->child_ends[i]);
	close_fd(&r->ch.devnull);
	close_cgroups(&r->cg);
}

/* A start that failed: nothing of the run stays open. */
static pid_t fail_run(struct run *r, struct relay *rl)
{
	relay_close(rl);
	close_run(r, rl);
	return -EINVAL;
}

/* A start that failed after the clone: the container's process is killed and reaped first. */
static pid_t abandon(struct run *r, struct relay *rl, pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return fail_run(r, rl);
}

/* Steps 3 to 6. Returns the container's init, its command executing or held (then *late is the
 * report pipe to read once it ended), or a negative errno once the failure is described (g_report)
 * and nothing of this run is left but what the relay holds. */
static pid_t start_run(struct supervisor *s, int *late)
{
	const struct plan *p = s->p;
	struct relay *rl = &s->rl;
	struct run r = { .report = { -1, -1 }, .sync = { -1, -1 }, .console = { -1, -1 },
			 .ch = { .console_w = -1, .devnull = -1, .hold_fd = s->restarts ? -1 : s->hold_fd, .tty_slave = -1, .pid_w = -1 } };
	struct report rep;
	int in_cgroup = 0;

	/* 3. */
	*late = -1;
	if (pipe2(r.report, O_CLOEXEC) < 0 || pipe2(r.sync, O_CLOEXEC) < 0 ||
	    (p->proc.tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, r.console) < 0)) {
		fail(errno, "cannot create the channels to the container");
		return fail_run(&r, rl);
	}
	r.ch.report_w = r.report[1];
	r.ch.sync_r = r.sync[0];
	r.ch.console_w = r.console[1];
	if (prepare_stdio(p, &r.ch, rl) < 0 || open_cgroups(p, &r.cg) < 0)
		return fail_run(&r, rl);
	oom_counts(p, s->oom_before);
	pid_t pid = oci_clone(p, &in_cgroup, clone_container); /* namespaces joined by path: oci.c */
	if (pid < 0)
		return fail_run(&r, rl);
	if (pid == 0) {
		close(r.report[0]);
		close(r.sync[1]);
		container_main(p, &r.ch, &r.cg);
	}
	TRACE("3", "clone", "pid=%d in-cgroup=%d run=%u", (int)pid, in_cgroup, s->restarts + 1);
	if (g_trace_fd >= 0)
		trace_namespaces(pid);
	/* 3a. Its own user namespace gets its ids (sync 0); it is kept for the clean-up (userns.c). */
	if ((p->clone_flags & CLONE_NEWUSER) &&
	    (map_user_namespace(p, pid) < 0 || open_user_namespace(p, pid) < 0 || write_all(r.sync[1], "0", 1) < 0))
		return abandon(&r, rl, pid);
	close_fd(&r.report[1]);
	close_fd(&r.sync[0]);
	close_fd(&r.console[1]);
	for (int i = 0; i < 3; i++)
		close_fd(&rl->child_ends[i]);
	close_fd(&r.ch.devnull);
	close_tasks(&r.cg); /* the container wrote itself into them (container.c, step 0) */
	if (r.ch.hold_fd < 0 && write_pidfile(p, pid, s->restarts) < 0)
		return abandon(&r, rl, pid);
	/* 4. 4a: the mounter makes the root's mounts from outside (userns.c); 4b: pasta or
	 * slirp4netns (nettool.c), stopped with the run's network (host.c, end_network). */
	if (connect_container(p, pid) < 0 || (in_cgroup ? (close_cgroups(&r.cg), 0) : join_cgroups(&r.cg, pid)) < 0 ||
	    run_mounter(p, pid) < 0 || start_net_tool(p, pid) < 0 || oci_set_oom_score_adj(p, pid) < 0)
		return abandon(&r, rl, pid);
	int ret = write_all(r.sync[1], "1", 1);
	if (ret < 0 && ret != -EPIPE)
		return fail(-ret, "cannot signal the container"), abandon(&r, rl, pid);
	/* 4c. OCI prestart and createRuntime hooks, while the container waits (hooks.c). */
	if ((ret = supervise_hooks(&p->oci, r.report[0], r.sync[1], pid)) != 0)
		return ret > 0 ? (waitpid(pid, NULL, 0), fail_run(&r, rl)) : abandon(&r, rl, pid);
	/* 5. (the runc CLI's console socket: the master goes there, nothing is relayed) */
	if (p->proc.tty && (p->oci.console_socket ? oci_hand_terminal(p, r.console[0]) : receive_terminal(p, r.console[0], rl)) >= 0)
		write_all(r.sync[1], "2", 1);
	/* 6. */
	int reported = read_report(r.report[0], &rep);
	if (reported && rep.status != 0) {
		g_report = rep;
		waitpid(pid, NULL, 0);
		return fail_run(&r, rl);
	}
	if ((r.ch.hold_fd >= 0 && write_pidfile(p, pid, s->restarts) < 0) || oci_write_pidfile(p, pid) < 0)
		return abandon(&r, rl, pid);
	if (s->restarts > 0 && p->exitfile.path)
		unlink(p->exitfile.path); /* how the last run ended: it runs again */
	release_caller(s->ready);
	s->ready = -1;
	TRACE("6", "started", "held=%d", reported);
	if (reported) {
		*late = r.report[0];
		r.report[0] = -1;
	}
	close_run(&r, rl);
	return pid;
}

/* Step 7: until the command ended; how it ended, told and recorded. A command that was held may
 * still have failed at its execve after it was released: its report is read last (late). */
static int wait_run(struct supervisor *s, pid_t pid, int late)
{
	const struct plan *p = s->p;
	struct report rep;
	int oom = 0, status = wait_command(pid, &s->rl);
	if (late >= 0 && read_report(late, &rep) && rep.status != 0) {
		report_print(&rep);
		if (s->rl.log)
			log_note(s->rl.log, rep.msg);
	}
	if (late >= 0)
		close(late);
	relay_close(&s->rl);
	status = report_oom(p, status, &oom, s->oom_before);
	if (oom)
		log_report(s->rl.log, &g_report); /* detached, the log is where it can be read */
	write_exitfile(p, status, oom, s->restarts);
	return status;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int supervise_run(const struct plan *p)
{
	struct supervisor s = { .p = p, .ready = -1, .hold_fd = -1,
				.rl = { .in_from = -1, .in_to = -1, .out_from = { -1, -1 }, .out_to = { 1, 2 }, .pty_master = -1,
					.sigfd = -1, .child_ends = { -1, -1, -1 } } };
	unsigned int backoff_ms = 0;
	int status, late, client = -1;

	/* 0. */
	if (p->detach_id && (s.ready = detach_from_caller(p, &client)) < 0)
		return fail_start(p);
	/* 1. */
	if (block_signals(&s.rl) < 0 || open_hold(p, &s.hold_fd) < 0 || (p->log.path && (s.rl.log = log_open(p)) == NULL) ||
	    (p->console && console_listen(p->console, p->proc.tty) < 0))
		return fail_start(p);
	if (client >= 0 && console_adopt(client) < 0)
		return fail_start(p);
	/* 2. */
	if (prepare_network(p) < 0)
		return fail_start(p);
	for (;;) {
		long long began = now_ms();
		report_forget();
		pid_t pid = start_run(&s, &late);
		if (pid < 0 && s.restarts == 0)
			return fail_start(p);
		/* OCI poststart hooks once the command runs (a failure is only reported); the runc CLI's
		 * create and run -d then leave the container to our caller's reaper (conmon, a subreaper),
		 * and its clean-up to box-runc delete. */
		if (pid > 0 && late < 0 && run_hooks(&p->oci, HOOK_POSTSTART, pid) < 0)
			report_print(&g_report);
		if (pid > 0 && p->oci.handoff)
			return 0;
		if (pid < 0) {
			/* Started again, it could not start: that is how this run ended. */
			status = g_report.status ? g_report.status : 125;
			log_report(s.rl.log, &g_report);
			write_exitfile(p, status, 0, s.restarts);
		} else {
			status = wait_run(&s, pid, late);
		}
		end_network(p);
		/* 8. */
		if (!restart_wanted(p, s.restarts, &s.rl, status))
			break;
		console_ended(status, report_said());
		if (!restart_wait(p, s.restarts, &backoff_ms, &s.rl, now_ms() - began))
			break;
		s.restarts++;
	}
	/* 9. */
	log_close(s.rl.log);
	cleanup_after(p);
	console_ended(status, report_said());
	console_close();
	return status;
}
