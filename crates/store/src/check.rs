//! `berth storage check`: re-hash every object against its name and check every
//! reference, reporting problems instead of stopping at the first.

use std::fs;

use crate::config::ImageConfig;
use crate::digest::{digest_reader, Digest};
use crate::error::{IoContext, Result};
use crate::layout::Store;

#[derive(Debug, Default)]
pub struct CheckReport {
    pub blobs: u64,
    pub layers: u64,
    pub images: u64,
    pub problems: Vec<String>,
}

impl Store {
    pub fn check(&self) -> Result<CheckReport> {
        let mut r = CheckReport::default();
        let blob_dir = self.dir().join("blobs/sha256");
        for e in fs::read_dir(&blob_dir).ctx(|| format!("reading {}", blob_dir.display()))? {
            let e = e.ctx(|| format!("reading {}", blob_dir.display()))?;
            let name = e.file_name().to_string_lossy().into_owned();
            r.blobs += 1;
            let Ok(want) = Digest::from_hex(&name) else {
                r.problems
                    .push(format!("blobs/sha256/{name}: not a digest name"));
                continue;
            };
            let f = fs::File::open(e.path()).ctx(|| format!("opening {}", e.path().display()))?;
            let (got, _) = digest_reader(f).ctx(|| format!("reading {}", e.path().display()))?;
            if got != want {
                r.problems
                    .push(format!("blob {want}: content hashes to {got}"));
            }
        }
        for d in self.layers()? {
            r.layers += 1;
            if let Err(e) = self.verify_layer(&d) {
                r.problems.push(format!("layer {d}: {e}"));
            }
        }
        r.problems.extend(self.verify_pool()?);
        let images = self.images()?;
        for img in &images {
            r.images += 1;
            match self.read_blob(&img.id) {
                Err(e) => r.problems.push(format!("image {}: config: {e}", img.id)),
                Ok(bytes) => match ImageConfig::parse(&bytes, &img.id.to_string()) {
                    Err(e) => r.problems.push(format!("image {}: {e}", img.id)),
                    Ok(c) => {
                        let ids: Vec<&Digest> = img.layers.iter().map(|l| &l.diff_id).collect();
                        if c.rootfs.diff_ids.iter().collect::<Vec<_>>() != ids {
                            r.problems
                                .push(format!("image {}: layers differ from its config", img.id));
                        }
                    }
                },
            }
            if let Some(m) = &img.manifest {
                if let Err(e) = self.read_blob(&m.digest) {
                    r.problems.push(format!("image {}: manifest: {e}", img.id));
                }
            }
            for l in &img.layers {
                if !self.has_layer(&l.diff_id) {
                    r.problems
                        .push(format!("image {}: layer {} is missing", img.id, l.diff_id));
                }
            }
        }
        let names = self.names()?;
        for (name, id) in names.tags.iter().chain(names.digests.iter()) {
            if !images.iter().any(|i| &i.id == id) {
                r.problems
                    .push(format!("name {name}: image {id} is missing"));
            }
        }
        Ok(r)
    }
}
