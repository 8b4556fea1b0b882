//! berth's configuration file, `CONFIG_DIR/config.json`: the daemon-less counterpart of
//! Docker's daemon.json, with the same key names for what berth supports
//! (`userns-remap`, `dns`, `dns-search`, `dns-opts`). Unknown keys are an error, so a
//! typo never silently does nothing.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `default` (user berth) or a user name: every container gets a private id range.
    #[serde(rename = "userns-remap", default)]
    pub userns_remap: String,
    /// DNS servers for containers without `--dns`.
    #[serde(default)]
    pub dns: Vec<String>,
    #[serde(rename = "dns-search", default)]
    pub dns_search: Vec<String>,
    #[serde(rename = "dns-opts", default)]
    pub dns_opts: Vec<String>,
}

/// Reads `config_dir/config.json`; no file is the default configuration.
pub fn load(config_dir: &Path) -> Result<Config> {
    let path = config_dir.join("config.json");
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(e) => return Err(Error::invalid(format!("reading {}: {e}", path.display()))),
    };
    serde_json::from_slice(&text).map_err(|e| {
        Error::invalid(format!(
            "{}: {e} (expected a JSON object with userns-remap, dns, dns-search or dns-opts)",
            path.display()
        ))
    })
}

/// The configuration of this process (`$BERTH_CONFIG`, /etc/berth...).
pub fn current() -> Result<Config> {
    load(&crate::registry_config::config_dir())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_follow_daemon_json_and_typos_are_refused() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(load(d.path()).unwrap(), Config::default());
        std::fs::write(
            d.path().join("config.json"),
            r#"{"dns": ["10.0.0.2"], "dns-search": ["corp"], "dns-opts": ["ndots:1"]}"#,
        )
        .unwrap();
        let c = load(d.path()).unwrap();
        assert_eq!(
            (c.dns, c.dns_search, c.dns_opts),
            (
                vec!["10.0.0.2".to_string()],
                vec!["corp".to_string()],
                vec!["ndots:1".to_string()]
            )
        );
        std::fs::write(d.path().join("config.json"), r#"{"dsn": []}"#).unwrap();
        assert!(load(d.path()).unwrap_err().to_string().contains("dsn"));
    }
}
