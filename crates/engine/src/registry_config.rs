//! Where berth finds its registry settings and credentials, and the registry client
//! built from them. Credentials live where Docker keeps them, so `docker login` and
//! `berth login` share them.

use std::path::PathBuf;

use crate::error::Result;

/// berth's own configuration directory: `$BERTH_CONFIG`, else /etc/berth for root and
/// `$XDG_CONFIG_HOME/berth` (or ~/.config/berth) otherwise.
pub fn config_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BERTH_CONFIG") {
        return PathBuf::from(d);
    }
    if runtime::sys::geteuid() == 0 {
        return PathBuf::from("/etc/berth");
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME") {
        return PathBuf::from(d).join("berth");
    }
    home().join(".config/berth")
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The credentials file: `$REGISTRY_AUTH_FILE`, `$DOCKER_CONFIG/config.json`, or
/// ~/.docker/config.json, as Docker and Podman look for it.
pub fn auth_file() -> PathBuf {
    if let Some(f) = std::env::var_os("REGISTRY_AUTH_FILE") {
        return PathBuf::from(f);
    }
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        return PathBuf::from(d).join("config.json");
    }
    home().join(".docker/config.json")
}

/// A registry client configured from `config_dir()/registries.json` (insecure
/// registries, mirrors) and the certificate directories Docker and Podman use.
pub fn client(tls_verify: Option<bool>) -> Result<registry::Client> {
    let dir = config_dir();
    let config = registry::RegistryConfig::load(&dir.join("registries.json"))?;
    let options = registry::ClientOptions {
        tls_verify,
        auth_file: auth_file(),
        certs_dirs: vec![
            dir.join("certs.d"),
            PathBuf::from("/etc/docker/certs.d"),
            PathBuf::from("/etc/containers/certs.d"),
        ],
        user_agent: concat!("berth/", env!("CARGO_PKG_VERSION")),
    };
    Ok(registry::Client::new(&config, options)?)
}
