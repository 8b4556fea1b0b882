//! Owns the pool of deduplicated files, `STORE/files/<2>/<62>`: naming a finished file
//! by its content and metadata, publishing it, hard-linking it into layers, sweeping
//! the files no layer links any more, and checking that every file still hashes to its
//! name.
//!
//! It must never open a pool file for writing, nor change one's metadata: a pool inode
//! is shared by every layer (and so every container lower dir) that contains the same
//! file. Containers only ever see it through a read-only overlay lower layer, so their
//! writes go to a copy in their upper dir. Files arrive here complete (content and
//! metadata final) and durable: an unpack keeps new files private to its work tree,
//! runs one syncfs, and only then links them into the pool (link(2) never replaces an
//! existing name, so the first publisher wins and later ones share its inode).
//!
//! # The pool key
//!
//! A pool file's name is the hex sha256 of this byte string, built from the file itself
//! (its `fstat` and xattrs, so what the filesystem stored is what counts):
//!
//! ```text
//! "berth-pool-v1\n"
//! sha256 of the content                   32 bytes
//! size                                    u64 big-endian
//! mode & 0o7777 (incl. setuid/setgid/sticky)  u32 BE
//! uid, gid                                u32 BE each
//! mtime seconds, nanoseconds              i64 BE, u32 BE
//! number of xattrs                        u32 BE
//! per xattr, sorted by name bytes:        u32 BE name length, name, u32 BE value length, value
//! ```
//! Every xattr the file carries counts, including any an LSM assigned on creation
//! (`security.selinux`): files that differ in any of them are not shared.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;

use rustix::fs::{AtFlags, OFlags, CWD};
use rustix::io::Errno;
use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::layout::{Store, StoreLock};
use crate::tarsplit::open_beneath;

/// The outcome of trying to link a pool (or pending) file into a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Linked {
    /// `dir/name` is now a link to the shared inode.
    Done,
    /// There is no such file (yet).
    Missing,
    /// The inode has as many links as the filesystem allows; use a private copy.
    Full,
}
/// The pool key of the open file `fd` whose content hashes to `content`.
pub(crate) fn key_of(fd: BorrowedFd<'_>, content: &[u8; 32]) -> io::Result<Digest> {
    let st = rustix::fs::fstat(fd)?;
    let mut xattrs = list_xattrs(fd)?;
    xattrs.sort();
    let mut buf = Vec::with_capacity(128);
    buf.extend_from_slice(b"berth-pool-v1\n");
    buf.extend_from_slice(content);
    buf.extend_from_slice(&(st.st_size as u64).to_be_bytes());
    buf.extend_from_slice(&(st.st_mode & 0o7777).to_be_bytes());
    buf.extend_from_slice(&st.st_uid.to_be_bytes());
    buf.extend_from_slice(&st.st_gid.to_be_bytes());
    buf.extend_from_slice(&(st.st_mtime as i64).to_be_bytes());
    buf.extend_from_slice(&(st.st_mtime_nsec as u32).to_be_bytes());
    buf.extend_from_slice(&(xattrs.len() as u32).to_be_bytes());
    for (name, value) in &xattrs {
        buf.extend_from_slice(&(name.len() as u32).to_be_bytes());
        buf.extend_from_slice(name);
        buf.extend_from_slice(&(value.len() as u32).to_be_bytes());
        buf.extend_from_slice(value);
    }
    Ok(Digest::of(&buf))
}

/// Every xattr of `fd`, as (name, value).
pub(crate) fn list_xattrs(fd: BorrowedFd<'_>) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let names = loop {
        let size = rustix::fs::flistxattr_query(fd)?;
        if size == 0 {
            return Ok(Vec::new());
        }
        let mut names = vec![0u8; size];
        match rustix::fs::flistxattr(fd, &mut names[..]) {
            Ok(n) => {
                names.truncate(n);
                break names;
            }
            Err(Errno::RANGE) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let mut out = Vec::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let value = loop {
            let size = match rustix::fs::fgetxattr_query(fd, name) {
                Ok(s) => s,
                Err(Errno::NODATA) => break None,
                Err(e) => return Err(e.into()),
            };
            let mut v = vec![0u8; size];
            if size == 0 {
                break Some(v);
            }
            match rustix::fs::fgetxattr(fd, name, &mut v[..]) {
                Ok(n) => {
                    v.truncate(n);
                    break Some(v);
                }
                Err(Errno::RANGE) => continue,
                Err(Errno::NODATA) => break None,
                Err(e) => return Err(e.into()),
            }
        };
        if let Some(v) = value {
            out.push((name.to_vec(), v));
        }
    }
    Ok(out)
}

/// Links the pool file with key `key`, if there is one, into the layer as `dir/name`.
pub(crate) fn link_existing(
    store: &Store,
    key: &Digest,
    dir: BorrowedFd<'_>,
    name: &[u8],
) -> Result<Linked> {
    let pool = store.pool_path(key);
    match rustix::fs::linkat(CWD, &pool, dir, name, AtFlags::empty()) {
        Ok(()) => Ok(Linked::Done),
        Err(Errno::NOENT) => Ok(Linked::Missing),
        Err(Errno::MLINK) => Ok(Linked::Full),
        Err(e) => Err(e).ctx(|| {
            format!(
                "linking {} to {}",
                String::from_utf8_lossy(name),
                pool.display()
            )
        }),
    }
}

