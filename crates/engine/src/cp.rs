//! `berth cp`: copying files between the host and a container, with `docker cp`'s
//! semantics (see [`copy`]).
//!
//! Owns: parsing the two endpoints; getting at the container's file system (through
//! `/proc/PID/root` of a running container, which shows its own mounts, or, for a
//! stopped one, by mounting its overlay and volumes in the private mount namespace of a
//! forked child that then does the whole copy and vanishes with its mounts); and the
//! copy itself: a tree walk, a tar stream out, or a tar extraction in.
//!
//! Must never (CVE-2018-15664 and friends):
//! - resolve a container path other than with `openat2(RESOLVE_IN_ROOT)` from the
//!   container's root, or walk a container tree other than entry by entry through
//!   descriptors, opening one component at a time with `O_NOFOLLOW`. A container that
//!   swaps a directory for a symlink mid-copy can at worst redirect the copy to another
//!   place inside its own root;
//! - open anything but a directory or a regular file for reading or writing (a device
//!   node planted by the container stays untouched), or write into an existing inode (a
//!   file being replaced is unlinked and created anew);
//! - leave a mount in the host's mount namespace;
//! - print anything but the tar stream it was asked for (warnings go to the caller).
//!
//! The stopped-container path forks: the calling process must be single-threaded
//! (the berth CLI is).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use runtime::fsat::{self, FileKind, Stat, Timespec};
use runtime::sys;
use serde_json::{json, Value};

use crate::containers;
use crate::error::{Error, IoContext, Result};
use crate::record::{MountType, Record, State};
use crate::spec;
use crate::state_root::{Lock, StateRoot};
use crate::volumes;

/// The flags of `berth cp`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyOptions {
    /// Keep the source's uid/gid when copying into a container (otherwise root owns
    /// what is copied in).
    pub archive: bool,
    /// Follow a symlink that SRC itself names.
    pub follow_link: bool,
}

/// What a successful copy has to tell the user.
#[derive(Debug, Default)]
pub struct Report {
    /// Things that were skipped (device nodes, sockets, unmountable volumes).
    pub warnings: Vec<String>,
}

/// One side of `berth cp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `CONTAINER:PATH`; the path is relative to the container's `/`.
    Container { container: String, path: String },
    /// A host path, relative to the current directory unless absolute.
    Local(String),
    /// `-`: a tar stream on stdin (SRC) or stdout (DEST).
    Stream,
}

impl Endpoint {
    /// Docker's rule: `-` is a stream; a path starting with `/` is local; so is one
    /// without `:` or whose part before the first `:` starts with `.` (`./a:b`).
    pub fn parse(arg: &str) -> Endpoint {
        if arg == "-" {
            return Endpoint::Stream;
        }
        if arg.starts_with('/') {
            return Endpoint::Local(arg.to_string());
        }
        match arg.split_once(':') {
            Some((container, path)) if !container.starts_with('.') => Endpoint::Container {
                container: container.to_string(),
                path: path.to_string(),
            },
            _ => Endpoint::Local(arg.to_string()),
        }
    }
}

/// Copies `src` to `dest` (each as given on the command line), one of which must be
/// `CONTAINER:PATH`, like `docker cp`:
///
/// - a file SRC goes into DEST/basename when DEST is a directory, replaces DEST when it
///   is a file, and becomes DEST when DEST is missing (its parent must exist; a DEST
///   ending in `/` must then exist as a directory);
/// - a directory SRC becomes DEST when DEST is missing and goes into DEST/basename when
///   DEST is a directory; SRC ending in `/.` copies its contents into DEST instead;
/// - symlinks are copied as symlinks (with `follow_link`, the one SRC names is followed);
///   modes and mtimes are kept; what is copied into a container is owned by root unless
///   `archive`; what is copied out keeps the container's uid/gid;
/// - DEST `-` writes a tar stream of SRC to `output`; SRC `-` extracts the tar stream in
///   `input` into the existing directory DEST.
pub fn copy(
    root: &StateRoot,
    src: &str,
    dest: &str,
    opts: &CopyOptions,
    input: &mut dyn Read,
    output: &mut dyn Write,
) -> Result<Report> {
    let (key, plan) = plan(src, dest)?;
    let id = containers::find(root, &key)?;
    // A container can start or stop while we look at it; each state change is retried.
    for _ in 0..3 {
        let (record, state) = containers::load(root, &id)?;
        let name = record.short_name().to_string();
        if is_running(&state) {
            if let Some(mut fs) = open_running(&state, &name)? {
                fs.shift = IdShift::of(&record);
                let mut warnings = Vec::new();
                run_plan(&fs, &plan, opts, input, output, &mut warnings)?;
                return Ok(Report { warnings });
            }
            continue; // it stopped meanwhile
        }
        // Holding the container's lock keeps it from starting while its file system is
        // mounted here (a second overlay mount of the same upper layer is undefined).
        let lock = Lock::acquire(&root.container(&id).join("lock"))?;
        let (record, state) = containers::load(root, &id)?;
        if is_running(&state) {
            drop(lock);
            continue;
        }
        let writable = matches!(plan, Plan::In { .. });
        let warnings = in_private_namespace(|| {
            let mut warnings = Vec::new();
            let fs = mount_stopped(root, &id, &record, writable, &mut warnings)?;
            run_plan(&fs, &plan, opts, input, output, &mut warnings)?;
            Ok(warnings)
        });
        drop(lock);
        return warnings.map(|warnings| Report { warnings });
    }
    Err(Error::conflict(format!(
        "container {key} kept starting and stopping during the copy: try again"
    )))
}

fn is_running(state: &State) -> bool {
    state.running && sys::process_alive(state.pid, state.pid_start)
}

/// The local end of a copy.
#[derive(Debug)]
enum Local {
    Path(CleanPath),
    Stream,
}

#[derive(Debug)]
enum Plan {
    /// From the container to the host or a tar stream.
    Out { from: CleanPath, to: Local },
    /// From the host or a tar stream into the container.
    In { from: Local, to: CleanPath },
}

fn plan(src: &str, dest: &str) -> Result<(String, Plan)> {
    use Endpoint::*;
    let host = |p: &str| CleanPath::parse(p.as_bytes(), false);
    let ctr = |p: &str| CleanPath::parse(p.as_bytes(), true);
    match (Endpoint::parse(src), Endpoint::parse(dest)) {
        (Container { container, path }, Local(p)) => {
            Ok((container, Plan::Out { from: ctr(&path), to: self::Local::Path(host(&p)) }))
        }
        (Container { container, path }, Stream) => Ok((container, Plan::Out { from: ctr(&path), to: self::Local::Stream })),
        (Local(p), Container { container, path }) => {
            Ok((container, Plan::In { from: self::Local::Path(host(&p)), to: ctr(&path) }))
        }
        (Stream, Container { container, path }) => Ok((container, Plan::In { from: self::Local::Stream, to: ctr(&path) })),
        (Container { .. }, Container { .. }) => Err(Error::invalid(
            "copying between containers is not supported: copy to the host first, then into the other container",
        )),
        _ => Err(Error::invalid(
            "one of SRC and DEST must be CONTAINER:PATH (e.g. berth cp web:/etc/hosts ./hosts, or berth cp ./app web:/srv)",
        )),
    }
}

/// The container's file system as seen from its root directory.
struct ContainerFs {
    root: OwnedFd,
    name: String,
    /// Ids on disk against ids inside (a container with its own user namespace).
    shift: IdShift,
}

/// How a container in its own user namespace sees the ids of files: host ids inside its
/// range appear shifted down to 0..size, others as the overflow id 65534. The identity
/// (size 0) for a container sharing the host's ids.
#[derive(Debug, Clone, Copy, Default)]
struct IdShift {
    uid: u32,
    gid: u32,
    size: u32,
}

