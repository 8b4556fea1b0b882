//! One container of a service as the engine's `CreateOptions`: every setting of the
//! model in the form `berth run` would be given it (network specs in Docker's
//! `name=NET,alias=A,ip=IP` form, mounts in `--mount` form, durations as Go
//! durations). Settings berth cannot honour are errors when ignoring them would
//! change what runs, warnings otherwise. Reads the service's `env_file` files; never
//! creates anything.

use std::collections::BTreeMap;
use std::fs;

use compose::model::{go_duration, Port, Service, ServiceVolume, VolumeKind};
use engine::containers::CreateOptions;
use engine::health::HealthOptions;
use engine::netopts::NetOptions;
use engine::security::SecurityOptions;

use crate::{Error, Result, Stack};

/// What makes one container of a service different from the others.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub service: String,
    pub name: String,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    /// Mount specs prepared elsewhere (secrets, configs).
    pub extra_mounts: Vec<String>,
    /// Give the container the service's name and aliases on its networks (not for
    /// `compose run` containers, as in compose).
    pub aliases: bool,
    /// Anonymous volumes of the container this one replaces, mounted again at their
    /// targets where the new container has an anonymous volume (compose keeps them
    /// across a recreate unless `--renew-anon-volumes`).
    pub inherited: Vec<engine::record::MountPoint>,
}

/// The options to create the container, and warnings about settings left out.
pub fn create_options(
    stack: &Stack,
    svc: &Service,
    t: &Target,
) -> Result<(CreateOptions, Vec<String>)> {
    let mut warnings = Vec::new();
    let service = &t.service;
    let mut mounts = Vec::new();
    let mut mount_points = Vec::new();
    let inherited = |target: &str| {
        t.inherited
            .iter()
            .find(|m| m.target.trim_end_matches('/') == target.trim_end_matches('/'))
    };
    for v in &svc.volumes {
        let anonymous = v.kind == VolumeKind::Volume && v.source.is_none();
        match inherited(&v.target).filter(|_| anonymous) {
            Some(old) => {
                let mut m = old.clone();
                m.read_only = v.read_only;
                mount_points.push(m);
            }
            None => mounts.push(mount_spec(stack, service, v)?),
        }
    }
    // The rest stand at the image's VOLUMEs (the caller kept only those).
    for old in &t.inherited {
        if !mount_points
            .iter()
            .any(|m: &engine::record::MountPoint| m.target == old.target)
        {
            mount_points.push(old.clone());
        }
    }
    mounts.extend(t.extra_mounts.iter().cloned());
    if svc.mem_reservation.is_some() {
        warnings.push(format!(
            "service {service:?}: mem_reservation is not supported by berth and is ignored"
        ));
    }
    if let Some(l) = &svc.logging {
        match l.driver.as_deref() {
            None | Some("json-file") | Some("local") | Some("default") => {}
            Some(d) => warnings.push(format!(
                "service {service:?}: logging driver {d:?} is not supported; berth keeps the container's log in its own file"
            )),
        }
    }
    let opts = CreateOptions {
        name: Some(t.name.clone()),
        image: Some(t.image.clone()),
        command: svc.command.clone().unwrap_or_default(),
        entrypoint: svc.entrypoint.clone(),
        env: environment(stack, service, svc)?,
        workdir: svc.working_dir.clone(),
        user: svc.user.clone(),
        hostname: svc.hostname.clone(),
        domainname: svc.domainname.clone(),
        net: net_options(stack, service, svc, t)?,
        memory: svc.mem_limit.map(|b| b.to_string()),
        memory_swap: svc.memswap_limit.map(|b| b.to_string()),
        cpus: svc.cpus.map(|c| c.to_string()),
        cpu_shares: svc.cpu_shares,
        pids_limit: svc.pids_limit,
        init: svc.init,
        read_only: svc.read_only,
        tmpfs: svc.tmpfs.clone(),
        mounts,
        mount_points,
        stop_signal: svc.stop_signal.clone(),
        // Whole seconds, as compose turns the grace period into Docker's StopTimeout.
        stop_timeout: svc.stop_grace_period.map(|n| n.0 / 1_000_000_000),
        ulimits: svc
            .ulimits
            .iter()
            .map(|(k, u)| format!("{k}={}:{}", u.soft, u.hard))
            .collect(),
        shm_size: svc.shm_size.map(|b| b.to_string()),
        labels: t.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        restart: svc.restart.clone(),
        tty: svc.tty,
        interactive: svc.stdin_open,
        health: health(svc),
        security: SecurityOptions {
            cap_add: svc.cap_add.clone(),
            cap_drop: svc.cap_drop.clone(),
            privileged: svc.privileged,
            security_opt: svc.security_opt.clone(),
            sysctls: svc
                .sysctls
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            devices: svc.devices.clone(),
            userns: None,
        },
        ..Default::default()
    };
    Ok((opts, warnings))
}

