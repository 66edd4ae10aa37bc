/*
 * What the supervisor does on the host around a container: its cgroups, its network (the bridge,
 * sysctls, the veth), the state files box reads (pidfile, exit file), the OOM check once it ended,
 * and the clean-up the plan lists. Every path here was chosen by the front end; none is the
 * container's.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

/* The cgroup files are opened before anything else: box exec joins the container's mount
 * namespace, from where the host's /sys/fs/cgroup is out of sight. cgroup.procs files take the pid
 * the supervisor writes; v1 tasks files are written by the new process itself (join_own_cgroups). */
int open_cgroups(const struct plan *p, struct cgroup_files *cg)
{
	cg->n = cg->n_tasks = 0;
	for (int i = 0; i < p->n_cgroup_procs + p->n_cgroup_tasks; i++) {
		int tasks = i >= p->n_cgroup_procs;
		const char *path = tasks ? p->cgroup_tasks[i - p->n_cgroup_procs] : p->cgroup_procs[i];
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			close_cgroups(cg);
			return fail(errno, "cannot open %s", path);
		}
		if (tasks)
			cg->tasks[cg->n_tasks++] = fd;
		else
			cg->fd[cg->n++] = fd;
		TRACE("1", "cgroup-file", "path=%s", trace_token(path));
	}
	return 0;
}

/* Writes pid into every cgroup.procs file, and closes them. */
int join_cgroups(struct cgroup_files *cg, pid_t pid)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d\n", (int)pid), ret = 0;
	for (int i = 0; i < cg->n && ret >= 0; i++)
		if ((ret = write_all(cg->fd[i], buf, (size_t)len)) < 0)
			fail(-ret, "cannot move the container's process into its cgroup");
	if (cg->n)
		TRACE("4", "cgroup", "pid=%d files=%d", (int)pid, cg->n);
	close_cgroups(cg);
	return ret;
}

/* In the new process, first thing: "0" into each v1 tasks file moves the writer, and only it.
 * Moving another process (cgroup.procs, or a pid) takes the kernel's threadgroup lock, whose
 * first taking waits for an RCU grace period (10 to 15 ms, the longest step of a start); moving
 * the writing thread itself needs no lock. The process is single-threaded, so the thread is all
 * of it, and it does nothing before, so nothing of the container runs outside its cgroups. */
int join_own_cgroups(struct cgroup_files *cg)
{
	int ret = 0;
	for (int i = 0; i < cg->n_tasks && ret >= 0; i++)
		if ((ret = write_all(cg->tasks[i], "0", 1)) < 0)
			fail(-ret, "cannot move the container's process into its cgroup");
	if (ret >= 0 && cg->n_tasks)
		TRACE("0", "cgroup-self", "files=%d", cg->n_tasks);
	close_tasks(cg);
	return ret;
}

void close_tasks(struct cgroup_files *cg)
{
	for (int i = 0; i < cg->n_tasks; i++)
		close(cg->tasks[i]);
	cg->n_tasks = 0;
}

void close_cgroups(struct cgroup_files *cg)
{
	for (int i = 0; i < cg->n; i++)
		close(cg->fd[i]);
	cg->n = 0;
	close_tasks(cg);
}

/* The bridge the container's veth goes on, made by the first container that needs it, and the
 * sysctls the plan sets once it exists. */
int prepare_network(const struct plan *p)
{
	int ret;
	if (p->net.bridge) {
		ret = nl_create_bridge(p->net.bridge, p->net.has_bridge_mac ? p->net.bridge_mac : NULL);
		if (ret < 0 && ret != -EEXIST)
			return fail(-ret, "cannot create the bridge %s", p->net.bridge);
		if ((ret = nl_add_address(p->net.bridge, &p->net.bridge_address)) < 0 && ret != -EEXIST)
			return fail(-ret, "cannot give the bridge %s its address", p->net.bridge);
		if ((ret = nl_link_up(p->net.bridge, 0)) < 0)
			return fail(-ret, "cannot bring up the bridge %s", p->net.bridge);
		TRACE("2", "bridge", "name=%s prefix=%u", trace_token(p->net.bridge), p->net.bridge_address.prefix);
	}
	for (int i = 0; i < p->n_sysctls; i++) {
		const struct sysctl *s = &p->sysctls[i];
		int fd = open(s->path, O_WRONLY | O_CLOEXEC);
		ret = fd < 0 ? -errno : write_all(fd, s->value, strlen(s->value));
		if (fd >= 0)
			close(fd);
		if (ret < 0)
			return fail(-ret, "cannot set %s to %s", s->path, s->value);
		TRACE("2", "sysctl", "path=%s value=%s", trace_token(s->path), trace_token(s->value));
	}
	return 0;
}

