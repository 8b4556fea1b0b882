//! User-namespace id ranges: which containers get one (`--userns`, or the
//! `userns-remap` default in berth's config.json, the daemon-less form of Docker's
//! daemon.json key), the subordinate ranges a user may hand out (/etc/subuid and
//! /etc/subgid), and the allocation of a free block of them for each container.
//!
//! Allocation holds the state root's userns lock from reading the records in use until
//! the new record is written, so concurrent creates never share ids; a range is free
//! again once its container's record is gone. Never writes /etc/subuid or /etc/subgid:
//! a missing range is an error that says what line to add.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::state_root::{Lock, StateRoot};

/// Ids a container gets unless `--userns=auto:size=N` says otherwise: the 16-bit range
/// every image's files fit in.
pub const DEFAULT_SIZE: u32 = 65536;

/// The user whose subordinate ranges berth uses by default (Docker's is `dockremap`).
pub const DEFAULT_USER: &str = "berth";

/// One line of a uid or gid map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdRange {
    #[serde(rename = "ContainerID")]
    pub container_id: u32,
    #[serde(rename = "HostID")]
    pub host_id: u32,
    pub size: u32,
}

/// A container's user namespace as kept in its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserNamespace {
    /// `auto`.
    pub mode: String,
    /// Whose subordinate ranges the ids came from.
    pub user: String,
    #[serde(rename = "UIDMap")]
    pub uid_map: Vec<IdRange>,
    #[serde(rename = "GIDMap")]
    pub gid_map: Vec<IdRange>,
}

impl UserNamespace {
    /// The host uid and gid that the container's root is.
    pub fn root(&self) -> (u32, u32) {
        let first = |m: &[IdRange]| {
            m.iter()
                .find(|r| r.container_id == 0)
                .map(|r| r.host_id)
                .unwrap_or(0)
        };
        (first(&self.uid_map), first(&self.gid_map))
    }
}

/// What a container asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Host,
    Auto { user: String, size: u32 },
}

/// `--userns` as given; None (or empty) takes the configured default.
pub fn parse_mode(opt: Option<&str>) -> Result<Mode> {
    match opt {
        None | Some("") => config_default(&crate::registry_config::config_dir()),
        Some("host") => Ok(Mode::Host),
        Some(s) if s == "auto" || s.starts_with("auto:") => {
            let mut size = DEFAULT_SIZE;
            if let Some(rest) = s.strip_prefix("auto:") {
                for kv in rest.split(',') {
                    match kv.split_once('=') {
                        Some(("size", n)) => {
                            size = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                                Error::invalid(format!(
                                    "--userns={s}: size must be a positive number of ids"
                                ))
                            })?
                        }
                        _ => {
                            return Err(Error::invalid(format!(
                                "--userns={s}: unknown option {kv:?}; use auto or auto:size=N"
                            )))
                        }
                    }
                }
            }
            Ok(Mode::Auto {
                user: DEFAULT_USER.into(),
                size,
            })
        }
        Some(other) => Err(Error::invalid(format!(
            "--userns={other}: use host (share the host's ids) or auto[:size=N] (a private \
             range from /etc/subuid and /etc/subgid)"
        ))),
    }
}

/// The default from `CONFIG_DIR/config.json`: `{"userns-remap": "default"}` (user
/// `berth`) or `{"userns-remap": "NAME"}` gives every container without `--userns` a
/// private range, as Docker's daemon option does. No file, or an empty value: host.
pub fn config_default(config_dir: &Path) -> Result<Mode> {
    let config = crate::config::load(config_dir)?;
    Ok(match config.userns_remap.as_str() {
        "" => Mode::Host,
        "default" => Mode::Auto {
            user: DEFAULT_USER.into(),
            size: DEFAULT_SIZE,
        },
        user => Mode::Auto {
            user: user.split(':').next().unwrap_or(user).to_string(),
            size: DEFAULT_SIZE,
        },
    })
}

fn subid_file(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// The ranges (start, count) `user` owns in a subuid/subgid file.
pub fn subordinate_ranges(text: &str, user: &str) -> Vec<(u64, u64)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let (name, start, count) = (f.next()?, f.next()?, f.next()?);
            if name != user {
                return None;
            }
            Some((start.trim().parse().ok()?, count.trim().parse().ok()?))
        })
        .collect()
}

/// The first block of `size` ids inside `ranges` that overlaps none of `used`.
pub fn first_free(ranges: &[(u64, u64)], used: &[(u64, u64)], size: u64) -> Option<u64> {
    for &(start, count) in ranges {
        let end = start + count;
        let mut at = start;
        while at + size <= end {
            match used.iter().find(|&&(s, n)| s < at + size && at < s + n) {
                Some(&(s, n)) => at = s + n,
                None => return Some(at),
            }
        }
    }
    None
}

/// Holds the allocation lock; drop it only after the record naming the range is written.
pub struct Allocation {
    pub userns: UserNamespace,
    pub _lock: Lock,
}

