//! The set of containers in a state root: creating a record (validating every input
//! first, reserving the name atomically), finding one by name or id prefix, listing,
//! removing, and reconciling records whose monitor died. Starting and stopping live in
//! `lifecycle`.

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::record::{Config, GraphDriver, HostConfig, MountType, Record, State, Status};
use crate::state_root::{Lock, StateRoot};
use crate::{ids, options, spec, time, units, volumes};

/// What the user asked for in `create`/`run`, as typed. Validated by [`create`].
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub name: Option<String>,
    pub rootfs: Option<PathBuf>,
    /// The image to run, as the user named it (ignored when `rootfs` or `layers` is given).
    pub image: Option<String>,
    /// A root filesystem made of store layers (diff ids, bottom first) with an empty
    /// image config and no image record: what a build step runs on. Nothing about it is
    /// visible in `images`, and no other build can remove it meanwhile (the container
    /// record pins the layers). Ignored when `rootfs` is given.
    pub layers: Option<Vec<store::Digest>>,
    pub command: Vec<String>,
    /// The entrypoint as an argv (`--entrypoint X` is `[X]`, compose gives lists);
    /// `Some(vec![])` clears the image's entrypoint.
    pub entrypoint: Option<Vec<String>>,
    pub env: Vec<String>,
    pub env_files: Vec<PathBuf>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    /// `--network`, `-p`, `--dns`... (see netopts).
    pub net: crate::netopts::NetOptions,
    pub memory: Option<String>,
    pub memory_swap: Option<String>,
    pub cpus: Option<String>,
    pub cpu_shares: Option<i64>,
    pub pids_limit: Option<i64>,
    pub init: bool,
    pub read_only: bool,
    pub tmpfs: Vec<String>,
    pub volumes: Vec<String>,
    pub mounts: Vec<String>,
    /// Mounts already in typed form, from callers that do not parse user text (a build
    /// step's `RUN --mount`s): no comma-separated syntax, so any path can be a source.
    pub mount_points: Vec<crate::record::MountPoint>,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<i64>,
    pub ulimits: Vec<String>,
    pub shm_size: Option<String>,
    pub labels: Vec<String>,
    pub restart: Option<String>,
    pub auto_remove: bool,
    pub tty: bool,
    pub interactive: bool,
    /// `--health-*` and `--no-healthcheck`.
    pub health: crate::health::HealthOptions,
    /// `--cap-add`, `--cap-drop`, `--privileged`, `--security-opt`.
    pub security: crate::security::SecurityOptions,
}

/// What a container's root filesystem is made of.
#[derive(Debug, Clone)]
enum RootSource {
    /// `--rootfs DIR`: one directory, used as the only (read-only) lower layer.
    Dir(PathBuf),
    /// An image from the store: its layers and its default run configuration.
    Image {
        given: String,
        id: store::Digest,
        lowers: Vec<PathBuf>,
        config: Box<store::config::RunConfig>,
    },
    /// Store layers without an image (a build step): `shown` stands in for the image.
    Layers { shown: String, lowers: Vec<PathBuf> },
}

