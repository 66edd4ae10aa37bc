/*
 * box-helper: carries out one container plan written by the box front end.
 *
 * The front end (TypeScript) decides everything: namespaces, mounts and their flags, devices, argv,
 * environment, user, where the command is looked up, what to clean up afterwards. This program only
 * executes those steps in order and reports which one failed, with errno. It never reads
 * user-facing flags or config files.
 *
 * The plan is read once, before anything is cloned, into the typed `struct plan` below (plan.c is
 * the only file that knows the plan's record names); every number, flag, mode and address in it has
 * been parsed and checked by then.
 *
 * Error convention: every fallible function returns 0 (or a non-negative value) on success and a
 * negative errno on failure, after describing the failed step with fail(). Callers propagate.
 *
 * Where things happen:
 *   main.c       the modes: run (supervise.c), exec (exec.c), attach (attach.c), --check
 *                (plan_print.c), delete a link
 *   supervise.c  the host side of a new container: clone (where the namespaces are created), wait
 *   container.c  the container's first process: its set-up, in order, up to the fork of the command
 *   rootfs.c     the root filesystem steps: mounts, devices, masks, sysctls, pivot_root
 *   overlay.c    the root as an overlay of an image's layers, as many as overlayfs takes
 *   command.c    the command's process: confinement, then exec
 *   init.c       PID 1 of the container
 *   exec.c       box exec: join a running container, pinned by a pidfd
 *   restart.c    a detached container's restart policy and back-off
 *   console.c    the console a detached container offers; attach.c, its client (box run -it)
 *   host.c       on the host: cgroups, bridge and veth, state files, OOM, clean-up
 *   plan_fields.c, names.c: the plan's fields, and the names of the kernel's numbers
 *   relay.c, log.c, pty.c, security.c, netlink.c, cleanup.c, report.c, trace.c: the tools
 */
#ifndef BOX_HELPER_H
#define BOX_HELPER_H

#include <linux/filter.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "userns.h"

#define PLAN_MAGIC "BOXPLAN"
#define PLAN_VERSION "2"
#define PLAN_MAX_BYTES (1u << 20)
#define PLAN_MAX_RECORDS 4096
#define PLAN_MAX_LIST 16      /* cgroups, sysctls, clean-up entries, host mounts: a plan needs a few */
#define PLAN_MAX_RMCGROUPS 64 /* box-runc's cgroupsPath can make a few levels in each of a dozen v1 hierarchies */
#define PLAN_MAX_GROUPS 64
#define PLAN_MAX_LAYERS 500   /* overlayfs takes at most 500 lower layers */
#define PLAN_MAX_KEYS 16      /* bytes of a detach sequence */

/* ---- The typed plan ---------------------------------------------------------------------- */

enum plan_mode {
	MODE_RUN,         /* create a container and supervise it (detached or not) */
	MODE_EXEC,        /* run a command in a running container */
	MODE_DELETE_LINK, /* box network prune: remove one network link, nothing else */
	MODE_ATTACH,      /* box attach: a client of a running container's console (attach.c) */
	MODE_USERNS,      /* a tool run as root of a new user namespace (userns.c) */
};

/* A mount(2) call as the plan gives it; NULL strings are passed as NULL. */
struct mount_spec {
	const char *source;
	const char *target;
	const char *fstype;
	unsigned long flags;
	const char *data;
};

/* The steps run inside the container's root before pivot_root, in plan order. */
enum root_step_kind {
	ROOT_MKDIR,    /* a directory (mode), fine when present */
	ROOT_FILE,     /* an empty regular file (mode), fine when present */
	ROOT_MOUNT,    /* mount onto a path checked inside the root */
	ROOT_DEVICE,   /* a host character device, checked, bound in */
	ROOT_SYMLINK,  /* a symbolic link */
	ROOT_MASK,     /* hide a path: empty tmpfs over a directory, /dev/null over a file */
	ROOT_READONLY, /* bind a path read-only onto itself */
	ROOT_SYSCTL,   /* write a /proc/sys file of the container's namespaces */
	ROOT_MKNOD,    /* a device node made in the container (oci.c): the runc CLI's linux.devices */
	ROOT_MOUNT_COPYUP, /* a tmpfs mounted with the directory's contents copied in (copyup.c) */
};

