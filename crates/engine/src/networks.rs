//! Networks as records under `ROOT/networks/<id>/`: creating one (its subnet, its
//! bridge, its firewall rules), finding, listing and removing them, and the endpoints
//! of the containers attached to each. The data plane (links, addresses, rules, ports,
//! names) is the `network` crate's; this module decides what to ask of it.
//!
//! Layout of a network's directory:
//! ```text
//! network.json     the record (Docker's `network inspect` shape, minus Containers)
//! pool.json        its address pool (see network::ipam), pool.lock its lock
//! endpoints/ID     one file per running container attached: name, aliases, address
//! ```
//! The bridge and the firewall table live as long as the record. Subnets are picked
//! under a host-wide lock (/run/berth/subnets.lock) against every route on the host, so
//! two state roots never put two bridges on one subnet.

use std::collections::BTreeMap;
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use network::ipam::{Pool, Subnet};
use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::state_root::{read_json, write_json, Lock, StateRoot};

/// The network `--network bridge` (and no `--network`) means, as in Docker.
pub const DEFAULT_NETWORK: &str = "bridge";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct IpamConfig {
    pub subnet: String,
    pub gateway: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Ipam {
    pub driver: String,
    pub config: Vec<IpamConfig>,
}

/// A network record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Network {
    pub name: String,
    pub id: String,
    pub created: String,
    pub scope: String,
    pub driver: String,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    pub ipam: Ipam,
    pub internal: bool,
    pub attachable: bool,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

/// A running container's presence on a network: what name resolution answers from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Endpoint {
    pub container_id: String,
    pub name: String,
    pub aliases: Vec<String>,
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: Ipv4Addr,
    pub mac_address: String,
    /// The host end of its veth.
    pub host_link: String,
}

impl Network {
    pub fn subnet(&self) -> Result<Subnet> {
        let c = self.ipam.config.first().ok_or_else(|| {
            Error::invalid(format!("network {} has no subnet in its record", self.name))
        })?;
        Subnet::parse(&c.subnet).map_err(Error::invalid)
    }

    pub fn gateway(&self) -> Result<Ipv4Addr> {
        let c = self.ipam.config.first().ok_or_else(|| {
            Error::invalid(format!(
                "network {} has no gateway in its record",
                self.name
            ))
        })?;
        c.gateway.parse().map_err(|_| {
            Error::invalid(format!(
                "network {}: bad gateway {:?}",
                self.name, c.gateway
            ))
        })
    }

    /// The Linux bridge behind the network.
    pub fn bridge(&self) -> String {
        self.options
            .get("com.docker.network.bridge.name")
            .cloned()
            .unwrap_or_else(|| format!("br-{}", &self.id[..12.min(self.id.len())]))
    }

    pub fn is_predefined(&self) -> bool {
        self.name == DEFAULT_NETWORK
    }
}

/// What `network create` was given.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub name: String,
    pub driver: Option<String>,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
}

fn dir(root: &StateRoot) -> PathBuf {
    root.dir().join("networks")
}

fn net_dir(root: &StateRoot, id: &str) -> PathBuf {
    dir(root).join(id)
}

pub fn pool(root: &StateRoot, net: &Network) -> Result<Pool> {
    Ok(Pool::new(
        net_dir(root, &net.id).join("pool.json"),
        net.subnet()?,
        net.gateway()?,
    ))
}

/// The nftables table that holds this state root's rules.
pub fn firewall_table(root: &StateRoot) -> String {
    format!("berth-{}", root.tag())
}

/// Every network of the root.
pub fn list(root: &StateRoot) -> Result<Vec<Network>> {
    let mut v = Vec::new();
    let entries = match fs::read_dir(dir(root)) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(v),
        Err(e) => return Err(e).ctx(|| format!("reading {}", dir(root).display())),
    };
    for e in entries.flatten() {
        let p = e.path().join("network.json");
        if p.exists() {
            v.push(read_json::<Network>(&p)?);
        }
    }
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

/// A network by name, full id or unique id prefix.
pub fn find(root: &StateRoot, key: &str) -> Result<Network> {
    let all = list(root)?;
    if let Some(n) = all.iter().find(|n| n.name == key || n.id == key) {
        return Ok(n.clone());
    }
    let by_prefix: Vec<&Network> = all.iter().filter(|n| n.id.starts_with(key)).collect();
    match by_prefix.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::NoSuchNetwork(format!(
            "network {key} not found (see berth network ls, or create it with berth network create {key})"
        ))),
        _ => Err(Error::invalid(format!(
            "network id prefix {key} is ambiguous: give more of it"
        ))),
    }
}

/// The default network, created on first use.
pub fn default_network(root: &StateRoot) -> Result<Network> {
    match find(root, DEFAULT_NETWORK) {
        Ok(n) => Ok(n),
        Err(_) => {
            let opts = CreateOptions {
                name: DEFAULT_NETWORK.into(),
                ..Default::default()
            };
            match create(root, &opts) {
                Ok(n) => Ok(n),
                // Another run created it meanwhile.
                Err(_) if find(root, DEFAULT_NETWORK).is_ok() => find(root, DEFAULT_NETWORK),
                Err(e) => Err(e),
            }
        }
    }
}

