/*
 * What both supervisors (of a new container, supervise.c, and of box exec, exec.c) share: which fds
 * the command gets as its stdio and which are relayed, the signals they act on, the report of a
 * failed step, a failed start, and the wait for the command's end.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
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
	if (p->oci.handoff) {
		/* Nothing stays to relay: the command gets the caller's fds (conmon's pipes), as with
		 * runc; the front end refuses a terminal among them. */
		for (int i = 0; i < 3 && !p->proc.tty; i++)
			ch->stdio[i] = fstat(i, &st) == 0 ? i : ch->devnull;
		return 0;
	}
	if (p->detach_id && p->proc.tty)
		return 0; /* the pty master, once it arrives, is both ends: the log's and the console's */
	if (p->detach_id) {
		/* Detached: stdout and stderr go through the supervisor into the log (opened once for
		 * every run, supervise.c) and to the console's client; with -i, stdin is a pipe that only
		 * the console's client writes into. */
		for (int i = p->proc.stdin_open ? 0 : 1; i <= 2 && ret >= 0; i++)
			ret = rl->child_ends[i] = i == 0 ? relay_pipe(&ch->stdio[0], &rl->in_to, 1) : relay_pipe(&ch->stdio[i], &rl->out_from[i - 1], 0);
		return ret;
	}
	if (p->proc.tty) {
		rl->in_from = p->proc.stdin_open && !p->oci.console_socket ? STDIN_FILENO : -1;
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
	write_exitfile(p, status, 0, 0);
	if (status == 125 && p->oci.report_format != REPORT_BOX)
		status = 1; /* runc's status for its own failures */
	cleanup_after(p);
	console_close();
	return status;
}

/* Relays until the command ended, and gives its status as box reports it: its own exit status, or
 * 128+N when a signal N killed it. */
int wait_command(pid_t child, struct relay *rl)
{
	int wstatus = 0;
	if (relay_run(rl, child, &wstatus) < 0)
		waitpid(child, &wstatus, 0);
	terminal_restore();
	return WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
}
