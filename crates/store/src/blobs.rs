//! Small immutable blobs: manifests, indexes and image configs, named by their digest.
//! Layer blobs are not kept: a layer lives on as its unpacked tree plus the tar-split
//! record that reproduces its exact bytes (see `layer`).

use std::fs;

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::layout::Store;

/// Largest manifest or config accepted; real ones are a few KiB.
pub const MAX_SMALL_BLOB: u64 = 16 << 20;

impl Store {
    /// Stores `bytes`, which must hash to `expected`; returns its path's digest.
    pub fn put_blob_verified(&self, bytes: &[u8], expected: &Digest, what: &str) -> Result<()> {
        expected.verify(&Digest::of(bytes), what)?;
        self.put_blob_unchecked(expected, bytes)
    }

    /// Stores `bytes` under their own digest.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<Digest> {
        let d = Digest::of(bytes);
        self.put_blob_unchecked(&d, bytes)?;
        Ok(d)
    }

    fn put_blob_unchecked(&self, d: &Digest, bytes: &[u8]) -> Result<()> {
        let path = self.blob_path(d);
        if path.is_file() {
            return Ok(());
        }
        fsutil::write_atomic(&self.tmp(), &path, bytes)
    }

    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).is_file()
    }

    /// Reads a blob back, verifying it: a corrupted store must never feed wrong bytes on.
    pub fn read_blob(&self, d: &Digest) -> Result<Vec<u8>> {
        let path = self.blob_path(d);
        let bytes = fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::invalid(format!(
                "blob {d} is missing from the store; run `berth storage check`"
            )),
            _ => Error::Io {
                context: format!("reading {}", path.display()),
                source: e,
            },
        })?;
        d.verify(
            &Digest::of(&bytes),
            &format!("stored blob {}", path.display()),
        )?;
        Ok(bytes)
    }

    pub fn remove_blob(&self, d: &Digest) -> Result<()> {
        let path = self.blob_path(d);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).ctx(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        }
    }
}
