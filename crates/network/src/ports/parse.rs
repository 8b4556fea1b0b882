//! Docker's `-p` syntax: `[IP:][HOSTPORT:]CPORT[/PROTO]`, IPv6 addresses in brackets,
//! port ranges on either side.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Binding, PortError, Proto};

/// Parses one `-p` value into one [`Binding`] per published port.
///
/// Forms: `80`, `8080:80`, `127.0.0.1:8080:80`, `127.0.0.1::80` (ephemeral host port),
/// `[::1]:8080:80`, `[::1]::80`, any of them with `/tcp` or `/udp`, and ranges such as
/// `8000-8001:80-81` or `80-81` (each container port on its own ephemeral host port).
/// Without an address the host side is `0.0.0.0`, every IPv4 address of the host, as
/// with Docker; IPv6 is only published when asked for (`[::]:8080:80`).
pub fn parse_publish(spec: &str) -> Result<Vec<Binding>, PortError> {
    let fail = |reason: String| PortError::Spec {
        spec: spec.to_string(),
        reason,
    };
    if spec.is_empty() {
        return Err(fail(
            "it is empty; expected [IP:][HOSTPORT:]PORT[/tcp|udp]".into(),
        ));
    }
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((rest, p)) => (rest, parse_proto(p).map_err(fail)?),
        None => (spec, Proto::Tcp),
    };

    let (ip, host, container) = split_address(rest).map_err(fail)?;
    let ip = match ip {
        Some(ip) => ip,
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let (c_first, c_last) = parse_range(container, "container").map_err(fail)?;
    let host = match host {
        // An empty host port ("127.0.0.1::80") asks for an ephemeral one.
        None | Some("") => None,
        Some(h) => Some(parse_range(h, "host").map_err(fail)?),
    };

    let count = u32::from(c_last - c_first) + 1;
    let bindings = match host {
        None => (c_first..=c_last)
            .map(|c| Binding {
                proto,
                host_ip: ip,
                host_port: 0,
                container_port: c,
            })
            .collect(),
        Some((h_first, h_last)) => {
            let h_count = u32::from(h_last - h_first) + 1;
            if h_count != count {
                let reason = if count == 1 {
                    // Docker would pick one free port out of the host range; berth binds
                    // exactly what it is told, so say how to get either behaviour.
                    format!(
                        "host ports {h_first}-{h_last} but a single container port {c_first}: \
                         give a container range of the same length ({c_first}-{}), or leave \
                         the host port empty for an ephemeral one",
                        u32::from(c_first) + h_count - 1
                    )
                } else {
                    format!(
                        "the host side has {h_count} port(s) ({}) but the container side has \
                         {count} ({}); the ranges must have the same length",
                        show_range(h_first, h_last),
                        show_range(c_first, c_last)
                    )
                };
                return Err(fail(reason));
            }
            (h_first..=h_last)
                .zip(c_first..=c_last)
                .map(|(h, c)| Binding {
                    proto,
                    host_ip: ip,
                    host_port: h,
                    container_port: c,
                })
                .collect()
        }
    };
    Ok(bindings)
}

fn show_range(first: u16, last: u16) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first}-{last}")
    }
}

fn parse_proto(p: &str) -> Result<Proto, String> {
    match p.to_ascii_lowercase().as_str() {
        "tcp" => Ok(Proto::Tcp),
        "udp" => Ok(Proto::Udp),
        "" => Err("nothing after '/'; expected tcp or udp".into()),
        "sctp" => Err("sctp is not supported; use tcp or udp".into()),
        _ => Err(format!("unknown protocol {p:?}; expected tcp or udp")),
    }
}

/// Splits `[IP:][HOSTPORT:]CPORT` into its address, host ports and container ports.
fn split_address(s: &str) -> Result<(Option<IpAddr>, Option<&str>, &str), String> {
    if let Some(inner) = s.strip_prefix('[') {
        let Some((addr, after)) = inner.split_once(']') else {
            return Err("'[' without a closing ']'".into());
        };
        let ip: Ipv6Addr = addr
            .parse()
            .map_err(|_| format!("{addr:?} is not an IPv6 address (brackets are for IPv6)"))?;
        let Some(after) = after.strip_prefix(':') else {
            return Err(format!(
                "expected ':' after [{addr}], as in [{addr}]:8080:80 or [{addr}]::80"
            ));
        };
        let Some((host, container)) = after.split_once(':') else {
            return Err(format!(
                "give both ports after the address: [{addr}]:HOSTPORT:{after} or \
                 [{addr}]::{after} for an ephemeral host port"
            ));
        };
        return Ok((Some(IpAddr::V6(ip)), Some(host), container));
    }
    let parts: Vec<&str> = s.split(':').collect();
    match parts.as_slice() {
        [container] => Ok((None, None, container)),
        [host, container] => {
            if host.parse::<IpAddr>().is_ok() {
                return Err(format!(
                    "{host:?} is an address, not a port; to publish on it give both ports: \
                     {host}:HOSTPORT:{container} or {host}::{container}"
                ));
            }
            Ok((None, Some(host), container))
        }
        [ip, host, container] => {
            if ip.is_empty() {
                return Err("the address before the host port is empty".into());
            }
            let ip: Ipv4Addr = ip.parse().map_err(|_| {
                if ip.parse::<Ipv6Addr>().is_ok() {
                    format!("IPv6 addresses go in brackets: [{ip}]:{host}:{container}")
                } else {
                    format!("{ip:?} is not an IP address")
                }
            })?;
            Ok((Some(IpAddr::V4(ip)), Some(host), container))
        }
        _ => Err("too many ':'; IPv6 addresses go in brackets, as in [::1]:8080:80".into()),
    }
}

/// `"80"` or `"8000-8010"`, every port in 1..=65535, the range not backwards.
fn parse_range(s: &str, side: &str) -> Result<(u16, u16), String> {
    let (first, last) = match s.split_once('-') {
        Some((a, b)) => (parse_port(a, side)?, parse_port(b, side)?),
        None => {
            let p = parse_port(s, side)?;
            (p, p)
        }
    };
    if last < first {
        return Err(format!("{side} port range {s:?} goes backwards"));
    }
    Ok((first, last))
}

fn parse_port(s: &str, side: &str) -> Result<u16, String> {
    if s.is_empty() {
        return Err(format!("the {side} port is empty"));
    }
    // u16::from_str would accept a leading '+'; a port is digits only.
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{side} port {s:?} is not a number between 1 and 65535"
        ));
    }
    match s.parse::<u16>() {
        Ok(0) if side == "host" => Err(
            "host port 0 is not a port; leave the host port empty (as in 127.0.0.1::80) for \
             an ephemeral one"
                .into(),
        ),
        Ok(0) => Err("container port 0 is not a port".into()),
        Ok(p) => Ok(p),
        Err(_) => Err(format!("{side} port {s} is out of range (1-65535)")),
    }
}
