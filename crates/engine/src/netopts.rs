//! `run`/`create`'s network flags (`--network` in its simple and its advanced
//! `name=NET,alias=A,ip=IP` form, `--network-alias`, `--ip`, `-p`, `-P`,
//! `--dns*`, `--add-host`) checked and turned into the record's settings. Networks are
//! looked up (the default `bridge` is created on first use) so a bad name fails at
//! create, like Docker; addresses and host ports are only taken at start.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::error::{Error, Result};
use crate::networks;
use crate::record::{EndpointConfig, NetworkingConfig, PortBinding};
use crate::state_root::StateRoot;

/// The network flags as given.
#[derive(Debug, Clone, Default)]
pub struct NetOptions {
    /// `--network` (repeatable): none, host, bridge, a network name or id, or
    /// `name=NET,alias=A,ip=IP` (see [`parse_network`]).
    pub networks: Vec<String>,
    /// `--network-alias`: names on the first user-defined network.
    pub aliases: Vec<String>,
    /// `--ip`: the address on the first network.
    pub ip: Option<String>,
    /// `-p [IP:][HOSTPORT:]CPORT[/proto]`.
    pub publish: Vec<String>,
    /// `-P`.
    pub publish_all: bool,
    /// `--expose PORT[-PORT][/proto]`.
    pub expose: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    /// `--add-host NAME:IP`.
    pub add_hosts: Vec<String>,
}

/// What the record keeps.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub network_mode: String,
    pub config: NetworkingConfig,
    pub port_bindings: BTreeMap<String, Vec<PortBinding>>,
}

/// One `--network` value: a name, or Docker's advanced form
/// `name=NET,alias=A,alias=B,ip=IP`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkSpec {
    pub name: String,
    pub aliases: Vec<String>,
    pub ip: Option<Ipv4Addr>,
}

/// Parses one `--network` value. The advanced form is recognised by its `=`, as in
/// Docker; keys berth cannot honour (ip6, mac-address, driver-opt, ...) are errors
/// rather than silently dropped settings.
pub fn parse_network(value: &str) -> Result<NetworkSpec> {
    if !value.contains('=') {
        return Ok(NetworkSpec {
            name: value.to_string(),
            ..Default::default()
        });
    }
    let mut spec = NetworkSpec::default();
    for field in value.split(',') {
        let (key, v) = field.split_once('=').ok_or_else(|| {
            Error::invalid(format!(
                "invalid --network {value:?}: {field:?} is not KEY=VALUE (use name=NET,alias=A,ip=IP)"
            ))
        })?;
        let v = v.trim();
        match key.trim() {
            "name" => spec.name = v.to_string(),
            "alias" => spec.aliases.push(v.to_string()),
            "ip" => {
                spec.ip = Some(v.parse::<Ipv4Addr>().map_err(|_| {
                    Error::invalid(format!(
                        "invalid --network {value:?}: ip {v:?} is not an IPv4 address"
                    ))
                })?)
            }
            k => {
                return Err(Error::invalid(format!(
                    "invalid --network {value:?}: berth does not support the key {k:?} (name, alias and ip are supported)"
                )))
            }
        }
    }
    if spec.name.is_empty() {
        return Err(Error::invalid(format!(
            "invalid --network {value:?}: name=NETWORK is required"
        )));
    }
    Ok(spec)
}

