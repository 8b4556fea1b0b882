//! Parent side of starting a container: creates the cgroup, clones the setup process
//! into new namespaces, places it in the cgroup, releases it, and collects the pty
//! master and the start result. On failure nothing is left: the child is reaped and the
//! cgroup removed.

use std::os::fd::{AsFd, AsRawFd};

use oci_spec::runtime::LinuxNamespaceType;

use crate::child::{self, Pipes};
use crate::{idmap, sys, Launch, StartError, Started, Stdio};

fn clone_flags(launch: &Launch<'_>) -> libc::c_int {
    let mut flags = 0;
    let namespaces = launch
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    for ns in namespaces.iter().filter(|n| n.path().is_none()) {
        flags |= match ns.typ() {
            LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
            LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
            LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
            LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
            LinuxNamespaceType::Network => libc::CLONE_NEWNET,
            // First of all: the other namespaces then belong to the new user namespace.
            LinuxNamespaceType::User => libc::CLONE_NEWUSER,
            // The cgroup namespace is created by the child once it is in its cgroup.
            _ => 0,
        };
    }
    flags
}

/// Starts the container described by `launch`. Returns once the workload has been
/// exec'd (or the init has started it), or with the reason it could not be.
pub fn spawn(mut launch: Launch<'_>) -> Result<Started, StartError> {
    let mut before_release = launch.before_release.take();
    let flags = clone_flags(&launch);
    let userns = idmap::requested(launch.spec);
    let mut warnings = match launch.cgroup {
        Some(cg) => cg
            .create(&launch.resources)
            .map_err(|e| StartError::berth(e.to_string()))?,
        None => Vec::new(),
    };
    let cleanup_cgroup = |e: StartError| {
        if let Some(cg) = launch.cgroup {
            let _ = cg.destroy();
        }
        e
    };
    let (go_r, go_w) = sys::pipe()
        .map_err(StartError::from)
        .map_err(cleanup_cgroup)?;
    let (err_r, err_w) = sys::pipe()
        .map_err(StartError::from)
        .map_err(cleanup_cgroup)?;
    let pty = if matches!(launch.stdio, Stdio::Terminal) {
        Some(
            sys::seqpacket_pair()
                .map_err(StartError::from)
                .map_err(cleanup_cgroup)?,
        )
    } else {
        None
    };
    // In a user namespace the root is built by us (see idmap) and handed over here.
    let root_sock = match userns {
        Some(_) => Some(
            sys::seqpacket_pair()
                .map_err(StartError::from)
                .map_err(cleanup_cgroup)?,
        ),
        None => None,
    };
    let cgroup = launch.cgroup;
    let pid = match sys::clone_fork(flags) {
        Err(e) => {
            return Err(cleanup_cgroup(StartError::berth(format!(
                "creating the container's namespaces: {e}"
            ))))
        }
        Ok(sys::Forked::Child) => {
            drop(go_w);
            drop(err_r);
            let (parent_end, child_end) = match pty {
                Some((a, b)) => (Some(a), Some(b)),
                None => (None, None),
            };
            drop(parent_end);
            child::run(
                launch,
                Pipes {
                    go: go_r,
                    err: err_w,
                    pty: child_end,
                    root: root_sock.map(|(_, b)| b),
                },
            )
        }
        Ok(sys::Forked::Parent(pid)) => pid,
    };
    drop(go_r);
    drop(err_w);
    drop(launch.stdio);
    let pty_parent = pty.map(|(a, _b)| a);
    let root_parent = root_sock.map(|(a, _b)| a);

    let abort = |e: StartError| {
        let _ = sys::kill(pid, libc::SIGKILL);
        let _ = sys::waitpid(pid, 0);
        if let Some(cg) = cgroup {
            let _ = cg.destroy();
        }
        e
    };
    if let Some(cg) = cgroup {
        if let Err(e) = cg.add_pid(pid) {
            return Err(abort(StartError::berth(e.to_string())));
        }
    }
    let mut built = None;
    if let (Some((uid, gid)), Some(sock)) = (&userns, &root_parent) {
        let handed = idmap::write_maps(pid, uid, gid)
            .and_then(|()| idmap::namespace_of(pid))
            .and_then(|ns| idmap::root_mount(&launch.rootfs, &ns))
            .and_then(|root| {
                sys::send_with_fd(sock.as_fd(), b"root", Some(root.mount.as_fd()))
                    .map_err(|e| StartError::berth(format!("handing over the root: {e}")))?;
                Ok(root)
            });
        match handed {
            Ok(root) => built = Some(root),
            Err(e) => return Err(abort(e)),
        }
    }
    if let Some(hook) = before_release.as_mut() {
        if let Err(e) = (hook.0)(pid) {
            return Err(abort(StartError::berth(e)));
        }
    }
    if let Err(e) = sys::write_all(go_w.as_raw_fd(), b"g") {
        return Err(abort(StartError::berth(format!(
            "releasing the container: {e}"
        ))));
    }
    drop(go_w);
    drop(built);

    let mut pty_master = None;
    if let Some(sock) = &pty_parent {
        let mut buf = [0u8; 16];
        if let Ok((_, fd)) = sys::recv_with_fd(sock.as_fd(), &mut buf) {
            pty_master = fd;
        }
    }
    match crate::report::wait(&err_r) {
        Ok(child_warnings) => {
            warnings.extend(child_warnings);
            Ok(Started {
                pid,
                pty_master,
                warnings,
            })
        }
        Err(e) => {
            let _ = sys::waitpid(pid, 0);
            if let Some(cg) = cgroup {
                let _ = cg.destroy();
            }
            Err(e)
        }
    }
}
