//! User namespaces, parent side: writes a new user namespace's id maps and builds the
//! container's root as a detached mount whose image layers are idmapped into that
//! namespace, so the container sees the image's files owned by its own root without a
//! layer ever being copied or chowned.
//!
//! Runs in the monitor (host root) while the container's setup process waits; it never
//! runs inside the container. The overlay is created here, by host root, so it reads and
//! writes its `trusted.overlay.*` metadata like any other container's overlay; only the
//! layers underneath it are idmapped.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

pub use oci_spec::runtime::LinuxIdMapping as IdMapping;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};

use crate::{sys, Rootfs, StartError};

/// The uid and gid maps of the user namespace `spec` asks berth to create, or None
/// when the container shares the host's user namespace.
pub fn requested(spec: &Spec) -> Option<(Vec<LinuxIdMapping>, Vec<LinuxIdMapping>)> {
    let linux = spec.linux().as_ref()?;
    let wants = linux
        .namespaces()
        .as_ref()?
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    if !wants {
        return None;
    }
    Some((
        linux.uid_mappings().clone().unwrap_or_default(),
        linux.gid_mappings().clone().unwrap_or_default(),
    ))
}

fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// Writes the id maps of the user namespace `pid` was cloned into. Each map must be
/// written in one call, and only once.
pub fn write_maps(
    pid: libc::pid_t,
    uid: &[LinuxIdMapping],
    gid: &[LinuxIdMapping],
) -> Result<(), StartError> {
    if uid.is_empty() || gid.is_empty() {
        return Err(StartError::berth(
            "a user namespace needs both a uid and a gid mapping",
        ));
    }
    for (file, maps) in [("uid_map", uid), ("gid_map", gid)] {
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, map_text(maps))
            .map_err(|e| StartError::berth(format!("writing {path}: {e}")))?;
    }
    Ok(())
}

/// The user namespace `pid` is in, as a descriptor.
pub fn namespace_of(pid: libc::pid_t) -> Result<OwnedFd, StartError> {
    let ns_path = format!("/proc/{pid}/ns/user");
    File::open(&ns_path)
        .map(OwnedFd::from)
        .map_err(|e| StartError::berth(format!("opening {ns_path}: {e}")))
}

/// A new user namespace with these maps and no process in it, for idmapping the files
/// of a container that is not running (`berth cp`). A child is cloned into it, holds it
/// while the maps are written and the descriptor opened, and is reaped.
///
/// Same single-thread invariant as [`sys::clone_fork`].
pub fn new_namespace(
    uid: &[LinuxIdMapping],
    gid: &[LinuxIdMapping],
) -> Result<OwnedFd, StartError> {
    let (r, w) = sys::pipe()?;
    let pid = match sys::clone_fork(libc::CLONE_NEWUSER)? {
        sys::Forked::Child => {
            drop(w);
            let mut b = [0u8; 1];
            let _ = sys::read(r.as_raw_fd(), &mut b);
            sys::exit_now(0)
        }
        sys::Forked::Parent(pid) => pid,
    };
    drop(r);
    let ns = write_maps(pid, uid, gid).and_then(|()| namespace_of(pid));
    drop(w);
    let _ = sys::waitpid(pid, 0);
    ns
}

/// A root built by [`root_mount`].
pub struct RootMount {
    /// The mount to attach.
    pub mount: OwnedFd,
    /// The detached layer mounts under the overlay. Closing one dissolves its mount
    /// tree, which waits for an RCU grace period (milliseconds on a busy VM): keep them
    /// until the container has been released, then drop them off the critical path.
    pub layers: Vec<OwnedFd>,
}

/// The container's root as a detached mount, idmapped into the user namespace
/// `userns`: an overlay over idmapped image layers, or an idmapped copy of a root
/// directory. The setup process (or `cp`) attaches it with `move_mount`.
pub fn root_mount(rootfs: &Rootfs, userns: &OwnedFd) -> Result<RootMount, StartError> {
    let unsupported = |what: &str, e: std::io::Error| {
        StartError::berth(format!(
            "{what}: {e}. A user namespace needs idmapped mounts, and overlay layers given \
             as detached mounts (Linux 6.15 or newer; this is {}). Run with --userns=host",
            sys::kernel_release()
        ))
    };
    let idmapped = |dir: &std::path::Path, recursive: bool| -> Result<OwnedFd, StartError> {
        let what = || format!("idmapping {}", dir.display());
        let mnt = sys::open_tree_clone(dir, recursive).map_err(|e| unsupported(&what(), e))?;
        sys::idmap_mount(mnt.as_fd(), userns.as_fd()).map_err(|e| unsupported(&what(), e))?;
        Ok(mnt)
    };
    match rootfs {
        Rootfs::Overlay {
            lower, upper, work, ..
        } => {
            let layers = lower
                .iter()
                .map(|l| idmapped(l, false))
                .collect::<Result<Vec<_>, _>>()?;
            let fs = sys::fs_open("overlay").map_err(|e| unsupported("opening overlayfs", e))?;
            // One "lowerdir+" per layer (topmost first): no option-length limit, and the
            // kernel resolves each /proc/self/fd path here, to the detached mount.
            for l in &layers {
                let p = sys::fd_path(l.as_fd());
                sys::fs_config(fs.as_fd(), "lowerdir+", Some(&p.to_string_lossy()))
                    .map_err(|e| unsupported("adding an idmapped layer to the overlay", e))?;
            }
            for (key, dir) in [("upperdir", upper), ("workdir", work)] {
                sys::fs_config(fs.as_fd(), key, Some(&dir.to_string_lossy())).map_err(|e| {
                    StartError::berth(format!("overlay {key} {}: {e}", dir.display()))
                })?;
            }
            let mount = sys::fs_mount(fs.as_fd())
                .map_err(|e| unsupported("creating the overlay root", e))?;
            Ok(RootMount { mount, layers })
        }
        Rootfs::Bind(dir) => Ok(RootMount {
            mount: idmapped(dir, true)?,
            layers: Vec::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_are_one_line_per_range() {
        let m: Vec<LinuxIdMapping> = serde_json::from_str(
            r#"[{"containerID":0,"hostID":100000,"size":65536},{"containerID":65536,"hostID":5,"size":1}]"#,
        )
        .unwrap();
        assert_eq!(map_text(&m), "0 100000 65536\n65536 5 1\n");
    }
}
