//! Turns a container's overlay upper directory into an OCI layer tar: overlay
//! whiteouts (character devices 0:0) become `.wh.NAME` files, opaque directories
//! (`trusted.overlay.opaque=y`) get a `.wh..wh..opq` entry, hard links inside the
//! upper dir stay hard links. Entries are sorted by name and keep their modes, owners
//! and timestamps, so the same upper dir always gives the same tar. Mount points the
//! runtime made (`/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`) and what is below
//! `/proc`, `/sys` and `/dev` are left out, as Docker leaves them out. Never modifies
//! the upper dir.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::layers::is_whiteout;

/// Files the runtime bind-mounts over; their upper-dir copies are empty mount points.
const MOUNT_POINTS: &[&str] = &["etc/hosts", "etc/hostname", "etc/resolv.conf"];
/// Directories whose content is the runtime's, never the step's.
const RUNTIME_DIRS: &[&str] = &["proc", "sys", "dev"];

/// Writes the layer tar of `upper` to `out`; returns how many entries it holds.
pub fn write_layer(upper: &Path, out: impl Write) -> Result<usize> {
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    let mut links: HashMap<(u64, u64), String> = HashMap::new();
    let mut count = 0;
    walk(upper, "", &mut tar, &mut links, &mut count)?;
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .ctx(|| "finishing the layer tar".into())?;
    Ok(count)
}

fn walk<W: Write>(
    upper: &Path,
    rel: &str,
    tar: &mut tar::Builder<W>,
    links: &mut HashMap<(u64, u64), String>,
    count: &mut usize,
) -> Result<()> {
    let dir = upper.join(rel);
    let mut names: Vec<String> = Vec::new();
    for e in fs::read_dir(&dir).ctx(|| format!("reading {}", dir.display()))? {
        let e = e.ctx(|| format!("reading {}", dir.display()))?;
        let name = e.file_name().into_string().map_err(|n| {
            Error::invalid(format!(
                "{}/{n:?}: file names that are not UTF-8 cannot go into a layer yet",
                dir.display()
            ))
        })?;
        names.push(name);
    }
    names.sort();
    for name in names {
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let path = upper.join(&child);
        let m = fs::symlink_metadata(&path).ctx(|| format!("reading {}", path.display()))?;
        if MOUNT_POINTS.contains(&child.as_str()) && m.is_file() && m.len() == 0 {
            continue;
        }
        if is_whiteout(&m) {
            let wh = if rel.is_empty() {
                format!(".wh.{name}")
            } else {
                format!("{rel}/.wh.{name}")
            };
            let mut h = header(&m, tar::EntryType::Regular);
            h.set_size(0);
            h.set_mode(0o600);
            tar.append_data(&mut h, &wh, std::io::empty())
                .ctx(|| format!("adding {wh} to the layer"))?;
            *count += 1;
            continue;
        }
        add(tar, &path, &child, &m, links)?;
        *count += 1;
        if m.is_dir() {
            if is_opaque(&path) {
                let opq = format!("{child}/.wh..wh..opq");
                let mut h = header(&m, tar::EntryType::Regular);
                h.set_size(0);
                h.set_mode(0o600);
                tar.append_data(&mut h, &opq, std::io::empty())
                    .ctx(|| format!("adding {opq} to the layer"))?;
                *count += 1;
            }
            if !RUNTIME_DIRS.contains(&child.as_str()) {
                walk(upper, &child, tar, links, count)?;
            }
        }
    }
    Ok(())
}

fn is_opaque(path: &Path) -> bool {
    let mut buf = [0u8; 4];
    match rustix::fs::lgetxattr(path, "trusted.overlay.opaque", &mut buf[..]) {
        Ok(n) => &buf[..n] == b"y",
        Err(_) => false,
    }
}

/// The extended attributes a layer keeps (file capabilities, ACLs...): everything but
/// the overlay's own bookkeeping.
fn xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names = vec![0u8; 64 * 1024];
    let Ok(n) = rustix::fs::llistxattr(path, &mut names[..]) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for raw in names[..n].split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let Ok(name) = std::str::from_utf8(raw) else {
            continue;
        };
        if name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.") {
            continue;
        }
        let mut value = vec![0u8; 64 * 1024];
        if let Ok(len) = rustix::fs::lgetxattr(path, name, &mut value[..]) {
            value.truncate(len);
            out.push((name.to_string(), value));
        }
    }
    out.sort();
    out
}

