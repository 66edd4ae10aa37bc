/*
 * box-helper --check: the typed plan as stable text, one line per step, in the order the helper
 * acts on it. test/helper/check.test.ts compares this with what the TypeScript side meant, so the
 * two can never disagree silently.
 *
 * Strings are printed as tokens: bytes 0x21..0x7e as they are, except '\' and '"'; every other byte
 * as \xNN (lower-case hex); the empty string (or an absent one) as "". A token never holds a space.
 * Mount flags and capabilities are printed by name, from the kernel's own headers, so a wrong
 * number on the TypeScript side shows up as a wrong name.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "helper.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static FILE *out;

static void token(const char *s)
{
	if (s == NULL || *s == '\0') {
		fputs("\"\"", out);
		return;
	}
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c > 0x20 && *c < 0x7f && *c != '\\' && *c != '"')
			fputc(*c, out);
		else
			fprintf(out, "\\x%02x", *c);
	}
}

static void tokens(char **v)
{
	for (; v && *v; v++) {
		fputc(' ', out);
		token(*v);
	}
}

/* For plan_print_oci.c. */
FILE *print_out(void) { return out; }
void print_token(const char *s) { token(s); }
void print_tokens(char **v) { tokens(v); }

static const char *cidr_text(const struct ipv4_cidr *c, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &c->addr, ip, sizeof(ip));
	snprintf(buf, len, "%s/%u", ip, c->prefix);
	return buf;
}

static void print_mount(const char *step, const struct mount_spec *m)
{
	char flags[512];
	fprintf(out, "%s source=", step);
	token(m->source);
	fputs(" target=", out);
	token(m->target);
	fputs(" type=", out);
	token(m->fstype);
	fprintf(out, " flags=%s data=", mount_flag_names(m->flags, flags, sizeof(flags)));
	token(m->data);
	fputc('\n', out);
}

static void print_root_step(const struct root_step *s)
{
	static const char *kinds[] = { "mkdir", "file", "mount", "device", "symlink", "mask", "readonly", "sysctl-in" };
	if (s->kind == ROOT_MOUNT || s->kind == ROOT_MKNOD || s->kind == ROOT_MOUNT_COPYUP) {
		if (s->kind != ROOT_MKNOD)
			print_mount(s->kind == ROOT_MOUNT ? "mount" : "mount-copyup", &s->mount);
		else
			print_mknod(s);
		return;
	}
	if (s->kind == ROOT_SYSCTL) {
		fputs("sysctl-in /proc/sys/", out);
		token(s->path);
		fputs(" value=", out);
		token(s->value);
		fputc('\n', out);
		return;
	}
	fprintf(out, "%s ", kinds[s->kind]);
	token(s->path);
	if (s->kind == ROOT_MKDIR || s->kind == ROOT_FILE)
		fprintf(out, " mode=%04o", (unsigned)s->mode);
	if (s->kind == ROOT_DEVICE) {
		fputs(" host=", out);
		token(s->host_device);
		fprintf(out, " char=%u:%u", s->major, s->minor);
	}
	if (s->kind == ROOT_SYMLINK) {
		fputs(" target=", out);
		token(s->link_target);
	}
	fputc('\n', out);
}