/// The IPv4 routes of the host (destination subnets), from /proc/net/route.
fn host_routes() -> Vec<(Subnet, String)> {
    let text = fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            if mask == 0 {
                return None; // the default route overlaps everything by definition
            }
            let addr = Ipv4Addr::from(u32::from_be(dest));
            let prefix = u32::from_be(mask).leading_ones() as u8;
            Some((Subnet { addr, prefix }, f[0].to_string()))
        })
        .collect()
}

pub fn validate_name(name: &str) -> Result<()> {
    let ok = name.len() >= 2
        && name.len() <= 64
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "invalid network name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, 2-64 characters"
        )))
    }
}

/// Creates a network: its record, a bridge with the gateway address, and its rules.
/// On any error nothing is left behind.
pub fn create(root: &StateRoot, opts: &CreateOptions) -> Result<Network> {
    validate_name(&opts.name)?;
    match opts.driver.as_deref() {
        None | Some("bridge") => {}
        Some(d) => {
            return Err(Error::invalid(format!(
                "network driver {d:?} is not supported: use bridge"
            )))
        }
    }
    if opts.gateway.is_some() && opts.subnet.is_none() {
        return Err(Error::invalid(
            "--gateway needs --subnet (the gateway must be inside the subnet)",
        ));
    }
    fs::create_dir_all(dir(root)).ctx(|| format!("creating {}", dir(root).display()))?;
    let _names = Lock::acquire(&dir(root).join(".lock"))?;
    if list(root)?.iter().any(|n| n.name == opts.name) {
        return Err(Error::conflict(format!(
            "network with name {} already exists",
            opts.name
        )));
    }
    fs::create_dir_all("/run/berth").ctx(|| "creating /run/berth".into())?;
    let _subnets = Lock::acquire(Path::new("/run/berth/subnets.lock"))?;
    let routes = host_routes();
    let subnet = match &opts.subnet {
        Some(s) => {
            let s = Subnet::parse(s).map_err(Error::invalid)?;
            if let Some((r, dev)) = routes.iter().find(|(r, _)| r.overlaps(&s)) {
                return Err(Error::conflict(format!(
                    "subnet {s} overlaps {r}, routed on this host via {dev}: pick another --subnet"
                )));
            }
            s
        }
        None => {
            let used: Vec<Subnet> = routes.iter().map(|(r, _)| *r).collect();
            network::ipam::pick_subnet(&used).ok_or_else(|| {
                Error::conflict("no free subnet left among 172.17-31.0.0/16 and 192.168.0-240.0/20: give --subnet")
            })?
        }
    };
    let gateway = match &opts.gateway {
        Some(g) => {
            let g: Ipv4Addr = g
                .parse()
                .map_err(|_| Error::invalid(format!("invalid --gateway {g:?}: an IPv4 address")))?;
            if !subnet.is_host(g) {
                return Err(Error::invalid(format!(
                    "--gateway {g} is not a host address of subnet {subnet}"
                )));
            }
            g
        }
        None => subnet.first_host(),
    };
    let id = crate::ids::new_id()?;
    let net = Network {
        name: opts.name.clone(),
        id: id.clone(),
        created: crate::time::now_rfc3339(),
        scope: "local".into(),
        driver: "bridge".into(),
        enable_ipv6: false,
        ipam: Ipam {
            driver: "default".into(),
            config: vec![IpamConfig {
                subnet: subnet.to_string(),
                gateway: gateway.to_string(),
            }],
        },
        internal: opts.internal,
        attachable: false,
        options: BTreeMap::from([(
            "com.docker.network.bridge.name".to_string(),
            format!("br-{}", &id[..12]),
        )]),
        labels: opts.labels.clone(),
    };
    let ndir = net_dir(root, &id);
    let made = (|| -> Result<()> {
        fs::create_dir_all(ndir.join("endpoints"))
            .ctx(|| format!("creating {}", ndir.display()))?;
        make_bridge(&net, subnet, gateway)?;
        write_json(&ndir.join("network.json"), &net)?;
        sync_firewall(root)
    })();
    if let Err(e) = made {
        let _ = remove_bridge(&net);
        let _ = fs::remove_dir_all(&ndir);
        let _ = sync_firewall(root);
        return Err(e);
    }
    Ok(net)
}

fn netlink_err(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::invalid(format!("{what}: {e}"))
}