fn root_source(
    root: &StateRoot,
    opts: &CreateOptions,
) -> Result<(RootSource, Option<store::StoreLock>)> {
    if let Some(rootfs) = &opts.rootfs {
        let dir = fs::canonicalize(rootfs).map_err(|e| {
            Error::invalid(format!(
                "rootfs {}: {e} (give an existing directory to --rootfs)",
                rootfs.display()
            ))
        })?;
        if !dir.is_dir() {
            return Err(Error::invalid(format!(
                "rootfs {} is not a directory",
                dir.display()
            )));
        }
        return Ok((RootSource::Dir(dir), None));
    }
    let store = crate::images::open_store(root)?;
    let lock = store.lock_shared()?;
    if let Some(layers) = &opts.layers {
        if let Some(missing) = layers.iter().find(|d| !store.has_layer(d)) {
            return Err(Error::invalid(format!(
                "layer {missing} is not in the image store (it was removed meanwhile; build again)"
            )));
        }
        let shown = match layers.last() {
            Some(top) => format!("layers:{}", top.short()),
            None => "layers:scratch".to_string(),
        };
        let lowers = layers.iter().rev().map(|d| store.layer_root(d)).collect();
        return Ok((RootSource::Layers { shown, lowers }, Some(lock)));
    }
    let given = opts.image.clone().ok_or_else(|| {
        Error::invalid("no image given: berth run [OPTIONS] IMAGE [COMMAND] (or --rootfs DIR)")
    })?;
    let found = crate::images::find(&store, &given)?;
    let (config, _) = store.image_config(&found.id)?;
    let source = RootSource::Image {
        given,
        lowers: store.lower_dirs(&found.record),
        id: found.id,
        config: Box::new(config.config.unwrap_or_default()),
    };
    Ok((source, Some(lock)))
}

