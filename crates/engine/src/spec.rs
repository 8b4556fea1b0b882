//! Builds the OCI runtime spec for a container from its record: the hardened defaults
//! (namespaces, Docker's capability set, no_new_privs, masked and read-only paths, a
//! minimal /dev) plus what the user asked for. The runtime only ever sees this spec.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::record::{MountType, Record};
use crate::state_root::StateRoot;
use crate::user::{self, ExecUser};

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The overlay directories of a container.
pub struct RootfsDirs {
    pub upper: PathBuf,
    pub work: PathBuf,
    pub merged: PathBuf,
}

pub fn rootfs_dirs(dir: &Path) -> RootfsDirs {
    RootfsDirs {
        upper: dir.join("upper"),
        work: dir.join("work"),
        merged: dir.join("merged"),
    }
}

/// Resolves the record's user against the container's own filesystem.
pub fn resolve_user(record: &Record, dir: &Path, spec: &str) -> Result<ExecUser> {
    if spec.is_empty() || spec == "0" || spec == "0:0" {
        // The common case needs no file reads on the start path.
        return Ok(ExecUser {
            uid: 0,
            gid: 0,
            additional_gids: vec![0],
            home: "/root".into(),
        });
    }
    let layers = user::layers_for(&rootfs_dirs(dir).upper, &record.rootfs_layers);
    user::resolve(spec, &layers)
}

/// The environment the workload gets: Docker's defaults, then the record's.
pub fn environment(record: &Record, user: &ExecUser, extra: &[String]) -> Vec<String> {
    let mut base = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={}", record.config.hostname),
    ];
    if record.config.tty {
        base.push("TERM=xterm".into());
    }
    let mut env = crate::options::merge_env(&[&base, &record.config.env, extra]);
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", user.home));
    }
    env
}

/// The container's set (Docker's default unless changed) in bounding, effective and
/// permitted; nothing inheritable or ambient, so a non-root workload ends up with no
/// effective capabilities after exec, as with Docker.
pub fn capabilities(record: &Record) -> Value {
    let caps: Vec<&str> = record
        .security
        .capabilities
        .iter()
        .map(|c| c.strip_prefix("CAP_").unwrap_or(c))
        .collect();
    json!({ "bounding": caps, "effective": caps, "permitted": caps })
}

fn rlimits(record: &Record) -> Vec<Value> {
    record
        .host_config
        .ulimits
        .iter()
        .map(|u| json!({ "type": format!("RLIMIT_{}", u.name.to_ascii_uppercase()), "soft": u.soft, "hard": u.hard }))
        .collect()
}

