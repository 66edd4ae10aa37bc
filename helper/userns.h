/*
 * A container's user namespace, its time namespace, and the user-mode network a rootless container
 * gets: what the plan says of them (plan_records.c reads it; the front end decides every id, path
 * and program). Included by helper.h.
 *
 *   userns.c      the ids (written, or by newuidmap/newgidmap), the mounter (host mounts made in
 *                 the container's mount namespace from outside it: idmapped layers,
 *                 fuse-overlayfs), the time namespace
 *   userns_run.c  the container's first process executed again inside its namespace (rootless),
 *                 clean-up from inside the namespace, and the tool mode (box runs its unpacker,
 *                 or removes a tree, as root of a namespace)
 *   nettool.c     pasta or slirp4netns started for the container's network, stopped after it
 *   plan_userns.c these records, read and printed
 */
#ifndef BOX_USERNS_H
#define BOX_USERNS_H

#include <stdio.h>
#include <sys/types.h>

#define USERNS_MAX_RANGES 16

/* One line of uid_map or gid_map: count ids from inside (in the namespace) to outside (its parent). */
struct id_range {
	unsigned int inside, outside, count;
};

enum mounter_kind {
	MOUNTER_NONE,      /* the container's first process makes its host mounts itself (container.c) */
	MOUNTER_HOST,      /* a process of the supervisor's, with the host's privileges, in the
			    * container's mount namespace: idmapped layers and an overlay on them (root) */
	MOUNTER_CONTAINER, /* the same, as root of the container's user namespace: a FUSE mount whose
			    * daemon stays outside the container's mount and PID namespaces */
};

struct userns_plan {
	struct id_range uid[USERNS_MAX_RANGES], gid[USERNS_MAX_RANGES];
	int n_uid, n_gid;
	const char *uid_tool, *gid_tool; /* newuidmap, newgidmap; NULL: the maps are written directly */
	int deny_setgroups;              /* written to /proc/PID/setgroups before gid_map */
	enum mounter_kind mounter;
	const char *idmap[USERNS_MAX_RANGES]; /* directories covered by an idmapped clone of themselves */
	int n_idmap;
	struct {                         /* a FUSE filesystem the mounter mounts (fuse-overlayfs) */
		const char *target, *fstype, *options;
		char **argv;             /* its daemon; a field "{fd}" becomes /dev/fd/N, the connection */
	} fuse;
	int cleanup_inside;              /* the clean-up paths are removed as root of the user namespace */
	int reexec;                      /* the first process executes the helper again once mapped */
	int tool;                        /* MODE_USERNS: a namespace for a tool (argv) or a removal */
};

struct timens_plan {
	int on;                          /* the container's processes get a time namespace of their own */
	int from_start;                  /* its monotonic and boot-time clocks start at 0 */
};

#define NET_MAX_REQUESTS 64
struct net_tool_plan {
	char **argv;                     /* NULL: none; a field "{pid}" becomes the container's init pid */
	unsigned int ready_ms;           /* how long it may take to say it is ready (on fd 3) */
	const char *api_socket;          /* slirp4netns: where its API listens */
	const char *requests[NET_MAX_REQUESTS]; /* JSON requests sent there once it is ready */
	int n_requests;
};

struct plan;
struct channels;

/* userns.c */
int map_user_namespace(const struct plan *p, pid_t pid);
int write_maps(const struct plan *p, pid_t pid);
int run_mounter(const struct plan *p, pid_t pid);
int enter_time_namespace(const struct plan *p);
/* userns_run.c */
int open_user_namespace(const struct plan *p, pid_t pid);
int remove_inside(const struct plan *p);
int userns_tool(const struct plan *p);
extern int g_plan_fd;
int become_namespace_root(const struct plan *p);
int reexec_in_namespace(const struct plan *p, const struct channels *ch);
int resume_arguments(const char *text, struct channels *ch);

/* plan_userns.c: these records' lines of box-helper --check (token prints one string as a token). */
void userns_print(const struct plan *p, FILE *out, void (*token)(const char *));

/* nettool.c: one tool per supervisor, stopped by the clean-up (host.c). */
int start_net_tool(const struct plan *p, pid_t container);
void stop_net_tool(void);

#endif
