//! Builds the container's filesystem view inside its new mount namespace: the overlay
//! root, the spec's mounts, a minimal /dev, pivot_root, masked and read-only paths.
//!
//! Every mount target is resolved with `openat2(RESOLVE_IN_ROOT)`, so a symlink in the
//! image can never redirect a mount onto the host. Runs only in the container's setup
//! process; never call it from a process in the host mount namespace.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::Mount;

use crate::report::Context;
use crate::{fsat, sys, Rootfs, StartError};

/// Makes the whole tree private to this namespace, then mounts the root at its target:
/// `prebuilt` when the parent built it (user namespaces, see `idmap`), else the overlay
/// or bind that `rootfs` describes. Returns the target directory.
pub fn mount_root(rootfs: &Rootfs, prebuilt: Option<OwnedFd>) -> Result<PathBuf, StartError> {
    sys::mount(
        None,
        Path::new("/"),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
    )
    .ctx(|| "making / private in the container's mount namespace".into())?;
    if let Some(mnt) = prebuilt {
        let target = match rootfs {
            Rootfs::Overlay { target, .. } => target,
            Rootfs::Bind(dir) => dir,
        };
        sys::move_mount_to(mnt.as_fd(), target)
            .ctx(|| format!("attaching the root at {}", target.display()))?;
        return Ok(target.clone());
    }
    match rootfs {
        Rootfs::Overlay {
            lower,
            upper,
            work,
            target,
        } => {
            let lowers: Vec<String> = lower.iter().map(|p| escape_overlay(p)).collect();
            let data = format!(
                "lowerdir={},upperdir={},workdir={}",
                lowers.join(":"),
                escape_overlay(upper),
                escape_overlay(work)
            );
            if data.len() < MOUNT_DATA_MAX {
                sys::mount(Some("overlay"), target, Some("overlay"), 0, Some(&data))
                    .ctx(|| format!("mounting the overlay root at {}", target.display()))?;
            } else {
                overlay_by_fsconfig(lower, upper, work, target).ctx(|| {
                    format!(
                        "mounting the overlay root of {} layers at {} (needs Linux 6.8 or newer past {} bytes of layer paths)",
                        lower.len(),
                        target.display(),
                        MOUNT_DATA_MAX
                    )
                })?;
            }
            Ok(target.clone())
        }
        Rootfs::Bind(dir) => {
            sys::mount(
                Some(&dir.to_string_lossy()),
                dir,
                None,
                libc::MS_BIND | libc::MS_REC,
                None,
            )
            .ctx(|| format!("bind-mounting the root {}", dir.display()))?;
            Ok(dir.clone())
        }
    }
}

/// mount(2) takes its options in one page; a long list of layer paths does not fit.
const MOUNT_DATA_MAX: usize = 4000;

/// An overlay with one `lowerdir+` per layer (new mount API, Linux 6.8): no limit on
/// the number of layers, and no escaping of paths.
fn overlay_by_fsconfig(
    lower: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
) -> io::Result<()> {
    let fs = sys::fs_open("overlay")?;
    for l in lower {
        sys::fs_config(fs.as_fd(), "lowerdir+", Some(&l.to_string_lossy()))?;
    }
    sys::fs_config(fs.as_fd(), "upperdir", Some(&upper.to_string_lossy()))?;
    sys::fs_config(fs.as_fd(), "workdir", Some(&work.to_string_lossy()))?;
    let mnt = sys::fs_mount(fs.as_fd())?;
    sys::move_mount_to(mnt.as_fd(), target)
}

/// Overlay options are comma- and colon-separated; escape both in paths.
fn escape_overlay(p: &Path) -> String {
    p.to_string_lossy()
        .replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace(':', "\\:")
}

/// Mount flags and filesystem data parsed from OCI mount options.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MountOptions {
    pub flags: libc::c_ulong,
    pub propagation: libc::c_ulong,
    pub data: Vec<String>,
}