/// `env_file` files in order, then `environment` over them, as compose merges them.
/// A variable `environment` names without a value that the loading environment lacks
/// is left out.
fn environment(stack: &Stack, service: &str, svc: &Service) -> Result<Vec<String>> {
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: &str| match vars.iter_mut().find(|(key, _)| key == k) {
        Some(e) => e.1 = v.to_string(),
        None => vars.push((k.to_string(), v.to_string())),
    };
    for f in &svc.env_file {
        let text = match fs::read_to_string(&f.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !f.required => continue,
            Err(e) => {
                return Err(Error::invalid(format!(
                    "service {service:?}: env file {}: {e}",
                    f.path.display()
                )))
            }
        };
        let parsed =
            compose::interpolate::parse_dotenv(&text, &stack.environment).map_err(|e| {
                Error::invalid(format!(
                    "service {service:?}: env file {}: {e}",
                    f.path.display()
                ))
            })?;
        for (k, v) in parsed {
            set(&k, &v);
        }
    }
    for (k, v) in &svc.environment {
        if let Some(v) = v {
            set(k, v);
        }
    }
    Ok(vars.into_iter().map(|(k, v)| format!("{k}={v}")).collect())
}

fn health(svc: &Service) -> HealthOptions {
    let Some(h) = &svc.healthcheck else {
        return HealthOptions::default();
    };
    if h.disable {
        return HealthOptions {
            disabled: true,
            ..Default::default()
        };
    }
    let d = |n: Option<compose::model::Nanos>| n.map(|n| go_duration(n.0));
    HealthOptions {
        test: (!h.test.is_empty()).then(|| h.test.clone()),
        interval: d(h.interval),
        timeout: d(h.timeout),
        start_period: d(h.start_period),
        start_interval: d(h.start_interval),
        retries: h.retries,
        ..Default::default()
    }
}

fn net_options(stack: &Stack, service: &str, svc: &Service, t: &Target) -> Result<NetOptions> {
    let networks = match svc.network_mode.as_deref() {
        // Another service's network: its first container's (compose's choice).
        Some(m) if m.starts_with("service:") => {
            let other = &m["service:".len()..];
            let members = crate::query::service_members(stack.root, &stack.project.name, other);
            let first = members.iter().min_by_key(|x| x.number).ok_or_else(|| {
                Error::invalid(format!(
                    "service {service:?}: network_mode {m:?}: service {other:?} has no container to share its network (start it first)"
                ))
            })?;
            vec![format!("container:{}", first.id())]
        }
        Some(m) => vec![m.to_string()],
        None => {
            let mut nets: Vec<(&String, &compose::model::ServiceNetwork)> =
                svc.networks.iter().collect();
            // Highest priority first: the first network is the container's main one.
            nets.sort_by(|a, b| {
                b.1.priority
                    .unwrap_or(0)
                    .cmp(&a.1.priority.unwrap_or(0))
                    .then(a.0.cmp(b.0))
            });
            let mut out = Vec::new();
            for (key, sn) in nets {
                let net = stack.project.networks.get(key).ok_or_else(|| {
                    Error::invalid(format!(
                        "service {service:?} refers to undefined network {key:?}"
                    ))
                })?;
                let mut spec = format!("name={}", net.name);
                if t.aliases {
                    for a in std::iter::once(service).chain(sn.aliases.iter().map(String::as_str)) {
                        if a.contains(',') {
                            return Err(Error::invalid(format!(
                                "service {service:?}: alias {a:?} contains a comma"
                            )));
                        }
                        spec.push_str(",alias=");
                        spec.push_str(a);
                    }
                }
                if let Some(ip) = &sn.ipv4_address {
                    spec.push_str(",ip=");
                    spec.push_str(ip);
                }
                out.push(spec);
            }
            out
        }
    };
    Ok(NetOptions {
        networks,
        publish: svc.ports.iter().map(publish_spec).collect(),
        expose: svc.expose.clone(),
        dns: svc.dns.clone(),
        dns_search: svc.dns_search.clone(),
        dns_options: svc.dns_opt.clone(),
        add_hosts: svc.extra_hosts.clone(),
        ..Default::default()
    })
}

