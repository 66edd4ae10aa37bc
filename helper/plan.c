/*
 * The plan: one versioned, length-prefixed record list read from an inherited fd, once, into the
 * typed `struct plan` before anything is cloned. This is the only file that knows record names.
 *
 *   u32 little-endian length of the body, then the body:
 *   "BOXPLAN" NUL "2" NUL { key NUL count NUL field_1 NUL ... field_count NUL }*
 *
 * Every string is NUL-terminated inside one buffer, so nothing is copied. An unknown key, a wrong
 * version, a field count out of range, a number, mode, flag set, capability or address that does not
 * parse, a record that does not belong to the plan's mode, or a missing required record is a hard
 * error: the helper never guesses. The records, their fields and what they mean are listed in
 * plan_records.c (the table, and the records of the container and its command) and below (the
 * records of the host side: cgroups, state files, clean-up, the supervisor's own), and in
 * src/spec/plan.ts, which writes them. Their fields are parsed by plan_fields.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "plan.h"

const char *g_key; /* the record being read, for messages */

/* The plan as a whole: its mode, the records that mode needs and allows, and what goes together. */
int check_plan(struct plan *p, const int *seen)
{
	static const char *mode_names[] = { "a run", "an exec", "a delete_link", "an attach", "a userns_tool" };
	p->mode = p->delete_link ? MODE_DELETE_LINK : p->join_pid ? MODE_EXEC : p->attach.socket ? MODE_ATTACH
		: p->userns.tool ? MODE_USERNS : MODE_RUN;
	for (size_t i = 0; i < n_records; i++) {
		if (seen[i] && !(records[i].modes & (1 << p->mode)))
			return fail(0, "the plan's record '%s' does not belong in %s plan", records[i].key, mode_names[p->mode]);
		if (!seen[i] && (records[i].required & (1 << p->mode)))
			return fail(0, "the plan lacks the record '%s'", records[i].key);
	}
	int veth = seen[find_record("veth") - records], ip = seen[find_record("ip") - records];
	if (veth != ip || (veth && !p->net.bridge))
		return fail(0, "the plan's records 'veth', 'ip' and 'bridge' go together");
	if ((p->detach_id != NULL) != (p->log.path != NULL))
		return fail(0, "the plan's records 'detach' and 'log' go together");
	if (p->attach.caller && (p->detach_id == NULL || p->console == NULL))
		return fail(0, "the plan's record 'attached' needs 'detach' and 'console'");
	if (p->restart.policy != RESTART_NO && p->detach_id == NULL)
		return fail(0, "the plan's record 'restart' needs 'detach': only a supervisor of its own can start a container again");
	int ret = check_userns(p);
	return ret < 0 ? ret : check_oci(p);
}

/* ---- The reader ---------------------------------------------------------------------------- */

int plan_read(int fd, struct plan *p)
{
	uint8_t lenbuf[4];
	int ret, seen[PLAN_RECORD_KINDS] = { 0 };

	memset(p, 0, sizeof(*p));
	p->trace_fd = -1;
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
	char **fieldv = calloc(len, sizeof(char *)); /* each field takes at least its NUL: len is enough */
	if (p->buf == NULL || fieldv == NULL)
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
	if (pos >= end || strcmp(pos, PLAN_VERSION) != 0)
		return fail(0, "the plan has version '%s', this helper reads version " PLAN_VERSION, pos < end ? pos : "");
	pos += strlen(pos) + 1;

	/* 4. Records: key, count, fields; each parsed into the typed plan as it comes. */
	size_t nfield = 0;
	for (int nrecords = 0; pos < end; nrecords++) {
		if (nrecords >= PLAN_MAX_RECORDS)
			return fail(E2BIG, "the plan has more than %d records", PLAN_MAX_RECORDS);
		g_key = pos;
		pos += strlen(pos) + 1;
		const struct record_def *def = find_record(g_key);
		if (def == NULL)
			return fail(0, "the plan has an unknown record '%s'", g_key);
		if (def->once && seen[def - records])
			return fail(0, "the plan repeats the record '%s'", g_key);
		seen[def - records] = 1;
		if (pos >= end)
			return fail(0, "the plan's record '%s' has no field count", g_key);
		unsigned long long n;
		char *count = pos;
		pos += strlen(pos) + 1;
		if (number(count, 10, (unsigned long long)def->max, &n) < 0 || n < (unsigned long long)def->min)
			return fail(0, "the plan's record '%s' has a bad field count '%s'", g_key, count);
		char **fields = &fieldv[nfield];
		for (unsigned long long i = 0; i < n; i++) {
			if (pos >= end)
				return fail(0, "the plan's record '%s' is cut short", g_key);
			fieldv[nfield++] = pos;
			pos += strlen(pos) + 1;
		}
		fieldv[nfield++] = NULL; /* argv and env are used as NULL-terminated vectors */
		if ((ret = def->parse(p, fields)) < 0)
			return ret;
	}

	/* 5. The plan as a whole. */
	return check_plan(p, seen);
}

/* ---- The host side's records (the table is in plan_records.c) ---------------------------- */

int r_cgroup(struct plan *p, char **f)
{
	int i = list_slot(&p->n_cgroup_procs);
	return i < 0 ? i : path(f[0], &p->cgroup_procs[i]);
}

int r_cgroup_tasks(struct plan *p, char **f)
{
	int i = list_slot(&p->n_cgroup_tasks);
	return i < 0 ? i : path(f[0], &p->cgroup_tasks[i]);
}

