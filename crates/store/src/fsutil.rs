//! Small durable-write helpers: write to a temp name, fsync, rename; syncfs for a
//! whole tree at once. Nothing here ever writes a published name in place.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{IoContext, Result};

/// Writes `bytes` to `dest` atomically and durably: a temp file in `tmp_dir` (same
/// filesystem), fsync, rename, fsync of the parent directory.
pub fn write_atomic(tmp_dir: &Path, dest: &Path, bytes: &[u8]) -> Result<()> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = tmp_dir.join(format!(".{name}.{}.{}", std::process::id(), unique()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)
            .ctx(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)
            .ctx(|| format!("writing {}", tmp.display()))?;
        f.sync_all().ctx(|| format!("syncing {}", tmp.display()))?;
        fs::rename(&tmp, dest).ctx(|| format!("publishing {}", dest.display()))?;
        if let Some(parent) = dest.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx(|| format!("syncing directory {}", dir.display()))
}

/// Flushes the whole filesystem that holds `path`. One syncfs after unpacking a layer
/// replaces an fsync per file: thousands of small files cost one journal commit.
pub fn syncfs(path: &Path) -> Result<()> {
    let f = File::open(path).ctx(|| format!("opening {}", path.display()))?;
    rustix::fs::syncfs(&f).ctx(|| format!("syncing the filesystem of {}", path.display()))
}

/// A process-unique counter for temp names.
pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Removes a tree, making read-only directories writable first (layer trees keep the
/// modes their archive gave them, including 0555 directories).
pub fn remove_tree(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).ctx(|| format!("inspecting {}", path.display())),
        // A file (a temp name left by a killed writer) is not a tree.
        Ok(m) if !m.is_dir() => {
            return match fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(e).ctx(|| format!("removing {}", path.display()))
                }
                _ => Ok(()),
            }
        }
        Ok(_) => {}
    }
    if fs::remove_dir_all(path).is_ok() {
        return Ok(());
    }
    make_writable(path);
    fs::remove_dir_all(path).ctx(|| format!("removing {}", path.display()))
}

fn make_writable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
    if let Ok(entries) = fs::read_dir(path) {
        for e in entries.flatten() {
            make_writable(&e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_tree_takes_files_and_read_only_trees() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join(".names.json.1.2");
        fs::write(&f, "x").unwrap();
        remove_tree(&f).unwrap();
        assert!(!f.exists());
        let d = t.path().join("d/e");
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("f"), "x").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&d, fs::Permissions::from_mode(0o555)).unwrap();
        remove_tree(&t.path().join("d")).unwrap();
        assert!(!t.path().join("d").exists());
        remove_tree(&t.path().join("missing")).unwrap();
    }
}
