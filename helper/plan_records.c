/*
 * The plan's records: what each one holds, parsed and checked into the typed `struct plan`, and
 * which modes need and allow it. Together with plan.c (the framing) this is the only place that
 * knows record names; src/spec/plan.ts writes them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "helper.h"
#include "plan.h"

/* ---- Records --------------------------------------------------------------------------------- */

static int r_ns(struct plan *p, char **f)
{
	static const struct { const char *name; unsigned long flag; } ns[] = {
		{ "mount", CLONE_NEWNS }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
		{ "net", CLONE_NEWNET }, { "pid", CLONE_NEWPID }, { "user", CLONE_NEWUSER },
	};
	for (int i = 0; f[i] != NULL; i++) {
		size_t k = 0;
		while (k < sizeof(ns) / sizeof(ns[0]) && strcmp(ns[k].name, f[i]) != 0)
			k++;
		if (k < sizeof(ns) / sizeof(ns[0]))
			p->clone_flags |= ns[k].flag;
		else if (strcmp(f[i], "cgroup") == 0)
			p->cgroup_ns = 1;
		else if (strcmp(f[i], "time") == 0)
			p->timens.on = 1;
		else
			return fail(0, "the plan names an unknown namespace '%s'", f[i]);
	}
	return 0;
}

static int r_rootfs(struct plan *p, char **f) { return path(f[0], &p->rootfs); }

/* flags merged upper work lower...: the lowers top first, as many as overlayfs takes. */
static int r_overlay(struct plan *p, char **f)
{
	struct overlay *o = &p->overlay;
	unsigned long long flags;
	char names[512];
	int ret = number(f[0], 10, ULONG_MAX, &flags);
	if (ret < 0)
		return ret;
	if (mount_flag_names((unsigned long)flags, names, sizeof(names)) == NULL)
		return fail(0, "the plan's record 'overlay' holds unknown mount flags %s", f[0]);
	o->flags = (unsigned long)flags;
	if ((ret = path(f[1], &o->merged)) < 0 || (ret = path(f[2], &o->upper)) < 0 || (ret = path(f[3], &o->work)) < 0)
		return ret;
	o->lowers = &f[4];
	for (o->n_lowers = 0; o->lowers[o->n_lowers] != NULL; o->n_lowers++) {
		const char *lower;
		if ((ret = path(o->lowers[o->n_lowers], &lower)) < 0)
			return ret;
		if (strchr(lower, ':') != NULL || strchr(lower, ',') != NULL)
			return fail(0, "the plan's record 'overlay' holds a layer '%s' whose name has ':' or ','", lower);
	}
	return 0;
}

static int r_overlay_userxattr(struct plan *p, char **f)
{
	(void)f;
	p->overlay.userxattr = 1;
	return p->overlay.n_lowers ? 0 : fail(0, "the plan's record 'overlay_userxattr' comes after an 'overlay'");
}

static int r_host_mount(struct plan *p, char **f)
{
	int i = list_slot(&p->n_host_mounts);
	return i < 0 ? i : mount_spec(f, &p->host_mounts[i]);
}

/* Root steps keep their plan order; the array grows as they come. */
struct root_step *root_step(struct plan *p, enum root_step_kind kind, const char *where)
{
	static int capacity;
	if (p->n_root_steps == capacity) {
		int more = capacity ? capacity * 2 : 64;
		struct root_step *grown = realloc(p->root_steps, (size_t)more * sizeof(*grown));
		if (grown == NULL)
			return fail(ENOMEM, "cannot hold the plan"), NULL;
		p->root_steps = grown;
		capacity = more;
	}
	struct root_step *s = &p->root_steps[p->n_root_steps];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	if (path(where, &s->path) < 0)
		return NULL;
	p->n_root_steps++;
	return s;
}

static int r_mkdir_or_file(struct plan *p, char **f, enum root_step_kind kind)
{
	struct root_step *s = root_step(p, kind, f[0]);
	return s == NULL ? -EINVAL : mode(f[1], 07777, &s->mode);
}
static int r_mkdir(struct plan *p, char **f) { return r_mkdir_or_file(p, f, ROOT_MKDIR); }
static int r_file(struct plan *p, char **f) { return r_mkdir_or_file(p, f, ROOT_FILE); }

