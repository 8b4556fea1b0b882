//! The network services a container's monitor runs for it while it lives: the userland
//! proxy behind its published ports (host sockets bound exactly as given, before the
//! container starts, so a taken port fails the start) and the embedded DNS server on
//! its user-defined networks. Both are driven by the monitor's poll loop and never
//! block it.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use network::dns::DnsServer;
use network::ports::{Binding, Proto, Proxy};

use crate::error::{Error, Result};
use crate::netattach::{Attached, EndpointNames};
use crate::record::{PortBinding, Record};
use crate::state_root::StateRoot;

/// Host sockets bound for a container's published ports, not yet served.
pub struct BoundPorts {
    ports: Vec<(Binding, OwnedFd, SocketAddr)>,
}

fn proto_name(p: Proto) -> &'static str {
    match p {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
    }
}

/// `-p` bindings of the record, plus every exposed port under `-P`.
fn bindings(record: &Record) -> Result<Vec<Binding>> {
    let mut v = Vec::new();
    let mut add = |key: &str, b: &PortBinding| -> Result<()> {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        let container_port: u16 = port
            .parse()
            .map_err(|_| Error::invalid(format!("bad published port {key:?} in the record")))?;
        let proto = match proto {
            "udp" => Proto::Udp,
            _ => Proto::Tcp,
        };
        let host_ip: IpAddr = if b.host_ip.is_empty() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            b.host_ip
                .trim_matches(['[', ']'])
                .parse()
                .map_err(|_| Error::invalid(format!("bad host address {:?}", b.host_ip)))?
        };
        let host_port: u16 = if b.host_port.is_empty() {
            0
        } else {
            b.host_port
                .parse()
                .map_err(|_| Error::invalid(format!("bad host port {:?}", b.host_port)))?
        };
        v.push(Binding {
            proto,
            host_ip,
            host_port,
            container_port,
        });
        Ok(())
    };
    for (key, list) in &record.host_config.port_bindings {
        for b in list {
            add(key, b)?;
        }
    }
    if record.host_config.publish_all_ports {
        for key in record.config.exposed_ports.iter().flat_map(|m| m.keys()) {
            let key = if key.contains('/') {
                key.clone()
            } else {
                format!("{key}/tcp")
            };
            if !record.host_config.port_bindings.contains_key(&key) {
                add(&key, &PortBinding::default())?;
            }
        }
    }
    Ok(v)
}

/// Binds every published port of `record` on the host. Nothing is bound on error.
pub fn bind_ports(record: &Record) -> Result<BoundPorts> {
    let mut ports = Vec::new();
    for b in bindings(record)? {
        let (fd, addr) = network::ports::bind(&b).map_err(|e| Error::invalid(e.to_string()))?;
        ports.push((b, fd, addr));
    }
    Ok(BoundPorts { ports })
}

impl BoundPorts {
    /// The same host sockets, duplicated: a container with a restart policy keeps them
    /// bound between its runs, so its host ports never change and clients who connect
    /// during a back-off wait in the accept queue for the next run.
    pub fn try_clone(&self) -> Result<BoundPorts> {
        let mut ports = Vec::with_capacity(self.ports.len());
        for (b, fd, addr) in &self.ports {
            let dup = fd.try_clone().map_err(|e| {
                Error::invalid(format!("keeping the published port {addr} bound: {e}"))
            })?;
            ports.push((b.clone(), dup, *addr));
        }
        Ok(BoundPorts { ports })
    }
}

/// The embedded DNS server on its sockets: it answers from the endpoints of the
/// container's networks and, when one of them reaches out (not internal), forwards the
/// rest to the upstream resolvers. Forwarding happens from the host's namespace (the
/// monitor's), so even a loopback resolver of the host (systemd-resolved's 127.0.0.53)
/// works.
fn dns_server(
    root: &StateRoot,
    record: &Record,
    udp: OwnedFd,
    tcp: OwnedFd,
    reach_out: bool,
) -> Option<DnsServer<EndpointNames>> {
    let upstreams: Vec<SocketAddr> = if reach_out {
        crate::etc_files::upstreams(record)
            .iter()
            .filter_map(|a| a.parse::<IpAddr>().ok())
            .map(|ip| SocketAddr::new(ip, 53))
            .collect()
    } else {
        Vec::new()
    };
    let upstream = (!upstreams.is_empty())
        .then(|| network::dns::upstream_socket(&upstreams).ok())
        .flatten();
    DnsServer::new(
        EndpointNames {
            root: root.clone(),
            container_id: record.id.clone(),
        },
        udp,
        Some(tcp),
        upstream,
        upstreams,
    )
    .ok()
}