/// The option that names a subpath of a volume (see [`HostSources`]).
const SUBPATH: &str = "berth-subpath=";

fn subpath(m: &Mount) -> Option<&str> {
    m.options()
        .as_deref()?
        .iter()
        .find_map(|o| o.strip_prefix(SUBPATH))
}

pub fn parse_options(options: &[String]) -> MountOptions {
    let mut o = MountOptions::default();
    for opt in options {
        if opt.starts_with(SUBPATH) {
            continue;
        }
        let (set, clear): (libc::c_ulong, libc::c_ulong) = match opt.as_str() {
            "ro" => (libc::MS_RDONLY, 0),
            "rw" => (0, libc::MS_RDONLY),
            "nosuid" => (libc::MS_NOSUID, 0),
            "suid" => (0, libc::MS_NOSUID),
            "nodev" => (libc::MS_NODEV, 0),
            "dev" => (0, libc::MS_NODEV),
            "noexec" => (libc::MS_NOEXEC, 0),
            "exec" => (0, libc::MS_NOEXEC),
            "sync" => (libc::MS_SYNCHRONOUS, 0),
            "async" => (0, libc::MS_SYNCHRONOUS),
            "noatime" => (libc::MS_NOATIME, 0),
            "nodiratime" => (libc::MS_NODIRATIME, 0),
            "relatime" => (libc::MS_RELATIME, 0),
            "strictatime" => (libc::MS_STRICTATIME, 0),
            "bind" => (libc::MS_BIND, 0),
            "rbind" => (libc::MS_BIND | libc::MS_REC, 0),
            "private" => {
                o.propagation = libc::MS_PRIVATE;
                continue;
            }
            "rprivate" => {
                o.propagation = libc::MS_PRIVATE | libc::MS_REC;
                continue;
            }
            "slave" => {
                o.propagation = libc::MS_SLAVE;
                continue;
            }
            "rslave" => {
                o.propagation = libc::MS_SLAVE | libc::MS_REC;
                continue;
            }
            "shared" => {
                o.propagation = libc::MS_SHARED;
                continue;
            }
            "rshared" => {
                o.propagation = libc::MS_SHARED | libc::MS_REC;
                continue;
            }
            _ => {
                o.data.push(opt.clone());
                continue;
            }
        };
        o.flags = (o.flags | set) & !clear;
    }
    o
}