fn build_record(
    root: &StateRoot,
    opts: &CreateOptions,
    source: &RootSource,
    id: &str,
    name: &str,
    dir: &Path,
) -> Result<(Record, Option<Vec<u8>>, crate::userns::Mode)> {
    let empty = store::config::RunConfig::default();
    let (image_cfg, lowers, image_id, image_name) = match source {
        RootSource::Dir(d) => (
            &empty,
            vec![d.clone()],
            format!("rootfs:{}", d.display()),
            d.to_string_lossy().into_owned(),
        ),
        RootSource::Image {
            given,
            id,
            lowers,
            config,
        } => (&**config, lowers.clone(), id.to_string(), given.clone()),
        RootSource::Layers { shown, lowers } => {
            (&empty, lowers.clone(), shown.clone(), shown.clone())
        }
    };

    let mut env = Vec::new();
    for f in &opts.env_files {
        env.extend(options::read_env_file(f)?);
    }
    env.extend(options::parse_env(&opts.env));
    let image_env = image_cfg.env.clone().unwrap_or_default();
    let mut env = options::merge_env(&[&image_env, &env]);
    // Docker gives every container a PATH when neither the image nor the user set one.
    if matches!(source, RootSource::Image { .. }) && !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(
            0,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        );
    }

    let config = crate::config::current()?;
    let net = crate::netopts::resolve(root, &opts.net)?;
    crate::netopts::extra_hosts(&opts.net.add_hosts, Some("0.0.0.0"))?;
    let network = net.network_mode.clone();
    let security = crate::security::resolve(&opts.security, network == "host")?;
    let seccomp_profile = security.seccomp_profile.clone();
    let userns_mode = security.userns.clone();
    let sysctls = crate::security::parse_sysctls(&opts.security.sysctls, network == "host")?;
    let devices = crate::security::parse_devices(&opts.security.devices)?;

    let memory = opts
        .memory
        .as_deref()
        .map(|m| units::parse_bytes(m, "-m, --memory"))
        .transpose()?
        .unwrap_or(0);
    if memory != 0 && memory < 6 << 20 {
        return Err(Error::invalid("minimum memory limit allowed is 6MB"));
    }
    let memory_swap = match opts.memory_swap.as_deref() {
        None => 0,
        Some("-1") => -1,
        Some(s) => units::parse_bytes(s, "--memory-swap")?,
    };
    if memory_swap > 0 && memory == 0 {
        return Err(Error::invalid("you should always set the memory limit when using the memory swap limit (--memory with --memory-swap)"));
    }
    if memory_swap > 0 && memory_swap < memory {
        return Err(Error::invalid(
            "minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    let nano_cpus = opts
        .cpus
        .as_deref()
        .map(units::parse_cpus)
        .transpose()?
        .unwrap_or(0);
    let shm_size = opts
        .shm_size
        .as_deref()
        .map(|s| units::parse_bytes(s, "--shm-size"))
        .transpose()?
        .unwrap_or(0);
    if let Some(s) = opts.cpu_shares {
        if s < 0 {
            return Err(Error::invalid("--cpu-shares must be positive"));
        }
    }

    let mut mounts = Vec::new();
    for v in &opts.volumes {
        mounts.push(options::parse_volume(v)?);
    }
    for m in &opts.mounts {
        mounts.push(options::parse_mount(m)?);
    }
    for t in &opts.tmpfs {
        mounts.push(options::parse_tmpfs(t)?);
    }
    mounts.extend(opts.mount_points.iter().cloned());
    // The image's VOLUMEs become anonymous volumes unless the user mounted something there.
    for target in image_cfg.volumes.iter().flat_map(|v| v.keys()) {
        let t = target.trim_end_matches('/');
        if !t.is_empty() && !mounts.iter().any(|m| m.target.trim_end_matches('/') == t) {
            mounts.push(options::parse_volume(t)?);
        }
    }
    for (i, m) in mounts.iter().enumerate() {
        if mounts[..i].iter().any(|o| o.target == m.target) {
            return Err(Error::invalid(format!(
                "duplicate mount point: {}",
                m.target
            )));
        }
        if m.kind == MountType::Bind {
            let src = Path::new(&m.source);
            if !src.is_absolute() {
                return Err(Error::invalid(format!(
                    "bind source {:?} is not an absolute path (use $(pwd)/{} for a host directory)",
                    m.source, m.source
                )));
            }
            if !src.exists() {
                return Err(Error::invalid(format!(
                    "invalid mount config: bind source path does not exist: {}",
                    m.source
                )));
            }
        }
    }

    let mut ulimits = Vec::new();
    for u in &opts.ulimits {
        let u = options::parse_ulimit(u)?;
        check_ulimit(&u)?;
        ulimits.push(u);
    }

    let stop_signal = opts
        .stop_signal
        .clone()
        .or_else(|| image_cfg.stop_signal.clone())
        .unwrap_or_default();
    if !stop_signal.is_empty() {
        crate::signals::parse(&stop_signal)?;
    }
    let restart = crate::restart::Policy::parse(opts.restart.as_deref().unwrap_or(""))?;
    if opts.auto_remove && restart.restarts() {
        return Err(crate::restart::conflicts_with_rm());
    }

    // Docker's rules: --entrypoint replaces the image's entrypoint and drops its Cmd;
    // a command given on the line replaces the image's Cmd.
    let (entrypoint, cmd) = match &opts.entrypoint {
        Some(e) => (e.clone(), opts.command.clone()),
        None => {
            let ep = image_cfg.entrypoint.clone().unwrap_or_default();
            let cmd = if opts.command.is_empty() {
                image_cfg.cmd.clone().unwrap_or_default()
            } else {
                opts.command.clone()
            };
            (ep, cmd)
        }
    };
    if entrypoint.is_empty() && cmd.is_empty() {
        return Err(Error::invalid(
            "no command specified: give one after the image (e.g. berth run IMAGE sh)",
        ));
    }
    let healthcheck =
        crate::health::container_config(&opts.health, image_cfg.healthcheck.as_ref())?;
    let mut labels = image_cfg.labels.clone().unwrap_or_default();
    labels.extend(options::parse_labels(&opts.labels));
    let user = opts
        .user
        .clone()
        .or_else(|| image_cfg.user.clone())
        .unwrap_or_default();
    let working_dir = opts
        .workdir
        .clone()
        .or_else(|| image_cfg.working_dir.clone())
        .unwrap_or_default();

    // `--network container:X` shares X's network: its names too.
    let joined = network
        .strip_prefix("container:")
        .map(|other| load(root, other))
        .transpose()?
        .map(|(r, _)| r);
    if joined.is_some() && opts.hostname.is_some() {
        return Err(Error::invalid(
            "conflicting options: hostname and the container network mode (the hostname belongs to the other container)",
        ));
    }
    let hostname = opts.hostname.clone().unwrap_or_else(|| {
        if let Some(other) = &joined {
            other.config.hostname.clone()
        } else if network == "host" {
            fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default()
        } else {
            id[..12].to_string()
        }
    });
    let dirs = spec::rootfs_dirs(dir);
    let mut graph = GraphDriver {
        name: "overlay".into(),
        ..Default::default()
    };
    let lower_dir: Vec<String> = lowers
        .iter()
        .map(|l| l.to_string_lossy().into_owned())
        .collect();
    graph.data.insert("LowerDir".into(), lower_dir.join(":"));
    graph
        .data
        .insert("UpperDir".into(), dirs.upper.to_string_lossy().into_owned());
    graph
        .data
        .insert("WorkDir".into(), dirs.work.to_string_lossy().into_owned());
    graph.data.insert(
        "MergedDir".into(),
        dirs.merged.to_string_lossy().into_owned(),
    );

    let record = Record {
        id: id.to_string(),
        created: time::now_rfc3339(),
        path: entrypoint
            .first()
            .or(cmd.first())
            .cloned()
            .unwrap_or_default(),
        args: entrypoint
            .iter()
            .chain(cmd.iter())
            .skip(1)
            .cloned()
            .collect(),
        name: format!("/{name}"),
        image: image_id,
        config: Config {
            hostname,
            domainname: opts.domainname.clone().unwrap_or_default(),
            user,
            tty: opts.tty,
            open_stdin: opts.interactive,
            env,
            cmd,
            entrypoint,
            image: image_name,
            working_dir,
            labels,
            stop_signal,
            stop_timeout: opts.stop_timeout,
            exposed_ports: {
                let mut ports = image_cfg.exposed_ports.clone().unwrap_or_default();
                for p in crate::netopts::exposed(&opts.net.expose)? {
                    ports.entry(p).or_insert_with(|| serde_json::json!({}));
                }
                (!ports.is_empty()).then_some(ports)
            },
            healthcheck,
            volumes: image_cfg.volumes.clone(),
            shell: image_cfg.shell.clone().filter(|s| !s.is_empty()),
        },
        host_config: HostConfig {
            network_mode: network,
            restart_policy: restart.to_record(),
            auto_remove: opts.auto_remove,
            readonly_rootfs: opts.read_only,
            init: opts.init,
            memory,
            memory_swap,
            nano_cpus,
            cpu_shares: opts.cpu_shares.unwrap_or(0),
            pids_limit: opts.pids_limit,
            shm_size,
            ulimits,
            mounts,
            privileged: opts.security.privileged,
            cap_add: security.cap_add,
            cap_drop: security.cap_drop,
            security_opt: opts.security.security_opt.clone(),
            sysctls,
            devices,
            port_bindings: net.port_bindings.clone(),
            publish_all_ports: opts.net.publish_all,
            dns: or_config(&opts.net.dns, &config.dns),
            dns_search: or_config(&opts.net.dns_search, &config.dns_search),
            dns_options: or_config(&opts.net.dns_options, &config.dns_opts),
            extra_hosts: opts.net.add_hosts.clone(),
            userns_mode: match userns_mode {
                crate::userns::Mode::Host => String::new(),
                crate::userns::Mode::Auto { .. } => "auto".into(),
            },
        },
        graph_driver: graph,
        log_path: dir.join("ctr.log").to_string_lossy().into_owned(),
        hostname_path: dir.join("hostname").to_string_lossy().into_owned(),
        hosts_path: dir.join("hosts").to_string_lossy().into_owned(),
        resolv_conf_path: dir.join("resolv.conf").to_string_lossy().into_owned(),
        rootfs_layers: lowers,
        security: security.security,
        networking_config: net.config,
    };
    if !record.config.working_dir.is_empty() && !record.config.working_dir.starts_with('/') {
        return Err(Error::invalid(format!(
            "the working directory '{}' is invalid: it needs to be an absolute path",
            record.config.working_dir
        )));
    }
    // An unknown user is bad input: catch it now, before anything exists.
    spec::resolve_user(&record, dir, &record.config.user)?;
    Ok((record, seccomp_profile, userns_mode))
}

/// Raising a hard limit needs CAP_SYS_RESOURCE, which root on some hosts lacks.
fn check_ulimit(u: &crate::record::Ulimit) -> Result<()> {
    let res = match u.name.as_str() {
        "nofile" => libc::RLIMIT_NOFILE,
        "nproc" => libc::RLIMIT_NPROC,
        "core" => libc::RLIMIT_CORE,
        "memlock" => libc::RLIMIT_MEMLOCK,
        "stack" => libc::RLIMIT_STACK,
        _ => return Ok(()),
    };
    let Ok((_, hard)) = runtime::sys::getrlimit(res as libc::c_int) else {
        return Ok(());
    };
    if u.hard > hard
        && !caps::has_cap(
            None,
            caps::CapSet::Effective,
            caps::Capability::CAP_SYS_RESOURCE,
        )
        .unwrap_or(false)
    {
        return Err(Error::invalid(format!(
            "--ulimit {}={}:{}: the hard limit cannot be raised above the current {hard} without CAP_SYS_RESOURCE, which berth does not have here; use a hard limit of at most {hard}",
            u.name, u.soft, u.hard
        )));
    }
    Ok(())
}

/// The flag's values, or the configured default when the flag was not given.
fn or_config(given: &[String], configured: &[String]) -> Vec<String> {
    if given.is_empty() {
        configured.to_vec()
    } else {
        given.to_vec()
    }
}

/// Creates a container record (state "created"). On any error nothing is left behind.
pub fn create(root: &StateRoot, opts: &CreateOptions) -> Result<Record> {
    // The shared store lock pins the image's layers until the record naming them exists.
    let (source, _store_lock) = root_source(root, opts)?;
    let id = ids::new_id()?;
    let tmp = root
        .containers()
        .join(format!(".tmp-{id}-{}", std::process::id()));
    fs::create_dir(&tmp).ctx(|| format!("creating {}", tmp.display()))?;
    let dir = root.container(&id);
    // Held until the record naming the container's id range exists.
    let mut userns_allocation = None;
    let result = (|| -> Result<(Record, String, Option<Vec<u8>>)> {
        let name = match &opts.name {
            Some(n) => {
                ids::validate_name(n)?;
                n.clone()
            }
            None => ids::random_name(),
        };
        // Everything is validated against the final directory paths before the name is
        // taken, so bad input never reserves anything.
        let (mut record, profile, userns) = build_record(root, opts, &source, &id, &name, &dir)?;
        if let crate::userns::Mode::Auto { user, size } = userns {
            let a = crate::userns::allocate(root, &user, size)?;
            record.security.user_namespace = Some(a.userns.clone());
            userns_allocation = Some(a);
        }
        let name = reserve_name(root, &name, &id, opts.name.is_none())?;
        record.name = format!("/{name}");
        Ok((record, name, profile))
    })();
    let (record, name, seccomp_profile) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let fill = (|| -> Result<()> {
        for m in &record.host_config.mounts {
            if m.kind == MountType::Volume {
                volumes::create(
                    root,
                    &volume_name(&record, m),
                    Default::default(),
                    m.anonymous,
                )?;
            }
        }
        let dirs = spec::rootfs_dirs(&tmp);
        for d in [&dirs.upper, &dirs.work, &dirs.merged] {
            fs::create_dir(d).ctx(|| format!("creating {}", d.display()))?;
        }
        crate::etc_files::write(&tmp, &record)?;
        if let Some(ns) = &record.security.user_namespace {
            give_to_namespace_root(root, &tmp, &record, ns.root())?;
        }
        if let Some(profile) = &seccomp_profile {
            crate::state_root::write_new(&crate::security::profile_path(&tmp), profile)?;
        }
        let mut rec = record.clone();
        rec.host_config.mounts = rec
            .host_config
            .mounts
            .iter()
            .map(|m| {
                let mut m = m.clone();
                if m.kind == MountType::Volume {
                    m.source = volume_name(&record, &m);
                }
                m
            })
            .collect();
        crate::state_root::write_new_json(&tmp.join("record.json"), &rec)?;
        crate::state_root::write_new_json(&tmp.join("state.json"), &State::new())?;
        fs::rename(&tmp, &dir).ctx(|| format!("creating {}", dir.display()))
    })();
    if let Err(e) = fill {
        let _ = fs::remove_dir_all(&tmp);
        let _ = fs::remove_file(root.names().join(&name));
        // Only the volumes made here: an anonymous volume handed over (with its name)
        // from a container being replaced keeps its data.
        for m in record
            .host_config
            .mounts
            .iter()
            .filter(|m| m.anonymous && m.source.is_empty())
        {
            let _ = volumes::remove(root, &volume_name(&record, m), true);
        }
        return Err(e);
    }
    drop(userns_allocation);
    Record::load(root, &id)
}

/// In a user namespace the container's root is an unprivileged host id: it must own the
/// overlay's upper directory (the container's `/`), its /etc/hostname, hosts and
/// resolv.conf, and the volumes it starts with empty, as with Docker's userns-remap.
/// The container directory itself is left searchable so it can reach them.
fn give_to_namespace_root(
    root: &StateRoot,
    dir: &Path,
    record: &Record,
    (uid, gid): (u32, u32),
) -> Result<()> {
    use std::os::unix::fs::{chown, PermissionsExt};
    let dirs = spec::rootfs_dirs(dir);
    let mut paths = vec![
        dirs.upper.clone(),
        dir.join("hostname"),
        dir.join("hosts"),
        dir.join("resolv.conf"),
    ];
    for m in &record.host_config.mounts {
        if m.kind == MountType::Volume {
            let data = volumes::data_dir(root, &volume_name(record, m));
            let empty = fs::read_dir(&data)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
            if empty {
                paths.push(data);
            }
        }
    }
    for p in &paths {
        chown(p, Some(uid), Some(gid))
            .ctx(|| format!("giving {} to the container's user namespace", p.display()))?;
    }
    let _ = fs::set_permissions(&dirs.upper, fs::Permissions::from_mode(0o755));
    Ok(())
}

/// Anonymous volumes are named after the container id and their position, so the name
/// is known before the volume exists.
fn volume_name(record: &Record, m: &crate::record::MountPoint) -> String {
    if m.anonymous && m.source.is_empty() {
        let idx = record
            .host_config
            .mounts
            .iter()
            .position(|x| x.target == m.target)
            .unwrap_or(0);
        format!("{}-{idx}", &record.id)
    } else {
        m.source.clone()
    }
}

fn reserve_name(root: &StateRoot, name: &str, id: &str, generated: bool) -> Result<String> {
    let mut candidate = name.to_string();
    for _ in 0..20 {
        let link = root.names().join(&candidate);
        match symlink(id, &link) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let owner = fs::read_link(&link)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                // A name whose container no longer exists is a leftover of a crash.
                if !owner.is_empty() && !root.container(&owner).exists() && !creating(root, &owner)
                {
                    let _ = fs::remove_file(&link);
                    continue;
                }
                if !generated {
                    return Err(Error::conflict(format!(
                        "the container name \"/{candidate}\" is already in use by container \"{owner}\": remove (berth rm) or rename that container to reuse the name"
                    )));
                }
                candidate = ids::random_name();
            }
            Err(e) => return Err(e).ctx(|| format!("reserving name {candidate}")),
        }
    }
    Err(Error::conflict(
        "could not find a free container name; give one with --name",
    ))
}

