//! Extra garbage-collection roots: layers that something outside the store keeps
//! although no image uses them (the build cache, as Docker keeps build cache apart from
//! images until `builder prune`). A holder owns `STORE/roots/<holder>/`, one empty file
//! per diff id it keeps; GC reads only the names. Never knows what a holder is.

use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::layout::{Store, StoreLock};

impl Store {
    fn roots_dir(&self, holder: &str) -> Result<PathBuf> {
        if holder.is_empty()
            || !holder
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(Error::invalid(format!(
                "gc root holder {holder:?}: use letters, digits and '-'"
            )));
        }
        Ok(self.dir().join("roots").join(holder))
    }

    /// Keeps layer `diff_id` through GC for `holder`. Call it under the shared lock, in
    /// the same hold that saw the layer exist.
    pub fn add_root(&self, holder: &str, diff_id: &Digest) -> Result<()> {
        let dir = self.roots_dir(holder)?;
        fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
        let p = dir.join(diff_id.hex());
        if !p.exists() {
            fs::File::create(&p).ctx(|| format!("creating {}", p.display()))?;
        }
        Ok(())
    }

    /// Forgets every root of `holder`; the layers go at the next GC unless used.
    pub fn drop_roots(&self, holder: &str, _lock: &StoreLock) -> Result<()> {
        let dir = self.roots_dir(holder)?;
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                Err(e).ctx(|| format!("removing {}", dir.display()))
            }
            _ => Ok(()),
        }
    }

    /// Every layer some holder keeps.
    pub fn roots(&self) -> Result<HashSet<Digest>> {
        let top = self.dir().join("roots");
        let mut out = HashSet::new();
        let holders = match fs::read_dir(&top) {
            Ok(h) => h,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e).ctx(|| format!("reading {}", top.display())),
        };
        for h in holders {
            let h = h.ctx(|| format!("reading {}", top.display()))?;
            let dir = h.path();
            for e in fs::read_dir(&dir).ctx(|| format!("reading {}", dir.display()))? {
                let e = e.ctx(|| format!("reading {}", dir.display()))?;
                if let Some(d) = e
                    .file_name()
                    .to_str()
                    .and_then(|n| Digest::from_hex(n).ok())
                {
                    out.insert(d);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_listed_until_their_holder_drops_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = Digest::of(b"layer");
        assert!(store.roots().unwrap().is_empty());
        store.add_root("build-cache", &d).unwrap();
        store.add_root("build-cache", &d).unwrap();
        assert_eq!(store.roots().unwrap(), HashSet::from([d.clone()]));
        assert!(store.add_root("../x", &d).is_err());
        let lock = store.lock_exclusive().unwrap();
        store.drop_roots("build-cache", &lock).unwrap();
        store.drop_roots("build-cache", &lock).unwrap();
        assert!(store.roots().unwrap().is_empty());
    }
}
