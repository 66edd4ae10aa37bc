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
/* Field parsers (plan.c): each fails with a sentence naming the record being read (g_key). */
int number(const char *s, int base, unsigned long long max, unsigned long long *out);
int path(const char *s, const char **out);
int mode(const char *s, unsigned long long max, mode_t *out);
int flag(const char *s, int *out);
int address(const char *s, struct in_addr *out);
int cidr(const char *s, struct ipv4_cidr *out);
int mount_spec(char **f, struct mount_spec *m);
int list_slot(int *n);
int check_plan(struct plan *p, const int *seen);

/* plan_userns.c: the user namespace, the time namespace, the user-mode network. */
int parse_uid_map(struct plan *p, char **f);
int parse_gid_map(struct plan *p, char **f);
int parse_map_exec(struct plan *p, char **f);
int parse_setgroups(struct plan *p, char **f);
int parse_mounter(struct plan *p, char **f);
int parse_idmap(struct plan *p, char **f);
int parse_fuse_mount(struct plan *p, char **f);
int parse_cleanup_inside(struct plan *p, char **f);
int parse_clock_from_start(struct plan *p, char **f);
int parse_net_tool(struct plan *p, char **f);
int parse_net_api(struct plan *p, char **f);
int parse_nosetgroups(struct plan *p, char **f);
int parse_join_ns(struct plan *p, char **f);
int parse_userns_tool(struct plan *p, char **f);
int parse_reexec(struct plan *p, char **f);
int check_userns(const struct plan *p);

#endif