/// Whether a live process is still creating container `id`.
fn creating(root: &StateRoot, id: &str) -> bool {
    let Ok(entries) = fs::read_dir(root.containers()) else {
        return false;
    };
    entries.flatten().any(|e| {
        let n = e.file_name().to_string_lossy().into_owned();
        n.strip_prefix(".tmp-")
            .and_then(|rest| rest.split_once('-'))
            .is_some_and(|(i, pid)| {
                i == id
                    && pid
                        .parse::<i32>()
                        .is_ok_and(|p| Path::new(&format!("/proc/{p}")).exists())
            })
    })
}

/// Resolves a name, full id or unique id prefix to an id.
pub fn find(root: &StateRoot, key: &str) -> Result<String> {
    let key = key.trim_start_matches('/');
    if key.is_empty() {
        return Err(Error::NoSuchContainer(key.into()));
    }
    if let Ok(target) = fs::read_link(root.names().join(key)) {
        let id = target.to_string_lossy().into_owned();
        if root.container(&id).join("record.json").exists() {
            return Ok(id);
        }
    }
    if key.len() == 64 && root.container(key).join("record.json").exists() {
        return Ok(key.to_string());
    }
    let mut matches = Vec::new();
    for e in fs::read_dir(root.containers())
        .ctx(|| "reading containers".into())?
        .flatten()
    {
        let n = e.file_name().to_string_lossy().into_owned();
        if !n.starts_with('.') && n.starts_with(key) && e.path().join("record.json").exists() {
            matches.push(n);
        }
    }
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 => Err(Error::NoSuchContainer(key.to_string())),
        _ => Err(Error::invalid(format!(
            "multiple containers match {key:?}: use more of the id or the name"
        ))),
    }
}

