/*
 * The steps the runc CLI (box-runc, src/oci/) adds to a container's set-up, each called from the
 * step of supervise.c, container.c, rootfs.c or exec.c it belongs to:
 *
 *   namespaces joined by path   opened and checked on the host before clone (supervise.c, step 3);
 *                               a PID namespace is entered for the clone alone, the others are
 *                               joined by the container's first process before anything else
 *   oom_score_adj               written by the supervisor while the container waits (step 4)
 *   domainname                  with the hostname (container.c, step 7)
 *   root propagation            of the new root, after pivot_root (container.c, step 8)
 *   device nodes                made inside the root (rootfs.c, step 6)
 *   the console socket          the pty master goes to the caller's socket, not to a relay (step 5)
 *   the OCI pidfile             the command's pid alone, as runc writes it
 *   failures                    in runc's log formats (text, JSON), to its --log file
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

const struct oci *g_oci;

static int ns_fds[PLAN_MAX_NS_PATHS] = { -1, -1, -1, -1, -1, -1, -1, -1 };

/* Step 3, on the host: every namespace to join is opened now, while the host's paths are in
 * sight, and must be a namespace of the type the plan says (a path to anything else is refused). */
static int oci_open_namespaces(const struct plan *p)
{
	for (int i = 0; i < p->oci.n_ns; i++) {
		const struct ns_path *ns = &p->oci.ns[i];
		ns_fds[i] = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (ns_fds[i] < 0)
			return fail(errno, "cannot open the namespace %s", ns->path);
		int type = ioctl(ns_fds[i], NS_GET_NSTYPE);
		if (type != ns->type)
			return fail(type < 0 ? errno : 0, "refusing %s: it is not a namespace of the type the config names", ns->path);
	}
	return 0;
}

static void oci_close_namespaces(void)
{
	for (int i = 0; i < PLAN_MAX_NS_PATHS; i++)
		if (ns_fds[i] >= 0)
			close(ns_fds[i]), ns_fds[i] = -1;
}

/* A PID namespace is joined by the clone itself: the supervisor sets the namespace its next child
 * is born in, clones, and takes its own back (*saved, -1 when nothing was changed). */
static int oci_enter_pid_namespace(const struct plan *p, int *saved)
{
	*saved = -1;
	for (int i = 0; i < p->oci.n_ns; i++) {
		if (p->oci.ns[i].type != CLONE_NEWPID)
			continue;
		*saved = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (*saved < 0)
			return fail(errno, "cannot open box's own PID namespace");
		if (setns(ns_fds[i], CLONE_NEWPID) < 0)
			return fail(errno, "cannot join the PID namespace %s", p->oci.ns[i].path);
		TRACE("3", "join-namespace", "type=pid path=%s", trace_token(p->oci.ns[i].path));
	}
	return 0;
}

/* The supervisor's clone (clone_fn, supervise.c) with the namespaces joined by path opened first
 * and a PID namespace entered for the clone alone; afterwards, box's own PID namespace back and,
 * in the supervisor, the namespaces' fds closed (the child keeps them for oci_join_namespaces). */
pid_t oci_clone(const struct plan *p, int *in_cgroup, pid_t (*clone_fn)(const struct plan *, int *))
{
	int saved = -1, ret = 0;
	if (oci_open_namespaces(p) < 0 || oci_enter_pid_namespace(p, &saved) < 0)
		return -1;
	pid_t pid = clone_fn(p, in_cgroup);
	if (pid == 0)
		return 0;
	oci_close_namespaces();
	if (saved >= 0) {
		ret = setns(saved, CLONE_NEWPID) < 0 ? fail(errno, "cannot return to box's own PID namespace") : 0;
		close(saved);
	}
	if (ret < 0 && pid > 0)
		return kill(pid, SIGKILL), waitpid(pid, NULL, 0), -1;
	return pid;
}

/* In the container's first process, before anything else: the other namespaces, the mount
 * namespace last (after it, paths are that namespace's). */
int oci_join_namespaces(const struct plan *p)
{
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < p->oci.n_ns; i++) {
			const struct ns_path *ns = &p->oci.ns[i];
			if (ns->type == CLONE_NEWPID || (ns->type == CLONE_NEWNS) != (pass == 1))
				continue;
			if (setns(ns_fds[i], ns->type) < 0)
				return fail(errno, "cannot join the namespace %s", ns->path);
			TRACE("0", "join-namespace", "path=%s", trace_token(ns->path));
		}
	}
	oci_close_namespaces();
	return 0;
}

