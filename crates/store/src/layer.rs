//! Owns the life of an unpacked layer, `STORE/layers/<diff id hex>/`:
//!
//! ```text
//! root/        the tree, mounted by containers as a read-only overlay lower dir
//! orphans/     (rare) files a later entry of the same archive replaced; the archive
//!              still holds their bytes, so the tar-split needs them
//! tar-split    the record that rebuilds the exact archive (see `tarsplit`)
//! layer.json   LayerInfo
//! ```
//!
//! A layer is unpacked into a temp dir under tmp/, checked against its diff id, made
//! durable with one syncfs and published with one rename, so `layers/<hex>` exists
//! complete or not at all. Once published nothing in it is opened for writing again;
//! removal renames it back into tmp/ before deleting it.
//!
//! Callers hold the shared store lock while unpacking (so no sweep deletes a pool file
//! this is about to link) and the exclusive lock to remove layers or sweep the pool.

use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;

use flate2::read::MultiGzDecoder;
use rustix::fs::{Mode, OFlags, RenameFlags, CWD};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use crate::digest::{Digest, HashingWriter};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::layout::Store;
use crate::pool;
use crate::readahead;
use crate::tarsplit::{self, TarReader};
use crate::unpack::Unpacker;

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression an OCI or Docker layer media type names; `None` (the Option) for
    /// a media type that is not a layer berth knows.
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        let mt = media_type.split(';').next().unwrap_or_default().trim();
        let layer = mt.starts_with("application/vnd.oci.image.layer.")
            || mt.starts_with("application/vnd.docker.image.rootfs.");
        if !layer {
            return None;
        }
        if mt.ends_with("+gzip") || mt.ends_with(".tar.gzip") {
            Some(Compression::Gzip)
        } else if mt.ends_with("+zstd") || mt.ends_with(".tar.zstd") {
            Some(Compression::Zstd)
        } else if mt.ends_with(".tar") {
            Some(Compression::None)
        } else {
            None
        }
    }

    /// Recognises gzip and zstd by their magic bytes; anything else is taken as a
    /// plain tar (which the unpacker then validates).
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    fn label(self) -> &'static str {
        match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Limits on what one layer may unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most uncompressed bytes, counted both as the tar stream and as the sum of the
    /// files' apparent sizes (sparse files count at their full size).
    pub max_unpacked: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_unpacked: 64 << 30,
        }
    }
}

impl Limits {
    pub const ENV: &'static str = "BERTH_MAX_LAYER_SIZE";

    /// The defaults, with `BERTH_MAX_LAYER_SIZE` (plain bytes) if set.
    pub fn from_env() -> Result<Limits> {
        match std::env::var(Self::ENV) {
            Err(std::env::VarError::NotPresent) => Ok(Limits::default()),
            Ok(v) => v
                .trim()
                .parse()
                .map(|max_unpacked| Limits { max_unpacked })
                .map_err(|_| {
                    Error::invalid(format!("{}={v:?} is not a number of bytes", Self::ENV))
                }),
            Err(_) => Err(Error::invalid(format!("{} is not valid UTF-8", Self::ENV))),
        }
    }
}

/// What the store knows about an unpacked layer (also `layers/<hex>/layer.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    pub diff_id: Digest,
    /// Length of the uncompressed tar stream.
    pub size: u64,
    /// Regular files in the archive (hard links not counted).
    pub files: u64,
    /// When it was unpacked, in seconds since the Unix epoch.
    pub created: u64,
}

impl Store {
    /// Unpacks a layer blob read from `src`. The diff id is the sha256 of the whole
    /// uncompressed stream; when `expected_diff_id` is given it must match, else
    /// [`Error::DigestMismatch`] and nothing is published. Unpacking a layer that is
    /// already present (or that another process publishes first) succeeds.
    /// Callers hold the shared store lock.
    pub fn unpack_layer(
        &self,
        src: impl Read + Send,
        compression: Compression,
        expected_diff_id: Option<&Digest>,
        limits: &Limits,
    ) -> Result<LayerInfo> {
        match compression {
            Compression::None => self.unpack_stream(src, compression, expected_diff_id, limits),
            Compression::Gzip => readahead::with_readahead(MultiGzDecoder::new(src), |r| {
                self.unpack_stream(r, compression, expected_diff_id, limits)
            }),
            Compression::Zstd => {
                let decoder = zstd::stream::read::Decoder::new(src)
                    .ctx(|| "starting zstd decompression".into())?;
                readahead::with_readahead(decoder, |r| {
                    self.unpack_stream(r, compression, expected_diff_id, limits)
                })
            }
        }
    }

    /// Unpacks an already decompressed tar stream (`compression` only names the
    /// original form in errors).
    fn unpack_stream(
        &self,
        stream: impl Read,
        compression: Compression,
        expected_diff_id: Option<&Digest>,
        limits: &Limits,
    ) -> Result<LayerInfo> {
        let work = self.temp_dir("layer")?;
        let record_path = work.path().join("tar-split");
        let record = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&record_path)
            .ctx(|| format!("creating {}", record_path.display()))?;
        let mut tar = TarReader::new(stream, compression.label(), limits.max_unpacked, record)?;
        let mut unpacker = Unpacker::new(self, work.path(), limits.max_unpacked)?;
        while let Some(entry) = tar.next_entry()? {
            unpacker.apply(&mut tar, entry)?;
        }
        let unpacked = unpacker.finish()?;
        let files = unpacked.files;
        let (diff_id, size) = tar.finish(&unpacked.locations)?;
        if let Some(expected) = expected_diff_id {
            expected.verify(&diff_id, "layer (sha256 of its uncompressed tar)")?;
        }
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let info = LayerInfo {
            diff_id: diff_id.clone(),
            size,
            files,
            created,
        };
        let json = serde_json::to_vec_pretty(&info)
            .map_err(|e| Error::invalid(format!("encoding layer.json: {e}")))?;
        let json_path = work.path().join("layer.json");
        fs::write(&json_path, json).ctx(|| format!("writing {}", json_path.display()))?;