int r_clone_into(struct plan *p, char **f) { return path(f[0], &p->clone_into); }

int r_oom(struct plan *p, char **f)
{
	int i = list_slot(&p->n_ooms);
	if (i < 0)
		return i;
	p->ooms[i] = (struct oom_check){ .when_killed = f[1], .otherwise = f[2] };
	return path(f[0], &p->ooms[i].events_file);
}

int r_rmcgroup(struct plan *p, char **f)
{
	unsigned long long tries, interval;
	int i = list_slot_max(&p->n_rm_cgroups, PLAN_MAX_RMCGROUPS), ret;
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

int r_cleanup_exec(struct plan *p, char **f)
{
	int i = list_slot(&p->n_cleanup_exec);
	const char *program;
	if (i < 0)
		return i;
	p->cleanup_exec[i] = f;
	return path(f[0], &program);
}

int r_cleanup_env(struct plan *p, char **f) { p->cleanup_env = f; return 0; }

int r_cleanup(struct plan *p, char **f)
{
	int i = list_slot(&p->n_cleanup_paths);
	return i < 0 ? i : path(f[0], &p->cleanup_paths[i]);
}

static int state_file(char **f, struct state_file *out)
{
	int ret = path(f[0], &out->path);
	return ret < 0 ? ret : mode(f[1], 0777, &out->mode);
}
int r_pidfile(struct plan *p, char **f) { return state_file(f, &p->pidfile); }
int r_exitfile(struct plan *p, char **f) { return state_file(f, &p->exitfile); }
int r_detach(struct plan *p, char **f) { p->detach_id = f[0]; return 0; }

int r_log(struct plan *p, char **f)
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

int r_hold(struct plan *p, char **f) { return path(f[0], &p->hold_fifo); }

int r_trace(struct plan *p, char **f)
{
	unsigned long long fd;
	int ret = number(f[0], 10, INT_MAX, &fd);
	p->trace_fd = (int)fd;
	return ret;
}

int r_join(struct plan *p, char **f)
{
	unsigned long long pid;
	int ret = number(f[0], 10, 4194304, &pid);
	if (ret >= 0 && pid < 2)
		ret = fail(0, "the plan's record 'join' names pid %llu", pid);
	p->join_pid = (pid_t)pid;
	return ret < 0 ? ret : number(f[1], 10, UINT64_MAX, &p->join_start);
}

int r_delete_link(struct plan *p, char **f) { p->delete_link = f[0]; return 0; }

/* policy max first-ms cap-ms reset-ms [stopped-file]: docker's policies and back-off (restart.c). */
int r_restart(struct plan *p, char **f)
{
	static const char *policies[] = { "no", "on-failure", "always", "unless-stopped" };
	unsigned long long max, first, cap, reset;
	struct restart *r = &p->restart;
	size_t i = 0;
	while (i < sizeof(policies) / sizeof(policies[0]) && strcmp(policies[i], f[0]) != 0)
		i++;
	if (i == sizeof(policies) / sizeof(policies[0]))
		return fail(0, "the plan's record 'restart' names an unknown policy '%s'", f[0]);
	int ret;
	if ((ret = number(f[1], 10, 1000000, &max)) < 0 || (ret = number(f[2], 10, 3600000, &first)) < 0 ||
	    (ret = number(f[3], 10, 86400000, &cap)) < 0 || (ret = number(f[4], 10, 86400000, &reset)) < 0)
		return ret;
	if (first == 0 || cap < first)
		return fail(0, "the plan's record 'restart' holds a back-off of %llu ms capped at %llu ms", first, cap);
	*r = (struct restart){ .policy = (enum restart_policy)i, .max = (unsigned int)max, .first_ms = (unsigned int)first,
			       .cap_ms = (unsigned int)cap, .reset_ms = (unsigned int)reset };
	return f[5] ? path(f[5], &r->stopped_file) : 0;
}

int r_console(struct plan *p, char **f) { return path(f[0], &p->console); }

/* The detach keys, as hex: at most PLAN_MAX_KEYS bytes, none for "". */
static int detach_keys(const char *hex, struct plan *p)
{
	static const char digits[] = "0123456789abcdef";
	size_t len = strlen(hex);
	if (len % 2 || len / 2 > PLAN_MAX_KEYS)
		return fail(0, "the plan's record '%s' holds detach keys of a bad length", g_key);
	for (size_t i = 0; i < len / 2; i++) {
		const char *hi = strchr(digits, hex[2 * i]), *lo = strchr(digits, hex[2 * i + 1]);
		if (hi == NULL || lo == NULL)
			return fail(0, "the plan's record '%s' holds detach keys that are not hex", g_key);
		p->attach.keys[i] = (unsigned char)((hi - digits) << 4 | (lo - digits));
	}
	p->attach.n_keys = (int)(len / 2);
	return 0;
}

/* keys: the caller of a detached run stays, as the console's first client (box run -it). */
int r_attached(struct plan *p, char **f)
{
	p->attach.caller = 1;
	p->attach.sig_proxy = 1;
	return detach_keys(f[0], p);
}

/* socket keys stdin sig-proxy: box attach. */
int r_attach(struct plan *p, char **f)
{
	int ret = path(f[0], &p->attach.socket);
	if (ret >= 0 && (ret = detach_keys(f[1], p)) >= 0 && (ret = flag(f[2], &p->attach.stdin_open)) >= 0)
		ret = flag(f[3], &p->attach.sig_proxy);
	return ret;
}
