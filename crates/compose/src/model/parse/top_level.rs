//! The project-wide definitions: `networks`, `volumes`, `secrets` and `configs`, each
//! with its real name (`name:` when given; for an external object the key itself;
//! otherwise `PROJECT_KEY`, as compose names them). berth runs bridge networks and
//! local volumes; other drivers are errors, other settings berth lacks are warnings.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::model::{FileObject, FileSource, IpamConfig, Network, Volume};
use crate::value::{Key, Node, Span, Value};

use super::read::{self, child, error, index, Res};
use super::{env, volumes, Parser};

fn check_key(k: &Key, section: &str) -> Res<()> {
    let ok = !k.name.is_empty()
        && k.name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        return Err(error(
            k.span,
            section,
            format!(
                "invalid name {:?}: use only letters, digits, '.', '_' and '-'",
                k.name
            ),
        ));
    }
    Ok(())
}

/// `external: true`, or the legacy `external: {name: x}` (which also names it).
fn external(node: &Node, path: &str) -> Res<(bool, Option<String>)> {
    match &node.value {
        Value::Map(_) => {
            let f = read::fields(node, path, &["name"])?;
            let name = match f.get("name") {
                Some(n) => Some(read::string(n, &child(path, "name"))?),
                None => None,
            };
            Ok((true, name))
        }
        _ => Ok((read::boolean(node, path)?, None)),
    }
}

/// The real name of a top-level object, and whether it is external.
fn real_name(f: &read::Fields, path: &str, key: &str, p: &Parser) -> Res<(String, bool)> {
    let explicit = match f.get("name") {
        Some(n) => Some(read::string(n, &child(path, "name"))?),
        None => None,
    };
    let (is_external, legacy) = match f.get("external") {
        Some(e) => external(e, &child(path, "external"))?,
        None => (false, None),
    };
    let name = match (explicit, legacy) {
        (Some(_), Some(_)) => {
            let span = f.key_span("external").unwrap_or_default();
            return Err(error(
                span,
                path,
                "both `name` and the deprecated `external.name` are set; keep only `name`",
            ));
        }
        (Some(n), None) | (None, Some(n)) => n,
        (None, None) if is_external => key.to_string(),
        (None, None) => format!("{}_{key}", p.ctx.project_name),
    };
    Ok((name, is_external))
}

/// An external object is created elsewhere: settings that describe how to create it
/// contradict that, as compose says.
fn no_settings_when_external(f: &read::Fields, path: &str, allowed: &[&str]) -> Res<()> {
    for (k, _) in f.entries {
        if !k.name.starts_with("x-") && !allowed.contains(&k.name.as_str()) {
            return Err(error(
                k.span,
                path,
                format!(
                    "conflicting parameters \"external\" and {:?} specified",
                    k.name
                ),
            ));
        }
    }
    Ok(())
}

const NETWORK_KEYS: &[&str] = &[
    "name",
    "driver",
    "driver_opts",
    "ipam",
    "external",
    "internal",
    "enable_ipv4",
    "enable_ipv6",
    "attachable",
    "labels",
];

pub(crate) fn networks(node: &Node, p: &mut Parser) -> Res<BTreeMap<String, Network>> {
    let mut out = BTreeMap::new();
    for (k, v) in read::map(node, "networks")? {
        check_key(k, "networks")?;
        let path = format!("networks.{}", k.name);
        let net = if matches!(v.value, Value::Null) {
            Network {
                name: format!("{}_{}", p.ctx.project_name, k.name),
                ..Network::default()
            }
        } else {
            network(v, &path, &k.name, p)?
        };
        out.insert(k.name.clone(), net);
    }
    Ok(out)
}

