/*
 * box-helper: started by `box` (which exec's into it from a sealed memfd) as
 *
 *     box-helper --plan-fd N              carry out the plan on fd N
 *     box-helper --check --plan-fd N      read the plan, print its typed steps, exit (no root needed)
 *
 * (A plan of MODE_USERNS runs a tool, box's unpacker for instance, as root of a new user namespace
 * whose ids the plan maps: userns.c.)
 *
 * (N may be 0: the plan on stdin.) The plan is read and checked in full first (plan.c); then the
 * helper supervises one new container (supervise.c), runs a command in a running one (exec.c),
 * attaches to a running one's console (attach.c), or removes a network link. It exits with the container's status, or 125 and one sentence on stderr.
 * Where namespaces are created: supervise.c, step 3. What happens inside them, step by step:
 * container.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"
#include "plan.h"

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

static int usage(void)
{
	static const char text[] = "box-helper: started by box, not by hand (usage: box-helper [--check] --plan-fd N)\n";
	write_all(2, text, sizeof(text) - 1);
	return 125;
}

/* A plan on stdin (fd 0) leaves /dev/null there: a free fd 0, 1 or 2 would be taken by the next
 * pipe, which would then be taken for stdio (a detached supervisor points 0-2 at /dev/null). */
static void release_plan_fd(int fd)
{
	if (fd > 2) {
		close(fd);
		return;
	}
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0 && null != fd) {
		dup2(null, fd);
		close(null);
	}
}

static int delete_link(const struct plan *p)
{
	int ret = nl_delete_link(p->delete_link);
	if (ret < 0) {
		fail(-ret, "cannot remove %s", p->delete_link);
		report_print(&g_report);
		return 125;
	}
	return 0;
}

/* box-helper --container FDS --plan-fd N: a container's first process, executed again once its
 * user namespace is mapped (userns.c, reexec_in_namespace); it goes on where it stopped. */
static int resume(char **argv)
{
	struct plan plan;
	struct channels ch;
	unsigned long long fd;
	g_key = "--plan-fd";
	if (resume_arguments(argv[2], &ch) < 0) {
		report_print(&g_report);
		return 125;
	}
	if (number(argv[4], 10, 1u << 20, &fd) < 0 || plan_read((int)fd, &plan) < 0)
		report_and_exit(ch.report_w);
	g_oci = &plan.oci;
	close((int)fd);
	container_resume(&plan, &ch);
}

int main(int argc, char **argv)
{
	struct plan plan;
	unsigned long long fd;
	int check = argc == 4 && strcmp(argv[1], "--check") == 0;

	if (argc == 5 && strcmp(argv[1], "--container") == 0 && strcmp(argv[3], "--plan-fd") == 0)
		return resume(argv);

	g_key = "--plan-fd";
	if (argc != 3 + check || strcmp(argv[1 + check], "--plan-fd") != 0 || number(argv[2 + check], 10, 1u << 20, &fd) < 0)
		return usage();
	reset_inherited();
	if (plan_read((int)fd, &plan) < 0) {
		report_print(&g_report);
		return 125;
	}
	g_oci = &plan.oci;
	if (plan.userns.reexec && (g_plan_fd = fcntl((int)fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		fail(errno, "cannot keep the plan");
		report_print(&g_report);
		return 125;
	}
	release_plan_fd((int)fd);
	if (check) {
		if (plan_print(&plan, STDOUT_FILENO) < 0) {
			report_print(&g_report);
			return 125;
		}
		return 0;
	}
	if (plan.trace_fd >= 0 && trace_start(plan.trace_fd) < 0) {
		report_print(&g_report);
		return 125;
	}
	switch (plan.mode) {
	case MODE_DELETE_LINK:
		return delete_link(&plan);
	case MODE_EXEC:
		return supervise_exec(&plan);
	case MODE_ATTACH:
		return attach_main(&plan);
	case MODE_USERNS:
		return userns_tool(&plan);
	case MODE_RUN:
		break;
	}
	return supervise_run(&plan);
}