/// Opens (creating if needed) `dest` inside `root` without ever leaving it. Missing
/// directories are created 0755; a missing last component becomes a directory, or an
/// empty file when `file` is set (bind mounts of files need a file to cover). A dangling
/// symlink on the way is followed the way the kernel would inside the root, and what it
/// points at is created there (as runc's securejoin does), never on the host.
pub fn ensure_in_root(root: BorrowedFd<'_>, dest: &Path, file: bool) -> io::Result<OwnedFd> {
    let mut comps: Vec<OsString> = Vec::new();
    push_lexical(&mut comps, dest);
    // Each restart resolves one dangling symlink; 40 is the kernel's own link limit.
    for _ in 0..40 {
        let whole: PathBuf = Path::new("/").join(comps.iter().collect::<PathBuf>());
        match sys::openat2_in_root(root, &whole, libc::O_PATH) {
            Ok(fd) => return Ok(fd),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
        match create_missing(root, &comps, file)? {
            Walk::Done(fd) => return Ok(fd),
            Walk::Restart(next) => comps = next,
        }
    }
    Err(io::Error::from_raw_os_error(libc::ELOOP))
}

enum Walk {
    Done(OwnedFd),
    /// A dangling symlink was met: the path to try next, with the link substituted.
    Restart(Vec<OsString>),
}

/// Appends `p`'s components to `comps`, applying `..` lexically (clamped at the root,
/// exactly as RESOLVE_IN_ROOT treats it).
fn push_lexical(comps: &mut Vec<OsString>, p: &Path) {
    for c in p.components() {
        match c {
            Component::Normal(n) => comps.push(n.to_os_string()),
            Component::ParentDir => {
                comps.pop();
            }
            Component::RootDir => comps.clear(),
            _ => {}
        }
    }
}

fn create_missing(root: BorrowedFd<'_>, comps: &[OsString], file: bool) -> io::Result<Walk> {
    let mut prefix = PathBuf::from("/");
    let mut parent = sys::openat2_in_root(root, &prefix, libc::O_PATH | libc::O_DIRECTORY)?;
    for (i, name) in comps.iter().enumerate() {
        prefix.push(name);
        let last = i + 1 == comps.len();
        let flags = if last {
            libc::O_PATH
        } else {
            libc::O_PATH | libc::O_DIRECTORY
        };
        match sys::openat2_in_root(root, &prefix, flags) {
            Ok(fd) => {
                parent = fd;
                continue;
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
        // Missing, or a symlink whose target is missing.
        if let Ok(link) = fsat::open_at(parent.as_fd(), name, libc::O_PATH, 0) {
            if fsat::fstat(link.as_fd()).is_ok_and(|st| st.kind() == fsat::FileKind::Symlink) {
                let target = fsat::read_link(link.as_fd())?;
                let mut next: Vec<OsString> = comps[..i].to_vec();
                push_lexical(&mut next, Path::new(&target));
                next.extend(comps[i + 1..].iter().cloned());
                return Ok(Walk::Restart(next));
            }
        }
        let made = if last && file {
            sys::create_file_at(parent.as_fd(), name, 0o644)
        } else {
            sys::mkdirat(parent.as_fd(), name, 0o755)
        };
        match made {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(e),
        }
        parent = sys::openat2_in_root(root, &prefix, flags)?;
    }
    Ok(Walk::Done(parent))
}

/// Performs one OCI mount below `root_path` (open as `root`).
/// Descriptors for the host paths that bind mounts take their source from, opened
/// before the setup process gives up the right to search the host's directories (in a
/// user namespace, the container's root may not enter a 0700 state root).
pub struct HostSources {
    fds: Vec<(PathBuf, OwnedFd)>,
}

impl HostSources {
    pub fn open(mounts: &[Mount]) -> Result<HostSources, StartError> {
        let mut fds = Vec::new();
        for m in mounts {
            let typ = m.typ().as_deref().unwrap_or("bind");
            let opts = parse_options(m.options().as_deref().unwrap_or(&[]));
            if !(opts.flags & libc::MS_BIND != 0 || typ == "bind") {
                continue;
            }
            if let Some(src) = m.source() {
                let fd =
                    sys::open_path(src).ctx(|| format!("opening bind source {}", src.display()))?;
                // A volume subpath is resolved inside the volume: a symlink the
                // container left there cannot point the mount at the host.
                let fd = match subpath(m) {
                    Some(sub) => sys::openat2_in_root(fd.as_fd(), Path::new(sub), libc::O_PATH)
                        .map_err(|e| {
                            StartError::berth(format!(
                                "volume subpath {sub} of {}: {e} (it must exist in the volume)",
                                src.display()
                            ))
                        })?,
                    None => fd,
                };
                fds.push((m.destination().clone(), fd));
            }
        }
        Ok(HostSources { fds })
    }

    /// The path through which `m`'s source can be reached without a path walk on the host.
    pub fn get(&self, m: &Mount) -> Option<PathBuf> {
        self.fds
            .iter()
            .find(|(dest, _)| dest == m.destination())
            .map(|(_, fd)| sys::fd_path(fd.as_fd()))
    }
}

/// Mounts `m` inside `root`. `via` reaches the bind source without a host path walk
/// (see [`HostSources`]); messages still name the source as the spec does.
pub fn mount_one(root: BorrowedFd<'_>, m: &Mount, via: Option<PathBuf>) -> Result<(), StartError> {
    let dest = m.destination();
    let typ = m.typ().as_deref().unwrap_or("bind");
    let opts = parse_options(m.options().as_deref().unwrap_or(&[]));
    let is_bind = opts.flags & libc::MS_BIND != 0 || typ == "bind";
    let source = m
        .source()
        .as_ref()
        .map(|s| s.to_string_lossy().into_owned());
    let bind_source = via
        .map(|p| p.to_string_lossy().into_owned())
        .or_else(|| source.clone());

    let file = is_bind
        && bind_source
            .as_deref()
            .map(|s| fs::metadata(s).map(|m| !m.is_dir()).unwrap_or(false))
            .unwrap_or(false);
    let target = ensure_in_root(root, dest, file)
        .ctx(|| format!("creating mount point {}", dest.display()))?;
    let target_path = sys::fd_path(target.as_fd());
    let what = || {
        format!(
            "mounting {} on {}",
            source.as_deref().unwrap_or(typ),
            dest.display()
        )
    };

    if is_bind {
        let src = bind_source.as_deref().ok_or_else(|| {
            StartError::berth(format!("bind mount on {} has no source", dest.display()))
        })?;
        sys::mount(
            Some(src),
            &target_path,
            None,
            libc::MS_BIND | (opts.flags & libc::MS_REC),
            None,
        )
        .ctx(what)?;
        let extra = opts.flags & !(libc::MS_BIND | libc::MS_REC);
        if extra != 0 {
            // Flags on a bind only take effect through a remount of the new mount.
            let reopened = sys::openat2_in_root(root, dest, libc::O_PATH).ctx(what)?;
            sys::mount(
                None,
                &sys::fd_path(reopened.as_fd()),
                None,
                libc::MS_BIND | libc::MS_REMOUNT | extra,
                None,
            )
            .ctx(what)?;
        }
    } else {
        let data = opts.data.join(",");
        let data = (!data.is_empty()).then_some(data);
        sys::mount(
            Some(source.as_deref().unwrap_or(typ)),
            &target_path,
            Some(typ),
            opts.flags,
            data.as_deref(),
        )
        .ctx(what)?;
    }
    if opts.propagation != 0 {
        let reopened = sys::openat2_in_root(root, dest, libc::O_PATH).ctx(what)?;
        sys::mount(
            None,
            &sys::fd_path(reopened.as_fd()),
            None,
            opts.propagation,
            None,
        )
        .ctx(what)?;
    }
    Ok(())
}

/// Copies what the image has at `src` (inside `root`) into an empty volume directory,
/// as Docker does the first time a named volume is mounted. Symlinks are copied as
/// links, never followed.
pub fn seed_volume(root: BorrowedFd<'_>, src: &Path, volume: &Path) -> Result<(), StartError> {
    let empty = fs::read_dir(volume)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if !empty {
        return Ok(());
    }
    let fd = match sys::openat2_in_root(root, src, libc::O_PATH | libc::O_DIRECTORY) {
        Ok(fd) => fd,
        Err(_) => return Ok(()), // nothing there (or not a directory): nothing to copy
    };
    let base = sys::fd_path(fd.as_fd());
    copy_tree(&base, volume).ctx(|| format!("copying {} into its volume", src.display()))?;
    // The volume's root takes the image directory's owner and mode.
    if let Ok(meta) = fs::metadata(&base) {
        use std::os::unix::fs::MetadataExt;
        let _ = std::os::unix::fs::chown(volume, Some(meta.uid()), Some(meta.gid()));
        let _ = fs::set_permissions(volume, fs::Permissions::from_mode(meta.mode() & 0o7777));
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let meta = entry.metadata()?; // does not follow symlinks
        let dst = to.join(entry.file_name());
        let ft = meta.file_type();
        if ft.is_symlink() {
            symlink(fs::read_link(entry.path())?, &dst)?;
        } else if ft.is_dir() {
            fs::create_dir(&dst)?;
            copy_tree(&entry.path(), &dst)?;
            fs::set_permissions(&dst, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        } else if ft.is_file() {
            fs::copy(entry.path(), &dst)?;
        } else {
            continue; // devices, fifos and sockets are not copied into volumes
        }
        std::os::unix::fs::lchown(&dst, Some(meta.uid()), Some(meta.gid()))?;
    }
    Ok(())
}

/// Creates the spec's extra device nodes (`--device`, `--privileged`) in the fresh /dev
/// tmpfs under `root`. Only paths below /dev are accepted, and an existing node (one of
/// the standard ones) is replaced, so a spec cannot make berth write elsewhere.
pub fn create_devices(
    root: &Path,
    devices: &[oci_spec::runtime::LinuxDevice],
) -> Result<(), StartError> {
    use oci_spec::runtime::LinuxDeviceType;
    for d in devices {
        let rel = d.path().strip_prefix("/dev").map_err(|_| {
            StartError::berth(format!(
                "device path {} is not below /dev",
                d.path().display()
            ))
        })?;
        if rel.as_os_str().is_empty()
            || rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(StartError::berth(format!(
                "invalid device path {}",
                d.path().display()
            )));
        }
        let target = root.join("dev").join(rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).ctx(|| format!("creating {}", parent.display()))?;
        }
        let kind = match d.typ() {
            LinuxDeviceType::B => libc::S_IFBLK,
            LinuxDeviceType::P => libc::S_IFIFO,
            _ => libc::S_IFCHR,
        };
        let mode = d.file_mode().unwrap_or(0o666) & 0o7777;
        let _ = fs::remove_file(&target);
        sys::mknod(&target, kind | mode, d.major() as u32, d.minor() as u32)
            .ctx(|| format!("creating device {}", d.path().display()))?;
        fs::set_permissions(&target, fs::Permissions::from_mode(mode))
            .ctx(|| format!("chmod {}", target.display()))?;
        let _ = std::os::unix::fs::lchown(&target, d.uid(), d.gid());
    }
    Ok(())
}

/// Device nodes every container gets: (name, major, minor).
const DEVICES: &[(&str, u32, u32)] = &[
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// Populates the fresh /dev tmpfs at `dev` with device nodes and the standard links.
pub fn populate_dev(dev: &Path) -> Result<(), StartError> {
    for (name, major, minor) in DEVICES {
        let path = dev.join(name);
        match sys::mknod(&path, libc::S_IFCHR | 0o666, *major, *minor) {
            Ok(()) => {
                // mknod applies the umask; devices must be world-usable.
                fs::set_permissions(&path, fs::Permissions::from_mode(0o666))
                    .ctx(|| format!("chmod {}", path.display()))?;
            }
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(_) => {
                // No CAP_MKNOD (user namespace): bind the host's node instead.
                sys::create_file_at(sys::borrow(libc::AT_FDCWD), path.as_os_str(), 0o666)
                    .ctx(|| format!("creating {}", path.display()))?;
                sys::mount(
                    Some(&format!("/dev/{name}")),
                    &path,
                    None,
                    libc::MS_BIND,
                    None,
                )
                .ctx(|| format!("binding /dev/{name}"))?;
            }
        }
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ] {
        let path = dev.join(link);
        match symlink(target, &path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(StartError::berth(format!(
                    "creating {}: {e}",
                    path.display()
                )))
            }
        }
    }
    Ok(())
}

/// Moves the process into `new_root` and detaches the old root entirely.
pub fn pivot(new_root: &Path) -> Result<(), StartError> {
    std::env::set_current_dir(new_root).ctx(|| format!("chdir {}", new_root.display()))?;
    sys::pivot_root(Path::new("."), Path::new(".")).ctx(|| "pivot_root".into())?;
    // The old root now sits on top of the new one at "."; make sure its unmount cannot
    // propagate anywhere, then detach it.
    sys::mount(
        None,
        Path::new("."),
        None,
        libc::MS_SLAVE | libc::MS_REC,
        None,
    )
    .ctx(|| "making the old root a slave".into())?;
    sys::umount2(Path::new("."), libc::MNT_DETACH).ctx(|| "detaching the old root".into())?;
    std::env::set_current_dir("/").ctx(|| "chdir /".into())?;
    Ok(())
}

/// Hides `paths` (after pivot_root): directories get an empty read-only tmpfs, files
/// /dev/null. Paths the kernel does not have are skipped.
pub fn mask(paths: &[String]) -> Result<(), StartError> {
    for p in paths {
        let path = Path::new(p);
        let Ok(meta) = fs::metadata(path) else {
            continue;
        };
        let r = if meta.is_dir() {
            sys::mount(
                Some("tmpfs"),
                path,
                Some("tmpfs"),
                libc::MS_RDONLY,
                Some("size=0k"),
            )
        } else {
            sys::mount(Some("/dev/null"), path, None, libc::MS_BIND, None)
        };
        r.ctx(|| format!("masking {p}"))?;
    }
    Ok(())
}

/// Makes `paths` read-only (after pivot_root). Missing paths are skipped.
pub fn readonly(paths: &[String]) -> Result<(), StartError> {
    for p in paths {
        let path = Path::new(p);
        if fs::symlink_metadata(path).is_err() {
            continue;
        }
        sys::mount(Some(p), path, None, libc::MS_BIND | libc::MS_REC, None)
            .ctx(|| format!("read-only {p}"))?;
        sys::mount(
            None,
            path,
            None,
            libc::MS_BIND
                | libc::MS_REMOUNT
                | libc::MS_RDONLY
                | libc::MS_REC
                | libc::MS_NOSUID
                | libc::MS_NODEV
                | libc::MS_NOEXEC,
            None,
        )
        .ctx(|| format!("read-only {p}"))?;
    }
    Ok(())
}

/// Remounts `/` read-only (`--read-only`).
pub fn readonly_root() -> Result<(), StartError> {
    sys::mount(
        None,
        Path::new("/"),
        None,
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
        None,
    )
    .ctx(|| "remounting / read-only".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_into_flags_propagation_and_data() {
        let o = parse_options(&[
            "nosuid".into(),
            "ro".into(),
            "rbind".into(),
            "rslave".into(),
            "size=64m".into(),
            "mode=1777".into(),
        ]);
        assert_eq!(
            o.flags,
            libc::MS_NOSUID | libc::MS_RDONLY | libc::MS_BIND | libc::MS_REC
        );
        assert_eq!(o.propagation, libc::MS_SLAVE | libc::MS_REC);
        assert_eq!(
            o.data,
            vec!["size=64m".to_string(), "mode=1777".to_string()]
        );
        let o = parse_options(&["ro".into(), "rw".into()]);
        assert_eq!(o.flags, 0);
    }

    #[test]
    fn overlay_paths_are_escaped() {
        assert_eq!(escape_overlay(Path::new("/a,b:c")), "/a\\,b\\:c");
    }

    #[test]
    fn ensure_in_root_cannot_escape_through_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let outside = t.path().join("outside");
        fs::create_dir_all(&root).unwrap();
        fs::create_dir_all(&outside).unwrap();
        // An absolute symlink in the "image" pointing at the host directory.
        symlink(&outside, root.join("data")).unwrap();
        symlink("../../..", root.join("up")).unwrap();
        let rfd = fs::File::open(&root).unwrap();
        ensure_in_root(rfd.as_fd(), Path::new("/data/sub"), false).unwrap();
        ensure_in_root(rfd.as_fd(), Path::new("/up/x/file"), true).unwrap();
        assert!(
            fs::read_dir(&outside).unwrap().next().is_none(),
            "nothing created outside the root"
        );
        // The escape attempts landed inside the root instead.
        assert!(root
            .join(outside.strip_prefix("/").unwrap())
            .join("sub")
            .is_dir());
        assert!(root.join("x/file").is_file());
    }
}