struct root_step {
	enum root_step_kind kind;
	const char *path;          /* in the container; for ROOT_MOUNT the target */
	mode_t mode;               /* ROOT_MKDIR, ROOT_FILE */
	struct mount_spec mount;   /* ROOT_MOUNT */
	const char *host_device;   /* ROOT_DEVICE: the host's node */
	unsigned int major, minor; /* ROOT_DEVICE */
	const char *link_target;   /* ROOT_SYMLINK */
	const char *value;         /* ROOT_SYSCTL: path is relative to /proc/sys */
	char node_type;            /* ROOT_MKNOD: 'c', 'b' or 'p' (mode holds the permission bits) */
	uid_t uid;                 /* ROOT_MKNOD */
	gid_t gid;                 /* ROOT_MKNOD */
};

/* The container's root as an overlay of layers, mounted on the host side (rootfs.c, step 5). */
struct overlay {
	const char *merged, *upper, *work;
	unsigned long flags;       /* MS_* of the mount */
	char **lowers;             /* top first, NULL-terminated */
	int n_lowers;
	int userxattr;             /* whiteouts and opaque marks in user.* (an overlay in a user namespace) */
};

/* setrlimit() of the command's process, before its execve. */
struct rlimit_spec {
	int resource;              /* RLIMIT_NOFILE, ... */
	unsigned long long soft, hard; /* RLIM_INFINITY for unlimited */
};

/* The command and what confines it: the same for a new container and for box exec. */
struct process {
	char **argv;               /* NULL-terminated */
	char **env;                /* NULL-terminated */
	const char *search_path;   /* where a command without a '/' is looked for */
	const char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t groups[PLAN_MAX_GROUPS];
	int ngroups;
	mode_t umask;
	uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
	int no_new_privs;
	int session_keyring;
	struct sock_filter *seccomp; /* NULL: unconfined */
	unsigned short seccomp_len;
	int tty;                   /* a pty of the container's own devpts */
	int stdin_open;            /* -i: the command reads box's stdin; otherwise /dev/null */
	struct rlimit_spec rlimits[PLAN_MAX_LIST];
	int n_rlimits;
	int no_setgroups;          /* its user namespace denies setgroups (one id mapped): keep the groups */
};

struct ipv4_cidr {
	struct in_addr addr;
	unsigned int prefix;
};

struct network {
	int loopback;              /* bring lo up in the new network namespace */
	const char *bridge;        /* NULL: no bridge; made (or reused) before the container */
	struct ipv4_cidr bridge_address;
	unsigned char bridge_mac[6];
	int has_bridge_mac;        /* the bridge's MAC, set when box makes it */
	const char *host_veth;     /* the veth's end on the host, put on veth_bridge */
	const char *veth_bridge;
	const char *container_if;  /* the veth's other end, born in the container's namespace */
	unsigned char container_mac[6];
	int has_container_mac;     /* container_if's MAC, set as it is born */
	struct ipv4_cidr address;  /* of container_if */
	struct in_addr gateway;    /* the default route */
};

struct oom_check {
	const char *events_file;   /* memory.events (v2) or memory.oom_control (v1) */
	const char *when_killed;   /* what to say when the command was killed and the counter rose */
	const char *otherwise;     /* what to say when something else was killed */
};

struct cgroup_removal {
	const char *dir;
	unsigned int tries;        /* a cgroup is busy until the kernel reaped the last process */
	unsigned int interval_ms;
};

struct sysctl {
	const char *path, *value;
};

struct state_file {
	const char *path;          /* NULL: not written */
	mode_t mode;
};

/* --restart: what the supervisor does when the command ended (restart.c). */
enum restart_policy { RESTART_NO, RESTART_ON_FAILURE, RESTART_ALWAYS, RESTART_UNLESS_STOPPED };

struct restart {
	enum restart_policy policy;
	unsigned int max;          /* on-failure: at most this many restarts; 0: no limit */
	unsigned int first_ms;     /* the first back-off; doubled for each restart after it */
	unsigned int cap_ms;       /* the longest back-off */
	unsigned int reset_ms;     /* a run this long starts the back-off over */
	const char *stopped_file;  /* present: a person stopped the container, no restart; or NULL */
};

