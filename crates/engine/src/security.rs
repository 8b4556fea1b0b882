//! A container's security settings. At create, Docker's `--cap-add`, `--cap-drop`,
//! `--privileged` and `--security-opt` become the effective settings kept in the record
//! (so `inspect` shows what a container really gets, and a later change of a profile file
//! cannot change a container behind its owner's back). At start and exec, those settings
//! become the runtime's capability sets and [`runtime::Confinement`].
//!
//! Hardening is the default; everything here only ever loosens on an explicit option,
//! and an option berth cannot honour is an error, never silently ignored.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use runtime::landlock::Policy;
use runtime::seccomp;

/// The effective security settings of a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Security {
    /// The capability set the workload starts with (bounding = effective = permitted).
    pub capabilities: Vec<String>,
    /// `default` (berth's profile), `unconfined`, or the file a profile was read from
    /// (its content is kept in the container's directory as seccomp.json).
    pub seccomp: String,
    pub no_new_privileges: bool,
    /// The Landlock policy; None when Landlock is off.
    pub landlock: Option<Policy>,
    /// Docker's masked and read-only /proc and /sys paths are applied.
    pub masked_paths: bool,
    pub privileged: bool,
    /// The container's own user namespace; None shares the host's.
    pub user_namespace: Option<crate::userns::UserNamespace>,
}

impl Default for Security {
    fn default() -> Security {
        Security {
            capabilities: runtime::DEFAULT_CAPABILITIES
                .iter()
                .map(|c| c.to_string())
                .collect(),
            seccomp: "default".into(),
            no_new_privileges: true,
            landlock: Some(Policy::default()),
            masked_paths: true,
            privileged: false,
            user_namespace: None,
        }
    }
}

/// The security options of `run`/`create`, as given.
#[derive(Debug, Clone, Default)]
pub struct SecurityOptions {
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub security_opt: Vec<String>,
    /// `--sysctl NAME=VALUE`.
    pub sysctls: Vec<String>,
    /// `--device HOST[:CONTAINER[:PERMS]]`.
    pub devices: Vec<String>,
    /// `--userns`.
    pub userns: Option<String>,
}

/// What `resolve` decided, plus the seccomp profile to keep with the container.
pub struct Resolved {
    pub security: Security,
    pub seccomp_profile: Option<Vec<u8>>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// The user namespace asked for; `create` allocates its range.
    pub userns: crate::userns::Mode,
}

/// `CAP_X` from `x`, `X` or `cap_x`; `ALL` stays `ALL`.
fn normalize_cap(name: &str) -> Result<String> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if full.parse::<caps::Capability>().is_ok() {
        Ok(full)
    } else {
        Err(Error::invalid(format!(
            "unknown capability {name:?}: use a name such as NET_ADMIN or CAP_NET_ADMIN, or ALL"
        )))
    }
}

/// Docker's rules: `--cap-add ALL` is everything but the drops; `--cap-drop ALL` is only
/// the adds; otherwise the default set minus the drops plus the adds.
fn effective_caps(add: &[String], drop: &[String]) -> Vec<String> {
    let all = runtime::all_capabilities();
    let mut caps: Vec<String> = if add.iter().any(|c| c == "ALL") {
        all.into_iter().filter(|c| !drop.contains(c)).collect()
    } else if drop.iter().any(|c| c == "ALL") {
        add.to_vec()
    } else {
        let mut v: Vec<String> = runtime::DEFAULT_CAPABILITIES
            .iter()
            .map(|c| c.to_string())
            .filter(|c| !drop.contains(c))
            .collect();
        v.extend(add.iter().cloned());
        v
    };
    caps.sort();
    caps.dedup();
    caps
}

/// Splits `key=value` (or Docker's legacy `key:value`).
fn split_opt(opt: &str) -> (&str, Option<&str>) {
    match opt.find(['=', ':']) {
        Some(i) => (&opt[..i], Some(&opt[i + 1..])),
        None => (opt, None),
    }
}

