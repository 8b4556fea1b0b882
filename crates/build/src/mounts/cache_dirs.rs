//! `RUN --mount=type=cache` directories: `ROOT/build-cache/mounts/<sha256 of id>/`
//! holds `data/` (what the steps see), `lock` (flock'd while a step uses it) and `id`
//! (the id, for people). Owns how builds share one: shared users hold the lock shared,
//! `locked` users exclusively (waiting for it), `private` users take it exclusively if
//! it is free and otherwise get a fresh directory of their own that goes away after the
//! step. Never lets cache contents near a layer: the directory is only ever mounted.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use dockerfile::mounts::Sharing;
use rustix::fs::{flock, FlockOperation};
use sha2::{Digest as _, Sha256};
use store::Store;

use crate::error::{Error, IoContext, Result};

/// Where cache mounts live below the state root.
pub fn root_dir(state_root: &Path) -> PathBuf {
    state_root.join("build-cache").join("mounts")
}

/// How a fresh directory starts.
pub struct Fresh<'a> {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// A tree to copy in (`from=`/`source=`).
    pub seed: Option<&'a Path>,
}

/// A cache directory in use; the lock (or the private copy) goes when dropped.
pub struct Held {
    path: PathBuf,
    _lock: Option<File>,
    _private: Option<store::layout::TempDir>,
}

impl Held {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes the cache directory `id` for one step.
pub fn acquire(
    state_root: &Path,
    store: &Store,
    id: &str,
    sharing: Sharing,
    fresh: &Fresh<'_>,
    stop: &dyn Fn() -> bool,
) -> Result<Held> {
    let dir = root_dir(state_root).join(hex::encode(Sha256::digest(id.as_bytes())));
    fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
    let lock_path = dir.join("lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .ctx(|| format!("opening {}", lock_path.display()))?;
    let data = dir.join("data");
    let wait = |op: FlockOperation| -> Result<()> {
        // Polled rather than waited on, so an interrupted build stops waiting.
        while flock(&lock, op).is_err() {
            if stop() {
                return Err(Error::invalid(format!(
                    "build interrupted while waiting for the cache mount {id:?}"
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Ok(())
    };
    match sharing {
        Sharing::Private => {
            if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err() {
                // Busy: this step gets a directory nobody else sees.
                let tmp = store.temp_dir("cache-mount")?;
                let private = tmp.path().join("data");
                make(&private, fresh)?;
                return Ok(Held {
                    path: private,
                    _lock: None,
                    _private: Some(tmp),
                });
            }
        }
        Sharing::Locked => wait(FlockOperation::NonBlockingLockExclusive)?,
        Sharing::Shared => {
            wait(FlockOperation::NonBlockingLockShared)?;
            if data.is_dir() {
                return Ok(Held {
                    path: data,
                    _lock: Some(lock),
                    _private: None,
                });
            }
            // Creating it needs the lock alone, then it is shared again. The shared
            // lock is let go first: two users upgrading at once would wait on each other.
            let _ = flock(&lock, FlockOperation::Unlock);
            wait(FlockOperation::NonBlockingLockExclusive)?;
        }
    }
    // Exclusive now, so creating the directory cannot race another build.
    if !data.is_dir() {
        let _ = fs::write(dir.join("id"), id);
        let partial = dir.join(format!("data.new-{}", std::process::id()));
        let _ = store::fsutil::remove_tree(&partial);
        make(&partial, fresh)?;
        fs::rename(&partial, &data).ctx(|| format!("creating {}", data.display()))?;
    }
    if sharing == Sharing::Shared {
        wait(FlockOperation::NonBlockingLockShared)?;
    }
    Ok(Held {
        path: data,
        _lock: Some(lock),
        _private: None,
    })
}

fn make(path: &Path, fresh: &Fresh<'_>) -> Result<()> {
    match fresh.seed {
        Some(seed) if seed.is_dir() => super::tree::copy_tree(seed, path)?,
        Some(seed) => {
            return Err(Error::invalid(format!(
                "the cache mount's source {} is not a directory",
                seed.display()
            )))
        }
        None => {
            fs::create_dir(path).ctx(|| format!("creating {}", path.display()))?;
            std::os::unix::fs::chown(path, Some(fresh.uid), Some(fresh.gid))
                .ctx(|| format!("chown {}", path.display()))?;
            fs::set_permissions(path, fs::Permissions::from_mode(fresh.mode & 0o7777))
                .ctx(|| format!("chmod {}", path.display()))?;
        }
    }
    Ok(())
}

/// Deletes every cache mount no build is using; returns how many went and how many
/// were skipped because a build holds them.
pub fn prune(state_root: &Path) -> Result<(usize, usize)> {
    let top = root_dir(state_root);
    let entries = match fs::read_dir(&top) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(e) => return Err(e).ctx(|| format!("reading {}", top.display())),
    };
    let (mut removed, mut busy) = (0, 0);
    for e in entries {
        let dir = e.ctx(|| format!("reading {}", top.display()))?.path();
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"));
        let Ok(lock) = lock else { continue };
        if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err() {
            busy += 1;
            continue;
        }
        store::fsutil::remove_tree(&dir)?;
        removed += 1;
    }
    Ok((removed, busy))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn fresh() -> Fresh<'static> {
        Fresh {
            mode: 0o750,
            uid: 0,
            gid: 0,
            seed: None,
        }
    }

    #[test]
    fn shared_dirs_persist_and_private_ones_split_off_when_busy() {
        let t = tempfile::tempdir().unwrap();
        let store = Store::open(t.path().join("store")).unwrap();
        let a = acquire(t.path(), &store, "pip", Sharing::Shared, &fresh(), &|| {
            false
        })
        .unwrap();
        fs::write(a.path().join("x"), "1").unwrap();
        let mode = fs::metadata(a.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o750);
        let b = acquire(t.path(), &store, "pip", Sharing::Shared, &fresh(), &|| {
            false
        })
        .unwrap();
        assert_eq!(a.path(), b.path());
        // Two shared users hold it: a private user gets a fresh directory.
        let p = acquire(t.path(), &store, "pip", Sharing::Private, &fresh(), &|| {
            false
        })
        .unwrap();
        assert_ne!(p.path(), a.path());
        assert!(!p.path().join("x").exists());
        let private = p.path().to_path_buf();
        drop(p);
        assert!(!private.exists());
        drop((a, b));
        let p = acquire(t.path(), &store, "pip", Sharing::Private, &fresh(), &|| {
            false
        })
        .unwrap();
        assert!(p.path().join("x").is_file());
        assert_eq!(prune(t.path()).unwrap(), (0, 1));
        drop(p);
        assert_eq!(prune(t.path()).unwrap(), (1, 0));
        let again = acquire(t.path(), &store, "pip", Sharing::Locked, &fresh(), &|| {
            false
        })
        .unwrap();
        assert!(!again.path().join("x").exists());
    }
}
