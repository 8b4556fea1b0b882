//! Image records: one JSON file per image, named by its id (the digest of its config
//! blob). A record is written only after its config, manifest and every layer are
//! published, and layers are deleted only after no record names them, so an image is
//! never half-visible.

use std::fs;

use serde::{Deserialize, Serialize};

use crate::config::ImageConfig;
use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::layout::Store;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The config digest, which is the image id.
    pub id: Digest,
    /// The manifest this image came with (stored under blobs/), if any: images
    /// imported from a plain tarball or committed locally have none until pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Descriptor>,
    /// Layers bottom first, with the compressed form the manifest named.
    pub layers: Vec<LayerRef>,
    /// Sum of the uncompressed layer sizes.
    pub size: u64,
    /// When this store got the image (RFC 3339).
    pub added: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerRef {
    pub diff_id: Digest,
    /// The blob the manifest named (compressed), if the image came with a manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<Descriptor>,
}

impl Store {
    /// Publishes an image: the config blob (verified against `record.id`), the manifest
    /// blob if any, and the record, after checking every layer is in place and matches
    /// the config's diff ids.
    pub fn put_image(
        &self,
        record: &ImageRecord,
        config: &[u8],
        manifest: Option<&[u8]>,
    ) -> Result<()> {
        let parsed = ImageConfig::parse(config, &record.id.to_string())?;
        let diff_ids: Vec<&Digest> = record.layers.iter().map(|l| &l.diff_id).collect();
        if parsed.rootfs.diff_ids.iter().collect::<Vec<_>>() != diff_ids {
            return Err(Error::rejected(format!(
                "image {}: the layers do not match the config's rootfs.diff_ids",
                record.id
            )));
        }
        for l in &record.layers {
            if !self.has_layer(&l.diff_id) {
                return Err(Error::invalid(format!(
                    "image {}: layer {} is not in the store",
                    record.id, l.diff_id
                )));
            }
        }
        self.put_blob_verified(config, &record.id, "image config")?;
        match (&record.manifest, manifest) {
            (Some(d), Some(bytes)) => self.put_blob_verified(bytes, &d.digest, "image manifest")?,
            (None, None) => {}
            _ => return Err(Error::invalid("image record and manifest bytes disagree")),
        }
        let json = serde_json::to_vec_pretty(record)
            .map_err(|e| Error::invalid(format!("encoding image record: {e}")))?;
        fsutil::write_atomic(&self.tmp(), &self.image_path(&record.id), &json)
    }

    pub fn has_image(&self, id: &Digest) -> bool {
        self.image_path(id).is_file()
    }

    pub fn image(&self, id: &Digest) -> Result<ImageRecord> {
        let path = self.image_path(id);
        let bytes = fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NoSuchImage(id.to_string()),
            _ => Error::Io {
                context: format!("reading {}", path.display()),
                source: e,
            },
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::invalid(format!("corrupt image record {}: {e}", path.display())))
    }

    /// The image's config, parsed (the bytes are verified against the id on read).
    pub fn image_config(&self, id: &Digest) -> Result<(ImageConfig, Vec<u8>)> {
        let bytes = self.read_blob(id)?;
        Ok((ImageConfig::parse(&bytes, &id.to_string())?, bytes))
    }

    /// Every image record, in no particular order.
    pub fn images(&self) -> Result<Vec<ImageRecord>> {
        let dir = self.dir().join("images");
        let mut out = Vec::new();
        for e in fs::read_dir(&dir).ctx(|| format!("reading {}", dir.display()))? {
            let e = e.ctx(|| format!("reading {}", dir.display()))?;
            let name = e.file_name();
            let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            let Ok(id) = Digest::from_hex(hex) else {
                continue;
            };
            match self.image(&id) {
                Ok(r) => out.push(r),
                Err(Error::NoSuchImage(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Deletes an image record. Its layers and blobs go at the next garbage collection.
    pub fn remove_image_record(&self, id: &Digest) -> Result<()> {
        let path = self.image_path(id);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).ctx(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        }
    }

    /// The overlay lower dirs for an image, topmost first (overlayfs order).
    pub fn lower_dirs(&self, record: &ImageRecord) -> Vec<std::path::PathBuf> {
        record
            .layers
            .iter()
            .rev()
            .map(|l| self.layer_root(&l.diff_id))
            .collect()
    }
}
