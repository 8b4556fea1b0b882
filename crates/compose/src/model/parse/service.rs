//! One service: checks its name and keys against the compose-spec, reads the simple
//! keys itself and hands the others to the modules that own them. Keys of the spec
//! that berth does not implement are warned about, one warning each, never dropped
//! silently.

use crate::model::{Build, Dependency, Service};
use crate::value::{Key, Node, Value};

use super::links::FileKind;
use super::read::{self, child, error, Res};
use super::{deploy, env, links, ports, shell, units, volumes, Parser};

/// The service keys berth implements.
const SUPPORTED: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "tmpfs",
    "networks",
    "network_mode",
    "depends_on",
    "healthcheck",
    "restart",
    "user",
    "working_dir",
    "hostname",
    "domainname",
    "cap_add",
    "cap_drop",
    "security_opt",
    "read_only",
    "init",
    "privileged",
    "stdin_open",
    "tty",
    "devices",
    "mem_limit",
    "memswap_limit",
    "mem_reservation",
    "cpus",
    "cpu_shares",
    "pids_limit",
    "shm_size",
    "ulimits",
    "sysctls",
    "labels",
    "stop_signal",
    "stop_grace_period",
    "extra_hosts",
    "dns",
    "dns_search",
    "dns_opt",
    "secrets",
    "configs",
    "profiles",
    "scale",
    "container_name",
    "logging",
    "pull_policy",
    "platform",
    "deploy",
];

/// The compose-spec's other service keys: accepted, warned about, ignored.
const UNSUPPORTED: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "cgroup",
    "cgroup_parent",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpuset",
    "credential_spec",
    "develop",
    "device_cgroup_rules",
    "external_links",
    "gpus",
    "group_add",
    "ipc",
    "isolation",
    "label_file",
    "links",
    "mac_address",
    "mem_swappiness",
    "models",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "post_start",
    "pre_stop",
    "provider",
    "pull_refresh_after",
    "runtime",
    "storage_opt",
    "use_api_socket",
    "userns_mode",
    "uts",
    "volumes_from",
];

const BUILD_KEYS: &[&str] = &[
    "context",
    "dockerfile",
    "args",
    "target",
    "labels",
    "network",
    "tags",
    "no_cache",
    "pull",
    "dockerfile_inline",
    "secrets",
    "ssh",
    "extra_hosts",
    "additional_contexts",
];
const BUILD_UNSUPPORTED: &[&str] = &[
    "entitlements",
    "cache_from",
    "cache_to",
    "provenance",
    "sbom",
    "shm_size",
    "isolation",
    "privileged",
    "ulimits",
    "platforms",
];

/// compose's rule for service names: `^[a-zA-Z0-9._-]+$`.
pub(crate) fn check_name(key: &Key) -> Res<()> {
    let ok = !key.name.is_empty()
        && key
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        return Err(error(
            key.span,
            "services",
            format!(
                "invalid service name {:?}: use only letters, digits, '.', '_' and '-'",
                key.name
            ),
        ));
    }
    Ok(())
}

