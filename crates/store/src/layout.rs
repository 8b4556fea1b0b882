//! Where each kind of object lives under `STORE`, and the store lock.
//!
//! The lock is what makes deletion safe without a daemon: everything that adds objects
//! or pins them (pull, load, import, creating a container) holds it shared; everything
//! that deletes (rmi, prune, sweeping temp files) holds it exclusive, so it never
//! removes a file another process is about to link to.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

use crate::digest::Digest;
use crate::error::{IoContext, Result};
use crate::fsutil;

#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// A held store lock; released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
    pub exclusive: bool,
}

impl Store {
    /// Opens (creating if needed) the store at `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Store> {
        let store = Store { dir: dir.into() };
        for sub in [
            "blobs/sha256",
            "layers",
            "files",
            "images",
            "tmp",
            "downloads",
        ] {
            let p = store.dir.join(sub);
            if !p.is_dir() {
                fs::create_dir_all(&p).ctx(|| format!("creating {}", p.display()))?;
            }
        }
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn lock_shared(&self) -> Result<StoreLock> {
        self.lock(FlockOperation::LockShared, false)
    }

    pub fn lock_exclusive(&self) -> Result<StoreLock> {
        self.lock(FlockOperation::LockExclusive, true)
    }

    /// The exclusive lock if nobody else holds the store, else None.
    pub fn try_lock_exclusive(&self) -> Result<Option<StoreLock>> {
        let file = self.lock_file()?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(StoreLock {
                _file: file,
                exclusive: true,
            })),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(e).ctx(|| format!("locking {}", self.dir.join("lock").display())),
        }
    }

    fn lock(&self, op: FlockOperation, exclusive: bool) -> Result<StoreLock> {
        let file = self.lock_file()?;
        flock(&file, op).ctx(|| format!("locking {}", self.dir.join("lock").display()))?;
        Ok(StoreLock {
            _file: file,
            exclusive,
        })
    }

    fn lock_file(&self) -> Result<File> {
        let path = self.dir.join("lock");
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .ctx(|| format!("opening {}", path.display()))
    }

    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.dir.join("blobs/sha256").join(d.hex())
    }

    pub fn layer_dir(&self, diff_id: &Digest) -> PathBuf {
        self.dir.join("layers").join(diff_id.hex())
    }

    /// The directory a container mounts as an overlay lower layer.
    pub fn layer_root(&self, diff_id: &Digest) -> PathBuf {
        self.layer_dir(diff_id).join("root")
    }

    pub fn has_layer(&self, diff_id: &Digest) -> bool {
        self.layer_dir(diff_id).join("layer.json").is_file()
    }

    /// The pool path for a deduplicated file with key `k` (sha256 of content + metadata).
    pub fn pool_path(&self, key: &Digest) -> PathBuf {
        let h = key.hex();
        self.dir.join("files").join(&h[..2]).join(&h[2..])
    }

    pub fn image_path(&self, id: &Digest) -> PathBuf {
        self.dir.join("images").join(format!("{}.json", id.hex()))
    }

    pub fn names_path(&self) -> PathBuf {
        self.dir.join("names.json")
    }

    pub fn tmp(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// Where an interrupted download of `d` waits to be resumed.
    pub fn download_path(&self, d: &Digest) -> PathBuf {
        self.dir
            .join("downloads")
            .join(format!("{}.partial", d.hex()))
    }

    /// A fresh directory under tmp/, removed again when the guard drops (a crash leaves
    /// it for [`Store::sweep_tmp`]).
    pub fn temp_dir(&self, kind: &str) -> Result<TempDir> {
        let path = self.tmp().join(format!(
            "{kind}-{}-{}",
            std::process::id(),
            fsutil::unique()
        ));
        fs::create_dir(&path).ctx(|| format!("creating {}", path.display()))?;
        Ok(TempDir { path: Some(path) })
    }

    /// Removes everything under tmp/. Callers hold the exclusive lock, so no process
    /// is still working in there.
    pub fn sweep_tmp(&self, _lock: &StoreLock) -> Result<usize> {
        let mut n = 0;
        let tmp = self.tmp();
        for e in fs::read_dir(&tmp).ctx(|| format!("reading {}", tmp.display()))? {
            let e = e.ctx(|| format!("reading {}", tmp.display()))?;
            fsutil::remove_tree(&e.path())?;
            n += 1;
        }
        Ok(n)
    }
}

/// A directory under STORE/tmp that is removed when dropped unless kept.
#[derive(Debug)]
pub struct TempDir {
    path: Option<PathBuf>,
}

impl TempDir {
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new("/nonexistent"))
    }

    /// Hands the directory over (it was renamed into place or is kept on purpose).
    pub fn keep(mut self) -> PathBuf {
        self.path.take().unwrap_or_default()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = fsutil::remove_tree(&p);
        }
    }
}
