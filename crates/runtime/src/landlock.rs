//! Landlock for the workload: builds the container's ruleset from a [`Policy`] and
//! restricts the calling (setup or exec) process with it, right before the workload's
//! identity is taken. Paths are container paths, opened after pivot_root, so a rule can
//! never name a host file.
//!
//! The kernel's Landlock ABI is detected at run time and the ruleset degrades to what
//! the kernel offers (best effort); what is lost is reported as a warning, never as a
//! failed start. This module must never weaken a policy silently: every right it drops
//! or path it skips is returned as a warning.
//!
//! Two shapes of policy:
//! - the default (no paths named): everything beneath the container's root stays
//!   usable, except creating device nodes (block and character); and nothing outside
//!   the root can be executed, such as berth's own binary reached as /proc/self/exe
//!   (runc CVE-2019-5736) or a host file through /proc/PID/fd. /proc, /sys and /dev are
//!   mounted noexec, and memfds (which Landlock cannot see) are refused by the engine's
//!   `vm.memfd_noexec=2`;
//! - an allow-list (some `read_only` / `read_write` / `executable` paths named): only
//!   those paths, plus the standard character devices and reading /proc.

use std::path::{Path, PathBuf};

use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};
use serde::{Deserialize, Serialize};

use crate::StartError;

/// The highest ABI whose features berth uses (TCP port rules: 4; scopes: 6).
const TARGET_ABI: ABI = ABI::V6;

/// What a container's Landlock ruleset allows, in container paths.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Readable (files and directory listings) and nothing else.
    pub read_only: Vec<PathBuf>,
    /// Readable and writable (create, remove, rename within, truncate), not executable.
    pub read_write: Vec<PathBuf>,
    /// Readable and executable.
    pub executable: Vec<PathBuf>,
    /// TCP ports the workload may bind; when empty, binding is not restricted.
    pub tcp_bind: Vec<u16>,
    /// TCP ports the workload may connect to; when empty, connecting is not restricted.
    pub tcp_connect: Vec<u16>,
    /// IPC scopes: "signal" and/or "abstract-unix-socket" (the workload may not signal
    /// or connect to abstract sockets of processes outside the container's domain).
    pub scope: Vec<String>,
}

impl Policy {
    /// True when the policy names paths: the file system becomes an allow-list.
    pub fn is_allow_list(&self) -> bool {
        !(self.read_only.is_empty() && self.read_write.is_empty() && self.executable.is_empty())
    }

    /// Checks the names a user gave; the paths themselves are checked at start, inside
    /// the container.
    pub fn validate(&self) -> Result<(), String> {
        for s in &self.scope {
            if s != "signal" && s != "abstract-unix-socket" {
                return Err(format!(
                    "unknown landlock scope {s:?}: use signal or abstract-unix-socket"
                ));
            }
        }
        for p in self
            .read_only
            .iter()
            .chain(&self.read_write)
            .chain(&self.executable)
        {
            if !p.is_absolute() {
                return Err(format!(
                    "landlock path {} is not absolute: name paths as the container sees them, from /",
                    p.display()
                ));
            }
        }
        Ok(())
    }
}

/// The running kernel's Landlock ABI version (0 when Landlock is unavailable).
pub fn kernel_abi() -> i32 {
    crate::sys::landlock_abi()
}

/// Character devices every allow-list keeps usable: programs expect them.
const STANDARD_DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
];

fn ll_err(e: impl std::fmt::Display) -> StartError {
    StartError::berth(format!("landlock: {e}"))
}