impl IdShift {
    fn of(record: &Record) -> IdShift {
        match &record.security.user_namespace {
            Some(ns) => {
                let (uid, gid) = ns.root();
                let size = ns.uid_map.first().map(|r| r.size).unwrap_or(0);
                IdShift { uid, gid, size }
            }
            None => IdShift::default(),
        }
    }

    /// What the container calls host ids `uid`, `gid`.
    fn inside(&self, uid: u32, gid: u32) -> (u32, u32) {
        if self.size == 0 {
            return (uid, gid);
        }
        let one = |id: u32, base: u32| {
            id.checked_sub(base)
                .filter(|i| *i < self.size)
                .unwrap_or(65534)
        };
        (one(uid, self.uid), one(gid, self.gid))
    }

    /// The host ids of the container's `uid`, `gid`.
    fn outside(&self, uid: u32, gid: u32) -> Result<(u32, u32)> {
        if self.size == 0 {
            return Ok((uid, gid));
        }
        if uid >= self.size || gid >= self.size {
            return Err(Error::invalid(format!(
                "uid/gid {uid}:{gid} is outside the container's user namespace (ids 0-{}): \
                 copy without -a, or change the owner first",
                self.size - 1
            )));
        }
        Ok((self.uid + uid, self.gid + gid))
    }
}

/// Opens the root of a running container. `None` if it stopped before we held it.
fn open_running(state: &State, name: &str) -> Result<Option<ContainerFs>> {
    let proc_root = PathBuf::from(format!("/proc/{}/root", state.pid));
    let root = match fsat::open(&proc_root, libc::O_PATH | libc::O_DIRECTORY) {
        Ok(fd) => fd,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ESRCH)) => {
            return Ok(None)
        }
        Err(e) => return Err(e).ctx(|| format!("opening the root of container {name}")),
    };
    // Checked after opening: if the pid was reused meanwhile, the fd is someone else's.
    if !sys::process_alive(state.pid, state.pid_start) {
        return Ok(None);
    }
    Ok(Some(ContainerFs {
        root,
        name: name.to_string(),
        shift: IdShift::default(),
    }))
}

/// Runs `work` in a forked child and returns its result. The child is where a stopped
/// container gets mounted: its mount namespace (and every mount in it) ends with it.
fn in_private_namespace(work: impl FnOnce() -> Result<Vec<String>>) -> Result<Vec<String>> {
    let (rd, wr) = sys::pipe().ctx(|| "creating a pipe to the copy process".into())?;
    // Nothing buffered in this process may be written twice.
    let _ = io::stdout().flush();
    // SAFETY of the fork: the berth CLI is single-threaded (see the module docs).
    match sys::fork().ctx(|| "forking the copy process".into())? {
        sys::Forked::Child => {
            drop(rd);
            // A panic must end here, never unwind into the parent's code.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let (msg, code) = match outcome {
                Ok(Ok(warnings)) => (json!({ "warnings": warnings }), 0),
                Ok(Err(e)) => (json!({ "error": e.to_string() }), 1),
                Err(_) => (json!({ "error": "the copy process panicked" }), 1),
            };
            let _ = io::stdout().flush();
            let _ = sys::write_all(wr.as_raw_fd(), msg.to_string().as_bytes());
            sys::exit_now(code)
        }
        sys::Forked::Parent(pid) => {
            drop(wr);
            let mut buf = Vec::new();
            let read = File::from(rd).read_to_end(&mut buf);
            let status = sys::waitpid(pid, 0).ctx(|| "waiting for the copy process".into())?;
            read.ctx(|| "reading the result of the copy process".into())?;
            let msg: Value = serde_json::from_slice(&buf).unwrap_or(Value::Null);
            if let Some(e) = msg.get("error").and_then(Value::as_str) {
                return Err(Error::invalid(e));
            }
            match msg.get("warnings").and_then(Value::as_array) {
                Some(w) => Ok(w
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()),
                None => Err(Error::invalid(format!(
                    "the copy process ended without a result (wait status {:?})",
                    status.map(|(_, s)| s)
                ))),
            }
        }
    }
}

/// In the copy child only: mounts the stopped container's root like the runtime does
/// (overlay, then its hostname/hosts/resolv.conf, binds and volumes; tmpfs mounts hold
/// nothing while it is stopped) and opens it. Read-only unless copying in.
fn mount_stopped(
    root: &StateRoot,
    id: &str,
    record: &Record,
    writable: bool,
    warnings: &mut Vec<String>,
) -> Result<ContainerFs> {
    let name = record.short_name().to_string();
    sys::unshare(libc::CLONE_NEWNS).ctx(|| "creating a private mount namespace".into())?;
    let dir = root.container(id);
    let dirs = spec::rootfs_dirs(&dir);
    // The runtime's own root mount: / made private first, so nothing mounted here
    // propagates back to the host.
    let rootfs = runtime::Rootfs::Overlay {
        lower: record.rootfs_layers.clone(),
        upper: dirs.upper.clone(),
        work: dirs.work.clone(),
        target: dirs.merged.clone(),
    };
    let failed = |e: runtime::StartError| {
        Error::invalid(format!("mounting the file system of container {name}: {e}"))
    };
    // In a user namespace the image layers hold the image's own ids and the upper layer
    // the host's: idmapping the layers, as at start, makes them agree.
    let prebuilt = match &record.security.user_namespace {
        Some(ns) => {
            let maps = |m: &[crate::userns::IdRange]| -> Result<Vec<runtime::idmap::IdMapping>> {
                serde_json::from_value(json!(m
                    .iter()
                    .map(|r| json!({"containerID": r.container_id, "hostID": r.host_id, "size": r.size}))
                    .collect::<Vec<_>>()))
                .map_err(|e| Error::invalid(format!("id map of container {name}: {e}")))
            };
            let userns = runtime::idmap::new_namespace(&maps(&ns.uid_map)?, &maps(&ns.gid_map)?)
                .map_err(failed)?;
            Some(
                runtime::idmap::root_mount(&rootfs, &userns)
                    .map_err(failed)?
                    .mount,
            )
        }
        None => None,
    };
    runtime::mount_root(&rootfs, prebuilt).map_err(failed)?;
    if !writable {
        sys::mount(
            None,
            &dirs.merged,
            None,
            libc::MS_REMOUNT | libc::MS_RDONLY,
            None,
        )
        .ctx(|| format!("making the file system of container {name} read-only"))?;
    }
    let rootfd = fsat::open(&dirs.merged, libc::O_PATH | libc::O_DIRECTORY)
        .ctx(|| format!("opening the file system of container {name}"))?;

    let hc = &record.host_config;
    let mut binds: Vec<(PathBuf, String, bool)> = Vec::new();
    for (file, target) in [
        ("hostname", "/etc/hostname"),
        ("hosts", "/etc/hosts"),
        ("resolv.conf", "/etc/resolv.conf"),
    ] {
        if dir.join(file).exists() {
            binds.push((dir.join(file), target.to_string(), hc.readonly_rootfs));
        }
    }
    for m in &hc.mounts {
        let source = match m.kind {
            MountType::Bind => PathBuf::from(&m.source),
            MountType::Volume => volumes::data_dir(root, &m.source),
            MountType::Tmpfs => continue,
        };
        binds.push((source, m.target.clone(), m.read_only));
    }
    for (source, target, read_only) in &binds {
        bind_into(
            rootfd.as_fd(),
            source,
            target,
            *read_only,
            writable,
            warnings,
        )?;
    }
    if writable && hc.readonly_rootfs {
        // Copies into a read-only container may still land in its writable volumes.
        sys::mount(
            None,
            &sys::fd_path(rootfd.as_fd()),
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
            None,
        )
        .ctx(|| format!("making the root of container {name} read-only"))?;
    }
    Ok(ContainerFs {
        root: rootfd,
        name,
        shift: IdShift::of(record),
    })
}

