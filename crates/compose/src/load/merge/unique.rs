//! Identity rules for service lists: two entries that publish the same port, mount at
//! the same target, set the same variable... are one entry, and the later one wins
//! (keeping the earlier one's place). Applied after merging, as compose applies its
//! unicity rules, so duplicates within one file collapse too. An entry whose identity
//! cannot be worked out is kept as it is, for the model parser to judge.

use std::collections::HashMap;

use super::scalar_text;
use crate::value::{Node, Value};

#[derive(Debug, Clone, Copy)]
enum Identity {
    /// The text before `=` (or the whole text).
    Name,
    /// `{host_ip, published, target, protocol}`.
    Port,
    /// The container path.
    MountTarget,
    /// The container path of a device mapping.
    Device,
    /// The target, by default `/run/secrets/SOURCE`.
    Secret,
    /// The target, by default `/SOURCE`.
    Config,
    /// The file path.
    EnvFile,
}

/// Paths under a service, with the identity of their list entries.
const UNIQUE: &[(&str, Identity)] = &[
    ("annotations", Identity::Name),
    ("build.additional_contexts", Identity::Name),
    ("build.args", Identity::Name),
    ("build.labels", Identity::Name),
    ("build.platforms", Identity::Name),
    ("build.tags", Identity::Name),
    ("cap_add", Identity::Name),
    ("cap_drop", Identity::Name),
    ("configs", Identity::Config),
    ("deploy.labels", Identity::Name),
    ("devices", Identity::Device),
    ("dns", Identity::Name),
    ("dns_opt", Identity::Name),
    ("dns_search", Identity::Name),
    ("env_file", Identity::EnvFile),
    ("environment", Identity::Name),
    ("expose", Identity::Name),
    ("labels", Identity::Name),
    ("links", Identity::Name),
    ("networks.*.aliases", Identity::Name),
    ("ports", Identity::Port),
    ("profiles", Identity::Name),
    ("secrets", Identity::Secret),
    ("sysctls", Identity::Name),
    ("tmpfs", Identity::Name),
    ("volumes", Identity::MountTarget),
];

/// Removes duplicate entries from every service's identity-ruled lists.
pub(crate) fn enforce(root: &mut Node) {
    let Some(Value::Map(services)) = root.get_mut("services").map(|s| &mut s.value) else {
        return;
    };
    for (_, service) in services.iter_mut() {
        for (path, identity) in UNIQUE {
            let parts: Vec<&str> = path.split('.').collect();
            lists_at(service, &parts, &mut |items| dedupe(items, *identity));
        }
    }
}

fn lists_at(node: &mut Node, parts: &[&str], f: &mut dyn FnMut(&mut Vec<Node>)) {
    match parts.split_first() {
        None => {
            if let Value::Seq(items) = &mut node.value {
                f(items);
            }
        }
        Some((&"*", rest)) => {
            if let Value::Map(m) = &mut node.value {
                for (_, v) in m.iter_mut() {
                    lists_at(v, rest, f);
                }
            }
        }
        Some((key, rest)) => {
            if let Some(v) = node.get_mut(key) {
                lists_at(v, rest, f);
            }
        }
    }
}

fn dedupe(items: &mut Vec<Node>, identity: Identity) {
    let old = std::mem::take(items);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for item in old {
        match key(&item, identity) {
            Some(k) => match seen.get(&k) {
                Some(&i) => items[i] = item,
                None => {
                    seen.insert(k, items.len());
                    items.push(item);
                }
            },
            None => items.push(item),
        }
    }
}