fn mounts(record: &Record, root: &StateRoot, dir: &Path) -> Result<Vec<Value>> {
    let hc = &record.host_config;
    let shm = if hc.shm_size > 0 {
        hc.shm_size
    } else {
        64 << 20
    };
    let mut v = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        // noexec (Docker's /dev is exec): nothing under /dev is a program, and the default
        // Landlock ruleset grants execute everywhere beneath the root.
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "noexec", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", format!("size={shm}")]}),
    ];
    if hc.network_mode == "host" {
        // sysfs of the host's network namespace cannot be mounted afresh: bind it.
        v[3] = json!({"destination": "/sys", "type": "bind", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
    }
    if record.security.privileged {
        // Docker's --privileged: /sys writable.
        if let Some(opts) = v[3]["options"].as_array_mut() {
            opts.retain(|o| o != "ro");
        }
    }
    for (file, dest) in [
        ("hostname", "/etc/hostname"),
        ("hosts", "/etc/hosts"),
        ("resolv.conf", "/etc/resolv.conf"),
    ] {
        let opts: Vec<&str> = if hc.readonly_rootfs {
            vec!["bind", "ro"]
        } else {
            vec!["bind"]
        };
        v.push(
            json!({"destination": dest, "type": "bind", "source": dir.join(file), "options": opts}),
        );
    }
    for m in &hc.mounts {
        let mut opts: Vec<String> = Vec::new();
        let (typ, source) = match m.kind {
            MountType::Bind => {
                opts.push("rbind".into());
                let src = PathBuf::from(&m.source);
                if !src.exists() {
                    return Err(Error::invalid(format!(
                        "bind source path does not exist: {} (create it, or use a named volume)",
                        m.source
                    )));
                }
                ("bind", src)
            }
            MountType::Volume => {
                opts.push("rbind".into());
                ("bind", crate::volumes::data_dir(root, &m.source))
            }
            MountType::Tmpfs => {
                opts.extend(["nosuid".to_string(), "nodev".to_string()]);
                if !m.options.iter().any(|o| o == "exec") {
                    opts.push("noexec".into());
                }
                ("tmpfs", PathBuf::from("tmpfs"))
            }
        };
        if m.read_only {
            opts.push("ro".into());
        }
        opts.extend(
            m.options
                .iter()
                .filter(|o| *o != "nocopy" && *o != "exec")
                .cloned(),
        );
        v.push(json!({"destination": m.target, "type": typ, "source": source, "options": opts}));
    }
    Ok(v)
}

/// The complete runtime spec for starting `record`.
pub fn build(
    record: &Record,
    root: &StateRoot,
    dir: &Path,
    console: Option<(u16, u16)>,
) -> Result<runtime::Spec> {
    let user = resolve_user(record, dir, &record.config.user)?;
    let hc = &record.host_config;
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "mount"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "cgroup"}),
    ];
    match hc.network_mode.strip_prefix("container:") {
        // Joins the other container's network namespace through its workload process.
        Some(other) => {
            let (r, st) = crate::containers::load(root, other)?;
            if !st.running || !runtime::sys::process_alive(st.pid, st.pid_start) {
                return Err(Error::conflict(format!(
                    "cannot join the network of container {}: it is not running (start it first)",
                    r.short_name()
                )));
            }
            namespaces.push(json!({"type": "network", "path": format!("/proc/{}/ns/net", st.pid)}));
        }
        None if hc.network_mode != "host" => namespaces.push(json!({"type": "network"})),
        None => {}
    }
    let mut process = json!({
        "terminal": record.config.tty,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": user.additional_gids},
        "args": record.args_full(),
        "env": environment(record, &user, &[]),
        "cwd": if record.config.working_dir.is_empty() { "/" } else { record.config.working_dir.as_str() },
        "capabilities": capabilities(record),
        "rlimits": rlimits(record),
        "noNewPrivileges": record.security.no_new_privileges,
    });
    if let Some((rows, cols)) = console {
        process["consoleSize"] = json!({"height": rows, "width": cols});
    }
    let spec = json!({
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": rootfs_dirs(dir).merged, "readonly": hc.readonly_rootfs},
        "hostname": record.config.hostname,
        "mounts": mounts(record, root, dir)?,
        "linux": {
            "namespaces": namespaces,
        },
    });
    let mut spec = spec;
    if let Some(ns) = &record.security.user_namespace {
        let maps = |m: &[crate::userns::IdRange]| -> Vec<Value> {
            m.iter()
                .map(
                    |r| json!({"containerID": r.container_id, "hostID": r.host_id, "size": r.size}),
                )
                .collect()
        };
        if let Some(list) = spec["linux"]["namespaces"].as_array_mut() {
            list.insert(0, json!({"type": "user"}));
        }
        spec["linux"]["uidMappings"] = json!(maps(&ns.uid_map));
        spec["linux"]["gidMappings"] = json!(maps(&ns.gid_map));
    }
    if record.security.masked_paths {
        spec["linux"]["maskedPaths"] = json!(runtime::MASKED_PATHS);
        spec["linux"]["readonlyPaths"] = json!(runtime::READONLY_PATHS);
    }
    if record.security.privileged {
        spec["linux"]["devices"] = json!(host_devices());
    } else if !hc.devices.is_empty() && record.security.user_namespace.is_some() {
        // A user namespace may not create device nodes: bind the host's (as runc does).
        given_devices(record)?;
        if let Some(list) = spec["mounts"].as_array_mut() {
            for d in &hc.devices {
                list.push(json!({"destination": d.path_in_container, "type": "bind",
                                 "source": d.path_on_host, "options": ["bind", "nosuid", "noexec"]}));
            }
        }
    } else if !hc.devices.is_empty() {
        spec["linux"]["devices"] = json!(given_devices(record)?);
    }
    let mut sysctl = serde_json::Map::new();
    if !record.security.privileged && Path::new("/proc/sys/vm/memfd_noexec").exists() {
        // No executable memfds in the container's PID namespace (a child namespace
        // cannot lower it): the file-less exec of a downloaded payload fails.
        sysctl.insert("vm.memfd_noexec".into(), json!("2"));
    }
    for (k, v) in &hc.sysctls {
        sysctl.insert(k.clone(), json!(v));
    }
    if !sysctl.is_empty() {
        spec["linux"]["sysctl"] = Value::Object(sysctl);
    }
    if !record.config.domainname.is_empty() {
        spec["domainname"] = json!(record.config.domainname);
    }
    serde_json::from_value(spec)
        .map_err(|e| Error::invalid(format!("building the runtime spec: {e}")))
}