/// Bind-mounts host `source` at `target` inside `root`, resolving the target in the
/// root so that a symlink in the container cannot move the mount onto the host.
fn bind_into(
    root: BorrowedFd<'_>,
    source: &Path,
    target: &str,
    read_only: bool,
    create: bool,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let src = match fsat::open(source, libc::O_PATH) {
        Ok(fd) => fd,
        Err(e) => {
            warnings.push(format!(
                "{target} is not mounted for the copy: its source {} is unavailable ({e})",
                source.display()
            ));
            return Ok(());
        }
    };
    let is_file = fsat::fstat(src.as_fd())
        .map(|s| s.kind() != FileKind::Dir)
        .unwrap_or(false);
    let what = || format!("mounting {} at {target}", source.display());
    let target_fd = match sys::openat2_in_root(root, Path::new(target), libc::O_PATH) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) && create => {
            runtime::ensure_in_root(root, Path::new(target), is_file).ctx(what)?
        }
        // Never created (the container has not run yet): nothing to copy from there.
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        Err(e) => return Err(e).ctx(what),
    };
    let src_path = sys::fd_path(src.as_fd());
    sys::mount(
        Some(&src_path.to_string_lossy()),
        &sys::fd_path(target_fd.as_fd()),
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .ctx(what)?;
    if read_only {
        // Flags on a bind only take effect through a remount of the new mount.
        let fd = sys::openat2_in_root(root, Path::new(target), libc::O_PATH).ctx(what)?;
        sys::mount(
            None,
            &sys::fd_path(fd.as_fd()),
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
            None,
        )
        .ctx(what)?;
    }
    Ok(())
}

/// Carries out `plan` against the container file system `fs`.
fn run_plan(
    fs: &ContainerFs,
    plan: &Plan,
    opts: &CopyOptions,
    input: &mut dyn Read,
    output: &mut dyn Write,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let ctr = Side::Container(fs);
    // Docker's rule: root owns what is copied in, unless -a keeps the source's ids.
    let owner = if opts.archive { None } else { Some((0, 0)) };
    match plan {
        Plan::Out { from, to } => {
            let top = resolve_src(&ctr, from, opts.follow_link)?;
            match to {
                Local::Path(p) => {
                    let mut sink = FsSink::new(resolve_dest(&Side::Host, p, &top)?, None);
                    Walker::new(warnings, ctr.qualified(from))
                        .seen_from(fs.shift)
                        .walk_top(top, &mut sink)?;
                    sink.finish()
                }
                Local::Stream => {
                    let prefix = if top.contents {
                        Vec::new()
                    } else {
                        top.name.iter().cloned().collect()
                    };
                    let mut sink = TarSink::new(BufWriter::new(output), prefix);
                    Walker::new(warnings, ctr.qualified(from))
                        .seen_from(fs.shift)
                        .walk_top(top, &mut sink)?;
                    sink.finish()
                }
            }
        }
        Plan::In { from, to } => match from {
            Local::Path(p) => {
                let host = Side::Host;
                let top = resolve_src(&host, p, opts.follow_link)?;
                let mut sink = FsSink::new(resolve_dest(&ctr, to, &top)?, owner);
                sink.shift = fs.shift;
                Walker::new(warnings, host.qualified(p)).walk_top(top, &mut sink)?;
                sink.finish()
            }
            Local::Stream => {
                let base = match find_dest(&ctr, to)? {
                    Found::Dir(fd) => fd,
                    _ => {
                        return Err(Error::invalid(format!(
                        "destination {} must be an existing directory when SRC is - (a tar stream)",
                        ctr.describe(to)
                    )))
                    }
                };
                refuse_pseudo(&ctr, base.as_fd(), to)?;
                let mut sink = FsSink::new(
                    Placement {
                        base,
                        prefix: Vec::new(),
                        shown: ctr.qualified(to),
                    },
                    owner,
                );
                sink.shift = fs.shift;
                read_tar(input, &mut sink, warnings)?;
                sink.finish()
            }
        },
    }
}

/// A path split into clean components, with the trailing-`/` and trailing-`/.` hints
/// `docker cp` gives meaning to. Container paths are always absolute (relative to the
/// container's `/`); `..` never climbs above `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CleanPath {
    absolute: bool,
    comps: Vec<OsString>,
    /// Ends in `/` (or `/.`): must be a directory.
    dir_hint: bool,
    /// Ends in `/.` (or is `.`): the contents of the directory, not the directory.
    contents: bool,
}

impl CleanPath {
    fn parse(raw: &[u8], force_absolute: bool) -> CleanPath {
        let absolute = force_absolute || raw.starts_with(b"/");
        let contents = raw == b"." || raw.ends_with(b"/.");
        let dir_hint = contents || raw.ends_with(b"/");
        CleanPath {
            absolute,
            comps: clean(absolute, Vec::new(), raw.split(|b| *b == b'/')),
            dir_hint,
            contents,
        }
    }

    /// The last component, unless there is none or it is `..` (then the path has no name
    /// of its own to give a copy).
    fn name(&self) -> Option<&OsStr> {
        self.comps
            .last()
            .map(OsString::as_os_str)
            .filter(|n| n.as_bytes() != b"..")
    }

    fn parent(&self) -> CleanPath {
        let mut comps = self.comps.clone();
        comps.pop();
        CleanPath {
            absolute: self.absolute,
            comps,
            dir_hint: false,
            contents: false,
        }
    }

    /// Where a symlink with `target` found at this path points.
    fn link_target(&self, target: &[u8]) -> CleanPath {
        if target.starts_with(b"/") {
            return CleanPath {
                absolute: true,
                ..CleanPath::parse(target, true)
            };
        }
        let parent = self.parent();
        CleanPath {
            absolute: self.absolute,
            comps: clean(self.absolute, parent.comps, target.split(|b| *b == b'/')),
            dir_hint: false,
            contents: false,
        }
    }

    fn to_path(&self) -> PathBuf {
        let mut p = PathBuf::from(if self.absolute { "/" } else { "" });
        for c in &self.comps {
            p.push(c);
        }
        if p.as_os_str().is_empty() {
            p.push(".");
        }
        p
    }
}

/// Lexical cleaning (like Go's filepath.Clean, which docker cp applies too).
fn clean<'a>(
    absolute: bool,
    mut out: Vec<OsString>,
    parts: impl Iterator<Item = &'a [u8]>,
) -> Vec<OsString> {
    for part in parts {
        match part {
            b"" | b"." => {}
            b".." => {
                if out.last().is_some_and(|l| l.as_bytes() != b"..") {
                    out.pop();
                } else if !absolute {
                    out.push("..".into());
                }
            }
            _ => out.push(OsString::from_vec(part.to_vec())),
        }
    }
    out
}

/// Where a path is resolved: on the host (as the user would) or inside a container
/// (always within its root).
enum Side<'a> {
    Host,
    Container(&'a ContainerFs),
}

impl Side<'_> {
    fn open(&self, p: &CleanPath, flags: libc::c_int) -> io::Result<OwnedFd> {
        match self {
            Side::Host => fsat::open(&p.to_path(), flags),
            Side::Container(c) => sys::openat2_in_root(c.root.as_fd(), &p.to_path(), flags),
        }
    }

    /// For sentences: "/x in container web" or "/x".
    fn describe(&self, p: &CleanPath) -> String {
        match self {
            Side::Host => p.to_path().display().to_string(),
            Side::Container(c) => format!("{} in container {}", p.to_path().display(), c.name),
        }
    }

    /// For prefixes of longer paths: "web:/x" or "/x".
    fn qualified(&self, p: &CleanPath) -> String {
        match self {
            Side::Host => p.to_path().display().to_string(),
            Side::Container(c) => format!("{}:{}", c.name, p.to_path().display()),
        }
    }

    fn lookup_error(&self, p: &CleanPath, e: io::Error) -> Error {
        match (self, e.raw_os_error()) {
            (Side::Container(c), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
                Error::invalid(format!(
                    "Could not find the file {} in container {}",
                    p.to_path().display(),
                    c.name
                ))
            }
            (Side::Host, Some(libc::ENOENT) | Some(libc::ENOTDIR)) => Error::invalid(format!(
                "{}: no such file or directory",
                p.to_path().display()
            )),
            _ => Error::Io {
                context: format!("looking up {}", self.describe(p)),
                source: e,
            },
        }
    }
}

