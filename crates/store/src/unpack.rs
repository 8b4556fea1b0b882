//! Owns turning archive entries into a layer tree: path checks, entry types, OCI
//! whiteouts converted to overlayfs form, ownership, modes, times and xattrs exactly as
//! Docker applies them. A regular file is written to a temp file, given its metadata,
//! named by its pool key, and then either linked to an identical file (from the pool or
//! earlier in this archive) or kept as a new file that `pool::publish` adds to the
//! pool once the whole layer is durable.
//!
//! It must never resolve a path except with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
//! beneath the layer root (or a directory fd obtained that way), so even a bug in the
//! checks cannot write outside the layer; it never follows a symlink found in the layer,
//! never writes into an existing inode other than a directory of this layer, and never
//! creates a device node except the 0/0 character device that marks a whiteout.
//!
//! Deliberate differences from Docker: an entry whose parent path goes through a
//! symlink is refused instead of being resolved inside the root; absolute names are
//! refused instead of being made relative; sparse files stay sparse (all-zero blocks
//! of any file are left as holes); hard-link entries keep their target's metadata
//! (Docker re-applies the link header's, which would change a shared pool inode).

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Timespec, Timestamps, Uid, XattrFlags};
use rustix::io::Errno;
use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::layout::Store;
use crate::pool;
use crate::tarsplit::{limit_error, open_beneath, Entry, Kind, TarReader};

const WHITEOUT: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";
const META_PREFIX: &[u8] = b".wh..wh.";
const CHUNK: usize = 256 << 10;
const HOLE_BLOCK: u64 = 4096;
static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

/// Why a directory beneath the root could not be opened.
enum DirErr {
    Missing(String),
    Symlink(String),
    NotDir(String),
    Other(Error),
}

/// What an unpack produced, for the tar-split and the pool.
pub(crate) struct Unpacked {
    /// Payload reference -> its file, relative to the layer directory.
    pub locations: Vec<Vec<u8>>,
    /// Regular files unpacked.
    pub files: u64,
    /// (pool key, path relative to the layer directory) of files to publish.
    pub new_files: Vec<(Digest, Vec<u8>)>,
}

/// Applies one archive's entries to `work/root`.
pub(crate) struct Unpacker<'s> {
    store: &'s Store,
    work: OwnedFd,
    root: OwnedFd,
    orphans: Option<OwnedFd>,
    /// Payload reference -> its file, relative to the layer directory.
    locations: Vec<Vec<u8>>,
    /// Path in the tree -> the payload reference whose file lives there.
    live: BTreeMap<Vec<u8>, usize>,
    /// Files new to the pool, by key -> the payload reference of their first copy;
    /// published after the layer is durable (see `pool::publish`).
    pending: HashMap<Digest, usize>,
    /// Directories whose mtime is set at the end: (path, inode, mtime).
    dir_times: Vec<(Vec<u8>, u64, (i64, u32))>,
    files: u64,
    apparent: u64,
    limit: u64,
    temps: u64,
    buf: Vec<u8>,
}

