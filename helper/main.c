/*
 * box-helper: started by `box` (which exec's into it from a sealed memfd) as
 *
 *     box-helper --plan-fd N
 *
 * It reads the plan from fd N, then supervises one container (supervise.c) and exits with the
 * container's status. Where namespaces are created: supervise.c, step 3. What happens inside them,
 * step by step: container.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Undo what the process that exec'd us may have left: ignored signals (which survive execve),
 * non-blocking stdio, and fds without close-on-exec. Every signal is blocked first and stays so: a
 * Ctrl-C that arrives now stays pending and reaches the supervisor's signalfd, which stops the
 * container and cleans up, instead of killing us half-way. */
static void reset_inherited(void)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	for (int fd = 0; fd < 3; fd++) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && (fl & O_NONBLOCK))
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	syscall(SYS_close_range, 3, ~0u, CLOSE_RANGE_CLOEXEC);
}

int main(int argc, char **argv)
{
	struct plan plan;
	unsigned long fd;

	if (argc != 3 || strcmp(argv[1], "--plan-fd") != 0 || plan_number(argv[2], 10, 1u << 20, &fd) < 0) {
		static const char usage[] = "box-helper: started by box, not by hand (usage: box-helper --plan-fd N)\n";
		write_all(2, usage, sizeof(usage) - 1);
		return 125;
	}
	reset_inherited();
	if (plan_read((int)fd, &plan) < 0) {
		report_print(&g_report);
		return 125;
	}
	close((int)fd);
	if (plan.delete_link) {
		int ret = nl_delete_link(plan.delete_link);
		if (ret < 0) {
			fail(-ret, "cannot remove %s", plan.delete_link);
			report_print(&g_report);
			return 125;
		}
		return 0;
	}
	return supervise(&plan);
}
