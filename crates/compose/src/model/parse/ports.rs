//! A service's `ports` (short `[[IP:]HOST:]CONTAINER[/PROTO]` strings and numbers,
//! and the long mapping form) and `expose`. Short ranges become one entry per port,
//! as compose does; a host range for a single container port stays a range (the
//! engine picks one free port from it).

use std::net::IpAddr;

use crate::model::Port;
use crate::value::{Node, Value};

use super::read::{self, error, expected, index, Res};

const LONG_KEYS: &[&str] = &[
    "name",
    "mode",
    "host_ip",
    "target",
    "published",
    "protocol",
    "app_protocol",
];

pub(crate) fn ports(node: &Node, path: &str) -> Res<Vec<Port>> {
    let mut out = Vec::new();
    for (i, item) in read::list(node, path)?.iter().enumerate() {
        let p = index(path, i);
        match &item.value {
            Value::Int(n) => {
                out.extend(short(&n.to_string()).map_err(|m| error(item.span, &p, m))?)
            }
            Value::Str(s) => out.extend(short(s).map_err(|m| error(item.span, &p, m))?),
            Value::Map(_) => out.push(long(item, &p)?),
            _ => return Err(expected(item, &p, "a string, a number or a mapping")),
        }
    }
    Ok(out)
}

/// A port or an inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    start: u16,
    end: u16,
}

impl Range {
    fn len(self) -> u16 {
        self.end - self.start
    }

    fn text(self) -> String {
        if self.start == self.end {
            self.start.to_string()
        } else {
            format!("{}-{}", self.start, self.end)
        }
    }
}

fn port_number(s: &str, spec: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "invalid port {spec:?}: {s:?} is not a port number (1-65535)"
        )),
    }
}

fn range(s: &str, spec: &str) -> Result<Range, String> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let r = Range {
        start: port_number(a, spec)?,
        end: port_number(b, spec)?,
    };
    if r.end < r.start {
        return Err(format!(
            "invalid port {spec:?}: range {s:?} ends before it starts"
        ));
    }
    Ok(r)
}

fn protocol(p: &str, spec: &str) -> Result<String, String> {
    let p = p.to_ascii_lowercase();
    match p.as_str() {
        "tcp" | "udp" => Ok(p),
        _ => Err(format!(
            "invalid port {spec:?}: protocol {p:?} is not supported (use tcp or udp)"
        )),
    }
}

fn host_ip(ip: &str, spec: &str) -> Result<String, String> {
    let bare = ip
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(ip);
    bare.parse::<IpAddr>()
        .map(|a| a.to_string())
        .map_err(|_| format!("invalid port {spec:?}: {ip:?} is not an IP address"))
}

/// `80`, `8080:80`, `127.0.0.1:8080:80`, `127.0.0.1::80`, `[::1]:80:80`,
/// `8000-8001:80-81/udp`.
fn short(spec: &str) -> Result<Vec<Port>, String> {
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, protocol(p, spec)?),
        None => (spec, "tcp".to_string()),
    };
    // As Docker does: the last part is the container port, the one before it the
    // host port, and everything before that (colons and all) the host IP.
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match parts.as_slice() {
        [c] => ("", "", *c),
        [h, c] => ("", *h, *c),
        [ip, h, c] => (*ip, *h, *c),
        [.., h, c] => (&rest[..rest.len() - h.len() - c.len() - 2], *h, *c),
        [] => ("", "", ""),
    };
    let container = range(container, spec)?;
    let host = if host.is_empty() {
        None
    } else {
        Some(range(host, spec)?)
    };
    let ip = if ip.is_empty() {
        None
    } else {
        Some(host_ip(ip, spec)?)
    };
    let entry = |target: u16, published: Option<String>| Port {
        target,
        published,
        host_ip: ip.clone(),
        protocol: proto.clone(),
        mode: Some("ingress".into()),
        ..Port::default()
    };
    match host {
        None => Ok((container.start..=container.end)
            .map(|t| entry(t, None))
            .collect()),
        Some(h) if container.len() == 0 => Ok(vec![entry(container.start, Some(h.text()))]),
        Some(h) if h.len() == container.len() => Ok((0..=container.len())
            .map(|i| entry(container.start + i, Some((h.start + i).to_string())))
            .collect()),
        Some(_) => Err(format!(
            "invalid port {spec:?}: the host and container port ranges differ in length"
        )),
    }
}