impl<'s> Unpacker<'s> {
    /// Prepares `work/root` (0755, like Docker's) for the tree.
    pub fn new(store: &'s Store, work: &Path, limit: u64) -> Result<Unpacker<'s>> {
        let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        let work_fd = rustix::fs::open(work, dir_flags, Mode::empty())
            .ctx(|| format!("opening {}", work.display()))?;
        rustix::fs::mkdirat(&work_fd, "root", Mode::from_raw_mode(0o755))
            .ctx(|| format!("creating {}/root", work.display()))?;
        rustix::fs::chmodat(
            &work_fd,
            "root",
            Mode::from_raw_mode(0o755),
            AtFlags::empty(),
        )
        .ctx(|| format!("creating {}/root", work.display()))?;
        let root = rustix::fs::openat(&work_fd, "root", dir_flags, Mode::empty())
            .ctx(|| format!("opening {}/root", work.display()))?;
        Ok(Unpacker {
            store,
            work: work_fd,
            root,
            orphans: None,
            locations: Vec::new(),
            live: BTreeMap::new(),
            pending: HashMap::new(),
            dir_times: Vec::new(),
            files: 0,
            apparent: 0,
            limit,
            temps: 0,
            buf: vec![0u8; CHUNK],
        })
    }

    /// Sets directory times (children changed them while unpacking).
    pub fn finish(self) -> Result<Unpacked> {
        for (rel, ino, mtime) in &self.dir_times {
            let path: &[u8] = if rel.is_empty() { b"." } else { rel };
            let Ok(fd) = open_beneath(self.root.as_fd(), path, OFlags::RDONLY | OFlags::DIRECTORY)
            else {
                continue; // removed or replaced by a later entry
            };
            let st = rustix::fs::fstat(&fd).ctx(|| format!("inspecting {}", show(rel)))?;
            if st.st_ino == *ino {
                rustix::fs::futimens(&fd, &times(*mtime))
                    .ctx(|| format!("setting the times of {}", show(rel)))?;
            }
        }
        let new_files = self
            .pending
            .iter()
            .filter_map(|(key, &r)| self.locations.get(r).map(|loc| (key.clone(), loc.clone())))
            .collect();
        Ok(Unpacked {
            locations: self.locations,
            files: self.files,
            new_files,
        })
    }

    /// Applies one entry. Payloads this does not claim are recorded raw by `tar`.
    pub fn apply<R: Read>(&mut self, tar: &mut TarReader<R>, e: Entry) -> Result<()> {
        let comps = clean_path(&e.path).map_err(|m| reject(&e, &m))?;
        let Some((name, parent)) = comps.split_last() else {
            return self.root_entry(&e);
        };
        let rel = join(&comps);
        let parent_rel = join(parent);

        if name.starts_with(WHITEOUT) {
            let dir = self
                .open_dir(parent, true)
                .map_err(|d| self.dir_err(&e, d))?;
            if *name == OPAQUE {
                let fd = open_beneath(dir.as_fd(), b".", OFlags::RDONLY | OFlags::DIRECTORY)
                    .ctx(|| format!("opening {}", show(&parent_rel)))?;
                rustix::fs::fsetxattr(&fd, "trusted.overlay.opaque", b"y", XattrFlags::empty())
                    .ctx(|| format!("marking {} opaque", show(&parent_rel)))?;
            } else if !name.starts_with(META_PREFIX) {
                let target = &name[WHITEOUT.len()..];
                if target.is_empty() || target == b"." || target == b".." {
                    return Err(reject(&e, "invalid whiteout name"));
                }
                let mut target_rel = parent_rel.clone();
                if !target_rel.is_empty() {
                    target_rel.push(b'/');
                }
                target_rel.extend_from_slice(target);
                self.remove_existing(dir.as_fd(), target, &target_rel)?;
                rustix::fs::mknodat(
                    &dir,
                    target,
                    FileType::CharacterDevice,
                    Mode::empty(),
                    rustix::fs::makedev(0, 0),
                )
                .ctx(|| format!("creating whiteout {}", show(&target_rel)))?;
                rustix::fs::chownat(
                    &dir,
                    target,
                    Some(uid(e.uid)),
                    Some(gid(e.gid)),
                    AtFlags::SYMLINK_NOFOLLOW,
                )
                .ctx(|| format!("setting the owner of {}", show(&target_rel)))?;
            }
            // Any other `.wh..wh.*` name is ignored, as Docker does.
            return Ok(());
        }

        match e.kind {
            Kind::Char | Kind::Block => Err(reject(
                &e,
                "device nodes are not allowed in image layers; containers get /dev from the runtime",
            )),
            Kind::Dir => self.directory(&e, parent, name, &rel),
            Kind::Regular => self.regular(tar, &e, parent, name, &rel),
            Kind::Symlink => self.symlink(&e, parent, name, &rel),
            Kind::Fifo => self.fifo(&e, parent, name, &rel),
            Kind::HardLink => self.hard_link(&e, parent, name, &rel),
        }
    }

    fn root_entry(&mut self, e: &Entry) -> Result<()> {
        if e.kind != Kind::Dir {
            return Err(reject(e, "the layer root must be a directory"));
        }
        let root = self
            .root
            .try_clone()
            .ctx(|| "opening the layer root".into())?;
        self.dir_metadata(&root, e, b"")
    }

    fn directory(&mut self, e: &Entry, parent: &[&[u8]], name: &[u8], rel: &[u8]) -> Result<()> {
        let dir = self
            .open_dir(parent, true)
            .map_err(|d| self.dir_err(e, d))?;
        let exists_as_dir = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => FileType::from_raw_mode(st.st_mode) == FileType::Directory,
            Err(Errno::NOENT) => false,
            Err(err) => return Err(err).ctx(|| format!("inspecting {}", show(rel))),
        };
        if !exists_as_dir {
            self.remove_existing(dir.as_fd(), name, rel)?;
            rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(0o700))
                .ctx(|| format!("creating {}", show(rel)))?;
        }
        let fd = open_beneath(dir.as_fd(), name, OFlags::RDONLY | OFlags::DIRECTORY)
            .ctx(|| format!("opening {}", show(rel)))?;
        self.dir_metadata(&fd, e, rel)
    }

    fn dir_metadata(&mut self, fd: &OwnedFd, e: &Entry, rel: &[u8]) -> Result<()> {
        owner_and_mode(fd.as_fd(), e, rel)?;
        set_xattrs(e, rel, |n, v| {
            rustix::fs::fsetxattr(fd, n, v, XattrFlags::empty())
        })?;
        let st = rustix::fs::fstat(fd).ctx(|| format!("inspecting {}", show(rel)))?;
        self.dir_times.push((rel.to_vec(), st.st_ino, e.mtime));
        Ok(())
    }

    fn regular<R: Read>(
        &mut self,
        tar: &mut TarReader<R>,
        e: &Entry,
        parent: &[&[u8]],
        name: &[u8],
        rel: &[u8],
    ) -> Result<()> {
        self.apparent = self.apparent.saturating_add(e.real_size());
        if self.apparent > self.limit {
            return Err(limit_error(self.limit));
        }
        let dir = self
            .open_dir(parent, true)
            .map_err(|d| self.dir_err(e, d))?;
        let tmp = self.temp_name();
        let file = self.create_temp(&tmp)?;
        let r = tar.claim_payload(e)?;
        let content = write_content(tar, &file, e, &mut self.buf).map_err(|err| match err {
            ContentErr::Tar(err) => err,
            ContentErr::Io(err) => Error::Io {
                context: format!("writing {}", show(rel)),
                source: err,
            },
        })?;
        owner_and_mode(file.as_fd(), e, rel)?;
        set_xattrs(e, rel, |n, v| {
            rustix::fs::fsetxattr(&file, n, v, XattrFlags::empty())
        })?;
        rustix::fs::futimens(&file, &times(e.mtime))
            .ctx(|| format!("setting the times of {}", show(rel)))?;
        let key =
            pool::key_of(file.as_fd(), &content).ctx(|| format!("inspecting {}", show(rel)))?;
        drop(file);

        self.remove_existing(dir.as_fd(), name, rel)?;
        // Share an identical file: one from earlier in this archive, else the pool's.
        let linked = match self.pending.get(&key) {
            Some(&first) => self.link_pending(first, dir.as_fd(), name)?,
            None => pool::link_existing(self.store, &key, dir.as_fd(), name)?,
        };
        match linked {
            pool::Linked::Done => rustix::fs::unlinkat(&self.work, tmp.as_str(), AtFlags::empty())
                .ctx(|| format!("removing temp file {tmp}"))?,
            pool::Linked::Missing | pool::Linked::Full => {
                rustix::fs::renameat(&self.work, tmp.as_str(), &dir, name)
                    .ctx(|| format!("placing {}", show(rel)))?;
                if linked == pool::Linked::Missing {
                    self.pending.insert(key, r);
                }
            }
        }
        if r != self.locations.len() {
            return Err(Error::invalid(
                "internal error: payload references out of order",
            ));
        }
        let mut loc = b"root/".to_vec();
        loc.extend_from_slice(rel);
        self.locations.push(loc);
        self.live.insert(rel.to_vec(), r);
        self.files += 1;
        Ok(())
    }

    fn symlink(&mut self, e: &Entry, parent: &[&[u8]], name: &[u8], rel: &[u8]) -> Result<()> {
        if e.link.is_empty() {
            return Err(reject(e, "a symlink with an empty target"));
        }
        if e.link.contains(&0) {
            return Err(reject(e, "a symlink target with a NUL byte"));
        }
        let dir = self
            .open_dir(parent, true)
            .map_err(|d| self.dir_err(e, d))?;
        self.remove_existing(dir.as_fd(), name, rel)?;
        rustix::fs::symlinkat(e.link.as_slice(), &dir, name)
            .ctx(|| format!("creating symlink {}", show(rel)))?;
        self.special_metadata(dir.as_fd(), name, e, rel, false)
    }

    fn fifo(&mut self, e: &Entry, parent: &[&[u8]], name: &[u8], rel: &[u8]) -> Result<()> {
        let dir = self
            .open_dir(parent, true)
            .map_err(|d| self.dir_err(e, d))?;
        self.remove_existing(dir.as_fd(), name, rel)?;
        rustix::fs::mknodat(&dir, name, FileType::Fifo, Mode::from_raw_mode(0o600), 0)
            .ctx(|| format!("creating FIFO {}", show(rel)))?;
        self.special_metadata(dir.as_fd(), name, e, rel, true)
    }

    /// Owner, mode (not for symlinks), xattrs and times of a symlink or FIFO, which
    /// cannot be opened as fds: all through `dir`, never following `name`.
    fn special_metadata(
        &self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        e: &Entry,
        rel: &[u8],
        chmod: bool,
    ) -> Result<()> {
        rustix::fs::chownat(
            dir,
            name,
            Some(uid(e.uid)),
            Some(gid(e.gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .ctx(|| format!("setting the owner of {}", show(rel)))?;
        if chmod {
            // `name` is a FIFO we just created in our private work tree.
            rustix::fs::chmodat(dir, name, Mode::from_raw_mode(e.mode), AtFlags::empty())
                .ctx(|| format!("setting the mode of {}", show(rel)))?;
        }
        if !e.xattrs.is_empty() {
            // No fd-based call sets an xattr on a symlink: address it through the
            // directory fd's /proc entry; the last component is not followed.
            let mut path = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
            path.extend_from_slice(name);
            set_xattrs(e, rel, |n, v| {
                rustix::fs::lsetxattr(OsStr::from_bytes(&path), n, v, XattrFlags::empty())
            })?;
        }
        rustix::fs::utimensat(dir, name, &times(e.mtime), AtFlags::SYMLINK_NOFOLLOW)
            .ctx(|| format!("setting the times of {}", show(rel)))
    }

    fn hard_link(&mut self, e: &Entry, parent: &[&[u8]], name: &[u8], rel: &[u8]) -> Result<()> {
        let target_shown = String::from_utf8_lossy(&e.link).into_owned();
        let escape = |why: &str| {
            reject(
                e,
                &format!("hard link to '{target_shown}' {why} (hard-link escape)"),
            )
        };
        let tcomps = clean_path(&e.link).map_err(|m| escape(&format!("is invalid: {m}")))?;
        let Some((tname, tparent)) = tcomps.split_last() else {
            return Err(escape("points at the layer root, a directory"));
        };
        let missing =
            "points at nothing in the layer (hard links may only point at earlier entries)";
        let tdir = match self.open_dir(tparent, false) {
            Ok(fd) => fd,
            Err(DirErr::Missing(_)) => return Err(escape(missing)),
            Err(DirErr::Symlink(p)) => {
                return Err(escape(&format!("goes through the symlink '{p}'")))
            }
            Err(DirErr::NotDir(p)) => {
                return Err(escape(&format!(
                    "goes through '{p}', which is not a directory"
                )))
            }
            Err(DirErr::Other(err)) => return Err(err),
        };
        match rustix::fs::statat(&tdir, *tname, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                return Err(escape("points at a directory"))
            }
            Ok(_) => {}
            Err(Errno::NOENT) => return Err(escape(missing)),
            Err(err) => return Err(err).ctx(|| format!("inspecting {target_shown}")),
        }
        if join(&tcomps) == rel {
            return Ok(()); // a link to itself: nothing to do
        }
        let dir = self
            .open_dir(parent, true)
            .map_err(|d| self.dir_err(e, d))?;
        self.remove_existing(dir.as_fd(), name, rel)?;
        match rustix::fs::linkat(&tdir, *tname, &dir, name, AtFlags::empty()) {
            Ok(()) => Ok(()),
            Err(Errno::MLINK) => self.private_copy(tdir.as_fd(), tname, dir.as_fd(), name, rel),
            Err(Errno::NOENT) => Err(escape("was removed by this very entry")),
            Err(err) => Err(err).ctx(|| format!("linking {} to {target_shown}", show(rel))),
        }
    }

    /// The target inode has as many links as the filesystem allows: give `name` its own
    /// copy (same content and metadata; only the shared inode number is lost).
    fn private_copy(
        &mut self,
        tdir: BorrowedFd<'_>,
        tname: &[u8],
        dir: BorrowedFd<'_>,
        name: &[u8],
        rel: &[u8],
    ) -> Result<()> {
        let ctx = || format!("copying {}", show(rel));
        let mut src = File::from(open_beneath(tdir, tname, OFlags::RDONLY).ctx(ctx)?);
        let st = rustix::fs::fstat(&src).ctx(ctx)?;
        let tmp = self.temp_name();
        let mut dst = self.create_temp(&tmp)?;
        std::io::copy(&mut src, &mut dst).ctx(ctx)?;
        dst.flush().ctx(ctx)?;
        rustix::fs::fchown(&dst, Some(uid(st.st_uid)), Some(gid(st.st_gid))).ctx(ctx)?;
        rustix::fs::fchmod(&dst, Mode::from_raw_mode(st.st_mode & 0o7777)).ctx(ctx)?;
        for (n, v) in pool::list_xattrs(src.as_fd()).ctx(ctx)? {
            rustix::fs::fsetxattr(&dst, n.as_slice(), &v, XattrFlags::empty()).ctx(ctx)?;
        }
        rustix::fs::futimens(&dst, &times((st.st_mtime as i64, st.st_mtime_nsec as u32)))
            .ctx(ctx)?;
        drop(dst);
        rustix::fs::renameat(&self.work, tmp.as_str(), dir, name).ctx(ctx)
    }

    /// Links the first copy of a file new in this archive (payload reference `first`,
    /// wherever it lives now) as `dir/name`.
    fn link_pending(&self, first: usize, dir: BorrowedFd<'_>, name: &[u8]) -> Result<pool::Linked> {
        let Some(loc) = self.locations.get(first) else {
            return Err(Error::invalid("internal error: unknown payload reference"));
        };
        let (parent, base) = match loc.iter().rposition(|&b| b == b'/') {
            Some(i) => (&loc[..i], &loc[i + 1..]),
            None => (&b"."[..], &loc[..]),
        };
        let pdir = open_beneath(self.work.as_fd(), parent, OFlags::PATH | OFlags::DIRECTORY)
            .ctx(|| format!("opening {}", show(parent)))?;
        match rustix::fs::linkat(&pdir, base, dir, name, AtFlags::empty()) {
            Ok(()) => Ok(pool::Linked::Done),
            Err(Errno::MLINK) => Ok(pool::Linked::Full),
            Err(e) => Err(e).ctx(|| format!("linking {} to {}", show(name), show(loc))),
        }
    }

    fn temp_name(&mut self) -> String {
        self.temps += 1;
        format!(".file-{}", self.temps)
    }

    fn create_temp(&self, tmp: &str) -> Result<File> {
        let fd = rustix::fs::openat(
            &self.work,
            tmp,
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::from_raw_mode(0o600),
        )
        .ctx(|| format!("creating temp file {tmp}"))?;
        Ok(File::from(fd))
    }

    /// Opens (creating missing components as 0755 directories if `create`) the
    /// directory `comps` beneath the root, as an O_PATH fd.
    fn open_dir(&self, comps: &[&[u8]], create: bool) -> std::result::Result<OwnedFd, DirErr> {
        let flags = OFlags::PATH | OFlags::DIRECTORY;
        let rel = join(comps);
        let path: &[u8] = if rel.is_empty() { b"." } else { &rel };
        match open_beneath(self.root.as_fd(), path, flags) {
            Ok(fd) => return Ok(fd),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOENT | libc::ELOOP | libc::ENOTDIR)
                ) => {}
            Err(e) => {
                return Err(DirErr::Other(Error::Io {
                    context: format!("opening {}", show(&rel)),
                    source: e,
                }))
            }
        }
        // Slow path: one component at a time, to create what is missing and to say
        // precisely what is in the way.
        let io = |p: &[u8], e: Errno| {
            DirErr::Other(Error::Io {
                context: format!("opening {}", show(p)),
                source: e.into(),
            })
        };
        let mut cur = open_beneath(self.root.as_fd(), b".", flags).map_err(|e| {
            DirErr::Other(Error::Io {
                context: "opening the layer root".into(),
                source: e,
            })
        })?;
        for (i, c) in comps.iter().enumerate() {
            let prefix = join(&comps[..=i]);
            match open_beneath(cur.as_fd(), c, flags)
                .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))
            {
                Ok(fd) => cur = fd,
                Err(Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(&cur, *c, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(io(&prefix, e)),
                    }
                    rustix::fs::chmodat(&cur, *c, Mode::from_raw_mode(0o755), AtFlags::empty())
                        .map_err(|e| io(&prefix, e))?;
                    cur = open_beneath(cur.as_fd(), c, flags)
                        .map_err(|e| io(&prefix, Errno::from_io_error(&e).unwrap_or(Errno::IO)))?;
                }
                Err(Errno::NOENT) => return Err(DirErr::Missing(show(&prefix))),
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    let st = rustix::fs::statat(&cur, *c, AtFlags::SYMLINK_NOFOLLOW)
                        .map_err(|e| io(&prefix, e))?;
                    return Err(
                        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
                            DirErr::Symlink(show(&prefix))
                        } else {
                            DirErr::NotDir(show(&prefix))
                        },
                    );
                }
                Err(e) => return Err(io(&prefix, e)),
            }
        }
        Ok(cur)
    }

    fn dir_err(&self, e: &Entry, d: DirErr) -> Error {
        match d {
            DirErr::Missing(p) => reject(e, &format!("its parent directory '{p}' is missing")),
            DirErr::Symlink(p) => reject(
                e,
                &format!("'{p}' is a symlink, and nothing may be placed through a symlink (symlink escape)"),
            ),
            DirErr::NotDir(p) => reject(e, &format!("its parent '{p}' is not a directory")),
            DirErr::Other(err) => err,
        }
    }

    /// Makes room for a new object at `dir/name` (`rel` in the tree). A file whose bytes
    /// the archive still holds is moved to orphans/ instead of deleted.
    fn remove_existing(&mut self, dir: BorrowedFd<'_>, name: &[u8], rel: &[u8]) -> Result<()> {
        let st = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Ok(()),
            Err(e) => return Err(e).ctx(|| format!("inspecting {}", show(rel))),
        };
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            let mut prefix = rel.to_vec();
            prefix.push(b'/');
            let inside: Vec<Vec<u8>> = self
                .live
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, _)| k.clone())
                .collect();
            for path in inside {
                let comps: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
                let Some((n, p)) = comps.split_last() else {
                    continue;
                };
                let pdir = self.open_dir(p, false).map_err(|d| match d {
                    DirErr::Other(err) => err,
                    _ => Error::invalid(format!("internal error: {} vanished", show(&path))),
                })?;
                if let Some(r) = self.live.remove(&path) {
                    self.orphan(pdir.as_fd(), n, r)?;
                }
            }
            remove_tree_at(dir, name).ctx(|| format!("removing {}", show(rel)))
        } else if let Some(r) = self.live.remove(rel) {
            self.orphan(dir, name, r)
        } else {
            rustix::fs::unlinkat(dir, name, AtFlags::empty())
                .ctx(|| format!("removing {}", show(rel)))
        }
    }

    fn orphan(&mut self, dir: BorrowedFd<'_>, name: &[u8], r: usize) -> Result<()> {
        if self.orphans.is_none() {
            rustix::fs::mkdirat(&self.work, "orphans", Mode::from_raw_mode(0o700))
                .ctx(|| "creating orphans/".into())?;
            let fd = open_beneath(
                self.work.as_fd(),
                b"orphans",
                OFlags::PATH | OFlags::DIRECTORY,
            )
            .ctx(|| "opening orphans/".into())?;
            self.orphans = Some(fd);
        }
        let Some(orphans) = &self.orphans else {
            return Err(Error::invalid("internal error: no orphans/"));
        };
        let to = r.to_string();
        rustix::fs::renameat(dir, name, orphans, to.as_str())
            .ctx(|| format!("moving {} aside", show(name)))?;
        if let Some(loc) = self.locations.get_mut(r) {
            *loc = format!("orphans/{r}").into_bytes();
        }
        Ok(())
    }
}