/// A header with the metadata every entry keeps: mode, owner, modification time.
pub fn header(m: &fs::Metadata, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(m.mode() & 0o7777);
    h.set_uid(u64::from(m.uid()));
    h.set_gid(u64::from(m.gid()));
    h.set_mtime(u64::try_from(m.mtime()).unwrap_or(0));
    h.set_size(0);
    h
}

/// Appends one file system object at `name`.
pub fn add<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &Path,
    name: &str,
    m: &fs::Metadata,
    links: &mut HashMap<(u64, u64), String>,
) -> Result<()> {
    let ft = m.file_type();
    let what = || format!("adding {name} to the layer");
    let is_link_to_earlier =
        ft.is_file() && m.nlink() > 1 && links.contains_key(&(m.dev(), m.ino()));
    if !is_link_to_earlier {
        let xattrs = xattrs(path);
        if !xattrs.is_empty() {
            let keys: Vec<(String, &[u8])> = xattrs
                .iter()
                .map(|(k, v)| (format!("SCHILY.xattr.{k}"), v.as_slice()))
                .collect();
            tar.append_pax_extensions(keys.iter().map(|(k, v)| (k.as_str(), *v)))
                .ctx(what)?;
        }
    }
    if ft.is_dir() {
        let mut h = header(m, tar::EntryType::Directory);
        tar.append_data(&mut h, format!("{name}/"), std::io::empty())
            .ctx(what)?;
    } else if ft.is_symlink() {
        let target = fs::read_link(path).ctx(|| format!("reading {}", path.display()))?;
        let mut h = header(m, tar::EntryType::Symlink);
        tar.append_link(&mut h, name, &target).ctx(what)?;
    } else if ft.is_file() {
        if m.nlink() > 1 {
            let key = (m.dev(), m.ino());
            if let Some(first) = links.get(&key) {
                let mut h = header(m, tar::EntryType::Link);
                tar.append_link(&mut h, name, first).ctx(what)?;
                return Ok(());
            }
            links.insert(key, name.to_string());
        }
        let f = fs::File::open(path).ctx(|| format!("opening {}", path.display()))?;
        let mut h = header(m, tar::EntryType::Regular);
        h.set_size(m.len());
        tar.append_data(&mut h, name, f).ctx(what)?;
    } else {
        let kind = if ft.is_char_device() {
            tar::EntryType::Char
        } else if ft.is_block_device() {
            tar::EntryType::Block
        } else if ft.is_fifo() {
            tar::EntryType::Fifo
        } else {
            // Sockets cannot be in a layer; Docker drops them too.
            return Ok(());
        };
        let mut h = header(m, kind);
        let rdev = m.rdev();
        h.set_device_major(libc::major(rdev)).ctx(what)?;
        h.set_device_minor(libc::minor(rdev)).ctx(what)?;
        tar.append_data(&mut h, name, std::io::empty()).ctx(what)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tar_bytes: &[u8]) -> Vec<String> {
        let mut a = tar::Archive::new(tar_bytes);
        a.entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn whiteouts_and_mount_points_become_layer_entries() {
        let d = tempfile::tempdir().unwrap();
        let up = d.path();
        fs::create_dir_all(up.join("etc")).unwrap();
        fs::write(up.join("etc/hosts"), "").unwrap();
        fs::write(up.join("etc/new"), "x").unwrap();
        fs::create_dir_all(up.join("proc/self")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            up.join("gone"),
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0),
            0,
        )
        .unwrap();
        let mut out = Vec::new();
        write_layer(up, &mut out).unwrap();
        assert_eq!(names(&out), ["etc/", "etc/new", ".wh.gone", "proc/"]);
    }

    #[test]
    fn xattrs_go_into_pax_records_but_overlay_ones_do_not() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        fs::write(&f, "x").unwrap();
        let flags = rustix::fs::XattrFlags::empty();
        if rustix::fs::lsetxattr(&f, "user.berth-test", b"v1", flags).is_err() {
            return; // this file system has no user xattrs: nothing to check
        }
        rustix::fs::lsetxattr(&f, "trusted.overlay.origin", b"o", flags).unwrap();
        let mut out = Vec::new();
        write_layer(d.path(), &mut out).unwrap();
        let mut a = tar::Archive::new(&out[..]);
        let mut e = a.entries().unwrap().next().unwrap().unwrap();
        let pax: Vec<(String, Vec<u8>)> = e
            .pax_extensions()
            .unwrap()
            .unwrap()
            .map(|x| {
                let x = x.unwrap();
                (x.key().unwrap().to_string(), x.value_bytes().to_vec())
            })
            .collect();
        assert_eq!(
            pax,
            [("SCHILY.xattr.user.berth-test".to_string(), b"v1".to_vec())]
        );
    }
}