/// A published port in `-p` form: `[IP:][HOSTPORT:]PORT/PROTO`.
pub fn publish_spec(p: &Port) -> String {
    let ip = match p.host_ip.as_deref() {
        Some(ip) if ip.contains(':') => format!("[{ip}]:"),
        Some(ip) => format!("{ip}:"),
        None => String::new(),
    };
    let published = p.published.as_deref().unwrap_or("");
    if ip.is_empty() && published.is_empty() {
        format!("{}/{}", p.target, p.protocol)
    } else {
        format!("{ip}{published}:{}/{}", p.target, p.protocol)
    }
}

fn mount_spec(stack: &Stack, service: &str, v: &ServiceVolume) -> Result<String> {
    let mut spec = match v.kind {
        VolumeKind::Bind => {
            let src = v.source.as_deref().unwrap_or_default();
            format!("type=bind,source={src},target={}", v.target)
        }
        VolumeKind::Volume => match &v.source {
            Some(key) => {
                let vol = stack.project.volumes.get(key).ok_or_else(|| {
                    Error::invalid(format!(
                        "service {service:?} refers to undefined volume {key:?}"
                    ))
                })?;
                format!("type=volume,source={},target={}", vol.name, v.target)
            }
            None => format!("type=volume,target={}", v.target),
        },
        VolumeKind::Tmpfs => format!("type=tmpfs,target={}", v.target),
    };
    if v.source.as_deref().unwrap_or("").contains(',') || v.target.contains(',') {
        return Err(Error::invalid(format!(
            "service {service:?}: cannot mount {:?} at {:?}: berth cannot mount paths that contain a comma",
            v.source.as_deref().unwrap_or(""),
            v.target
        )));
    }
    if v.read_only {
        spec.push_str(",readonly");
    }
    match v.propagation.as_deref() {
        None => {}
        // SELinux relabelling: nothing to do on a host berth runs on.
        Some("z") | Some("Z") => {}
        Some(p) => {
            spec.push_str(",bind-propagation=");
            spec.push_str(p);
        }
    }
    if v.nocopy {
        spec.push_str(",volume-nocopy");
    }
    if let Some(sub) = &v.subpath {
        if v.kind != VolumeKind::Volume || v.source.is_none() {
            return Err(Error::invalid(format!(
                "service {service:?}: subpath {sub:?} (at {}) needs a named volume as the source",
                v.target
            )));
        }
        if sub.contains(',') {
            return Err(Error::invalid(format!(
                "service {service:?}: cannot mount the subpath {sub:?}: berth cannot mount paths that contain a comma"
            )));
        }
        spec.push_str(&format!(",volume-subpath={sub}"));
    }
    if let Some(size) = v.tmpfs_size {
        spec.push_str(&format!(",tmpfs-size={size}"));
    }
    if let Some(mode) = v.tmpfs_mode {
        spec.push_str(&format!(",tmpfs-mode={mode:o}"));
    }
    Ok(spec)
}

/// Creates the missing host directories of bind mounts that ask for it (the short
/// syntax always does), as compose does before it creates a container.
pub fn create_host_paths(svc: &Service) -> Result<()> {
    for v in &svc.volumes {
        if v.kind != VolumeKind::Bind || v.create_host_path != Some(true) {
            continue;
        }
        if let Some(src) = &v.source {
            let p = std::path::Path::new(src);
            if !p.exists() {
                fs::create_dir_all(p).map_err(|e| {
                    Error::invalid(format!("creating bind source directory {src}: {e}"))
                })?;
            }
        }
    }
    Ok(())
}
