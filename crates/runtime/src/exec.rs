//! Runs an additional process inside a running container (`berth exec`): joins its
//! cgroup and namespaces, forks into its PID namespace, and takes the spec'd identity.
//! The caller gets the pid of an intermediate process whose exit status is the
//! workload's, as Docker reports it (128+N for signal N).

use std::convert::Infallible;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use oci_spec::runtime::Process;

use crate::report::{self, Context};
use crate::{confine, identity, init, sys, Confinement, StartError, Stdio};

/// The running container to join.
pub struct ExecTarget {
    /// PID of the container's init, as seen from the host.
    pub pid: i32,
    /// The container's cgroup directories (one per v1 controller, or one on v2).
    pub cgroup_paths: Vec<PathBuf>,
}

/// Starts `process` inside `target`. Returns the intermediate pid to wait for and the pty
/// master when `stdio` is a terminal.
pub fn exec_in(
    target: &ExecTarget,
    process: &Process,
    confine: &Confinement,
    stdio: Stdio,
) -> Result<(i32, Option<OwnedFd>), StartError> {
    let terminal = matches!(stdio, Stdio::Terminal);
    let (pty_parent, pty_child) = if terminal {
        let (a, b) = sys::seqpacket_pair()?;
        (Some(a), Some(b))
    } else {
        (None, None)
    };
    let (pid, err_r) = fork_join(target, process, confine, stdio, pty_child)?;
    let mut master = None;
    if let Some(sock) = &pty_parent {
        let mut buf = [0u8; 16];
        if let Ok((_, fd)) = sys::recv_with_fd(sock.as_fd(), &mut buf) {
            master = fd;
        }
    }
    match report::wait(&err_r) {
        Ok(_warnings) => Ok((pid, master)),
        Err(e) => {
            let _ = sys::waitpid(pid, 0);
            Err(e)
        }
    }
}

/// Starts `process` inside `target` like [`exec_in`] (no terminal), without waiting for
/// it to start: for a caller that must never block, such as the monitor running a
/// health probe. Returns the intermediate pid, whose exit status is the workload's, and
/// the error pipe to hand to [`exec_failure`] once that pid has exited.
pub fn exec_spawn(
    target: &ExecTarget,
    process: &Process,
    confine: &Confinement,
    stdio: Stdio,
) -> Result<(i32, OwnedFd), StartError> {
    if matches!(stdio, Stdio::Terminal) {
        return Err(StartError::berth("a spawned exec cannot have a terminal"));
    }
    fork_join(target, process, confine, stdio, None)
}

/// Why a process started by [`exec_spawn`] never ran (None if it did), read without
/// blocking once its intermediate has exited.
pub fn exec_failure(errors: &OwnedFd) -> Option<StartError> {
    sys::set_nonblocking(errors.as_fd(), true).ok()?;
    let mut buf = [0u8; 8192];
    let n = sys::read(errors.as_raw_fd(), &mut buf).ok()?;
    report::parse(&buf[..n]).error
}

/// Forks the intermediate that joins `target`; returns its pid and the read end of the
/// error pipe (EOF once the workload has exec'd).
fn fork_join(
    target: &ExecTarget,
    process: &Process,
    confine: &Confinement,
    stdio: Stdio,
    pty_child: Option<OwnedFd>,
) -> Result<(i32, OwnedFd), StartError> {
    let pidfd = sys::pidfd_open(target.pid)
        .map_err(|e| StartError::berth(format!("container process {}: {e}", target.pid)))?;
    let (err_r, err_w) = sys::pipe()?;
    match sys::fork()? {
        sys::Forked::Child => {
            drop(err_r);
            let err = match join(target, &pidfd, process, confine, stdio, &err_w, pty_child) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            report::fail(err_w.as_fd(), &err)
        }
        sys::Forked::Parent(pid) => {
            drop(err_w);
            drop(pty_child);
            drop(stdio);
            Ok((pid, err_r))
        }
    }
}

