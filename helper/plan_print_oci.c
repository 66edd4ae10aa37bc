/*
 * box-helper --check for the runc CLI's records (plan_oci.c): one line each, in the words of
 * plan_print.c, so test/helper compares them with what src/oci/ meant.
 */
#include <sched.h>
#include <stdio.h>

#include "helper.h"

FILE *print_out(void);

static const struct { int type; const char *name; } namespaces[] = {
	{ CLONE_NEWNS, "mount" }, { CLONE_NEWUTS, "uts" }, { CLONE_NEWIPC, "ipc" },
	{ CLONE_NEWNET, "net" }, { CLONE_NEWPID, "pid" }, { CLONE_NEWCGROUP, "cgroup" },
};

void print_mknod(const struct root_step *s)
{
	FILE *out = print_out();
	fputs("mknod ", out);
	print_token(s->path);
	fprintf(out, " type=%c dev=%u:%u mode=%04o uid=%u gid=%u\n", s->node_type, s->major, s->minor, (unsigned)s->mode,
		(unsigned)s->uid, (unsigned)s->gid);
}

static void print_hook(FILE *out, const struct hook *h)
{
	static const char *kinds[] = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" };
	fprintf(out, "hook kind=%s timeout=%u path=", kinds[h->kind], h->timeout);
	print_token(h->path);
	fputs(" argv", out);
	print_tokens(h->argv);
	fputs(" env", out);
	print_tokens(h->env);
	fputc('\n', out);
}

void print_oci(const struct plan *p)
{
	static const char *formats[] = { "box", "text", "json" };
	const struct oci *o = &p->oci;
	FILE *out = print_out();
	char names[128];
	if (o->pid1)
		fputs("pid1\n", out);
	if (o->handoff)
		fputs("handoff\n", out);
	if (o->pidfile) {
		fputs("oci-pidfile path=", out);
		print_token(o->pidfile);
		fputc('\n', out);
	}
	if (o->console_socket) {
		fputs("console-socket path=", out);
		print_token(o->console_socket);
		fprintf(out, " rows=%u cols=%u\n", o->rows, o->cols);
	}
	for (int i = 0; i < o->n_ns; i++) {
		const char *name = "?";
		for (size_t k = 0; k < sizeof(namespaces) / sizeof(namespaces[0]); k++)
			if (namespaces[k].type == o->ns[i].type)
				name = namespaces[k].name;
		fprintf(out, "join-namespace type=%s path=", name);
		print_token(o->ns[i].path);
		fputc('\n', out);
	}
	if (o->has_oom_score_adj)
		fprintf(out, "oom-score-adj %d\n", o->oom_score_adj);
	if (o->domainname) {
		fputs("domainname ", out);
		print_token(o->domainname);
		fputc('\n', out);
	}
	if (o->propagation_root)
		fprintf(out, "root-propagation flags=%s\n", mount_flag_names(o->propagation_root, names, sizeof(names)));
	for (int i = 0; i < o->n_hooks; i++)
		print_hook(out, &o->hooks[i]);
	if (o->state[0]) {
		fputs("hook-state before=", out);
		print_token(o->state[0]);
		fputs(" middle=", out);
		print_token(o->state[1]);
		fputs(" after=", out);
		print_token(o->state[2]);
		fputc('\n', out);
	}
	if (o->report_format != REPORT_BOX) {
		fprintf(out, "report format=%s log=", formats[o->report_format]);
		print_token(o->report_log);
		fputc('\n', out);
	}
}