/// File systems whose files are kernel interfaces, not data: never copied from or into
/// (docker cp does not see them either; a running container's /proc and /sys would
/// otherwise be walked).
const PSEUDO_FS: &[i64] = &[
    0x9fa0,      // proc
    0x6265_6572, // sysfs
    0x0027_e0eb, // cgroup
    0x6367_7270, // cgroup2
    0x1cd1,      // devpts
    0x1980_0202, // mqueue
    0x7363_6673, // securityfs
    0x6462_6720, // debugfs
    0x7472_6163, // tracefs
    0xcafe_4a11, // bpf
    0x6e73_6673, // nsfs
    0x4249_4e4d, // binfmt_misc
    0x6265_6570, // configfs
    0xde5e_81e4, // efivarfs
];

fn is_pseudo(fd: BorrowedFd<'_>) -> bool {
    fsat::fs_type(fd).is_ok_and(|t| PSEUDO_FS.contains(&t))
}

fn refuse_pseudo(side: &Side<'_>, fd: BorrowedFd<'_>, p: &CleanPath) -> Result<()> {
    if is_pseudo(fd) {
        return Err(Error::invalid(format!(
            "{} is on a kernel pseudo-file system (proc, sysfs...): berth cp does not copy from or into those",
            side.describe(p)
        )));
    }
    Ok(())
}

/// The thing SRC names, held open (`O_PATH`).
struct Top {
    fd: OwnedFd,
    stat: Stat,
    /// The name a copy of it gets in a destination directory.
    name: Option<OsString>,
    /// Copy the directory's contents rather than the directory.
    contents: bool,
}

fn resolve_src(side: &Side<'_>, p: &CleanPath, follow: bool) -> Result<Top> {
    let name = p.name().map(OsStr::to_os_string);
    // "dir/" and "dir/." name the directory a final symlink points to.
    let follow_last = follow || p.dir_hint;
    let opened = match &name {
        Some(n) if !follow_last => side
            .open(&p.parent(), libc::O_PATH | libc::O_DIRECTORY)
            .and_then(|parent| fsat::open_at(parent.as_fd(), n, libc::O_PATH, 0)),
        _ => side.open(p, libc::O_PATH),
    };
    let fd = opened.map_err(|e| side.lookup_error(p, e))?;
    let stat = fsat::fstat(fd.as_fd()).ctx(|| format!("reading {}", side.describe(p)))?;
    let is_dir = stat.kind() == FileKind::Dir;
    if p.dir_hint && !is_dir {
        return Err(Error::invalid(format!(
            "{} is not a directory (leave off the trailing /)",
            side.describe(p)
        )));
    }
    refuse_pseudo(side, fd.as_fd(), p)?;
    Ok(Top {
        fd,
        stat,
        contents: is_dir && (p.contents || name.is_none()),
        name,
    })
}

/// What a destination path turned out to be, final symlinks followed.
enum Found {
    /// An existing directory: copies go inside it.
    Dir(OwnedFd),
    /// An existing non-directory, or a dangling symlink: replaced by the copy.
    NonDir { parent: OwnedFd, name: OsString },
    /// Nothing there yet, but its parent directory exists.
    Missing { parent: OwnedFd, name: OsString },
}

/// Resolves a destination like docker cp does: a final symlink is followed (within
/// the container's root on the container side), so copying onto a link to a file
/// replaces that file.
fn find_dest(side: &Side<'_>, p: &CleanPath) -> Result<Found> {
    let mut cur = p.clone();
    let mut via_link: Option<(OwnedFd, OsString)> = None;
    for _ in 0..40 {
        let Some(name) = cur.name().map(OsStr::to_os_string) else {
            // "/" or a path ending in "..": a directory if it exists at all.
            let fd = side
                .open(&cur, libc::O_PATH | libc::O_DIRECTORY)
                .map_err(|e| side.lookup_error(&cur, e))?;
            return Ok(Found::Dir(fd));
        };
        let parent = match side.open(&cur.parent(), libc::O_PATH | libc::O_DIRECTORY) {
            Ok(fd) => fd,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
                if let Some((parent, name)) = via_link {
                    return Ok(Found::NonDir { parent, name });
                }
                return Err(Error::invalid(format!(
                    "destination directory {} does not exist (create it first)",
                    side.describe(&cur.parent())
                )));
            }
            Err(e) => return Err(side.lookup_error(&cur.parent(), e)),
        };
        let fd = match fsat::open_at(parent.as_fd(), &name, libc::O_PATH, 0) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                return Ok(match via_link {
                    Some((parent, name)) => Found::NonDir { parent, name },
                    None => Found::Missing { parent, name },
                });
            }
            Err(e) => return Err(side.lookup_error(&cur, e)),
        };
        let stat = fsat::fstat(fd.as_fd()).ctx(|| format!("reading {}", side.describe(&cur)))?;
        match stat.kind() {
            FileKind::Dir => return Ok(Found::Dir(fd)),
            FileKind::Symlink => {
                let target = fsat::read_link(fd.as_fd())
                    .ctx(|| format!("reading the link {}", side.describe(&cur)))?;
                cur = cur.link_target(target.as_bytes());
                via_link = Some((parent, name));
            }
            _ => return Ok(Found::NonDir { parent, name }),
        }
    }
    Err(Error::invalid(format!(
        "{}: too many levels of symbolic links",
        side.describe(p)
    )))
}

/// Where a tree is written: entry `path` lands at `base/prefix/path`.
struct Placement {
    base: OwnedFd,
    prefix: Vec<OsString>,
    /// `base` for messages.
    shown: String,
}

fn resolve_dest(side: &Side<'_>, p: &CleanPath, top: &Top) -> Result<Placement> {
    let src_dir = top.stat.kind() == FileKind::Dir;
    let (base, prefix, shown) = match find_dest(side, p)? {
        Found::Dir(fd) => {
            let prefix = if top.contents {
                Vec::new()
            } else {
                top.name.iter().cloned().collect()
            };
            (fd, prefix, side.qualified(p))
        }
        Found::NonDir { parent, name } => {
            if p.dir_hint {
                return Err(Error::invalid(format!(
                    "destination {} exists but is not a directory",
                    side.describe(p)
                )));
            }
            if src_dir {
                return Err(Error::invalid(format!(
                    "cannot copy a directory to a file: destination {} exists and is not a directory",
                    side.describe(p)
                )));
            }
            (parent, vec![name], side.qualified(&p.parent()))
        }
        Found::Missing { parent, name } => {
            if p.dir_hint && !src_dir {
                return Err(Error::invalid(format!(
                    "destination directory {} does not exist (create it first, or leave off the trailing /)",
                    side.describe(p)
                )));
            }
            (parent, vec![name], side.qualified(&p.parent()))
        }
    };
    refuse_pseudo(side, base.as_fd(), p)?;
    Ok(Placement {
        base,
        prefix,
        shown,
    })
}

/// Metadata carried with every entry.
#[derive(Debug, Clone, Copy)]
struct Meta {
    perm: u32,
    uid: u32,
    gid: u32,
    atime: Timespec,
    mtime: Timespec,
}

impl From<&Stat> for Meta {
    fn from(st: &Stat) -> Meta {
        Meta {
            perm: st.perm(),
            uid: st.uid,
            gid: st.gid,
            atime: st.atime,
            mtime: st.mtime,
        }
    }
}

#[derive(Debug)]
enum Kind {
    Dir,
    File {
        size: u64,
    },
    Symlink(OsString),
    /// A hard link to an earlier entry (its path relative to the copied tree's top).
    HardLink(Vec<OsString>),
    Fifo,
}

