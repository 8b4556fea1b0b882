//! Resolves `-u user[:group]` against the container's own /etc/passwd and /etc/group
//! (read from its filesystem layers, never the host's), with supplementary groups and
//! the home directory, as Docker does.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

/// Finds `rel` (e.g. "etc/passwd") in the topmost layer that has it.
fn find_in_layers(layers: &[PathBuf], rel: &str) -> Option<String> {
    for layer in layers {
        let p = layer.join(rel);
        // An image may make /etc/passwd a symlink; never follow one out of the layer.
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_file() => return std::fs::read_to_string(&p).ok(),
            Ok(_) => return None,
            Err(_) => continue,
        }
    }
    None
}

struct Passwd {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

fn parse_passwd(text: &str) -> Vec<Passwd> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(Passwd {
                name: f[0].into(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].into(),
            })
        })
        .collect()
}

struct Group {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn parse_group(text: &str) -> Vec<Group> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(Group {
                name: f[0].into(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect(),
            })
        })
        .collect()
}

/// Resolves `spec` ("", "name", "uid", "name:group", "uid:gid") in `layers` (topmost
/// first). Unknown names are an error; unknown numeric ids are allowed, like Docker.
pub fn resolve(spec: &str, layers: &[PathBuf]) -> Result<ExecUser> {
    let passwd = find_in_layers(layers, "etc/passwd")
        .map(|t| parse_passwd(&t))
        .unwrap_or_default();
    let groups = find_in_layers(layers, "etc/group")
        .map(|t| parse_group(&t))
        .unwrap_or_default();
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let entry = passwd.iter().find(|p| p.name == user_part);
    let (uid, mut gid, home, name) = match (entry, user_part.parse::<u32>()) {
        (Some(p), _) => (p.uid, p.gid, p.home.clone(), Some(p.name.clone())),
        (None, Ok(uid)) => match passwd.iter().find(|p| p.uid == uid) {
            Some(p) => (uid, p.gid, p.home.clone(), Some(p.name.clone())),
            None => (uid, 0, "/".to_string(), None),
        },
        (None, Err(_)) => {
            return Err(Error::invalid(format!(
            "unable to find user {user_part}: no matching entries in the container's /etc/passwd"
        )))
        }
    };
    if let Some(g) = group_part {
        gid = match (groups.iter().find(|x| x.name == g), g.parse::<u32>()) {
            (Some(x), _) => x.gid,
            (None, Ok(n)) => n,
            (None, Err(_)) => {
                return Err(Error::invalid(format!(
                    "unable to find group {g}: no matching entries in the container's /etc/group"
                )))
            }
        };
    }
    // Supplementary groups only when the group was not given explicitly (Docker's rule).
    let additional_gids = match (&name, group_part) {
        (Some(n), None) => {
            let mut v: Vec<u32> = groups
                .iter()
                .filter(|g| g.members.iter().any(|m| m == n))
                .map(|g| g.gid)
                .collect();
            v.retain(|g| *g != gid);
            v.insert(0, gid);
            v.dedup();
            v
        }
        _ => vec![gid],
    };
    let home = if home.is_empty() {
        "/".to_string()
    } else {
        home
    };
    let home = if uid == 0 && entry.is_none() && passwd.is_empty() {
        "/root".to_string()
    } else {
        home
    };
    Ok(ExecUser {
        uid,
        gid,
        additional_gids,
        home,
    })
}

pub fn layers_for(upper: &Path, lower: &[PathBuf]) -> Vec<PathBuf> {
    let mut v = vec![upper.to_path_buf()];
    v.extend(lower.iter().cloned());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("etc")).unwrap();
        std::fs::write(
            t.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            t.path().join("etc/group"),
            "root:x:0:\napp:x:1000:\nwheel:x:10:app\naudio:x:29:app,root\n",
        )
        .unwrap();
        t
    }

    #[test]
    fn names_resolve_with_supplementary_groups() {
        let t = layer();
        let u = resolve("app", &[t.path().to_path_buf()]).unwrap();
        assert_eq!(
            u,
            ExecUser {
                uid: 1000,
                gid: 1000,
                additional_gids: vec![1000, 10, 29],
                home: "/home/app".into()
            }
        );
        let r = resolve("", &[t.path().to_path_buf()]).unwrap();
        assert_eq!((r.uid, r.gid, r.home.as_str()), (0, 0, "/root"));
    }

    #[test]
    fn explicit_group_and_numeric_ids() {
        let t = layer();
        let u = resolve("app:wheel", &[t.path().to_path_buf()]).unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids.clone()),
            (1000, 10, vec![10])
        );
        let u = resolve("4242:4343", &[t.path().to_path_buf()]).unwrap();
        assert_eq!((u.uid, u.gid), (4242, 4343));
    }

    #[test]
    fn unknown_names_are_errors() {
        let t = layer();
        assert!(resolve("nobody", &[t.path().to_path_buf()])
            .unwrap_err()
            .to_string()
            .contains("unable to find user nobody"));
        assert!(resolve("app:nogroup", &[t.path().to_path_buf()]).is_err());
    }

    #[test]
    fn upper_layer_wins() {
        let lower = layer();
        let upper = tempfile::tempdir().unwrap();
        std::fs::create_dir(upper.path().join("etc")).unwrap();
        std::fs::write(
            upper.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnew:x:7:7::/n:/bin/sh\n",
        )
        .unwrap();
        let layers = layers_for(upper.path(), &[lower.path().to_path_buf()]);
        assert_eq!(resolve("new", &layers).unwrap().uid, 7);
        assert!(resolve("app", &layers).is_err());
    }
}
