//! berth's container runtime: turns an OCI runtime spec into a running, isolated
//! process (namespaces, overlay root, mounts, pivot_root, cgroups, capabilities, user,
//! rlimits, seccomp, Landlock, pty, optional minimal init), and joins running containers
//! for `exec`.
//!
//! It knows nothing of images, networks, container records or the CLI; the caller
//! hands it a spec and file descriptors. Every call here is made from a single-threaded
//! process (the monitor, or the `exec` CLI), which the fork-based design relies on.

pub mod cgroup;
mod child;
mod confine;
mod device_filter;
mod exec;
pub mod fsat;
mod identity;
pub mod idmap;
pub mod init;
pub mod landlock;
mod mounts;
mod report;
pub mod seccomp;
mod spawn;
pub mod sys;

use std::os::fd::OwnedFd;
use std::path::PathBuf;

pub use exec::{exec_failure, exec_in, exec_spawn, ExecTarget};
pub use mounts::{ensure_in_root, mount_root};
pub use oci_spec::runtime::Spec;
pub use spawn::spawn;

/// How the container's `/` is built.
#[derive(Debug, Clone)]
pub enum Rootfs {
    /// An overlay of read-only `lower` directories (topmost first) with a private
    /// writable `upper`, mounted at `target` inside the container's mount namespace only.
    Overlay {
        lower: Vec<PathBuf>,
        upper: PathBuf,
        work: PathBuf,
        target: PathBuf,
    },
    /// A directory used as it is (bind-mounted onto itself).
    Bind(PathBuf),
}

/// The container's standard streams.
#[derive(Debug)]
pub enum Stdio {
    /// These descriptors become fds 0, 1 and 2 of the workload.
    Fds {
        stdin: OwnedFd,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    /// A new pty inside the container; its master is returned to the caller.
    Terminal,
}

/// The confinement applied to the workload last, after its identity: shared by the
/// container's first process and every `exec` into it, so that no process of a
/// container runs with less.
#[derive(Debug, Clone, Default)]
pub struct Confinement {
    /// A compiled seccomp filter, installed right before exec (None: unconfined).
    pub seccomp: Option<seccomp::Program>,
    /// The Landlock policy (None: no Landlock policy).
    pub landlock: Option<landlock::Policy>,
    /// Without a policy, still forbid executing anything outside the container's root
    /// ([`landlock::restrict_exec_to_root`]); off only for `--privileged`.
    pub guard_exec: bool,
}

/// Everything [`spawn`] needs besides the OCI spec.
#[derive(Debug)]
pub struct Launch<'a> {
    pub spec: &'a Spec,
    pub rootfs: Rootfs,
    /// The cgroup to create and place the container in.
    pub cgroup: Option<&'a cgroup::Cgroup>,
    pub resources: cgroup::Resources,
    pub stdio: Stdio,
    /// Run berth's minimal init as PID 1 (signal forwarding, zombie reaping).
    pub init: bool,
    /// Files to copy into empty named volumes before they are mounted: (source path
    /// inside the rootfs, volume directory on the host).
    pub volume_seeds: Vec<(PathBuf, PathBuf)>,
    pub confine: Confinement,
    /// Runs in the parent with the container's pid once its namespaces exist (and its
    /// user namespace is mapped), before it is released: the caller's network setup.
    pub before_release: Option<Hook<'a>>,
}

/// A callback for [`Launch::before_release`]; its error aborts the start.
pub struct Hook<'a>(pub Box<dyn FnMut(libc::pid_t) -> Result<(), String> + 'a>);

impl std::fmt::Debug for Hook<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

/// A started container.
#[derive(Debug)]
pub struct Started {
    pub pid: i32,
    /// The pty master, when the container was started with a terminal.
    pub pty_master: Option<OwnedFd>,
    pub warnings: Vec<String>,
}

/// Why a container could not be started. `exit_code` follows Docker: 125 for a
/// failure of berth itself, 126 when the command cannot be invoked, 127 when it is not
/// found.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StartError {
    pub exit_code: i32,
    pub message: String,
}

impl StartError {
    pub fn berth(message: impl Into<String>) -> StartError {
        StartError {
            exit_code: 125,
            message: message.into(),
        }
    }
}

impl From<std::io::Error> for StartError {
    fn from(e: std::io::Error) -> StartError {
        StartError::berth(e.to_string())
    }
}

/// Docker's default capability set.
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability the running kernel knows and berth itself may hold (its bounding
/// set: root on some hosts lacks a few), as `CAP_X` names.
pub fn all_capabilities() -> Vec<String> {
    let bounding = caps::read(None, caps::CapSet::Bounding).unwrap_or_default();
    let mut v: Vec<String> = caps::runtime::thread_all_supported()
        .iter()
        .filter(|c| bounding.is_empty() || bounding.contains(c))
        .map(|c| c.to_string())
        .collect();
    v.sort();
    v
}

/// Paths Docker masks in every container.
pub const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths Docker makes read-only in every container.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];
