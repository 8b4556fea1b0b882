//! Owns the registry configuration: which registries may be reached over plain HTTP or
//! with unverified certificates, which mirrors serve pulls for a registry, and where CA
//! certificates for a registry live. Reads its JSON file; never writes it.
//!
//! ```json
//! {
//!   "insecure-registries": ["myregistry:5000", "10.0.0.0/8"],
//!   "registry-mirrors": {"docker.io": ["https://mirror.example"]},
//!   "ca-dirs": ["/etc/berth/certs.d"]
//! }
//! ```
//!
//! Like Docker, loopback registries (`localhost`, 127.0.0.0/8, `::1`) are insecure
//! without being listed: a registry on the same machine is reached over HTTP if it does
//! not speak HTTPS, and its certificate is not verified. Docker does this because a
//! local registry is the usual way to try things out, and traffic that never leaves the
//! host gains nothing from TLS.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reference::normalize_registry;

/// Where Docker and podman look for per-registry certificates, in that order.
pub const DEFAULT_CERTS_DIRS: [&str; 2] = ["/etc/docker/certs.d", "/etc/containers/certs.d"];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RegistryConfig {
    /// `host[:port]` of registries allowed over plain HTTP and with unverified
    /// certificates; entries with a `/` are CIDR ranges matched against IP hosts.
    #[serde(default)]
    pub insecure_registries: Vec<String>,
    /// Registry name (`docker.io`) -> mirror URLs tried in order before it, for pulls.
    /// `http://` mirrors are reached over plain HTTP.
    #[serde(default)]
    pub registry_mirrors: BTreeMap<String, Vec<String>>,
    /// More directories laid out like `/etc/docker/certs.d` (`<dir>/<host:port>/*.crt`),
    /// searched after the caller's certificate directories.
    #[serde(default)]
    pub ca_dirs: Vec<PathBuf>,
}

/// A pull-through mirror for a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// `host[:port]`.
    pub host: String,
    /// The mirror was given as `http://...`.
    pub plain_http: bool,
}

impl RegistryConfig {
    /// Reads the configuration at `path`; a missing file is the default configuration.
    pub fn load(path: &Path) -> Result<RegistryConfig> {
        let bad = |reason: String| Error::Config {
            path: path.to_path_buf(),
            reason,
        };
        let data = match fs::read(path) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(RegistryConfig::default()),
            Err(e) => return Err(bad(e.to_string())),
        };
        let config: RegistryConfig =
            serde_json::from_slice(&data).map_err(|e| bad(e.to_string()))?;
        for (registry, urls) in &config.registry_mirrors {
            for url in urls {
                parse_mirror(url).map_err(|e| bad(format!("mirror {url:?} of {registry}: {e}")))?;
            }
        }
        for entry in &config.insecure_registries {
            if entry.contains('/') && parse_cidr(strip_scheme(entry)).is_none() {
                return Err(bad(format!(
                    "insecure registry {entry:?}: not a host[:port] or CIDR"
                )));
            }
        }
        Ok(config)
    }

    /// The mirrors to try, in order, before `registry` itself. Invalid entries (only
    /// possible in a configuration built in code) are skipped.
    pub fn mirrors(&self, registry: &str) -> Vec<Mirror> {
        let registry = normalize_registry(registry);
        self.registry_mirrors
            .iter()
            .filter(|(k, _)| normalize_registry(k) == registry)
            .flat_map(|(_, urls)| urls.iter())
            .filter_map(|u| parse_mirror(u).ok())
            .collect()
    }

    /// Whether `host` (`host[:port]`) is listed as insecure, by name or CIDR, or is a
    /// loopback registry.
    pub fn is_insecure(&self, host: &str) -> bool {
        if is_loopback(host) {
            return true;
        }
        let ip = host_ip(host);
        self.insecure_registries.iter().any(|entry| {
            let entry = strip_scheme(entry).trim_end_matches('/');
            if entry.contains('/') {
                match (parse_cidr(entry), ip) {
                    (Some((net, bits)), Some(ip)) => in_cidr(ip, net, bits),
                    _ => false,
                }
            } else {
                entry == host || normalize_registry(entry) == normalize_registry(host)
            }
        })
    }
}