/* The default action: what the program's last instruction returns. */
static void print_seccomp(const struct process *proc)
{
	if (proc->seccomp == NULL) {
		fputs("seccomp off\n", out);
		return;
	}
	const struct sock_filter *last = &proc->seccomp[proc->seccomp_len - 1];
	fprintf(out, "seccomp instructions=%u default=", (unsigned)proc->seccomp_len);
	if (last->code != (BPF_RET | BPF_K))
		fputs("none\n", out);
	else if ((last->k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO)
		fprintf(out, "errno:%u\n", last->k & SECCOMP_RET_DATA);
	else if (last->k == SECCOMP_RET_ALLOW)
		fputs("allow\n", out);
	else
		fprintf(out, "action:%#x\n", last->k);
}

static void print_process(const struct process *proc)
{
	char sets[5][1024];
	fputs("argv", out);
	tokens(proc->argv);
	fputs("\nenv", out);
	tokens(proc->env);
	fputs("\nsearch-path ", out);
	token(proc->search_path);
	fputs("\ncwd ", out);
	token(proc->cwd);
	fprintf(out, "\nuser uid=%u gid=%u groups=", (unsigned)proc->uid, (unsigned)proc->gid);
	for (int i = 0; i < proc->ngroups; i++)
		fprintf(out, "%s%u", i ? "," : "", (unsigned)proc->groups[i]);
	fprintf(out, "%s\numask %04o\n", proc->ngroups ? "" : "none", (unsigned)proc->umask);
	fprintf(out, "capabilities bounding=%s effective=%s permitted=%s inheritable=%s ambient=%s\n",
		cap_names(proc->cap_bounding, sets[0], sizeof(sets[0])), cap_names(proc->cap_effective, sets[1], sizeof(sets[1])),
		cap_names(proc->cap_permitted, sets[2], sizeof(sets[2])), cap_names(proc->cap_inheritable, sets[3], sizeof(sets[3])),
		cap_names(proc->cap_ambient, sets[4], sizeof(sets[4])));
	fprintf(out, "no-new-privs %s\n", proc->no_new_privs ? "on" : "off");
	print_seccomp(proc);
	fprintf(out, "session-keyring %s\ntty %s\nstdin %s\n", proc->session_keyring ? "on" : "off",
		proc->tty ? "on" : "off", proc->stdin_open ? "on" : "off");
	for (int i = 0; i < proc->n_rlimits; i++) {
		char soft[24], hard[24];
		fprintf(out, "rlimit %s soft=%s hard=%s\n", rlimit_name(proc->rlimits[i].resource),
			rlimit_text(proc->rlimits[i].soft, soft, sizeof(soft)), rlimit_text(proc->rlimits[i].hard, hard, sizeof(hard)));
	}
}

static void print_state_file(const char *step, const struct state_file *f)
{
	if (f->path == NULL)
		return;
	fprintf(out, "%s path=", step);
	token(f->path);
	fprintf(out, " mode=%04o\n", (unsigned)f->mode);
}

static void print_cgroups(const struct plan *p)
{
	for (int i = 0; i < p->n_cgroup_procs; i++) {
		fputs("cgroup procs=", out);
		token(p->cgroup_procs[i]);
		fputc('\n', out);
	}
	for (int i = 0; i < p->n_cgroup_tasks; i++) {
		fputs("cgroup tasks=", out);
		token(p->cgroup_tasks[i]);
		fputs(" writes=0\n", out);
	}
}

static void print_mac(const char *what, const unsigned char *m, int has)
{
	if (has)
		fprintf(out, " %s=%02x:%02x:%02x:%02x:%02x:%02x", what, m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* What happens on the host before the container's first process and around it. */
static void print_host(const struct plan *p)
{
	static const struct { unsigned long flag; const char *name; } ns[] = {
		{ CLONE_NEWNS, "mount" }, { CLONE_NEWUTS, "uts" }, { CLONE_NEWIPC, "ipc" },
		{ CLONE_NEWNET, "net" }, { CLONE_NEWPID, "pid" }, { CLONE_NEWUSER, "user" },
	};
	char a[64], b[64];
	fputs("namespaces", out);
	for (size_t i = 0; i < COUNT(ns); i++)
		if (p->clone_flags & ns[i].flag)
			fprintf(out, " %s", ns[i].name);
	fputs(p->cgroup_ns ? " cgroup\n" : "\n", out);
	print_cgroups(p);
	if (p->clone_into) {
		fputs("clone-into ", out);
		token(p->clone_into);
		fputc('\n', out);
	}
	if (p->net.bridge) {
		fputs("bridge name=", out);
		token(p->net.bridge);
		fprintf(out, " address=%s", cidr_text(&p->net.bridge_address, a, sizeof(a)));
		print_mac("mac", p->net.bridge_mac, p->net.has_bridge_mac);
		fputc('\n', out);
	}
	for (int i = 0; i < p->n_sysctls; i++) {
		fputs("sysctl path=", out);
		token(p->sysctls[i].path);
		fputs(" value=", out);
		token(p->sysctls[i].value);
		fputc('\n', out);
	}
	if (p->net.host_veth) {
		fputs("veth host=", out);
		token(p->net.host_veth);
		fputs(" bridge=", out);
		token(p->net.veth_bridge);
		fputs(" container=", out);
		token(p->net.container_if);
		print_mac("mac", p->net.container_mac, p->net.has_container_mac);
		fputs("\naddress if=", out);
		token(p->net.container_if);
		inet_ntop(AF_INET, &p->net.gateway, b, sizeof(b));
		fprintf(out, " address=%s gateway=%s\n", cidr_text(&p->net.address, a, sizeof(a)), b);
	}
}

static void print_container(const struct plan *p)
{
	char flags[512];
	fputs("rootfs ", out);
	token(p->rootfs);
	fputc('\n', out);
	if (p->overlay.n_lowers) {
		fputs("overlay merged=", out);
		token(p->overlay.merged);
		fputs(" upper=", out);
		token(p->overlay.upper);
		fputs(" work=", out);
		token(p->overlay.work);
		fprintf(out, " flags=%s layers=%d%s\n", mount_flag_names(p->overlay.flags, flags, sizeof(flags)), p->overlay.n_lowers,
			p->overlay.userxattr ? " userxattr" : "");
		for (int i = 0; i < p->overlay.n_lowers; i++) {
			fputs("overlay-layer ", out);
			token(p->overlay.lowers[i]);
			fputc('\n', out);
		}
	}
	for (int i = 0; i < p->n_host_mounts; i++)
		print_mount("host-mount", &p->host_mounts[i]);
	for (int i = 0; i < p->n_root_steps; i++)
		print_root_step(&p->root_steps[i]);
	if (p->hostname) {
		fputs("hostname ", out);
		token(p->hostname);
		fputc('\n', out);
	}
	if (p->net.loopback)
		fputs("loopback up\n", out);
}

static void print_after(const struct plan *p)
{
	print_state_file("pidfile", &p->pidfile);
	print_state_file("exitfile", &p->exitfile);
	for (int i = 0; i < p->n_ooms; i++) {
		fputs("oom events=", out);
		token(p->ooms[i].events_file);
		fputs(" killed=", out);
		token(p->ooms[i].when_killed);
		fputs(" otherwise=", out);
		token(p->ooms[i].otherwise);
		fputc('\n', out);
	}
	for (int i = 0; i < p->n_cleanup_exec; i++) {
		fputs("cleanup-exec", out);
		tokens(p->cleanup_exec[i]);
		fputc('\n', out);
	}
	if (p->cleanup_env) {
		fputs("cleanup-env", out);
		tokens(p->cleanup_env);
		fputc('\n', out);
	}
	for (int i = 0; i < p->n_rm_cgroups; i++) {
		fputs("rmcgroup dir=", out);
		token(p->rm_cgroups[i].dir);
		fprintf(out, " tries=%u interval-ms=%u\n", p->rm_cgroups[i].tries, p->rm_cgroups[i].interval_ms);
	}
	for (int i = 0; i < p->n_cleanup_paths; i++) {
		fputs("cleanup ", out);
		token(p->cleanup_paths[i]);
		fputc('\n', out);
	}
}

int plan_print(const struct plan *p, int fd)
{
	static const char *modes[] = { "run", "exec", "delete-link", "attach", "userns" };
	out = fdopen(fd, "w");
	if (out == NULL)
		return fail(errno, "cannot write the plan");
	fprintf(out, "plan version=%s mode=%s\n", PLAN_VERSION, modes[p->mode]);
	if (p->trace_fd >= 0)
		fprintf(out, "trace fd=%d\n", p->trace_fd);
	if (p->mode == MODE_DELETE_LINK) {
		fputs("delete-link ", out);
		token(p->delete_link);
		fputc('\n', out);
	}
	if (p->detach_id) {
		static const char *formats[] = { "raw", "k8s-file" };
		fputs("detach id=", out);
		token(p->detach_id);
		fputs("\nlog path=", out);
		token(p->log.path);
		fprintf(out, " cap=%ld mode=%04o format=%s\n", p->log.cap, (unsigned)p->log.mode, formats[p->log.format]);
	}
	if (p->hold_fifo) {
		fputs("hold fifo=", out);
		token(p->hold_fifo);
		fputc('\n', out);
	}
	if (p->console) {
		fputs("console socket=", out);
		token(p->console);
		fputc('\n', out);
	}
	if (p->attach.caller || p->mode == MODE_ATTACH) {
		fputs(p->mode == MODE_ATTACH ? "attach socket=" : "attached", out);
		if (p->mode == MODE_ATTACH)
			token(p->attach.socket);
		fputs(" keys=", out);
		for (int i = 0; i < p->attach.n_keys; i++)
			fprintf(out, "%02x", p->attach.keys[i]);
		fprintf(out, "%s stdin=%s sig-proxy=%s\n", p->attach.n_keys ? "" : "none",
			(p->mode == MODE_ATTACH ? p->attach.stdin_open : p->proc.stdin_open) ? "on" : "off", p->attach.sig_proxy ? "on" : "off");
	}
	if (p->restart.policy != RESTART_NO) {
		static const char *policies[] = { "no", "on-failure", "always", "unless-stopped" };
		const struct restart *r = &p->restart;
		fprintf(out, "restart policy=%s max=%u backoff-ms=%u..%u reset-after-ms=%u stopped-file=", policies[r->policy], r->max,
			r->first_ms, r->cap_ms, r->reset_ms);
		token(r->stopped_file);
		fputc('\n', out);
	}
	if (p->mode == MODE_RUN) {
		print_host(p);
		print_container(p);
	}
	if (p->mode == MODE_EXEC) {
		print_cgroups(p);
		fprintf(out, "join pid=%d start=%llu\n", (int)p->join_pid, p->join_start);
	}
	userns_print(p, out, token);
	if (p->mode == MODE_USERNS && p->proc.argv) {
		fputs("argv", out);
		tokens(p->proc.argv);
		fputs("\nenv", out);
		tokens(p->proc.env);
		fputc('\n', out);
	}
	if (p->mode == MODE_RUN || p->mode == MODE_EXEC)
		print_process(&p->proc);
	if (p->mode == MODE_RUN || p->mode == MODE_USERNS)
		print_after(p);
	print_oci(p);
	if (fflush(out) != 0 || ferror(out))
		return fail(errno, "cannot write the plan");
	return 0;
}