/* Step 4, by the supervisor, while the process waits: its children inherit the value. Lowering it
 * needs CAP_SYS_RESOURCE, which the kernel checks here, as for runc. */
int oci_set_oom_score_adj(const struct plan *p, pid_t pid)
{
	char path[64], value[16];
	if (!p->oci.has_oom_score_adj)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	int len = snprintf(value, sizeof(value), "%d", p->oci.oom_score_adj);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ret = fd < 0 ? -errno : write_all(fd, value, (size_t)len);
	if (fd >= 0)
		close(fd);
	return ret < 0 ? fail(-ret, "cannot set the container's oom_score_adj to %s", value) : 0;
}

int oci_set_domainname(const struct plan *p)
{
	const char *name = p->oci.domainname;
	if (name && setdomainname(name, strlen(name)) < 0)
		return fail(errno, "cannot set the domain name to %s", name);
	return 0;
}

/* After pivot_root: the root mount's own propagation. Everything was made private in step 4, so
 * nothing the container mounts reaches the host whatever is asked here; shared or slave then
 * concern the container's own mounts. */
int oci_root_propagation(const struct plan *p)
{
	char names[128];
	if (p->oci.propagation_root == 0)
		return 0;
	if (mount(NULL, "/", NULL, p->oci.propagation_root, NULL) < 0)
		return fail(errno, "cannot set the propagation of the container's root");
	TRACE("8", "root-propagation", "flags=%s", mount_flag_names(p->oci.propagation_root, names, sizeof(names)));
	return 0;
}

/* Step 6: a device node made in the container, for the runc CLI's linux.devices. It is made
 * relative to its directory, opened inside the root; one already there must be the same node. */
int step_mknod(int rootfd, const struct root_step *s)
{
	char dir[4096];
	struct stat st;
	const char *slash = strrchr(s->path, '/');
	if (slash == NULL || slash[1] == '\0' || strlen(s->path) >= sizeof(dir))
		return fail(0, "the plan holds a bad container path '%s'", s->path);
	memcpy(dir, s->path, (size_t)(slash - s->path));
	dir[slash - s->path] = '\0';
	int dfd = open_in_root(rootfd, dir[0] ? dir : "/", O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return fail(-dfd, "cannot open %s in the container", dir[0] ? dir : "/");
	mode_t type = s->node_type == 'c' ? S_IFCHR : s->node_type == 'b' ? S_IFBLK : S_IFIFO;
	dev_t dev = s->node_type == 'p' ? 0 : makedev(s->major, s->minor);
	int ret = 0;
	if (mknodat(dfd, slash + 1, type | s->mode, dev) < 0) {
		if (errno != EEXIST || fstatat(dfd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (st.st_mode & S_IFMT) != type || (type != S_IFIFO && st.st_rdev != dev))
			ret = fail(errno == EEXIST ? 0 : errno, "cannot make the device %s in the container%s", s->path,
				   errno == EEXIST ? ": another file is there" : "");
	}
	if (ret == 0 && fchownat(dfd, slash + 1, s->uid, s->gid, AT_SYMLINK_NOFOLLOW) < 0)
		ret = fail(errno, "cannot give the device %s in the container its owner", s->path);
	close(dfd);
	return ret;
}

/* Step 5: the master goes to the socket the caller listens on (conmon's), one fd with the name of
 * the terminal as the message, as runc sends it; the caller relays from then on, not box. */
int oci_send_console(const struct plan *p, int master)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	static const char name[] = "/dev/ptmx";
	if (strlen(p->oci.console_socket) >= sizeof(addr.sun_path))
		return fail(ENAMETOOLONG, "cannot connect to the console socket %s", p->oci.console_socket);
	strcpy(addr.sun_path, p->oci.console_socket);
	if (p->oci.rows || p->oci.cols) {
		struct winsize ws = { .ws_row = p->oci.rows, .ws_col = p->oci.cols };
		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			return fail(errno, "cannot size the container's terminal");
	}
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;
		if (sock >= 0)
			close(sock);
		return fail(err, "cannot connect to the console socket %s", p->oci.console_socket);
	}
	int ret = send_fd(sock, master, name, sizeof(name));
	if (ret < 0)
		ret = fail(-ret, "cannot send the terminal to the console socket %s", p->oci.console_socket);
	close(sock);
	TRACE("5", "console-socket", "path=%s", trace_token(p->oci.console_socket));
	return ret;
}

/* Step 5 of supervise.c for the runc CLI: the master from the container goes on to the socket. */
int oci_hand_terminal(const struct plan *p, int console_r)
{
	int master = recv_fd(console_r);
	if (master < 0)
		return master;
	int ret = oci_send_console(p, master);
	close(master);
	return ret;
}