static int r_mount(struct plan *p, char **f)
{
	struct root_step *s = root_step(p, ROOT_MOUNT, f[1]);
	return s == NULL ? -EINVAL : mount_spec(f, &s->mount);
}

static int r_device(struct plan *p, char **f)
{
	unsigned long long major, minor;
	struct root_step *s = root_step(p, ROOT_DEVICE, f[1]);
	int ret = s == NULL ? -EINVAL : path(f[0], &s->host_device);
	if (ret < 0 || (ret = number(f[2], 10, 4095, &major)) < 0 || (ret = number(f[3], 10, 1048575, &minor)) < 0)
		return ret;
	s->major = (unsigned int)major;
	s->minor = (unsigned int)minor;
	return 0;
}

static int r_symlink(struct plan *p, char **f)
{
	struct root_step *s = root_step(p, ROOT_SYMLINK, f[1]);
	if (s != NULL)
		s->link_target = f[0];
	return s == NULL ? -EINVAL : 0;
}

/* A sysctl of the container's namespaces: a path under /proc/sys, relative, without "..", and its
 * value. Written inside the root after /proc is mounted (rootfs.c). */
static int r_sysctl_in(struct plan *p, char **f)
{
	const char *s = f[0];
	size_t len = strlen(s);
	if (len == 0 || s[0] == '/' || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./") != len ||
	    strcmp(s, "..") == 0 || strncmp(s, "../", 3) == 0 || strstr(s, "/../") != NULL ||
	    (len >= 3 && strcmp(s + len - 3, "/..") == 0) || s[len - 1] == '/')
		return fail(0, "the plan's record 'sysctl_in' holds '%s', which is not a path under /proc/sys", s);
	struct root_step *st = root_step(p, ROOT_SYSCTL, "/");
	if (st == NULL)
		return -EINVAL;
	st->path = s;
	st->value = f[1];
	return 0;
}

static int r_mask(struct plan *p, char **f) { return root_step(p, ROOT_MASK, f[0]) ? 0 : -EINVAL; }
static int r_readonly(struct plan *p, char **f) { return root_step(p, ROOT_READONLY, f[0]) ? 0 : -EINVAL; }
static int r_hostname(struct plan *p, char **f) { p->hostname = f[0]; return 0; }
static int r_loopback(struct plan *p, char **f) { (void)f; p->net.loopback = 1; return 0; }

static int r_bridge(struct plan *p, char **f)
{
	p->net.bridge = f[0];
	int ret = cidr(f[1], &p->net.bridge_address);
	if (ret >= 0 && f[2] != NULL && (ret = mac(f[2], p->net.bridge_mac)) >= 0)
		p->net.has_bridge_mac = 1;
	return ret;
}

/* 'veth' and 'ip' both name the container's interface; whichever comes second must agree. */
static int container_if(struct plan *p, const char *name)
{
	if (p->net.container_if != NULL && strcmp(p->net.container_if, name) != 0)
		return fail(0, "the plan's records 'veth' and 'ip' name different interfaces");
	p->net.container_if = name;
	return 0;
}

static int r_veth(struct plan *p, char **f)
{
	p->net.host_veth = f[0];
	p->net.veth_bridge = f[1];
	int ret = container_if(p, f[2]);
	if (ret >= 0 && f[3] != NULL && (ret = mac(f[3], p->net.container_mac)) >= 0)
		p->net.has_container_mac = 1;
	return ret;
}

static int r_ip(struct plan *p, char **f)
{
	int ret = container_if(p, f[0]);
	if (ret >= 0)
		ret = cidr(f[1], &p->net.address);
	return ret < 0 ? ret : address(f[2], &p->net.gateway);
}

static int r_sysctl(struct plan *p, char **f)
{
	int i = list_slot(&p->n_sysctls);
	if (i < 0)
		return i;
	p->sysctls[i].value = f[1];
	return path(f[0], &p->sysctls[i].path);
}

static int r_argv(struct plan *p, char **f) { p->proc.argv = f; return 0; }
static int r_env(struct plan *p, char **f) { p->proc.env = f; return 0; }
static int r_path(struct plan *p, char **f) { p->proc.search_path = f[0]; return 0; }
static int r_cwd(struct plan *p, char **f) { return path(f[0], &p->proc.cwd); }
static int r_umask(struct plan *p, char **f) { return mode(f[0], 0777, &p->proc.umask); }