        // One syncfs makes every file and directory of the layer durable: far cheaper
        // than an fsync per file. Only then do new files get pool names and the layer
        // its name, so no published name ever points at data a crash could lose.
        fsutil::syncfs(work.path())?;
        let work_fd = rustix::fs::open(
            work.path(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ctx(|| format!("opening {}", work.path().display()))?;
        pool::publish(self, work_fd.as_fd(), &unpacked.new_files)?;
        let dest = self.layer_dir(&diff_id);
        match rustix::fs::renameat_with(CWD, work.path(), CWD, &dest, RenameFlags::NOREPLACE) {
            Ok(()) => {
                let _ = work.keep();
                fsutil::sync_dir(&self.dir().join("layers"))?;
                Ok(info)
            }
            Err(Errno::EXIST | Errno::NOTEMPTY) if self.has_layer(&diff_id) => {
                // Someone else published the same layer first; ours is dropped.
                Ok(self.layer_info(&diff_id).unwrap_or(info))
            }
            Err(e) => Err(e).ctx(|| format!("publishing layer {}", dest.display())),
        }
    }

    /// The record of a published layer.
    pub fn layer_info(&self, diff_id: &Digest) -> Result<LayerInfo> {
        let path = self.layer_dir(diff_id).join("layer.json");
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::invalid(format!(
                    "layer {diff_id} is not in the store"
                )))
            }
            Err(e) => return Err(e).ctx(|| format!("reading {}", path.display())),
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::invalid(format!(
                "{} is damaged ({e}); run `berth storage check`",
                path.display()
            ))
        })
    }

    /// Diff ids of all published layers, sorted.
    pub fn layers(&self) -> Result<Vec<Digest>> {
        let dir = self.dir().join("layers");
        let mut out = Vec::new();
        for e in fs::read_dir(&dir).ctx(|| format!("reading {}", dir.display()))? {
            let e = e.ctx(|| format!("reading {}", dir.display()))?;
            let Ok(d) = Digest::from_hex(&e.file_name().to_string_lossy()) else {
                continue;
            };
            if self.has_layer(&d) {
                out.push(d);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Writes the layer's exact original uncompressed tar to `out`; returns its length.
    /// A layer whose files no longer match the record fails with [`Error::Invalid`].
    pub fn write_layer_tar(&self, diff_id: &Digest, mut out: impl Write) -> Result<u64> {
        let dir = self.layer_dir(diff_id);
        if !self.has_layer(diff_id) {
            return Err(Error::invalid(format!(
                "layer {diff_id} is not in the store"
            )));
        }
        let fd = rustix::fs::open(
            &dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ctx(|| format!("opening {}", dir.display()))?;
        let n = tarsplit::replay(fd.as_fd(), &mut out).map_err(|e| match e {
            Error::Invalid(msg) => match msg.strip_prefix("damaged: ") {
                Some(why) => Error::invalid(format!(
                    "layer {diff_id} is damaged ({why}); run `berth storage check`"
                )),
                None => Error::Invalid(msg),
            },
            other => other,
        })?;
        out.flush().ctx(|| "writing the layer archive".into())?;
        Ok(n)
    }

    /// Rebuilds the layer's archive and checks it hashes to its diff id:
    /// [`Error::DigestMismatch`] if a file changed or the record no longer fits the tree.
    pub fn verify_layer(&self, diff_id: &Digest) -> Result<()> {
        if !self.has_layer(diff_id) {
            return Err(Error::invalid(format!(
                "layer {diff_id} is not in the store"
            )));
        }
        let what = format!(
            "layer {diff_id} (rebuilt from {})",
            self.layer_dir(diff_id).display()
        );
        let mut w = HashingWriter::new(io::sink());
        match self.write_layer_tar(diff_id, &mut w) {
            Ok(_) => {
                let (actual, _, _) = w.finish();
                diff_id.verify(&actual, &what)
            }
            Err(Error::Invalid(msg)) => Err(Error::DigestMismatch {
                what,
                expected: diff_id.to_string(),
                actual: format!("nothing: it cannot be rebuilt: {msg}"),
            }),
            Err(e) => Err(e),
        }
    }

    /// Deletes a layer: renamed into tmp/ first (so a crash never leaves a half-deleted
    /// layer under its name), then removed. Removing a missing layer succeeds. Pool
    /// files it used stay until [`Store::sweep_pool`]. Callers hold the exclusive lock.
    pub fn remove_layer(&self, diff_id: &Digest) -> Result<()> {
        let dir = self.layer_dir(diff_id);
        let grave = self.tmp().join(format!(
            "removed-layer-{}-{}-{}",
            diff_id.short(),
            std::process::id(),
            fsutil::unique()
        ));
        match fs::rename(&dir, &grave) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).ctx(|| format!("removing {}", dir.display())),
            Ok(()) => {}
        }
        fsutil::sync_dir(&self.dir().join("layers"))?;
        fsutil::remove_tree(&grave)
    }
}
