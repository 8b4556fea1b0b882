//! `run`/`create`'s network flags (`--network`, `--network-alias`, `--ip`, `-p`, `-P`,
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
    /// `--network` (repeatable): none, host, bridge, or a network name or id.
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

pub fn resolve(root: &StateRoot, opts: &NetOptions) -> Result<Resolved> {
    let mut names: Vec<String> = opts.networks.clone();
    if names.is_empty() {
        names.push(networks::DEFAULT_NETWORK.into());
    }
    let special = |n: &str| matches!(n, "none" | "host");
    if names.len() > 1 && names.iter().any(|n| special(n)) {
        return Err(Error::invalid(
            "--network none or host cannot be combined with other networks",
        ));
    }
    let first = names[0].clone();
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
        if opts.ip.is_some() || !opts.aliases.is_empty() {
            return Err(Error::invalid(format!(
                "--ip and --network-alias need a bridge network, not --network {first}"
            )));
        }
        return Ok(out);
    }
    let ip = opts
        .ip
        .as_deref()
        .map(|s| {
            s.parse::<Ipv4Addr>()
                .map_err(|_| Error::invalid(format!("invalid --ip {s:?}: an IPv4 address")))
        })
        .transpose()?;
    let mut seen = std::collections::BTreeSet::new();
    for (i, name) in names.iter().enumerate() {
        let net = if name == networks::DEFAULT_NETWORK || name == "default" {
            networks::default_network(root)?
        } else {
            networks::find(root, name)?
        };
        if !seen.insert(net.id.clone()) {
            return Err(Error::invalid(format!("network {} given twice", net.name)));
        }
        let predefined = net.is_predefined();
        if predefined && (!opts.aliases.is_empty() && i == 0) {
            return Err(Error::invalid(
                "--network-alias works on user-defined networks only (as in Docker): create one with berth network create",
            ));
        }
        if let (Some(ip), 0) = (ip, i) {
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
                aliases: if i == 0 {
                    opts.aliases.clone()
                } else {
                    Vec::new()
                },
                ipv4_address: if i == 0 { ip } else { None },
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