/// Picks a free block of `size` uids and gids from `user`'s subordinate ranges.
pub fn allocate(root: &StateRoot, user: &str, size: u32) -> Result<Allocation> {
    let lock = Lock::acquire(&root.dir().join("userns.lock"))?;
    let mut used_uids = Vec::new();
    let mut used_gids = Vec::new();
    if let Ok(entries) = std::fs::read_dir(root.containers()) {
        for e in entries.flatten() {
            let Ok(text) = std::fs::read(e.path().join("record.json")) else {
                continue;
            };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&text) else {
                continue;
            };
            let Some(ns) = v
                .pointer("/Security/UserNamespace")
                .and_then(|ns| serde_json::from_value::<UserNamespace>(ns.clone()).ok())
            else {
                continue;
            };
            used_uids.extend(ns.uid_map.iter().map(|r| (r.host_id as u64, r.size as u64)));
            used_gids.extend(ns.gid_map.iter().map(|r| (r.host_id as u64, r.size as u64)));
        }
    }
    let pick = |var: &str, default: &str, used: &[(u64, u64)]| -> Result<u32> {
        let file = subid_file(var, default);
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let ranges = subordinate_ranges(&text, user);
        if ranges.is_empty() {
            return Err(Error::invalid(format!(
                "--userns=auto: {} has no range for user {user:?}; add one such as \
                 \"{user}:{}:{}\" (usermod --add-subuids/--add-subgids does this), or run \
                 with --userns=host",
                file.display(),
                1u64 << 20,
                (size as u64) * 64,
            )));
        }
        first_free(&ranges, used, size as u64)
            .and_then(|s| u32::try_from(s).ok())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "--userns=auto: every {size}-id block of {user:?}'s ranges in {} is in \
                     use by another container; remove some, or add a range",
                    file.display()
                ))
            })
    };
    let uid = pick("BERTH_SUBUID", "/etc/subuid", &used_uids)?;
    let gid = pick("BERTH_SUBGID", "/etc/subgid", &used_gids)?;
    let range = |host_id| {
        vec![IdRange {
            container_id: 0,
            host_id,
            size,
        }]
    };
    Ok(Allocation {
        userns: UserNamespace {
            mode: "auto".into(),
            user: user.to_string(),
            uid_map: range(uid),
            gid_map: range(gid),
        },
        _lock: lock,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_bad_ones_say_what_to_use() {
        assert_eq!(parse_mode(Some("host")).unwrap(), Mode::Host);
        assert_eq!(
            parse_mode(Some("auto")).unwrap(),
            Mode::Auto {
                user: "berth".into(),
                size: 65536
            }
        );
        assert_eq!(
            parse_mode(Some("auto:size=1000")).unwrap(),
            Mode::Auto {
                user: "berth".into(),
                size: 1000
            }
        );
        for bad in [
            "auto:size=0",
            "auto:size=x",
            "auto:uidmapping=0:1:2",
            "keep-id",
        ] {
            let e = parse_mode(Some(bad)).unwrap_err().to_string();
            assert!(e.contains("--userns="), "{bad}: {e}");
        }
    }

    #[test]
    fn config_default_follows_userns_remap() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(config_default(d.path()).unwrap(), Mode::Host);
        std::fs::write(
            d.path().join("config.json"),
            r#"{"userns-remap":"default"}"#,
        )
        .unwrap();
        assert!(
            matches!(config_default(d.path()).unwrap(), Mode::Auto { user, .. } if user == "berth")
        );
        std::fs::write(
            d.path().join("config.json"),
            r#"{"userns-remap":"alice:alice"}"#,
        )
        .unwrap();
        assert!(
            matches!(config_default(d.path()).unwrap(), Mode::Auto { user, .. } if user == "alice")
        );
        std::fs::write(d.path().join("config.json"), "{").unwrap();
        assert!(config_default(d.path())
            .unwrap_err()
            .to_string()
            .contains("config.json"));
    }

    #[test]
    fn ranges_are_read_per_user() {
        let text = "alice:100000:65536\nberth:200000:131072\n# x\nberth:1000000:65536\nbad\n";
        assert_eq!(
            subordinate_ranges(text, "berth"),
            vec![(200000, 131072), (1000000, 65536)]
        );
        assert!(subordinate_ranges(text, "bob").is_empty());
    }

    #[test]
    fn free_blocks_skip_used_ones_and_span_ranges() {
        let ranges = [(200000, 131072), (1000000, 65536)];
        assert_eq!(first_free(&ranges, &[], 65536), Some(200000));
        assert_eq!(first_free(&ranges, &[(200000, 65536)], 65536), Some(265536));
        assert_eq!(
            first_free(&ranges, &[(200000, 65536), (265536, 65536)], 65536),
            Some(1000000)
        );
        assert_eq!(
            first_free(&ranges, &[(200000, 131072), (1000000, 1)], 65536),
            None
        );
        // A small block used in the middle pushes the next one past it.
        assert_eq!(first_free(&ranges, &[(200010, 5)], 100), Some(200015));
    }
}
