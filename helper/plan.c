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
 * plan_records.c, and in src/spec/plan.ts, which writes them.
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

/* ---- Fields ---------------------------------------------------------------------------------- */

/* Digits only, of the base (hex in lower case, decimal without leading zeros), as plan.ts writes them:
 * no sign, space or "0x" that strtoull would otherwise take. */
int number(const char *s, int base, unsigned long long max, unsigned long long *out)
{
	static const char digits[] = "0123456789abcdef";
	char *end;
	size_t len = strlen(s);
	int ok = len > 0 && len <= 20 && strspn(s, digits) == len && !(base == 10 && s[0] == '0' && len > 1);
	for (size_t i = 0; ok && i < len; i++)
		ok = (strchr(digits, s[i]) - digits) < base;
	if (!ok)
		return fail(0, "the plan's record '%s' holds a malformed number '%s'", g_key, s);
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno != 0 || *end != '\0' || v > max)
		return fail(0, "the plan's record '%s' holds a malformed number '%s'", g_key, s);
	*out = v;
	return 0;
}

int path(const char *s, const char **out)
{
	if (s[0] != '/')
		return fail(0, "the plan's record '%s' holds '%s', which is not an absolute path", g_key, s);
	*out = s;
	return 0;
}

int mode(const char *s, unsigned long long max, mode_t *out)
{
	unsigned long long v;
	int ret = number(s, 8, max, &v);
	*out = (mode_t)v;
	return ret;
}

int flag(const char *s, int *out)
{
	unsigned long long v;
	int ret = number(s, 10, 1, &v);
	*out = (int)v;
	return ret;
}

int address(const char *s, struct in_addr *out)
{
	if (inet_pton(AF_INET, s, out) != 1)
		return fail(0, "the plan's record '%s' holds a malformed address '%s'", g_key, s);
	return 0;
}

int cidr(const char *s, struct ipv4_cidr *out)
{
	char ip[INET_ADDRSTRLEN];
	unsigned long long prefix;
	const char *slash = strchr(s, '/');
	if (slash == NULL || (size_t)(slash - s) >= sizeof(ip))
		return fail(0, "the plan's record '%s' holds a malformed address '%s'", g_key, s);
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	int ret = address(ip, &out->addr);
	if (ret >= 0 && (ret = number(slash + 1, 10, 32, &prefix)) >= 0)
		out->prefix = (unsigned int)prefix;
	return ret;
}

static const char *or_null(const char *s)
{
	return s[0] ? s : NULL;
}

int mount_spec(char **f, struct mount_spec *m)
{
	unsigned long long flags;
	char names[512];
	int ret = number(f[3], 10, ULONG_MAX, &flags);
	if (ret < 0)
		return ret;
	if (mount_flag_names((unsigned long)flags, names, sizeof(names)) == NULL)
		return fail(0, "the plan's record '%s' holds unknown mount flags %s", g_key, f[3]);
	*m = (struct mount_spec){ .source = or_null(f[0]), .target = f[1], .fstype = or_null(f[2]),
				  .flags = (unsigned long)flags, .data = or_null(f[4]) };
	return path(f[1], &m->target);
}

/* A bounded list: at most PLAN_MAX_LIST entries. */
int list_slot(int *n)
{
	if (*n >= PLAN_MAX_LIST)
		return fail(0, "the plan has more than %d '%s' records", PLAN_MAX_LIST, g_key);
	return (*n)++;
}

/* ---- The plan as a whole --------------------------------------------------------------------- */

/* Its mode, the records that mode needs and allows, and what goes together. */
int check_plan(struct plan *p, const int *seen)
{
	static const char *mode_names[] = { "a run", "an exec", "a delete_link", "a userns_tool" };
	p->mode = p->delete_link ? MODE_DELETE_LINK : p->join_pid ? MODE_EXEC : p->userns.tool ? MODE_USERNS : MODE_RUN;
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
	return check_userns(p);
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