static int r_user(struct plan *p, char **f)
{
	unsigned long long v;
	int ret;
	for (int i = 0; f[i] != NULL; i++) {
		if ((ret = number(f[i], 10, 0xfffffffeull, &v)) < 0)
			return ret;
		if (i == 0)
			p->proc.uid = (uid_t)v;
		else if (i == 1)
			p->proc.gid = (gid_t)v;
		else
			p->proc.groups[p->proc.ngroups++] = (gid_t)v;
	}
	return 0;
}

static int r_caps(struct plan *p, char **f)
{
	uint64_t *sets[] = { &p->proc.cap_bounding, &p->proc.cap_effective, &p->proc.cap_permitted,
			     &p->proc.cap_inheritable, &p->proc.cap_ambient };
	unsigned long long v;
	char names[1024];
	int ret;
	for (int i = 0; i < 5; i++) {
		if ((ret = number(f[i], 16, UINT64_MAX, &v)) < 0)
			return ret;
		if (cap_names(v, names, sizeof(names)) == NULL)
			return fail(0, "the plan's record 'caps' holds unknown capabilities %s", f[i]);
		*sets[i] = v;
	}
	return 0;
}

/* resource soft hard: the kernel's RLIMIT_* number; each limit a decimal number or "unlimited". */
static int rlimit_value(const char *s, unsigned long long *out)
{
	if (strcmp(s, "unlimited") == 0) {
		*out = RLIM_INFINITY;
		return 0;
	}
	int ret = number(s, 10, UINT64_MAX - 1, out);
	if (ret >= 0 && *out == RLIM_INFINITY)
		ret = fail(0, "the plan's record 'rlimit' holds %s, which the kernel reads as unlimited", s);
	return ret;
}

static int r_rlimit(struct plan *p, char **f)
{
	unsigned long long resource;
	int i = list_slot(&p->proc.n_rlimits), ret;
	if (i < 0 || (ret = number(f[0], 10, RLIM_NLIMITS - 1, &resource)) < 0)
		return i < 0 ? i : ret;
	for (int j = 0; j < i; j++)
		if (p->proc.rlimits[j].resource == (int)resource)
			return fail(0, "the plan's record 'rlimit' sets limit %llu twice", resource);
	struct rlimit_spec *r = &p->proc.rlimits[i];
	r->resource = (int)resource;
	if ((ret = rlimit_value(f[1], &r->soft)) < 0 || (ret = rlimit_value(f[2], &r->hard)) < 0)
		return ret;
	if (r->soft > r->hard)
		return fail(0, "the plan's record 'rlimit' holds a soft limit above the hard one for limit %llu", resource);
	return 0;
}

static int r_nonewprivs(struct plan *p, char **f) { (void)f; p->proc.no_new_privs = 1; return 0; }
static int r_keyring(struct plan *p, char **f) { (void)f; p->proc.session_keyring = 1; return 0; }
static int r_tty(struct plan *p, char **f) { return flag(f[0], &p->proc.tty); }
static int r_stdin(struct plan *p, char **f) { return flag(f[0], &p->proc.stdin_open); }

/* The seccomp program arrives as hex (plan_fields.c). */
static int r_seccomp(struct plan *p, char **f) { return bpf_program(f[0], &p->proc.seccomp, &p->proc.seccomp_len); }