fn network(node: &Node, path: &str, key: &str, p: &mut Parser) -> Res<Network> {
    let owner = format!("network {key:?}");
    let f = read::fields(node, path, NETWORK_KEYS)?;
    let (name, is_external) = real_name(&f, path, key, p)?;
    let mut n = Network {
        name,
        external: is_external,
        ..Network::default()
    };
    if is_external {
        no_settings_when_external(&f, path, &["name", "external"])?;
        return Ok(n);
    }
    if let Some(d) = f.get("driver") {
        let dp = child(path, "driver");
        let driver = read::string(d, &dp)?;
        if driver != "bridge" {
            return Err(error(
                d.span,
                &dp,
                format!("driver {driver:?} is not supported: berth supports only bridge networks"),
            ));
        }
        n.driver = Some(driver);
    }
    if let Some(o) = f.get("driver_opts") {
        n.driver_opts = env::options(o, &child(path, "driver_opts"))?;
    }
    if let Some(b) = f.get("internal") {
        n.internal = read::boolean(b, &child(path, "internal"))?;
    }
    if let Some(b) = f.get("attachable") {
        n.attachable = read::boolean(b, &child(path, "attachable"))?;
    }
    if let Some(b) = f.get("enable_ipv6") {
        n.enable_ipv6 = read::boolean(b, &child(path, "enable_ipv6"))?;
        if n.enable_ipv6 {
            p.warn(b.span, format!("{owner}: enable_ipv6 is not supported by berth yet; the network gets IPv4 only"));
        }
    }
    if let Some(b) = f.get("enable_ipv4") {
        if !read::boolean(b, &child(path, "enable_ipv4"))? {
            p.warn(b.span, format!("{owner}: enable_ipv4: false is not supported by berth yet; the network gets IPv4"));
        }
    }
    if let Some(l) = f.get("labels") {
        n.labels = env::labels(l, &child(path, "labels"))?;
    }
    if let Some(i) = f.get("ipam") {
        n.ipam = ipam(i, &child(path, "ipam"), &owner, p)?;
    }
    Ok(n)
}

fn ipam(node: &Node, path: &str, owner: &str, p: &mut Parser) -> Res<Vec<IpamConfig>> {
    let f = read::fields(node, path, &["driver", "config", "options"])?;
    if let Some(d) = f.get("driver") {
        let dp = child(path, "driver");
        if read::string(d, &dp)? != "default" {
            p.unsupported(owner, &dp, d.span);
        }
    }
    if let Some(span) = f.key_span("options") {
        p.unsupported(owner, &child(path, "options"), span);
    }
    let mut out = Vec::new();
    let Some(config) = f.get("config") else {
        return Ok(out);
    };
    let cp = child(path, "config");
    for (i, item) in read::list(config, &cp)?.iter().enumerate() {
        let ip = index(&cp, i);
        let cf = read::fields(
            item,
            &ip,
            &["subnet", "gateway", "ip_range", "aux_addresses"],
        )?;
        if let Some(span) = cf.key_span("aux_addresses") {
            p.unsupported(owner, &child(&ip, "aux_addresses"), span);
        }
        let mut c = IpamConfig::default();
        if let Some(s) = cf.get("subnet") {
            let sp = child(&ip, "subnet");
            c.subnet = Some(cidr(&read::string(s, &sp)?, s.span, &sp)?);
        }
        if let Some(s) = cf.get("ip_range") {
            let sp = child(&ip, "ip_range");
            c.ip_range = Some(cidr(&read::string(s, &sp)?, s.span, &sp)?);
        }
        if let Some(g) = cf.get("gateway") {
            let gp = child(&ip, "gateway");
            let s = read::string(g, &gp)?;
            if s.parse::<IpAddr>().is_err() {
                return Err(error(g.span, &gp, format!("{s:?} is not an IP address")));
            }
            c.gateway = Some(s);
        }
        out.push(c);
    }
    Ok(out)
}

/// `10.5.0.0/16`: an address and a prefix length that fits it.
fn cidr(s: &str, span: Span, path: &str) -> Res<String> {
    let bad = || {
        error(
            span,
            path,
            format!("{s:?} is not a subnet in CIDR form (such as 10.5.0.0/16)"),
        )
    };
    let (addr, len) = s.split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let len: u8 = len.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(bad());
    }
    Ok(s.to_string())
}

const VOLUME_KEYS: &[&str] = &["name", "driver", "driver_opts", "external", "labels"];

