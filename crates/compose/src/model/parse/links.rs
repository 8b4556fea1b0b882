//! What a service refers to by name: the networks it joins (`networks`,
//! `network_mode`), the services it waits for (`depends_on`), the secrets and configs
//! it mounts, and the host devices it gets. Every name is checked against what the
//! project defines, so that a typo is an error here rather than at `up`.

use std::collections::BTreeMap;

use crate::model::{Condition, Dependency, FileRef, ServiceNetwork};
use crate::value::{Node, Value};

use super::read::{self, child, error, expected, index, Res};
use super::{units, Parser};

const SERVICE_NETWORK_KEYS: &[&str] = &["aliases", "ipv4_address", "priority"];
const SERVICE_NETWORK_UNSUPPORTED: &[&str] = &[
    "ipv6_address",
    "link_local_ips",
    "mac_address",
    "driver_opts",
    "gw_priority",
    "interface_name",
];

/// `networks: [a, b]` or `networks: {a: null, b: {aliases: [x]}}`.
pub(crate) fn networks(
    node: &Node,
    path: &str,
    owner: &str,
    p: &mut Parser,
) -> Res<BTreeMap<String, ServiceNetwork>> {
    let mut out = BTreeMap::new();
    match &node.value {
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let ip = index(path, i);
                let name = read::string(item, &ip)?;
                known_network(&name, item.span, &ip, p)?;
                out.insert(name, ServiceNetwork::default());
            }
        }
        Value::Map(m) => {
            for (k, v) in m {
                let kp = child(path, &k.name);
                known_network(&k.name, k.span, path, p)?;
                let net = match &v.value {
                    Value::Null => ServiceNetwork::default(),
                    _ => service_network(v, &kp, owner, p)?,
                };
                out.insert(k.name.clone(), net);
            }
        }
        _ => return Err(expected(node, path, "a list or a mapping of network names")),
    }
    Ok(out)
}

fn known_network(name: &str, span: crate::value::Span, path: &str, p: &Parser) -> Res<()> {
    // `default` always exists: compose creates it when the file does not define it.
    if name != "default" && !p.networks.contains(name) {
        return Err(error(
            span,
            path,
            format!("network {name:?} is not defined; add it under the top-level `networks:`"),
        ));
    }
    Ok(())
}

fn service_network(n: &Node, path: &str, owner: &str, p: &mut Parser) -> Res<ServiceNetwork> {
    let all: Vec<&str> = SERVICE_NETWORK_KEYS
        .iter()
        .chain(SERVICE_NETWORK_UNSUPPORTED)
        .copied()
        .collect();
    let f = read::fields(n, path, &all)?;
    for k in f.present(SERVICE_NETWORK_UNSUPPORTED) {
        p.unsupported(owner, &child(path, &k.name), k.span);
    }
    let mut net = ServiceNetwork::default();
    if let Some(a) = f.get("aliases") {
        net.aliases = read::string_list(a, &child(path, "aliases"))?;
    }
    if let Some(a) = f.get("ipv4_address") {
        let ap = child(path, "ipv4_address");
        let s = read::string(a, &ap)?;
        if s.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(error(a.span, &ap, format!("{s:?} is not an IPv4 address")));
        }
        net.ipv4_address = Some(s);
    }
    if let Some(a) = f.get("priority") {
        net.priority = Some(read::int(a, &child(path, "priority"))?);
    }
    Ok(net)
}

/// `network_mode`: `none`, `host`, `bridge`, `service:NAME` (a service of this
/// project) or `container:NAME`.
pub(crate) fn network_mode(node: &Node, path: &str, p: &Parser) -> Res<String> {
    let s = read::string(node, path)?;
    if let Some(svc) = s.strip_prefix("service:") {
        if !p.services.contains(svc) {
            return Err(error(
                node.span,
                path,
                format!("network_mode refers to service {svc:?}, which is not defined"),
            ));
        }
    } else if let Some(c) = s.strip_prefix("container:") {
        if c.is_empty() {
            return Err(error(node.span, path, "container: needs a container name"));
        }
    } else if !matches!(s.as_str(), "none" | "host" | "bridge") {
        return Err(error(
            node.span,
            path,
            format!(
                "invalid network_mode {s:?}: use none, host, bridge, service:NAME or container:NAME (or `networks:` to join a project network)"
            ),
        ));
    }
    Ok(s)
}