enum ContentErr {
    Tar(Error),
    Io(std::io::Error),
}

/// Streams the claimed payload into `file`, placing sparse segments at their offsets
/// and leaving every all-zero block as a hole; returns the sha256 of the full content.
fn write_content<R: Read>(
    tar: &mut TarReader<R>,
    file: &File,
    e: &Entry,
    buf: &mut [u8],
) -> std::result::Result<[u8; 32], ContentErr> {
    let mut h = Sha256::new();
    let mut hashed = 0u64;
    let mut end = 0u64;
    for (off, len) in e.segments() {
        hash_zeros(&mut h, off - hashed);
        let mut at = off;
        let mut left = len;
        while left > 0 {
            let k = left.min(buf.len() as u64) as usize;
            let n = tar.read_payload(&mut buf[..k]).map_err(ContentErr::Tar)?;
            if n == 0 {
                return Err(ContentErr::Tar(Error::invalid(
                    "internal error: payload ended early",
                )));
            }
            h.update(&buf[..n]);
            end = end.max(write_nonzero(file, at, &buf[..n]).map_err(ContentErr::Io)?);
            at += n as u64;
            left -= n as u64;
        }
        hashed = off + len;
    }
    let real = e.real_size();
    hash_zeros(&mut h, real - hashed);
    // Most files end with written data: only a trailing hole needs the size set.
    if end != real {
        file.set_len(real).map_err(ContentErr::Io)?;
    }
    Ok(h.finalize().into())
}

