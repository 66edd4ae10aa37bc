/* Shared by the plan's reader (plan.c) and its records (plan_records.c); nothing else needs it. */
#ifndef BOX_PLAN_H
#define BOX_PLAN_H

#include <stddef.h>

#include "helper.h"

struct plan;

struct record_def {
	const char *key;
	int min, max;   /* field counts */
	int once;       /* may appear at most once */
	int modes;      /* the modes it belongs to (1 << enum plan_mode) */
	int required;   /* the modes that need it */
	int (*parse)(struct plan *p, char **fields); /* fields: NULL-terminated */
};

#define PLAN_RECORD_KINDS 96 /* at least the number of entries of records[] */
extern const struct record_def records[];
extern const size_t n_records;
extern const char *g_key;

const struct record_def *find_record(const char *key);
/* Field parsers (plan_fields.c): each fails with a sentence naming the record being read (g_key). */
int number(const char *s, int base, unsigned long long max, unsigned long long *out);
int path(const char *s, const char **out);
int mode(const char *s, unsigned long long max, mode_t *out);
int flag(const char *s, int *out);
int address(const char *s, struct in_addr *out);
int cidr(const char *s, struct ipv4_cidr *out);
int mount_spec(char **f, struct mount_spec *m);
int list_slot(int *n);
int list_slot_max(int *n, int max);
int mac(const char *s, unsigned char out[6]);
struct sock_filter;
int bpf_program(const char *hex, struct sock_filter **out, unsigned short *count);
int check_plan(struct plan *p, const int *seen);
struct root_step *root_step(struct plan *p, enum root_step_kind kind, const char *where);

/* plan_oci.c: the runc CLI's records. */
int r_pid1(struct plan *p, char **f);
int r_handoff(struct plan *p, char **f);
int r_oci_pidfile(struct plan *p, char **f);
int r_console_socket(struct plan *p, char **f);
int r_console_size(struct plan *p, char **f);
int r_ns_path(struct plan *p, char **f);
int r_oom_score_adj(struct plan *p, char **f);
int r_domainname(struct plan *p, char **f);
int r_root_propagation(struct plan *p, char **f);
int r_mknod(struct plan *p, char **f);
int r_hook(struct plan *p, char **f);
int r_mount_copyup(struct plan *p, char **f);
int r_hook_env(struct plan *p, char **f);
int r_hook_state(struct plan *p, char **f);
int r_report_format(struct plan *p, char **f);
int check_oci(const struct plan *p);

/* The host side's records (plan.c). */
int r_cgroup(struct plan *p, char **f);
int r_cgroup_tasks(struct plan *p, char **f);
int r_clone_into(struct plan *p, char **f);
int r_oom(struct plan *p, char **f);
int r_rmcgroup(struct plan *p, char **f);
int r_cleanup_exec(struct plan *p, char **f);
int r_cleanup_env(struct plan *p, char **f);
int r_cleanup(struct plan *p, char **f);
int r_pidfile(struct plan *p, char **f);
int r_exitfile(struct plan *p, char **f);
int r_detach(struct plan *p, char **f);
int r_log(struct plan *p, char **f);
int r_hold(struct plan *p, char **f);
int r_trace(struct plan *p, char **f);
int r_join(struct plan *p, char **f);
int r_delete_link(struct plan *p, char **f);
int r_restart(struct plan *p, char **f);
int r_console(struct plan *p, char **f);
int r_attached(struct plan *p, char **f);
int r_attach(struct plan *p, char **f);

/* plan_userns.c: the user namespace, the time namespace, the user-mode network. */
int r_uid_map(struct plan *p, char **f);
int r_gid_map(struct plan *p, char **f);
int r_map_exec(struct plan *p, char **f);
int r_setgroups(struct plan *p, char **f);
int r_mounter(struct plan *p, char **f);
int r_idmap(struct plan *p, char **f);
int r_fuse_mount(struct plan *p, char **f);
int r_cleanup_inside(struct plan *p, char **f);
int r_clock_from_start(struct plan *p, char **f);
int r_net_tool(struct plan *p, char **f);
int r_net_api(struct plan *p, char **f);
int r_nosetgroups(struct plan *p, char **f);
int r_join_ns(struct plan *p, char **f);
int r_userns_tool(struct plan *p, char **f);
int r_reexec(struct plan *p, char **f);
int check_userns(const struct plan *p);

#endif