/// One file of a copied tree; `path` is relative to the tree's top (empty: the top).
struct Entry<'p> {
    path: &'p [OsString],
    kind: Kind,
    meta: Meta,
}

/// Receives a tree, parents before children.
trait Sink {
    fn put(&mut self, e: &Entry<'_>, data: Option<&mut dyn Read>) -> Result<()>;
}

fn join_display(base: &str, rel: &[OsString]) -> String {
    let mut s = base.trim_end_matches('/').to_string();
    for c in rel {
        s.push('/');
        s.push_str(&c.to_string_lossy());
    }
    s
}

/// Walks a file tree entry by entry through descriptors and feeds it to a sink.
struct Walker<'w> {
    warnings: &'w mut Vec<String>,
    /// Applied to every entry's ids (walking a container in a user namespace).
    shift: IdShift,
    /// First path seen of each multiply-linked file, to keep hard links linked.
    links: HashMap<(u64, u64), Vec<OsString>>,
    shown: String,
}

impl<'w> Walker<'w> {
    /// `shown` names the top of the tree in messages.
    fn new(warnings: &'w mut Vec<String>, shown: String) -> Walker<'w> {
        Walker {
            warnings,
            shift: IdShift::default(),
            links: HashMap::new(),
            shown,
        }
    }

    /// Reports the ids the container sees rather than the host's.
    fn seen_from(mut self, shift: IdShift) -> Walker<'w> {
        self.shift = shift;
        self
    }

    fn walk_top(&mut self, top: Top, sink: &mut dyn Sink) -> Result<()> {
        let mut path = Vec::new();
        self.walk(top.fd, &top.stat, &mut path, sink)
    }

    fn show(&self, path: &[OsString]) -> String {
        join_display(&self.shown, path)
    }

    fn walk(
        &mut self,
        fd: OwnedFd,
        st: &Stat,
        path: &mut Vec<OsString>,
        sink: &mut dyn Sink,
    ) -> Result<()> {
        let mut meta = Meta::from(st);
        (meta.uid, meta.gid) = self.shift.inside(meta.uid, meta.gid);
        match st.kind() {
            FileKind::Dir => {
                sink.put(
                    &Entry {
                        path,
                        kind: Kind::Dir,
                        meta,
                    },
                    None,
                )?;
                if is_pseudo(fd.as_fd()) {
                    return Ok(()); // a mounted /proc or /sys: kernel interfaces, not data
                }
                let dir =
                    fsat::reopen_dir(fd.as_fd()).ctx(|| format!("opening {}", self.show(path)))?;
                drop(fd); // one descriptor per level of depth is enough
                let mut names =
                    fsat::list_dir(dir.as_fd()).ctx(|| format!("listing {}", self.show(path)))?;
                names.sort();
                for name in names {
                    let child = match fsat::open_at(dir.as_fd(), &name, libc::O_PATH, 0) {
                        Ok(fd) => fd,
                        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue, // removed meanwhile
                        Err(e) => {
                            path.push(name);
                            let shown = self.show(path);
                            return Err(e).ctx(|| format!("opening {shown}"));
                        }
                    };
                    let cst = fsat::fstat(child.as_fd())
                        .ctx(|| format!("reading {}", self.show(path)))?;
                    path.push(name);
                    let r = self.walk(child, &cst, path, sink);
                    path.pop();
                    r?;
                }
                Ok(())
            }
            FileKind::File => {
                if st.nlink > 1 {
                    if let Some(first) = self.links.get(&(st.dev, st.ino)) {
                        let kind = Kind::HardLink(first.clone());
                        return sink.put(&Entry { path, kind, meta }, None);
                    }
                    self.links.insert((st.dev, st.ino), path.clone());
                }
                // Reopened only now that fstat showed a regular file: opening a device
                // node or a fifo could block or act on hardware.
                let mut file = File::from(
                    fsat::reopen(fd.as_fd(), libc::O_RDONLY)
                        .ctx(|| format!("opening {}", self.show(path)))?,
                );
                sink.put(
                    &Entry {
                        path,
                        kind: Kind::File { size: st.size },
                        meta,
                    },
                    Some(&mut file),
                )
            }
            FileKind::Symlink => {
                let target = fsat::read_link(fd.as_fd())
                    .ctx(|| format!("reading the link {}", self.show(path)))?;
                sink.put(
                    &Entry {
                        path,
                        kind: Kind::Symlink(target),
                        meta,
                    },
                    None,
                )
            }
            FileKind::Fifo => sink.put(
                &Entry {
                    path,
                    kind: Kind::Fifo,
                    meta,
                },
                None,
            ),
            FileKind::Socket | FileKind::CharDevice | FileKind::BlockDevice => {
                self.warnings.push(format!(
                    "skipped {}: device nodes and sockets are not copied",
                    self.show(path)
                ));
                Ok(())
            }
        }
    }
}

/// A directory held open while entries are written below it.
struct OpenDir {
    name: OsString,
    fd: OwnedFd,
    /// Times to set once everything inside is written (writing changes them).
    times: Option<(Timespec, Timespec)>,
}

/// Writes a tree into a directory, creating every entry by name relative to an open
/// parent directory, never following a symlink on the way.
struct FsSink {
    place: Placement,
    /// Owner for everything written; `None` keeps the source's.
    owner: Option<(u32, u32)>,
    /// Writing into a container in a user namespace: its ids become the host's.
    shift: IdShift,
    /// Directories below `place.base` on the path of the last entry.
    stack: Vec<OpenDir>,
}

fn is_errno(e: &io::Error, errno: libc::c_int) -> bool {
    e.raw_os_error() == Some(errno)
}

impl FsSink {
    fn new(place: Placement, owner: Option<(u32, u32)>) -> FsSink {
        FsSink {
            place,
            owner,
            shift: IdShift::default(),
            stack: Vec::new(),
        }
    }

    fn show(&self, rel: &[OsString]) -> String {
        join_display(&self.place.shown, rel)
    }

