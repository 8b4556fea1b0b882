//! Generates a container's /etc/hostname, /etc/hosts and /etc/resolv.conf in its state
//! directory (bind-mounted over the image's, so the image is never written), following
//! Docker: on a user-defined network the resolver is the embedded DNS server at
//! 127.0.0.11 (with `--dns` servers as its upstreams); elsewhere `--dns` or the host's
//! own servers are written directly.

use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;

use crate::error::Result;
use crate::record::Record;
use crate::state_root::write_new;

pub const HOSTS_BASE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// The parts of a resolv.conf berth cares about.
#[derive(Debug, Default, PartialEq)]
pub struct ResolvConf {
    pub nameservers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

pub fn parse_resolv_conf(text: &str) -> ResolvConf {
    let mut r = ResolvConf::default();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("nameserver") => r.nameservers.extend(f.next().map(str::to_string)),
            Some("search") | Some("domain") => r.search = f.map(str::to_string).collect(),
            Some("options") => r.options.extend(f.map(str::to_string)),
            _ => {}
        }
    }
    r
}

fn is_loopback(addr: &str) -> bool {
    addr.starts_with("127.") || addr == "::1"
}

fn host_resolv() -> ResolvConf {
    parse_resolv_conf(&fs::read_to_string("/etc/resolv.conf").unwrap_or_default())
}

/// Whether the container resolves through berth's embedded DNS server.
pub fn uses_embedded_dns(record: &Record) -> bool {
    record
        .networking_config
        .endpoints_config
        .keys()
        .any(|n| n != crate::networks::DEFAULT_NETWORK)
}

/// The servers the embedded DNS server forwards to: `--dns`, else the host's (loopback
/// ones included: the server forwards from the host's namespace).
pub fn upstreams(record: &Record) -> Vec<String> {
    if record.host_config.dns.is_empty() {
        host_resolv().nameservers
    } else {
        record.host_config.dns.clone()
    }
}

pub fn resolv_conf(record: &Record) -> String {
    let hc = &record.host_config;
    let host = host_resolv();
    if hc.network_mode == "host"
        && hc.dns.is_empty()
        && hc.dns_search.is_empty()
        && hc.dns_options.is_empty()
    {
        return fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    }
    let nameservers: Vec<String> = if uses_embedded_dns(record) {
        vec!["127.0.0.11".into()]
    } else if !hc.dns.is_empty() {
        hc.dns.clone()
    } else if hc.network_mode == "host" {
        host.nameservers.clone()
    } else {
        // Loopback servers cannot work from another network namespace.
        host.nameservers
            .iter()
            .filter(|a| !is_loopback(a))
            .cloned()
            .collect()
    };
    let search = if hc.dns_search.is_empty() {
        host.search
    } else {
        hc.dns_search.clone()
    };
    let options = if hc.dns_options.is_empty() {
        host.options
    } else {
        hc.dns_options.clone()
    };
    let mut s = String::new();
    for n in nameservers {
        s.push_str(&format!("nameserver {n}\n"));
    }
    if !search.is_empty() {
        s.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        s.push_str(&format!("options {}\n", options.join(" ")));
    }
    s
}

/// The container's /etc/hosts: the host's for `--network host`, else the base entries,
/// `--add-host` entries and, once it has one, its address with its hostname.
pub fn hosts(record: &Record, ip: Option<Ipv4Addr>, gateway: Option<&str>) -> Result<String> {
    let extra =
        crate::netopts::extra_hosts(&record.host_config.extra_hosts, gateway.or(Some("0.0.0.0")))?;
    let mut s = if record.host_config.network_mode == "host" {
        fs::read_to_string("/etc/hosts").unwrap_or_else(|_| HOSTS_BASE.to_string())
    } else {
        HOSTS_BASE.to_string()
    };
    for (name, addr) in extra {
        s.push_str(&format!("{addr}\t{name}\n"));
    }
    if let Some(ip) = ip {
        s.push_str(&format!("{ip}\t{}\n", record.config.hostname));
    }
    Ok(s)
}

/// Writes the files into a container directory that is still being created.
pub fn write(dir: &Path, record: &Record) -> Result<()> {
    let hostname = &record.config.hostname;
    write_new(&dir.join("hostname"), format!("{hostname}\n").as_bytes())?;
    write_new(&dir.join("hosts"), hosts(record, None, None)?.as_bytes())?;
    write_new(&dir.join("resolv.conf"), resolv_conf(record).as_bytes())
}

/// Rewrites /etc/resolv.conf in place (the container has it bind-mounted), after the
/// container joined its first user-defined network.
pub fn rewrite_resolv_conf(dir: &Path, record: &Record) -> Result<()> {
    use crate::error::IoContext;
    let path = dir.join("resolv.conf");
    fs::write(&path, resolv_conf(record).as_bytes()).ctx(|| format!("writing {}", path.display()))
}

/// With `--network container:X`, X's /etc/hosts and /etc/resolv.conf as they are now
/// (X's own files are rewritten at each of its starts; a copy is taken at each start
/// of this one).
pub fn copy_joined(dir: &Path, other: &Path) -> Result<()> {
    use crate::error::IoContext;
    for f in ["hosts", "resolv.conf"] {
        let text =
            fs::read(other.join(f)).ctx(|| format!("reading {}", other.join(f).display()))?;
        fs::write(dir.join(f), text).ctx(|| format!("writing {}", dir.join(f).display()))?;
    }
    Ok(())
}

/// Rewrites /etc/hosts at start, once the container's address is known: in place, so
/// the file keeps its owner (a user namespace's root), before the setup process binds it.
pub fn rewrite_hosts(
    dir: &Path,
    record: &Record,
    ip: Option<Ipv4Addr>,
    gateway: Option<&str>,
) -> Result<()> {
    use crate::error::IoContext;
    let path = dir.join("hosts");
    fs::write(&path, hosts(record, ip, gateway)?.as_bytes())
        .ctx(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_is_parsed() {
        let r = parse_resolv_conf("# x\nnameserver 10.0.0.2\nnameserver ::1\nsearch a.example b.example\noptions ndots:2 timeout:1\n");
        assert_eq!(r.nameservers, ["10.0.0.2", "::1"]);
        assert_eq!(r.search, ["a.example", "b.example"]);
        assert_eq!(r.options, ["ndots:2", "timeout:1"]);
    }
}