fn hash_zeros(h: &mut Sha256, mut n: u64) {
    while n > 0 {
        let k = n.min(ZEROS.len() as u64) as usize;
        h.update(&ZEROS[..k]);
        n -= k as u64;
    }
}

/// Writes `data` at `at`, skipping 4 KiB-aligned pieces that are all zeros (the file's
/// size is set afterwards, so skipped pieces read back as zeros). Returns the end of
/// the last byte written (0 if nothing was).
fn write_nonzero(file: &File, at: u64, data: &[u8]) -> std::io::Result<u64> {
    let mut written_end = 0;
    let piece_end = |i: usize| -> usize {
        let pos = at + i as u64;
        let next = (pos / HOLE_BLOCK + 1) * HOLE_BLOCK;
        (i + (next - pos) as usize).min(data.len())
    };
    let mut i = 0;
    while i < data.len() {
        let end = piece_end(i);
        if is_zero(&data[i..end]) {
            i = end;
            continue;
        }
        let start = i;
        i = end;
        while i < data.len() {
            let end = piece_end(i);
            if is_zero(&data[i..end]) {
                break;
            }
            i = end;
        }
        file.write_all_at(&data[start..i], at + start as u64)?;
        written_end = at + i as u64;
    }
    Ok(written_end)
}

fn is_zero(b: &[u8]) -> bool {
    b.chunks(64).all(|c| c.iter().fold(0u8, |a, &x| a | x) == 0)
}

