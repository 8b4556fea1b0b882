//! berth's default seccomp profile. Never looser than Docker's default: every syscall
//! Docker's profile refuses is refused here too, and the capability-gated groups are
//! gated on the same capabilities. Where this profile is tighter the rule says why.
//!
//! Everything not listed fails with EPERM. Notable refusals: the keyring (keyctl,
//! add_key, request_key), io_uring (its submissions bypass per-syscall filtering),
//! userfaultfd, kexec, swapon/swapoff, the kernel's module, boot, clock-setting and raw
//! I/O calls without their capability, and every 32-bit ABI (see the module doc).

use super::profile::{Action, Op, Profile, Rule};

/// The namespace flags `clone` may not pass without CAP_SYS_ADMIN: CLONE_NEWNS,
/// CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
/// CLONE_NEWNET.
pub(crate) const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;
const AF_VSOCK: u64 = 40;

fn allow(why: &str, names: &[&str]) -> Rule {
    Rule::new(Action::Allow, names).why(why)
}

fn allow_with(cap: &str, why: &str, names: &[&str]) -> Rule {
    allow(why, names).with_cap(cap)
}

pub(super) fn profile() -> Profile {
    let mut rules = vec![
        allow(
            "files and directories: open, read, write, inspect, change, link, remove",
            &[
                "access", "chdir", "chmod", "chown", "chown32", "close", "close_range",
                "copy_file_range", "creat", "dup", "dup2", "dup3", "faccessat", "faccessat2",
                "fadvise64", "fadvise64_64", "fallocate", "fchdir", "fchmod", "fchmodat",
                "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
                "flock", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync",
                "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents", "getdents64",
                "ioctl", "lchown", "lchown32", "link", "linkat", "_llseek", "lseek", "lstat",
                "lstat64", "mkdir", "mkdirat", "mknod", "mknodat", "newfstatat", "open",
                "openat", "openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev",
                "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "rename",
                "renameat", "renameat2", "rmdir", "sendfile", "sendfile64", "splice", "stat",
                "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
                "sync_file_range", "syncfs", "tee", "truncate", "truncate64", "umask",
                "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes",
                "vmsplice", "write", "writev", "cachestat",
            ],
        ),
        allow(
            "file handles: creating one is harmless (opening one needs CAP_DAC_READ_SEARCH)",
            &["name_to_handle_at"],
        ),
        allow(
            "extended attributes; the kernel checks namespaces and permissions",
            &[
                "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr",
                "lgetxattr", "listxattr", "llistxattr", "lremovexattr", "lsetxattr",
                "removexattr", "setxattr",
            ],
        ),
        allow(
            "waiting for events: poll, select, epoll, eventfd, signalfd, timerfd, inotify, pipes",
            &[
                "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
                "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
                "fanotify_mark", "inotify_add_watch", "inotify_init", "inotify_init1",
                "inotify_rm_watch", "_newselect", "pipe", "pipe2", "poll", "ppoll",
                "ppoll_time64", "pselect6", "pselect6_time64", "select", "signalfd",
                "signalfd4", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
                "timerfd_settime", "timerfd_settime64",
            ],
        ),
        allow(
            "Linux AIO (io_uring stays refused: its requests are not seen by seccomp)",
            &[
                "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
                "io_pgetevents_time64", "io_setup", "io_submit",
            ],
        ),
        allow(
            "the process's own memory",
            &[
                "brk", "madvise", "map_shadow_stack", "membarrier", "memfd_create",
                "memfd_secret", "mincore", "mlock", "mlock2", "mlockall", "mmap", "mmap2",
                "mprotect", "mremap", "msync", "munlock", "munlockall", "munmap",
                "pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages",
            ],
        ),
        allow(
            "processes and threads (clone is below: its flags are checked)",
            &[
                "execve", "execveat", "exit", "exit_group", "fork", "futex", "futex_requeue",
                "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "get_robust_list",
                "get_thread_area", "getcpu", "getpgid", "getpgrp", "getpid", "getppid",
                "getrandom", "getsid", "gettid", "pidfd_open", "pidfd_send_signal", "prctl",
                "process_mrelease", "restart_syscall", "rseq", "set_robust_list",
                "set_thread_area", "set_tid_address", "setpgid", "setsid", "sysinfo", "uname",
                "vfork", "wait4", "waitid", "waitpid",
            ],
        ),
        allow(
            "confining oneself further",
            &[
                "capget", "capset", "landlock_add_rule", "landlock_create_ruleset",
                "landlock_restrict_self", "seccomp",
            ],
        ),
        allow(
            "scheduling, priorities and resource limits; the kernel checks CAP_SYS_NICE and CAP_SYS_RESOURCE",
            &[
                "getpriority", "getrlimit", "getrusage", "ioprio_get", "ioprio_set",
                "prlimit64", "sched_get_priority_max", "sched_get_priority_min",
                "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
                "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
                "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
                "setpriority", "setrlimit", "times", "ugetrlimit",
            ],
        ),
        allow(
            "user and group ids; the kernel checks CAP_SETUID and CAP_SETGID",
            &[
                "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
                "getgroups", "getgroups32", "getresgid", "getresgid32", "getresuid",
                "getresuid32", "getuid", "getuid32", "setfsgid", "setfsgid32", "setfsuid",
                "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setregid",
                "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32",
                "setreuid", "setreuid32", "setuid", "setuid32",
            ],
        ),
        allow(
            "signals; the PID namespace keeps them inside the container",
            &[
                "alarm", "kill", "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
                "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
                "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sigaltstack", "sigprocmask",
                "sigreturn", "tgkill", "tkill",
            ],
        ),
        allow(
            "reading clocks, sleeping, timers; adjtimex and clock_adjtime only read without CAP_SYS_TIME (glibc reads through clock_adjtime)",
            &[
                "adjtimex", "clock_adjtime", "clock_adjtime64", "clock_getres",
                "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
                "clock_nanosleep_time64", "getitimer", "gettimeofday", "nanosleep",
                "setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun",
                "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
            ],
        ),
        allow(
            "using sockets (creating one is below)",
            &[
                "accept", "accept4", "bind", "connect", "getpeername", "getsockname",
                "getsockopt", "listen", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
                "recvmsg", "send", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
                "socketcall", "socketpair",
            ],
        ),
        allow(
            "System V and POSIX IPC; the IPC namespace keeps it inside the container",
            &[
                "ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
                "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink",
                "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop",
                "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget",
            ],
        ),
        allow(
            "debugging processes of the container: safe since 4.8, when seccomp started to run after ptrace changed a call",
            &["process_vm_readv", "process_vm_writev", "ptrace"],
        )
        .min_kernel(4, 8),
        Rule::new(Action::Errno, &["socket"])
            .why("vsock reaches the host's hypervisor. The kernel reads the family as a 32-bit int, so its low half is what counts (Docker's 64-bit != 40 can be passed by setting a high bit)")
            .errno(libc::EPERM)
            .arg(0, Op::MaskedEqual, 0xFFFF_FFFF, AF_VSOCK),
        allow("every other socket family (raw sockets need CAP_NET_RAW)", &["socket"]),
    ];
    // personality: only the execution domains a Linux program asks for (plain Linux,
    // with address-space layout randomisation off, with the 32-bit uname, or both) and
    // the query, so nothing can switch on READ_IMPLIES_EXEC and the like.
    for value in [0, 0x8, 0x20000, 0x20008, 0xFFFF_FFFF] {
        rules.push(
            allow("personality: Linux domains only", &["personality"]).arg(0, Op::Equal, value, 0),
        );
    }
    rules.extend([
        allow(
            "arm64: cache maintenance and TLS calls of 32-bit-era code",
            &[
                "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
                "cacheflush", "set_tls",
            ],
        )
        .on_arches(&["arm", "arm64"]),
        allow("x86_64: thread-local storage setup", &["arch_prctl"]).on_arches(&["amd64", "x32"]),
        allow("x86: local descriptor tables (Wine, old runtimes)", &["modify_ldt"])
            .on_arches(&["amd64", "x32", "x86"]),
        allow_with(
            "CAP_DAC_READ_SEARCH",
            "opening by file handle reaches files outside the container's root",
            &["open_by_handle_at"],
        ),
        allow_with(
            "CAP_SYS_ADMIN",
            "mounts, namespaces, host-wide tracing and logs: with CAP_SYS_ADMIN the container is trusted with them",
            &[
                "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
                "fspick", "lookup_dcookie", "mount", "mount_setattr", "move_mount",
                "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname",
                "sethostname", "setns", "syslog", "umount", "umount2", "unshare",
            ],
        ),
        allow(
            "clone without namespace flags (new namespaces need CAP_SYS_ADMIN)",
            &["clone"],
        )
        .arg(0, Op::MaskedEqual, CLONE_NAMESPACE_FLAGS, 0)
        .without_cap("CAP_SYS_ADMIN"),
        Rule::new(Action::Errno, &["clone3"])
            .why("clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone")
            .errno(libc::ENOSYS)
            .without_cap("CAP_SYS_ADMIN"),
        allow_with("CAP_SYS_BOOT", "rebooting (the PID namespace makes it end the container)", &["reboot"]),
        allow_with("CAP_SYS_CHROOT", "chroot", &["chroot"]),
        allow_with(
            "CAP_SYS_MODULE",
            "loading kernel modules",
            &["delete_module", "init_module", "finit_module"],
        ),
        allow_with("CAP_SYS_PACCT", "process accounting", &["acct"]),
        allow_with(
            "CAP_SYS_PTRACE",
            "inspecting other processes",
            &[
                "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
                "process_vm_writev", "ptrace",
            ],
        ),
        allow_with("CAP_SYS_RAWIO", "x86 I/O ports", &["iopl", "ioperm"]),
        allow_with(
            "CAP_SYS_TIME",
            "setting the host's clock",
            &["settimeofday", "stime", "clock_settime", "clock_settime64"],
        ),
        allow_with("CAP_SYS_TTY_CONFIG", "hanging up the terminal", &["vhangup"]),
        allow_with(
            "CAP_SYS_NICE",
            "NUMA memory placement",
            &["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"],
        ),
        allow_with("CAP_SYSLOG", "the kernel log", &["syslog"]),
        allow_with("CAP_BPF", "eBPF", &["bpf"]),
        allow_with("CAP_PERFMON", "performance counters", &["perf_event_open"]),
    ]);
    Profile::new(Action::Errno, libc::EPERM as u32, rules)
}

/// berth's default profile in Docker's JSON format, to dump, edit and pass back with
/// `--security-opt seccomp=FILE`.
pub fn berth_default_json() -> String {
    profile().to_json()
}