fn parse_bool(key: &str, v: Option<&str>) -> Result<bool> {
    match v {
        None | Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(other) => Err(Error::invalid(format!(
            "invalid --security-opt {key}={other}: use true or false"
        ))),
    }
}

fn parse_port(key: &str, v: &str) -> Result<u16> {
    v.parse::<u16>().map_err(|_| {
        Error::invalid(format!(
            "invalid --security-opt {key}={v}: a TCP port number (0-65535)"
        ))
    })
}

fn read_file(what: &str, path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::invalid(format!(
            "reading the {what} {path}: {e} (give the path of a readable file)"
        ))
    })
}

/// Turns the options into the container's effective settings. `host_network` decides the
/// default Landlock IPC scope: sharing the host's network namespace also shares its
/// abstract unix sockets, so they are scoped away unless the policy says otherwise.
pub fn resolve(opts: &SecurityOptions, host_network: bool) -> Result<Resolved> {
    let userns = crate::userns::parse_mode(opts.userns.as_deref())?;
    if opts.privileged && userns != crate::userns::Mode::Host {
        return Err(Error::invalid(
            "--privileged gives the host's devices and capabilities, which a user namespace \
             cannot: add --userns=host",
        ));
    }
    let cap_add = opts
        .cap_add
        .iter()
        .map(|c| normalize_cap(c))
        .collect::<Result<Vec<_>>>()?;
    let cap_drop = opts
        .cap_drop
        .iter()
        .map(|c| normalize_cap(c))
        .collect::<Result<Vec<_>>>()?;
    let mut sec = Security::default();
    let mut profile = None;
    let mut landlock_off = false;
    let mut policy = Policy::default();
    let mut policy_file: Option<Policy> = None;
    for opt in &opts.security_opt {
        let (key, value) = split_opt(opt);
        match (key, value) {
            ("seccomp", Some("unconfined")) => {
                sec.seccomp = "unconfined".into();
                profile = None;
            }
            ("seccomp", Some(path)) if !path.is_empty() => {
                let bytes = read_file("seccomp profile", path)?;
                seccomp::Profile::from_json(&bytes).map_err(|e| {
                    Error::invalid(format!("seccomp profile {path}: {e}"))
                })?;
                sec.seccomp = std::fs::canonicalize(path)
                    .unwrap_or_else(|_| PathBuf::from(path))
                    .to_string_lossy()
                    .into_owned();
                profile = Some(bytes);
            }
            ("no-new-privileges", v) => sec.no_new_privileges = parse_bool(key, v)?,
            ("systempaths", Some("unconfined")) => sec.masked_paths = false,
            ("landlock", Some("unconfined")) => landlock_off = true,
            ("landlock", Some(path)) if !path.is_empty() => {
                let bytes = read_file("landlock policy", path)?;
                let p: Policy = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::invalid(format!(
                        "landlock policy {path}: {e} (keys: read_only, read_write, executable, tcp_bind, tcp_connect, scope)"
                    ))
                })?;
                policy_file = Some(p);
            }
            ("landlock.ro", Some(p)) => policy.read_only.push(p.into()),
            ("landlock.rw", Some(p)) => policy.read_write.push(p.into()),
            ("landlock.exec", Some(p)) => policy.executable.push(p.into()),
            ("landlock.bind-tcp", Some(p)) => policy.tcp_bind.push(parse_port(key, p)?),
            ("landlock.connect-tcp", Some(p)) => policy.tcp_connect.push(parse_port(key, p)?),
            ("landlock.scope", Some(s)) => policy.scope.push(s.to_string()),
            // Opt-outs of LSMs berth does not use: already true.
            ("label", Some("disable")) | ("apparmor", Some("unconfined")) => {}
            ("label" | "apparmor", _) => {
                return Err(Error::invalid(format!(
                    "--security-opt {opt}: berth does not use SELinux or AppArmor (it confines with seccomp and Landlock); remove the option"
                )))
            }
            _ => {
                return Err(Error::invalid(format!(
                    "invalid --security-opt {opt:?}: use seccomp=unconfined|FILE, no-new-privileges[=true|false], systempaths=unconfined, landlock=unconfined|FILE, or landlock.ro|rw|exec=PATH, landlock.bind-tcp|connect-tcp=PORT, landlock.scope=signal|abstract-unix-socket"
                )))
            }
        }
    }
    if let Some(file) = policy_file {
        policy.read_only.extend(file.read_only);
        policy.read_write.extend(file.read_write);
        policy.executable.extend(file.executable);
        policy.tcp_bind.extend(file.tcp_bind);
        policy.tcp_connect.extend(file.tcp_connect);
        policy.scope.extend(file.scope);
    }
    policy.validate().map_err(Error::invalid)?;
    if landlock_off && policy != Policy::default() {
        return Err(Error::invalid(
            "--security-opt landlock=unconfined conflicts with the landlock rules also given: keep one",
        ));
    }
    if host_network && policy.scope.is_empty() {
        policy.scope.push("abstract-unix-socket".into());
    }
    sec.landlock = (!landlock_off).then_some(policy);
    sec.capabilities = effective_caps(&cap_add, &cap_drop);
    if opts.privileged {
        // The explicit, complete opt-out, as Docker's.
        sec.privileged = true;
        sec.capabilities = runtime::all_capabilities();
        sec.seccomp = "unconfined".into();
        profile = None;
        sec.landlock = None;
        sec.masked_paths = false;
        sec.no_new_privileges = false;
    }
    Ok(Resolved {
        security: sec,
        seccomp_profile: profile,
        cap_add,
        cap_drop,
        userns,
    })
}

