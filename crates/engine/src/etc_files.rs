//! Generates a container's /etc/hostname, /etc/hosts and /etc/resolv.conf in its state
//! directory (bind-mounted over the image's, so the image is never written).

use std::fs;
use std::path::Path;

use crate::error::Result;
use crate::record::Record;
use crate::state_root::write_new;

const HOSTS_BASE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// The host's resolv.conf, minus loopback nameservers, which cannot work from another
/// network namespace.
fn resolv_conf(host_network: bool) -> String {
    let host = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if host_network {
        return host;
    }
    host.lines()
        .filter(|l| {
            let mut f = l.split_whitespace();
            !(f.next() == Some("nameserver")
                && f.next()
                    .is_some_and(|a| a.starts_with("127.") || a == "::1"))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Writes the files into a container directory that is still being created.
pub fn write(dir: &Path, record: &Record) -> Result<()> {
    let host_network = record.host_config.network_mode == "host";
    let hostname = &record.config.hostname;
    write_new(&dir.join("hostname"), format!("{hostname}\n").as_bytes())?;
    let hosts = if host_network {
        fs::read_to_string("/etc/hosts").unwrap_or_else(|_| HOSTS_BASE.to_string())
    } else {
        HOSTS_BASE.to_string()
    };
    write_new(&dir.join("hosts"), hosts.as_bytes())?;
    write_new(
        &dir.join("resolv.conf"),
        resolv_conf(host_network).as_bytes(),
    )
}