/// What the monitor serves for a running container.
#[derive(Default)]
pub struct Services {
    proxy: Option<Proxy>,
    dns: Option<DnsServer<EndpointNames>>,
    ranges: (std::ops::Range<usize>, std::ops::Range<usize>),
}

impl Services {
    /// Starts serving: the bound ports forward to the container's first address, and
    /// the DNS sockets (if any) answer from the endpoints of its networks. Returns the
    /// services and Docker's NetworkSettings.Ports.
    pub fn new(
        root: &StateRoot,
        record: &Record,
        bound: BoundPorts,
        attached: &mut Attached,
    ) -> (Services, BTreeMap<String, Vec<PortBinding>>) {
        let mut s = Services::default();
        let mut ports: BTreeMap<String, Vec<PortBinding>> = BTreeMap::new();
        if let Some(ip) = attached.first_ip {
            let mut proxy = Proxy::new();
            for (b, fd, addr) in bound.ports {
                proxy.add(
                    b.proto,
                    fd,
                    SocketAddr::new(IpAddr::V4(ip), b.container_port),
                );
                ports
                    .entry(format!("{}/{}", b.container_port, proto_name(b.proto)))
                    .or_default()
                    .push(PortBinding {
                        host_ip: addr.ip().to_string(),
                        host_port: addr.port().to_string(),
                    });
            }
            s.proxy = Some(proxy);
        }
        if let Some((udp, tcp)) = attached.dns.take() {
            let reach_out = attached.nets.iter().any(|n| !n.internal);
            s.dns = dns_server(root, record, udp, tcp, reach_out);
        }
        (s, ports)
    }

    /// Starts the embedded DNS server of a running container that has just joined its
    /// first user-defined network (`network connect`); nothing when it already serves.
    pub fn start_dns(&mut self, root: &StateRoot, record: &Record, pid: i32) -> Result<()> {
        if self.dns.is_some() || !crate::etc_files::uses_embedded_dns(record) {
            return Ok(());
        }
        let netns = std::fs::File::open(format!("/proc/{pid}/ns/net")).map_err(|e| {
            Error::invalid(format!("opening the container's network namespace: {e}"))
        })?;
        let (udp, tcp) = crate::netattach::bind_dns(&netns)?;
        let reach_out = record
            .networking_config
            .endpoints_config
            .values()
            .any(|ep| crate::networks::find(root, &ep.network_id).is_ok_and(|n| !n.internal));
        self.dns = dns_server(root, record, udp, tcp, reach_out);
        Ok(())
    }

    pub fn fill_poll(&mut self, fds: &mut Vec<libc::pollfd>) {
        let a = match &self.proxy {
            Some(p) => p.fill_poll(fds),
            None => fds.len()..fds.len(),
        };
        let b = match &self.dns {
            Some(d) => d.fill_poll(fds),
            None => fds.len()..fds.len(),
        };
        self.ranges = (a, b);
    }

    pub fn wait_time(&self, now: Instant) -> Option<Duration> {
        let a = self.proxy.as_ref().and_then(|p| p.wait_time(now));
        let b = self.dns.as_ref().and_then(|d| d.wait_time(now));
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn after_poll(&mut self, fds: &[libc::pollfd], now: Instant) {
        let (a, b) = self.ranges.clone();
        if let Some(p) = self.proxy.as_mut() {
            p.after_poll(fds, a, now);
        }
        if let Some(d) = self.dns.as_mut() {
            d.after_poll(fds, b, now);
        }
    }
}
