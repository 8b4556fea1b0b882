//! Attaching a starting container to its networks and detaching it again. Runs in the
//! container's monitor between clone and release (so the workload starts with its
//! network ready): for each network, an address from the pool, a veth pair whose
//! container end is created directly in the container's namespace as `ethN`, the host
//! end enslaved to the bridge, address, MAC and default route set inside, and an
//! endpoint file that name resolution reads.
//!
//! Detaching is idempotent and never stops at the first failure: it runs on stop, on
//! a failed start, and from `reconcile` after a monitor died, so a killed monitor leaks
//! nothing once the next berth command looks at the container.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};

use network::link::{in_netns, mac_for, Netlink};

use crate::error::{Error, Result};
use crate::networks::{self, Endpoint, Network};
use crate::record::{AttachedEndpoint, Record};
use crate::state_root::{write_json, StateRoot};

/// The address the embedded DNS server answers on inside a container, as Docker's.
pub const DNS_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);

/// What attaching produced.
#[derive(Default)]
pub struct Attached {
    /// Network name -> endpoint, for the container's state.
    pub networks: std::collections::BTreeMap<String, AttachedEndpoint>,
    /// The container's address on its first network (published ports go there).
    pub first_ip: Option<Ipv4Addr>,
    /// UDP and TCP sockets bound at 127.0.0.11:53 inside the container (user-defined
    /// networks only), for the monitor's DNS server.
    pub dns: Option<(OwnedFd, OwnedFd)>,
    /// The networks the container is on, for the DNS server's lookups.
    pub nets: Vec<Network>,
}

/// The host end of the veth of container `id` on network `net_id` (13 bytes; the
/// network's part keeps the name stable when networks are connected or disconnected).
pub fn host_link(id: &str, net_id: &str) -> String {
    format!(
        "vb{}{}",
        &id[..7.min(id.len())],
        &net_id[..4.min(net_id.len())]
    )
}

fn nl_err(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::invalid(format!("{what}: {e}"))
}

/// The networks of `record`, in attach order.
fn networks_of(root: &StateRoot, record: &Record) -> Result<Vec<(String, Network)>> {
    record
        .networking_config
        .endpoints_config
        .iter()
        .map(|(name, ep)| {
            let net = networks::find(root, &ep.network_id).map_err(|_| {
                Error::invalid(format!(
                    "network {name} of container {} no longer exists: remove the container, or recreate the network and connect it again",
                    record.short_name()
                ))
            })?;
            Ok((name.clone(), net))
        })
        .collect()
}

/// Attaches the container whose setup process is `pid`. On error, undoes what it did.
pub fn attach(root: &StateRoot, record: &Record, pid: i32) -> Result<Attached> {
    let mut out = Attached::default();
    let result = attach_inner(root, record, pid, &mut out);
    if let Err(e) = result {
        detach(root, record);
        return Err(e);
    }
    Ok(out)
}

fn attach_inner(root: &StateRoot, record: &Record, pid: i32, out: &mut Attached) -> Result<()> {
    let nets = networks_of(root, record)?;
    if nets.is_empty() {
        return Ok(());
    }
    let ns_path = format!("/proc/{pid}/ns/net");
    let netns = File::open(&ns_path).map_err(nl_err(format!("opening {ns_path}")))?;
    let mut nl = Netlink::open().map_err(nl_err("opening netlink".into()))?;
    let mut have_route = false;
    for (i, (name, net)) in nets.iter().enumerate() {
        let route = !net.internal && !have_route;
        let (ep, ip) = attach_one(
            root,
            record,
            &netns,
            &mut nl,
            name,
            net,
            &format!("eth{i}"),
            route,
        )?;
        have_route |= route;
        out.networks.insert(name.clone(), ep);
        out.first_ip.get_or_insert(ip);
    }
    if nets.iter().any(|(_, n)| !n.is_predefined()) {
        out.dns = Some(bind_dns(&netns)?);
    }
    out.nets = nets.into_iter().map(|(_, n)| n).collect();
    Ok(())
}