/// Certificate directories searched by default: Docker's, then podman's.
pub fn default_certs_dirs() -> Vec<PathBuf> {
    DEFAULT_CERTS_DIRS.iter().map(PathBuf::from).collect()
}

/// Whether `host[:port]` is `localhost`, in 127.0.0.0/8 or `::1`.
pub fn is_loopback(host: &str) -> bool {
    let name = host_name(host);
    name.eq_ignore_ascii_case("localhost") || host_ip(host).is_some_and(|ip| ip.is_loopback())
}

fn strip_scheme(s: &str) -> &str {
    s.strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s)
}

/// `host` without its port (and without IPv6 brackets).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        // A bare IPv6 address has several colons and no port.
        Some((h, _)) if !h.contains(':') => h,
        _ => host,
    }
}

fn host_ip(host: &str) -> Option<IpAddr> {
    host_name(host).parse().ok()
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// `https://host[:port][/]`, `http://...` or a bare `host[:port]`. oci-client addresses
/// a mirror by host alone, so a mirror URL with a path cannot be honoured.
fn parse_mirror(url: &str) -> std::result::Result<Mirror, String> {
    let (rest, plain_http) = if let Some(r) = url.strip_prefix("http://") {
        (r, true)
    } else if let Some(r) = url.strip_prefix("https://") {
        (r, false)
    } else if url.contains("://") {
        return Err("only http:// and https:// mirrors are supported".into());
    } else {
        (url, false)
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() {
        return Err("no host".into());
    }
    if rest.contains('/') {
        return Err("mirrors with a path are not supported, give only scheme://host[:port]".into());
    }
    Ok(Mirror {
        host: rest.to_string(),
        plain_http,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(json: &str) -> Result<RegistryConfig> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registries.json");
        fs::write(&path, json).unwrap();
        RegistryConfig::load(&path)
    }

    #[test]
    fn missing_file_is_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let c = RegistryConfig::load(&dir.path().join("nope.json")).unwrap();
        assert_eq!(c, RegistryConfig::default());
    }

    #[test]
    fn reads_all_keys() {
        let c = load(
            r#"{"insecure-registries": ["reg.local:5000", "10.0.0.0/8"],
                "registry-mirrors": {"docker.io": ["https://mirror.example/", "http://10.1.1.1:5000"]},
                "ca-dirs": ["/x"], "unknown-key": 1}"#,
        )
        .unwrap();
        assert_eq!(c.ca_dirs, vec![PathBuf::from("/x")]);
        assert_eq!(
            c.mirrors("index.docker.io"),
            vec![
                Mirror {
                    host: "mirror.example".into(),
                    plain_http: false
                },
                Mirror {
                    host: "10.1.1.1:5000".into(),
                    plain_http: true
                },
            ]
        );
        assert!(c.mirrors("quay.io").is_empty());
        assert!(c.is_insecure("reg.local:5000"));
        assert!(!c.is_insecure("reg.local:5001"));
        assert!(c.is_insecure("10.2.3.4:5000"));
        assert!(!c.is_insecure("11.2.3.4:5000"));
        assert!(!c.is_insecure("quay.io"));
    }

    #[test]
    fn malformed_files_name_the_file() {
        let e = load("{not json").unwrap_err().to_string();
        assert!(e.contains("registries.json"), "{e}");
        let e = load(r#"{"registry-mirrors": {"docker.io": ["https://m.example/path"]}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("path"), "{e}");
        assert!(load(r#"{"insecure-registries": ["10.0.0.0/99"]}"#).is_err());
    }

    #[test]
    fn loopback_is_insecure_without_listing() {
        let c = RegistryConfig::default();
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "::1",
        ] {
            assert!(c.is_insecure(h), "{h}");
        }
        for h in ["128.0.0.1:5000", "localhost.example:5000", "docker.io"] {
            assert!(!c.is_insecure(h), "{h}");
        }
    }
}