/* The container's end of the network: a veth pair whose peer is born in its namespace under the
 * plan's name (gone with the namespace), the host end on the bridge. */
int connect_container(const struct plan *p, pid_t pid)
{
	const struct network *net = &p->net;
	if (net->host_veth == NULL)
		return 0;
	int ret = nl_create_veth(net->host_veth, net->container_if, pid, net->has_container_mac ? net->container_mac : NULL);
	if (ret < 0)
		return fail(-ret, "cannot create the veth pair %s", net->host_veth);
	int master = (int)if_nametoindex(net->veth_bridge);
	if (master == 0 || (ret = nl_link_up(net->host_veth, master)) < 0)
		return fail(master == 0 ? errno : -ret, "cannot put %s on the bridge %s", net->host_veth, net->veth_bridge);
	TRACE("4", "veth", "host=%s bridge=%s container=%s", trace_token(net->host_veth), trace_token(net->veth_bridge),
	      trace_token(net->container_if));
	return 0;
}

/* The namespaces of a process, by inode number, for the trace. */
void trace_namespaces(pid_t pid)
{
	static const char *names[] = { "mnt", "uts", "ipc", "net", "pid", "cgroup" };
	char path[64], line[256];
	int at = 0;
	struct stat st;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, names[i]);
		if (stat(path, &st) == 0)
			at += snprintf(line + at, sizeof(line) - (size_t)at, " %s=%lu", names[i], (unsigned long)st.st_ino);
	}
	TRACE("3", "namespaces", "pid=%d%s", (int)pid, at ? line : "");
}

/* The classic way: a named temporary file, renamed over the path. */
static int write_named_temp(const struct state_file *f, const char *text, int durable)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", f->path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, f->mode);
	if (fd < 0)
		return -errno;
	int ret = write_all(fd, text, strlen(text));
	if (ret >= 0 && durable && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret >= 0)
		ret = -errno;
	if (ret >= 0 && rename(tmp, f->path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* Written whole before it gets a name: a reader sees the file complete or not at all, and a write
 * that fails (a full /run) leaves nothing behind. The file is made without a name (O_TMPFILE) in
 * the path's directory and linked in once complete, so not even a box killed half-way leaves a
 * temporary file; where it exists already, or the filesystem cannot do that, a named temporary
 * file is renamed over it. */
static int write_state_file(const struct state_file *f, const char *text, int durable)
{
	char dir[4200], fdpath[64];
	const char *slash = strrchr(f->path, '/');
	size_t dirlen = slash == f->path ? 1 : (size_t)(slash - f->path);
	if (dirlen >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, f->path, dirlen);
	dir[dirlen] = '\0';
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, f->mode);
	if (fd < 0)
		return errno == EOPNOTSUPP || errno == EISDIR ? write_named_temp(f, text, durable) : -errno;
	int ret = write_all(fd, text, strlen(text));
	if (ret >= 0 && durable && fsync(fd) < 0)
		ret = -errno;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	if (ret >= 0 && linkat(AT_FDCWD, fdpath, AT_FDCWD, f->path, AT_SYMLINK_FOLLOW) < 0)
		ret = errno == EEXIST ? write_named_temp(f, text, durable) : -errno;
	if (close(fd) < 0 && ret >= 0)
		ret = -errno;
	return ret;
}

/* "supervisor-pid supervisor-start init-pid init-start[ restarts]": the start times tell a live
 * process from a reused pid (box exec pins the init by both, exec.c); with a restart policy, how
 * often the container was started again, and the pidfile is rewritten for each run's init. */
int write_pidfile(const struct plan *p, pid_t init, unsigned int restarts)
{
	char text[160], stat[1024], path[64];
	unsigned long long self_start = 0, init_start = 0;
	if (p->pidfile.path == NULL)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)init);
	if (read_small("/proc/self/stat", stat, sizeof(stat)) <= 0 || stat_start_time(stat, &self_start) < 0 ||
	    read_small(path, stat, sizeof(stat)) <= 0 || stat_start_time(stat, &init_start) < 0)
		return fail(0, "cannot read the start time of the container's processes");
	int n = snprintf(text, sizeof(text), "%d %llu %d %llu", (int)getpid(), self_start, (int)init, init_start);
	snprintf(text + n, sizeof(text) - (size_t)n, p->restart.policy != RESTART_NO ? " %u\n" : "\n", restarts);
	int ret = write_state_file(&p->pidfile, text, 0);
	if (ret < 0)
		return fail(-ret, "cannot write the pidfile %s", p->pidfile.path);
	TRACE("6", "pidfile", "path=%s", trace_token(p->pidfile.path));
	return 0;
}