/// Docker's `--sysctl` rule: only parameters that belong to the container's own IPC,
/// UTS or network namespace; anything else would change the host.
pub fn parse_sysctls(
    given: &[String],
    host_network: bool,
) -> Result<std::collections::BTreeMap<String, String>> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let mut out = std::collections::BTreeMap::new();
    for s in given {
        let Some((k, v)) = s.split_once('=') else {
            return Err(Error::invalid(format!(
                "invalid --sysctl {s:?}: use NAME=VALUE, e.g. net.ipv4.ip_forward=1"
            )));
        };
        let k = k.trim().replace('/', ".");
        let namespaced = IPC.contains(&k.as_str())
            || k.starts_with("fs.mqueue.")
            || k == "kernel.domainname"
            || k == "kernel.hostname"
            || k == "vm.memfd_noexec"
            || k.starts_with("net.");
        if !namespaced || k.contains("..") {
            return Err(Error::invalid(format!(
                "sysctl {k:?} is not namespaced: it would change the host, so berth refuses it (allowed: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*)"
            )));
        }
        if k.starts_with("net.") && host_network {
            return Err(Error::invalid(format!(
                "sysctl {k:?} cannot be set with --network host: it would change the host's network stack"
            )));
        }
        out.insert(k, v.to_string());
    }
    Ok(out)
}

/// Docker's `--device HOST[:CONTAINER[:PERMS]]`: the host path must be a device node;
/// the container path must be below /dev; PERMS is a subset of `rwm`.
pub fn parse_devices(given: &[String]) -> Result<Vec<crate::record::DeviceMapping>> {
    use std::os::unix::fs::FileTypeExt;
    let mut out = Vec::new();
    for d in given {
        let mut parts = d.splitn(3, ':');
        let host = parts.next().unwrap_or_default();
        let mut ctr = parts.next().unwrap_or(host).to_string();
        let mut perms = parts.next().unwrap_or("rwm").to_string();
        // Docker accepts HOST:PERMS too.
        if !ctr.starts_with('/') && !ctr.is_empty() && ctr.chars().all(|c| "rwm".contains(c)) {
            perms = ctr;
            ctr = host.to_string();
        }
        if perms.is_empty() || !perms.chars().all(|c| "rwm".contains(c)) {
            return Err(Error::invalid(format!(
                "invalid --device {d:?}: permissions {perms:?} must be made of r, w and m"
            )));
        }
        let meta = std::fs::metadata(host).map_err(|e| {
            Error::invalid(format!(
                "--device {d:?}: {host}: {e} (give a device path on this host, e.g. /dev/fuse)"
            ))
        })?;
        let ft = meta.file_type();
        if !(ft.is_char_device() || ft.is_block_device()) {
            return Err(Error::invalid(format!(
                "--device {d:?}: {host} is not a device node (directories of devices are not supported)"
            )));
        }
        let ctr_path = Path::new(&ctr);
        if !ctr_path.starts_with("/dev/")
            || ctr_path
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(Error::invalid(format!(
                "--device {d:?}: the container path {ctr} must be below /dev"
            )));
        }
        out.push(crate::record::DeviceMapping {
            path_on_host: host.to_string(),
            path_in_container: ctr,
            cgroup_permissions: perms,
        });
    }
    Ok(out)
}

