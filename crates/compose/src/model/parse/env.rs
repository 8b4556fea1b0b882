//! The string maps and lists of a service: `environment` (bare names filled from the
//! project's environment), `env_file`, `labels`, `sysctls`, `extra_hosts`, `ulimits`,
//! and build `args`. Reads no files: `env_file` paths are only made absolute.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::model::{EnvFile, Ulimit};
use crate::value::{Node, Value};

use super::read::{self, child, error, expected, index, Res};
use super::{volumes, Parser};

/// `environment:` as a map or a `KEY=value` list. A name without a value (`- NAME`,
/// `NAME:`) takes its value from the environment the project is loaded with, and is
/// `None` when that does not have it.
pub(crate) fn environment(
    node: &Node,
    path: &str,
    p: &Parser,
) -> Res<BTreeMap<String, Option<String>>> {
    let mut out = BTreeMap::new();
    for e in read::list_or_dict(node, path)? {
        let value = match e.value {
            Some(v) => Some(v),
            None => p.ctx.env.get(&e.key),
        };
        out.insert(e.key, value);
    }
    Ok(out)
}

/// Build `args`: like `environment`, but a name with no value anywhere is left out.
pub(crate) fn build_args(node: &Node, path: &str, p: &Parser) -> Res<BTreeMap<String, String>> {
    Ok(environment(node, path, p)?
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect())
}

/// `labels:` as a map or a list; a label without a value is empty, as in compose.
pub(crate) fn labels(node: &Node, path: &str) -> Res<BTreeMap<String, String>> {
    Ok(read::list_or_dict(node, path)?
        .into_iter()
        .map(|e| (e.key, e.value.unwrap_or_default()))
        .collect())
}

/// `sysctls:` as a map or a `name=value` list; every entry needs a value.
pub(crate) fn sysctls(node: &Node, path: &str) -> Res<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for e in read::list_or_dict(node, path)? {
        let Some(v) = e.value else {
            return Err(error(
                e.span,
                &e.path,
                format!("sysctl {:?} needs a value (name=value)", e.key),
            ));
        };
        out.insert(e.key, v);
    }
    Ok(out)
}

/// A map whose values are strings or numbers (`driver_opts`, `logging.options`).
pub(crate) fn options(node: &Node, path: &str) -> Res<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in read::map(node, path)? {
        let kp = child(path, &k.name);
        let s = match &v.value {
            Value::Null => String::new(),
            Value::Str(_) | Value::Int(_) | Value::Float(_) => read::string(v, &kp)?,
            _ => return Err(expected(v, &kp, "a string or a number")),
        };
        out.insert(k.name.clone(), s);
    }
    Ok(out)
}

/// `env_file: .env`, `[a.env, b.env]` or `[{path: a.env, required: false}]`.
pub(crate) fn env_files(node: &Node, path: &str, owner: &str, p: &mut Parser) -> Res<Vec<EnvFile>> {
    let items: Vec<(String, &Node)> = match &node.value {
        Value::Str(_) => vec![(path.to_string(), node)],
        Value::Seq(s) => s
            .iter()
            .enumerate()
            .map(|(i, n)| (index(path, i), n))
            .collect(),
        _ => return Err(expected(node, path, "a string or a list")),
    };
    let mut out = Vec::new();
    for (ip, item) in items {
        let (file, required, span) = match &item.value {
            Value::Str(s) => (s.clone(), true, item.span),
            Value::Map(_) => {
                let f = read::fields(item, &ip, &["path", "required", "format"])?;
                let pn = f
                    .get("path")
                    .ok_or_else(|| error(item.span, &ip, "an env_file entry needs `path`"))?;
                let required = match f.get("required") {
                    Some(r) => read::boolean(r, &child(&ip, "required"))?,
                    None => true,
                };
                if let Some(span) = f.key_span("format") {
                    p.unsupported(owner, &child(&ip, "format"), span);
                }
                (read::string(pn, &child(&ip, "path"))?, required, pn.span)
            }
            _ => return Err(expected(item, &ip, "a string or a mapping")),
        };
        let abs = volumes::host_path(&file, p, span, &ip)?;
        out.push(EnvFile {
            path: abs.into(),
            required,
        });
    }
    Ok(out)
}

