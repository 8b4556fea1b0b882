//! Path-relative (*at) file operations on directory descriptors, for `berth cp`.
//!
//! Owns the thin, safe wrappers over the descriptor-based file system calls std does
//! not offer: stat, readlink, symlink, link, mkdir, mkfifo, unlink, chown, chmod, utimes
//! and directory listing, all relative to an open descriptor. Every call that takes a
//! `name` accepts exactly one path component (no `/`, not `.` or `..`, not empty) and
//! never follows a symlink at that name, so a caller that walks a tree entry by entry
//! cannot be led out of the directory it holds, whatever the tree's owner does meanwhile.
//! Policy (what to copy, who owns it) never lives here, only syscalls.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn path_cstr(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// Validates that `name` is a single path component and converts it for the kernel.
/// This is what makes every `name`-taking function here unable to walk anywhere.
fn component(name: &OsStr) -> io::Result<CString> {
    let b = name.as_bytes();
    if b.is_empty() || b == b"." || b == b".." || b.contains(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{:?} is not a single file name", name),
        ));
    }
    CString::new(b)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains a NUL byte"))
}

/// The empty path used with `AT_EMPTY_PATH` to operate on the descriptor itself.
const EMPTY: &CStr = c"";

/// A point in time as the kernel stores file times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

/// What kind of file an inode is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Dir,
    File,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
}

/// The parts of `struct stat` a copy needs.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    /// Full `st_mode`: type and permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub nlink: u64,
    pub dev: u64,
    pub ino: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
}

impl Stat {
    pub fn kind(&self) -> FileKind {
        match self.mode & libc::S_IFMT {
            libc::S_IFDIR => FileKind::Dir,
            libc::S_IFLNK => FileKind::Symlink,
            libc::S_IFIFO => FileKind::Fifo,
            libc::S_IFSOCK => FileKind::Socket,
            libc::S_IFCHR => FileKind::CharDevice,
            libc::S_IFBLK => FileKind::BlockDevice,
            _ => FileKind::File,
        }
    }

    /// Permission bits including setuid, setgid and sticky.
    pub fn perm(&self) -> u32 {
        self.mode & 0o7777
    }

    fn from_raw(st: &libc::stat) -> Stat {
        Stat {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            size: st.st_size as u64,
            #[allow(clippy::useless_conversion)] // nlink_t is u32 on some architectures
            nlink: u64::from(st.st_nlink),
            dev: st.st_dev,
            ino: st.st_ino,
            atime: Timespec {
                sec: st.st_atime,
                nsec: st.st_atime_nsec,
            },
            mtime: Timespec {
                sec: st.st_mtime,
                nsec: st.st_mtime_nsec,
            },
        }
    }
}

fn own(fd: RawFd) -> OwnedFd {
    // SAFETY: only called with a descriptor the kernel has just returned to us, which
    // nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Opens a host path (relative to the current directory), adding `O_CLOEXEC`. Symlinks
/// are followed as usual: use it only for paths the invoking user controls.
pub fn open(path: &Path, flags: libc::c_int) -> io::Result<OwnedFd> {
    let p = path_cstr(path)?;
    // SAFETY: p is NUL-terminated; on success the kernel returns a fresh fd.
    let fd =
        check(unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC, 0o600 as libc::c_uint) })?;
    Ok(own(fd))
}

/// Opens the entry `name` of `dir` without following a symlink there (`O_NOFOLLOW` and
/// `O_CLOEXEC` are added). With `O_CREAT`, `mode` is the new file's mode (before umask).
/// With `O_PATH` a symlink itself is opened; otherwise a symlink fails with `ELOOP`.
pub fn open_at(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    let n = component(name)?;
    // SAFETY: valid fd and NUL-terminated single-component name; fresh fd on success.
    let fd = check(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            n.as_ptr(),
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    })?;
    Ok(own(fd))
}

/// Opens the very inode `fd` refers to again, with new `flags` (e.g. an `O_PATH` handle
/// reopened for reading once `fstat` showed it is a regular file). Goes through
/// `/proc/self/fd`, which names the open file itself, not a path that could change.
pub fn reopen(fd: BorrowedFd<'_>, flags: libc::c_int) -> io::Result<OwnedFd> {
    open(
        &Path::new("/proc/self/fd").join(fd.as_raw_fd().to_string()),
        flags,
    )
}

/// Opens the directory `dir` (possibly an `O_PATH` handle) for reading its entries: a
/// new open file description of the same directory.
pub fn reopen_dir(dir: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: valid fd and a static NUL-terminated path; fresh fd on success.
    let fd = check(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c".".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    })?;
    Ok(own(fd))
}

/// `fstat(2)`; works on `O_PATH` descriptors too (then it describes a symlink itself
/// when the handle was opened with `O_NOFOLLOW`).
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<Stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid fd; st is writable for one struct stat.
    check(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded and filled st.
    Ok(Stat::from_raw(&unsafe { st.assume_init() }))
}