pub fn resolve(root: &StateRoot, opts: &NetOptions) -> Result<Resolved> {
    let mut specs = opts
        .networks
        .iter()
        .map(|n| parse_network(n))
        .collect::<Result<Vec<_>>>()?;
    if specs.is_empty() {
        specs.push(NetworkSpec {
            name: networks::DEFAULT_NETWORK.into(),
            ..Default::default()
        });
    }
    // `--network-alias` and `--ip` apply to the first network, as in Docker, which
    // refuses to mix them with that network's own settings.
    let legacy_ip = opts
        .ip
        .as_deref()
        .map(|s| {
            s.parse::<Ipv4Addr>()
                .map_err(|_| Error::invalid(format!("invalid --ip {s:?}: an IPv4 address")))
        })
        .transpose()?;
    if let Some(first) = specs.first_mut() {
        if !opts.aliases.is_empty() {
            if !first.aliases.is_empty() {
                return Err(Error::invalid(
                    "conflicting options: cannot specify both --network-alias and per-network alias",
                ));
            }
            first.aliases = opts.aliases.clone();
        }
        if legacy_ip.is_some() {
            if first.ip.is_some() {
                return Err(Error::invalid(
                    "conflicting options: cannot specify both --ip and per-network IPv4 address",
                ));
            }
            first.ip = legacy_ip;
        }
    }
    let special = |n: &str| matches!(n, "none" | "host") || n.starts_with("container:");
    if specs.len() > 1 && specs.iter().any(|n| special(&n.name)) {
        return Err(Error::invalid(
            "--network none, host or container:NAME cannot be combined with other networks",
        ));
    }
    // `container:NAME`: the other container's network namespace, and its names.
    if let Some(other) = specs[0].name.strip_prefix("container:") {
        let conflict = |what: &str| {
            Error::invalid(format!(
                "conflicting options: {what} and the container network mode (the network belongs to {other})"
            ))
        };
        if !opts.publish.is_empty() || opts.publish_all {
            return Err(conflict("port publishing"));
        }
        if !opts.dns.is_empty() || !opts.dns_search.is_empty() || !opts.dns_options.is_empty() {
            return Err(conflict("dns"));
        }
        if !opts.add_hosts.is_empty() {
            return Err(conflict("--add-host"));
        }
        if specs[0].ip.is_some() || !specs[0].aliases.is_empty() {
            return Err(conflict("--ip and --network-alias"));
        }
        let id = crate::containers::find(root, other)?;
        return Ok(Resolved {
            network_mode: format!("container:{id}"),
            ..Default::default()
        });
    }
    let first = specs[0].name.clone();
    let mut out = Resolved {
        network_mode: if first == "default" {
            networks::DEFAULT_NETWORK.into()
        } else {
            first.clone()
        },
        ..Default::default()
    };
    let takes_ports = !special(&first);
    if !takes_ports {
        if !opts.publish.is_empty() || opts.publish_all {
            // Docker ignores them with a warning for host; none cannot publish at all.
            return Err(Error::invalid(format!(
                "-p/-P need a network with addresses; --network {first} has none of its own"
            )));
        }
        if specs[0].ip.is_some() || !specs[0].aliases.is_empty() {
            return Err(Error::invalid(format!(
                "--ip and --network-alias need a bridge network, not --network {first}"
            )));
        }
        return Ok(out);
    }
    let mut seen = std::collections::BTreeSet::new();
    for spec in &specs {
        let name = &spec.name;
        let net = if name == networks::DEFAULT_NETWORK || name == "default" {
            networks::default_network(root)?
        } else {
            networks::find(root, name)?
        };
        if !seen.insert(net.id.clone()) {
            return Err(Error::invalid(format!("network {} given twice", net.name)));
        }
        let predefined = net.is_predefined();
        if predefined && !spec.aliases.is_empty() {
            return Err(Error::invalid(
                "--network-alias works on user-defined networks only (as in Docker): create one with berth network create",
            ));
        }
        if let Some(ip) = spec.ip {
            let subnet = net.subnet()?;
            if predefined {
                return Err(Error::invalid(
                    "--ip works on user-defined networks only (as in Docker): create one with --subnet",
                ));
            }
            if !subnet.is_host(ip) {
                return Err(Error::invalid(format!(
                    "--ip {ip} is not in network {}'s subnet {subnet}",
                    net.name
                )));
            }
        }
        out.config.endpoints_config.insert(
            net.name.clone(),
            EndpointConfig {
                network_id: net.id.clone(),
                aliases: spec.aliases.clone(),
                ipv4_address: spec.ip,
            },
        );
    }
    for spec in &opts.publish {
        for b in network::ports::parse_publish(spec).map_err(|e| Error::invalid(e.to_string()))? {
            let key = format!(
                "{}/{}",
                b.container_port,
                match b.proto {
                    network::ports::Proto::Tcp => "tcp",
                    network::ports::Proto::Udp => "udp",
                }
            );
            let host_ip = if b.host_ip.is_unspecified() {
                String::new()
            } else {
                b.host_ip.to_string()
            };
            out.port_bindings.entry(key).or_default().push(PortBinding {
                host_ip,
                host_port: if b.host_port == 0 {
                    String::new()
                } else {
                    b.host_port.to_string()
                },
            });
        }
    }
    Ok(out)
}

/// `--add-host NAME:IP` entries as (name, address); `host-gateway` becomes the address
/// of the container's first gateway (the host as the container reaches it).
pub fn extra_hosts(entries: &[String], gateway: Option<&str>) -> Result<Vec<(String, String)>> {
    entries
        .iter()
        .map(|e| {
            let (name, ip) = e
                .split_once([':', '='])
                .ok_or_else(|| Error::invalid(format!("invalid --add-host {e:?}: use NAME:IP")))?;
            let ip = if ip == "host-gateway" {
                gateway.map(str::to_string).ok_or_else(|| {
                    Error::invalid("--add-host NAME:host-gateway needs a network with a gateway")
                })?
            } else {
                ip.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .map_err(|_| {
                        Error::invalid(format!(
                            "invalid --add-host {e:?}: {ip:?} is not an IP address"
                        ))
                    })?;
                ip.trim_matches(['[', ']']).to_string()
            };
            Ok((name.to_string(), ip))
        })
        .collect()
}

/// `--expose` values as ExposedPorts keys ("80/tcp").
pub fn exposed(entries: &[String]) -> Result<Vec<String>> {
    let mut v = Vec::new();
    for e in entries {
        let (ports, proto) = e.split_once('/').unwrap_or((e.as_str(), "tcp"));
        if proto != "tcp" && proto != "udp" {
            return Err(Error::invalid(format!(
                "invalid --expose {e:?}: the protocol is tcp or udp"
            )));
        }
        let bad = || {
            Error::invalid(format!(
                "invalid --expose {e:?}: use PORT or PORT-PORT, 1-65535"
            ))
        };
        let (a, b) = ports.split_once('-').unwrap_or((ports, ports));
        let a: u16 = a.parse().ok().filter(|p| *p > 0).ok_or_else(bad)?;
        let b: u16 = b.parse().ok().filter(|p| *p >= a).ok_or_else(bad)?;
        for p in a..=b {
            v.push(format!("{p}/{proto}"));
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_values_take_the_simple_and_the_advanced_form() {
        assert_eq!(
            parse_network("front").unwrap(),
            NetworkSpec {
                name: "front".into(),
                ..Default::default()
            }
        );
        assert_eq!(
            parse_network("name=front,alias=web,alias=www,ip=10.9.0.5").unwrap(),
            NetworkSpec {
                name: "front".into(),
                aliases: vec!["web".into(), "www".into()],
                ip: Some(Ipv4Addr::new(10, 9, 0, 5)),
            }
        );
        for (bad, says) in [
            ("alias=web", "name=NETWORK is required"),
            ("name=front,ip=10.9.0", "not an IPv4 address"),
            ("name=front,mac-address=02:42:ac:11:00:02", "mac-address"),
            ("name=front,alias", "is not KEY=VALUE"),
        ] {
            let err = parse_network(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