/// `extra_hosts` as a list (`name:ip`, `name=ip`, `name:[::1]`) or a map (`name: ip`
/// or `name: [ip, ip]`), each mapping turned into `NAME:IP` (brackets dropped).
pub(crate) fn extra_hosts(node: &Node, path: &str) -> Res<Vec<String>> {
    let mut pairs: Vec<(String, String, &Node, String)> = Vec::new();
    match &node.value {
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let ip = index(path, i);
                let s = read::string(item, &ip)?;
                // `=` first: it cannot be part of an IPv6 address, `:` can.
                let Some((host, addr)) = s.split_once('=').or_else(|| s.split_once(':')) else {
                    return Err(error(
                        item.span,
                        &ip,
                        format!("invalid extra host {s:?}: use NAME:IP or NAME=IP"),
                    ));
                };
                for a in addr.split(',') {
                    pairs.push((host.to_string(), a.to_string(), item, ip.clone()));
                }
            }
        }
        Value::Map(m) => {
            for (k, v) in m {
                let kp = child(path, &k.name);
                let addrs = match &v.value {
                    Value::Seq(_) => read::string_list(v, &kp)?,
                    _ => vec![read::string(v, &kp)?],
                };
                for a in addrs {
                    pairs.push((k.name.clone(), a, v, kp.clone()));
                }
            }
        }
        _ => {
            return Err(expected(
                node,
                path,
                "a list of NAME:IP strings or a mapping",
            ))
        }
    }
    let mut out = Vec::new();
    for (host, addr, n, ip) in pairs {
        if host.is_empty() || host.contains([':', '=', ' ']) {
            return Err(error(n.span, &ip, format!("invalid host name {host:?}")));
        }
        let bare = addr
            .strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .unwrap_or(&addr);
        if bare != "host-gateway" && bare.parse::<IpAddr>().is_err() {
            return Err(error(
                n.span,
                &ip,
                format!(
                    "invalid extra host {host:?}: {addr:?} is not an IP address (or host-gateway)"
                ),
            ));
        }
        out.push(format!("{host}:{bare}"));
    }
    Ok(out)
}

/// `ulimits: {nofile: 1024}` or `{nofile: {soft: 1024, hard: 2048}}`.
pub(crate) fn ulimits(node: &Node, path: &str) -> Res<BTreeMap<String, Ulimit>> {
    let mut out = BTreeMap::new();
    for (k, v) in read::map(node, path)? {
        let kp = child(path, &k.name);
        if k.name.is_empty() || !k.name.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(error(
                k.span,
                path,
                format!(
                    "invalid ulimit name {:?}: use a lowercase name such as nofile",
                    k.name
                ),
            ));
        }
        let limit = match &v.value {
            Value::Map(_) => {
                let f = read::fields(v, &kp, &["soft", "hard"])?;
                let get = |name: &str| -> Res<i64> {
                    let n = f.get(name).ok_or_else(|| {
                        error(v.span, &kp, "a ulimit needs both `soft` and `hard`")
                    })?;
                    read::int(n, &child(&kp, name))
                };
                let (soft, hard) = (get("soft")?, get("hard")?);
                if soft > hard {
                    return Err(error(
                        v.span,
                        &kp,
                        format!("the soft limit {soft} is above the hard limit {hard}"),
                    ));
                }
                Ulimit { soft, hard }
            }
            _ => {
                let n = read::int(v, &kp)?;
                Ulimit { soft: n, hard: n }
            }
        };
        out.insert(k.name.clone(), limit);
    }
    Ok(out)
}
