/*
 * The records the runc CLI (box-runc, src/oci/) adds to a plan, parsed into `struct oci`. Their
 * names are in the table of plan_records.c, with every other record's; what they hold is here:
 *
 *   pid1                               the command is the container's PID 1 (no box init)
 *   handoff                            return once the command is held or runs; leave it to our caller
 *   oci_pidfile PATH                   the command's pid, alone, as runc writes --pid-file
 *   console_socket PATH                the pty master goes to this unix socket (SCM_RIGHTS)
 *   console_size ROWS COLS             its size
 *   ns_path TYPE PATH                  join this namespace (mount uts ipc net pid cgroup) instead
 *   oom_score_adj N                    -1000..1000
 *   domainname NAME
 *   root_propagation FLAGS             after pivot_root: shared, slave, private or unbindable (+rec)
 *   mknod PATH TYPE MAJOR MINOR MODE UID GID    a device node made in the container (c, b or p)
 *   mount_copyup SOURCE TARGET TYPE FLAGS DATA  a tmpfs with the directory's contents copied in
 *   hook KIND TIMEOUT PATH ARGV0 ARG...         an OCI hook (timeout in seconds, 0: none)
 *   hook_env ENV...                    the environment of the hook just before
 *   hook_state BEFORE MIDDLE AFTER     a hook's stdin: BEFORE status MIDDLE pid AFTER
 *   report_format box|text|json LOG    how failures are printed; LOG ("" for none) gets runc's line
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "helper.h"
#include "plan.h"

int r_pid1(struct plan *p, char **f) { (void)f; p->oci.pid1 = 1; return 0; }
int r_handoff(struct plan *p, char **f) { (void)f; p->oci.handoff = 1; return 0; }
int r_oci_pidfile(struct plan *p, char **f) { return path(f[0], &p->oci.pidfile); }
int r_console_socket(struct plan *p, char **f) { return path(f[0], &p->oci.console_socket); }
int r_domainname(struct plan *p, char **f) { p->oci.domainname = f[0]; return 0; }

int r_console_size(struct plan *p, char **f)
{
	unsigned long long rows, cols;
	int ret = number(f[0], 10, 65535, &rows);
	if (ret < 0 || (ret = number(f[1], 10, 65535, &cols)) < 0)
		return ret;
	p->oci.rows = (unsigned short)rows;
	p->oci.cols = (unsigned short)cols;
	return 0;
}

int r_ns_path(struct plan *p, char **f)
{
	static const struct { const char *name; int type; } types[] = {
		{ "mount", CLONE_NEWNS }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
		{ "net", CLONE_NEWNET }, { "pid", CLONE_NEWPID }, { "cgroup", CLONE_NEWCGROUP },
	};
	if (p->oci.n_ns >= PLAN_MAX_NS_PATHS)
		return fail(0, "the plan has more than %d '%s' records", PLAN_MAX_NS_PATHS, g_key);
	struct ns_path *ns = &p->oci.ns[p->oci.n_ns];
	ns->type = 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i].name, f[0]) == 0)
			ns->type = types[i].type;
	if (ns->type == 0)
		return fail(0, "the plan names an unknown namespace '%s'", f[0]);
	for (int i = 0; i < p->oci.n_ns; i++)
		if (p->oci.ns[i].type == ns->type)
			return fail(0, "the plan joins the %s namespace twice", f[0]);
	p->oci.n_ns++;
	return path(f[1], &ns->path);
}

int r_oom_score_adj(struct plan *p, char **f)
{
	unsigned long long v;
	int negative = f[0][0] == '-';
	int ret = number(f[0] + negative, 10, 1000, &v);
	if (ret >= 0 && negative && v == 0)
		ret = fail(0, "the plan's record 'oom_score_adj' holds a malformed number '%s'", f[0]);
	p->oci.oom_score_adj = negative ? -(int)v : (int)v;
	p->oci.has_oom_score_adj = 1;
	return ret;
}

int r_root_propagation(struct plan *p, char **f)
{
	unsigned long long v;
	const unsigned long kinds = MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE;
	int ret = number(f[0], 10, ULONG_MAX, &v);
	if (ret < 0)
		return ret;
	unsigned long kind = (unsigned long)v & kinds;
	if (((unsigned long)v & ~(kinds | MS_REC)) != 0 || kind == 0 || (kind & (kind - 1)) != 0)
		return fail(0, "the plan's record 'root_propagation' holds %s, not one propagation type", f[0]);
	p->oci.propagation_root = (unsigned long)v;
	return 0;
}

/* Root steps are appended by plan_records.c (root_step), which knows their array. */
int r_mount_copyup(struct plan *p, char **f)
{
	struct root_step *s = root_step(p, ROOT_MOUNT_COPYUP, f[1]);
	return s == NULL ? -EINVAL : mount_spec(f, &s->mount);
}

