/*
 * The plan: one versioned, length-prefixed record list read from an inherited fd.
 *
 *   u32 little-endian length of the body, then the body:
 *   "BOXPLAN" NUL "1" NUL { key NUL count NUL field_1 NUL ... field_count NUL }*
 *
 * Every string is NUL-terminated inside one buffer, so nothing is copied. An unknown key, a wrong
 * version, a field count out of range, a number that does not parse, or a missing required record is
 * a hard error: the helper never guesses.
 */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

struct keydef {
	const char *key;
	int min, max;   /* field counts */
	int once;       /* may appear at most once */
};

static const struct keydef keys[] = {
	{ "ns", 1, 8, 1 },          /* namespace names: mount uts ipc net pid cgroup */
	{ "rootfs", 1, 1, 1 },      /* host directory that becomes / */
	{ "hmount", 5, 5, 0 },      /* mount on a host path before the root is opened: src target fstype flags data */
	{ "mkdir", 2, 2, 0 },       /* inside the root: path mode(octal) */
	{ "mount", 5, 5, 0 },       /* inside the root: src target fstype flags data */
	{ "device", 4, 4, 0 },      /* host character device bound in: host path, container path, major, minor */
	{ "symlink", 2, 2, 0 },     /* inside the root: target path */
	{ "file", 2, 2, 0 },        /* inside the root: path mode(octal); an empty file unless present */
	{ "mask", 1, 1, 0 },        /* inside the root: hide a path (tmpfs over a directory, /dev/null over a file) */
	{ "readonly", 1, 1, 0 },    /* inside the root: bind a path read-only onto itself */
	{ "hostname", 1, 1, 1 },
	{ "loopback", 0, 0, 1 },
	{ "argv", 1, 4096, 1 },
	{ "env", 0, 4096, 1 },
	{ "cwd", 1, 1, 1 },
	{ "user", 2, 66, 1 },       /* uid gid [supplementary gids...] */
	{ "caps", 5, 5, 1 },        /* hex masks: bounding effective permitted inheritable ambient */
	{ "nonewprivs", 0, 0, 1 },
	{ "seccomp", 1, 1, 1 },     /* struct sock_filter[] in hex, installed last before exec */
	{ "keyring", 0, 0, 1 },     /* join a fresh session keyring */
	{ "tty", 1, 1, 1 },
	{ "stdin", 1, 1, 1 },
	{ "cgroup", 1, 1, 0 },      /* a cgroup.procs file the supervisor writes the container's pid into */
	{ "rmcgroup", 1, 1, 0 },
	{ "clone_into", 1, 1, 1 },
	{ "bridge", 2, 2, 1 },      /* name, gateway/prefix: the bridge, made when missing */
	{ "veth", 2, 2, 1 },        /* host-side name, bridge name: the container's eth0 is its peer */
	{ "ip", 2, 2, 1 },          /* address/prefix, gateway of the container's eth0 */
	{ "sysctl", 2, 2, 0 },      /* a /proc/sys file and its value, written once the bridge exists */
	{ "cleanup_exec", 1, 16, 0 },
	{ "delete_link", 1, 1, 1 },  /* a plan of its own: only remove this link (box network prune) */ /* a program (absolute path) and its arguments, run after the container ended */  /* cgroup v2: start the container directly in this cgroup (clone3) */
	{ "detach", 1, 1, 1 },      /* run in the background: print this (the id) once the command runs */
	{ "log", 2, 2, 1 },         /* detached output goes to this file, rotated past this many bytes */
	{ "pidfile", 1, 1, 1 },     /* "supervisor-pid supervisor-start init-pid" once the container exists */
	{ "exitfile", 1, 1, 1 },    /* "status oom-killed finished-ms" once it ended */
	{ "join", 1, 1, 1 },        /* exec: join the namespaces and root of this running container's init */    /* a cgroup directory removed after the container ended */
	{ "oom", 3, 3, 0 },         /* memory.events or memory.oom_control; what to say of OOM kills when the command was killed, when not */
	{ "cleanup", 1, 1, 0 },     /* a host path removed (recursively, never across mounts) afterwards */
};

static const struct keydef *find_key(const char *k)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].key, k) == 0)
			return &keys[i];
	return NULL;
}

