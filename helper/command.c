/*
 * The command's process, up to its execve. It is made in two halves, because box exec makes it in
 * two processes (exec.c): the joiner confines itself, outside the container's PID namespace, then
 * clones the command, which only has to start.
 *
 * confine_process: from full privilege to exactly the container's confinement.
 *   a. non-dumpable: until execve, no process of the container may ptrace this one or open its
 *      /proc/PID/mem, fd or environ (the kernel then asks for CAP_SYS_PTRACE, which the container
 *      holds only when given it); execve makes the command dumpable again
 *   b. a fresh session keyring
 *   c. every fd closed but the channels
 *   d. the resource limits (rlimits), while we are root: raising a hard limit needs
 *      CAP_SYS_RESOURCE, which the command may not keep
 *   e. the bounding set while we are root, then the user (groups first), capabilities kept
 *      across the change
 *   f. the working directory, checked to be inside the container
 *   g. without no_new_privs, seccomp now, while CAP_SYS_ADMIN (which it then needs) is held
 *   h. the capability sets
 *   i. signals and umask as a freshly started program expects them
 *   j. no_new_privs, then seccomp: the last step, because it refuses what would come after it
 * start_command: what is left, all of it allowed by the filter.
 *   k. a session of its own, the terminal as controlling terminal, stdio as fds 0, 1, 2
 *   l. with a hold FIFO: say "held", and wait until someone opens the FIFO to release it
 *   m. execve, the command looked up in the plan's search path
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Closes every fd above 2 but those in keep (negative entries are ignored). */
void close_fds_except(const int *keep, int n)
{
	int sorted[16];
	unsigned int from = 3;
	n = n > 16 ? 16 : n;
	memcpy(sorted, keep, (size_t)n * sizeof(int));
	qsort(sorted, (size_t)n, sizeof(int), cmp_int);
	for (int i = 0; i < n; i++) {
		if (sorted[i] < (int)from)
			continue;
		if ((unsigned int)sorted[i] > from)
			syscall(SYS_close_range, from, (unsigned int)sorted[i] - 1, 0);
		from = (unsigned int)sorted[i] + 1;
	}
	syscall(SYS_close_range, from, ~0u, 0);
}

static void reset_signals(void)
{
	sigset_t none;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL); /* some are reserved by libc and refuse; that is fine */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* After chdir: the working directory must be inside the container's root. A directory reached
 * through an fd leaked from the host would be "(unreachable)" (CVE-2024-21626, "leaky vessels"). */
static int check_cwd(const char *cwd)
{
	char buf[4096];
	long n = syscall(SYS_getcwd, buf, sizeof(buf));
	if (n < 0 || buf[0] != '/')
		return fail(n < 0 ? errno : 0, "the working directory %s is outside the container", cwd);
	return 0;
}

/* Step d. A hard limit above the current one needs CAP_SYS_RESOURCE: without it, the sentence says
 * which limit, and what it is here. */
static int set_rlimits(const struct process *proc)
{
	for (int i = 0; i < proc->n_rlimits; i++) {
		const struct rlimit_spec *r = &proc->rlimits[i];
		struct rlimit want = { .rlim_cur = r->soft, .rlim_max = r->hard }, now;
		char soft[24], hard[24], here[24];
		if (setrlimit(r->resource, &want) == 0)
			continue;
		int err = errno;
		rlimit_text(r->soft, soft, sizeof(soft));
		rlimit_text(r->hard, hard, sizeof(hard));
		if (err == EPERM && getrlimit(r->resource, &now) == 0 && r->hard > now.rlim_max)
			return fail(0, "cannot raise the hard limit %s to %s: it is %s here, and raising it needs CAP_SYS_RESOURCE",
				    rlimit_name(r->resource), hard, rlimit_text(now.rlim_max, here, sizeof(here)));
		return fail(err, "cannot set the limit %s to %s:%s", rlimit_name(r->resource), soft, hard);
	}
	if (proc->n_rlimits)
		TRACE("d", "rlimits", "count=%d", proc->n_rlimits);
	return 0;
}

static int change_user(const struct process *proc)
{
	if (drop_bounding(proc->cap_bounding) < 0)
		return -EPERM;
	prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	if ((!proc->no_setgroups && setgroups((size_t)proc->ngroups, proc->groups) < 0) || setgid(proc->gid) < 0 || setuid(proc->uid) < 0)
		return fail(errno, "cannot switch to user %u:%u", (unsigned)proc->uid, (unsigned)proc->gid);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* A change of user resets dumpable to the host's fs.suid_dumpable: set it again. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	TRACE("e", "user", "uid=%u gid=%u groups=%d", (unsigned)proc->uid, (unsigned)proc->gid, proc->ngroups);
	return 0;
}