fn join(
    target: &ExecTarget,
    pidfd: &OwnedFd,
    process: &Process,
    confine: &Confinement,
    stdio: Stdio,
    err_w: &OwnedFd,
    pty: Option<OwnedFd>,
) -> Result<Infallible, StartError> {
    sys::prctl(libc::PR_SET_DUMPABLE, 0).ctx(|| "PR_SET_DUMPABLE".into())?;
    for dir in &target.cgroup_paths {
        std::fs::write(dir.join("cgroup.procs"), sys::getpid().to_string())
            .ctx(|| format!("joining cgroup {}", dir.display()))?;
    }
    let mut flags = libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWCGROUP;
    let userns = own_user_namespace(target.pid);
    if userns {
        // The kernel joins the user namespace first, so the others (which it owns) follow.
        flags |= libc::CLONE_NEWUSER;
    }
    sys::setns(pidfd.as_fd(), flags).ctx(|| "joining the container's namespaces".into())?;
    if userns {
        identity::become_namespace_root()?;
    }
    // Entering the PID namespace takes effect for children only: fork once more.
    let child = match sys::fork().ctx(|| "fork".into())? {
        sys::Forked::Parent(pid) => pid,
        sys::Forked::Child => {
            let err = match workload(process, confine, stdio, pty, err_w) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            report::fail(err_w.as_fd(), &err)
        }
    };
    // Our copy of the error pipe must close so the CLI sees EOF once the workload execs.
    sys::close_raw(err_w.as_raw_fd());
    let status = loop {
        match sys::waitpid(child, 0) {
            Ok(Some((_, status))) => break status,
            Ok(None) => continue,
            Err(_) => sys::exit_now(125),
        }
    };
    sys::exit_now(init::exit_code(status))
}

/// Whether the container runs in a user namespace of its own (not ours).
fn own_user_namespace(pid: i32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let ino = |p: &str| std::fs::metadata(p).map(|m| (m.dev(), m.ino())).ok();
    match (
        ino("/proc/self/ns/user"),
        ino(&format!("/proc/{pid}/ns/user")),
    ) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    }
}

fn workload(
    process: &Process,
    confine: &Confinement,
    stdio: Stdio,
    pty: Option<OwnedFd>,
    err_w: &OwnedFd,
) -> Result<Infallible, StartError> {
    sys::setsid().ctx(|| "setsid".into())?;
    match stdio {
        Stdio::Fds {
            stdin,
            stdout,
            stderr,
        } => {
            sys::dup2(stdin.as_raw_fd(), 0).ctx(|| "stdin".into())?;
            sys::dup2(stdout.as_raw_fd(), 1).ctx(|| "stdout".into())?;
            sys::dup2(stderr.as_raw_fd(), 2).ctx(|| "stderr".into())?;
        }
        Stdio::Terminal => {
            let (master, _) = sys::open_pty(std::path::Path::new("/dev/ptmx"))
                .ctx(|| "opening /dev/ptmx".into())?;
            let slave =
                sys::open_pty_peer(master.as_fd()).ctx(|| "opening the pty slave".into())?;
            if let Some(size) = process.console_size() {
                let ws = libc::winsize {
                    ws_row: size.height() as u16,
                    ws_col: size.width() as u16,
                    ws_xpixel: 0,
                    ws_ypixel: 0,
                };
                let _ = sys::set_winsize(master.as_fd(), &ws);
            }
            if let Some(sock) = &pty {
                sys::send_with_fd(sock.as_fd(), b"pty", Some(master.as_fd()))
                    .ctx(|| "sending the pty master".into())?;
            }
            sys::set_controlling_tty(slave.as_fd())
                .ctx(|| "setting the controlling terminal".into())?;
            for fd in 0..3 {
                sys::dup2(slave.as_raw_fd(), fd).ctx(|| "attaching the terminal".into())?;
            }
        }
    }
    identity::apply_rlimits(process)?;
    let pending = confine::begin(process, confine, err_w.as_fd())?;
    identity::drop_privileges(process)?;
    identity::enter_cwd(process)?;
    let cmd = identity::resolve_command(process)?;
    sys::cloexec_from(3).ctx(|| "closing inherited descriptors".into())?;
    sys::reset_signal_dispositions();
    sys::unblock_all_signals().ctx(|| "unblocking signals".into())?;
    confine::finish(pending)?;
    Err(identity::exec(&cmd))
}
