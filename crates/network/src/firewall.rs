//! Firewall rules for berth's networks, kept in one nftables table of berth's own.
//!
//! Owns: one table, family `inet`, per state root, named by the caller (say
//! `berth-1a2b3c4d`). That table is berth's whole firewall: egress masquerade for
//! ordinary networks, no way in or out (the host included) for internal ones,
//! isolation between networks. It is never edited rule by rule: [`apply`] rewrites it
//! from the complete list of networks in one `nft -f -` transaction, so the kernel
//! holds either the old table or the new one, never half of each, and a crash between
//! two network operations cannot leave stray rules behind. Rewriting runs when a
//! network is created or removed, not when a container starts, so spawning `nft` is
//! cheap enough.
//!
//! Must never:
//! - touch a table other than the one named by the caller: Docker, Podman, firewalld
//!   and the administrator keep their own tables next to it, and so does berth under
//!   another state root;
//! - flush the ruleset, or anything else by a wildcard;
//! - drop traffic that does not come from or go to one of berth's bridges: every base
//!   chain has policy `accept`, and every `drop` names a berth bridge;
//! - put a name into the nft script that it has not validated (an interface name may
//!   hold `"`, `;`, `}` or the wildcard `*`, which would change what the script says).
//!
//! An `accept` in berth's chains ends berth's chain only: a table of another program
//! that drops the same packet (Docker's `FORWARD` policy `DROP`, say) still drops it.
//! berth cannot, and does not try to, override another program's verdicts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::process::{Command, Stdio};

#[cfg(test)]
mod tests;

/// One network as the firewall sees it.
///
/// A dual-stack network is given as two entries with the same bridge (one subnet
/// each) and the same `internal` flag.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NetworkRules {
    /// The network's Linux bridge, e.g. `berth0`.
    pub bridge: String,
    /// The network's subnet in CIDR notation, IPv4 (`10.50.0.0/24`) or IPv6
    /// (`fd00:50::/64`). Host bits are ignored (`10.50.0.1/24` means `10.50.0.0/24`).
    pub subnet: String,
    /// `--internal`: no route out, no way in, and the host itself unreachable from the
    /// network (stronger than Docker's internal networks, by design).
    pub internal: bool,
}

/// Why the firewall table could not be written or removed.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    /// The input cannot be turned into a ruleset; nothing was run.
    #[error("cannot build firewall table {table}: {reason}")]
    Invalid { table: String, reason: String },
    /// `nft` could not be started or fed.
    #[error(
        "cannot run nft to update firewall table {table}: {source} \
         (berth needs the nft command: install nftables)"
    )]
    Spawn {
        table: String,
        #[source]
        source: io::Error,
    },
    /// `nft` ran and refused the transaction; the table is as it was before.
    #[error(
        "nft refused to update firewall table {table} ({status}): {stderr} \
         (this needs root and a kernel with nftables: nf_tables, nft_nat, nft_masq, nft_ct)"
    )]
    Nft {
        table: String,
        status: String,
        stderr: String,
    },
}

/// Replaces the whole table `table` (family `inet`) with the rules for `networks`, in
/// one atomic transaction. An empty list removes the table. The order of `networks`
/// does not matter: the same set of networks always gives the same table.
pub fn apply(table: &str, networks: &[NetworkRules]) -> Result<(), FirewallError> {
    let script = render(table, networks)?;
    run_nft(table, &script)
}

/// Removes the table `table` (family `inet`) if it exists; no error if it does not.
pub fn remove(table: &str) -> Result<(), FirewallError> {
    let script = render(table, &[])?;
    run_nft(table, &script)
}

/// The script [`apply`] feeds to `nft -f -`: pure, so it can be tested and shown.
///
/// It fails when a name or subnet is not valid (see [`FirewallError::Invalid`]), rather
/// than produce a script that means something other than what was asked.
pub fn render(table: &str, networks: &[NetworkRules]) -> Result<String, FirewallError> {
    let plan = Plan::new(table, networks)?;
    Ok(plan.render(table))
}

