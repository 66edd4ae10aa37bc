/*
 * The plan's fields for the user namespace, the time namespace and the user-mode network
 * (userns.h): parsed and checked here for plan_records.c, which alone names the records, and
 * printed for box-helper --check.
 */
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include "helper.h"
#include "plan.h"

/* "inside outside count" triples; ranges that overflow 32 bits are refused. */
static int id_ranges(char **f, struct id_range *r, int *n)
{
	unsigned long long v[3];
	int ret;
	for (int i = 0; f[i] != NULL; i += 3) {
		if (f[i + 1] == NULL || f[i + 2] == NULL)
			return fail(0, "the plan's record '%s' does not hold triples of ids", g_key);
		for (int j = 0; j < 3; j++)
			if ((ret = number(f[i + j], 10, UINT32_MAX - 1, &v[j])) < 0)
				return ret;
		if (v[2] == 0 || v[0] + v[2] > UINT32_MAX || v[1] + v[2] > UINT32_MAX)
			return fail(0, "the plan's record '%s' holds an empty or overflowing range", g_key);
		if (*n >= USERNS_MAX_RANGES)
			return fail(0, "the plan's record '%s' holds more than %d ranges", g_key, USERNS_MAX_RANGES);
		r[(*n)++] = (struct id_range){ (unsigned int)v[0], (unsigned int)v[1], (unsigned int)v[2] };
	}
	return 0;
}

int r_uid_map(struct plan *p, char **f) { return id_ranges(f, p->userns.uid, &p->userns.n_uid); }
int r_gid_map(struct plan *p, char **f) { return id_ranges(f, p->userns.gid, &p->userns.n_gid); }

int r_map_exec(struct plan *p, char **f)
{
	const char **tool = strcmp(f[0], "uid") == 0 ? &p->userns.uid_tool : strcmp(f[0], "gid") == 0 ? &p->userns.gid_tool : NULL;
	if (tool == NULL)
		return fail(0, "the plan's record '%s' names '%s', not uid or gid", g_key, f[0]);
	return path(f[1], tool);
}

static int one_of(const char *s, const char *a, const char *b, int *out)
{
	if (strcmp(s, a) != 0 && strcmp(s, b) != 0)
		return fail(0, "the plan's record '%s' holds '%s', not %s or %s", g_key, s, a, b);
	*out = strcmp(s, a) == 0;
	return 0;
}

int r_setgroups(struct plan *p, char **f) { return one_of(f[0], "deny", "allow", &p->userns.deny_setgroups); }

int r_mounter(struct plan *p, char **f)
{
	int host, ret = one_of(f[0], "host", "container", &host);
	p->userns.mounter = host ? MOUNTER_HOST : MOUNTER_CONTAINER;
	return ret;
}

int r_idmap(struct plan *p, char **f)
{
	if (p->userns.n_idmap >= USERNS_MAX_RANGES)
		return fail(0, "the plan has more than %d '%s' records", USERNS_MAX_RANGES, g_key);
	return path(f[0], &p->userns.idmap[p->userns.n_idmap++]);
}

/* target fstype options program [arguments...] */
int r_fuse_mount(struct plan *p, char **f)
{
	const char *program;
	int ret = path(f[0], &p->userns.fuse.target);
	p->userns.fuse.fstype = f[1];
	p->userns.fuse.options = f[2];
	p->userns.fuse.argv = &f[3];
	return ret < 0 ? ret : path(f[3], &program);
}

int r_net_tool(struct plan *p, char **f)
{
	unsigned long long ms;
	const char *program;
	int ret = number(f[0], 10, 600000, &ms);
	p->net_tool.ready_ms = (unsigned int)ms;
	p->net_tool.argv = &f[1];
	return ret < 0 ? ret : path(f[1], &program);
}

int r_net_api(struct plan *p, char **f)
{
	if (p->net_tool.api_socket != NULL && strcmp(p->net_tool.api_socket, f[0]) != 0)
		return fail(0, "the plan's records '%s' name different sockets", g_key);
	if (p->net_tool.n_requests >= NET_MAX_REQUESTS)
		return fail(0, "the plan has more than %d '%s' records", NET_MAX_REQUESTS, g_key);
	p->net_tool.requests[p->net_tool.n_requests++] = f[1];
	return path(f[0], &p->net_tool.api_socket);
}

int r_join_ns(struct plan *p, char **f)
{
	for (int i = 0; f[i] != NULL; i++) {
		if (strcmp(f[i], "user") == 0)
			p->join_user = 1;
		else if (strcmp(f[i], "time") == 0)
			p->join_time = 1;
		else
			return fail(0, "the plan's record '%s' names '%s', not user or time", g_key, f[i]);
	}
	return 0;
}