/// Cgroup limits from the record.
pub fn resources(record: &Record) -> runtime::cgroup::Resources {
    let hc = &record.host_config;
    let mut r = runtime::cgroup::Resources::default();
    if hc.memory > 0 {
        r.memory = Some(hc.memory);
    }
    if hc.memory_swap != 0 {
        r.memory_swap = Some(hc.memory_swap);
    }
    if hc.cpu_shares > 0 {
        r.cpu_shares = Some(hc.cpu_shares as u64);
    }
    if hc.nano_cpus > 0 {
        r.cpu_period = Some(100_000);
        r.cpu_quota = Some(hc.nano_cpus / 10_000);
    }
    r.pids_limit = hc.pids_limit;
    if !record.security.privileged {
        let mut rules: Vec<String> = runtime::cgroup::DEFAULT_DEVICE_RULES
            .iter()
            .map(|s| s.to_string())
            .collect();
        for d in device_nodes(record) {
            rules.push(format!("{} {}:{} {}", d.kind, d.major, d.minor, d.perms));
        }
        r.devices = Some(rules);
    }
    r
}

impl Record {
    /// Entrypoint followed by Cmd: what the container runs.
    pub fn args_full(&self) -> Vec<String> {
        let mut v = self.config.entrypoint.clone();
        v.extend(self.config.cmd.iter().cloned());
        v
    }
}

/// The host's device nodes (top level of /dev and one directory down), for
/// `--privileged`, which gives a container every device as Docker does.
fn host_devices() -> Vec<Value> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::from("/dev")];
    let mut depth = 0;
    while depth < 2 && !dirs.is_empty() {
        let mut next = Vec::new();
        for d in dirs {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                let ft = meta.file_type();
                let typ = if ft.is_char_device() {
                    "c"
                } else if ft.is_block_device() {
                    "b"
                } else {
                    if ft.is_dir()
                        && !matches!(e.file_name().to_str(), Some("pts" | "shm" | "mqueue"))
                    {
                        next.push(path);
                    }
                    continue;
                };
                let rdev = meta.rdev();
                out.push(json!({
                    "path": path, "type": typ,
                    "major": libc::major(rdev), "minor": libc::minor(rdev),
                    "fileMode": meta.mode() & 0o7777, "uid": meta.uid(), "gid": meta.gid(),
                }));
            }
        }
        dirs = next;
        depth += 1;
    }
    out
}

/// A `--device` as it is on the host now.
struct DeviceNode {
    path: String,
    kind: &'static str,
    major: u32,
    minor: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    perms: String,
}

/// The `--device` nodes, read from the host at start (a device may have been replugged
/// with new numbers since create); ones that vanished are skipped here and reported by
/// [`given_devices`].
fn device_nodes(record: &Record) -> Vec<DeviceNode> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    record
        .host_config
        .devices
        .iter()
        .filter_map(|d| {
            let meta = std::fs::metadata(&d.path_on_host).ok()?;
            let kind = if meta.file_type().is_block_device() {
                "b"
            } else if meta.file_type().is_char_device() {
                "c"
            } else {
                return None;
            };
            Some(DeviceNode {
                path: d.path_in_container.clone(),
                kind,
                major: libc::major(meta.rdev()),
                minor: libc::minor(meta.rdev()),
                mode: meta.mode() & 0o7777,
                uid: meta.uid(),
                gid: meta.gid(),
                perms: d.cgroup_permissions.clone(),
            })
        })
        .collect()
}

fn given_devices(record: &Record) -> Result<Vec<Value>> {
    let nodes = device_nodes(record);
    let missing: Vec<&str> = record
        .host_config
        .devices
        .iter()
        .filter(|d| !nodes.iter().any(|n| n.path == d.path_in_container))
        .map(|d| d.path_on_host.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(Error::invalid(format!(
            "--device {} is no longer a device on this host (plug it back in, or recreate the container without it)",
            missing.join(", ")
        )));
    }
    Ok(nodes
        .iter()
        .map(|d| {
            json!({"path": d.path, "type": d.kind, "major": d.major, "minor": d.minor,
                   "fileMode": d.mode, "uid": d.uid, "gid": d.gid})
        })
        .collect())
}
