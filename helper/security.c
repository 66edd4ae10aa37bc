/*
 * What confines the command beyond its namespaces: capabilities, no_new_privs, a fresh session
 * keyring, and the seccomp filter. The sets and the filter were chosen by the front end; this file
 * only applies them, in the order the kernel requires (see command_main in container.c).
 */
#include <errno.h>
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

/* Effective, permitted and inheritable sets, then the ambient set (cleared, then raised). */
int set_capabilities(const uint64_t caps[5])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(caps[1] >> (32 * i));
		data[i].permitted = (uint32_t)(caps[2] >> (32 * i));
		data[i].inheritable = (uint32_t)(caps[3] >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return fail(errno, "cannot set the command's capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail(errno, "cannot clear the ambient capabilities");
	for (int cap = 0; cap < 64; cap++)
		if ((caps[4] & (1ull << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return fail(errno, "cannot raise ambient capability %d", cap);
	return 0;
}

/* A new anonymous session keyring: the host's keys (and other containers') are out of reach. */
int join_session_keyring(void)
{
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0) < 0 && errno != ENOSYS)
		return fail(errno, "cannot create a session keyring");
	return 0;
}

int install_seccomp(struct sock_filter *filter, unsigned short len)
{
	struct sock_fprog prog = { .len = len, .filter = filter };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return fail(errno, "cannot install the seccomp filter");
	return 0;
}
