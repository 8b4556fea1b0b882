//! Owns the on-disk layout of a berth state root and the two primitives every record
//! change goes through: atomic replacement (write temp, fsync, rename) and per-record
//! locks (flock). Never writes a record in place.
//!
//! ```text
//! ROOT/containers/<id>/record.json   what the container is (immutable after create)
//!                      state.json    what it is doing (replaced atomically)
//!                      lock          flock target for state changes
//!                      upper/ work/ merged/   its overlay; hostname hosts resolv.conf
//!                      ctr.log       its output, one timestamped line per record
//! ROOT/names/<name> -> <id>          the name registry (symlinks: atomic reservation)
//! ROOT/volumes/<name>/_data          a named volume; volume.json its metadata
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{Error, IoContext, Result};

/// A berth state root (`--root`, `BERTH_ROOT`, or the default for the user).
#[derive(Debug, Clone)]
pub struct StateRoot {
    dir: PathBuf,
}

impl StateRoot {
    /// Opens (creating if needed) the state root at `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<StateRoot> {
        let dir = dir.into();
        let dir = if dir.is_relative() {
            std::env::current_dir()
                .ctx(|| "reading the current directory".into())?
                .join(dir)
        } else {
            dir
        };
        let root = StateRoot { dir };
        for sub in ["containers", "names", "volumes"] {
            let p = root.dir.join(sub);
            if !p.is_dir() {
                fs::create_dir_all(&p)
                    .ctx(|| format!("creating state directory {}", p.display()))?;
            }
        }
        Ok(root)
    }

    /// The default root: /var/lib/berth for root, $XDG_DATA_HOME/berth otherwise.
    pub fn default_dir() -> PathBuf {
        if runtime::sys::geteuid() == 0 {
            return PathBuf::from("/var/lib/berth");
        }
        if let Some(d) = std::env::var_os("XDG_DATA_HOME") {
            return PathBuf::from(d).join("berth");
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        home.join(".local/share/berth")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn containers(&self) -> PathBuf {
        self.dir.join("containers")
    }

    pub fn container(&self, id: &str) -> PathBuf {
        self.dir.join("containers").join(id)
    }

    pub fn names(&self) -> PathBuf {
        self.dir.join("names")
    }

    /// Compiled seccomp filters, by a hash of what they were compiled from.
    /// Exit codes of `--rm` containers, kept briefly after their records are gone so a
    /// `wait` that began before the exit can still report the code (Docker's daemon
    /// keeps it in memory for such waiters).
    pub fn exit_notes(&self) -> PathBuf {
        self.dir.join("exits")
    }

    pub fn seccomp_cache(&self) -> PathBuf {
        self.dir.join("cache").join("seccomp")
    }

    pub fn volumes(&self) -> PathBuf {
        self.dir.join("volumes")
    }

    /// A short tag naming this state root, so that its cgroups can be told apart from
    /// another root's on the same host (tests run many roots side by side).
    pub fn tag(&self) -> String {
        // FNV-1a: stable across runs and builds, unlike std's randomly seeded hasher.
        let mut h: u32 = 0x811c_9dc5;
        for b in self.dir.as_os_str().as_encoded_bytes() {
            h = (h ^ u32::from(*b)).wrapping_mul(0x0100_0193);
        }
        format!("{h:08x}")
    }

    /// The cgroup name of a container of this root.
    pub fn cgroup_name(&self, id: &str) -> String {
        format!("berth-{}-{id}", self.tag())
    }
}

/// Writes `value` as JSON to `path` atomically: readers see the old or the new record,
/// never a mix, and a killed process leaves at most a `.tmp` file the next scan removes.
///
/// Container records are not fsynced: the rename alone makes them safe against any
/// process dying at any moment, which is the crash model berth promises for records; a
/// power loss can at worst roll a container's state back (it is stale after a reboot
/// anyway). An fsync here costs milliseconds of journal commit on every `run`.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let data = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::invalid(format!("encoding {}: {e}", path.display())))?;
    write_atomic(path, &data)
}

pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let result = (|| -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(data)?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.ctx(|| format!("writing {}", path.display()))
}

/// Writes a file in a directory nobody can see yet (a container being created is
/// published by renaming its whole directory), so no per-file rename is needed.
pub fn write_new(path: &Path, data: &[u8]) -> Result<()> {
    fs::write(path, data).ctx(|| format!("writing {}", path.display()))
}

pub fn write_new_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let data = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::invalid(format!("encoding {}: {e}", path.display())))?;
    write_new(path, &data)
}

pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let data = fs::read(path).ctx(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&data).map_err(|e| {
        Error::invalid(format!(
            "{} is corrupt ({e}); remove it or run `berth rm -f` on its container",
            path.display()
        ))
    })
}

/// An exclusive advisory lock, held until dropped.
#[derive(Debug)]
pub struct Lock {
    file: File,
}

impl Lock {
    fn open(path: &Path) -> Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .ctx(|| format!("opening lock {}", path.display()))
    }

    pub fn acquire(path: &Path) -> Result<Lock> {
        let file = Lock::open(path)?;
        flock(&file, libc::LOCK_EX).ctx(|| format!("locking {}", path.display()))?;
        Ok(Lock { file })
    }

    /// The lock if it is free right now, None if someone holds it (never waits).
    pub fn try_acquire(path: &Path) -> Result<Option<Lock>> {
        let file = Lock::open(path)?;
        match flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(()) => Ok(Some(Lock { file })),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e).ctx(|| format!("locking {}", path.display())),
        }
    }

    /// The open lock file (shared with a child process to hand the lock over).
    pub fn file(&self) -> &File {
        &self.file
    }
}

fn flock(f: &File, op: libc::c_int) -> io::Result<()> {
    runtime::sys::flock(f.as_raw_fd(), op)
}
