/*
 * rlimits and sysctls in the container's namespaces, for the runc CLI (process.rlimits and
 * linux.sysctl of config.json):
 *
 *   rlimit RESOURCE SOFT HARD   a resource by its name without RLIMIT_ (nofile, nproc, ...), limits
 *                               in decimal or "unlimited"; set in confine_process (command.c), so
 *                               the command and nothing before it runs with them
 *   sysctl_in PATH VALUE        PATH relative to /proc/sys; written by the container's first process
 *                               in step 7 (container.c), through the host's /proc before pivot_root:
 *                               a namespaced sysctl is the writer's namespace's (the front end
 *                               allows only those)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "helper.h"
#include "plan.h"

static const struct { const char *name; int resource; } resources[] = {
	{ "cpu", RLIMIT_CPU }, { "fsize", RLIMIT_FSIZE }, { "data", RLIMIT_DATA }, { "stack", RLIMIT_STACK },
	{ "core", RLIMIT_CORE }, { "rss", RLIMIT_RSS }, { "nproc", RLIMIT_NPROC }, { "nofile", RLIMIT_NOFILE },
	{ "memlock", RLIMIT_MEMLOCK }, { "as", RLIMIT_AS }, { "locks", RLIMIT_LOCKS }, { "sigpending", RLIMIT_SIGPENDING },
	{ "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE }, { "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },
};

const char *rlimit_name(int resource)
{
	for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
		if (resources[i].resource == resource)
			return resources[i].name;
	return "?";
}

static int limit(const char *s, unsigned long long *out)
{
	if (strcmp(s, "unlimited") == 0) {
		*out = RLIM_INFINITY;
		return 0;
	}
	return number(s, 10, RLIM_INFINITY - 1, out);
}

int r_rlimit(struct plan *p, char **f)
{
	struct oci *o = &p->oci;
	unsigned long long soft, hard;
	size_t i = 0;
	while (i < sizeof(resources) / sizeof(resources[0]) && strcmp(resources[i].name, f[0]) != 0)
		i++;
	if (i == sizeof(resources) / sizeof(resources[0]))
		return fail(0, "the plan's record 'rlimit' names an unknown resource '%s'", f[0]);
	int slot = list_slot(&o->n_rlimits), ret;
	if (slot < 0 || (ret = limit(f[1], &soft)) < 0 || (ret = limit(f[2], &hard)) < 0)
		return slot < 0 ? slot : ret;
	if (soft > hard)
		return fail(0, "the plan's record 'rlimit' has a soft limit above the hard one for %s", f[0]);
	for (int k = 0; k < slot; k++)
		if (o->rlimits[k].resource == resources[i].resource)
			return fail(0, "the plan sets the rlimit %s twice", f[0]);
	o->rlimits[slot] = (struct rlimit_spec){ .resource = resources[i].resource, .soft = soft, .hard = hard };
	return 0;
}

int r_sysctl_in(struct plan *p, char **f)
{
	int slot = list_slot(&p->oci.n_sysctls_in);
	if (slot < 0)
		return slot;
	if (f[0][0] == '/' || f[0][0] == '\0' || strstr(f[0], "..") != NULL)
		return fail(0, "the plan's record 'sysctl_in' holds '%s', not a path below /proc/sys", f[0]);
	p->oci.sysctls_in[slot] = (struct sysctl){ .path = f[0], .value = f[1] };
	return 0;
}

/* In confine_process, while the process is still root: lowering needs nothing, raising a hard
 * limit needs CAP_SYS_RESOURCE, which the kernel checks. */
int oci_set_rlimits(const struct oci *o)
{
	for (int i = 0; o && i < o->n_rlimits; i++) {
		struct rlimit rl = { .rlim_cur = (rlim_t)o->rlimits[i].soft, .rlim_max = (rlim_t)o->rlimits[i].hard };
		if (setrlimit(o->rlimits[i].resource, &rl) < 0)
			return fail(errno, "cannot set the rlimit %s", rlimit_name(o->rlimits[i].resource));
	}
	return 0;
}

/* Step 7 of container.c. */
int oci_write_sysctls(const struct plan *p)
{
	char path[4200];
	for (int i = 0; i < p->oci.n_sysctls_in; i++) {
		const struct sysctl *s = &p->oci.sysctls_in[i];
		snprintf(path, sizeof(path), "/proc/sys/%s", s->path);
		int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		int ret = fd < 0 ? -errno : write_all(fd, s->value, strlen(s->value));
		if (fd >= 0)
			close(fd);
		if (ret < 0)
			return fail(-ret, "cannot set the sysctl %s to %s in the container", s->path, s->value);
		TRACE("7", "sysctl", "path=%s value=%s", trace_token(s->path), trace_token(s->value));
	}
	return 0;
}