/* The pid alone, written whole under a temporary name and renamed, as runc does. */
int oci_write_pidfile(const struct plan *p, pid_t pid)
{
	char tmp[4200], text[16];
	if (p->oci.pidfile == NULL)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-box", p->oci.pidfile) >= (int)sizeof(tmp))
		return fail(ENAMETOOLONG, "cannot write the pid file %s", p->oci.pidfile);
	int len = snprintf(text, sizeof(text), "%d", (int)pid);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	int ret = fd < 0 ? -errno : write_all(fd, text, (size_t)len);
	if (fd >= 0 && close(fd) < 0 && ret >= 0)
		ret = -errno;
	if (ret >= 0 && rename(tmp, p->oci.pidfile) < 0)
		ret = -errno;
	if (ret < 0) {
		unlink(tmp);
		return fail(-ret, "cannot write the pid file %s", p->oci.pidfile);
	}
	return 0;
}

/* Whether the command can be found and executed (what exec_command in command.c would find): for
 * the runc CLI's create, checked before the hold, so a missing command fails the create. An empty
 * argv[0] is a container without a process (never started): there is nothing to look up. */
int oci_command_found(const struct process *proc)
{
	const char *file = proc->argv[0];
	char buf[4096];
	struct stat st;
	int err = ENOENT;
	if (file[0] == '\0')
		return 0;
	for (const char *dir = strchr(file, '/') ? "" : proc->search_path;;) {
		const char *end = strchrnul(dir, ':');
		size_t len = (size_t)(end - dir);
		int n = strchr(file, '/') ? snprintf(buf, sizeof(buf), "%s", file)
					  : snprintf(buf, sizeof(buf), "%.*s/%s", len ? (int)len : 1, len ? dir : ".", file);
		if (n > 0 && (size_t)n < sizeof(buf) && stat(buf, &st) == 0) {
			if (S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
				return 0;
			err = EACCES;
		}
		if (strchr(file, '/') || *end == '\0')
			break;
		dir = end + 1;
	}
	if (err == ENOENT)
		return fail_status(127, 0, "%s: command not found in the container", file);
	return fail_status(126, err, "cannot execute %s in the container", file);
}

/* A failure after the container was handed over (create returned): nobody reads the report pipe,
 * so the sentence also goes to the command's stderr (the caller's, conmon's log). */
_Noreturn void oci_late_failure(int report_w)
{
	if (g_oci->handoff)
		report_print(&g_report);
	report_and_exit(report_w);
}

/* A message as a JSON or logfmt string: quotes and backslashes escaped, control bytes as \u00NN. */
static size_t quoted(char *out, size_t len, const char *s)
{
	size_t at = 0;
	for (const unsigned char *c = (const unsigned char *)s; *c && at + 8 < len; c++) {
		if (*c == '"' || *c == '\\')
			at += (size_t)snprintf(out + at, len - at, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			at += (size_t)snprintf(out + at, len - at, "\\u%04x", *c);
		else
			out[at++] = (char)*c;
	}
	out[at] = '\0';
	return at;
}

/* report.c's report_print when the runc CLI asked for its formats: one line, with the time, on
 * stderr; with a log file, the line goes there and the plain sentence to stderr (as runc). */
void oci_report_print(const struct report *r)
{
	char sentence[700], msg[1500], line[1700], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	if (r->err != 0)
		snprintf(sentence, sizeof(sentence), "%s: %s", r->msg, strerror(r->err));
	else
		snprintf(sentence, sizeof(sentence), "%s", r->msg);
	quoted(msg, sizeof(msg), sentence);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	int n = g_oci->report_format == REPORT_JSON
			? snprintf(line, sizeof(line), "{\"level\":\"error\",\"msg\":\"%s\",\"time\":\"%s\"}\n", msg, stamp)
			: snprintf(line, sizeof(line), "time=\"%s\" level=error msg=\"%s\"\n", stamp, msg);
	size_t len = n < 0 ? 0 : (size_t)n >= sizeof(line) ? sizeof(line) - 1 : (size_t)n;
	if (g_oci->report_log == NULL) {
		write_all(2, line, len);
		return;
	}
	int fd = open(g_oci->report_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		write_all(fd, line, len);
		close(fd);
	}
	size_t slen = strlen(sentence);
	for (size_t i = 0; i < slen; i++)
		if ((unsigned char)sentence[i] < 0x20)
			sentence[i] = ' ';
	sentence[slen] = '\n';
	write_all(2, sentence, slen + 1);
}