/// Where the kernel exposes `net.ipv4.ip_forward` (for the network namespace of the
/// calling thread).
const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// Turns on IPv4 forwarding (`net.ipv4.ip_forward=1`) in the calling thread's network
/// namespace if it is off: masquerade is useless if the host does not route between the
/// bridge and its uplink. Returns whether it changed anything.
///
/// It never turns forwarding off again: other programs (Docker, libvirt, a VPN) may
/// have come to rely on it since. IPv6 forwarding is left alone on purpose: turning on
/// `net.ipv6.conf.all.forwarding` makes the host ignore router advertisements on
/// interfaces with `accept_ra=1`, which can cut the host's own IPv6 connectivity; an
/// administrator who wants IPv6 egress turns it on knowingly.
pub fn enable_forwarding() -> io::Result<bool> {
    let current = std::fs::read_to_string(IP_FORWARD)?;
    if current.trim() == "1" {
        return Ok(false);
    }
    std::fs::write(IP_FORWARD, "1\n")?;
    Ok(true)
}

/// A subnet, host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Subnet {
    addr: IpAddr,
    prefix: u8,
}

impl Subnet {
    fn parse(text: &str) -> Result<Subnet, String> {
        let (addr, prefix) = text.split_once('/').ok_or_else(|| {
            format!("subnet {text:?} has no prefix length (want e.g. 10.50.0.0/24)")
        })?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("subnet {text:?}: {addr:?} is not an IP address"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| format!("subnet {text:?}: {prefix:?} is not a prefix length"))?;
        let addr = match addr {
            IpAddr::V4(a) if prefix <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) if prefix <= 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
            _ => {
                return Err(format!(
                    "subnet {text:?}: prefix length {prefix} is too long"
                ))
            }
        };
        Ok(Subnet { addr, prefix })
    }

    /// The nft payload keyword that matches this subnet's address family.
    fn family(&self) -> &'static str {
        match self.addr {
            IpAddr::V4(_) => "ip",
            IpAddr::V6(_) => "ip6",
        }
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// One bridge and what is known about it, merged from all entries naming it.
struct Bridge {
    internal: bool,
    subnets: BTreeSet<Subnet>,
}

/// The validated, normalized input: bridges sorted by name, so the script depends on
/// the set of networks and not on the order the caller happened to list them in.
struct Plan {
    bridges: BTreeMap<String, Bridge>,
}

impl Plan {
    fn new(table: &str, networks: &[NetworkRules]) -> Result<Plan, FirewallError> {
        let invalid = |reason: String| FirewallError::Invalid {
            table: table.to_owned(),
            reason,
        };
        check_table_name(table).map_err(invalid)?;
        let mut bridges: BTreeMap<String, Bridge> = BTreeMap::new();
        for net in networks {
            check_bridge_name(&net.bridge).map_err(invalid)?;
            let subnet = Subnet::parse(&net.subnet).map_err(invalid)?;
            let entry = bridges.entry(net.bridge.clone()).or_insert(Bridge {
                internal: net.internal,
                subnets: BTreeSet::new(),
            });
            if entry.internal != net.internal {
                return Err(invalid(format!(
                    "bridge {:?} is listed both as internal and as not internal",
                    net.bridge
                )));
            }
            entry.subnets.insert(subnet);
        }
        Ok(Plan { bridges })
    }