fn key(n: &Node, identity: Identity) -> Option<String> {
    let field = |k: &str| n.get(k).and_then(scalar_text);
    match identity {
        Identity::Name => {
            let t = scalar_text(n)?;
            Some(t.split_once('=').map_or(t.clone(), |(k, _)| k.to_string()))
        }
        Identity::Port => port_key(n),
        Identity::MountTarget => match &n.value {
            Value::Str(s) => Some(s.split(':').nth(1).unwrap_or(s).to_string()),
            Value::Map(_) => field("target"),
            _ => None,
        },
        Identity::Device => match &n.value {
            Value::Str(s) => Some(s.split(':').nth(1).unwrap_or(s).to_string()),
            Value::Map(_) => field("target"),
            _ => None,
        },
        Identity::Secret | Identity::Config => {
            let dir = if matches!(identity, Identity::Secret) {
                "/run/secrets/"
            } else {
                "/"
            };
            match &n.value {
                Value::Str(s) => Some(format!("{dir}{s}")),
                Value::Map(_) => match field("target") {
                    Some(t) if t.starts_with('/') => Some(t),
                    Some(t) => Some(format!("{dir}{t}")),
                    None => field("source").map(|s| format!("{dir}{s}")),
                },
                _ => None,
            }
        }
        Identity::EnvFile => match &n.value {
            Value::Str(s) => Some(s.clone()),
            Value::Map(_) => field("path"),
            _ => None,
        },
    }
}

/// `HOST_IP:PUBLISHED:TARGET/PROTOCOL` for a short or long port entry, with compose's
/// defaults (all addresses, tcp) filled in so that `8080:80` and
/// `0.0.0.0:8080:80/tcp` are the same port.
fn port_key(n: &Node) -> Option<String> {
    let (ip, published, target, proto) = match &n.value {
        Value::Int(i) => (
            String::new(),
            String::new(),
            i.to_string(),
            "tcp".to_string(),
        ),
        Value::Str(s) => {
            let (body, proto) = s.rsplit_once('/').unwrap_or((s, "tcp"));
            let (rest, target) = body.rsplit_once(':').unwrap_or(("", body));
            let (ip, published) = if let Some(bracketed) = rest.strip_prefix('[') {
                bracketed.split_once("]:").unwrap_or((bracketed, ""))
            } else {
                rest.rsplit_once(':').unwrap_or(("", rest))
            };
            (ip.into(), published.into(), target.into(), proto.into())
        }
        Value::Map(_) => {
            let field = |k: &str| n.get(k).and_then(scalar_text);
            (
                field("host_ip").unwrap_or_default(),
                field("published").unwrap_or_default(),
                field("target")?,
                field("protocol").unwrap_or_else(|| "tcp".into()),
            )
        }
        _ => return None,
    };
    let ip = if ip.is_empty() {
        "0.0.0.0".to_string()
    } else {
        ip
    };
    Some(format!(
        "{ip}:{published}:{target}/{}",
        proto.to_lowercase()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(yaml: &str) -> Node {
        crate::yaml::parse(yaml, 0).unwrap()
    }

    #[test]
    fn port_identity_fills_compose_defaults() {
        let k = |y: &str| port_key(&node(y));
        assert_eq!(k("8080:80"), k("0.0.0.0:8080:80/tcp"));
        assert_eq!(k("8080:80"), k("{published: 8080, target: 80}"));
        assert_ne!(k("8080:80"), k("8080:80/udp"));
        assert_ne!(k("127.0.0.1:8080:80"), k("8080:80"));
        assert_eq!(k("\"[::1]:8080:80\"").unwrap(), "::1:8080:80/tcp");
        assert_eq!(k("80").unwrap(), "0.0.0.0::80/tcp");
        assert_eq!(k("\"127.0.0.1::80\"").unwrap(), "127.0.0.1::80/tcp");
    }

    #[test]
    fn mount_identity_is_the_target() {
        let k = |y: &str| key(&node(y), Identity::MountTarget);
        assert_eq!(k("./a:/data:ro").unwrap(), "/data");
        assert_eq!(k("/data").unwrap(), "/data");
        assert_eq!(
            k("{type: bind, source: ./b, target: /data}").unwrap(),
            "/data"
        );
        assert_eq!(k("{type: bind, source: ./b}"), None);
    }

    #[test]
    fn secret_and_config_identity_default_their_targets() {
        assert_eq!(
            key(&node("db_pw"), Identity::Secret).unwrap(),
            "/run/secrets/db_pw"
        );
        assert_eq!(
            key(&node("{source: a, target: pw}"), Identity::Secret).unwrap(),
            "/run/secrets/pw"
        );
        assert_eq!(key(&node("{source: c}"), Identity::Config).unwrap(), "/c");
        assert_eq!(
            key(&node("{source: c, target: /etc/c}"), Identity::Config).unwrap(),
            "/etc/c"
        );
    }
}