enum log_format {
	LOG_RAW,                   /* the bytes as the command wrote them, both streams in one */
	LOG_K8S_FILE,              /* CRI lines: timestamp, stream, F|P, content (log.c) */
};

/* ---- What the runc CLI (box-runc) asks for: records of plan_oci.c, carried out by oci.c, hooks.c */

#define PLAN_MAX_HOOKS 32
#define PLAN_MAX_NS_PATHS 8

/* OCI hooks, in the order the runtime spec runs them. */
enum hook_kind {
	HOOK_PRESTART,         /* on the host, the container set up but not pivoted into yet */
	HOOK_CREATE_RUNTIME,   /* the same moment, after the prestart hooks */
	HOOK_CREATE_CONTAINER, /* in the container's namespaces, before pivot_root (container.c) */
	HOOK_START_CONTAINER,  /* in the container, confined, just before the command's execve */
	HOOK_POSTSTART,        /* on the host, once the command runs (run, not create) */
	HOOK_POSTSTOP,         /* on the host, after the container ended and was cleaned up */
	HOOK_KINDS,
};

struct hook {
	enum hook_kind kind;
	const char *path;          /* absolute, executed as it is */
	char **argv;               /* NULL-terminated, argv[0] included */
	char **env;                /* NULL-terminated; NULL: an empty environment */
	unsigned int timeout;      /* seconds; 0: none */
};

/* A namespace joined by its path (/proc/PID/ns/net, /run/netns/NAME) rather than created. */
struct ns_path {
	int type;                  /* CLONE_NEWNET, ... */
	const char *path;
};

enum report_format {
	REPORT_BOX,                /* "box: sentence" on stderr (report.c) */
	REPORT_TEXT,               /* runc's logfmt line: time="..." level=error msg="..." */
	REPORT_JSON,               /* runc's JSON line: {"level":"error","msg":"...","time":"..."} */
};

struct oci {
	int pid1;                  /* the command is the container's PID 1: no box init (container.c) */
	int handoff;               /* return once the command is held (or runs): nothing of box stays, the
				    * container's process is left to the reaper of box's caller (conmon) */
	const char *pidfile;       /* the command's pid alone, as runc writes --pid-file */
	const char *console_socket;/* the pty master goes to this unix socket, not to a relay */
	unsigned short rows, cols; /* the terminal's size, when given */
	struct ns_path ns[PLAN_MAX_NS_PATHS];
	int n_ns;
	int oom_score_adj;
	int has_oom_score_adj;
	const char *domainname;
	unsigned long propagation_root; /* after pivot_root: the root mount's propagation, 0: private */
	struct hook hooks[PLAN_MAX_HOOKS];
	int n_hooks;
	const char *state[3];      /* a hook's stdin: state[0] status state[1] pid state[2] */
	enum report_format report_format;
	const char *report_log;    /* runc's --log: the formatted line goes there, the sentence to stderr */
};

struct plan {
	char *buf;                 /* owns every string below */
	enum plan_mode mode;

	/* The container (MODE_RUN). */
	unsigned long clone_flags; /* namespaces created by clone() */
	int cgroup_ns;             /* unshare(CLONE_NEWCGROUP) after the cgroup join */
	const char *rootfs;        /* host path that becomes / */
	struct overlay overlay;    /* n_lowers 0: none */
	struct mount_spec host_mounts[PLAN_MAX_LIST]; /* made before the root is opened */
	int n_host_mounts;
	struct root_step *root_steps;
	int n_root_steps;
	const char *hostname;      /* NULL: keep */
	struct network net;

	/* The command (MODE_RUN and MODE_EXEC). */
	struct process proc;

	/* The running container to join (MODE_EXEC): its init, and that process's start time; and
	 * whether it has a user and a time namespace of its own to join too. */
	pid_t join_pid;
	unsigned long long join_start;
	int join_user, join_time;

	/* The user namespace (a container's, or a tool's), the time namespace, the user-mode network. */
	struct userns_plan userns;
	struct timens_plan timens;
	struct net_tool_plan net_tool;