/// The embedded DNS server's UDP and TCP sockets at 127.0.0.11:53 inside `netns`.
pub fn bind_dns(netns: &File) -> Result<(OwnedFd, OwnedFd)> {
    in_netns(netns.as_fd(), || -> std::io::Result<(OwnedFd, OwnedFd)> {
        // 127.0.0.11 exists once loopback is up (the setup process would bring it
        // up later; binding needs it now).
        let mut inner = Netlink::open()?;
        if let Some(lo) = inner.link_index("lo")? {
            inner.set_up(lo)?;
        }
        network::dns::bind(SocketAddr::new(IpAddr::V4(DNS_ADDR), 53))
    })
    .map_err(nl_err("entering the container's network namespace".into()))?
    .map_err(nl_err(format!("binding the DNS server at {DNS_ADDR}:53")))
}

/// Puts the container (its network namespace `netns`) on `net` as interface `peer`:
/// an address, the veth, MAC, address and (with `route`) the default route inside, and
/// the endpoint file.
#[allow(clippy::too_many_arguments)]
fn attach_one(
    root: &StateRoot,
    record: &Record,
    netns: &File,
    nl: &mut Netlink,
    name: &str,
    net: &Network,
    peer: &str,
    route: bool,
) -> Result<(AttachedEndpoint, Ipv4Addr)> {
    let ep = record
        .networking_config
        .endpoints_config
        .get(name)
        .cloned()
        .unwrap_or_default();
    let subnet = net.subnet()?;
    let gateway = net.gateway()?;
    let ip = networks::pool(root, net)?
        .allocate(&record.id, ep.ipv4_address)
        .map_err(Error::invalid)?;
    let host = host_link(&record.id, &net.id);
    let bridge = net.bridge();
    let bridge_idx = nl
        .link_index(&bridge)
        .map_err(nl_err(format!("looking up bridge {bridge}")))?
        .ok_or_else(|| {
            Error::invalid(format!(
                "the bridge {bridge} of network {name} is missing: remove and recreate the network"
            ))
        })?;
    let mtu = nl.mtu(&bridge).ok().flatten();
    nl.add_veth(&host, peer, netns.as_fd(), mtu)
        .map_err(nl_err(format!("creating veth {host} for network {name}")))?;
    let idx = nl
        .link_index(&host)
        .map_err(nl_err(format!("looking up {host}")))?
        .ok_or_else(|| Error::invalid(format!("veth {host} vanished")))?;
    nl.set_master(idx, bridge_idx)
        .map_err(nl_err(format!("adding {host} to {bridge}")))?;
    nl.set_up(idx)
        .map_err(nl_err(format!("bringing {host} up")))?;
    let mac = mac_for(ip);
    in_netns(netns.as_fd(), || -> std::io::Result<()> {
        let mut inner = Netlink::open()?;
        let idx = inner.link_index(peer)?.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("{peer} not found"))
        })?;
        inner.set_mac(idx, mac)?;
        inner.add_address(idx, IpAddr::V4(ip), subnet.prefix)?;
        inner.set_up(idx)?;
        if route {
            inner.add_default_route(IpAddr::V4(gateway))?;
        }
        Ok(())
    })
    .map_err(nl_err("entering the container's network namespace".into()))?
    .map_err(nl_err(format!(
        "configuring {peer} ({ip}) in the container"
    )))?;
    let mac_text = mac
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    let short = &record.id[..12.min(record.id.len())];
    let mut dns_names = vec![record.short_name().to_string()];
    dns_names.extend(ep.aliases.iter().cloned());
    dns_names.push(short.to_string());
    write_json(
        &networks::endpoint_path(root, net, &record.id),
        &Endpoint {
            container_id: record.id.clone(),
            name: record.short_name().to_string(),
            aliases: ep.aliases.clone(),
            ipv4_address: ip,
            mac_address: mac_text.clone(),
            host_link: host.clone(),
        },
    )?;
    Ok((
        AttachedEndpoint {
            network_id: net.id.clone(),
            endpoint_id: format!(
                "{}{}",
                &net.id[..32.min(net.id.len())],
                &record.id[..32.min(record.id.len())]
            ),
            gateway: if net.internal {
                String::new()
            } else {
                gateway.to_string()
            },
            ip_address: ip.to_string(),
            ip_prefix_len: subnet.prefix,
            mac_address: mac_text,
            aliases: ep.aliases.clone(),
            dns_names: if net.is_predefined() {
                Vec::new()
            } else {
                dns_names
            },
        },
        ip,
    ))
}