/// `fstatat(2)` of the entry `name` in `dir`, not following a symlink there.
pub fn stat_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Stat> {
    let n = component(name)?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid fd, NUL-terminated name, st writable for one struct stat.
    check(unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            n.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    // SAFETY: fstatat succeeded and filled st.
    Ok(Stat::from_raw(&unsafe { st.assume_init() }))
}

/// The filesystem type magic (`f_type` of `fstatfs(2)`) of the file system holding `fd`.
pub fn fs_type(fd: BorrowedFd<'_>) -> io::Result<i64> {
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: valid fd (O_PATH is accepted); st is writable for one struct statfs.
    check(unsafe { libc::fstatfs(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstatfs succeeded and filled st.
    Ok(unsafe { st.assume_init() }.f_type)
}

/// The target of the symlink `fd` refers to (an `O_PATH|O_NOFOLLOW` handle on it):
/// `readlinkat(fd, "")`.
pub fn read_link(fd: BorrowedFd<'_>) -> io::Result<OsString> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: valid fd, empty NUL-terminated path, buf writable for its length.
        let n = unsafe {
            libc::readlinkat(
                fd.as_raw_fd(),
                EMPTY.as_ptr(),
                buf.as_mut_ptr() as *mut libc::c_char,
                buf.len(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(OsString::from_vec(buf));
        }
        // Possibly truncated: retry with more room (targets are at most PATH_MAX).
        if buf.len() >= 1 << 16 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "symlink target too long",
            ));
        }
        let len = buf.len() * 2;
        buf.resize(len, 0);
    }
}

/// Creates the symlink `name` in `dir` pointing at `target` (which is stored, never
/// resolved here).
pub fn symlink_at(target: &OsStr, dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let t = CString::new(target.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "symlink target contains a NUL byte",
        )
    })?;
    let n = component(name)?;
    // SAFETY: both strings are NUL-terminated; valid fd.
    check(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), n.as_ptr()) }).map(drop)
}

/// Creates `new_name` in `new_dir` as a hard link to `old_name` in `old_dir`. A symlink
/// at `old_name` is linked itself, not followed.
pub fn link_at(
    old_dir: BorrowedFd<'_>,
    old_name: &OsStr,
    new_dir: BorrowedFd<'_>,
    new_name: &OsStr,
) -> io::Result<()> {
    let o = component(old_name)?;
    let n = component(new_name)?;
    // SAFETY: valid fds and NUL-terminated names; flags 0 means no following.
    check(unsafe {
        libc::linkat(
            old_dir.as_raw_fd(),
            o.as_ptr(),
            new_dir.as_raw_fd(),
            n.as_ptr(),
            0,
        )
    })
    .map(drop)
}

/// Creates the directory `name` in `dir`.
pub fn mkdir_at(dir: BorrowedFd<'_>, name: &OsStr, mode: libc::mode_t) -> io::Result<()> {
    let n = component(name)?;
    // SAFETY: valid fd and NUL-terminated name.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), n.as_ptr(), mode) }).map(drop)
}

/// Creates the named pipe `name` in `dir`. (Device nodes are deliberately not offered.)
pub fn mkfifo_at(dir: BorrowedFd<'_>, name: &OsStr, mode: libc::mode_t) -> io::Result<()> {
    let n = component(name)?;
    // SAFETY: valid fd and NUL-terminated name; S_IFIFO creates no device.
    check(unsafe {
        libc::mknodat(
            dir.as_raw_fd(),
            n.as_ptr(),
            libc::S_IFIFO | (mode & 0o7777),
            0,
        )
    })
    .map(drop)
}

/// Removes the entry `name` of `dir`: an empty directory when `is_dir`, else a
/// non-directory (a symlink is removed itself).
pub fn unlink_at(dir: BorrowedFd<'_>, name: &OsStr, is_dir: bool) -> io::Result<()> {
    let n = component(name)?;
    let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: valid fd and NUL-terminated name.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), n.as_ptr(), flags) }).map(drop)
}

