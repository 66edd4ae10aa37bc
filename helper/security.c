/*
 * What confines the command (and the container's init) beyond its namespaces: capabilities,
 * no_new_privs, a fresh session keyring, and the seccomp filter. The sets and the filter were chosen
 * by the front end; this file only applies them, in the order the kernel requires (command.c).
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

/* Removes from the bounding set every capability not in keep: nothing the command execs, setuid
 * binaries included, can get them back. Needs CAP_SETPCAP, so it runs while we are still root. */
int drop_bounding(uint64_t keep)
{
	for (int cap = 0; cap < 64; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			return fail(errno, "cannot drop capability %d from the bounding set", cap);
		}
	}
	return 0;
}

static int capset_all(uint64_t effective, uint64_t permitted, uint64_t inheritable)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(effective >> (32 * i));
		data[i].permitted = (uint32_t)(permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(inheritable >> (32 * i));
	}
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

/* After a change of user with KEEPCAPS the permitted set is kept but the effective one is empty:
 * installing a filter without no_new_privs needs CAP_SYS_ADMIN effective again, for a moment. */
int raise_effective(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return fail(errno, "cannot read the command's capabilities");
	for (int i = 0; i < 2; i++)
		data[i].effective = data[i].permitted;
	return syscall(SYS_capset, &hdr, data) < 0 ? fail(errno, "cannot raise the command's capabilities") : 0;
}

/* Effective, permitted and inheritable sets, then the ambient set (cleared, then raised). */
int set_capabilities(const struct process *proc)
{
	int ret = capset_all(proc->cap_effective, proc->cap_permitted, proc->cap_inheritable);
	if (ret < 0)
		return fail(-ret, "cannot set the command's capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail(errno, "cannot clear the ambient capabilities");
	for (int cap = 0; cap < 64; cap++)
		if ((proc->cap_ambient & (1ull << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return fail(errno, "cannot raise ambient capability %d", cap);
	return 0;
}

/* PID 1 of the container only forwards signals and reaps (init.c). Order: the bounding set while
 * CAP_SETPCAP is held; the command's user (without KEEPCAPS, leaving root clears the sets); every
 * set emptied for a root user too; non-dumpable (a change of user resets it); no_new_privs; the
 * command's filter last. */
int confine_init(const struct process *proc)
{
	int ret;
	if ((ret = drop_bounding(0)) < 0)
		return ret;
	if ((!proc->no_setgroups && setgroups(0, NULL) < 0) || setresgid(proc->gid, proc->gid, proc->gid) < 0 ||
	    setresuid(proc->uid, proc->uid, proc->uid) < 0)
		return fail(errno, "cannot switch the container's init to user %u:%u", (unsigned)proc->uid, (unsigned)proc->gid);
	if ((ret = capset_all(0, 0, 0)) < 0)
		return fail(-ret, "cannot drop the capabilities of the container's init");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail(errno, "cannot clear the ambient capabilities of the container's init");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(errno, "cannot set no_new_privs for the container's init");
	if (proc->seccomp && (ret = install_seccomp(proc->seccomp, proc->seccomp_len)) < 0)
		return ret;
	TRACE("2", "confine-init", "uid=%u gid=%u capabilities=none no-new-privs=1 seccomp-instructions=%u",
	      (unsigned)proc->uid, (unsigned)proc->gid, proc->seccomp ? (unsigned)proc->seccomp_len : 0);
	return 0;
}

/* A new anonymous session keyring: the host's keys (and other containers') are out of reach. */
int join_session_keyring(void)
{
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0) < 0 && errno != ENOSYS)
		return fail(errno, "cannot create a session keyring");
	return 0;
}

int install_seccomp(const struct sock_filter *filter, unsigned short len)
{
	struct sock_fprog prog = { .len = len, .filter = (struct sock_filter *)filter };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return fail(errno, "cannot install the seccomp filter");
	return 0;
}