/// Where a container keeps the seccomp profile it was created with.
pub fn profile_path(dir: &Path) -> PathBuf {
    dir.join("seccomp.json")
}

/// The runtime confinement of the container in `dir`: its compiled seccomp filter
/// (from `cache` when compiled before) and its Landlock policy.
pub fn confinement(security: &Security, dir: &Path, cache: &Path) -> Result<runtime::Confinement> {
    let filter = match security.seccomp.as_str() {
        "unconfined" => None,
        name => {
            let bytes = if name == "default" {
                None
            } else {
                Some(std::fs::read(profile_path(dir)).map_err(|e| {
                    Error::invalid(format!(
                        "reading the container's seccomp profile: {e} (recreate the container)"
                    ))
                })?)
            };
            Some(compile_cached(
                bytes.as_deref(),
                &security.capabilities,
                cache,
            )?)
        }
    };
    Ok(runtime::Confinement {
        seccomp: filter,
        landlock: security.landlock.clone(),
        // The kernel refuses mounts inside any Landlock domain, so a container given
        // CAP_SYS_ADMIN and no Landlock (to mount) gets no guard either; see SECURITY.md.
        guard_exec: !security.privileged
            && !security.capabilities.iter().any(|c| c == "CAP_SYS_ADMIN"),
    })
}