pub(crate) fn volumes(node: &Node, p: &mut Parser) -> Res<BTreeMap<String, Volume>> {
    let mut out = BTreeMap::new();
    for (k, v) in read::map(node, "volumes")? {
        check_key(k, "volumes")?;
        let path = format!("volumes.{}", k.name);
        let vol = if matches!(v.value, Value::Null) {
            Volume {
                name: format!("{}_{}", p.ctx.project_name, k.name),
                ..Volume::default()
            }
        } else {
            volume(v, &path, &k.name, p)?
        };
        out.insert(k.name.clone(), vol);
    }
    Ok(out)
}

fn volume(node: &Node, path: &str, key: &str, p: &mut Parser) -> Res<Volume> {
    let f = read::fields(node, path, VOLUME_KEYS)?;
    let (name, is_external) = real_name(&f, path, key, p)?;
    let mut v = Volume {
        name,
        external: is_external,
        ..Volume::default()
    };
    if is_external {
        no_settings_when_external(&f, path, &["name", "external"])?;
        return Ok(v);
    }
    if let Some(d) = f.get("driver") {
        let dp = child(path, "driver");
        let driver = read::string(d, &dp)?;
        if driver != "local" {
            return Err(error(
                d.span,
                &dp,
                format!("driver {driver:?} is not supported: berth supports only local volumes"),
            ));
        }
        v.driver = Some(driver);
    }
    if let Some(o) = f.get("driver_opts") {
        v.driver_opts = env::options(o, &child(path, "driver_opts"))?;
    }
    if let Some(l) = f.get("labels") {
        v.labels = env::labels(l, &child(path, "labels"))?;
    }
    Ok(v)
}

const FILE_KEYS: &[&str] = &[
    "name",
    "file",
    "environment",
    "content",
    "external",
    "labels",
    "driver",
    "driver_opts",
    "template_driver",
];

/// `secrets:` or `configs:`. External ones are not supported: they are warned about
/// and left out, and services' references to them are dropped with a warning.
pub(crate) fn files(
    node: &Node,
    section: &str,
    p: &mut Parser,
) -> Res<BTreeMap<String, FileObject>> {
    let word = if section == "secrets" {
        "secret"
    } else {
        "config"
    };
    let mut out = BTreeMap::new();
    for (k, v) in read::map(node, section)? {
        check_key(k, section)?;
        let path = format!("{section}.{}", k.name);
        let owner = format!("{word} {:?}", k.name);
        let f = read::fields(v, &path, FILE_KEYS)?;
        let (name, is_external) = real_name(&f, &path, &k.name, p)?;
        if is_external {
            p.warn(
                k.span,
                format!(
                    "{owner}: external {section} are not supported by berth yet; it is ignored"
                ),
            );
            if section == "secrets" {
                p.ignored_secrets.insert(k.name.clone());
            } else {
                p.ignored_configs.insert(k.name.clone());
            }
            continue;
        }
        for key in f.present(&["labels", "driver", "driver_opts", "template_driver"]) {
            p.unsupported(&owner, &key.name, key.span);
        }
        let sources: Vec<&Key> = f.present(&["file", "environment", "content"]).collect();
        let source = match sources.as_slice() {
            [one] => {
                let n = f.get(&one.name).unwrap_or(v);
                let sp = child(&path, &one.name);
                let s = read::string(n, &sp)?;
                match one.name.as_str() {
                    "file" => FileSource::File(volumes::host_path(&s, p, n.span, &sp)?.into()),
                    "environment" => {
                        let value = p.ctx.env.get(&s).ok_or_else(|| {
                            error(
                                n.span,
                                &sp,
                                format!("environment variable {s:?} is not set"),
                            )
                        })?;
                        FileSource::Environment { name: s, value }
                    }
                    _ => FileSource::Content(s),
                }
            }
            [] => {
                return Err(error(
                    v.span,
                    &path,
                    format!("a {word} needs one of `file`, `environment` or `content`"),
                ))
            }
            [_, second, ..] => {
                return Err(error(
                    second.span,
                    &path,
                    format!("a {word} takes only one of `file`, `environment` and `content`"),
                ))
            }
        };
        out.insert(
            k.name.clone(),
            FileObject {
                name,
                source,
                external: false,
            },
        );
    }
    Ok(out)
}
