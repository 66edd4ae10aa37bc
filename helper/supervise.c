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
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

static int join_cgroups(const struct plan *p, pid_t pid)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	for (int i = 0; i < p->nrecords; i++) {
		const struct record *r = &p->records[i];
		if (strcmp(r->key, "cgroup") != 0)
			continue;
		int fd = open(r->fields[0], O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return fail(errno, "cannot open %s", r->fields[0]);
		int ret = write_all(fd, buf, (size_t)len);
		close(fd);
		if (ret < 0)
			return fail(-ret, "cannot move the container into %s", r->fields[0]);
	}
	return 0;
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

static void cleanup(const struct plan *p)
{
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
static int report_oom(const struct plan *p, int status)
{
	for (int i = 0; i < p->nrecords; i++) {
		const struct record *r = &p->records[i];
		if (strcmp(r->key, "oom") != 0)
			continue;
		char buf[1024];
		int fd = open(r->fields[0], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		const char *line = strstr(buf, "oom_kill ");
		while (line && line != buf && line[-1] != '\n')
			line = strstr(line + 1, "oom_kill ");
		if (line && atol(line + 9) > 0) {
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

int supervise(const struct plan *p)
{
	int report[2] = { -1, -1 }, sync[2] = { -1, -1 }, console[2] = { -1, -1 };
	int child_ends[4] = { -1, -1, -1, -1 };
	struct channels ch = { .console_w = -1, .stdio = { -1, -1, -1 } };
	struct relay rl = { .in_from = -1, .in_to = -1, .out_from = { -1, -1 }, .pty_master = -1, .sigfd = -1 };
	struct report rep;
	sigset_t all, handled;
	int status = 125, wstatus = 0, ret;
	pid_t pid = -1;

	/* 1. Channels to the container. */
	if (pipe2(report, O_CLOEXEC) < 0 || pipe2(sync, O_CLOEXEC) < 0 ||
	    (p->tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0)) {
		fail(errno, "cannot create the channels to the container");
		goto failed;
	}
	ch.report_w = report[1];
	ch.sync_r = sync[0];
	ch.console_w = console[1];
	if (prepare_stdio(p, &ch, &rl, child_ends) < 0)
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

	/* 3. The namespaces: clone() starts the container's first process inside all of them at once
	 * (mount, UTS, IPC, network, PID; the cgroup namespace follows after the cgroup join). */
	pid = (pid_t)syscall(SYS_clone, p->clone_flags | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		fail(errno, "cannot create the container's namespaces");
		goto failed;
	}
	if (pid == 0) {
		close(report[0]);
		close(sync[1]);
		if (console[0] >= 0)
			close(console[0]);
		container_main(p, &ch);
	}
	close(report[1]);
	close(sync[0]);
	if (console[1] >= 0)
		close(console[1]);
	for (int i = 0; i < 4; i++)
		if (child_ends[i] >= 0)
			close(child_ends[i]);

	/* 4. cgroup join, then sync 1. */
	if (join_cgroups(p, pid) < 0)
		goto kill_child;
	if ((ret = write_all(sync[1], "1", 1)) < 0 && ret != -EPIPE) {
		fail(-ret, "cannot signal the container");
		goto kill_child;
	}

	/* 5. The terminal: master from the container, sized like ours, ours in raw mode; sync 2. */
	if (p->tty) {
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

	/* 7. Running: relay until init ends. */
	if (relay_run(&rl, pid, &wstatus) < 0)
		waitpid(pid, &wstatus, 0);
	terminal_restore();
	status = WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
	status = report_oom(p, status);
	cleanup(p);
	return status;

kill_child:
	kill(pid, SIGKILL);
	waitpid(pid, &wstatus, 0);
failed:
	terminal_restore();
	report_print(&g_report);
	status = g_report.status ? g_report.status : 125;
	cleanup(p);
	return status;
}