    fn render(&self, table: &str) -> String {
        let mut out = String::new();
        // `writeln!` into a String cannot fail, so its result is ignored.
        macro_rules! emit {
            ($($arg:tt)*) => {
                let _ = writeln!(out, $($arg)*);
            };
        }
        emit!(
            "# berth's firewall table, generated from the list of networks and replaced as a whole."
        );
        // `add` then `delete` removes the table whether or not it exists (nft 1.0.6 has no
        // `destroy`), and since the file is one transaction, the new table below replaces
        // the old one atomically: no instant without rules, and no rule left over.
        emit!("add table inet {table}");
        emit!("delete table inet {table}");
        if self.bridges.is_empty() {
            return out;
        }

        let internal: Vec<(&str, &Bridge)> = self
            .bridges
            .iter()
            .filter(|(_, b)| b.internal)
            .map(|(n, b)| (n.as_str(), b))
            .collect();
        let external: Vec<(&str, &Bridge)> = self
            .bridges
            .iter()
            .filter(|(_, b)| !b.internal)
            .map(|(n, b)| (n.as_str(), b))
            .collect();
        // Internal bridges drop everything crossing them anyway, so the isolation rule is
        // only written for the others, and only when there is another bridge to isolate
        // them from.
        let isolate = !external.is_empty() && self.bridges.len() > 1;

        emit!("table inet {table} {{");
        if isolate {
            let names: Vec<String> = self.bridges.keys().map(|n| format!("\"{n}\"")).collect();
            emit!("\tset bridges {{");
            emit!("\t\ttype ifname");
            emit!("\t\telements = {{ {} }}", names.join(", "));
            emit!("\t}}");
            emit!();
        }

        // Forwarded traffic. Interfaces are matched by name (`iifname`, not `iif`) so the
        // rules hold for bridges that do not exist yet or are re-created. Every rule
        // states `iifname != oifname` for its own bridge: traffic within one bridge (seen
        // here when br_netfilter is loaded) is never touched. Drops come first, so that
        // no accept below can let cross-bridge traffic through.
        emit!("\tchain forward {{");
        emit!("\t\ttype filter hook forward priority filter - 10; policy accept;");
        for (name, _) in &internal {
            emit!(
                "\t\tiifname \"{name}\" oifname != \"{name}\" drop comment \"internal network: no way out\""
            );
            emit!(
                "\t\toifname \"{name}\" iifname != \"{name}\" drop comment \"internal network: no way in\""
            );
        }
        if isolate {
            // One rule per bridge covers both directions: the traffic from B to A is
            // dropped by B's rule.
            for (name, _) in &external {
                emit!(
                    "\t\tiifname \"{name}\" oifname != \"{name}\" oifname @bridges drop comment \"networks are isolated from each other\""
                );
            }
        }
        for (name, _) in &external {
            emit!("\t\tiifname \"{name}\" oifname != \"{name}\" accept comment \"egress\"");
            emit!(
                "\t\toifname \"{name}\" iifname != \"{name}\" ct state established,related accept comment \"replies to egress\""
            );
            // Nothing outside opens a connection into a container: published ports go
            // through berth's userland proxy, which connects from the host itself (the
            // output path, not this one). Without this, anything with a route to the
            // subnet (the LAN, another engine's containers) would reach every port.
            emit!(
                "\t\toifname \"{name}\" iifname != \"{name}\" drop comment \"no connection into the network from outside\""
            );
        }
        emit!("\t}}");

        // Traffic to the host itself from internal networks: only replies to connections
        // the host opened (the port proxy, anything berth runs on the host) get in. This
        // covers the bridge's own address and every other address of the host, which
        // the forward hook never sees.
        if !internal.is_empty() {
            emit!();
            emit!("\tchain input {{");
            emit!("\t\ttype filter hook input priority filter - 10; policy accept;");
            for (name, bridge) in &internal {
                emit!(
                    "\t\tiifname \"{name}\" ct state established,related accept comment \"replies to connections the host opened\""
                );
                if bridge.subnets.iter().any(|s| s.family() == "ip6") {
                    // Neighbour discovery is not tracked by conntrack, and without the
                    // container's answers the host cannot even reach it over IPv6 (IPv4's
                    // ARP does not pass through this hook, so needs no such rule).
                    emit!(
                        "\t\tiifname \"{name}\" icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept comment \"IPv6 neighbour discovery\""
                    );
                }
                emit!(
                    "\t\tiifname \"{name}\" drop comment \"internal network: the host is unreachable\""
                );
            }
            emit!("\t}}");
        }

        if !external.is_empty() {
            emit!();
            emit!("\tchain postrouting {{");
            emit!("\t\ttype nat hook postrouting priority srcnat; policy accept;");
            for (name, bridge) in &external {
                for subnet in &bridge.subnets {
                    emit!(
                        "\t\t{} saddr {subnet} oifname != \"{name}\" masquerade comment \"egress\"",
                        subnet.family()
                    );
                }
            }
            emit!("\t}}");
        }
        emit!("}}");
        out
    }
}

