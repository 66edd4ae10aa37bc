/*
 * PID 1 of the container.
 *
 * The kernel ignores a signal sent to a PID-namespace init unless init installed a handler for it,
 * so a command running as PID 1 would not stop on Ctrl-C or SIGTERM. Instead this small init runs
 * the command as PID 2, forwards every signal it receives to it, reaps every orphan that ends up
 * here, and ends with the command's status (128+N when the command was killed by signal N). When
 * init ends, the kernel kills whatever else is left in the namespace.
 */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

_Noreturn void init_main(pid_t command)
{
	sigset_t all;
	siginfo_t info;
	int status;

	/* The name `ps` shows inside the container (the command line still reads box-helper). */
	prctl(PR_SET_NAME, "box-init", 0, 0, 0);
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
