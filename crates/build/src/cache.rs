//! The build cache index under `ROOT/build-cache/`: one small JSON file per finished
//! step, named by the step's cache key, saying which layer (if any) the step made and
//! when. The layers themselves stay in the image store, kept through image GC as the
//! store's `build-cache` roots until `builder prune` (as Docker keeps build cache apart
//! from images); an entry whose layer is gone anyway is a miss. Never holds file
//! contents.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use store::Digest;

use crate::error::{IoContext, Result};

/// The store's GC root holder for the layers cache entries name.
pub const GC_HOLDER: &str = "build-cache";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The layer the step added; `None` for a step that only changed the config.
    pub layer: Option<Digest>,
    /// The step's history time, reused on a hit so a cached build gives the same id.
    pub created: String,
}

pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn open(state_root: &Path) -> Cache {
        Cache {
            dir: state_root.join("build-cache"),
        }
    }

    pub fn get(&self, key: &str) -> Option<Entry> {
        let bytes = fs::read(self.dir.join(format!("{key}.json"))).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn put(&self, key: &str, entry: &Entry) -> Result<()> {
        fs::create_dir_all(&self.dir).ctx(|| format!("creating {}", self.dir.display()))?;
        let bytes = serde_json::to_vec(entry).unwrap_or_default();
        let tmp = self.dir.join(format!(".{key}.{}", std::process::id()));
        fs::write(&tmp, bytes).ctx(|| format!("writing {}", tmp.display()))?;
        let dest = self.dir.join(format!("{key}.json"));
        fs::rename(&tmp, &dest).ctx(|| format!("writing {}", dest.display()))
    }

    /// Forgets every entry; returns how many there were. Cache mounts (the `mounts/`
    /// directory) are `crate::mounts::cache_dirs`' to prune.
    pub fn prune(&self) -> Result<usize> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e).ctx(|| format!("reading {}", self.dir.display())),
        };
        let mut n = 0;
        for e in entries {
            let e = e.ctx(|| format!("reading {}", self.dir.display()))?;
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            fs::remove_file(e.path()).ctx(|| format!("removing {}", e.path().display()))?;
            n += 1;
        }
        Ok(n)
    }
}

/// `berth builder prune`: forgets every entry, lets go of the layers they kept and
/// collects those nothing else uses. Returns the entries removed and the bytes freed.
pub fn prune(root: &engine::StateRoot) -> Result<(usize, u64)> {
    let store = engine::images::open_store(root)?;
    // Exclusive: a build in progress (shared lock) finishes first.
    let lock = store.lock_exclusive()?;
    let n = Cache::open(root.dir()).prune()?;
    store.drop_roots(GC_HOLDER, &lock)?;
    let pinned = engine::images::pinned_layers(root, &store)?;
    let stats = store.gc(&lock, &pinned)?;
    Ok((n, stats.bytes))
}

/// A step's key: its parent's key and everything that decides what the step makes.
pub fn key(parent: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(parent.as_bytes());
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_every_part_and_the_parent() {
        let a = key("p", &["RUN x", "A=1"]);
        assert_ne!(a, key("q", &["RUN x", "A=1"]));
        assert_ne!(a, key("p", &["RUN x", "A=2"]));
        assert_ne!(key("p", &["ab", "c"]), key("p", &["a", "bc"]));
        assert_eq!(a, key("p", &["RUN x", "A=1"]));
    }
}