pub(crate) fn service(name: &str, node: &Node, p: &mut Parser) -> Res<Service> {
    let path = format!("services.{name}");
    let owner = format!("service {name:?}");
    if let Some(span) = node.as_map().and_then(|m| {
        m.iter()
            .find(|(k, _)| k.name == "extends")
            .map(|(k, _)| k.span)
    }) {
        return Err(error(
            span,
            &path,
            "`extends` must be resolved by the loader before the project is parsed",
        ));
    }
    let all: Vec<&str> = SUPPORTED.iter().chain(UNSUPPORTED).copied().collect();
    let f = read::fields(node, &path, &all)?;
    for k in f.present(UNSUPPORTED) {
        p.unsupported(&owner, &k.name, k.span);
    }

    let mut s = Service::default();
    let mut dependency_on_network_service = None;
    for (key, v) in f.entries {
        let k = key.name.as_str();
        let kp = child(&path, k);
        let kp = kp.as_str();
        match k {
            "image" => s.image = Some(read::string(v, kp)?),
            "build" => s.build = Some(build(v, kp, &owner, p)?),
            "command" => s.command = command(v, kp)?,
            "entrypoint" => s.entrypoint = command(v, kp)?,
            "environment" => s.environment = env::environment(v, kp, p)?,
            "env_file" => s.env_file = env::env_files(v, kp, &owner, p)?,
            "ports" => s.ports = ports::ports(v, kp)?,
            "expose" => s.expose = ports::expose(v, kp)?,
            "volumes" => s.volumes = volumes::volumes(v, kp, &owner, p)?,
            "tmpfs" => s.tmpfs = volumes::tmpfs(v, kp)?,
            "networks" => s.networks = links::networks(v, kp, &owner, p)?,
            "network_mode" => {
                let mode = links::network_mode(v, kp, p)?;
                if let Some(svc) = mode.strip_prefix("service:") {
                    dependency_on_network_service = Some(svc.to_string());
                }
                s.network_mode = Some(mode);
            }
            "depends_on" => s.depends_on = links::depends_on(v, kp, name, p)?,
            "healthcheck" => s.healthcheck = Some(deploy::healthcheck(v, kp)?),
            "restart" => s.restart = Some(deploy::restart(v, kp)?),
            "user" => s.user = Some(read::string(v, kp)?),
            "working_dir" => s.working_dir = Some(read::string(v, kp)?),
            "hostname" => s.hostname = Some(read::string(v, kp)?),
            "domainname" => s.domainname = Some(read::string(v, kp)?),
            "cap_add" => s.cap_add = read::string_list(v, kp)?,
            "cap_drop" => s.cap_drop = read::string_list(v, kp)?,
            "security_opt" => s.security_opt = read::string_list(v, kp)?,
            "read_only" => s.read_only = read::boolean(v, kp)?,
            "init" => s.init = read::boolean(v, kp)?,
            "privileged" => s.privileged = read::boolean(v, kp)?,
            "stdin_open" => s.stdin_open = read::boolean(v, kp)?,
            "tty" => s.tty = read::boolean(v, kp)?,
            "devices" => s.devices = links::devices(v, kp)?,
            "mem_limit" => s.mem_limit = Some(units::size_limit(v, kp, false)?),
            "memswap_limit" => s.memswap_limit = Some(units::size_limit(v, kp, true)?),
            "mem_reservation" => s.mem_reservation = Some(units::size_limit(v, kp, false)?),
            "cpus" => s.cpus = Some(deploy::cpus(v, kp)?),
            "cpu_shares" => s.cpu_shares = Some(read::int_in(v, kp, 0, 262_144)?),
            "pids_limit" => s.pids_limit = Some(read::int_in(v, kp, -1, i64::MAX)?),
            "shm_size" => s.shm_size = Some(units::size_limit(v, kp, false)?),
            "ulimits" => s.ulimits = env::ulimits(v, kp)?,
            "sysctls" => s.sysctls = env::sysctls(v, kp)?,
            "labels" => s.labels = env::labels(v, kp)?,
            "stop_signal" => s.stop_signal = Some(read::string(v, kp)?),
            "stop_grace_period" => s.stop_grace_period = Some(units::duration(v, kp)?),
            "extra_hosts" => s.extra_hosts = env::extra_hosts(v, kp)?,
            "dns" => s.dns = read::string_or_list(v, kp)?,
            "dns_search" => s.dns_search = read::string_or_list(v, kp)?,
            "dns_opt" => s.dns_opt = read::string_or_list(v, kp)?,
            "secrets" => s.secrets = links::file_refs(v, kp, FileKind::Secret, p)?,
            "configs" => s.configs = links::file_refs(v, kp, FileKind::Config, p)?,
            "profiles" => s.profiles = read::string_list(v, kp)?,
            "scale" => s.scale = Some(read::int_in(v, kp, 0, i64::from(u32::MAX))? as u32),
            "container_name" => s.container_name = Some(container_name(v, kp)?),
            "logging" => s.logging = Some(deploy::logging(v, kp, &owner, p)?),
            "pull_policy" => s.pull_policy = Some(pull_policy(v, kp, &owner, p)?),
            "platform" => s.platform = Some(read::string(v, kp)?),
            // After everything it may fill in, so that direct keys win.
            "deploy" => {}
            _ => {}
        }
    }
    if let Some(d) = f.get("deploy") {
        deploy::deploy(d, &child(&path, "deploy"), &owner, &mut s, p)?;
    }

    if s.image.is_none() && s.build.is_none() {
        return Err(error(
            node.span,
            &path,
            "neither `image` nor `build` is set; add one to say what the service runs",
        ));
    }
    if let (Some(mode), Some(span)) = (&s.network_mode, f.key_span("networks")) {
        return Err(error(
            span,
            &path,
            format!("`network_mode: {mode}` cannot be combined with `networks`; keep one"),
        ));
    }
    if let (Some(cn), Some(scale)) = (&s.container_name, s.scale) {
        if scale > 1 {
            let span = f.key_span("container_name").unwrap_or(node.span);
            return Err(error(
                span,
                &path,
                format!("container_name {cn:?} cannot be used with scale {scale}: container names must be unique; remove container_name"),
            ));
        }
    }
    // As compose: sharing another service's network needs that service started.
    if let Some(dep) = dependency_on_network_service {
        s.depends_on.entry(dep).or_insert(Dependency {
            condition: Default::default(),
            restart: true,
            required: true,
        });
    }
    if s.networks.is_empty() && s.network_mode.is_none() {
        s.networks.insert("default".into(), Default::default());
    }
    Ok(s)
}

/// A string is split into words (no shell is involved); a list is kept; null is unset.
fn command(node: &Node, path: &str) -> Res<Option<Vec<String>>> {
    match &node.value {
        Value::Null => Ok(None),
        Value::Str(s) => shell::split_command(s)
            .map(Some)
            .map_err(|m| error(node.span, path, m)),
        Value::Seq(_) => read::string_list(node, path).map(Some),
        _ => Err(read::expected(node, path, "a string or a list of strings")),
    }
}