static int parse_ulong(const char *s, int base, unsigned long max, unsigned long *out)
{
	char *end;
	if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	unsigned long v = strtoul(s, &end, base);
	if (errno != 0 || *end != '\0' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int plan_number(const char *s, int base, unsigned long max, unsigned long *out)
{
	int ret = parse_ulong(s, base, max, out);
	if (ret < 0)
		return fail(0, "the plan holds a malformed number '%s'", s);
	return 0;
}

static int ns_flag(const char *name, unsigned long *flags, int *cgroup_ns)
{
	static const struct { const char *name; unsigned long flag; } ns[] = {
		{ "mount", CLONE_NEWNS }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
		{ "net", CLONE_NEWNET }, { "pid", CLONE_NEWPID },
	};
	if (strcmp(name, "cgroup") == 0) {
		*cgroup_ns = 1;
		return 0;
	}
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		if (strcmp(ns[i].name, name) == 0) {
			*flags |= ns[i].flag;
			return 0;
		}
	}
	return fail(0, "the plan names an unknown namespace '%s'", name);
}

/* The seccomp program arrives as hex: 16 digits per struct sock_filter, at most BPF_MAXINSNS. */
static int decode_filter(const char *hex, struct plan *p)
{
	size_t n = strlen(hex);
	if (n == 0 || n % 16 != 0 || n / 16 > BPF_MAXINSNS)
		return fail(0, "the plan's seccomp program has a bad length");
	unsigned char *out = malloc(n / 2);
	if (out == NULL)
		return fail(ENOMEM, "cannot hold the seccomp program");
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int byte;
		char pair[3] = { hex[2 * i], hex[2 * i + 1], 0 };
		if (!isxdigit((unsigned char)pair[0]) || !isxdigit((unsigned char)pair[1]) || sscanf(pair, "%2x", &byte) != 1)
			return fail(0, "the plan's seccomp program is not hex");
		out[i] = (unsigned char)byte;
	}
	p->seccomp = (struct sock_filter *)(void *)out; /* malloc'd: aligned for any type */
	p->seccomp_len = (unsigned short)(n / 16);
	return 0;
}

static int interpret(struct plan *p, const struct record *r)
{
	unsigned long v;
	int ret;
	const char *k = r->key;

	if (strcmp(k, "ns") == 0) {
		for (int i = 0; i < r->nfields; i++)
			if ((ret = ns_flag(r->fields[i], &p->clone_flags, &p->cgroup_ns)) < 0)
				return ret;
	} else if (strcmp(k, "rootfs") == 0) {
		if (r->fields[0][0] != '/')
			return fail(0, "the plan's rootfs '%s' is not an absolute path", r->fields[0]);
		p->rootfs = r->fields[0];
	} else if (strcmp(k, "hostname") == 0) {
		p->hostname = r->fields[0];
	} else if (strcmp(k, "loopback") == 0) {
		p->loopback = 1;
	} else if (strcmp(k, "argv") == 0) {
		p->argv = r->fields;
	} else if (strcmp(k, "env") == 0) {
		p->env = r->fields;
	} else if (strcmp(k, "cwd") == 0) {
		if (r->fields[0][0] != '/')
			return fail(0, "the plan's working directory '%s' is not absolute", r->fields[0]);
		p->cwd = r->fields[0];
	} else if (strcmp(k, "user") == 0) {
		if ((ret = plan_number(r->fields[0], 10, 0xfffffffeul, &v)) < 0)
			return ret;
		p->uid = (uid_t)v;
		if ((ret = plan_number(r->fields[1], 10, 0xfffffffeul, &v)) < 0)
			return ret;
		p->gid = (gid_t)v;
		p->have_user = 1;
		for (int i = 2; i < r->nfields; i++) {
			if ((ret = plan_number(r->fields[i], 10, 0xfffffffeul, &v)) < 0)
				return ret;
			p->groups[p->ngroups++] = (gid_t)v;
		}
	} else if (strcmp(k, "caps") == 0) {
		for (int i = 0; i < 5; i++) {
			if ((ret = plan_number(r->fields[i], 16, ~0ul, &v)) < 0)
				return ret;
			p->caps[i] = (uint64_t)v;
		}
		p->have_caps = 1;
	} else if (strcmp(k, "nonewprivs") == 0) {
		p->no_new_privs = 1;
	} else if (strcmp(k, "keyring") == 0) {
		p->session_keyring = 1;
	} else if (strcmp(k, "seccomp") == 0) {
		if ((ret = decode_filter(r->fields[0], p)) < 0)
			return ret;
	} else if (strcmp(k, "delete_link") == 0) {
		p->delete_link = r->fields[0];
	} else if (strcmp(k, "bridge") == 0) {
		p->bridge = r->fields;
	} else if (strcmp(k, "veth") == 0) {
		p->veth = r->fields;
	} else if (strcmp(k, "ip") == 0) {
		p->ip = r->fields;
	} else if (strcmp(k, "clone_into") == 0) {
		p->clone_into = r->fields[0];
	} else if (strcmp(k, "detach") == 0) {
		p->detach = r->fields[0];
	} else if (strcmp(k, "log") == 0) {
		p->log_path = r->fields[0];
		if ((ret = plan_number(r->fields[1], 10, ~0ul, &v)) < 0)
			return ret;
		p->log_cap = (long)v;
	} else if (strcmp(k, "pidfile") == 0) {
		p->pidfile = r->fields[0];
	} else if (strcmp(k, "exitfile") == 0) {
		p->exitfile = r->fields[0];
	} else if (strcmp(k, "join") == 0) {
		if ((ret = plan_number(r->fields[0], 10, 4194304, &v)) < 0)
			return ret;
		p->join_pid = (pid_t)v;
	} else if (strcmp(k, "tty") == 0 || strcmp(k, "stdin") == 0) {
		if ((ret = plan_number(r->fields[0], 10, 1, &v)) < 0)
			return ret;
		if (k[0] == 't')
			p->tty = (int)v;
		else
			p->stdin_open = (int)v;
	}
	/* Step records (hmount, mkdir, mount, ...) stay in p->records and are run in order later. */
	return 0;
}