/// `depends_on: [a, b]` or `{a: {condition: service_healthy, required: false}}`.
/// A required dependency must be a service of the project; one that is not required
/// and missing is dropped with a warning, as compose does.
pub(crate) fn depends_on(
    node: &Node,
    path: &str,
    name: &str,
    p: &mut Parser,
) -> Res<BTreeMap<String, Dependency>> {
    let started = Dependency {
        condition: Condition::ServiceStarted,
        restart: false,
        required: true,
    };
    let mut entries = Vec::new();
    match &node.value {
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let ip = index(path, i);
                entries.push((read::string(item, &ip)?, started.clone(), item.span, ip));
            }
        }
        Value::Map(m) => {
            for (k, v) in m {
                let kp = child(path, &k.name);
                let f = read::fields(v, &kp, &["condition", "required", "restart"])?;
                let mut dep = started.clone();
                if let Some(c) = f.get("condition") {
                    let cp = child(&kp, "condition");
                    dep.condition = match read::string(c, &cp)?.as_str() {
                        "service_started" => Condition::ServiceStarted,
                        "service_healthy" => Condition::ServiceHealthy,
                        "service_completed_successfully" => Condition::ServiceCompletedSuccessfully,
                        other => {
                            return Err(error(
                                c.span,
                                &cp,
                                format!("unknown condition {other:?}; use service_started, service_healthy or service_completed_successfully"),
                            ))
                        }
                    };
                }
                if let Some(r) = f.get("required") {
                    dep.required = read::boolean(r, &child(&kp, "required"))?;
                }
                if let Some(r) = f.get("restart") {
                    dep.restart = read::boolean(r, &child(&kp, "restart"))?;
                }
                entries.push((k.name.clone(), dep, k.span, kp));
            }
        }
        _ => return Err(expected(node, path, "a list of service names or a mapping")),
    }
    let mut out = BTreeMap::new();
    for (dep_name, dep, span, ep) in entries {
        if !p.services.contains(&dep_name) {
            if dep.required {
                return Err(error(
                    span,
                    &ep,
                    format!("service {name:?} depends on {dep_name:?}, which is not defined"),
                ));
            }
            p.warn(
                span,
                format!("{ep}: optional dependency {dep_name:?} is not defined and is ignored"),
            );
            continue;
        }
        out.insert(dep_name, dep);
    }
    Ok(out)
}

/// Which top-level section a reference points into.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Secret,
    Config,
}