/// `build: ./dir` or the long form; the context is made absolute (a URL is kept).
fn build(node: &Node, path: &str, owner: &str, p: &mut Parser) -> Res<Build> {
    let mut b = Build::default();
    let mut context = ".".to_string();
    let mut context_span = node.span;
    match &node.value {
        Value::Str(s) => context = s.clone(),
        Value::Map(_) => {
            let all: Vec<&str> = BUILD_KEYS
                .iter()
                .chain(BUILD_UNSUPPORTED)
                .copied()
                .collect();
            let f = read::fields(node, path, &all)?;
            for k in f.present(BUILD_UNSUPPORTED) {
                p.unsupported(owner, &child(path, &k.name), k.span);
            }
            if let Some(c) = f.get("context") {
                context = read::string(c, &child(path, "context"))?;
                context_span = c.span;
            }
            if let Some(n) = f.get("dockerfile") {
                b.dockerfile = Some(read::string(n, &child(path, "dockerfile"))?);
            }
            if let Some(n) = f.get("args") {
                b.args = env::build_args(n, &child(path, "args"), p)?;
            }
            if let Some(n) = f.get("target") {
                b.target = Some(read::string(n, &child(path, "target"))?);
            }
            if let Some(n) = f.get("labels") {
                b.labels = env::labels(n, &child(path, "labels"))?;
            }
            if let Some(n) = f.get("network") {
                b.network = Some(read::string(n, &child(path, "network"))?);
            }
            if let Some(n) = f.get("tags") {
                b.tags = read::string_list(n, &child(path, "tags"))?;
            }
            if let Some(n) = f.get("secrets") {
                b.secrets = links::file_refs(n, &child(path, "secrets"), FileKind::Secret, p)?;
            }
            if let Some(n) = f.get("additional_contexts") {
                let kp = child(path, "additional_contexts");
                for (name, value) in env::labels(n, &kp)? {
                    // Directories are taken from the project directory, as the context.
                    let value = if value.contains("://") || value.starts_with("git@") {
                        value
                    } else {
                        volumes::host_path(&value, p, n.span, &kp)?
                    };
                    b.additional_contexts.insert(name, value);
                }
            }
            if let Some(n) = f.get("ssh") {
                b.ssh = read::string_or_list(n, &child(path, "ssh"))?;
            }
            if let Some(n) = f.get("extra_hosts") {
                b.extra_hosts = env::extra_hosts(n, &child(path, "extra_hosts"))?;
            }
            if let Some(n) = f.get("no_cache") {
                b.no_cache = read::boolean(n, &child(path, "no_cache"))?;
            }
            if let Some(n) = f.get("pull") {
                b.pull = read::boolean(n, &child(path, "pull"))?;
            }
            if let Some(n) = f.get("dockerfile_inline") {
                if f.get("dockerfile").is_some() {
                    return Err(error(
                        n.span,
                        path,
                        "dockerfile and dockerfile_inline cannot both be set: keep one",
                    ));
                }
                b.dockerfile_inline = Some(read::string(n, &child(path, "dockerfile_inline"))?);
            }
        }
        _ => return Err(read::expected(node, path, "a string or a mapping")),
    }
    let is_url = context.contains("://") || context.starts_with("git@");
    b.context = if is_url {
        context.into()
    } else {
        volumes::host_path(&context, p, context_span, path)?.into()
    };
    if b.dockerfile.is_none() && b.dockerfile_inline.is_none() {
        b.dockerfile = Some("Dockerfile".into());
    }
    Ok(b)
}

/// compose's pattern for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
fn container_name(node: &Node, path: &str) -> Res<String> {
    let s = read::string(node, path)?;
    let mut bytes = s.bytes();
    let ok = s.len() >= 2
        && bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !ok {
        return Err(error(
            node.span,
            path,
            format!("invalid container name {s:?}: start with a letter or digit, then use letters, digits, '_', '.' or '-'"),
        ));
    }
    Ok(s)
}

/// `always`, `never`, `missing`, `build`; `if_not_present` is `missing`, as compose
/// normalises it. The refresh policies (`daily`, `weekly`, `every_12h`, `refresh`)
/// are not implemented and act as `missing`, with a warning.
fn pull_policy(node: &Node, path: &str, owner: &str, p: &mut Parser) -> Res<String> {
    let s = read::string(node, path)?;
    match s.as_str() {
        "always" | "never" | "missing" | "build" => Ok(s),
        "if_not_present" => Ok("missing".into()),
        "daily" | "weekly" | "refresh" => {
            p.warn(
                node.span,
                format!(
                    "{owner}: pull_policy {s:?} is not supported by berth yet; using \"missing\""
                ),
            );
            Ok("missing".into())
        }
        _ if s.strip_prefix("every_").is_some_and(|d| !d.is_empty()) => {
            p.warn(
                node.span,
                format!(
                    "{owner}: pull_policy {s:?} is not supported by berth yet; using \"missing\""
                ),
            );
            Ok("missing".into())
        }
        _ => Err(error(
            node.span,
            path,
            format!(
                "invalid pull_policy {s:?}: use always, never, missing, build or if_not_present"
            ),
        )),
    }
}