int r_cleanup_inside(struct plan *p, char **f) { (void)f; p->userns.cleanup_inside = 1; return 0; }
int r_clock_from_start(struct plan *p, char **f) { (void)f; p->timens.from_start = 1; return 0; }
int r_nosetgroups(struct plan *p, char **f) { (void)f; p->proc.no_setgroups = 1; return 0; }
int r_userns_tool(struct plan *p, char **f) { (void)f; p->userns.tool = 1; return 0; }
int r_reexec(struct plan *p, char **f) { (void)f; p->userns.reexec = 1; return 0; }

/* What goes together (check_plan, once every record is read). */
int check_userns(const struct plan *p)
{
	const struct userns_plan *u = &p->userns;
	int user = (p->clone_flags & CLONE_NEWUSER) != 0 || u->tool;
	if (user != (u->n_uid > 0) || user != (u->n_gid > 0))
		return fail(0, "the plan's user namespace and its 'uid_map' and 'gid_map' records go together");
	if ((u->mounter != MOUNTER_NONE || u->cleanup_inside || u->reexec) && !(p->clone_flags & CLONE_NEWUSER))
		return fail(0, "the plan's records 'mounter', 'cleanup_inside' and 'reexec' need a user namespace");
	if ((u->n_idmap > 0 && u->mounter != MOUNTER_HOST) || ((u->fuse.target != NULL) != (u->mounter == MOUNTER_CONTAINER)))
		return fail(0, "the plan's records 'idmap' and 'fuse_mount' go with a 'mounter' (host and container)");
	if (p->timens.from_start && !p->timens.on)
		return fail(0, "the plan's record 'clock_from_start' needs a time namespace");
	if (p->net_tool.n_requests > 0 && p->net_tool.argv == NULL)
		return fail(0, "the plan's record 'net_api' needs a 'net_tool'");
	return 0;
}

static FILE *out;
static void (*tok)(const char *);

static void ranges(const char *name, const struct id_range *r, int n)
{
	fprintf(out, " %s=", name);
	for (int i = 0; i < n; i++)
		fprintf(out, "%s%u:%u:%u", i ? "," : "", r[i].inside, r[i].outside, r[i].count);
}

static void line(const char *head, const char *value)
{
	fputs(head, out);
	tok(value);
	fputc('\n', out);
}

static void argv_line(const char *head, char **v)
{
	fputs(head, out);
	for (; v && *v; v++) {
		fputc(' ', out);
		tok(*v);
	}
	fputc('\n', out);
}

void userns_print(const struct plan *p, FILE *f, void (*token)(const char *))
{
	static const char *mounters[] = { "none", "host", "container" };
	const struct userns_plan *u = &p->userns;
	out = f;
	tok = token;
	if (u->n_uid > 0) {
		fputs("user-namespace", out);
		ranges("uid", u->uid, u->n_uid);
		ranges("gid", u->gid, u->n_gid);
		fprintf(out, " setgroups=%s\n", u->deny_setgroups ? "deny" : "allow");
	}
	if (u->uid_tool)
		line("map-tool uid=", u->uid_tool);
	if (u->gid_tool)
		line("map-tool gid=", u->gid_tool);
	if (u->mounter != MOUNTER_NONE)
		fprintf(out, "mounter %s\n", mounters[u->mounter]);
	for (int i = 0; i < u->n_idmap; i++)
		line("idmap ", u->idmap[i]);
	if (u->fuse.target) {
		fputs("fuse-mount target=", out);
		tok(u->fuse.target);
		fputs(" type=", out);
		tok(u->fuse.fstype);
		fputs(" options=", out);
		tok(u->fuse.options);
		argv_line(" daemon", u->fuse.argv);
	}
	if (u->cleanup_inside)
		fputs("cleanup-inside on\n", out);
	if (u->reexec)
		fputs("reexec on\n", out);
	if (p->timens.on)
		fprintf(out, "time-namespace clocks=%s\n", p->timens.from_start ? "from-start" : "host");
	if (p->net_tool.argv) {
		fprintf(out, "net-tool ready-ms=%u", p->net_tool.ready_ms);
		argv_line("", p->net_tool.argv);
	}
	for (int i = 0; i < p->net_tool.n_requests; i++) {
		fputs("net-api socket=", out);
		tok(p->net_tool.api_socket);
		line(" request=", p->net_tool.requests[i]);
	}
	if (p->join_user || p->join_time)
		fprintf(out, "join-namespaces%s%s\n", p->join_user ? " user" : "", p->join_time ? " time" : "");
	if (p->proc.no_setgroups)
		fputs("setgroups off\n", out);
}