fn ids_in(root: &StateRoot) -> Vec<String> {
    let Ok(entries) = fs::read_dir(root.containers()) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect()
}

pub fn all_records(root: &StateRoot) -> Vec<Record> {
    ids_in(root)
        .iter()
        .filter_map(|id| Record::load(root, id).ok())
        .collect()
}

/// Loads a container's record and state, first repairing a state whose monitor died.
pub fn load(root: &StateRoot, id: &str) -> Result<(Record, State)> {
    let record = Record::load(root, id)?;
    let state = State::load(root, id)?;
    if (state.status == Status::Running || state.status == Status::Restarting)
        && !runtime::sys::process_alive(state.monitor_pid, state.monitor_start)
    {
        return reconcile(root, record);
    }
    Ok((record, state))
}

/// Every container, newest first, with repaired states; also sweeps crash leftovers.
pub fn list(root: &StateRoot) -> Vec<(Record, State)> {
    sweep_leftovers(root);
    let mut v: Vec<(Record, State)> = ids_in(root)
        .iter()
        .filter_map(|id| load(root, id).ok())
        .collect();
    v.sort_by(|a, b| b.0.created.cmp(&a.0.created));
    v
}

/// A monitor that died (killed, host crash) leaves a "running" record: kill what is
/// left of the container, remove its cgroup and record the exit.
fn reconcile(root: &StateRoot, record: Record) -> Result<(Record, State)> {
    let dir = root.container(&record.id);
    let _lock = Lock::acquire(&dir.join("lock"))?;
    let mut state = State::load(root, &record.id)?;
    if (state.status == Status::Running || state.status == Status::Restarting)
        && !runtime::sys::process_alive(state.monitor_pid, state.monitor_start)
    {
        if runtime::sys::process_alive(state.pid, state.pid_start) {
            let _ = runtime::sys::kill(state.pid, libc::SIGKILL);
        }
        let cg = runtime::cgroup::Cgroup::new(
            runtime::cgroup::Layout::detect(),
            root.cgroup_name(&record.id),
        );
        let _ = cg.destroy();
        crate::netattach::detach(root, &record);
        state.network_settings = Default::default();
        // Waiting to be restarted, it had no workload to kill: its last exit stands.
        if state.status != Status::Restarting {
            state.exit_code = 137;
        }
        state.set_status(Status::Exited);
        state.error = "the container's monitor process died; the container was stopped".into();
        state.finished_at = time::now_rfc3339();
        if let Some(h) = &mut state.health {
            h.status = crate::record::HealthStatus::Unhealthy;
        }
        state.pid = 0;
        state.save(&dir)?;
        if record.host_config.auto_remove {
            drop(_lock);
            remove_files(root, &record)?;
        }
    }
    Ok((record, state))
}