/// nft's limit on table names (`NFT_NAME_MAXLEN` less the terminating NUL).
const MAX_TABLE_NAME: usize = 255;

/// A table name nft takes as a bare identifier, and that cannot smuggle anything into
/// the script: a letter, then letters, digits, `-`, `_` or `.`.
fn check_table_name(table: &str) -> Result<(), String> {
    let mut chars = table.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !starts_well
        || table.len() > MAX_TABLE_NAME
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "table name {table:?} must start with a letter and hold only letters, digits, \
             '-', '_' and '.' (at most {MAX_TABLE_NAME})"
        ));
    }
    Ok(())
}

/// Linux's limit on interface names (`IFNAMSIZ` less the terminating NUL).
const MAX_IFNAME: usize = 15;

/// An interface name safe inside an nft string: Linux allows `"`, `;` and `*` in
/// interface names, and in nft a quote would end the string and a trailing `*` would
/// turn the name into a wildcard matching other programs' interfaces. berth names its
/// own bridges, so it only needs the plain characters.
fn check_bridge_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > MAX_IFNAME
        || name == "."
        || name == ".."
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "bridge name {name:?} must be 1 to {MAX_IFNAME} letters, digits, '-', '_' or '.'"
        ));
    }
    Ok(())
}

/// Where to look for `nft` when it is not on `PATH`: root's `PATH` is sometimes
/// trimmed (cron, some `sudo` setups) and leaves out the sbin directories.
const NFT_CANDIDATES: [&str; 3] = ["nft", "/usr/sbin/nft", "/sbin/nft"];

/// Runs `nft -f -` with `script` on its standard input, as one transaction.
fn run_nft(table: &str, script: &str) -> Result<(), FirewallError> {
    let spawn_error = |source: io::Error| FirewallError::Spawn {
        table: table.to_owned(),
        source,
    };
    let mut child = None;
    let mut last_error = io::Error::from(io::ErrorKind::NotFound);
    for program in NFT_CANDIDATES {
        match Command::new(program)
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(c) => {
                child = Some(c);
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => last_error = e,
            Err(e) => return Err(spawn_error(e)),
        }
    }
    let Some(mut child) = child else {
        return Err(spawn_error(last_error));
    };

    // Feed the script from another thread while this one collects stderr: should nft
    // complain at length before it has read everything, neither side blocks on a full
    // pipe.
    let stdin = child.stdin.take();
    let (written, output) = std::thread::scope(|scope| {
        let writer = scope.spawn(move || match stdin {
            // Dropping the pipe at the end of this closure tells nft the script is over.
            Some(mut pipe) => pipe.write_all(script.as_bytes()),
            None => Err(io::Error::other("nft's standard input was not piped")),
        });
        let output = child.wait_with_output();
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the thread feeding nft panicked")));
        (written, output)
    });
    let output = output.map_err(spawn_error)?;
    if !output.status.success() {
        return Err(FirewallError::Nft {
            table: table.to_owned(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    // nft succeeded but may have seen only part of the script, which can be valid nft
    // by itself (the first lines alone delete the table): report it rather than
    // pretend the rules are in place.
    written.map_err(spawn_error)
}
