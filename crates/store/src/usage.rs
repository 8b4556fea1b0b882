//! Disk usage as it really is: layers share inodes (file-level deduplication), so sizes
//! are computed over distinct inodes, not summed per layer.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::digest::Digest;
use crate::error::Result;
use crate::layout::Store;

/// The inodes of each layer, with their allocated bytes.
#[derive(Debug, Default)]
pub struct Usage {
    pub layers: HashMap<Digest, HashMap<(u64, u64), u64>>,
    /// Bytes of manifests and configs.
    pub blobs: u64,
}

impl Usage {
    /// Allocated bytes of the distinct inodes of `layers`.
    pub fn bytes_of<'a>(&self, layers: impl IntoIterator<Item = &'a Digest>) -> u64 {
        let mut seen = HashSet::new();
        let mut total = 0;
        for l in layers {
            if let Some(inodes) = self.layers.get(l) {
                for (k, b) in inodes {
                    if seen.insert(*k) {
                        total += b;
                    }
                }
            }
        }
        total
    }

    /// Everything the layers take on disk.
    pub fn total(&self) -> u64 {
        self.bytes_of(self.layers.keys()) + self.blobs
    }
}

impl Store {
    pub fn usage(&self) -> Result<Usage> {
        let mut u = Usage::default();
        for d in self.layers()? {
            let mut inodes = HashMap::new();
            walk(&self.layer_dir(&d), &mut inodes);
            u.layers.insert(d, inodes);
        }
        let mut blobs = HashMap::new();
        walk(&self.dir().join("blobs"), &mut blobs);
        u.blobs = blobs.values().sum();
        Ok(u)
    }
}

/// Allocated bytes per distinct inode under `dir` (unreadable entries are skipped:
/// usage is a report, not a check).
pub fn walk(dir: &Path, out: &mut HashMap<(u64, u64), u64>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(m) = e.metadata() else { continue };
        out.insert((m.dev(), m.ino()), m.blocks() * 512);
        if m.is_dir() {
            walk(&e.path(), out);
        }
    }
}