/// `secrets: [name]` or `[{source, target, uid, gid, mode}]`; the same for configs.
/// A secret's default target is `/run/secrets/NAME` and a relative one goes under
/// `/run/secrets/`; a config's default target is `/NAME`.
pub(crate) fn file_refs(
    node: &Node,
    path: &str,
    kind: FileKind,
    p: &mut Parser,
) -> Res<Vec<FileRef>> {
    let (word, defined, ignored) = match kind {
        FileKind::Secret => ("secret", &p.secrets, &p.ignored_secrets),
        FileKind::Config => ("config", &p.configs, &p.ignored_configs),
    };
    let (defined, ignored) = (defined.clone(), ignored.clone());
    let mut out = Vec::new();
    for (i, item) in read::list(node, path)?.iter().enumerate() {
        let ip = index(path, i);
        let mut r = FileRef::default();
        let mut target = None;
        let source_span;
        match &item.value {
            Value::Str(s) => {
                r.source = s.clone();
                source_span = item.span;
            }
            Value::Map(_) => {
                let f = read::fields(item, &ip, &["source", "target", "uid", "gid", "mode"])?;
                let s = f.get("source").ok_or_else(|| {
                    error(item.span, &ip, format!("a {word} reference needs `source`"))
                })?;
                r.source = read::string(s, &child(&ip, "source"))?;
                source_span = s.span;
                if let Some(t) = f.get("target") {
                    target = Some(read::string(t, &child(&ip, "target"))?);
                }
                for (key, slot) in [("uid", &mut r.uid), ("gid", &mut r.gid)] {
                    if let Some(n) = f.get(key) {
                        *slot =
                            Some(read::int_in(n, &child(&ip, key), 0, i64::from(u32::MAX))? as u32);
                    }
                }
                if let Some(m) = f.get("mode") {
                    r.mode = Some(units::mode(m, &child(&ip, "mode"))?);
                }
            }
            _ => return Err(expected(item, &ip, "a string or a mapping")),
        }
        if ignored.contains(&r.source) {
            p.warn(
                source_span,
                format!(
                    "{ip}: external {word} {:?} is not supported by berth yet; it is not mounted",
                    r.source
                ),
            );
            continue;
        }
        if !defined.contains(&r.source) {
            return Err(error(
                source_span,
                &ip,
                format!(
                    "{word} {:?} is not defined; add it under the top-level `{word}s:`",
                    r.source
                ),
            ));
        }
        r.target = match (kind, target) {
            (FileKind::Secret, None) => format!("/run/secrets/{}", r.source),
            (FileKind::Secret, Some(t)) if !t.starts_with('/') => format!("/run/secrets/{t}"),
            (FileKind::Config, None) => format!("/{}", r.source),
            (FileKind::Config, Some(t)) if !t.starts_with('/') => format!("/{t}"),
            (_, Some(t)) => t,
        };
        out.push(r);
    }
    Ok(out)
}

/// `devices: ["/dev/fuse", "/dev/sda:/dev/xvda:rwm", {source, target, permissions}]`,
/// each turned into `HOST:CONTAINER:PERMISSIONS`.
pub(crate) fn devices(node: &Node, path: &str) -> Res<Vec<String>> {
    let mut out = Vec::new();
    for (i, item) in read::list(node, path)?.iter().enumerate() {
        let ip = index(path, i);
        let (src, dst, perms) = match &item.value {
            Value::Str(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                match parts.as_slice() {
                    [a] => (a.to_string(), a.to_string(), "rwm".to_string()),
                    [a, b] => (a.to_string(), b.to_string(), "rwm".to_string()),
                    [a, b, c] => (a.to_string(), b.to_string(), c.to_string()),
                    _ => {
                        return Err(error(
                            item.span,
                            &ip,
                            format!("invalid device {s:?}: use HOST[:CONTAINER[:PERMISSIONS]]"),
                        ))
                    }
                }
            }
            Value::Map(_) => {
                let f = read::fields(item, &ip, &["source", "target", "permissions"])?;
                let s = f
                    .get("source")
                    .ok_or_else(|| error(item.span, &ip, "a device needs `source`"))?;
                let src = read::string(s, &child(&ip, "source"))?;
                let dst = match f.get("target") {
                    Some(t) => read::string(t, &child(&ip, "target"))?,
                    None => src.clone(),
                };
                let perms = match f.get("permissions") {
                    Some(t) => read::string(t, &child(&ip, "permissions"))?,
                    None => "rwm".to_string(),
                };
                (src, dst, perms)
            }
            _ => return Err(expected(item, &ip, "a string or a mapping")),
        };
        if src.is_empty() || dst.is_empty() {
            return Err(error(
                item.span,
                &ip,
                "a device needs a host and a container path",
            ));
        }
        if perms.is_empty() || !perms.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
            return Err(error(
                item.span,
                &ip,
                format!("invalid device permissions {perms:?}: use a combination of r, w and m"),
            ));
        }
        out.push(format!("{src}:{dst}:{perms}"));
    }
    Ok(out)
}