/// Drops the endpoints on `net` whose container is gone or no longer running (its
/// monitor was killed): their addresses and links go with them.
pub fn reap_network_endpoints(root: &StateRoot, net: &crate::networks::Network) {
    for ep in crate::networks::endpoints(root, net) {
        match load(root, &ep.container_id) {
            // `load` reconciles a container whose monitor died, which detaches it.
            Ok((_, state)) if state.running => {}
            Ok((record, _)) => crate::netattach::detach(root, &record),
            Err(_) => {
                if let Ok(mut nl) = network::link::Netlink::open() {
                    let _ = nl.del_link(&ep.host_link);
                }
                if let Ok(pool) = crate::networks::pool(root, net) {
                    let _ = pool.release(&ep.container_id);
                }
                let _ =
                    fs::remove_file(crate::networks::endpoint_path(root, net, &ep.container_id));
            }
        }
    }
}

/// The ids of the networks any container (running or not) is configured to join.
pub fn networks_in_use(root: &StateRoot) -> Result<std::collections::HashSet<String>> {
    Ok(all_records(root)
        .iter()
        .flat_map(|r| {
            r.networking_config
                .endpoints_config
                .values()
                .map(|e| e.network_id.clone())
                .collect::<Vec<_>>()
        })
        .collect())
}