/// Owner, then mode (chown clears setuid/setgid, so chmod comes second).
fn owner_and_mode(fd: BorrowedFd<'_>, e: &Entry, rel: &[u8]) -> Result<()> {
    rustix::fs::fchown(fd, Some(uid(e.uid)), Some(gid(e.gid)))
        .ctx(|| format!("setting the owner of {}", show(rel)))?;
    rustix::fs::fchmod(fd, Mode::from_raw_mode(e.mode))
        .ctx(|| format!("setting the mode of {}", show(rel)))
}

/// Applies the entry's xattrs through `set`. `trusted.overlay.*` and `user.overlay.*`
/// are dropped: they would let an archive forge overlayfs metadata (whiteouts, opaque
/// dirs, redirects). Like Docker, an xattr the filesystem or kernel refuses
/// (ENOTSUP, EPERM) is skipped.
fn set_xattrs(
    e: &Entry,
    rel: &[u8],
    mut set: impl FnMut(&[u8], &[u8]) -> rustix::io::Result<()>,
) -> Result<()> {
    for (name, value) in &e.xattrs {
        if name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.") {
            continue;
        }
        match set(name, value) {
            Ok(()) | Err(Errno::NOTSUP | Errno::PERM) => {}
            Err(Errno::INVAL | Errno::RANGE | Errno::TOOBIG) => {
                return Err(reject(
                    e,
                    &format!("invalid xattr {}", String::from_utf8_lossy(name)),
                ));
            }
            Err(err) => {
                return Err(err).ctx(|| {
                    format!(
                        "setting xattr {} on {}",
                        String::from_utf8_lossy(name),
                        show(rel)
                    )
                })
            }
        }
    }
    Ok(())
}

