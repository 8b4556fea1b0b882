//! The escape battery: every classic way out of a container, tried from inside a
//! default container with the probe (testsupport/probe/probe.c) and checked twice: the
//! attempt is refused (by the mechanism we expect, where the errno tells it apart) and
//! the host is unchanged. Where an opt-out exists, the same attempt must succeed with
//! it, which proves the probe is real and the opt-out does what it says.
//! SECURITY.md is the table of these results.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use libc::{EACCES, ENOENT, ENOSYS, EPERM, EROFS, ESRCH, ESTALE, EXDEV};
use testsupport::probe::{file_digest, probe_rootfs, probe_rootfs_copy, Outcome};
use testsupport::{stderr, stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

const SECCOMP_OFF: &[&str] = &["--security-opt", "seccomp=unconfined"];
const LANDLOCK_OFF: &[&str] = &["--security-opt", "landlock=unconfined"];
const PRIVILEGED: &[&str] = &["--privileged"];

fn host_hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

fn read_trim(path: &str) -> String {
    fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Starts a detached container from the probe rootfs; returns its id.
fn detached(b: &Berth, opts: &[&str], cmd: &[&str]) -> String {
    let rootfs = probe_rootfs().to_string_lossy().into_owned();
    let mut args = vec!["run", "-d"];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["--rootfs", &rootfs]);
    args.extend_from_slice(cmd);
    b.ok(&args)
}

/// The container's PID 1 as the host sees it.
fn host_pid(b: &Berth, ctr: &str) -> String {
    let pid = b.ok(&["inspect", "-f", "{{.State.Pid}}", ctr]);
    assert!(
        pid.parse::<u32>().is_ok_and(|p| p > 1),
        "pid of {ctr}: {pid}"
    );
    pid
}

/// Names in the host's `/` that the probe rootfs does not have: if one shows up in a
/// container's listing, the container is looking at the host's root.
fn host_only_root_entries() -> BTreeSet<String> {
    let names = |p: &Path| -> BTreeSet<String> {
        fs::read_dir(p)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    let host = names(Path::new("/"));
    let ours = names(probe_rootfs());
    let host_only: BTreeSet<String> = host.difference(&ours).cloned().collect();
    assert!(
        !host_only.is_empty(),
        "the host root must have names the fixture lacks"
    );
    host_only
}

fn assert_no_host_entries(listing: &str, what: &str) {
    let host_only = host_only_root_entries();
    for line in listing.lines() {
        for word in line.split_whitespace() {
            let word = word.trim_start_matches("| ");
            assert!(
                !host_only.contains(word),
                "{what}: the host's root (`{word}`) is visible:\n{listing}"
            );
        }
    }
}

/// A host process outside every container, killed when dropped.
struct HostProcess(Child);

impl HostProcess {
    fn sleep() -> HostProcess {
        HostProcess(
            Command::new("sleep")
                .arg("120")
                .stdin(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }

    fn assert_untouched(&mut self) {
        assert!(
            self.0.try_wait().unwrap().is_none(),
            "the host process is still running"
        );
        let status = fs::read_to_string(format!("/proc/{}/status", self.0.id())).unwrap();
        assert!(
            status.contains("TracerPid:\t0\n"),
            "nobody traces the host process: {status}"
        );
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn host_mountpoints() -> BTreeSet<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .collect()
}

/// (major, minor) of the device holding the host's root file system.
fn host_root_device() -> (u64, u64) {
    let dev = fs::metadata("/").unwrap().dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major, minor)
}

/// Host realtime minus monotonic, in seconds: moves only when someone sets the clock.
fn clock_offset() -> f64 {
    let rt = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let mono = read_trim("/proc/uptime")
        .split_whitespace()
        .next()
        .unwrap()
        .parse::<f64>()
        .unwrap();
    rt - mono
}

// ------------------------------------------------------------------ mounts

#[test]
fn mounting_and_unmounting_are_denied() {
    let b = berth();
    let before = host_mountpoints();
    b.probe(&[], "mount", &[])
        .assert_errno(&[EPERM], "mount of a tmpfs in a default container");
    b.probe(&[], "umount", &["/etc/hosts"])
        .assert_errno(&[EPERM], "umount of the runtime's /etc/hosts");
    b.probe(&[], "umount", &["/proc"])
        .assert_errno(&[EPERM], "umount of /proc (uncovering masked paths)");
    // Seccomp is not the only wall: without it the missing CAP_SYS_ADMIN still refuses.
    b.probe(SECCOMP_OFF, "mount", &[])
        .assert_errno(&[EPERM], "mount without seccomp, without CAP_SYS_ADMIN");
    // With the capability and no seccomp, Landlock still forbids any mount (a Landlock
    // domain that restricts the file system may not change the mount tree).
    b.probe(
        &[&["--cap-add", "SYS_ADMIN"], SECCOMP_OFF].concat(),
        "mount",
        &[],
    )
    .assert_errno(
        &[EPERM],
        "mount with CAP_SYS_ADMIN but the default Landlock ruleset",
    );
    // The opt-outs: all three layers off, or --privileged.
    b.probe(
        &[&["--cap-add", "SYS_ADMIN"], SECCOMP_OFF, LANDLOCK_OFF].concat(),
        "mount",
        &[],
    )
    .assert_ok("mount with CAP_SYS_ADMIN, seccomp and Landlock unconfined");
    b.probe(PRIVILEGED, "mount", &[])
        .assert_ok("mount in a --privileged container");
    b.probe(PRIVILEGED, "umount", &["/etc/hosts"])
        .assert_ok("umount in a --privileged container");
    assert_eq!(
        host_mountpoints(),
        before,
        "the container's mounts never reach the host"
    );
}

// -------------------------------------------------------------- namespaces

#[test]
fn user_and_other_namespaces_cannot_be_created() {
    let b = berth();
    let out = b.probe_sh(
        &[],
        "probe userns; probe userns_clone; probe unshare@user user; probe unshare@net net; \
         probe unshare@mnt mnt; probe clone3; probe clone3@userns userns",
    );
    for a in ["userns", "userns_clone", "unshare@user"] {
        Outcome::parse(a, &out).assert_errno(&[EPERM], "creating a user namespace");
    }
    for a in ["unshare@net", "unshare@mnt"] {
        Outcome::parse(a, &out).assert_errno(&[EPERM], "creating a namespace");
    }
    // clone3 hides its flags from seccomp, so the filter must refuse it as a whole with
    // ENOSYS (libc then falls back to clone, which the filter can inspect).
    for a in ["clone3", "clone3@userns"] {
        Outcome::parse(a, &out).assert_errno(&[ENOSYS], "clone3 under the default seccomp");
    }
    // Seccomp is what stops user namespaces (they need no capability).
    b.probe(SECCOMP_OFF, "userns", &[])
        .assert_ok("a user namespace with seccomp unconfined");
    // Other namespaces also need CAP_SYS_ADMIN.
    b.probe(SECCOMP_OFF, "unshare", &["net"])
        .assert_errno(&[EPERM], "a network namespace without CAP_SYS_ADMIN");
}

#[test]
fn setns_into_host_or_other_namespaces_fails() {
    let b = berth();
    let mut host = HostProcess::sleep();
    let other = detached(&b, &["--name", "other"], &["sleep", "120"]);
    let other_pid = host_pid(&b, &other);
    let script = format!(
        "probe setns@own /proc/1/ns/net; probe setns@host /proc/{h}/ns/net; \
         probe setns@hostmnt /proc/{h}/ns/mnt; probe setns@other /proc/{o}/ns/mnt",
        h = host.pid(),
        o = other_pid
    );
    let out = b.probe_sh(&[], &script);
    Outcome::parse("setns@own", &out).assert_errno(&[EPERM], "setns without CAP_SYS_ADMIN");
    // Host and other containers' pids do not exist in the container's PID namespace, so
    // their namespace files cannot even be named.
    for a in ["setns@host", "setns@hostmnt", "setns@other"] {
        Outcome::parse(a, &out).assert_errno(&[ENOENT], "setns into a foreign namespace");
    }
    let out = b.probe_sh(PRIVILEGED, &script);
    Outcome::parse("setns@own", &out).assert_ok("setns into its own namespace, --privileged");
    for a in ["setns@host", "setns@hostmnt", "setns@other"] {
        Outcome::parse(a, &out).assert_errno(
            &[ENOENT],
            "setns into a foreign namespace, even --privileged",
        );
    }
    host.assert_untouched();
}

// ------------------------------------------------------- kernel facilities

#[test]
fn keyctl_is_denied_by_seccomp() {
    let b = berth();
    b.probe(&[], "keyctl", &[])
        .assert_errno(&[EPERM], "add_key to the (host-wide) session keyring");
    b.probe(SECCOMP_OFF, "keyctl", &[])
        .assert_ok("add_key with seccomp unconfined");
}

#[test]
fn bpf_is_denied() {
    let b = berth();
    b.probe(&[], "bpf", &[])
        .assert_errno(&[EPERM], "BPF_PROG_LOAD of a socket filter");
    b.probe(&[], "bpf", &["map"])
        .assert_errno(&[EPERM], "BPF_MAP_CREATE");
    if read_trim("/proc/sys/kernel/unprivileged_bpf_disabled") != "0" {
        b.probe(SECCOMP_OFF, "bpf", &[]).assert_errno(
            &[EPERM],
            "BPF_PROG_LOAD without CAP_BPF (unprivileged bpf is disabled)",
        );
    }
    b.probe(PRIVILEGED, "bpf", &[])
        .assert_ok("BPF_PROG_LOAD in a --privileged container");
}

#[test]
fn perf_event_open_is_denied_by_seccomp() {
    let b = berth();
    b.probe(&[], "perf", &[])
        .assert_errno(&[EPERM], "perf_event_open of a software counter");
    let paranoid: i32 = read_trim("/proc/sys/kernel/perf_event_paranoid")
        .parse()
        .unwrap_or(3);
    if paranoid <= 2 {
        b.probe(SECCOMP_OFF, "perf", &[])
            .assert_ok("a user-space-only counter with seccomp unconfined");
    }
    b.probe(PRIVILEGED, "perf", &[])
        .assert_ok("perf_event_open in a --privileged container");
}

#[test]
fn kexec_and_kernel_modules_are_denied() {
    let b = berth();
    for a in ["kexec", "init_module", "finit_module"] {
        b.probe(&[], a, &[])
            .assert_errno(&[EPERM], "seccomp refuses it");
        // Without seccomp: the missing capability (EPERM), or a kernel built without
        // kexec/modules (ENOSYS), but never a success.
        b.probe(SECCOMP_OFF, a, &[])
            .assert_errno(&[EPERM, ENOSYS], "without seccomp");
    }
}

#[test]
fn io_uring_and_vsock_follow_the_default_profile() {
    let b = berth();
    b.probe(&[], "io_uring", &[])
        .assert_errno(&[EPERM], "io_uring_setup under the default seccomp");
    b.probe(SECCOMP_OFF, "io_uring", &[])
        .assert_ok("io_uring_setup with seccomp unconfined");
    b.probe(&[], "vsock", &[])
        .assert_errno(&[EPERM], "socket(AF_VSOCK) under the default seccomp");
    b.probe(SECCOMP_OFF, "vsock", &[])
        .assert_ok("socket(AF_VSOCK) with seccomp unconfined");
}

// ---------------------------------------------------------------- processes

#[test]
fn host_and_other_container_processes_cannot_be_traced_or_signalled() {
    let b = berth();
    let mut host = HostProcess::sleep();
    let other = detached(&b, &["--name", "victim"], &["sleep", "120"]);
    let other_pid = host_pid(&b, &other);
    let script = format!(
        "probe ptrace@host {h}; probe ptrace@other {o}; probe kill@host {h} 9; \
         probe kill@other {o} 9; sleep 30 & probe ptrace@own $!; kill $!",
        h = host.pid(),
        o = other_pid
    );
    for opts in [
        &[][..],
        &[
            "--cap-add",
            "SYS_PTRACE",
            "--security-opt",
            "seccomp=unconfined",
        ][..],
        PRIVILEGED,
    ] {
        let out = b.probe_sh(opts, &script);
        for a in ["ptrace@host", "ptrace@other", "kill@host", "kill@other"] {
            Outcome::parse(a, &out).assert_errno(
                &[ESRCH],
                &format!("{a} with {opts:?}: the pid is not in the container's PID namespace"),
            );
        }
        // ptrace itself is allowed (debuggers work): the namespace is the wall.
        Outcome::parse("ptrace@own", &out).assert_ok("ptrace of a process of the container");
    }
    host.assert_untouched();
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.State.Running}}", "victim"]),
        "true",
        "the other container was not killed"
    );
}

// ------------------------------------------------------------ /proc and /sys

#[test]
fn kernel_tunables_and_sysrq_cannot_be_written() {
    let b = berth();
    let hostname = host_hostname();
    let core_pattern = read_trim("/proc/sys/kernel/core_pattern");
    let panic = read_trim("/proc/sys/kernel/panic");
    // Values the host already has: even a success would change nothing on the host.
    let script = format!(
        "probe write@sysrq /proc/sysrq-trigger h; probe write@hostname /proc/sys/kernel/hostname evil; \
         probe write@core_pattern /proc/sys/kernel/core_pattern '{core_pattern}'; \
         probe write@panic /proc/sys/kernel/panic {panic}; \
         probe write@uevent /sys/kernel/uevent_helper ''"
    );
    let out = b.probe_sh(&[], &script);
    // sysrq-trigger is read-only in the container, or absent from this kernel.
    Outcome::parse("write@sysrq", &out).assert_errno(&[EROFS, ENOENT], "/proc/sysrq-trigger");
    for a in ["write@hostname", "write@core_pattern", "write@panic"] {
        Outcome::parse(a, &out).assert_errno(&[EROFS], "/proc/sys is mounted read-only");
    }
    Outcome::parse("write@uevent", &out).assert_errno(&[EROFS, ENOENT], "/sys is read-only");
    assert_eq!(host_hostname(), hostname);
    assert_eq!(read_trim("/proc/sys/kernel/core_pattern"), core_pattern);
    // systempaths=unconfined makes /proc/sys writable; the hostname is still the UTS
    // namespace's, not the host's.
    let out = b.probe_sh(
        &["--security-opt", "systempaths=unconfined"],
        "probe write@hostname /proc/sys/kernel/hostname evil-uts; hostname",
    );
    Outcome::parse("write@hostname", &out).assert_ok("/proc/sys with systempaths=unconfined");
    assert!(stdout(&out).contains("evil-uts\n"), "{}", stdout(&out));
    assert_eq!(
        host_hostname(),
        hostname,
        "the host's hostname is unchanged"
    );
}

#[test]
fn kernel_memory_and_host_wide_proc_files_are_masked() {
    let b = berth();
    let out = b.probe_sh(
        &[],
        "probe read@kcore /proc/kcore; probe read@keys /proc/keys; \
         probe read@timer_list /proc/timer_list; probe read@sched_debug /proc/sched_debug; \
         probe ls@firmware /sys/firmware",
    );
    for a in [
        "read@kcore",
        "read@keys",
        "read@timer_list",
        "read@sched_debug",
        "ls@firmware",
    ] {
        let o = Outcome::parse(a, &out);
        // Masked (bound to /dev/null or an empty tmpfs: reads nothing) or absent.
        assert!(
            (o.ok && o.details.is_empty()) || o.errno == Some(ENOENT),
            "{a} must be masked: {o}"
        );
    }
    // The opt-out unmasks them.
    let o = b.probe(
        &["--security-opt", "systempaths=unconfined"],
        "read",
        &["/proc/timer_list"],
    );
    o.assert_ok("timer_list with systempaths=unconfined");
    assert!(!o.details.is_empty(), "{o}");
}

#[test]
fn the_host_filesystem_is_unreachable_through_proc_links_and_chroot() {
    let b = berth();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("host-marker");
    fs::write(&marker, "host secret\n").unwrap();
    let m = marker.display().to_string();
    let script = format!(
        "probe read@proc1root /proc/1/root{m}; probe read@selfroot /proc/self/root{m}; \
         probe read@cwd /proc/self/cwd/../../../../../../..{m}; \
         probe read@proc1cwd /proc/1/cwd/../../../../../../..{m}; \
         probe chroot_escape {m}; probe ls@root /proc/1/root/"
    );
    for opts in [&[][..], PRIVILEGED] {
        let out = b.probe_sh(opts, &script);
        for a in [
            "read@proc1root",
            "read@selfroot",
            "read@cwd",
            "read@proc1cwd",
        ] {
            Outcome::parse(a, &out).assert_errno(
                &[ENOENT],
                &format!("{a} with {opts:?}: the container's root is the end of every path"),
            );
        }
        let o = Outcome::parse("chroot_escape", &out);
        o.assert_denied(&format!(
            "chroot-in-chroot walk with {opts:?}: pivot_root left no host root above"
        ));
        let ls = Outcome::parse("ls@root", &out);
        ls.assert_ok("listing /proc/1/root");
        assert_no_host_entries(&ls.details.join("\n"), "/proc/1/root");
        assert!(!stdout(&out).contains("host secret"), "{}", stdout(&out));
    }
}

#[test]
fn open_by_handle_at_cannot_reach_the_host_root() {
    let b = berth();
    // The "shocker" exploit: a handle for inode 2 of the file system behind the bind-
    // mounted /etc/hosts. Seccomp refuses the call, and without seccomp the missing
    // CAP_DAC_READ_SEARCH does.
    b.probe(&[], "open_by_handle", &[])
        .assert_errno(&[EPERM], "open_by_handle_at under the default seccomp");
    b.probe(SECCOMP_OFF, "open_by_handle", &[])
        .assert_errno(&[EPERM], "open_by_handle_at without CAP_DAC_READ_SEARCH");
    // The probe is real: --privileged is not a sandbox, and it reaches the root of the
    // file system holding the state root.
    let o = b.probe(PRIVILEGED, "open_by_handle", &[]);
    o.assert_ok("open_by_handle_at in a --privileged container");
    if fs::metadata(b.root()).unwrap().dev() == fs::metadata("/").unwrap().dev() {
        let host_only = host_only_root_entries();
        assert!(
            o.details.iter().any(|d| host_only.contains(d)),
            "--privileged reached the host's root directory: {o}"
        );
    }
}

#[test]
fn another_containers_files_are_unreachable_through_proc() {
    let b = berth();
    let a = detached(
        &b,
        &["--name", "ctr-a"],
        &["sh", "-c", "echo s3cret-of-a > /secret; sleep 120"],
    );
    assert!(b.eventually(5, || b
        .run(&["exec", "ctr-a", "test", "-f", "/secret"])
        .status
        .success()));
    let pid = host_pid(&b, &a);
    let script = format!(
        "probe read@root /proc/{pid}/root/secret; probe read@environ /proc/{pid}/environ; \
         probe ls@proc /proc"
    );
    for opts in [&[][..], PRIVILEGED] {
        let out = b.probe_sh(opts, &script);
        for at in ["read@root", "read@environ"] {
            Outcome::parse(at, &out).assert_errno(
                &[ENOENT],
                &format!("{at} of container a from container b with {opts:?}"),
            );
        }
        let ls = Outcome::parse("ls@proc", &out);
        ls.assert_ok("listing /proc");
        assert!(
            !ls.details.iter().any(|d| d == &pid),
            "a's pid {pid} is not in b's /proc: {ls}"
        );
        assert!(!stdout(&out).contains("s3cret-of-a"), "{}", stdout(&out));
    }
}

// ----------------------------------------------------------- sockets, devices

#[test]
fn raw_sockets_are_granted_like_docker_and_go_with_cap_drop_net_raw() {
    let b = berth();
    b.probe(&[], "rawsock", &[])
        .assert_ok("a raw ICMP socket with Docker's default NET_RAW");
    b.probe(&["--cap-drop", "NET_RAW"], "rawsock", &[])
        .assert_errno(&[EPERM], "a raw socket after --cap-drop NET_RAW");
    b.probe(&["--cap-drop", "ALL"], "rawsock", &[])
        .assert_errno(&[EPERM], "a raw socket after --cap-drop ALL");
}

#[test]
fn device_nodes_cannot_be_created_and_host_disks_cannot_be_opened() {
    let b = berth();
    let (major, minor) = host_root_device();
    let script = format!(
        "probe mknod_block /tmp/disk {major} {minor}; probe read@disk /tmp/disk; \
         probe mknod_char /tmp/null 1 3; probe read@null /tmp/null"
    );
    let out = b.probe_sh(&[], &script);
    // The default Landlock ruleset forbids device nodes, whatever CAP_MKNOD says.
    Outcome::parse("mknod_block", &out).assert_errno(
        &[EACCES],
        "mknod of the host's root disk (default Landlock ruleset)",
    );
    Outcome::parse("read@disk", &out).assert_denied("opening the host disk");
    Outcome::parse("mknod_char", &out).assert_errno(
        &[EACCES],
        "mknod of a character device (default Landlock ruleset)",
    );
    // Without Landlock, CAP_MKNOD creates the node, but the device cgroup still refuses
    // to open the host disk; /dev/null's numbers are allowed, as in Docker.
    let out = b.probe_sh(LANDLOCK_OFF, &script);
    Outcome::parse("mknod_block", &out).assert_ok("mknod with CAP_MKNOD, Landlock unconfined");
    Outcome::parse("read@disk", &out).assert_errno(
        &[EPERM],
        "opening the host disk through a fresh node: the device cgroup",
    );
    Outcome::parse("mknod_char", &out).assert_ok("mknod of 1:3, Landlock unconfined");
    Outcome::parse("read@null", &out).assert_ok("reading a fresh /dev/null node");
    let out = b.probe_sh(&[LANDLOCK_OFF, &["--cap-drop", "MKNOD"]].concat(), &script);
    Outcome::parse("mknod_block", &out).assert_errno(&[EPERM], "mknod after --cap-drop MKNOD");
}

#[test]
fn files_under_dev_and_anonymous_files_cannot_be_executed() {
    let b = berth();
    let out = b.probe_sh(
        &[],
        "cp /bin/probe /dev/shm/p; cp /bin/probe /tmp/p; probe exec@shm /dev/shm/p; \
         probe exec@tmp /tmp/p; probe exec_memfd",
    );
    Outcome::parse("exec@shm", &out).assert_errno(&[EACCES], "executing from /dev/shm");
    Outcome::parse("exec_memfd", &out).assert_errno(
        &[EACCES, EPERM],
        "executing a memfd (a file-less payload) under the defaults",
    );
    Outcome::parse("exec@tmp", &out).assert_ok("executing a copy in /tmp");
    // The wall is the PID namespace's vm.memfd_noexec=2, not Landlock (which cannot
    // see memfds); the opt-out is the sysctl itself.
    b.probe(LANDLOCK_OFF, "exec_memfd", &[]).assert_errno(
        &[EACCES, EPERM],
        "executing a memfd with Landlock unconfined",
    );
    b.probe(&["--sysctl", "vm.memfd_noexec=0"], "exec_memfd", &[])
        .assert_ok("executing a memfd with --sysctl vm.memfd_noexec=0");
}

// ------------------------------------------------------------------- host

#[test]
fn the_host_hostname_cannot_be_changed() {
    let b = berth();
    let before = host_hostname();
    b.probe(&[], "sethostname", &["evil"])
        .assert_errno(&[EPERM], "sethostname without CAP_SYS_ADMIN");
    assert_eq!(host_hostname(), before);
    // With the capability it works, on the container's UTS namespace only.
    let out = b.probe_sh(
        &["--cap-add", "SYS_ADMIN"],
        "probe sethostname evil-ns; hostname",
    );
    Outcome::parse("sethostname", &out).assert_ok("sethostname with CAP_SYS_ADMIN");
    assert!(stdout(&out).ends_with("evil-ns\n"), "{}", stdout(&out));
    assert_eq!(host_hostname(), before, "the host's hostname is unchanged");
}

#[test]
fn the_host_clock_cannot_be_set() {
    let b = berth();
    let before = clock_offset();
    // Two seconds ahead: enough to see, harmless if it ever got through.
    b.probe(&[], "settime", &["2"])
        .assert_errno(&[EPERM], "clock_settime under the default seccomp");
    b.probe(SECCOMP_OFF, "settime", &["2"])
        .assert_errno(&[EPERM], "clock_settime without CAP_SYS_TIME");
    let drift = (clock_offset() - before).abs();
    assert!(drift < 1.0, "the host clock moved by {drift}s");
    // The clock is not namespaced: --privileged sets the host's (to the time it has).
    b.probe(PRIVILEGED, "settime", &["0"])
        .assert_ok("clock_settime in a --privileged container");
}

// ---------------------------------------------------------------- Landlock

/// An allow-list: binaries run from /bin, /data is read-only, /tmp read-write.
const POLICY: &[&str] = &[
    "--security-opt",
    "landlock.exec=/bin",
    "--security-opt",
    "landlock.ro=/data",
    "--security-opt",
    "landlock.rw=/tmp",
];

const RO_TRICKS: &str = "probe write /data/seed.txt x; \
     probe rename@file /data/seed.txt /tmp/seed.txt; \
     probe link@file /data/seed.txt /tmp/seed-link; \
     probe rename@dir /data /tmp/data; \
     probe symlink@swap /tmp /data/evil; \
     probe opath_write /data/seed.txt x; \
     probe truncate /data/seed.txt; \
     mv /data/seed.txt /tmp/mv-seed 2>/dev/null; \
     ln /data/seed.txt /tmp/ln-seed 2>/dev/null && echo linked >> /tmp/ln-seed; \
     probe read@after /data/seed.txt";

#[test]
fn a_landlock_read_only_path_survives_rename_link_and_reopen_tricks() {
    let b = berth();
    let out = b.probe_sh(POLICY, RO_TRICKS);
    Outcome::parse("write", &out).assert_errno(&[EACCES], "writing a read-only file");
    // Moving or linking a file out of the read-only tree (where it could be written) is
    // a reparenting Landlock refuses (EXDEV), or a removal it refuses (EACCES).
    for a in ["rename@file", "link@file", "rename@dir"] {
        Outcome::parse(a, &out).assert_errno(&[EXDEV, EACCES], a);
    }
    Outcome::parse("symlink@swap", &out)
        .assert_errno(&[EACCES], "creating a symlink in a read-only directory");
    Outcome::parse("opath_write", &out).assert_errno(
        &[EACCES],
        "reopening an O_PATH fd for writing via /proc/self/fd",
    );
    Outcome::parse("truncate", &out).assert_errno(&[EACCES], "truncating a read-only file");
    let after = Outcome::parse("read@after", &out);
    after.assert_ok("reading the read-only file afterwards");
    assert_eq!(after.details, ["seeded"], "the file is unchanged: {after}");
    // Without the policy the default ruleset lets the same rename through.
    b.probe(&[], "rename", &["/data/seed.txt", "/tmp/seed.txt"])
        .assert_ok("rename without a Landlock policy");
}

#[test]
fn a_landlock_read_only_host_bind_mount_is_never_modified() {
    let b = berth();
    let host = tempfile::tempdir().unwrap();
    fs::write(host.path().join("seed.txt"), "seeded\n").unwrap();
    let bind = format!("{}:/data", host.path().display());
    let out = b.probe_sh(&[POLICY, &["-v", &bind]].concat(), RO_TRICKS);
    for a in [
        "write",
        "rename@file",
        "link@file",
        "rename@dir",
        "symlink@swap",
        "opath_write",
        "truncate",
    ] {
        Outcome::parse(a, &out).assert_denied(&format!("{a} on a read-only host bind mount"));
    }
    let names: Vec<String> = fs::read_dir(host.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["seed.txt"],
        "nothing was added or removed on the host"
    );
    assert_eq!(
        fs::read_to_string(host.path().join("seed.txt")).unwrap(),
        "seeded\n"
    );
}

#[test]
fn a_landlock_policy_limits_tcp_ports() {
    let b = berth();
    let out = b.probe_sh(
        &[
            "--security-opt",
            "landlock.exec=/bin",
            "--security-opt",
            "landlock.bind-tcp=8080",
            "--security-opt",
            "landlock.connect-tcp=8080",
        ],
        "probe bind_tcp@allowed 8080; probe bind_tcp@denied 8081; \
         probe connect_tcp@allowed 8080; probe connect_tcp@denied 8081",
    );
    Outcome::parse("bind_tcp@allowed", &out).assert_ok("binding the allowed port");
    Outcome::parse("bind_tcp@denied", &out).assert_errno(&[EACCES], "binding another port");
    // Allowed by Landlock, refused by the empty loopback: the kernel got to try.
    Outcome::parse("connect_tcp@allowed", &out)
        .assert_errno(&[libc::ECONNREFUSED], "connecting to the allowed port");
    Outcome::parse("connect_tcp@denied", &out)
        .assert_errno(&[EACCES], "connecting to another port");
}

// ------------------------------------------------------ runtime CVEs

/// A copy of the probe rootfs plus the dynamic loader and libraries berth links
/// against: without them the kernel cannot even start a re-executed berth inside the
/// container (ENOENT), and the CVE-2019-5736 test would prove nothing.
fn rootfs_that_can_run_berth(dest: &Path) {
    probe_rootfs_copy(dest);
    let out = Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_berth"))
        .output()
        .expect("ldd");
    for line in stdout(&out).lines() {
        let path = match line.split_once("=> ") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        let Some(path) = path.filter(|p| p.starts_with('/')) else {
            continue;
        };
        let to = dest.join(path.trim_start_matches('/'));
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(path, &to).unwrap();
    }
}

/// CVE-2019-5736: a container makes the runtime execute itself inside the container
/// (`#!/proc/self/exe` as the program `exec` runs), then reopens the runtime's binary
/// for writing through /proc/PID/exe. The victim is a disposable copy of berth.
#[test]
fn cve_2019_5736_the_berth_binary_cannot_be_overwritten_through_proc_exe() {
    let b = berth();
    let original = PathBuf::from(env!("CARGO_BIN_EXE_berth"));
    let orig_before = file_digest(&original);
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    rootfs_that_can_run_berth(&rootfs);
    let rootfs = rootfs.display().to_string();
    let mut failures = Vec::new();
    // Landlock is what stops the re-exec: the default ruleset, or with Landlock turned
    // off the runtime guard (execute allowed only beneath the container's root). Not
    // tested: --privileged, which is host root by design (every host device, all
    // capabilities) and so can overwrite any host file without this trick; SECURITY.md
    // says so.
    for (i, opts) in [&[][..], LANDLOCK_OFF].into_iter().enumerate() {
        let victim = dir.path().join(format!("berth-victim{i}"));
        fs::copy(&original, &victim).unwrap();
        let victim_before = file_digest(&victim);
        let name = format!("c5736-{i}");
        let mut args = vec!["run", "-d", "--name", &name];
        args.extend_from_slice(opts);
        args.extend_from_slice(&["--rootfs", &rootfs, "sleep", "120"]);
        b.ok(&args);
        b.ok(&[
            "exec",
            &name,
            "sh",
            "-c",
            "printf '#!/proc/self/exe\\n' > /bin/victim && chmod 755 /bin/victim",
        ]);
        let pattern = format!("berth-victim{i}");
        let attacker = b
            .cmd()
            .args(["exec", &name, "probe", "cve_2019_5736", &pattern, "6"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let mut codes = BTreeSet::new();
        let end = Instant::now() + Duration::from_secs(5);
        let mut last = String::new();
        while Instant::now() < end {
            match b
                .cmd_with_binary(&victim)
                .args(["exec", &name, "/bin/victim"])
                .output()
            {
                Ok(out) => {
                    codes.insert(out.status.code());
                    last = stderr(&out);
                }
                Err(e) => {
                    last = format!("the victim binary no longer runs: {e}");
                    break;
                }
            }
        }
        let out = attacker.wait_with_output().unwrap();
        let o = Outcome::parse("cve_2019_5736", &out);
        if o.ok || o.line.is_none() || file_digest(&victim) != victim_before {
            failures.push(format!(
                "{opts:?}: the container reopened the berth binary for writing \
                 (victim exit codes {codes:?}, last: {last})\n{o}"
            ));
        }
        b.ok(&["rm", "-f", &name]);
    }
    assert_eq!(
        file_digest(&original),
        orig_before,
        "berth itself is unchanged"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn cve_2019_5736_berth_init_exe_cannot_be_opened() {
    let b = berth();
    let original = PathBuf::from(env!("CARGO_BIN_EXE_berth"));
    let before = file_digest(&original);
    // With --init, PID 1 is berth itself; it stays non-dumpable, so /proc/1/exe is
    // closed to the container.
    let out = b.probe_sh(
        &["--init"],
        "probe open_exe_wr 1; probe read@exe /proc/1/exe",
    );
    Outcome::parse("open_exe_wr", &out).assert_errno(&[EACCES, EPERM], "/proc/1/exe O_WRONLY");
    Outcome::parse("read@exe", &out).assert_errno(&[EACCES, EPERM], "/proc/1/exe O_RDONLY");
    assert_eq!(file_digest(&original), before);
}

/// CVE-2024-21626: a working directory of /proc/self/fd/N reaching a descriptor the
/// runtime still held from the host.
#[test]
fn cve_2024_21626_a_workdir_in_proc_self_fd_never_reaches_the_host() {
    let b = berth();
    let host_name = host_hostname();
    let script = "pwd; ls ../../../../../..; cat ../../../../../../etc/hostname; true";
    let check = |what: &str, out: &std::process::Output| {
        let text = stdout(out);
        if out.status.success() {
            assert_no_host_entries(&text, what);
            assert!(
                !text.lines().any(|l| l == host_name),
                "{what}: reads the host's /etc/hostname:\n{text}"
            );
        } else {
            assert!(
                matches!(out.status.code(), Some(125..=127)) && !stderr(out).trim().is_empty(),
                "{what}: fails to start with a clear error: {:?} {}",
                out.status.code(),
                stderr(out)
            );
            assert_no_host_entries(&text, what);
        }
    };
    for n in 3..=10 {
        let w = format!("/proc/self/fd/{n}");
        let out = b.run_probe_ctr(&["-w", &w], &["sh", "-c", script]);
        check(&format!("run -w {w}"), &out);
    }
    detached(&b, &["--name", "c21626"], &["sleep", "120"]);
    for n in 3..=10 {
        let w = format!("/proc/self/fd/{n}");
        let out = b.run(&["exec", "-w", &w, "c21626", "sh", "-c", script]);
        check(&format!("exec -w {w}"), &out);
    }
}

/// CVE-2022-0492: a cgroup v1 release_agent set from inside runs as root on the host.
#[test]
fn cve_2022_0492_cgroup_release_agent_is_unreachable() {
    let b = berth();
    let agents: Vec<(PathBuf, String)> = fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("release_agent"))
        .filter(|p| p.exists())
        .map(|p| {
            let v = fs::read_to_string(&p).unwrap_or_default();
            (p, v)
        })
        .collect();
    let script = "probe mount@rdma cgroup /tmp/cg rdma; probe mount@memory cgroup /tmp/cgm memory; \
         probe mount@v2 cgroup2 /tmp/cg2; probe unshare@cgroupns cgroup; \
         for f in $(find /sys/fs/cgroup -name release_agent -o -name notify_on_release 2>/dev/null); do \
           probe write@$f $f /tmp/x; done; \
         probe ls@cgroup /sys/fs/cgroup; grep cgroup /proc/self/mounts; true";
    for opts in [&[][..], SECCOMP_OFF] {
        let out = b.probe_sh(opts, script);
        for a in ["mount@rdma", "mount@memory", "mount@v2"] {
            Outcome::parse(a, &out)
                .assert_errno(&[EPERM], &format!("{a} with {opts:?}: mounting cgroupfs"));
        }
        Outcome::parse("unshare@cgroupns", &out).assert_errno(&[EPERM], "a new cgroup namespace");
        let text = stdout(&out);
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("write@") && l.ends_with(": ok")),
            "no release_agent or notify_on_release is writable:\n{text}"
        );
        // /sys/fs/cgroup is empty (nothing mounted there) or mounted read-only.
        for line in text
            .lines()
            .filter(|l| l.contains("cgroup") && !l.starts_with("|"))
        {
            if line
                .split(' ')
                .nth(2)
                .is_some_and(|t| t.starts_with("cgroup"))
            {
                assert!(
                    line.split(' ').nth(3).is_some_and(|o| o.starts_with("ro")),
                    "cgroupfs is mounted read-only: {line}"
                );
            }
        }
    }
    for (p, v) in agents {
        assert_eq!(
            fs::read_to_string(&p).unwrap_or_default(),
            v,
            "{} unchanged",
            p.display()
        );
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn volume_path(b: &Berth, name: &str) -> PathBuf {
    PathBuf::from(b.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", name]))
}

/// CVE-2021-30465, static form: the image's mount target is a symlink to a host path.
#[test]
fn cve_2021_30465_a_symlinked_mount_target_stays_inside_the_rootfs() {
    let b = berth();
    let host = tempfile::tempdir().unwrap();
    fs::write(host.path().join("host-file"), "untouched\n").unwrap();
    let target = host.path().join("created-by-mount");
    let work = tempfile::tempdir().unwrap();
    let relative = format!("../../../../../../../../..{}", target.display());
    let absolute = target.display().to_string();
    let src = tempfile::tempdir().unwrap();
    let before_mounts = host_mountpoints();
    for (i, link) in [absolute, relative].iter().enumerate() {
        let rootfs = work.path().join(format!("rootfs{i}"));
        probe_rootfs_copy(&rootfs);
        fs::remove_dir_all(rootfs.join("data")).unwrap();
        symlink(link, rootfs.join("data")).unwrap();
        let r = rootfs.display().to_string();
        let vol = format!("vol{i}");
        let bind = format!("{}:/data", src.path().display());
        for mount in [format!("{vol}:/data"), bind] {
            let out = b.run(&[
                "run",
                "--rm",
                "-v",
                &mount,
                "--rootfs",
                &r,
                "sh",
                "-c",
                "echo pwned > /data/pwned",
            ]);
            let what = format!("-v {mount} over /data -> {link}");
            assert!(!target.exists(), "{what}: created {}", target.display());
            assert_eq!(entries(host.path()), ["host-file"], "{what}");
            if out.status.success() {
                // The mount landed where the symlink points inside the container, so
                // the write went into the volume or bind source.
                let landed = if mount.starts_with("vol") {
                    volume_path(&b, &vol).join("pwned")
                } else {
                    src.path().join("pwned")
                };
                assert!(landed.exists(), "{what}: the write reached the mount");
                let _ = fs::remove_file(landed);
            } else {
                assert_eq!(out.status.code(), Some(125), "{what}: {}", stderr(&out));
                assert!(!stderr(&out).trim().is_empty(), "{what}: a clear error");
            }
        }
    }
    assert_eq!(host_mountpoints(), before_mounts);
}

/// CVE-2021-30465, the race: one container keeps swapping a directory and a symlink to
/// a host path inside a shared volume while others mount a volume at that directory.
#[test]
fn cve_2021_30465_a_racing_symlink_swap_cannot_redirect_a_volume_mount() {
    let b = berth();
    let host = tempfile::tempdir().unwrap();
    fs::write(host.path().join("host-file"), "untouched\n").unwrap();
    let target = host.path().join("created-by-mount");
    let before_mounts = host_mountpoints();
    b.ok(&["volume", "create", "shared"]);
    b.ok(&["volume", "create", "inner"]);
    b.run_probe_ctr(&["-v", "inner:/x"], &["touch", "/x/inner-marker"]);
    let racer_script = format!(
        "mkdir -p /vol/dir && ln -s {} /vol/link && probe swap /vol/dir /vol/link 8; sleep 120",
        target.display()
    );
    detached(
        &b,
        &["--name", "racer", "-v", "shared:/vol"],
        &["sh", "-c", &racer_script],
    );
    let shared = volume_path(&b, "shared");
    assert!(b.eventually(5, || shared.join("link").exists()
        || shared.join("link").is_symlink()));
    let mut started = 0;
    for i in 0..25 {
        // /proc/self/mountinfo lists only mounts reachable from the reader's root: the
        // inner volume's line proves its mount landed inside the container.
        let out = b.run_probe_ctr(
            &["-v", "shared:/vol", "-v", "inner:/vol/dir"],
            &["cat", "/proc/self/mountinfo"],
        );
        let what = format!("start {i} during the swap race");
        assert!(!target.exists(), "{what}: created {}", target.display());
        assert_eq!(entries(host.path()), ["host-file"], "{what}");
        if out.status.success() {
            started += 1;
            assert!(
                stdout(&out).lines().any(|l| l
                    .split(' ')
                    .nth(3)
                    .is_some_and(|r| r.ends_with("/inner/_data"))),
                "{what}: the volume is mounted inside the container:\n{}",
                stdout(&out)
            );
        } else {
            assert_eq!(out.status.code(), Some(125), "{what}: {}", stderr(&out));
            assert!(!stderr(&out).trim().is_empty(), "{what}: a clear error");
        }
    }
    eprintln!("{started}/25 containers started during the race");
    assert_eq!(host_mountpoints(), before_mounts);
}

// ---------------------------------------------------------- user namespaces

/// `--userns=auto` is one more wall, independent of the others: with seccomp and
/// Landlock off and every capability added, root in its own user namespace still has
/// no power over the host (its capabilities are the namespace's).
#[test]
fn in_a_user_namespace_all_capabilities_and_no_filters_still_reach_nothing_of_the_host() {
    let b = berth();
    b.subids(3_000_000, 65536);
    let mut host = HostProcess::sleep();
    let before = clock_offset();
    let core_pattern = read_trim("/proc/sys/kernel/core_pattern");
    let (major, minor) = host_root_device();
    let script = format!(
        "probe settime 2; probe mknod_block /tmp/disk {major} {minor}; probe read@disk /tmp/disk; \
         probe kexec; probe init_module; probe open_by_handle; probe bpf; \
         probe write@core_pattern /proc/sys/kernel/core_pattern '{core_pattern}'; \
         probe ptrace@host {h}; probe kill@host {h} 9; probe mount; probe userns",
        h = host.pid()
    );
    let opts = [
        &["--userns=auto", "--cap-add", "ALL"][..],
        SECCOMP_OFF,
        LANDLOCK_OFF,
        &["--security-opt", "systempaths=unconfined"],
    ]
    .concat();
    let out = b.probe_sh(&opts, &script);
    for (a, errnos) in [
        ("settime", &[EPERM][..]),
        ("mknod_block", &[EPERM]),
        ("read@disk", &[ENOENT]),
        // A kernel built without kexec or modules says ENOSYS; never a success.
        ("kexec", &[EPERM, ENOSYS]),
        ("init_module", &[EPERM, ENOSYS]),
        // Newer kernels decode handles for a namespace's root, but only below the
        // mounts it can see: the host's inode 2 is stale from here.
        ("open_by_handle", &[EPERM, ESTALE]),
        ("bpf", &[EPERM]),
        ("write@core_pattern", &[EACCES, EPERM]),
        ("ptrace@host", &[ESRCH]),
        ("kill@host", &[ESRCH]),
    ] {
        Outcome::parse(a, &out).assert_errno(errnos, &format!("{a} in a user namespace"));
    }
    // Inside its own namespaces it is root: a private mount and a nested user namespace
    // are its own business, and prove that the filters really were off.
    Outcome::parse("mount", &out).assert_ok("a tmpfs in the container's own mount namespace");
    Outcome::parse("userns", &out).assert_ok("a nested user namespace");
    let drift = (clock_offset() - before).abs();
    assert!(drift < 1.0, "the host clock moved by {drift}s");
    assert_eq!(read_trim("/proc/sys/kernel/core_pattern"), core_pattern);
    host.assert_untouched();
}
