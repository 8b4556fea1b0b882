//! The container's setup process: runs in the new namespaces between clone and exec.
//! It waits for its parent to place it in the cgroup, builds the filesystem, pivots,
//! takes the workload's identity and execs (or becomes the minimal init). Any failure is
//! reported over the error pipe; nothing here returns to the caller's code.
//!
//! While berth code runs in here the process is non-dumpable, so nothing in the
//! container can open /proc/<pid>/exe of a berth process (CVE-2019-5736).

use std::convert::Infallible;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::LinuxNamespaceType;

use crate::report::{self, Context};
use crate::{confine, identity, init, mounts, sys, Launch, StartError, Stdio};

pub struct Pipes {
    /// Parent writes one byte once the child is in its cgroup.
    pub go: OwnedFd,
    /// Close-on-exec error channel.
    pub err: OwnedFd,
    /// Where to send the pty master, for `Stdio::Terminal`.
    pub pty: Option<OwnedFd>,
    /// In a user namespace: where the parent sends the root, built as a detached mount.
    pub root: Option<OwnedFd>,
}

pub fn run(launch: Launch<'_>, pipes: Pipes) -> ! {
    let err = match setup(launch, &pipes) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    report::fail(pipes.err.as_fd(), &err)
}

fn setup(launch: Launch<'_>, pipes: &Pipes) -> Result<Infallible, StartError> {
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong)
        .ctx(|| "PR_SET_PDEATHSIG".into())?;
    sys::prctl(libc::PR_SET_DUMPABLE, 0).ctx(|| "PR_SET_DUMPABLE".into())?;

    let mut byte = [0u8; 1];
    match sys::read(pipes.go.as_raw_fd(), &mut byte) {
        Ok(1) => {}
        _ => {
            return Err(StartError::berth(
                "the monitor went away before the container started",
            ))
        }
    }

    let spec = launch.spec;
    let linux = spec.linux().clone().unwrap_or_default();
    let namespaces = linux.namespaces().clone().unwrap_or_default();
    let wants = |t: LinuxNamespaceType| {
        namespaces
            .iter()
            .any(|n| n.typ() == t && n.path().is_none())
    };

    for ns in namespaces.iter().filter(|n| n.path().is_some()) {
        let path = ns
            .path()
            .as_ref()
            .map(|p| p.as_path())
            .unwrap_or(Path::new(""));
        let f =
            std::fs::File::open(path).ctx(|| format!("opening namespace {}", path.display()))?;
        sys::setns(f.as_fd(), 0).ctx(|| format!("joining namespace {}", path.display()))?;
    }
    if wants(LinuxNamespaceType::Cgroup) {
        // Only now, inside the container's cgroup, so that it becomes the namespace root.
        sys::unshare(libc::CLONE_NEWCGROUP).ctx(|| "creating the cgroup namespace".into())?;
    }
    if wants(LinuxNamespaceType::Network) {
        sys::loopback_up().ctx(|| "bringing up loopback".into())?;
    }
    if wants(LinuxNamespaceType::Uts) {
        if let Some(h) = spec.hostname() {
            sys::sethostname(h).ctx(|| format!("setting hostname {h}"))?;
        }
        if let Some(d) = spec.domainname() {
            sys::setdomainname(d).ctx(|| format!("setting domainname {d}"))?;
        }
    }

    // Namespaced sysctls apply to the namespaces of the writer, whichever /proc it uses:
    // written now, as the user that owns the host's /proc/sys files, they work in a user
    // namespace too, where the container's root could not write them.
    if let Some(sysctls) = linux.sysctl() {
        for (key, value) in sysctls {
            let path = Path::new("/proc/sys").join(key.replace('.', "/"));
            std::fs::write(&path, value).ctx(|| format!("setting sysctl {key}={value}"))?;
        }
    }

    let prebuilt = match &pipes.root {
        Some(sock) => {
            let mut buf = [0u8; 8];
            match sys::recv_with_fd(sock.as_fd(), &mut buf) {
                Ok((_, Some(fd))) => Some(fd),
                _ => return Err(StartError::berth("the monitor did not hand over the root")),
            }
        }
        None => None,
    };
    let target = mounts::mount_root(&launch.rootfs, prebuilt)?;
    let root_fd =
        std::fs::File::open(&target).ctx(|| format!("opening root {}", target.display()))?;
    // From here on host paths are reached through descriptors opened now: in a user
    // namespace the container's root may not search the state root's directories.
    let root = sys::fd_path(root_fd.as_fd());
    let sources = mounts::HostSources::open(spec.mounts().as_deref().unwrap_or(&[]))?;
    let seeds = launch
        .volume_seeds
        .iter()
        .map(|(src, volume)| {
            sys::open_path(volume)
                .map(|fd| (src, fd))
                .ctx(|| format!("opening volume {}", volume.display()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if pipes.root.is_some() {
        identity::become_namespace_root()?;
    }
    for (src, volume) in &seeds {
        mounts::seed_volume(root_fd.as_fd(), src, &sys::fd_path(volume.as_fd()))?;
    }
    let mut dev_tmpfs = false;
    for m in spec.mounts().as_deref().unwrap_or(&[]) {
        mounts::mount_one(root_fd.as_fd(), m, sources.get(m))?;
        if m.destination() == Path::new("/dev") && m.typ().as_deref() == Some("tmpfs") {
            dev_tmpfs = true;
            mounts::populate_dev(&root.join("dev"))?;
        }
    }
    if let Some(devices) = linux.devices() {
        mounts::create_devices(&root, devices)?;
    }

    let process = spec.process().clone().unwrap_or_default();
    let terminal = matches!(launch.stdio, Stdio::Terminal);
    let mut tty = None;
    if terminal {
        let ptmx = if dev_tmpfs {
            root.join("dev/pts/ptmx")
        } else {
            Path::new("/dev/ptmx").to_path_buf()
        };
        let (master, _) = sys::open_pty(&ptmx).ctx(|| format!("opening {}", ptmx.display()))?;
        let slave = sys::open_pty_peer(master.as_fd()).ctx(|| "opening the pty slave".into())?;
        if let Some(size) = process.console_size() {
            let ws = libc::winsize {
                ws_row: size.height() as u16,
                ws_col: size.width() as u16,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            let _ = sys::set_winsize(master.as_fd(), &ws);
        }
        if dev_tmpfs {
            let console = root.join("dev/console");
            sys::create_file_at(sys::borrow(libc::AT_FDCWD), console.as_os_str(), 0o600)
                .ctx(|| "creating /dev/console".into())?;
            sys::mount(
                Some(&sys::fd_path(slave.as_fd()).to_string_lossy()),
                &console,
                None,
                libc::MS_BIND,
                None,
            )
            .ctx(|| "binding the pty to /dev/console".into())?;
        }
        if let Some(sock) = &pipes.pty {
            sys::send_with_fd(sock.as_fd(), b"pty", Some(master.as_fd()))
                .ctx(|| "sending the pty master".into())?;
        }
        drop(master);
        tty = Some(slave);
    }

    mounts::pivot(&root)?;
    drop(root_fd);
    drop(sources);
    drop(seeds);
    mounts::mask(linux.masked_paths().as_deref().unwrap_or(&[]))?;
    mounts::readonly(linux.readonly_paths().as_deref().unwrap_or(&[]))?;
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        mounts::readonly_root()?;
    }

    sys::setsid().ctx(|| "setsid".into())?;
    match (launch.stdio, tty) {
        (
            Stdio::Fds {
                stdin,
                stdout,
                stderr,
            },
            _,
        ) => {
            sys::dup2(stdin.as_raw_fd(), 0).ctx(|| "stdin".into())?;
            sys::dup2(stdout.as_raw_fd(), 1).ctx(|| "stdout".into())?;
            sys::dup2(stderr.as_raw_fd(), 2).ctx(|| "stderr".into())?;
        }
        (Stdio::Terminal, Some(slave)) => {
            sys::set_controlling_tty(slave.as_fd())
                .ctx(|| "setting the controlling terminal".into())?;
            for fd in 0..3 {
                sys::dup2(slave.as_raw_fd(), fd).ctx(|| "attaching the terminal".into())?;
            }
        }
        (Stdio::Terminal, None) => {
            return Err(StartError::berth("terminal requested but none was opened"))
        }
    }

    identity::apply_rlimits(&process)?;
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .ctx(|| "setting oom_score_adj".into())?;
    }
    identity::make_cwd(&process)?;
    let pending = confine::begin(&process, &launch.confine, pipes.err.as_fd())?;
    identity::drop_privileges(&process)?;
    identity::enter_cwd(&process)?;
    let cmd = identity::resolve_command(&process)?;
    sys::cloexec_from(3).ctx(|| "closing inherited descriptors".into())?;

    if launch.init {
        confine::finish(pending)?;
        init::run_as_pid1(&cmd, pipes.err.as_raw_fd())
    } else {
        sys::reset_signal_dispositions();
        sys::unblock_all_signals().ctx(|| "unblocking signals".into())?;
        confine::finish(pending)?;
        Err(identity::exec(&cmd))
    }
}