	/* On the host. */
	const char *cgroup_procs[PLAN_MAX_LIST]; /* cgroup.procs files the first process goes in */
	int n_cgroup_procs;
	const char *cgroup_tasks[PLAN_MAX_LIST]; /* cgroup v1 tasks files the process writes 0 into */
	int n_cgroup_tasks;
	const char *clone_into;    /* cgroup v2 directory the container is born in, or NULL */
	struct sysctl sysctls[PLAN_MAX_LIST];
	int n_sysctls;
	struct oom_check ooms[PLAN_MAX_LIST];
	int n_ooms;
	struct state_file pidfile; /* "supervisor-pid supervisor-start init-pid init-start" */
	struct state_file exitfile;/* "status oom-killed finished-ms" */

	/* After the container ended, in this order. */
	char **cleanup_exec[PLAN_MAX_LIST]; /* programs (absolute paths) with their arguments */
	int n_cleanup_exec;
	char **cleanup_env;        /* their environment */
	struct cgroup_removal rm_cgroups[PLAN_MAX_RMCGROUPS];
	int n_rm_cgroups;
	const char *cleanup_paths[PLAN_MAX_LIST]; /* removed, never following links nor crossing mounts */
	int n_cleanup_paths;

	/* Detached (MODE_RUN). */
	const char *detach_id;     /* non-NULL: detached; what the caller prints (nothing when empty) */
	struct {
		const char *path;  /* rotated to path.1 past cap bytes */
		long cap;
		mode_t mode;
		enum log_format format;
	} log;
	const char *hold_fifo;     /* stop before the command's execve until released (command.c) */
	struct restart restart;    /* policy RESTART_NO without a restart record */
	const char *console;       /* the socket the supervisor offers the console on (console.c) */

	/* A console client (MODE_ATTACH; in MODE_RUN, the caller of a detached run stays attached). */
	struct {
		const char *socket;    /* MODE_ATTACH: the console to connect to */
		int caller;            /* MODE_RUN: the caller attaches instead of returning */
		unsigned char keys[PLAN_MAX_KEYS]; /* the detach sequence */
		int n_keys;            /* 0: no detach keys */
		int stdin_open;        /* box's stdin goes to the command */
		int sig_proxy;         /* signals box receives go to the command */
	} attach;

	int trace_fd;              /* -1: no step trace (trace.c) */
	const char *delete_link;   /* MODE_DELETE_LINK */

	struct oci oci;            /* what the runc CLI asks for besides (oci.c, hooks.c) */
};

/* plan.c */
int plan_read(int fd, struct plan *p);
/* plan_print.c: the typed plan as stable text, one line per step (box-helper --check). */
int plan_print(const struct plan *p, int fd);
const char *mount_flag_names(unsigned long flags, char *buf, size_t len);
const char *cap_names(uint64_t mask, char *buf, size_t len);
const char *rlimit_name(int resource);
const char *rlimit_text(unsigned long long v, char *buf, size_t len);
/* plan_print_oci.c: the runc CLI's records, printed with plan_print.c's tokens. */
struct root_step;
void print_oci(const struct plan *p);
void print_mknod(const struct root_step *s);
void print_token(const char *s);
void print_tokens(char **v);