int r_mknod(struct plan *p, char **f)
{
	unsigned long long major, minor, uid, gid;
	struct root_step *s = root_step(p, ROOT_MKNOD, f[0]);
	int ret = s == NULL ? -EINVAL : 0;
	if (ret < 0)
		return ret;
	if (strcmp(f[1], "c") != 0 && strcmp(f[1], "b") != 0 && strcmp(f[1], "p") != 0)
		return fail(0, "the plan's record 'mknod' names an unknown node type '%s'", f[1]);
	s->node_type = f[1][0];
	if ((ret = number(f[2], 10, 4095, &major)) < 0 || (ret = number(f[3], 10, 1048575, &minor)) < 0 ||
	    (ret = mode(f[4], 07777, &s->mode)) < 0 || (ret = number(f[5], 10, 0xfffffffeull, &uid)) < 0 ||
	    (ret = number(f[6], 10, 0xfffffffeull, &gid)) < 0)
		return ret;
	s->major = (unsigned int)major;
	s->minor = (unsigned int)minor;
	s->uid = (uid_t)uid;
	s->gid = (gid_t)gid;
	return 0;
}

int r_hook(struct plan *p, char **f)
{
	static const char *kinds[] = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" };
	unsigned long long timeout;
	if (p->oci.n_hooks >= PLAN_MAX_HOOKS)
		return fail(0, "the plan has more than %d hooks", PLAN_MAX_HOOKS);
	struct hook *h = &p->oci.hooks[p->oci.n_hooks];
	size_t k = 0;
	while (k < HOOK_KINDS && strcmp(kinds[k], f[0]) != 0)
		k++;
	if (k == HOOK_KINDS)
		return fail(0, "the plan names an unknown kind of hook '%s'", f[0]);
	int ret = number(f[1], 10, 86400, &timeout);
	if (ret < 0 || (ret = path(f[2], &h->path)) < 0)
		return ret;
	h->kind = (enum hook_kind)k;
	h->timeout = (unsigned int)timeout;
	h->argv = &f[3];
	h->env = NULL;
	p->oci.n_hooks++;
	return 0;
}

int r_hook_env(struct plan *p, char **f)
{
	if (p->oci.n_hooks == 0 || p->oci.hooks[p->oci.n_hooks - 1].env != NULL)
		return fail(0, "the plan's record 'hook_env' does not follow a 'hook' record");
	p->oci.hooks[p->oci.n_hooks - 1].env = f;
	return 0;
}

int r_hook_state(struct plan *p, char **f)
{
	for (int i = 0; i < 3; i++)
		p->oci.state[i] = f[i];
	return 0;
}

int r_report_format(struct plan *p, char **f)
{
	static const char *formats[] = { "box", "text", "json" };
	size_t i = 0;
	while (i < 3 && strcmp(formats[i], f[0]) != 0)
		i++;
	if (i == 3)
		return fail(0, "the plan's record 'report_format' names an unknown format '%s'", f[0]);
	p->oci.report_format = (enum report_format)i;
	if (f[1][0] == '\0')
		return 0;
	return path(f[1], &p->oci.report_log);
}

/* What goes together, once the whole plan is read. */
int check_oci(const struct plan *p)
{
	const struct oci *o = &p->oci;
	if ((o->rows || o->cols) && o->console_socket == NULL)
		return fail(0, "the plan's record 'console_size' needs 'console_socket'");
	if (o->console_socket && !p->proc.tty)
		return fail(0, "the plan's record 'console_socket' needs a terminal ('tty 1')");
	if (o->n_hooks > 0 && o->state[0] == NULL)
		return fail(0, "the plan's hooks need the record 'hook_state'");
	if (o->handoff && p->detach_id)
		return fail(0, "the plan's records 'handoff' and 'detach' exclude each other");
	if (o->n_ns > 0 && p->mode != MODE_RUN)
		return fail(0, "the plan's record 'ns_path' belongs in a run plan");
	for (int i = 0; i < o->n_ns; i++) {
		if ((o->ns[i].type == CLONE_NEWCGROUP && p->cgroup_ns) || (p->clone_flags & (unsigned long)o->ns[i].type))
			return fail(0, "the plan both creates and joins one namespace");
	}
	return 0;
}
