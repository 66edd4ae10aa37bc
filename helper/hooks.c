/*
 * OCI hooks (config.json's "hooks"): programs the runtime runs at fixed points of a container's
 * life, each with the container's state (JSON) on its stdin. Which program, its arguments,
 * environment and timeout, and the state's text, all come from the plan (plan_oci.c); this file
 * only runs them, in order, and says which one failed and how.
 *
 *   prestart, createRuntime   the supervisor, on the host, while the container waits set up but
 *                             not yet pivoted into (supervise.c, step 4b)
 *   createContainer           the container's first process, in its namespaces, before pivot_root
 *   startContainer            the command's process, confined, just before its execve (command.c)
 *   poststart, poststop       the supervisor, once the command runs and after the clean-up
 *                             (for box-runc create, the start and delete commands run these two)
 *
 * A hook's stdout and stderr are kept (the first 300 bytes) for the sentence that says why it
 * failed; a hook still running at its timeout is killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

static const char *kind_names[] = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" };

int has_hooks(const struct oci *o, enum hook_kind kind)
{
	for (int i = 0; o && i < o->n_hooks; i++)
		if (o->hooks[i].kind == kind)
			return 1;
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The state as the hook reads it: the plan's text around the status and the pid. */
static int state_text(const struct oci *o, enum hook_kind kind, pid_t pid, char *buf, size_t len)
{
	const char *status = kind == HOOK_POSTSTART ? "running" : kind == HOOK_POSTSTOP ? "stopped" : "created";
	int n = snprintf(buf, len, "%s%s%s%d%s", o->state[0], status, o->state[1], (int)pid, o->state[2]);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

static _Noreturn void exec_hook(const struct hook *h, int in, int out)
{
	static char *no_env[] = { NULL };
	sigset_t none;
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	close_fds_except(NULL, 0);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(h->path, h->argv, h->env ? h->env : no_env);
	_exit(127);
}

/* Collects what the hook writes until it closes its end, or the deadline (deadline < 0: none). */
static void collect(int fd, char *kept, size_t len, long long deadline)
{
	char buf[512];
	size_t at = 0;
	for (;;) {
		long long left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left <= 0)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, left < 0 ? -1 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = (size_t)n < len - 1 - at ? (size_t)n : len - 1 - at;
		memcpy(kept + at, buf, take);
		at += take;
	}
	kept[at] = '\0';
	for (size_t i = 0; i < at; i++)
		if (kept[i] == '\n' || kept[i] == '\r')
			kept[i] = ' ';
}

/* Waits for the hook until the deadline; 1 and its status once it ended, 0 when it did not. */
static int reap(pid_t pid, long long deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, deadline < 0 ? 0 : WNOHANG);
		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return 1;
		if (deadline >= 0 && now_ms() >= deadline)
			return 0;
		if (r == 0)
			usleep(5000);
	}
}

static int run_hook(const struct oci *o, const struct hook *h, pid_t pid)
{
	char state[16384], kept[300];
	int in[2], out[2], status = 0;
	const char *kind = kind_names[h->kind];
	int len = state_text(o, h->kind, pid, state, sizeof(state));
	if (len < 0)
		return fail(E2BIG, "cannot give the %s hook %s the container's state", kind, h->path);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return fail(errno, "cannot create the pipes of the %s hook %s", kind, h->path);
	fcntl(in[1], F_SETPIPE_SZ, 1 << 16);
	long long deadline = h->timeout ? now_ms() + (long long)h->timeout * 1000 : -1;
	pid_t child = fork();
	if (child == 0)
		exec_hook(h, in[0], out[1]);
	close(in[0]);
	close(out[1]);
	if (child < 0) {
		close(in[1]);
		close(out[0]);
		return fail(errno, "cannot start the %s hook %s", kind, h->path);
	}
	/* The state fits in the pipe: a hook that never reads its stdin does not hold us up. */
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	write_all(in[1], state, (size_t)len);
	close(in[1]);
	collect(out[0], kept, sizeof(kept), deadline);
	close(out[0]);
	if (!reap(child, deadline, &status)) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return fail(0, "the %s hook %s did not finish within %u s", kind, h->path, h->timeout);
	}
	TRACE("h", "hook", "kind=%s path=%s status=%d", kind, trace_token(h->path), status);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		return fail(0, "the %s hook %s was killed by signal %d%s%s", kind, h->path, WTERMSIG(status), kept[0] ? ": " : "", kept);
	if (WEXITSTATUS(status) == 127 && kept[0] == '\0')
		return fail(0, "the %s hook %s cannot be executed (exit status 127)", kind, h->path);
	return fail(0, "the %s hook %s failed with exit status %d%s%s", kind, h->path, WEXITSTATUS(status), kept[0] ? ": " : "", kept);
}

/* Runs the hooks of one kind in order; the first that fails stops the others. */
int run_hooks(const struct oci *o, enum hook_kind kind, pid_t pid)
{
	for (int i = 0; o && i < o->n_hooks; i++) {
		if (o->hooks[i].kind != kind)
			continue;
		int ret = run_hook(o, &o->hooks[i], pid);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Step 4b of supervise.c. With prestart or createRuntime hooks, the container asks for them once it
 * is set up (a report "hooks", container.c step 7b); they run with its pid, and it is answered on
 * the sync pipe. 0: done, or none to run; 1: the container failed instead (g_report holds its
 * report); -1: a hook failed, or the container is gone (g_report says which). */
int supervise_hooks(const struct oci *o, int report_r, int sync_w, pid_t pid)
{
	struct report rep;
	if (!has_hooks(o, HOOK_PRESTART) && !has_hooks(o, HOOK_CREATE_RUNTIME))
		return 0;
	if (!read_report(report_r, &rep))
		return fail(0, "the container ended before its hooks ran"), -1;
	if (rep.status != 0 || strcmp(rep.msg, "hooks") != 0) {
		g_report = rep;
		return 1;
	}
	if (run_hooks(o, HOOK_PRESTART, pid) < 0 || run_hooks(o, HOOK_CREATE_RUNTIME, pid) < 0)
		return -1;
	int ret = write_all(sync_w, "h", 1);
	return ret < 0 ? (fail(-ret, "cannot signal the container"), -1) : 0;
}