/* "status oom-killed finished-ms[ restarts]", made durable: it is all box knows of how a kept
 * container ended. With a restart policy it is written at the end of every run, with how often the
 * container had been started again by then, and removed once it runs again (supervise.c). */
void write_exitfile(const struct plan *p, int status, int oom_killed, unsigned int restarts)
{
	char text[128];
	struct timespec ts;
	if (p->exitfile.path == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	int n = snprintf(text, sizeof(text), "%d %d %lld", status, oom_killed, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	snprintf(text + n, sizeof(text) - (size_t)n, p->restart.policy != RESTART_NO ? " %u\n" : "\n", restarts);
	int ret = write_state_file(&p->exitfile, text, 1);
	if (ret < 0) {
		fail(-ret, "cannot write the exit file %s", p->exitfile.path);
		report_print(&g_report);
	}
}

/* The kernel's count of OOM kills in the container's cgroup: the "oom_kill N" line of
 * memory.events (v2) or memory.oom_control (v1); 0 when it cannot be read. */
static long oom_count(const char *events_file)
{
	char buf[1024];
	if (read_small(events_file, buf, sizeof(buf)) <= 0)
		return 0;
	const char *line = strstr(buf, "oom_kill ");
	while (line && line != buf && line[-1] != '\n')
		line = strstr(line + 1, "oom_kill ");
	return line ? atol(line + 9) : 0;
}

/* As a run starts: the counters, which never go down while the cgroup lives. */
void oom_counts(const struct plan *p, long *counts)
{
	for (int i = 0; i < p->n_ooms; i++)
		counts[i] = oom_count(p->ooms[i].events_file);
}

/* After the run ended: did the kernel's OOM killer act in its cgroup since it started (before)?
 * Says so, and returns the status box ends with: 137 when the command was killed, else its own. */
int report_oom(const struct plan *p, int status, int *oom_killed, const long *before)
{
	for (int i = 0; i < p->n_ooms; i++) {
		const struct oom_check *o = &p->ooms[i];
		if (oom_count(o->events_file) > before[i]) {
			*oom_killed = 1;
			fail(0, "%s", status > 128 ? o->when_killed : o->otherwise);
			report_print(&g_report);
			if (status > 128)
				status = 137;
		}
	}
	return status;
}

/* The end of a run: its veth would go with the container's namespace, but only once the kernel
 * tears it down, which it does in the background. Removed now, so box rm leaves no link behind and
 * a run that follows can make it again under the same name. */
void end_network(const struct plan *p)
{
	stop_net_tool();
	if (p->net.host_veth)
		nl_delete_link(p->net.host_veth);
}

/* A cgroup can be removed once its last process has gone; the kernel reaps the rest of the PID
 * namespace just after init, so a busy cgroup is tried again, as often as the plan says. */
static void remove_cgroup(const struct cgroup_removal *c)
{
	struct timespec pause = { .tv_sec = c->interval_ms / 1000, .tv_nsec = (long)(c->interval_ms % 1000) * 1000000 };
	for (unsigned int i = 0; i < c->tries; i++) {
		if (rmdir(c->dir) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			break;
		nanosleep(&pause, NULL);
	}
	fail(errno, "cannot remove the cgroup %s (the next box command will)", c->dir);
	report_print(&g_report);
}

/* Runs a program the front end chose for after the container (removing its firewall rules),
 * quietly, with the plan's environment. */
static void run_quietly(char **argv, char **env)
{
	static char *no_env[] = { NULL };
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		for (int i = 0; i < 3 && null >= 0; i++)
			dup2(null, i);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(argv[0], argv, env ? env : no_env);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

void cleanup_after(const struct plan *p)
{
	for (int i = 0; i < p->n_cleanup_exec; i++)
		run_quietly(p->cleanup_exec[i], p->cleanup_env);
	end_network(p);
	for (int i = 0; i < p->n_rm_cgroups; i++)
		remove_cgroup(&p->rm_cgroups[i]);
	if (remove_inside(p))
		return;
	for (int i = 0; i < p->n_cleanup_paths; i++)
		if (remove_tree(p->cleanup_paths[i]) < 0)
			report_print(&g_report);
	/* OCI poststop hooks: after the container is gone; a failure is only reported. */
	if (run_hooks(&p->oci, HOOK_POSTSTOP, 0) < 0)
		report_print(&g_report);
}