int plan_read(int fd, struct plan *p)
{
	uint8_t lenbuf[4];
	int ret;

	memset(p, 0, sizeof(*p));
	/* The plan is written into a memfd whose offset is at its end; a pipe cannot seek and need not. */
	lseek(fd, 0, SEEK_SET);
	/* 1. The length prefix, bounded so a corrupt plan cannot make us allocate without limit. */
	if ((ret = read_all(fd, lenbuf, 4)) < 0)
		return ret == -EPIPE ? fail(0, "there is no plan on fd %d", fd) : fail(-ret, "cannot read the plan's length");
	uint32_t len = (uint32_t)lenbuf[0] | (uint32_t)lenbuf[1] << 8 | (uint32_t)lenbuf[2] << 16 |
		       (uint32_t)lenbuf[3] << 24;
	if (len < sizeof(PLAN_MAGIC) + 2 || len > PLAN_MAX_BYTES)
		return fail(0, "the plan's length %u is out of range", len);

	/* 2. The body; it must end with a NUL so every string inside is terminated. */
	p->buf = malloc(len);
	p->records = calloc(PLAN_MAX_RECORDS, sizeof(struct record));
	if (p->buf == NULL || p->records == NULL)
		return fail(ENOMEM, "cannot hold the plan");
	if ((ret = read_all(fd, p->buf, len)) < 0)
		return ret == -EPIPE ? fail(0, "the plan ends before its %u bytes", len)
				     : fail(-ret, "cannot read the plan (%u bytes)", len);
	if (p->buf[len - 1] != '\0')
		return fail(0, "the plan does not end with a NUL");

	/* 3. Magic and version. */
	char *pos = p->buf, *end = p->buf + len;
	if (strcmp(pos, PLAN_MAGIC) != 0)
		return fail(0, "the plan does not start with " PLAN_MAGIC);
	pos += strlen(pos) + 1;
	if (strcmp(pos, PLAN_VERSION) != 0)
		return fail(0, "the plan has version '%s', this helper reads version " PLAN_VERSION, pos);
	pos += strlen(pos) + 1;

	/* 4. Records: key, count, fields. Field pointers are stored in a second array. */
	char **fieldv = calloc(len, sizeof(char *));
	if (fieldv == NULL)
		return fail(ENOMEM, "cannot hold the plan");
	size_t nfield = 0;
	int seen[sizeof(keys) / sizeof(keys[0])] = { 0 };
	while (pos < end) {
		if (p->nrecords >= PLAN_MAX_RECORDS)
			return fail(E2BIG, "the plan has more than %d records", PLAN_MAX_RECORDS);
		struct record *r = &p->records[p->nrecords++];
		r->key = pos;
		pos += strlen(pos) + 1;
		const struct keydef *def = find_key(r->key);
		if (def == NULL)
			return fail(0, "the plan has an unknown record '%s'", r->key);
		if (def->once && seen[def - keys]++)
			return fail(0, "the plan repeats the record '%s'", r->key);
		if (pos >= end)
			return fail(0, "the plan's record '%s' has no field count", r->key);
		unsigned long n;
		if (parse_ulong(pos, 10, (unsigned long)def->max, &n) < 0 || n < (unsigned long)def->min)
			return fail(0, "the plan's record '%s' has a bad field count '%s'", r->key, pos);
		pos += strlen(pos) + 1;
		r->nfields = (int)n;
		r->fields = &fieldv[nfield];
		for (unsigned long i = 0; i < n; i++) {
			if (pos >= end)
				return fail(0, "the plan's record '%s' is cut short", r->key);
			fieldv[nfield++] = pos;
			pos += strlen(pos) + 1;
		}
		fieldv[nfield++] = NULL; /* argv and env are used as NULL-terminated vectors */
		if ((ret = interpret(p, r)) < 0)
			return ret;
	}

	/* 5. What every plan must say. */
	if (p->delete_link)
		return 0;
	if ((p->rootfs == NULL && p->join_pid == 0) || p->argv == NULL || p->env == NULL || p->cwd == NULL || !p->have_user)
		return fail(0, "the plan lacks rootfs, argv, env, cwd or user");
	return 0;
}