/// Compiles a profile (None: berth's default) for this host, through a cache keyed by
/// everything the program depends on, so starts do not pay for compilation.
fn compile_cached(
    profile: Option<&[u8]>,
    caps: &[String],
    cache: &Path,
) -> Result<seccomp::Program> {
    let arch = seccomp::Arch::host().ok_or_else(|| {
        Error::invalid(
            "berth has no seccomp support for this CPU architecture: run with --security-opt seccomp=unconfined",
        )
    })?;
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(format!("{arch:?}\0").as_bytes());
    h.update(profile.unwrap_or(b"berth-default"));
    for c in caps {
        h.update(b"\0");
        h.update(c.as_bytes());
    }
    // The kernel version matters to profiles with minKernel conditions.
    h.update(runtime::sys::kernel_release().as_bytes());
    let key = hex::encode(h.finalize());
    let path = cache.join(format!("{key}.bpf"));
    if let Ok(bytes) = std::fs::read(&path) {
        if let Some(p) = seccomp::Program::from_bytes(&bytes) {
            return Ok(p);
        }
    }
    let parsed = match profile {
        None => seccomp::Profile::berth_default(),
        Some(b) => seccomp::Profile::from_json(b)
            .map_err(|e| Error::invalid(format!("seccomp profile: {e}")))?,
    };
    let program = seccomp::compile(&parsed, arch, caps)
        .map_err(|e| Error::invalid(format!("compiling the seccomp profile: {e}")))?;
    // A cache write that fails costs only speed next time.
    if std::fs::create_dir_all(cache).is_ok() {
        let _ = crate::state_root::write_atomic(&path, &program.to_bytes());
    }
    Ok(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(add: &[&str], drop: &[&str], sec: &[&str]) -> SecurityOptions {
        SecurityOptions {
            cap_add: add.iter().map(|s| s.to_string()).collect(),
            cap_drop: drop.iter().map(|s| s.to_string()).collect(),
            privileged: false,
            security_opt: sec.iter().map(|s| s.to_string()).collect(),
            sysctls: Vec::new(),
            devices: Vec::new(),
            userns: None,
        }
    }

    #[test]
    fn capabilities_follow_dockers_rules() {
        let r = resolve(&opts(&["sys_admin"], &["NET_RAW", "cap_chown"], &[]), false).unwrap();
        let caps = r.security.capabilities;
        assert!(caps.contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(!caps.contains(&"CAP_NET_RAW".to_string()));
        assert!(!caps.contains(&"CAP_CHOWN".to_string()));
        assert!(caps.contains(&"CAP_KILL".to_string()));
        let r = resolve(&opts(&["NET_BIND_SERVICE"], &["ALL"], &[]), false).unwrap();
        assert_eq!(r.security.capabilities, ["CAP_NET_BIND_SERVICE"]);
        let r = resolve(&opts(&["ALL"], &["SYS_ADMIN"], &[]), false).unwrap();
        assert!(!r
            .security
            .capabilities
            .contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(r
            .security
            .capabilities
            .contains(&"CAP_SYS_MODULE".to_string()));
        let e = resolve(&opts(&["NOT_A_CAP"], &[], &[]), false)
            .err()
            .unwrap();
        assert!(e.to_string().contains("unknown capability"), "{e}");
    }

    #[test]
    fn security_opts_parse_and_reject() {
        let r = resolve(
            &opts(
                &[],
                &[],
                &[
                    "no-new-privileges=false",
                    "seccomp:unconfined",
                    "systempaths=unconfined",
                ],
            ),
            false,
        )
        .unwrap();
        assert!(!r.security.no_new_privileges);
        assert_eq!(r.security.seccomp, "unconfined");
        assert!(!r.security.masked_paths);
        let r = resolve(
            &opts(
                &[],
                &[],
                &[
                    "landlock.ro=/usr",
                    "landlock.rw=/data",
                    "landlock.connect-tcp=443",
                    "landlock.scope=signal",
                ],
            ),
            false,
        )
        .unwrap();
        let p = r.security.landlock.unwrap();
        assert_eq!(p.read_only, [PathBuf::from("/usr")]);
        assert_eq!(p.tcp_connect, [443]);
        assert_eq!(p.scope, ["signal"]);
        for bad in [
            "seccomp=/nonexistent/profile.json",
            "landlock.ro=relative/path",
            "landlock.bind-tcp=http",
            "landlock.scope=everything",
            "no-new-privileges=maybe",
            "apparmor=docker-default",
            "frobnicate",
        ] {
            let e = resolve(&opts(&[], &[], &[bad]), false).err();
            assert!(e.is_some(), "{bad} was accepted");
        }
        assert!(parse_sysctls(&["kernel.shmmax=1000".into()], false).is_ok());
        assert!(parse_sysctls(&["net.ipv4.ip_forward=1".into()], false).is_ok());
        assert!(parse_sysctls(&["net.ipv4.ip_forward=1".into()], true).is_err());
        assert!(parse_sysctls(&["kernel.panic=1".into()], false).is_err());
        assert!(parse_sysctls(&["vm.swappiness".into()], false).is_err());
        let mut o = opts(&[], &[], &[]);
        o.userns = Some("auto".into());
        assert!(resolve(&o, false).is_ok());
        o.userns = Some("private".into());
        assert!(resolve(&o, false).is_err());
        o.userns = Some("auto".into());
        o.privileged = true;
        let e = resolve(&o, false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("--userns=host"), "{e}");
        o.userns = Some("host".into());
        assert!(resolve(&o, false).is_ok());
        let host = resolve(&opts(&[], &[], &[]), true).unwrap();
        assert_eq!(
            host.security.landlock.unwrap().scope,
            ["abstract-unix-socket"]
        );
    }

    #[test]
    fn privileged_turns_everything_off() {
        let mut o = opts(&[], &[], &[]);
        o.privileged = true;
        let s = resolve(&o, false).unwrap().security;
        assert!(s.privileged && !s.masked_paths && s.landlock.is_none());
        assert_eq!(s.seccomp, "unconfined");
        assert_eq!(s.capabilities.len(), runtime::all_capabilities().len());
    }
}