/// Changes the owner of what `fd` refers to (any descriptor, `O_PATH` included; a
/// symlink handle changes the symlink itself).
pub fn chown_fd(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: valid fd and the empty NUL-terminated path AT_EMPTY_PATH requires.
    check(unsafe {
        libc::fchownat(
            fd.as_raw_fd(),
            EMPTY.as_ptr(),
            uid,
            gid,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

/// Changes the permission bits of what `fd` refers to (any descriptor, `O_PATH`
/// included). Not for symlinks: Linux has no symlink modes.
pub fn chmod_fd(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    // fchmod refuses O_PATH handles; the /proc/self/fd link names the open file itself.
    let p = path_cstr(&Path::new("/proc/self/fd").join(fd.as_raw_fd().to_string()))?;
    // SAFETY: NUL-terminated path.
    check(unsafe { libc::chmod(p.as_ptr(), (mode & 0o7777) as libc::mode_t) }).map(drop)
}

/// Sets the access and modification times of what `fd` refers to (any descriptor,
/// `O_PATH` included; a symlink handle changes the symlink itself).
pub fn set_times_fd(fd: BorrowedFd<'_>, atime: Timespec, mtime: Timespec) -> io::Result<()> {
    let ts = |t: Timespec| libc::timespec {
        tv_sec: t.sec as libc::time_t,
        tv_nsec: t.nsec as libc::c_long,
    };
    let times = [ts(atime), ts(mtime)];
    // SAFETY: valid fd, empty NUL-terminated path, times points at two timespecs.
    check(unsafe {
        libc::utimensat(
            fd.as_raw_fd(),
            EMPTY.as_ptr(),
            times.as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

/// The names in directory `dir` (possibly an `O_PATH` handle), without `.` and `..`,
/// in the order the file system returns them.
pub fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    // A fresh open file description, so the directory offset we advance is ours alone.
    let fd = reopen_dir(dir)?.into_raw_fd();
    // SAFETY: fd is an open directory descriptor we own; fdopendir takes it over.
    let dirp = unsafe { libc::fdopendir(fd) };
    if dirp.is_null() {
        let e = io::Error::last_os_error();
        drop(own(fd));
        return Err(e);
    }
    let mut names = Vec::new();
    let result = loop {
        // SAFETY: errno is thread-local; readdir signals errors only through it.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: dirp is a valid DIR* until closedir below.
        let ent = unsafe { libc::readdir(dirp) };
        if ent.is_null() {
            // SAFETY: reading our thread's errno.
            let errno = unsafe { *libc::__errno_location() };
            break if errno == 0 {
                Ok(())
            } else {
                Err(io::Error::from_raw_os_error(errno))
            };
        }
        // SAFETY: ent points at a dirent whose d_name is NUL-terminated; we copy it out
        // before the next readdir call may overwrite it.
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            names.push(OsString::from_vec(name.to_vec()));
        }
    };
    // SAFETY: dirp is valid and closed exactly once; this also closes fd.
    unsafe { libc::closedir(dirp) };
    result.map(|()| names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn names_with_slashes_or_dots_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = open(tmp.path(), libc::O_PATH | libc::O_DIRECTORY).unwrap();
        for bad in ["", ".", "..", "a/b", "/etc"] {
            let e = mkdir_at(dir.as_fd(), OsStr::new(bad), 0o755).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn entries_are_made_listed_and_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = open(tmp.path(), libc::O_PATH | libc::O_DIRECTORY).unwrap();
        mkdir_at(dir.as_fd(), OsStr::new("d"), 0o750).unwrap();
        symlink_at(OsStr::new("/etc"), dir.as_fd(), OsStr::new("l")).unwrap();
        mkfifo_at(dir.as_fd(), OsStr::new("p"), 0o600).unwrap();
        let f = open_at(
            dir.as_fd(),
            OsStr::new("f"),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
            0o600,
        )
        .unwrap();
        drop(f);
        link_at(dir.as_fd(), OsStr::new("f"), dir.as_fd(), OsStr::new("h")).unwrap();
        let mut names = list_dir(dir.as_fd()).unwrap();
        names.sort();
        assert_eq!(names, ["d", "f", "h", "l", "p"].map(OsString::from));

        // A symlink is never followed: O_PATH opens the link itself, anything else fails.
        let l = open_at(dir.as_fd(), OsStr::new("l"), libc::O_PATH, 0).unwrap();
        assert_eq!(fstat(l.as_fd()).unwrap().kind(), FileKind::Symlink);
        assert_eq!(read_link(l.as_fd()).unwrap(), "/etc");
        let e = open_at(
            dir.as_fd(),
            OsStr::new("l"),
            libc::O_RDONLY | libc::O_DIRECTORY,
            0,
        )
        .unwrap_err();
        assert!(
            matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)),
            "{e}"
        );

        let f = open_at(dir.as_fd(), OsStr::new("f"), libc::O_PATH, 0).unwrap();
        assert_eq!(fstat(f.as_fd()).unwrap().nlink, 2);
        chmod_fd(f.as_fd(), 0o4751).unwrap();
        let t = Timespec {
            sec: 1_000_000_000,
            nsec: 5,
        };
        set_times_fd(f.as_fd(), t, t).unwrap();
        let st = stat_at(dir.as_fd(), OsStr::new("h")).unwrap();
        assert_eq!(st.perm(), 0o4751);
        assert_eq!(st.mtime, t);
        set_times_fd(l.as_fd(), t, t).unwrap();
        assert_eq!(stat_at(dir.as_fd(), OsStr::new("l")).unwrap().mtime, t);
        assert_eq!(
            stat_at(dir.as_fd(), OsStr::new("p")).unwrap().kind(),
            FileKind::Fifo
        );

        unlink_at(dir.as_fd(), OsStr::new("d"), true).unwrap();
        unlink_at(dir.as_fd(), OsStr::new("l"), false).unwrap();
        assert!(
            std::fs::metadata("/etc").is_ok(),
            "unlinking a symlink leaves its target"
        );
    }
}