/* Which records a plan of each mode may hold, and which it must. */
#define R (1 << MODE_RUN)
#define E (1 << MODE_EXEC)
#define D (1 << MODE_DELETE_LINK)
#define A (1 << MODE_ATTACH)
#define U (1 << MODE_USERNS)
const struct record_def records[] = {
	{ "ns", 1, 8, 1, R, R, r_ns },
	{ "rootfs", 1, 1, 1, R, R, r_rootfs },
	{ "overlay", 5, 4 + PLAN_MAX_LAYERS, 1, R, 0, r_overlay }, /* flags merged upper work lower... */
	{ "overlay_userxattr", 0, 0, 1, R, 0, r_overlay_userxattr },
	{ "host_mount", 5, 5, 0, R, 0, r_host_mount },  /* source target fstype flags data */
	{ "mkdir", 2, 2, 0, R, 0, r_mkdir },            /* path mode(octal) */
	{ "file", 2, 2, 0, R, 0, r_file },              /* path mode(octal) */
	{ "mount", 5, 5, 0, R, 0, r_mount },            /* source target fstype flags data */
	{ "device", 4, 4, 0, R, 0, r_device },          /* host path, container path, major, minor */
	{ "symlink", 2, 2, 0, R, 0, r_symlink },        /* target path */
	{ "mask", 1, 1, 0, R, 0, r_mask },
	{ "readonly", 1, 1, 0, R, 0, r_readonly },
	{ "sysctl_in", 2, 2, 0, R, 0, r_sysctl_in },    /* a path under /proc/sys, its value */
	{ "hostname", 1, 1, 1, R, 0, r_hostname },
	{ "loopback", 0, 0, 1, R, 0, r_loopback },
	{ "bridge", 2, 3, 1, R, 0, r_bridge },          /* name, address/prefix[, MAC when made] */
	{ "veth", 3, 4, 1, R, 0, r_veth },              /* host name, bridge, name in the container[, its MAC] */
	{ "ip", 3, 3, 1, R, 0, r_ip },                  /* interface, address/prefix, gateway */
	{ "sysctl", 2, 2, 0, R, 0, r_sysctl },          /* a /proc/sys file and its value */
	{ "argv", 1, 4096, 1, R | E | U, R | E, r_argv },
	{ "env", 0, 4096, 1, R | E | U, R | E, r_env },
	{ "path", 1, 1, 1, R | E, R | E, r_path },      /* where argv[0] is looked for */
	{ "cwd", 1, 1, 1, R | E, R | E, r_cwd },
	{ "user", 2, 2 + PLAN_MAX_GROUPS, 1, R | E, R | E, r_user }, /* uid gid [groups...] */
	{ "umask", 1, 1, 1, R | E, R | E, r_umask },    /* octal */
	{ "caps", 5, 5, 1, R | E, R | E, r_caps },      /* hex: bounding effective permitted inheritable ambient */
	{ "nonewprivs", 0, 0, 1, R | E, 0, r_nonewprivs },
	{ "seccomp", 1, 1, 1, R | E, 0, r_seccomp },    /* struct sock_filter[] in hex */
	{ "keyring", 0, 0, 1, R | E, 0, r_keyring },    /* a fresh session keyring */
	{ "tty", 1, 1, 1, R | E, R | E, r_tty },
	{ "stdin", 1, 1, 1, R | E, R | E, r_stdin },
	{ "rlimit", 3, 3, 0, R | E, 0, r_rlimit },      /* resource soft hard (decimal or unlimited) */
	{ "cgroup", 1, 1, 0, R | E, 0, r_cgroup },      /* a cgroup.procs file the supervisor writes into */
	{ "cgroup_tasks", 1, 1, 0, R | E, 0, r_cgroup_tasks }, /* a v1 tasks file the process writes 0 into */
	{ "clone_into", 1, 1, 1, R, 0, r_clone_into },  /* cgroup v2: born in this cgroup (clone3) */
	{ "oom", 3, 3, 0, R, 0, r_oom },                /* events file, message when killed, otherwise */
	{ "rmcgroup", 3, 3, 0, R, 0, r_rmcgroup },      /* dir, tries, interval in ms */
	{ "cleanup_exec", 1, 16, 0, R, 0, r_cleanup_exec },
	{ "cleanup_env", 0, 16, 1, R, 0, r_cleanup_env },
	{ "cleanup", 1, 1, 0, R | U, 0, r_cleanup },    /* a host path removed afterwards (U: inside) */
	{ "pidfile", 2, 2, 1, R, 0, r_pidfile },        /* path mode */
	{ "exitfile", 2, 2, 1, R, 0, r_exitfile },      /* path mode */
	{ "detach", 1, 1, 1, R, 0, r_detach },          /* what the caller prints once the command runs */
	{ "log", 4, 4, 1, R, 0, r_log },                /* path, cap in bytes, mode, raw|k8s-file */
	{ "hold", 1, 1, 1, R, 0, r_hold },              /* a FIFO the command opens before its execve */
	{ "restart", 5, 6, 1, R, 0, r_restart },        /* policy max first-ms cap-ms reset-ms [stopped-file] */
	{ "console", 1, 1, 1, R, 0, r_console },        /* the socket the supervisor offers the console on */
	{ "attached", 1, 1, 1, R, 0, r_attached },      /* detach keys (hex): the caller stays attached */
	{ "attach", 4, 4, 1, A, A, r_attach },          /* socket, detach keys (hex), stdin, sig-proxy */
	{ "trace", 1, 1, 1, R | E | A, 0, r_trace },    /* an fd for the step trace */
	{ "join", 2, 2, 1, E, E, r_join },              /* pid and start time of the container's init */
	{ "delete_link", 1, 1, 1, D, D, r_delete_link },
	{ "pid1", 0, 0, 1, R, 0, r_pid1 },                      /* the runc CLI's records: plan_oci.c */
	{ "handoff", 0, 0, 1, R | E, 0, r_handoff },
	{ "oci_pidfile", 1, 1, 1, R | E, 0, r_oci_pidfile },    /* path */
	{ "console_socket", 1, 1, 1, R | E, 0, r_console_socket }, /* path of a unix socket */
	{ "console_size", 2, 2, 1, R | E, 0, r_console_size },  /* rows cols */
	{ "ns_path", 2, 2, 0, R, 0, r_ns_path },                /* type path */
	{ "oom_score_adj", 1, 1, 1, R | E, 0, r_oom_score_adj },/* -1000..1000 */
	{ "domainname", 1, 1, 1, R, 0, r_domainname },
	{ "root_propagation", 1, 1, 1, R, 0, r_root_propagation }, /* mount flags */
	{ "mknod", 7, 7, 0, R, 0, r_mknod },                    /* path type major minor mode uid gid */
	{ "mount_copyup", 5, 5, 0, R, 0, r_mount_copyup },      /* as mount; the directory's contents copied in */
	{ "hook", 4, 4096, 0, R, 0, r_hook },                   /* kind timeout path argv0 args... */
	{ "hook_env", 0, 4096, 0, R, 0, r_hook_env },
	{ "hook_state", 3, 3, 1, R, 0, r_hook_state },          /* before-status middle after-pid */
	{ "report_format", 2, 2, 1, R | E | D, 0, r_report_format }, /* box|text|json, log path or "" */
	/* The user namespace, the time namespace, the user-mode network (plan_userns.c, userns.c). */
	{ "uid_map", 3, 3 * USERNS_MAX_RANGES, 1, R | U, U, r_uid_map }, /* inside outside count, ... */
	{ "gid_map", 3, 3 * USERNS_MAX_RANGES, 1, R | U, U, r_gid_map },
	{ "map_exec", 2, 2, 0, R | U, 0, r_map_exec },      /* uid|gid, newuidmap|newgidmap */
	{ "setgroups", 1, 1, 1, R | U, 0, r_setgroups },    /* deny|allow, before gid_map */
	{ "mounter", 1, 1, 1, R, 0, r_mounter },            /* host|container: who makes the host mounts */
	{ "idmap", 1, 1, 0, R, 0, r_idmap },                /* a layer covered by an idmapped clone */
	{ "fuse_mount", 4, 64, 1, R, 0, r_fuse_mount },     /* target fstype options daemon [args] */
	{ "cleanup_inside", 0, 0, 1, R, 0, r_cleanup_inside }, /* clean-up as root of the user namespace */
	{ "clock_from_start", 0, 0, 1, R, 0, r_clock_from_start }, /* the time namespace's clocks start at 0 */
	{ "net_tool", 2, 64, 1, R, 0, r_net_tool },         /* ready timeout (ms), program, arguments */
	{ "net_api", 2, 2, 0, R, 0, r_net_api },            /* socket, request */
	{ "nosetgroups", 0, 0, 1, R | E, 0, r_nosetgroups }, /* the user namespace denies setgroups */
	{ "join_ns", 1, 2, 1, E, 0, r_join_ns },            /* user, time: joined too */
	{ "userns_tool", 0, 0, 1, U, U, r_userns_tool },    /* a tool in a new user namespace */
	{ "reexec", 0, 0, 1, R, 0, r_reexec },              /* the helper executed again, once mapped */
};
const size_t n_records = sizeof(records) / sizeof(records[0]);

const struct record_def *find_record(const char *k)
{
	for (size_t i = 0; i < n_records; i++)
		if (strcmp(records[i].key, k) == 0)
			return &records[i];
	return NULL;
}