/// Undoes [`attach_one`] for `net`: the veth (both ends), the address, the endpoint.
pub fn detach_one(root: &StateRoot, record: &Record, net: &Network) {
    if let Ok(mut nl) = Netlink::open() {
        let _ = nl.del_link(&host_link(&record.id, &net.id));
    }
    if let Ok(pool) = networks::pool(root, net) {
        let _ = pool.release(&record.id);
    }
    let _ = std::fs::remove_file(networks::endpoint_path(root, net, &record.id));
}

/// Connects the running container whose PID 1 is `pid` to `name` (already in its
/// record): the next free `ethN`, no change to its default route.
pub fn attach_running(
    root: &StateRoot,
    record: &Record,
    pid: i32,
    name: &str,
    net: &Network,
) -> Result<AttachedEndpoint> {
    let ns_path = format!("/proc/{pid}/ns/net");
    let netns = File::open(&ns_path).map_err(nl_err(format!("opening {ns_path}")))?;
    let mut nl = Netlink::open().map_err(nl_err("opening netlink".into()))?;
    let mut n = 0;
    let free = in_netns(netns.as_fd(), || -> std::io::Result<String> {
        let mut inner = Netlink::open()?;
        while inner.link_index(&format!("eth{n}"))?.is_some() {
            n += 1;
        }
        Ok(format!("eth{n}"))
    })
    .map_err(nl_err("entering the container's network namespace".into()))?
    .map_err(nl_err("listing the container's interfaces".into()))?;
    match attach_one(root, record, &netns, &mut nl, name, net, &free, false) {
        Ok((ep, _)) => Ok(ep),
        Err(e) => {
            detach_one(root, record, net);
            Err(e)
        }
    }
}

/// Undoes [`attach`]: host veth ends, addresses, endpoint files. Never fails; what it
/// could not undo is reported by the next `network rm` (which sweeps again).
pub fn detach(root: &StateRoot, record: &Record) {
    release(root, record);
    delete_links(record);
}

/// The bookkeeping half of [`detach`], quick: addresses back to their pools, endpoint
/// files gone (so the container no longer resolves).
pub fn release(root: &StateRoot, record: &Record) {
    for ep in record.networking_config.endpoints_config.values() {
        if let Ok(net) = networks::find(root, &ep.network_id) {
            if let Ok(pool) = networks::pool(root, &net) {
                let _ = pool.release(&record.id);
            }
            let _ = std::fs::remove_file(networks::endpoint_path(root, &net, &record.id));
        }
    }
}

/// The slow half of [`detach`]: deleting a link waits for RCU grace periods (tens of ms
/// on a busy VM), so the monitor does it after telling the CLI the container exited.
/// Usually the kernel has already removed the pair with the container's namespace.
pub fn delete_links(record: &Record) {
    if let Ok(mut nl) = Netlink::open() {
        for ep in record.networking_config.endpoints_config.values() {
            let _ = nl.del_link(&host_link(&record.id, &ep.network_id));
        }
    }
}

/// Answers the monitor's DNS server from the endpoint files of the container's
/// networks: container names, aliases and id prefixes (≥ 12 characters, as Docker).
/// The networks are read from the record at each query, so `network connect` and
/// `disconnect` take effect at once.
pub struct EndpointNames {
    pub root: StateRoot,
    pub container_id: String,
}

impl network::dns::Names for EndpointNames {
    fn lookup(&self, name: &str) -> Option<Vec<IpAddr>> {
        let record = Record::load(&self.root, &self.container_id).ok()?;
        let nets: Vec<Network> = networks_of(&self.root, &record)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        let mut ips = Vec::new();
        for net in nets.iter().filter(|n| !n.is_predefined()) {
            for ep in networks::endpoints(&self.root, net) {
                let hit = ep.name.eq_ignore_ascii_case(name)
                    || ep.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
                    || (name.len() >= 12 && ep.container_id.starts_with(name));
                if hit && !ips.contains(&IpAddr::V4(ep.ipv4_address)) {
                    ips.push(IpAddr::V4(ep.ipv4_address));
                }
            }
        }
        (!ips.is_empty()).then_some(ips)
    }
}