    fn current(&self) -> BorrowedFd<'_> {
        self.stack
            .last()
            .map_or(self.place.base.as_fd(), |d| d.fd.as_fd())
    }

    /// Closes open directories down to `depth`, setting their deferred times.
    fn close_to(&mut self, depth: usize) -> Result<()> {
        while self.stack.len() > depth {
            let Some(dir) = self.stack.pop() else { break };
            if let Some((atime, mtime)) = dir.times {
                let mut rel: Vec<OsString> = self.stack.iter().map(|d| d.name.clone()).collect();
                rel.push(dir.name.clone());
                fsat::set_times_fd(dir.fd.as_fd(), atime, mtime)
                    .ctx(|| format!("setting the times of {}", self.show(&rel)))?;
            }
        }
        Ok(())
    }

    /// Makes `parents` (relative to the base) the open directory stack, creating
    /// missing directories. A non-directory on the way (a symlink planted by the
    /// container, or by an earlier entry of a tar stream) stops the copy.
    fn enter(&mut self, parents: &[OsString]) -> Result<()> {
        let common = self
            .stack
            .iter()
            .zip(parents)
            .take_while(|(d, n)| &d.name == *n)
            .count();
        self.close_to(common)?;
        for i in common..parents.len() {
            let name = &parents[i];
            let flags = libc::O_RDONLY | libc::O_DIRECTORY;
            let parent = self.current();
            let opened = match fsat::open_at(parent, name, flags, 0) {
                Err(e) if is_errno(&e, libc::ENOENT) => match fsat::mkdir_at(parent, name, 0o755) {
                    Ok(()) => fsat::open_at(parent, name, flags, 0),
                    Err(e) if is_errno(&e, libc::EEXIST) => fsat::open_at(parent, name, flags, 0),
                    Err(e) => Err(e),
                },
                r => r,
            };
            let fd = match opened {
                Ok(fd) => fd,
                Err(e) if is_errno(&e, libc::ELOOP) || is_errno(&e, libc::ENOTDIR) => {
                    return Err(Error::invalid(format!(
                        "refusing to write below {}: it is not a directory (a symlink is never followed)",
                        self.show(&parents[..=i])
                    )));
                }
                Err(e) => return Err(e).ctx(|| format!("opening {}", self.show(&parents[..=i]))),
            };
            self.stack.push(OpenDir {
                name: name.clone(),
                fd,
                times: None,
            });
        }
        Ok(())
    }

    /// The host ids to give an entry: root's or the source's, as the container sees
    /// them, through its user namespace.
    fn owner_of(&self, meta: &Meta) -> Result<(u32, u32)> {
        let (uid, gid) = self.owner.unwrap_or((meta.uid, meta.gid));
        self.shift.outside(uid, gid)
    }

    /// Owner first: chown clears setuid/setgid bits, which chmod then restores.
    fn set_owner_mode(&self, fd: BorrowedFd<'_>, meta: &Meta, rel: &[OsString]) -> Result<()> {
        let (uid, gid) = self.owner_of(meta)?;
        fsat::chown_fd(fd, uid, gid).ctx(|| format!("setting the owner of {}", self.show(rel)))?;
        fsat::chmod_fd(fd, meta.perm).ctx(|| format!("setting the mode of {}", self.show(rel)))
    }

    /// Runs `make`, which creates `name` in `parent`; if something non-directory is in
    /// the way, it is removed (never written into) and `make` runs once more.
    fn replace<T>(
        &self,
        parent: BorrowedFd<'_>,
        name: &OsStr,
        rel: &[OsString],
        mut make: impl FnMut() -> io::Result<T>,
    ) -> Result<T> {
        match make() {
            Err(e) if is_errno(&e, libc::EEXIST) => {
                let st =
                    fsat::stat_at(parent, name).ctx(|| format!("reading {}", self.show(rel)))?;
                if st.kind() == FileKind::Dir {
                    return Err(Error::invalid(format!(
                        "cannot overwrite directory {} with a non-directory",
                        self.show(rel)
                    )));
                }
                fsat::unlink_at(parent, name, false)
                    .ctx(|| format!("replacing {}", self.show(rel)))?;
                make().ctx(|| format!("creating {}", self.show(rel)))
            }
            r => r.ctx(|| format!("creating {}", self.show(rel))),
        }
    }

    /// Opens the entry at `rel` (relative to the base) without following symlinks;
    /// returns its directory and name.
    fn lookup(&self, rel: &[OsString]) -> io::Result<(OwnedFd, OsString)> {
        let Some((name, dirs)) = rel.split_last() else {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        };
        let mut dir = self.place.base.try_clone()?;
        for d in dirs {
            dir = fsat::open_at(dir.as_fd(), d, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        }
        Ok((dir, name.clone()))
    }

    fn write_file(
        &self,
        parent: BorrowedFd<'_>,
        name: &OsStr,
        rel: &[OsString],
        meta: &Meta,
        data: Option<&mut dyn Read>,
    ) -> Result<()> {
        let fd = self.replace(parent, name, rel, || {
            fsat::open_at(
                parent,
                name,
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
                0o600,
            )
        })?;
        let mut file = File::from(fd);
        if let Some(data) = data {
            io::copy(data, &mut file).ctx(|| format!("writing {}", self.show(rel)))?;
        }
        self.set_owner_mode(file.as_fd(), meta, rel)?;
        fsat::set_times_fd(file.as_fd(), meta.atime, meta.mtime)
            .ctx(|| format!("setting the times of {}", self.show(rel)))
    }

    fn finish(mut self) -> Result<()> {
        self.close_to(0)
    }
}

impl Sink for FsSink {
    fn put(&mut self, e: &Entry<'_>, data: Option<&mut dyn Read>) -> Result<()> {
        let rel: Vec<OsString> = self.place.prefix.iter().chain(e.path).cloned().collect();
        let Some((name, parents)) = rel.split_last() else {
            return Ok(()); // the destination directory itself: its contents are copied
        };
        self.enter(parents)?;
        let parent = self.current();
        match &e.kind {
            Kind::Dir => {
                let flags = libc::O_RDONLY | libc::O_DIRECTORY;
                match fsat::mkdir_at(parent, name, 0o700) {
                    Ok(()) => {}
                    Err(err) if is_errno(&err, libc::EEXIST) => {}
                    Err(err) => return Err(err).ctx(|| format!("creating {}", self.show(&rel))),
                }
                let fd = match fsat::open_at(parent, name, flags, 0) {
                    Ok(fd) => fd,
                    // Something else is in the way (a file, a symlink): replace it.
                    Err(err) if is_errno(&err, libc::ELOOP) || is_errno(&err, libc::ENOTDIR) => {
                        self.replace(parent, name, &rel, || fsat::mkdir_at(parent, name, 0o700))?;
                        fsat::open_at(parent, name, flags, 0)
                            .ctx(|| format!("opening {}", self.show(&rel)))?
                    }
                    Err(err) => return Err(err).ctx(|| format!("opening {}", self.show(&rel))),
                };
                self.set_owner_mode(fd.as_fd(), &e.meta, &rel)?;
                self.stack.push(OpenDir {
                    name: name.clone(),
                    fd,
                    times: Some((e.meta.atime, e.meta.mtime)),
                });
                Ok(())
            }
            Kind::File { .. } => self.write_file(parent, name, &rel, &e.meta, data),
            Kind::Symlink(target) => {
                self.replace(parent, name, &rel, || {
                    fsat::symlink_at(target, parent, name)
                })?;
                let fd = fsat::open_at(parent, name, libc::O_PATH, 0)
                    .ctx(|| format!("opening {}", self.show(&rel)))?;
                // Only if it is still our symlink (the name's owner may have swapped it).
                if fsat::fstat(fd.as_fd()).is_ok_and(|s| s.kind() == FileKind::Symlink) {
                    let (uid, gid) = self.owner_of(&e.meta)?;
                    fsat::chown_fd(fd.as_fd(), uid, gid)
                        .ctx(|| format!("setting the owner of {}", self.show(&rel)))?;
                    fsat::set_times_fd(fd.as_fd(), e.meta.atime, e.meta.mtime)
                        .ctx(|| format!("setting the times of {}", self.show(&rel)))?;
                }
                Ok(())
            }
            Kind::Fifo => {
                self.replace(parent, name, &rel, || fsat::mkfifo_at(parent, name, 0o600))?;
                let fd = fsat::open_at(parent, name, libc::O_PATH, 0)
                    .ctx(|| format!("opening {}", self.show(&rel)))?;
                if fsat::fstat(fd.as_fd()).is_ok_and(|s| s.kind() == FileKind::Fifo) {
                    self.set_owner_mode(fd.as_fd(), &e.meta, &rel)?;
                    fsat::set_times_fd(fd.as_fd(), e.meta.atime, e.meta.mtime)
                        .ctx(|| format!("setting the times of {}", self.show(&rel)))?;
                }
                Ok(())
            }
            Kind::HardLink(target) => {
                // The target is looked up below the destination only, never following.
                let target_rel: Vec<OsString> =
                    self.place.prefix.iter().chain(target).cloned().collect();
                let (tdir, tname) = self.lookup(&target_rel).map_err(|_| {
                    Error::invalid(format!(
                        "hard link {} points to {}, which is not in the destination",
                        self.show(&rel),
                        self.show(&target_rel)
                    ))
                })?;
                let linked = match fsat::link_at(tdir.as_fd(), &tname, parent, name) {
                    Err(err) if is_errno(&err, libc::EEXIST) => self
                        .replace(parent, name, &rel, || {
                            fsat::link_at(tdir.as_fd(), &tname, parent, name)
                        })
                        .map(|_| true),
                    Ok(()) => Ok(true),
                    Err(_) => Ok(false), // another file system, too many links...: copy instead
                }?;
                if linked {
                    return Ok(());
                }
                let src = fsat::open_at(tdir.as_fd(), &tname, libc::O_PATH, 0)
                    .ctx(|| format!("opening {}", self.show(&target_rel)))?;
                let st = fsat::fstat(src.as_fd())
                    .ctx(|| format!("reading {}", self.show(&target_rel)))?;
                if st.kind() != FileKind::File {
                    return Err(Error::invalid(format!(
                        "hard link {} points to {}, which is not a regular file",
                        self.show(&rel),
                        self.show(&target_rel)
                    )));
                }
                let mut file = File::from(
                    fsat::reopen(src.as_fd(), libc::O_RDONLY)
                        .ctx(|| format!("opening {}", self.show(&target_rel)))?,
                );
                self.write_file(parent, name, &rel, &Meta::from(&st), Some(&mut file))
            }
        }
    }
}

