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

static int r_host_mount(struct plan *p, char **f)
{
	int i = list_slot(&p->n_host_mounts);
	return i < 0 ? i : mount_spec(f, &p->host_mounts[i]);
}

/* Root steps keep their plan order; the array grows as they come. */
static struct root_step *root_step(struct plan *p, enum root_step_kind kind, const char *where)
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

static int r_mask(struct plan *p, char **f) { return root_step(p, ROOT_MASK, f[0]) ? 0 : -EINVAL; }
static int r_readonly(struct plan *p, char **f) { return root_step(p, ROOT_READONLY, f[0]) ? 0 : -EINVAL; }
static int r_hostname(struct plan *p, char **f) { p->hostname = f[0]; return 0; }
static int r_loopback(struct plan *p, char **f) { (void)f; p->net.loopback = 1; return 0; }

static int r_bridge(struct plan *p, char **f)
{
	p->net.bridge = f[0];
	return cidr(f[1], &p->net.bridge_address);
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
	return container_if(p, f[2]);
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

static int r_nonewprivs(struct plan *p, char **f) { (void)f; p->proc.no_new_privs = 1; return 0; }
static int r_keyring(struct plan *p, char **f) { (void)f; p->proc.session_keyring = 1; return 0; }
static int r_tty(struct plan *p, char **f) { return flag(f[0], &p->proc.tty); }
static int r_stdin(struct plan *p, char **f) { return flag(f[0], &p->proc.stdin_open); }

/* The seccomp program arrives as hex: 16 digits per struct sock_filter, at most BPF_MAXINSNS. */
static int r_seccomp(struct plan *p, char **f)
{
	static const char digits[] = "0123456789abcdef";
	const char *hex = f[0];
	size_t len = strlen(hex);
	if (len == 0 || len % 16 != 0 || len / 16 > BPF_MAXINSNS)
		return fail(0, "the plan's seccomp program has a bad length");
	unsigned char *out = malloc(len / 2);
	if (out == NULL)
		return fail(ENOMEM, "cannot hold the seccomp program");
	for (size_t i = 0; i < len / 2; i++) {
		const char *hi = memchr(digits, hex[2 * i], 16), *lo = memchr(digits, hex[2 * i + 1], 16);
		if (hi == NULL || lo == NULL || hex[2 * i] == '\0' || hex[2 * i + 1] == '\0')
			return fail(0, "the plan's seccomp program is not hex");
		out[i] = (unsigned char)((hi - digits) << 4 | (lo - digits));
	}
	p->proc.seccomp = (struct sock_filter *)(void *)out; /* malloc'd: aligned for any type */
	p->proc.seccomp_len = (unsigned short)(len / 16);
	return 0;
}

static int r_cgroup(struct plan *p, char **f)
{
	int i = list_slot(&p->n_cgroup_procs);
	return i < 0 ? i : path(f[0], &p->cgroup_procs[i]);
}

static int r_clone_into(struct plan *p, char **f) { return path(f[0], &p->clone_into); }

static int r_oom(struct plan *p, char **f)
{
	int i = list_slot(&p->n_ooms);
	if (i < 0)
		return i;
	p->ooms[i] = (struct oom_check){ .when_killed = f[1], .otherwise = f[2] };
	return path(f[0], &p->ooms[i].events_file);
}

static int r_rmcgroup(struct plan *p, char **f)
{
	unsigned long long tries, interval;
	int i = list_slot(&p->n_rm_cgroups), ret;
	if (i < 0 || (ret = path(f[0], &p->rm_cgroups[i].dir)) < 0)
		return i < 0 ? i : ret;
	if ((ret = number(f[1], 10, 100000, &tries)) < 0 || (ret = number(f[2], 10, 10000, &interval)) < 0)
		return ret;
	if (tries == 0)
		return fail(0, "the plan's record 'rmcgroup' asks for 0 tries");
	p->rm_cgroups[i].tries = (unsigned int)tries;
	p->rm_cgroups[i].interval_ms = (unsigned int)interval;
	return 0;
}

static int r_cleanup_exec(struct plan *p, char **f)
{
	int i = list_slot(&p->n_cleanup_exec);
	const char *program;
	if (i < 0)
		return i;
	p->cleanup_exec[i] = f;
	return path(f[0], &program);
}

static int r_cleanup_env(struct plan *p, char **f) { p->cleanup_env = f; return 0; }

static int r_cleanup(struct plan *p, char **f)
{
	int i = list_slot(&p->n_cleanup_paths);
	return i < 0 ? i : path(f[0], &p->cleanup_paths[i]);
}

static int state_file(char **f, struct state_file *out)
{
	int ret = path(f[0], &out->path);
	return ret < 0 ? ret : mode(f[1], 0777, &out->mode);
}
static int r_pidfile(struct plan *p, char **f) { return state_file(f, &p->pidfile); }
static int r_exitfile(struct plan *p, char **f) { return state_file(f, &p->exitfile); }
static int r_detach(struct plan *p, char **f) { p->detach_id = f[0]; return 0; }

static int r_log(struct plan *p, char **f)
{
	unsigned long long cap;
	int ret;
	if ((ret = path(f[0], &p->log.path)) < 0 || (ret = number(f[1], 10, LONG_MAX, &cap)) < 0 ||
	    (ret = mode(f[2], 0777, &p->log.mode)) < 0)
		return ret;
	p->log.cap = (long)cap;
	if (strcmp(f[3], "raw") == 0)
		p->log.format = LOG_RAW;
	else if (strcmp(f[3], "k8s-file") == 0)
		p->log.format = LOG_K8S_FILE;
	else
		return fail(0, "the plan's record 'log' names an unknown format '%s'", f[3]);
	return 0;
}

static int r_hold(struct plan *p, char **f) { return path(f[0], &p->hold_fifo); }

static int r_trace(struct plan *p, char **f)
{
	unsigned long long fd;
	int ret = number(f[0], 10, INT_MAX, &fd);
	p->trace_fd = (int)fd;
	return ret;
}

static int r_join(struct plan *p, char **f)
{
	unsigned long long pid;
	int ret = number(f[0], 10, 4194304, &pid);
	if (ret >= 0 && pid < 2)
		ret = fail(0, "the plan's record 'join' names pid %llu", pid);
	p->join_pid = (pid_t)pid;
	return ret < 0 ? ret : number(f[1], 10, UINT64_MAX, &p->join_start);
}

static int r_delete_link(struct plan *p, char **f) { p->delete_link = f[0]; return 0; }

/* Which records a plan of each mode may hold, and which it must. */
#define R (1 << MODE_RUN)
#define E (1 << MODE_EXEC)
#define D (1 << MODE_DELETE_LINK)
#define U (1 << MODE_USERNS)
const struct record_def records[] = {
	{ "ns", 1, 8, 1, R, R, r_ns },
	{ "rootfs", 1, 1, 1, R, R, r_rootfs },
	{ "host_mount", 5, 5, 0, R, 0, r_host_mount },  /* source target fstype flags data */
	{ "mkdir", 2, 2, 0, R, 0, r_mkdir },            /* path mode(octal) */
	{ "file", 2, 2, 0, R, 0, r_file },              /* path mode(octal) */
	{ "mount", 5, 5, 0, R, 0, r_mount },            /* source target fstype flags data */
	{ "device", 4, 4, 0, R, 0, r_device },          /* host path, container path, major, minor */
	{ "symlink", 2, 2, 0, R, 0, r_symlink },        /* target path */
	{ "mask", 1, 1, 0, R, 0, r_mask },
	{ "readonly", 1, 1, 0, R, 0, r_readonly },
	{ "hostname", 1, 1, 1, R, 0, r_hostname },
	{ "loopback", 0, 0, 1, R, 0, r_loopback },
	{ "bridge", 2, 2, 1, R, 0, r_bridge },          /* name, address/prefix */
	{ "veth", 3, 3, 1, R, 0, r_veth },              /* host name, bridge, name in the container */
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
	{ "cgroup", 1, 1, 0, R | E, 0, r_cgroup },      /* a cgroup.procs file */
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
	{ "trace", 1, 1, 1, R | E, 0, r_trace },        /* an fd for the step trace */
	{ "join", 2, 2, 1, E, E, r_join },              /* pid and start time of the container's init */
	{ "delete_link", 1, 1, 1, D, D, r_delete_link },
	/* The user namespace, the time namespace, the user-mode network (plan_userns.c, userns.c). */
	{ "uid_map", 3, 3 * USERNS_MAX_RANGES, 1, R | U, U, parse_uid_map }, /* inside outside count, ... */
	{ "gid_map", 3, 3 * USERNS_MAX_RANGES, 1, R | U, U, parse_gid_map },
	{ "map_exec", 2, 2, 0, R | U, 0, parse_map_exec },      /* uid|gid, newuidmap|newgidmap */
	{ "setgroups", 1, 1, 1, R | U, 0, parse_setgroups },    /* deny|allow, before gid_map */
	{ "mounter", 1, 1, 1, R, 0, parse_mounter },            /* host|container: who makes the host mounts */
	{ "idmap", 1, 1, 0, R, 0, parse_idmap },                /* a layer covered by an idmapped clone */
	{ "fuse_mount", 4, 64, 1, R, 0, parse_fuse_mount },     /* target fstype options daemon [args] */
	{ "cleanup_inside", 0, 0, 1, R, 0, parse_cleanup_inside }, /* clean-up as root of the user namespace */
	{ "clock_from_start", 0, 0, 1, R, 0, parse_clock_from_start }, /* the time namespace's clocks start at 0 */
	{ "net_tool", 2, 64, 1, R, 0, parse_net_tool },         /* ready timeout (ms), program, arguments */
	{ "net_api", 2, 2, 0, R, 0, parse_net_api },            /* socket, request */
	{ "nosetgroups", 0, 0, 1, R | E, 0, parse_nosetgroups }, /* the user namespace denies setgroups */
	{ "join_ns", 1, 2, 1, E, 0, parse_join_ns },            /* user, time: joined too */
	{ "userns_tool", 0, 0, 1, U, U, parse_userns_tool },    /* a tool in a new user namespace */
	{ "reexec", 0, 0, 1, R, 0, parse_reexec },              /* the helper executed again, once mapped */
};
const size_t n_records = sizeof(records) / sizeof(records[0]);
#define NRECORDS n_records

const struct record_def *find_record(const char *k)
{
	for (size_t i = 0; i < NRECORDS; i++)
		if (strcmp(records[i].key, k) == 0)
			return &records[i];
	return NULL;
}