/// `network connect`: adds `net` to the container's record and, if it is running,
/// attaches it now (a new `ethN`; its default route stays).
pub fn connect(
    root: &StateRoot,
    ctr: &str,
    net_key: &str,
    aliases: &[String],
    ip: Option<&str>,
) -> Result<()> {
    let net = networks::find(root, net_key)?;
    let id = crate::containers::find(root, ctr)?;
    let dir = root.container(&id);
    let _lock = crate::state_root::Lock::acquire(&dir.join("lock"))?;
    let (mut record, mut state) = crate::containers::load(root, &id)?;
    let mode = record.host_config.network_mode.as_str();
    if matches!(mode, "none" | "host") || mode.starts_with("container:") {
        return Err(Error::invalid(format!(
            "container {} uses --network {mode}: it cannot join other networks",
            record.short_name()
        )));
    }
    if record
        .networking_config
        .endpoints_config
        .values()
        .any(|e| e.network_id == net.id)
    {
        return Err(Error::conflict(format!(
            "endpoint with name {} already exists in network {}",
            record.short_name(),
            net.name
        )));
    }
    let ip = ip
        .map(|s| {
            s.parse::<Ipv4Addr>()
                .map_err(|_| Error::invalid(format!("invalid --ip {s:?}: an IPv4 address")))
        })
        .transpose()?;
    if net.is_predefined() && (ip.is_some() || !aliases.is_empty()) {
        return Err(Error::invalid(
            "--ip and --alias work on user-defined networks only (as in Docker)",
        ));
    }
    if let Some(ip) = ip {
        let subnet = net.subnet()?;
        if !subnet.is_host(ip) {
            return Err(Error::invalid(format!(
                "--ip {ip} is not in network {}'s subnet {subnet}",
                net.name
            )));
        }
    }
    let before = record.clone();
    record.networking_config.endpoints_config.insert(
        net.name.clone(),
        crate::record::EndpointConfig {
            network_id: net.id.clone(),
            aliases: aliases.to_vec(),
            ipv4_address: ip,
        },
    );
    let record_path = dir.join("record.json");
    write_json(&record_path, &record)?;
    let running = state.running && runtime::sys::process_alive(state.pid, state.pid_start);
    if running {
        match attach_running(root, &record, state.pid, &net.name, &net) {
            Ok(ep) => {
                state.network_settings.networks.insert(net.name.clone(), ep);
                state.save(&dir)?;
                // Its first user-defined network: names resolve through the embedded
                // DNS from now on, as in Docker (the monitor starts serving on SIGUSR2).
                if !crate::etc_files::uses_embedded_dns(&before)
                    && crate::etc_files::uses_embedded_dns(&record)
                {
                    crate::etc_files::rewrite_resolv_conf(&dir, &record)?;
                    if runtime::sys::process_alive(state.monitor_pid, state.monitor_start) {
                        let _ = runtime::sys::kill(state.monitor_pid, libc::SIGUSR2);
                    }
                }
            }
            Err(e) => {
                write_json(&record_path, &before)?;
                return Err(e);
            }
        }
    }
    Ok(())
}

/// `network disconnect`: detaches the container (now, if running) and removes the
/// network from its record.
pub fn disconnect(root: &StateRoot, ctr: &str, net_key: &str) -> Result<()> {
    let net = networks::find(root, net_key)?;
    let id = crate::containers::find(root, ctr)?;
    let dir = root.container(&id);
    let _lock = crate::state_root::Lock::acquire(&dir.join("lock"))?;
    let (mut record, mut state) = crate::containers::load(root, &id)?;
    let Some(name) = record
        .networking_config
        .endpoints_config
        .iter()
        .find(|(_, e)| e.network_id == net.id)
        .map(|(n, _)| n.clone())
    else {
        return Err(Error::invalid(format!(
            "container {} is not connected to network {}",
            record.short_name(),
            net.name
        )));
    };
    if state.running {
        detach_one(root, &record, &net);
        state.network_settings.networks.remove(&name);
        state.save(&dir)?;
    }
    record.networking_config.endpoints_config.remove(&name);
    write_json(&dir.join("record.json"), &record)
}