/// Restricts this process (and everything it will exec) with `policy`. Returns warnings.
pub fn restrict(policy: &Policy, no_new_privs: bool) -> Result<Vec<String>, StartError> {
    let abi_version = kernel_abi();
    let mut warnings = Vec::new();
    if abi_version < 1 {
        if policy.is_allow_list() {
            // The user asked for confinement the kernel cannot give: say so loudly, but
            // keep the promise "never a failed start" of the default.
            warnings.push(
                "this kernel has no Landlock: the landlock path policy is NOT enforced".into(),
            );
        }
        return Ok(warnings);
    }
    let abi = TARGET_ABI;
    let all = AccessFs::from_all(abi);
    let read = AccessFs::from_read(abi);
    let devices = AccessFs::MakeChar | AccessFs::MakeBlock;

    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)
        .map_err(ll_err)?;
    let want_bind = !policy.tcp_bind.is_empty();
    let want_connect = !policy.tcp_connect.is_empty();
    if (want_bind || want_connect) && abi_version < 4 {
        warnings.push(format!(
            "Landlock ABI {abi_version} has no TCP port rules (needs 4): landlock tcp rules ignored"
        ));
    }
    if want_bind {
        ruleset = ruleset.handle_access(AccessNet::BindTcp).map_err(ll_err)?;
    }
    if want_connect {
        ruleset = ruleset
            .handle_access(AccessNet::ConnectTcp)
            .map_err(ll_err)?;
    }
    let mut scopes = BitFlags::<Scope>::EMPTY;
    for s in &policy.scope {
        match s.as_str() {
            "signal" => scopes |= Scope::Signal,
            "abstract-unix-socket" => scopes |= Scope::AbstractUnixSocket,
            _ => {}
        }
    }
    if !scopes.is_empty() {
        if abi_version < 6 {
            warnings.push(format!(
                "Landlock ABI {abi_version} has no IPC scoping (needs 6): landlock scope ignored"
            ));
        }
        ruleset = ruleset.scope(scopes).map_err(ll_err)?;
    }
    let mut created = ruleset.create().map_err(ll_err)?;

    let mut rules: Vec<(PathBuf, BitFlags<AccessFs>)> = Vec::new();
    if policy.is_allow_list() {
        let rw = all & !AccessFs::Execute & !devices;
        for p in &policy.read_only {
            rules.push((p.clone(), read));
        }
        for p in &policy.read_write {
            rules.push((p.clone(), rw));
        }
        for p in &policy.executable {
            rules.push((p.clone(), read | AccessFs::Execute));
        }
        for d in STANDARD_DEVICES {
            let access = AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::IoctlDev;
            let access = if *d == "/dev/pts" {
                access | AccessFs::ReadDir
            } else {
                access
            };
            rules.push((PathBuf::from(d), access));
        }
        rules.push((PathBuf::from("/proc"), read));
    } else {
        // A rule covers the whole hierarchy beneath its path: this one is everything
        // in the container but device nodes, and nothing outside it.
        rules.push((PathBuf::from("/"), all & !devices));
    }
    for (path, access) in rules {
        let fd = match PathFd::new(&path) {
            Ok(fd) => fd,
            Err(_) => {
                if policy.is_allow_list() && !STANDARD_DEVICES.iter().any(|d| path == Path::new(d))
                {
                    warnings.push(format!(
                        "landlock path {} does not exist in the container: rule skipped",
                        path.display()
                    ));
                }
                continue;
            }
        };
        // Rights that only make sense on directories are refused on other files.
        let is_dir = std::fs::metadata(&path)
            .map(|m| m.is_dir())
            .unwrap_or(false);
        let access = if is_dir {
            access
        } else {
            access & AccessFs::from_file(abi)
        };
        if access.is_empty() {
            continue;
        }
        created = created
            .add_rule(PathBeneath::new(fd, access))
            .map_err(|e| ll_err(format!("rule for {}: {e}", path.display())))?;
    }
    for port in &policy.tcp_bind {
        created = created
            .add_rule(NetPort::new(*port, AccessNet::BindTcp))
            .map_err(ll_err)?;
    }
    for port in &policy.tcp_connect {
        created = created
            .add_rule(NetPort::new(*port, AccessNet::ConnectTcp))
            .map_err(ll_err)?;
    }
    let status = created
        .no_new_privs(no_new_privs)
        .restrict_self()
        .map_err(ll_err)?;
    if status.ruleset == RulesetStatus::NotEnforced && policy.is_allow_list() {
        warnings.push(
            "Landlock is not enforced on this kernel: the landlock path policy is NOT in effect"
                .into(),
        );
    }
    Ok(warnings)
}

/// The runtime guard applied when a container's Landlock policy is turned off (but the
/// container is not privileged): handles only the execute right and grants it on the
/// container's whole root. Nothing inside the container changes, but a file outside
/// it (berth's own binary, reached as /proc/self/exe by a `#!/proc/self/exe` script,
/// runc CVE-2019-5736) can never be executed, so no berth process ever runs where the
/// container can reopen its executable.
pub fn restrict_exec_to_root(no_new_privs: bool) -> Result<(), StartError> {
    if kernel_abi() < 1 {
        return Ok(());
    }
    let fd = PathFd::new("/").map_err(ll_err)?;
    Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::Execute)
        .map_err(ll_err)?
        .create()
        .map_err(ll_err)?
        .add_rule(PathBeneath::new(fd, AccessFs::Execute))
        .map_err(ll_err)?
        .no_new_privs(no_new_privs)
        .restrict_self()
        .map_err(ll_err)?;
    Ok(())
}
