//! Named volumes: directories under the state root that outlive containers. Owns their
//! creation, metadata, listing and removal; refuses to remove a volume any container
//! still references.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::state_root::{read_json, write_json, Lock, StateRoot};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    pub name: String,
    pub driver: String,
    pub mountpoint: String,
    pub created_at: String,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub scope: String,
    /// berth: created implicitly for an anonymous `-v /path`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
}

pub fn data_dir(root: &StateRoot, name: &str) -> PathBuf {
    root.volumes().join(name).join("_data")
}

fn meta_path(root: &StateRoot, name: &str) -> PathBuf {
    root.volumes().join(name).join("volume.json")
}

/// Creates `name` if it does not exist; returns it either way (like `docker volume create`).
pub fn create(
    root: &StateRoot,
    name: &str,
    labels: BTreeMap<String, String>,
    anonymous: bool,
) -> Result<Volume> {
    crate::options::validate_volume_name(name)?;
    let _lock = Lock::acquire(&root.volumes().join(".lock"))?;
    if let Ok(v) = inspect(root, name) {
        return Ok(v);
    }
    let dir = root.volumes().join(name);
    let data = dir.join("_data");
    fs::create_dir_all(&data).ctx(|| format!("creating volume directory {}", data.display()))?;
    let v = Volume {
        name: name.to_string(),
        driver: "local".into(),
        mountpoint: data.to_string_lossy().into_owned(),
        created_at: crate::time::now_rfc3339(),
        labels,
        options: BTreeMap::new(),
        scope: "local".into(),
        anonymous,
    };
    // The metadata is written last: a volume without it is a leftover, not a volume.
    write_json(&meta_path(root, name), &v)?;
    Ok(v)
}

pub fn inspect(root: &StateRoot, name: &str) -> Result<Volume> {
    let p = meta_path(root, name);
    if !p.exists() {
        return Err(Error::NoSuchVolume(name.to_string()));
    }
    read_json(&p)
}

pub fn list(root: &StateRoot) -> Result<Vec<Volume>> {
    let mut out = Vec::new();
    let entries =
        fs::read_dir(root.volumes()).ctx(|| format!("reading {}", root.volumes().display()))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if let Ok(v) = inspect(root, &name) {
            out.push(v);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Names of containers (any state) whose mounts reference `name`.
pub fn users(root: &StateRoot, name: &str) -> Vec<String> {
    crate::containers::all_records(root)
        .into_iter()
        .filter(|r| {
            r.host_config
                .mounts
                .iter()
                .any(|m| m.kind == crate::record::MountType::Volume && m.source == name)
        })
        .map(|r| r.short_name().to_string())
        .collect()
}

pub fn remove(root: &StateRoot, name: &str, force: bool) -> Result<()> {
    let _lock = Lock::acquire(&root.volumes().join(".lock"))?;
    if !meta_path(root, name).exists() {
        if force {
            return Ok(());
        }
        return Err(Error::NoSuchVolume(name.to_string()));
    }
    let users = users(root, name);
    if !users.is_empty() {
        return Err(Error::conflict(format!(
            "remove {name}: volume is in use by container(s) {}: remove them first (berth rm)",
            users.join(", ")
        )));
    }
    remove_dir(&root.volumes().join(name))
}

/// Removes every volume no container references. Returns the removed names and bytes.
pub fn prune(root: &StateRoot, all: bool) -> Result<Vec<(String, u64)>> {
    let mut removed = Vec::new();
    for v in list(root)? {
        if !all && !v.anonymous {
            continue;
        }
        if users(root, &v.name).is_empty() {
            let size = dir_size(Path::new(&v.mountpoint));
            if remove(root, &v.name, true).is_ok() {
                removed.push((v.name, size));
            }
        }
    }
    Ok(removed)
}

fn remove_dir(dir: &Path) -> Result<()> {
    // Rename first so a crash half-way never leaves something that looks like a volume.
    let trash = dir.with_file_name(format!(
        ".rm-{}",
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    fs::rename(dir, &trash).ctx(|| format!("removing {}", dir.display()))?;
    fs::remove_dir_all(&trash).ctx(|| format!("removing {}", trash.display()))
}

pub fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    for e in entries.flatten() {
        match e.metadata() {
            Ok(m) if m.is_dir() => total += dir_size(&e.path()),
            Ok(m) => total += m.len(),
            Err(_) => {}
        }
    }
    total
}
