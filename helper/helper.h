/*
 * box-helper: carries out one container plan written by the box front end.
 *
 * The front end (TypeScript) decides everything: namespaces, mounts and their flags, devices, argv,
 * environment, user, what to clean up afterwards. This program only executes those steps in order and
 * reports which one failed, with errno. It never reads user-facing flags or config files.
 *
 * Error convention: every fallible function returns 0 (or a non-negative value) on success and a
 * negative errno on failure, after describing the failed step with fail(). Callers propagate.
 */
#ifndef BOX_HELPER_H
#define BOX_HELPER_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PLAN_MAGIC "BOXPLAN"
#define PLAN_VERSION "1"
#define PLAN_MAX_BYTES (1u << 20)
#define PLAN_MAX_RECORDS 4096

/* One record of the plan: a key and its fields (all NUL-terminated strings inside the plan buffer). */
struct record {
	const char *key;
	char **fields;
	int nfields;
};

struct plan {
	char *buf;                /* owns every string below */
	struct record *records;   /* in plan order: mount steps run in this order */
	int nrecords;

	unsigned long clone_flags; /* namespaces created by clone() */
	int cgroup_ns;             /* unshare(CLONE_NEWCGROUP) after the cgroup join */
	const char *rootfs;        /* host path that becomes / */
	const char *hostname;      /* NULL: keep */
	int loopback;              /* bring lo up in the new network namespace */
	char **argv;
	char **env;
	const char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	int have_user;
	uint64_t caps[5];          /* bounding, effective, permitted, inheritable, ambient */
	int have_caps;
	int no_new_privs;
	int session_keyring;
	struct sock_filter *seccomp; /* NULL: unconfined */
	unsigned short seccomp_len;
	const char *clone_into;    /* cgroup v2 directory the container is born in, or NULL */
	const char *delete_link;   /* box network prune: remove this link and do nothing else */
	char **bridge;             /* bridge name, gateway/prefix: made (or reused) before the container */
	char **veth;               /* host-side name, bridge: a veth pair whose peer is the container's eth0 */
	char **ip;                 /* address/prefix, gateway: the container's eth0 */
	const char *detach;        /* background run: what to print (the id) once the command runs */
	const char *log_path;      /* detached: where the container's output goes */
	long log_cap;
	const char *pidfile;
	const char *exitfile;
	pid_t join_pid;            /* exec: the running container's init, whose namespaces to join */
	int tty;                   /* give the command a pty of the container's own devpts */
	int stdin_open;            /* -i: the command reads box's stdin; otherwise /dev/null */
};

/* plan.c */
int plan_read(int fd, struct plan *p);
int plan_number(const char *s, int base, unsigned long max, unsigned long *out);

/* report.c: the failure of one step, as carried from the container to the supervisor. */
struct report {
	int status;      /* exit status box should end with: 125, 126 or 127 */
	int err;         /* errno, 0 when none applies */
	char msg[500];   /* what was being done, e.g. "cannot mount proc on /proc in the container" */
};
extern struct report g_report;
int fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fail_status(int status, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void report_print(const struct report *r);
int write_all(int fd, const void *buf, size_t len);
int read_all(int fd, void *buf, size_t len);
ssize_t read_small(const char *path, char *buf, size_t len);

/* container.c: everything that runs inside the new namespaces, up to exec. */
struct channels {
	int report_w;    /* close-on-exec pipe: a struct report, or EOF once the command is executing */
	int sync_r;      /* supervisor -> container: one byte per sync point */
	int console_w;   /* unix socket: the pty master travels to the supervisor (tty only), else -1 */
	int stdio[3];    /* fds to become the command's 0,1,2; -1 keeps what is inherited, -2 is /dev/null */
};
_Noreturn void container_main(const struct plan *p, const struct channels *ch);

/* The command's side, from stdio to exec (container.c); exec into a running container uses it too. */
_Noreturn void command_main(const struct plan *p, const struct channels *ch, int ptn);
int wait_sync(int fd);

/* exec.c: join a running container (box exec). */
int join_container(pid_t pid);
int open_pty(int *ptn);

/* init.c: PID 1 of the container. */
_Noreturn void init_main(pid_t command);

/* supervise.c: the host side: start, wait, relay, clean up. Returns box's exit status. */
int supervise(const struct plan *p);

/* relay.c: copy bytes between the host's stdio and the container's pipes or pty. */
struct relay {
	int in_from, in_to;       /* host stdin -> container; -1 when not relayed */
	int out_from[2];          /* container stdout, stderr (pipes or pty master) -> out_to; -1 unused */
	int out_to[2];            /* where they go: the host's 1 and 2, or the log of a detached container */
	const char *log_path;     /* the log, rotated to log_path.1 past log_cap bytes */
	long log_cap;
	int pty_master;           /* -1 without a tty */
	int sigfd;                /* signalfd of the supervisor */
};
int relay_run(struct relay *r, pid_t child, int *wstatus);
int terminal_raw(int fd);
void terminal_restore(void);
void copy_winsize(int from, int to);

/* security.c */
int drop_bounding(uint64_t keep);
int set_capabilities(const uint64_t caps[5]);
int join_session_keyring(void);
int install_seccomp(struct sock_filter *filter, unsigned short len);

/* netlink.c: links, addresses, routes, without iproute2. */
int nl_create_bridge(const char *name);
int nl_create_veth(const char *host_name, const char *peer_name, pid_t pid);
int nl_link_up(const char *name, int master);
int nl_add_address(const char *name, const char *cidr);
int nl_default_route(const char *gateway);
int nl_delete_link(const char *name);

/* cleanup.c */
int remove_tree(const char *path);

#endif
