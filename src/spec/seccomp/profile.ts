/**
 * box's default seccomp profile, with the semantics of docker's default: everything not listed is
 * refused with EPERM; some calls are allowed only when the container holds the capability that
 * makes them meaningful (and dangerous). x86_64 only; other ABIs (i386 through int 0x80, x32) are
 * refused outright by the filter.
 *
 * io_uring (io_uring_setup, io_uring_enter, io_uring_register) is not listed, so refused: its
 * operations bypass seccomp's per-call view, and it has been a steady source of kernel privilege
 * escalations; docker and containerd dropped it from their defaults in 2023.
 */

/** Always allowed. */
export const ALLOWED = [
  "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset", "chdir",
  "chmod", "chown", "clock_adjtime", "clock_getres", "clock_gettime", "clock_nanosleep", "close", "close_range",
  "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
  "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve",
  "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fallocate", "fanotify_mark", "fchdir",
  "fchmod", "fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr", "flistxattr", "flock",
  "fork", "fremovexattr", "fsetxattr", "fstat", "fstatfs", "fsync", "ftruncate", "futex", "futex_waitv", "futimesat",
  "getcpu", "getcwd", "getdents", "getdents64", "getegid", "geteuid", "getgid", "getgroups", "getitimer",
  "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresuid",
  "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid",
  "gettimeofday", "getuid", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
  "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "ioprio_get", "ioprio_set", "io_setup",
  "io_submit", "kill", "landlock_add_rule",
  "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lgetxattr", "link", "linkat", "listen",
  "listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "madvise", "membarrier", "memfd_create",
  "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
  "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink", "mremap",
  "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at",
  "nanosleep", "newfstatat", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
  "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
  "process_mrelease", "pselect6", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat",
  "readv", "recvfrom", "recvmmsg", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
  "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
  "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
  "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
  "sched_rr_get_interval", "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
  "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "sendfile", "sendmmsg", "sendmsg",
  "sendto", "setfsgid", "setfsuid", "setgid", "setgroups", "setitimer", "setpgid", "setpriority", "setregid",
  "setresgid", "setresuid", "setreuid", "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
  "set_tid_address", "setuid", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
  "signalfd", "signalfd4", "socketpair", "splice", "stat", "statfs", "statx", "symlink", "symlinkat", "sync",
  "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
  "timer_getoverrun", "timer_gettime", "timer_settime", "timerfd_create", "timerfd_gettime", "timerfd_settime",
  "times", "tkill", "truncate", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimes", "vfork",
  "vmsplice", "wait4", "waitid", "write", "writev", "arch_prctl", "modify_ldt",
];

/** Allowed only with a capability: the capability, then the calls it unlocks. */
export const ALLOWED_WITH_CAPABILITY: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["SYS_ADMIN", [
    "bpf", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "mount",
    "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname",
    "sethostname", "setns", "syslog", "umount2", "unshare", "keyctl", "add_key", "request_key",
  ]],
  ["DAC_READ_SEARCH", ["open_by_handle_at"]],
  ["SYS_BOOT", ["reboot", "kexec_load", "kexec_file_load"]],
  ["SYS_CHROOT", ["chroot"]],
  ["SYS_MODULE", ["delete_module", "init_module", "finit_module"]],
  ["SYS_PACCT", ["acct"]],
  ["SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace", "userfaultfd"]],
  ["SYS_RAWIO", ["iopl", "ioperm"]],
  ["SYS_TIME", ["settimeofday", "clock_settime"]],
  ["SYS_TTY_CONFIG", ["vhangup"]],
  ["SYS_NICE", ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]],
  ["SYSLOG", ["syslog"]],
  ["BPF", ["bpf"]],
  ["PERFMON", ["perf_event_open"]],
];

/** The namespace flags of clone(2): refused without SYS_ADMIN (CLONE_NEWNS ... CLONE_NEWNET). */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/** personality(2) values docker allows: PER_LINUX, PER_LINUX32, UNAME26 variants, and the query. */
export const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/** socket(2) families refused: AF_VSOCK (40), as docker does. */
export const REFUSED_SOCKET_FAMILIES = [40];