fn times((sec, nsec): (i64, u32)) -> Timestamps {
    let t = Timespec {
        tv_sec: sec,
        tv_nsec: i64::from(nsec),
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

fn uid(u: u32) -> Uid {
    Uid::from_raw_unchecked(u)
}

fn gid(g: u32) -> Gid {
    Gid::from_raw_unchecked(g)
}

/// Removes `dir/name` and everything below it, never following a symlink.
fn remove_tree_at(dir: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<()> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    // Read-only directories (0555 is common) must not stop an unprivileged remover.
    let _ = rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o700));
    let mut children = Vec::new();
    let mut reader = rustix::fs::Dir::read_from(&fd)?;
    while let Some(ent) = reader.read() {
        let ent = ent?;
        let n = ent.file_name().to_bytes();
        if n != b"." && n != b".." {
            children.push((n.to_vec(), ent.file_type()));
        }
    }
    for (n, ft) in children {
        let is_dir = match ft {
            FileType::Directory => true,
            FileType::Unknown => {
                rustix::fs::statat(&fd, n.as_slice(), AtFlags::SYMLINK_NOFOLLOW)
                    .map(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory)?
            }
            _ => false,
        };
        if is_dir {
            remove_tree_at(fd.as_fd(), &n)?;
        } else {
            rustix::fs::unlinkat(&fd, n.as_slice(), AtFlags::empty())?;
        }
    }
    drop(fd);
    rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)
}

