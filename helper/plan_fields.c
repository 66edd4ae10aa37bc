/*
 * The plan's fields: numbers, paths, modes, flags, addresses, mount specs, a BPF program, as the records of
 * plan.c and plan_records.c hold them. Each parser fails with one sentence naming the record being
 * read (g_key); none of them knows a record's name.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "plan.h"

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

/* A bounded list: at most max entries (list_slot: PLAN_MAX_LIST). */
int list_slot_max(int *n, int max)
{
	if (*n >= max)
		return fail(0, "the plan has more than %d '%s' records", max, g_key);
	return (*n)++;
}

int list_slot(int *n) { return list_slot_max(n, PLAN_MAX_LIST); }


/* A MAC address as plan.ts writes it: six lower-case hex pairs joined by ':'. */
int mac(const char *s, unsigned char out[6])
{
	static const char digits[] = "0123456789abcdef";
	if (strlen(s) != 17)
		return fail(0, "the plan's record '%s' holds a malformed MAC address '%s'", g_key, s);
	for (int i = 0; i < 6; i++) {
		const char *hi = strchr(digits, s[3 * i]), *lo = strchr(digits, s[3 * i + 1]);
		if (hi == NULL || lo == NULL || s[3 * i] == '\0' || s[3 * i + 1] == '\0' || (i < 5 && s[3 * i + 2] != ':'))
			return fail(0, "the plan's record '%s' holds a malformed MAC address '%s'", g_key, s);
		out[i] = (unsigned char)((hi - digits) << 4 | (lo - digits));
	}
	return 0;
}

/* A BPF program as hex: 16 digits per struct sock_filter, at most BPF_MAXINSNS of them. */
int bpf_program(const char *hex, struct sock_filter **out, unsigned short *count)
{
	static const char digits[] = "0123456789abcdef";
	size_t len = strlen(hex);
	if (len == 0 || len % 16 != 0 || len / 16 > BPF_MAXINSNS)
		return fail(0, "the plan's seccomp program has a bad length");
	unsigned char *bytes = malloc(len / 2);
	if (bytes == NULL)
		return fail(ENOMEM, "cannot hold the seccomp program");
	for (size_t i = 0; i < len / 2; i++) {
		const char *hi = memchr(digits, hex[2 * i], 16), *lo = memchr(digits, hex[2 * i + 1], 16);
		if (hi == NULL || lo == NULL || hex[2 * i] == '\0' || hex[2 * i + 1] == '\0')
			return free(bytes), fail(0, "the plan's seccomp program is not hex");
		bytes[i] = (unsigned char)((hi - digits) << 4 | (lo - digits));
	}
	*out = (struct sock_filter *)(void *)bytes; /* malloc'd: aligned for any type */
	*count = (unsigned short)(len / 16);
	return 0;
}