int confine_process(const struct process *proc, const struct channels *ch)
{
	char names[5][1024];
	int ret;
	/* a. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return fail(errno, "cannot make the command's process non-dumpable");
	/* b. */
	if (proc->session_keyring && (ret = join_session_keyring()) < 0)
		return ret;
	/* c. */
	int keep[] = { ch->report_w, ch->hold_fd, ch->tty_slave, ch->stdio[0], ch->stdio[1], ch->stdio[2], g_trace_fd, ch->pid_w };
	close_fds_except(keep, sizeof(keep) / sizeof(keep[0]));
	/* d. */
	if ((ret = set_rlimits(proc)) < 0)
		return ret;
	/* e. */
	if ((ret = change_user(proc)) < 0)
		return ret;
	/* f. We are past pivot_root (or chroot, for exec); still, check where we landed. */
	if (chdir(proc->cwd) < 0)
		return fail(errno, "cannot change to the working directory %s in the container", proc->cwd);
	if ((ret = check_cwd(proc->cwd)) < 0)
		return ret;
	/* g. */
	if (proc->seccomp && !proc->no_new_privs &&
	    ((ret = raise_effective()) < 0 || (ret = install_seccomp(proc->seccomp, proc->seccomp_len)) < 0))
		return ret;
	/* h. */
	if ((ret = set_capabilities(proc)) < 0)
		return ret;
	TRACE("h", "capabilities", "bounding=%s effective=%s permitted=%s inheritable=%s ambient=%s",
	      cap_names(proc->cap_bounding, names[0], sizeof(names[0])), cap_names(proc->cap_effective, names[1], sizeof(names[1])),
	      cap_names(proc->cap_permitted, names[2], sizeof(names[2])), cap_names(proc->cap_inheritable, names[3], sizeof(names[3])),
	      cap_names(proc->cap_ambient, names[4], sizeof(names[4])));
	/* i. */
	reset_signals();
	umask(proc->umask);
	/* j. */
	if (proc->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(errno, "cannot set no_new_privs");
	if (proc->seccomp && proc->no_new_privs && (ret = install_seccomp(proc->seccomp, proc->seccomp_len)) < 0)
		return ret;
	TRACE("j", "seccomp", "instructions=%u no-new-privs=%d", proc->seccomp ? (unsigned)proc->seccomp_len : 0, proc->no_new_privs);
	return 0;
}

/* k. */
static int setup_stdio(const struct process *proc, const struct channels *ch)
{
	/* (The container's PID 1 leads its session already: the runc CLI's 'pid1'.) */
	if (setsid() < 0 && getsid(0) != getpid())
		return fail(errno, "cannot start a session for the command");
	if (proc->tty) {
		/* We lead a new session, so the slave becomes our controlling terminal. */
		if (ioctl(ch->tty_slave, TIOCSCTTY, 0) < 0)
			return fail(errno, "cannot make the container's terminal the controlling terminal");
		for (int i = 0; i < 3; i++)
			if (dup2(ch->tty_slave, i) < 0)
				return fail(errno, "cannot attach the terminal as fd %d", i);
		return 0;
	}
	for (int i = 0; i < 3; i++)
		if (ch->stdio[i] >= 0 && ch->stdio[i] != i && dup2(ch->stdio[i], i) < 0)
			return fail(errno, "cannot set up fd %d of the command", i);
	return 0;
}

/* l. The supervisor learns that we wait ("held", a report with status 0), then the open blocks
 * until the FIFO has a reader: box start, which reads the byte we write. The FIFO was opened as
 * O_PATH on the host, before pivot_root; it is reopened through our own /proc/self/fd. */
static int hold(const struct channels *ch)
{
	struct report held = { .status = 0, .err = 0, .msg = "held" };
	char path[64];
	int ret = write_all(ch->report_w, &held, sizeof(held));
	if (ret < 0)
		return fail(-ret, "cannot tell box that the container is held");
	TRACE("l", "hold", "fd=%d", ch->hold_fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", ch->hold_fd);
	int fd;
	do
		fd = open(path, O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return fail(errno, "cannot open the hold FIFO");
	ret = write_all(fd, "0", 1);
	close(fd);
	close(ch->hold_fd);
	return ret < 0 ? fail(-ret, "cannot write to the hold FIFO") : 0;
}

/* m. execvpe, but with the plan's search path and docker's exit codes: 127 when the command is
 * not found, 126 when it exists but cannot be executed. */
static int exec_command(const struct process *proc)
{
	const char *file = proc->argv[0];
	char buf[4096];
	int err = ENOENT;
	if (strchr(file, '/') != NULL) {
		TRACE("m", "execve", "path=%s", trace_token(file));
		execve(file, proc->argv, proc->env);
		err = errno;
	}
	for (const char *dir = proc->search_path; strchr(file, '/') == NULL && *dir;) {
		const char *end = strchrnul(dir, ':');
		size_t len = (size_t)(end - dir);
		if (len + strlen(file) + 2 <= sizeof(buf)) {
			if (len == 0)
				buf[len++] = '.';
			else
				memcpy(buf, dir, len);
			buf[len] = '/';
			strcpy(buf + len + 1, file);
			TRACE("m", "execve", "path=%s", trace_token(buf));
			execve(buf, proc->argv, proc->env);
			if (errno == EACCES || (errno != ENOENT && errno != ENOTDIR))
				err = errno;
		}
		dir = *end ? end + 1 : end;
	}
	if (err == ENOENT || err == ENOTDIR)
		return fail_status(127, 0, "%s: command not found in the container", file);
	return fail_status(126, err, "cannot execute %s in the container", file);
}

_Noreturn void start_command(const struct process *proc, const struct channels *ch)
{
	if (setup_stdio(proc, ch) < 0)
		report_and_exit(ch->report_w);
	/* Only what execve closes itself stays: the report pipe, the trace; and the hold FIFO. */
	int keep[] = { ch->report_w, g_trace_fd, ch->hold_fd };
	close_fds_except(keep, 3);
	/* The runc CLI's create: a command that is not there fails the create, as with runc, not
	 * the start (oci.c). */
	if (ch->hold_fd >= 0 && g_oci->handoff && oci_command_found(proc) < 0)
		report_and_exit(ch->report_w);
	if (ch->hold_fd >= 0 && hold(ch) < 0)
		oci_late_failure(ch->report_w);
	if (run_hooks(g_oci, HOOK_START_CONTAINER, getpid()) < 0)
		oci_late_failure(ch->report_w);
	exec_command(proc);
	oci_late_failure(ch->report_w);
}