/// Splits an archive path into components: a leading `./` and empty or `.` components
/// are dropped; absolute paths, `..`, NUL bytes, empty names and over-long names are
/// refused. No components means the layer root.
pub(crate) fn clean_path(raw: &[u8]) -> std::result::Result<Vec<&[u8]>, String> {
    if raw.is_empty() {
        return Err("empty name".into());
    }
    if raw.contains(&0) {
        return Err("NUL byte in the name".into());
    }
    if raw.starts_with(b"/") {
        return Err("absolute path; layer entries must be relative".into());
    }
    if raw.len() > 4095 {
        return Err("path longer than 4095 bytes".into());
    }
    let mut comps = Vec::new();
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err("path contains '..'; entries may not leave the layer".into()),
            c if c.len() > 255 => return Err("a path component is longer than 255 bytes".into()),
            c => comps.push(c),
        }
    }
    Ok(comps)
}

fn join(comps: &[&[u8]]) -> Vec<u8> {
    comps.join(&b'/')
}

fn show(p: &[u8]) -> String {
    if p.is_empty() {
        "the layer root".into()
    } else {
        String::from_utf8_lossy(p).into_owned()
    }
}

fn reject(e: &Entry, msg: &str) -> Error {
    Error::rejected(format!("layer entry '{}': {msg}", e.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_paths() {
        assert_eq!(
            clean_path(b"./a//b/./c/").ok(),
            Some(vec![&b"a"[..], b"b", b"c"])
        );
        assert_eq!(clean_path(b"./").ok(), Some(vec![]));
        assert!(clean_path(b"../x").is_err());
        assert!(clean_path(b"a/../../x").is_err());
        assert!(clean_path(b"/etc/passwd").is_err());
        assert!(clean_path(b"").is_err());
        assert!(clean_path(b"a\0b").is_err());
    }

    #[test]
    fn zero_detection() {
        assert!(is_zero(&[0; 5000]));
        let mut b = [0u8; 5000];
        b[4999] = 1;
        assert!(!is_zero(&b));
    }
}
