/*
 * PID 1 of the container.
 *
 * The kernel ignores a signal sent to a PID-namespace init unless init installed a handler for it,
 * so a command running as PID 1 would not stop on Ctrl-C or SIGTERM. Instead this small init runs
 * the command as PID 2, forwards every signal it receives to it, reaps every orphan that ends up
 * here, and ends with the command's status (128+N when the command was killed by signal N). When
 * init ends, the kernel kills whatever else is left in the namespace.
 *
 * It needs no privilege for that, so it keeps none: it becomes the command's user (forwarding a
 * signal then needs no CAP_KILL, as docker's --init, which runs as the container's user), drops
 * every capability, sets no_new_privs, stays non-dumpable and takes the command's seccomp filter,
 * all before it waits (security.c, confine_init).
 */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

_Noreturn void init_main(const struct process *proc, pid_t command, int report_w)
{
	sigset_t all;
	siginfo_t info;
	int status;

	/* The name `ps` shows inside the container (the command line still reads box-helper). */
	prctl(PR_SET_NAME, "box-init", 0, 0, 0);
	if (confine_init(proc) < 0) {
		kill(command, SIGKILL);
		report_and_exit(report_w);
	}
	close(report_w);
	if (g_trace_fd >= 0)
		close(g_trace_fd);
	g_trace_fd = -1;
	/* Every signal is already blocked (the supervisor blocked them before clone); take them all. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		int sig = sigwaitinfo(&all, &info);
		if (sig < 0)
			continue; /* EINTR */
		if (sig != SIGCHLD) {
			kill(command, sig);
			continue;
		}
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid != command)
				continue; /* an orphan, reaped */
			if (WIFSIGNALED(status))
				_exit(128 + WTERMSIG(status));
			_exit(WEXITSTATUS(status));
		}
	}
}