/// Removes temp directories of creates that died half-way, and names that point
/// at nothing.
pub fn sweep_leftovers(root: &StateRoot) {
    if let Ok(entries) = fs::read_dir(root.containers()) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let dead = |prefix: &str| {
                n.strip_prefix(prefix)
                    .and_then(|rest| rest.rsplit_once('-'))
                    .and_then(|(_, pid)| pid.parse::<i32>().ok())
                    .is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists())
            };
            if dead(".tmp-") || dead(".rm-") {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    if let Ok(entries) = fs::read_dir(root.names()) {
        for e in entries.flatten() {
            if let Ok(target) = fs::read_link(e.path()) {
                let id = target.to_string_lossy().into_owned();
                if !root.container(&id).exists() && !creating(root, &id) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }
}

/// Deletes a stopped container's files, name and (with `--rm`) anonymous volumes.
pub fn remove_files(root: &StateRoot, record: &Record) -> Result<()> {
    match unpublish(root, record)? {
        Some(trash) => delete(&trash),
        None => Ok(()),
    }
}

/// First half of removal: the container disappears from every listing and its name is
/// free again (one rename and one unlink), and under `--rm` its anonymous volumes are
/// gone. Returns the directory left to delete, or
/// None if the container was already gone. A crash after this leaves a `.rm-` leftover
/// that the next listing sweeps, never a half container.
pub fn unpublish(root: &StateRoot, record: &Record) -> Result<Option<PathBuf>> {
    let dir = root.container(&record.id);
    let trash = root
        .containers()
        .join(format!(".rm-{}-{}", record.id, std::process::id()));
    match fs::rename(&dir, &trash) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).ctx(|| format!("removing {}", dir.display())),
    }
    let name_link = root.names().join(record.short_name());
    if fs::read_link(&name_link).is_ok_and(|t| t.as_os_str() == record.id.as_str()) {
        let _ = fs::remove_file(&name_link);
    }
    if record.host_config.auto_remove {
        remove_anonymous_volumes(root, record);
    }
    Ok(Some(trash))
}

/// Second half of removal: the files themselves.
pub fn delete(trash: &Path) -> Result<()> {
    fs::remove_dir_all(trash).ctx(|| format!("removing {}", trash.display()))
}

pub fn remove_anonymous_volumes(root: &StateRoot, record: &Record) {
    for m in record.host_config.mounts.iter().filter(|m| m.anonymous) {
        let _ = volumes::remove(root, &m.source, true);
    }
}
