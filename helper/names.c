/*
 * Names of the kernel's numbers, from its own headers: mount flags, capabilities, resource
 * limits. The plan's reader checks numbers against them (an unknown bit is refused), --check
 * prints them (plan_print.c), and messages name what failed.
 */
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "helper.h"

static const struct { unsigned long flag; const char *name; } mount_flags[] = {
	{ MS_RDONLY, "ro" }, { MS_NOSUID, "nosuid" }, { MS_NODEV, "nodev" }, { MS_NOEXEC, "noexec" },
	{ MS_SYNCHRONOUS, "sync" }, { MS_REMOUNT, "remount" }, { MS_MANDLOCK, "mand" }, { MS_DIRSYNC, "dirsync" },
	{ MS_NOATIME, "noatime" }, { MS_NODIRATIME, "nodiratime" }, { MS_BIND, "bind" }, { MS_REC, "rec" },
	{ MS_UNBINDABLE, "unbindable" }, { MS_PRIVATE, "private" }, { MS_SLAVE, "slave" }, { MS_SHARED, "shared" },
	{ MS_RELATIME, "relatime" }, { MS_STRICTATIME, "strictatime" }, { MS_LAZYTIME, "lazytime" },
};

static const struct { int cap; const char *name; } capabilities[] = {
	{ CAP_CHOWN, "CHOWN" }, { CAP_DAC_OVERRIDE, "DAC_OVERRIDE" }, { CAP_DAC_READ_SEARCH, "DAC_READ_SEARCH" },
	{ CAP_FOWNER, "FOWNER" }, { CAP_FSETID, "FSETID" }, { CAP_KILL, "KILL" }, { CAP_SETGID, "SETGID" },
	{ CAP_SETUID, "SETUID" }, { CAP_SETPCAP, "SETPCAP" }, { CAP_LINUX_IMMUTABLE, "LINUX_IMMUTABLE" },
	{ CAP_NET_BIND_SERVICE, "NET_BIND_SERVICE" }, { CAP_NET_BROADCAST, "NET_BROADCAST" },
	{ CAP_NET_ADMIN, "NET_ADMIN" }, { CAP_NET_RAW, "NET_RAW" }, { CAP_IPC_LOCK, "IPC_LOCK" },
	{ CAP_IPC_OWNER, "IPC_OWNER" }, { CAP_SYS_MODULE, "SYS_MODULE" }, { CAP_SYS_RAWIO, "SYS_RAWIO" },
	{ CAP_SYS_CHROOT, "SYS_CHROOT" }, { CAP_SYS_PTRACE, "SYS_PTRACE" }, { CAP_SYS_PACCT, "SYS_PACCT" },
	{ CAP_SYS_ADMIN, "SYS_ADMIN" }, { CAP_SYS_BOOT, "SYS_BOOT" }, { CAP_SYS_NICE, "SYS_NICE" },
	{ CAP_SYS_RESOURCE, "SYS_RESOURCE" }, { CAP_SYS_TIME, "SYS_TIME" }, { CAP_SYS_TTY_CONFIG, "SYS_TTY_CONFIG" },
	{ CAP_MKNOD, "MKNOD" }, { CAP_LEASE, "LEASE" }, { CAP_AUDIT_WRITE, "AUDIT_WRITE" },
	{ CAP_AUDIT_CONTROL, "AUDIT_CONTROL" }, { CAP_SETFCAP, "SETFCAP" }, { CAP_MAC_OVERRIDE, "MAC_OVERRIDE" },
	{ CAP_MAC_ADMIN, "MAC_ADMIN" }, { CAP_SYSLOG, "SYSLOG" }, { CAP_WAKE_ALARM, "WAKE_ALARM" },
	{ CAP_BLOCK_SUSPEND, "BLOCK_SUSPEND" }, { CAP_AUDIT_READ, "AUDIT_READ" }, { CAP_PERFMON, "PERFMON" },
	{ CAP_BPF, "BPF" }, { CAP_CHECKPOINT_RESTORE, "CHECKPOINT_RESTORE" },
};

static const struct { int resource; const char *name; } rlimit_names[] = {
	{ RLIMIT_CPU, "RLIMIT_CPU" }, { RLIMIT_FSIZE, "RLIMIT_FSIZE" }, { RLIMIT_DATA, "RLIMIT_DATA" },
	{ RLIMIT_STACK, "RLIMIT_STACK" }, { RLIMIT_CORE, "RLIMIT_CORE" }, { RLIMIT_RSS, "RLIMIT_RSS" },
	{ RLIMIT_NPROC, "RLIMIT_NPROC" }, { RLIMIT_NOFILE, "RLIMIT_NOFILE" }, { RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK" },
	{ RLIMIT_AS, "RLIMIT_AS" }, { RLIMIT_LOCKS, "RLIMIT_LOCKS" }, { RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING" },
	{ RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE" }, { RLIMIT_NICE, "RLIMIT_NICE" }, { RLIMIT_RTPRIO, "RLIMIT_RTPRIO" },
	{ RLIMIT_RTTIME, "RLIMIT_RTTIME" },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The kernel's name of a resource limit, from its own headers. */
const char *rlimit_name(int resource)
{
	for (size_t i = 0; i < COUNT(rlimit_names); i++)
		if (rlimit_names[i].resource == resource)
			return rlimit_names[i].name;
	return "RLIMIT_?";
}

/* A limit as a person reads it: a number, or "unlimited". */
const char *rlimit_text(unsigned long long v, char *buf, size_t len)
{
	if (v == RLIM_INFINITY)
		snprintf(buf, len, "unlimited");
	else
		snprintf(buf, len, "%llu", v);
	return buf;
}

/* Names joined by ',' ("none" for 0), or NULL when a bit has no name. */
static const char *names(uint64_t bits, const char *(*name_of)(int bit), char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (int bit = 0; bit < 64; bit++) {
		if (!(bits & (1ull << bit)))
			continue;
		const char *name = name_of(bit);
		if (name == NULL)
			return NULL;
		int n = snprintf(buf + at, len - at, "%s%s", at ? "," : "", name);
		if (n < 0 || (size_t)n >= len - at)
			return NULL;
		at += (size_t)n;
	}
	return at ? buf : "none";
}

static const char *mount_flag_name(int bit)
{
	for (size_t i = 0; i < COUNT(mount_flags); i++)
		if (mount_flags[i].flag == 1ul << bit)
			return mount_flags[i].name;
	return NULL;
}

static const char *cap_name(int bit)
{
	for (size_t i = 0; i < COUNT(capabilities); i++)
		if (capabilities[i].cap == bit)
			return capabilities[i].name;
	return NULL;
}

const char *mount_flag_names(unsigned long flags, char *buf, size_t len)
{
	return names(flags, mount_flag_name, buf, len);
}

const char *cap_names(uint64_t mask, char *buf, size_t len)
{
	return names(mask, cap_name, buf, len);
}