/* report.c: the failure of one step, as carried from the container to the supervisor. */
struct report {
	int status;      /* exit status box should end with: 125, 126 or 127; 0 is not a failure but
			  * "held" (the command waits at the plan's hold FIFO) */
	int err;         /* errno, 0 when none applies */
	char msg[500];   /* what was being done, e.g. "cannot mount proc on /proc in the container" */
};
extern struct report g_report;
int fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fail_status(int status, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void report_print(const struct report *r);
const char *report_said(void);
void report_forget(void);
_Noreturn void report_and_exit(int report_w);
int write_all(int fd, const void *buf, size_t len);
int read_all(int fd, void *buf, size_t len);
ssize_t read_small(const char *path, char *buf, size_t len);
ssize_t read_small_at(int dirfd, const char *path, char *buf, size_t len);
int stat_start_time(const char *stat, unsigned long long *start);

/* trace.c: one line per step on the plan's trace fd; nothing at all when there is none. */
extern int g_trace_fd;
extern const char *g_role;
int trace_start(int fd);
void trace_line(const char *file, const char *step, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
const char *trace_token(const char *s);
#define TRACE(step, what, ...) \
	do { \
		if (g_trace_fd >= 0) \
			trace_line(__FILE__, step, what, __VA_ARGS__); \
	} while (0)

/* What a container's process is handed, and keeps until exec: everything else is closed. */
struct channels {
	int report_w;    /* close-on-exec pipe: a struct report, or EOF once the command is executing */
	int sync_r;      /* supervisor -> container: one byte per sync point */
	int console_w;   /* unix socket: the pty master travels to the supervisor (tty only), else -1 */
	int stdio[3];    /* fds to become the command's 0,1,2; -1 keeps what is inherited, -2 is /dev/null */
	int devnull;     /* the host's /dev/null, checked: stdio without a source, and init's */
	int hold_fd;     /* O_PATH fd of the hold FIFO, or -1 */
	int tty_slave;   /* the command's terminal (from the master, TIOCGPTPEER), or -1 */
	int pid_w;       /* exec: the joiner tells the supervisor the command's pid here, else -1 */
};
#define STDIO_INHERIT (-1)
#define STDIO_DEVNULL (-2)

struct cgroup_files;
/* container.c: everything that runs inside the new namespaces, up to the fork of the command. */
_Noreturn void container_main(const struct plan *p, struct channels *ch, struct cgroup_files *cg);
_Noreturn void container_resume(const struct plan *p, struct channels *ch);
int wait_sync(int fd);

/* rootfs.c */
int run_host_mounts(const struct plan *p);
int run_root_steps(const struct plan *p, int rootfd);
int enter_root(int rootfd);
int open_in_root(int rootfd, const char *path, int flags);
/* overlay.c */
int mount_overlay(const struct overlay *o);

/* command.c: the command's process. */
void close_fds_except(const int *keep, int n);
int confine_process(const struct process *proc, const struct channels *ch);
_Noreturn void start_command(const struct process *proc, const struct channels *ch);

/* init.c: PID 1 of the container. */
_Noreturn void init_main(const struct process *proc, pid_t command, int report_w);

/* supervise.c: the host side of a new container. Returns box's exit status. */
int supervise_run(const struct plan *p);
/* exec.c: box exec. Returns box's exit status. */
int supervise_exec(const struct plan *p);

/* stdio.c: shared by both supervisors. */
struct relay;
int prepare_stdio(const struct plan *p, struct channels *ch, struct relay *rl);
int block_signals(struct relay *rl);
int read_report(int fd, struct report *r);
int wait_command(pid_t child, struct relay *rl);
int fail_start(const struct plan *p);

/* host.c */
struct cgroup_files {
	int fd[PLAN_MAX_LIST];     /* cgroup.procs: the supervisor writes the pid */
	int n;
	int tasks[PLAN_MAX_LIST];  /* v1 tasks: the new process writes 0 (join_own_cgroups) */
	int n_tasks;
};
int open_cgroups(const struct plan *p, struct cgroup_files *cg);
int join_cgroups(struct cgroup_files *cg, pid_t pid);
int join_own_cgroups(struct cgroup_files *cg);
void close_tasks(struct cgroup_files *cg);
void close_cgroups(struct cgroup_files *cg);
int prepare_network(const struct plan *p);
int connect_container(const struct plan *p, pid_t pid);
int write_pidfile(const struct plan *p, pid_t init, unsigned int restarts);
void write_exitfile(const struct plan *p, int status, int oom_killed, unsigned int restarts);
void oom_counts(const struct plan *p, long *counts);
int report_oom(const struct plan *p, int status, int *oom_killed, const long *before);
void end_network(const struct plan *p);
void cleanup_after(const struct plan *p);

/* restart.c: whether to start the container again, and the back-off first (spent in relay_wait). */
int restart_wanted(const struct plan *p, unsigned int restarts, const struct relay *rl, int status);
int restart_wait(const struct plan *p, unsigned int restarts, unsigned int *backoff_ms, struct relay *rl, long long ran_ms);
void trace_namespaces(pid_t pid);

/* relay.c: copy bytes between the host's stdio and the container's pipes or pty. */
struct relay {
	int in_from, in_to;       /* host stdin -> container; -1 when not relayed */
	int out_from[2];          /* container stdout, stderr (pipes or pty master); -1 unused */
	int out_to[2];            /* the host's 1 and 2 (unused when detached: the log takes them) */
	struct log *log;          /* detached: output goes here (log.c) */
	int pty_master;           /* -1 without a tty */
	int sigfd;                /* signalfd of the supervisor */
	int child_ends[3];        /* the container's ends of the relay pipes, closed once it has them */
	int stopping;             /* SIGTERM came (box stop): no restart */
};
int relay_run(struct relay *r, pid_t child, int *wstatus);
int relay_wait(struct relay *r, unsigned int ms);
void relay_close(struct relay *r);
int terminal_raw(int fd);
void terminal_restore(void);
void copy_winsize(int from, int to);

/* console.c: the console a detached container's supervisor offers (the attach protocol). */
int open_socket_dir(const char *path, const char **name);
int console_listen(const char *path, int tty);
int console_adopt(int fd);
int console_poll(const struct relay *r, struct pollfd *fds, int n);
void console_events(struct relay *r, const struct pollfd *fds, pid_t child);
int console_blocked(void);
void console_output(int stream, const char *buf, size_t len);
void console_size(int master);
void console_ended(int status, const char *notes);
void console_close(void);

/* attach.c: a client of a console (box run -it's caller, box attach). */
int attach_hello(int sock, int stdin_open);
int attach_relay(int sock, const unsigned char *keys, int n_keys, int stdin_open, int sig_proxy);
int attach_main(const struct plan *p);

/* log.c: a detached container's log. */
struct log *log_open(const struct plan *p);
void log_write(struct log *log, int stream, const char *buf, size_t len);
void log_note(struct log *log, const char *text);
void log_report(struct log *log, const struct report *r);
void log_close(struct log *log);

/* pty.c */
int open_pty_master(int rootfd);
int send_fd(int sock, int fd, const void *data, size_t len);
int recv_fd(int sock);

/* security.c */
int drop_bounding(uint64_t keep);
int set_capabilities(const struct process *proc);
int raise_effective(void);
int confine_init(const struct process *proc);
int join_session_keyring(void);
int install_seccomp(const struct sock_filter *filter, unsigned short len);

/* netlink.c: links, addresses, routes, without iproute2. */
int nl_create_bridge(const char *name, const unsigned char *mac);
int nl_create_veth(const char *host_name, const char *peer_name, pid_t pid, const unsigned char *peer_mac);
int nl_link_up(const char *name, int master);
int nl_add_address(const char *name, const struct ipv4_cidr *cidr);
int nl_default_route(struct in_addr gateway);
int nl_delete_link(const char *name);

/* oci.c: the runc CLI's steps (plan_oci.c reads their records). */
extern const struct oci *g_oci; /* the plan's, once read (the report format and hooks need it) */
pid_t oci_clone(const struct plan *p, int *in_cgroup, pid_t (*clone_fn)(const struct plan *, int *));
int oci_join_namespaces(const struct plan *p);
int oci_set_oom_score_adj(const struct plan *p, pid_t pid);
int oci_set_domainname(const struct plan *p);
int oci_root_propagation(const struct plan *p);
int oci_send_console(const struct plan *p, int master);
int oci_hand_terminal(const struct plan *p, int console_r);
int oci_write_pidfile(const struct plan *p, pid_t pid);
int step_mknod(int rootfd, const struct root_step *s);
/* copyup.c */
int step_mount_copyup(int rootfd, const struct mount_spec *m);
void oci_report_print(const struct report *r);
int oci_command_found(const struct process *proc);
_Noreturn void oci_late_failure(int report_w);
/* hooks.c: OCI hooks, with the container's state on their stdin. */
int has_hooks(const struct oci *o, enum hook_kind kind);
int run_hooks(const struct oci *o, enum hook_kind kind, pid_t pid);
int supervise_hooks(const struct oci *o, int report_r, int sync_w, pid_t pid);

/* cleanup.c */
int remove_tree(const char *path);

#endif