/// Publishes the files an unpack added: `files` are (key, path relative to `work`) of
/// files that are complete and already durable (the caller ran syncfs), so a pool name
/// never points at data a crash could lose. Each is hard-linked into the pool under
/// its key; if another process published the same key meanwhile, our copy is swapped
/// for a link to theirs (when nothing else in the layer links ours) so the layer still
/// shares it.
pub(crate) fn publish(
    store: &Store,
    work: BorrowedFd<'_>,
    files: &[(Digest, Vec<u8>)],
) -> Result<()> {
    for (n, (key, loc)) in files.iter().enumerate() {
        let pool = store.pool_path(key);
        let shown = || String::from_utf8_lossy(loc).into_owned();
        let (parent, base) = match loc.iter().rposition(|&b| b == b'/') {
            Some(i) => (&loc[..i], &loc[i + 1..]),
            None => (&b"."[..], &loc[..]),
        };
        let dir = open_beneath(work, parent, OFlags::PATH | OFlags::DIRECTORY)
            .ctx(|| format!("opening {}", shown()))?;
        if let Some(sub) = pool.parent() {
            match fs::create_dir(sub) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                    return Err(e).ctx(|| format!("creating {}", sub.display()))
                }
                _ => {}
            }
        }
        match rustix::fs::linkat(&dir, base, CWD, &pool, AtFlags::empty()) {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                let st = rustix::fs::statat(&dir, base, AtFlags::SYMLINK_NOFOLLOW)
                    .ctx(|| format!("inspecting {}", shown()))?;
                if st.st_nlink != 1 {
                    continue; // hard-linked inside the layer: keep our copy
                }
                let swap = format!(".swap-{n}");
                match rustix::fs::linkat(CWD, &pool, work, swap.as_str(), AtFlags::empty()) {
                    Ok(()) => rustix::fs::renameat(work, swap.as_str(), &dir, base)
                        .ctx(|| format!("sharing {} with {}", shown(), pool.display()))?,
                    Err(Errno::MLINK | Errno::NOENT) => {} // keep our copy
                    Err(e) => return Err(e).ctx(|| format!("linking {}", pool.display())),
                }
            }
            Err(e) => {
                return Err(e).ctx(|| format!("publishing {} as {}", shown(), pool.display()))
            }
        }
    }
    Ok(())
}

/// Sha256 of everything `r` yields.
pub(crate) fn hash_content(mut r: impl Read) -> io::Result<[u8; 32]> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 128 << 10];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

/// A pool file's path split into (key, path) for every file under files/.
fn pool_files(store: &Store) -> Result<Vec<(String, std::path::PathBuf)>> {
    let root = store.dir().join("files");
    let mut out = Vec::new();
    for sub in fs::read_dir(&root).ctx(|| format!("reading {}", root.display()))? {
        let sub = sub.ctx(|| format!("reading {}", root.display()))?;
        let sub_path = sub.path();
        if !sub
            .file_type()
            .ctx(|| format!("inspecting {}", sub_path.display()))?
            .is_dir()
        {
            out.push((String::new(), sub_path));
            continue;
        }
        let prefix = sub.file_name().to_string_lossy().into_owned();
        for f in fs::read_dir(&sub_path).ctx(|| format!("reading {}", sub_path.display()))? {
            let f = f.ctx(|| format!("reading {}", sub_path.display()))?;
            out.push((
                format!("{prefix}{}", f.file_name().to_string_lossy()),
                f.path(),
            ));
        }
    }
    Ok(out)
}

impl Store {
    /// Deletes pool files that no layer links any more (link count 1), returning how
    /// many and their total size in bytes. Needs the exclusive lock: under the shared
    /// lock an unpack may be about to link a file that looks unused.
    pub fn sweep_pool(&self, lock: &StoreLock) -> Result<(u64, u64)> {
        if !lock.exclusive {
            return Err(Error::invalid(
                "sweeping the file pool needs the exclusive store lock",
            ));
        }
        let (mut files, mut bytes) = (0u64, 0u64);
        for (_, path) in pool_files(self)? {
            let meta = match fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).ctx(|| format!("inspecting {}", path.display())),
            };
            if meta.is_file() && meta.nlink() == 1 {
                fs::remove_file(&path).ctx(|| format!("removing {}", path.display()))?;
                files += 1;
                bytes += meta.len();
            }
        }
        Ok((files, bytes))
    }

    /// Checks that every pool file's content and metadata still hash to its name;
    /// returns one line per problem (empty when all is well).
    pub fn verify_pool(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        for (name, path) in pool_files(self)? {
            let shown = path
                .strip_prefix(self.dir())
                .unwrap_or(&path)
                .display()
                .to_string();
            let Ok(expected) = Digest::from_hex(&name) else {
                problems.push(format!("{shown}: not a pool file name"));
                continue;
            };
            let file = match open_pool_file(&path) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(format!("{shown}: cannot open: {e}"));
                    continue;
                }
            };
            let meta = file.metadata().ctx(|| format!("inspecting {shown}"))?;
            if !meta.is_file() {
                problems.push(format!("{shown}: not a regular file"));
                continue;
            }
            let content = hash_content(&file).ctx(|| format!("reading {shown}"))?;
            let actual = key_of(file.as_fd(), &content).ctx(|| format!("inspecting {shown}"))?;
            if actual != expected {
                problems.push(format!(
                    "{shown}: content or metadata changed (it now hashes to {})",
                    actual.hex()
                ));
            }
        }
        Ok(problems)
    }
}

fn open_pool_file(path: &std::path::Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
}