/// Writes a tree as a tar stream (GNU format, as docker cp does).
struct TarSink<W: Write> {
    tar: tar::Builder<W>,
    prefix: Vec<OsString>,
}

fn archive_name(comps: &[OsString]) -> PathBuf {
    let mut bytes = Vec::new();
    for (i, c) in comps.iter().enumerate() {
        if i > 0 {
            bytes.push(b'/');
        }
        bytes.extend_from_slice(c.as_bytes());
    }
    PathBuf::from(OsString::from_vec(bytes))
}

impl<W: Write> TarSink<W> {
    fn new(out: W, prefix: Vec<OsString>) -> TarSink<W> {
        TarSink {
            tar: tar::Builder::new(out),
            prefix,
        }
    }

    fn finish(self) -> Result<()> {
        let mut out = self
            .tar
            .into_inner()
            .ctx(|| "finishing the tar stream".into())?;
        out.flush().ctx(|| "writing the tar stream".into())
    }
}

impl<W: Write> Sink for TarSink<W> {
    fn put(&mut self, e: &Entry<'_>, data: Option<&mut dyn Read>) -> Result<()> {
        let full: Vec<OsString> = self.prefix.iter().chain(e.path).cloned().collect();
        if full.is_empty() {
            return Ok(());
        }
        let path = archive_name(&full);
        let mut h = tar::Header::new_gnu();
        h.set_mode(e.meta.perm);
        h.set_uid(u64::from(e.meta.uid));
        h.set_gid(u64::from(e.meta.gid));
        h.set_mtime(u64::try_from(e.meta.mtime.sec).unwrap_or(0));
        h.set_size(0);
        let what = || format!("writing {} to the tar stream", path.display());
        match &e.kind {
            Kind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                self.tar.append_data(&mut h, &path, io::empty()).ctx(what)
            }
            Kind::File { size } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(*size);
                // Exactly `size` bytes whatever the file does meanwhile (a container
                // may truncate or grow it): a short file is padded with zeros.
                let body: Box<dyn Read + '_> = match data {
                    Some(d) => Box::new(d.take(*size).chain(io::repeat(0)).take(*size)),
                    None => Box::new(io::repeat(0).take(*size)),
                };
                self.tar.append_data(&mut h, &path, body).ctx(what)
            }
            Kind::Symlink(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                // Stored byte for byte when it fits; longer targets need GNU's extension.
                if target.len() < 100 {
                    h.set_link_name_literal(target.as_bytes()).ctx(what)?;
                    self.tar.append_data(&mut h, &path, io::empty()).ctx(what)
                } else {
                    self.tar
                        .append_link(&mut h, &path, Path::new(target))
                        .ctx(what)
                }
            }
            Kind::HardLink(target) => {
                h.set_entry_type(tar::EntryType::Link);
                let target: Vec<OsString> = self.prefix.iter().chain(target).cloned().collect();
                self.tar
                    .append_link(&mut h, &path, archive_name(&target))
                    .ctx(what)
            }
            Kind::Fifo => {
                h.set_entry_type(tar::EntryType::Fifo);
                self.tar.append_data(&mut h, &path, io::empty()).ctx(what)
            }
        }
    }
}

/// The components of a path inside a tar stream. Absolute paths and `..` are refused:
/// an archive only ever describes things below the directory it is extracted into.
fn archive_path(raw: &[u8]) -> Result<Vec<OsString>> {
    let shown = || String::from_utf8_lossy(raw).into_owned();
    if raw.starts_with(b"/") {
        return Err(Error::invalid(format!(
            "refusing to extract {}: the archive holds an absolute path",
            shown()
        )));
    }
    let mut comps = Vec::new();
    for part in raw.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                return Err(Error::invalid(format!(
                    "refusing to extract {}: the path contains ..",
                    shown()
                )))
            }
            _ => comps.push(OsString::from_vec(part.to_vec())),
        }
    }
    Ok(comps)
}

