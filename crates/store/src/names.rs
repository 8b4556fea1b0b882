//! Image names: `repo:tag` and `repo@digest` pointing at image ids, in one JSON file
//! replaced atomically under its own lock. Names are stored fully qualified
//! (`docker.io/library/alpine:3.20`); shortening them for display is the caller's job.
//!
//! A removal first moves the name into `removing`, then deletes what became
//! unreferenced, then drops the entry: a removal killed half way is finished by the next
//! one, and re-running it succeeds.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;

use rustix::fs::{flock, FlockOperation};
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::layout::Store;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Names {
    /// `registry/repo:tag` -> image id.
    #[serde(default)]
    pub tags: BTreeMap<String, Digest>,
    /// `registry/repo@sha256:...` (manifest digest) -> image id.
    #[serde(default)]
    pub digests: BTreeMap<String, Digest>,
    /// Names whose removal has started but not finished.
    #[serde(default)]
    pub removing: BTreeMap<String, Digest>,
}

impl Names {
    /// Tags and digest names of `id`.
    pub fn of(&self, id: &Digest) -> (Vec<&str>, Vec<&str>) {
        let tags = self
            .tags
            .iter()
            .filter(|(_, v)| *v == id)
            .map(|(k, _)| k.as_str())
            .collect();
        let digests = self
            .digests
            .iter()
            .filter(|(_, v)| *v == id)
            .map(|(k, _)| k.as_str())
            .collect();
        (tags, digests)
    }

    pub fn is_named(&self, id: &Digest) -> bool {
        self.tags.values().any(|v| v == id) || self.digests.values().any(|v| v == id)
    }
}

/// A held names lock: read, change and save the names under it.
pub struct NamesTxn<'a> {
    store: &'a Store,
    _lock: File,
    pub names: Names,
}

impl NamesTxn<'_> {
    pub fn commit(self) -> Result<()> {
        let json = serde_json::to_vec_pretty(&self.names)
            .map_err(|e| Error::invalid(format!("encoding names: {e}")))?;
        fsutil::write_atomic(&self.store.tmp(), &self.store.names_path(), &json)
    }
}

impl Store {
    /// The current names (a consistent snapshot; no lock needed for reading).
    pub fn names(&self) -> Result<Names> {
        let path = self.names_path();
        match fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Names::default()),
            Err(e) => Err(e).ctx(|| format!("reading {}", path.display())),
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::invalid(format!("corrupt {}: {e}", path.display()))),
        }
    }

    /// Starts a read-modify-write of the names.
    pub fn names_txn(&self) -> Result<NamesTxn<'_>> {
        let path = self.dir().join("names.lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .ctx(|| format!("opening {}", path.display()))?;
        flock(&file, FlockOperation::LockExclusive)
            .ctx(|| format!("locking {}", path.display()))?;
        let names = self.names()?;
        Ok(NamesTxn {
            store: self,
            _lock: file,
            names,
        })
    }

    /// Points `name` (fully qualified, with a tag) at `id`.
    pub fn tag(&self, name: &str, id: &Digest) -> Result<()> {
        if !self.has_image(id) {
            return Err(Error::NoSuchImage(id.to_string()));
        }
        let mut txn = self.names_txn()?;
        txn.names.tags.insert(name.to_string(), id.clone());
        txn.names.removing.remove(name);
        txn.commit()
    }

    /// Records that `repo@digest` names `id`.
    pub fn add_digest_name(&self, name: &str, id: &Digest) -> Result<()> {
        let mut txn = self.names_txn()?;
        txn.names.digests.insert(name.to_string(), id.clone());
        txn.commit()
    }
}