fn make_bridge(net: &Network, subnet: Subnet, gateway: Ipv4Addr) -> Result<()> {
    use network::link::Netlink;
    let name = net.bridge();
    let mut nl = Netlink::open().map_err(netlink_err("opening netlink".into()))?;
    let mtu = nl.default_route_mtu().unwrap_or(1500);
    let idx = nl
        .add_bridge(&name, Some(mtu))
        .map_err(netlink_err(format!("creating bridge {name}")))?;
    nl.add_address(idx, gateway.into(), subnet.prefix)
        .map_err(netlink_err(format!(
            "giving bridge {name} address {gateway}"
        )))?;
    nl.set_up(idx)
        .map_err(netlink_err(format!("bringing bridge {name} up")))?;
    Ok(())
}

fn remove_bridge(net: &Network) -> Result<()> {
    let mut nl = network::link::Netlink::open().map_err(netlink_err("opening netlink".into()))?;
    nl.del_link(&net.bridge())
        .map_err(netlink_err(format!("removing bridge {}", net.bridge())))
}

/// Rewrites this root's firewall table from its networks (and removes it when none is
/// left). Egress NAT needs IPv4 forwarding, turned on the first time a network that
/// may reach out exists, as Docker does.
pub fn sync_firewall(root: &StateRoot) -> Result<()> {
    let nets = list(root)?;
    let rules: Vec<network::firewall::NetworkRules> = nets
        .iter()
        .filter_map(|n| {
            Some(network::firewall::NetworkRules {
                bridge: n.bridge(),
                subnet: n.subnet().ok()?.to_string(),
                internal: n.internal,
            })
        })
        .collect();
    if rules.iter().any(|r| !r.internal) {
        network::firewall::enable_forwarding()
            .ctx(|| "turning on IPv4 forwarding (net.ipv4.ip_forward)".into())?;
    }
    network::firewall::apply(&firewall_table(root), &rules)
        .map_err(|e| Error::invalid(e.to_string()))
}

/// The endpoints (running containers) on `net`.
pub fn endpoints(root: &StateRoot, net: &Network) -> Vec<Endpoint> {
    let d = net_dir(root, &net.id).join("endpoints");
    let mut v: Vec<Endpoint> = fs::read_dir(&d)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| read_json::<Endpoint>(&e.path()).ok())
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

pub fn endpoint_path(root: &StateRoot, net: &Network, container_id: &str) -> PathBuf {
    net_dir(root, &net.id).join("endpoints").join(container_id)
}

/// Removes a network: refused while a running container is attached, and for the
/// predefined `bridge`.
pub fn remove(root: &StateRoot, key: &str) -> Result<Network> {
    let net = find(root, key)?;
    if net.is_predefined() {
        return Err(Error::invalid(format!(
            "{} is a pre-defined network and cannot be removed",
            net.name
        )));
    }
    let _names = Lock::acquire(&dir(root).join(".lock"))?;
    crate::containers::reap_network_endpoints(root, &net);
    let eps = endpoints(root, &net);
    if !eps.is_empty() {
        let names: Vec<&str> = eps.iter().map(|e| e.name.as_str()).collect();
        return Err(Error::conflict(format!(
            "network {} has active endpoints ({}): stop those containers or disconnect them first",
            net.name,
            names.join(", ")
        )));
    }
    let mut errors = Vec::new();
    if let Err(e) = remove_bridge(&net) {
        errors.push(e.to_string());
    }
    let ndir = net_dir(root, &net.id);
    if let Err(e) = fs::remove_dir_all(&ndir) {
        errors.push(format!("removing {}: {e}", ndir.display()));
    }
    if let Err(e) = sync_firewall(root) {
        errors.push(e.to_string());
    }
    if errors.is_empty() {
        Ok(net)
    } else {
        Err(Error::invalid(format!(
            "removing network {}: {}",
            net.name,
            errors.join("; ")
        )))
    }
}

/// Removes every network no container (running or not) refers to; returns their names.
pub fn prune(root: &StateRoot) -> Result<Vec<String>> {
    let used = crate::containers::networks_in_use(root)?;
    let mut removed = Vec::new();
    for n in list(root)? {
        if n.is_predefined() || used.contains(&n.id) {
            continue;
        }
        remove(root, &n.id)?;
        removed.push(n.name);
    }
    Ok(removed)
}

/// Removes every network of the root, the predefined one included, and its firewall
/// table: the end of a state root (tests, `system reset`). Running containers are
/// detached first by their own removal; endpoints left by dead ones are swept.
pub fn remove_all(root: &StateRoot) -> Result<()> {
    let mut errors = Vec::new();
    for net in list(root)? {
        crate::containers::reap_network_endpoints(root, &net);
        if let Err(e) = remove_bridge(&net) {
            errors.push(e.to_string());
        }
        let _ = fs::remove_dir_all(net_dir(root, &net.id));
    }
    if let Err(e) = network::firewall::remove(&firewall_table(root)) {
        errors.push(e.to_string());
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(errors.join("; ")))
    }
}

/// The bridges of the root's networks (for leak checks).
pub fn bridges(root: &StateRoot) -> Vec<String> {
    list(root)
        .unwrap_or_default()
        .iter()
        .map(Network::bridge)
        .collect()
}
