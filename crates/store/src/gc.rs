//! Mark and sweep. The roots are image records, the layers running or stopped
//! containers use (the caller passes those in: the store knows nothing of containers)
//! and the layers holders such as the build cache keep (`roots`).
//! Runs only under the exclusive store lock, so nothing can be half-added meanwhile.

use std::collections::HashSet;
use std::fs;

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::layout::{Store, StoreLock};

#[derive(Debug, Default, Clone)]
pub struct GcStats {
    pub layers: u64,
    pub blobs: u64,
    pub files: u64,
    pub bytes: u64,
    pub temp: u64,
}

impl Store {
    /// Deletes every layer, blob and pooled file nothing refers to, finishes half-done
    /// removals, and sweeps temp files. `pinned` are the diff ids containers use.
    pub fn gc(&self, lock: &StoreLock, pinned: &HashSet<Digest>) -> Result<GcStats> {
        if !lock.exclusive {
            return Err(Error::invalid(
                "garbage collection needs the exclusive store lock",
            ));
        }
        let mut stats = GcStats {
            temp: self.sweep_tmp(lock)? as u64,
            ..Default::default()
        };
        let images = self.images()?;
        let mut live_layers: HashSet<Digest> = pinned.clone();
        live_layers.extend(self.roots()?);
        let mut live_blobs: HashSet<Digest> = HashSet::new();
        for img in &images {
            live_blobs.insert(img.id.clone());
            if let Some(m) = &img.manifest {
                live_blobs.insert(m.digest.clone());
            }
            live_layers.extend(img.layers.iter().map(|l| l.diff_id.clone()));
        }
        // Names of images that no longer exist (a removal killed half way).
        let ids: HashSet<&Digest> = images.iter().map(|i| &i.id).collect();
        let names = self.names()?;
        if names
            .tags
            .values()
            .chain(names.digests.values())
            .any(|id| !ids.contains(id))
            || !names.removing.is_empty()
        {
            let mut txn = self.names_txn()?;
            txn.names.tags.retain(|_, id| ids.contains(id));
            txn.names.digests.retain(|_, id| ids.contains(id));
            txn.names.removing.clear();
            txn.commit()?;
        }
        for d in self.layers()? {
            if !live_layers.contains(&d) {
                if let Ok(info) = self.layer_info(&d) {
                    stats.bytes += info.size;
                }
                self.remove_layer(&d)?;
                stats.layers += 1;
            }
        }
        let blob_dir = self.dir().join("blobs/sha256");
        for e in fs::read_dir(&blob_dir).ctx(|| format!("reading {}", blob_dir.display()))? {
            let e = e.ctx(|| format!("reading {}", blob_dir.display()))?;
            let name = e.file_name();
            let keep = name
                .to_str()
                .and_then(|n| Digest::from_hex(n).ok())
                .is_some_and(|d| live_blobs.contains(&d));
            if !keep {
                stats.bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
                let _ = fs::remove_file(e.path());
                stats.blobs += 1;
            }
        }
        let (files, bytes) = self.sweep_pool(lock)?;
        stats.files += files;
        stats.bytes += bytes;
        Ok(stats)
    }

    /// Drops partial downloads (`image prune` does; a plain gc keeps them for resuming).
    pub fn clear_downloads(&self, _lock: &StoreLock) -> Result<u64> {
        let dir = self.dir().join("downloads");
        let mut bytes = 0;
        for e in fs::read_dir(&dir).ctx(|| format!("reading {}", dir.display()))? {
            let e = e.ctx(|| format!("reading {}", dir.display()))?;
            bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = fs::remove_file(e.path());
        }
        Ok(bytes)
    }
}