/// Extracts the tar stream `input` through `sink`.
fn read_tar(input: &mut dyn Read, sink: &mut dyn Sink, warnings: &mut Vec<String>) -> Result<()> {
    let bad = |e: io::Error| Error::invalid(format!("reading the tar stream: {e}"));
    let mut archive = tar::Archive::new(input);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let path = archive_path(&raw)?;
        let h = entry.header();
        // Like Go's archive/tar (docker's), an empty numeric field reads as 0.
        let id = |v: io::Result<u64>| -> Result<u32> {
            let v = v.unwrap_or(0);
            u32::try_from(v)
                .map_err(|_| Error::invalid(format!("{shown}: uid/gid {v} out of range")))
        };
        let mtime = i64::try_from(h.mtime().unwrap_or(0)).unwrap_or(i64::MAX);
        let time = Timespec {
            sec: mtime,
            nsec: 0,
        };
        let mut meta = Meta {
            perm: h.mode().unwrap_or(0) & 0o7777,
            uid: id(h.uid())?,
            gid: id(h.gid())?,
            atime: time,
            mtime: time,
        };
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        let kind = match entry.header().entry_type() {
            // Old archives mark directories as regular files named "dir/".
            tar::EntryType::Regular | tar::EntryType::Continuous if raw.ends_with(b"/") => {
                Kind::Dir
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                Kind::File { size: entry.size() }
            }
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => {
                Kind::Symlink(OsString::from_vec(link.ok_or_else(|| {
                    Error::invalid(format!("symlink {shown} has no target"))
                })?))
            }
            tar::EntryType::Link => {
                let target =
                    link.ok_or_else(|| Error::invalid(format!("hard link {shown} has no target")))?;
                Kind::HardLink(archive_path(&target)?)
            }
            tar::EntryType::Fifo => Kind::Fifo,
            tar::EntryType::Char | tar::EntryType::Block => {
                return Err(Error::invalid(format!(
                    "refusing to extract device node {shown}: berth cp does not create devices"
                )));
            }
            tar::EntryType::GNUSparse => {
                return Err(Error::invalid(format!(
                    "{shown}: sparse files in the tar stream are not supported"
                )));
            }
            // Extension headers are applied by the tar reader itself.
            tar::EntryType::XGlobalHeader
            | tar::EntryType::XHeader
            | tar::EntryType::GNULongName
            | tar::EntryType::GNULongLink => continue,
            other => {
                warnings.push(format!(
                    "skipped {shown}: unsupported tar entry type {other:?}"
                ));
                continue;
            }
        };
        if meta.perm == 0 && entry.header().mode().is_err() {
            meta.perm = if matches!(kind, Kind::Dir) {
                0o755
            } else {
                0o644
            };
        }
        sink.put(
            &Entry {
                path: &path,
                kind,
                meta,
            },
            Some(&mut entry),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    #[test]
    fn endpoints_follow_dockers_rules() {
        let c = |c: &str, p: &str| Endpoint::Container {
            container: c.into(),
            path: p.into(),
        };
        assert_eq!(Endpoint::parse("web:/etc/hosts"), c("web", "/etc/hosts"));
        assert_eq!(Endpoint::parse("web:tmp"), c("web", "tmp"));
        assert_eq!(Endpoint::parse("web:"), c("web", ""));
        assert_eq!(Endpoint::parse("-"), Endpoint::Stream);
        assert_eq!(
            Endpoint::parse("/abs/a:b"),
            Endpoint::Local("/abs/a:b".into())
        );
        assert_eq!(Endpoint::parse("./a:b"), Endpoint::Local("./a:b".into()));
        assert_eq!(
            Endpoint::parse("file.txt"),
            Endpoint::Local("file.txt".into())
        );
        assert!(plan("a", "b").is_err());
        assert!(plan("-", "-").is_err());
        assert!(plan("x:/a", "y:/b").is_err());
        assert!(
            matches!(plan("-", "x:/d"), Ok((k, Plan::In { from: Local::Stream, .. })) if k == "x")
        );
    }

    #[test]
    fn paths_are_cleaned_and_keep_their_hints() {
        let p = CleanPath::parse(b"../../etc/./x/", true);
        assert_eq!(p.to_path(), Path::new("/etc/x"));
        assert!(p.dir_hint && !p.contents);
        let p = CleanPath::parse(b"dir/.", false);
        assert_eq!(p.to_path(), Path::new("dir"));
        assert!(p.contents && p.dir_hint);
        assert_eq!(
            CleanPath::parse(b"../a", false).to_path(),
            Path::new("../a")
        );
        assert_eq!(CleanPath::parse(b"..", false).name(), None);
        assert_eq!(CleanPath::parse(b"/", true).name(), None);
        let l = CleanPath::parse(b"/data/link", true);
        assert_eq!(l.link_target(b"../../../etc").to_path(), Path::new("/etc"));
        assert_eq!(l.link_target(b"/tmp").to_path(), Path::new("/tmp"));
        assert_eq!(l.link_target(b"x/y").to_path(), Path::new("/data/x/y"));
    }

    #[test]
    fn archive_paths_stay_below_the_destination() {
        assert_eq!(
            archive_path(b"./a/b/").unwrap(),
            vec![OsString::from("a"), OsString::from("b")]
        );
        assert!(archive_path(b"").unwrap().is_empty());
        assert!(archive_path(b"/etc/passwd").is_err());
        assert!(archive_path(b"a/../../x").is_err());
    }

    #[test]
    fn ids_shift_through_a_user_namespace() {
        let s = IdShift {
            uid: 300000,
            gid: 400000,
            size: 65536,
        };
        assert_eq!(s.inside(300000, 400000), (0, 0));
        assert_eq!(s.inside(301000, 401000), (1000, 1000));
        assert_eq!(s.inside(0, 465_536), (65534, 65534));
        assert_eq!(s.outside(0, 0).unwrap(), (300000, 400000));
        assert_eq!(s.outside(65535, 1).unwrap(), (365535, 400001));
        assert!(s
            .outside(65536, 0)
            .unwrap_err()
            .to_string()
            .contains("0-65535"));
        let id = IdShift::default();
        assert_eq!(id.inside(7, 8), (7, 8));
        assert_eq!(id.outside(70000, 8).unwrap(), (70000, 8));
    }

    /// A fake container: a directory used as the root.
    fn fake(dir: &Path) -> ContainerFs {
        ContainerFs {
            root: fsat::open(dir, libc::O_PATH | libc::O_DIRECTORY).unwrap(),
            name: "fake".into(),
            shift: IdShift::default(),
        }
    }

    fn copy_in(fs: &ContainerFs, from: &Path, to: &str, archive: bool) -> Result<Vec<String>> {
        let plan = Plan::In {
            from: Local::Path(CleanPath::parse(from.as_os_str().as_bytes(), false)),
            to: CleanPath::parse(to.as_bytes(), true),
        };
        let mut w = Vec::new();
        let opts = CopyOptions {
            archive,
            follow_link: false,
        };
        run_plan(fs, &plan, &opts, &mut io::empty(), &mut io::sink(), &mut w).map(|()| w)
    }

    #[test]
    fn symlinks_in_the_container_never_lead_out_of_it() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("data")).unwrap();
        std::fs::create_dir_all(root.path().join("tmp")).unwrap();
        symlink("/", root.path().join("data/abs")).unwrap();
        symlink("../../../../../..", root.path().join("data/rel")).unwrap();
        // A link to the host directory by its host path must resolve inside the root too.
        symlink(outside.path(), root.path().join("data/host")).unwrap();
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("f"), "payload").unwrap();
        let fs = fake(root.path());
        copy_in(&fs, &src.path().join("f"), "/data/abs/tmp/", false).unwrap();
        copy_in(&fs, &src.path().join("f"), "/data/rel/tmp/g", false).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.path().join("tmp/f")).unwrap(),
            "payload"
        );
        assert_eq!(
            std::fs::read_to_string(root.path().join("tmp/g")).unwrap(),
            "payload"
        );
        let e = copy_in(&fs, &src.path().join("f"), "/data/host/x", false).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_tree_round_trips_through_the_file_sink_and_tar() {
        let root = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let t = src.path().join("tree");
        std::fs::create_dir_all(t.join("sub")).unwrap();
        std::fs::write(t.join("sub/a"), "A").unwrap();
        std::fs::hard_link(t.join("sub/a"), t.join("hard")).unwrap();
        symlink("sub/a", t.join("link")).unwrap();
        std::os::unix::fs::lchown(t.join("sub/a"), Some(1000), Some(1000)).unwrap();
        std::fs::set_permissions(t.join("sub/a"), std::fs::Permissions::from_mode(0o4750)).unwrap();
        let fs = fake(root.path());
        copy_in(&fs, &t, "/copy", true).unwrap();
        let a = std::fs::metadata(root.path().join("copy/sub/a")).unwrap();
        assert_eq!((a.mode() & 0o7777, a.uid()), (0o4750, 1000));
        assert_eq!(a.nlink(), 2, "hard links stay linked");
        assert_eq!(
            std::fs::read_link(root.path().join("copy/link")).unwrap(),
            Path::new("sub/a")
        );
        copy_in(&fs, &t, "/copy", false).unwrap(); // into the existing dir: /copy/tree
        assert_eq!(
            std::fs::metadata(root.path().join("copy/tree/sub/a"))
                .unwrap()
                .uid(),
            0
        );

        // Out as tar, then back in from the tar.
        let plan = Plan::Out {
            from: CleanPath::parse(b"/copy/sub", true),
            to: Local::Stream,
        };
        let mut tarball = Vec::new();
        run_plan(
            &fs,
            &plan,
            &CopyOptions::default(),
            &mut io::empty(),
            &mut tarball,
            &mut Vec::new(),
        )
        .unwrap();
        std::fs::create_dir(root.path().join("x")).unwrap();
        let plan = Plan::In {
            from: Local::Stream,
            to: CleanPath::parse(b"/x", true),
        };
        let opts = CopyOptions {
            archive: true,
            follow_link: false,
        };
        run_plan(
            &fs,
            &plan,
            &opts,
            &mut &tarball[..],
            &mut io::sink(),
            &mut Vec::new(),
        )
        .unwrap();
        let a = std::fs::metadata(root.path().join("x/sub/a")).unwrap();
        assert_eq!((a.mode() & 0o7777, a.uid()), (0o4750, 1000));
        assert_eq!(
            std::fs::read_to_string(root.path().join("x/sub/a")).unwrap(),
            "A"
        );
    }

    #[test]
    fn a_tar_cannot_write_through_its_own_symlinks() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("d")).unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, "esc", "/").unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        b.append_data(&mut h, "esc/owned", &b"x"[..]).unwrap();
        let tarball = b.into_inner().unwrap();
        let fs = fake(root.path());
        let plan = Plan::In {
            from: Local::Stream,
            to: CleanPath::parse(b"/d", true),
        };
        let e = run_plan(
            &fs,
            &plan,
            &CopyOptions::default(),
            &mut &tarball[..],
            &mut io::sink(),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("refusing to write below"), "{e}");
        assert!(!Path::new("/owned").exists());
        assert!(!root.path().join("owned").exists());
    }
}