fn long(node: &Node, path: &str) -> Res<Port> {
    let f = read::fields(node, path, LONG_KEYS)?;
    let target_node = f.get("target").ok_or_else(|| {
        error(
            node.span,
            path,
            "a port needs `target` (the container port)",
        )
    })?;
    let tpath = read::child(path, "target");
    let target = read::int_in(target_node, &tpath, 1, 65535)? as u16;
    let mut port = Port {
        target,
        protocol: "tcp".into(),
        mode: Some("ingress".into()),
        ..Port::default()
    };
    if let Some(n) = f.get("published") {
        let p = read::child(path, "published");
        let s = read::string(n, &p)?;
        if !s.is_empty() {
            let r = range(&s, &s).map_err(|m| error(n.span, &p, m))?;
            port.published = Some(r.text());
        }
    }
    if let Some(n) = f.get("host_ip") {
        let p = read::child(path, "host_ip");
        let s = read::string(n, &p)?;
        port.host_ip = Some(host_ip(&s, &s).map_err(|m| error(n.span, &p, m))?);
    }
    if let Some(n) = f.get("protocol") {
        let p = read::child(path, "protocol");
        let s = read::string(n, &p)?;
        port.protocol = protocol(&s, &s).map_err(|m| error(n.span, &p, m))?;
    }
    if let Some(n) = f.get("mode") {
        let p = read::child(path, "mode");
        let s = read::string(n, &p)?;
        if s != "host" && s != "ingress" {
            return Err(error(
                n.span,
                &p,
                format!("invalid mode {s:?}: use host or ingress"),
            ));
        }
        port.mode = Some(s);
    }
    if let Some(n) = f.get("name") {
        port.name = Some(read::string(n, &read::child(path, "name"))?);
    }
    if let Some(n) = f.get("app_protocol") {
        port.app_protocol = Some(read::string(n, &read::child(path, "app_protocol"))?);
    }
    Ok(port)
}

/// `expose: [80, "8000-8010", "53/udp"]`, kept as written after checking.
pub(crate) fn expose(node: &Node, path: &str) -> Res<Vec<String>> {
    let mut out = Vec::new();
    for (i, item) in read::list(node, path)?.iter().enumerate() {
        let p = index(path, i);
        let s = match &item.value {
            Value::Int(_) | Value::Str(_) => read::string(item, &p)?,
            _ => return Err(expected(item, &p, "a string or a number")),
        };
        let (ports, proto) = match s.rsplit_once('/') {
            Some((r, pr)) => (r, Some(pr)),
            None => (s.as_str(), None),
        };
        let checked = range(ports, &s).and_then(|r| match proto {
            Some(pr) => protocol(pr, &s).map(|pr| format!("{}/{pr}", r.text())),
            None => Ok(r.text()),
        });
        out.push(checked.map_err(|m| error(item.span, &p, m))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> Port {
        let mut v = short(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(v.len(), 1, "{spec}");
        v.remove(0)
    }

    #[test]
    fn short_syntax_variants() {
        let p = one("80");
        assert_eq!((p.target, p.published, p.host_ip), (80, None, None));
        assert_eq!(p.protocol, "tcp");
        assert_eq!(p.mode.as_deref(), Some("ingress"));
        let p = one("8080:80");
        assert_eq!((p.target, p.published.as_deref()), (80, Some("8080")));
        let p = one("127.0.0.1:8080:80");
        assert_eq!(p.host_ip.as_deref(), Some("127.0.0.1"));
        let p = one("127.0.0.16::8080");
        assert_eq!(
            (p.target, p.published, p.host_ip.as_deref()),
            (8080, None, Some("127.0.0.16"))
        );
        let p = one("[::1]:80:81");
        assert_eq!(
            (p.target, p.published.as_deref(), p.host_ip.as_deref()),
            (81, Some("80"), Some("::1"))
        );
        let p = one("::1:80:81");
        assert_eq!(p.host_ip.as_deref(), Some("::1"));
        let p = one("53:53/UDP");
        assert_eq!(p.protocol, "udp");
        let p = one("8000-8010:80");
        assert_eq!((p.target, p.published.as_deref()), (80, Some("8000-8010")));
    }

    #[test]
    fn ranges_expand_one_entry_per_port() {
        let v = short("127.0.0.1:8000-8001:80-81/udp").unwrap();
        let got: Vec<_> = v
            .iter()
            .map(|p| (p.target, p.published.clone().unwrap(), p.protocol.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (80, "8000".to_string(), "udp"),
                (81, "8001".to_string(), "udp")
            ]
        );
        let v = short("3000-3002").unwrap();
        assert_eq!(
            v.iter().map(|p| p.target).collect::<Vec<_>>(),
            [3000, 3001, 3002]
        );
        assert!(v.iter().all(|p| p.published.is_none()));
    }

    #[test]
    fn bad_short_ports_say_why() {
        for (spec, why) in [
            ("80:x", "\"x\" is not a port number"),
            ("70000", "is not a port number"),
            ("0", "is not a port number"),
            ("80/sctp", "protocol \"sctp\" is not supported"),
            ("host:80:80", "\"host\" is not an IP address"),
            ("8000-8002:80-81", "ranges differ in length"),
            ("81-80", "ends before it starts"),
            ("", "is not a port number"),
        ] {
            let e = short(spec).unwrap_err();
            assert!(e.contains(why), "{spec}: {e}");
        }
    }
}
