//! WORKDIR's directory: which directories of the path the stage's layers lack, and the
//! layer tar that creates them (mode 0755, owned by the stage's USER, as BuildKit's
//! `mkdir -p` does). Owns only that; never changes a directory that exists.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use crate::error::{IoContext, Result};

/// Symlinks followed before giving up, as Linux's own limit.
const MAX_LINKS: usize = 40;

/// The directories (relative to `/`, parents first) that must be made so `dir` exists
/// in the layers (topmost first). Symlinks on the way are followed within the layers,
/// so `WORKDIR /var/run/app` with `/var/run -> /run` makes `run/app`. An error says
/// which part of the path is not a directory.
pub fn missing(layers: &[PathBuf], dir: &str) -> std::result::Result<Vec<String>, String> {
    let mut todo: Vec<String> = components(dir);
    todo.reverse();
    let mut done: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        if c == ".." {
            done.pop();
            continue;
        }
        done.push(c);
        let rel = done.join("/");
        if !out.is_empty() {
            // Below a directory being made nothing exists yet.
            out.push(rel);
            continue;
        }
        match find(layers, &rel) {
            None => out.push(rel),
            Some((_, m)) if m.is_dir() => {}
            Some((path, m)) if m.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(format!("WORKDIR {dir}: too many levels of symbolic links"));
                }
                let target = fs::read_link(&path)
                    .map_err(|e| format!("WORKDIR {dir}: reading the link /{rel}: {e}"))?;
                let target = target.to_string_lossy().into_owned();
                done.pop();
                if target.starts_with('/') {
                    done.clear();
                }
                for t in components(&target).into_iter().rev() {
                    todo.push(t);
                }
            }
            Some(_) => {
                return Err(format!(
                    "WORKDIR {dir}: /{rel} exists and is not a directory (pick another directory, or remove the file in a RUN first)"
                ))
            }
        }
    }
    Ok(out)
}

fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(String::from)
        .collect()
}

/// `rel` in the topmost layer that has it, unless a whiteout hides it.
fn find(layers: &[PathBuf], rel: &str) -> Option<(PathBuf, fs::Metadata)> {
    for layer in layers {
        let p = layer.join(rel);
        if let Ok(m) = fs::symlink_metadata(&p) {
            if crate::layers::is_whiteout(&m) {
                return None;
            }
            return Some((p, m));
        }
    }
    None
}

/// Writes a layer tar holding the directories `dirs` (parents first).
pub fn write(dirs: &[String], owner: (u32, u32), out: impl Write) -> Result<()> {
    let mut tar = tar::Builder::new(out);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for d in dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_uid(u64::from(owner.0));
        h.set_gid(u64::from(owner.1));
        h.set_mtime(now);
        h.set_size(0);
        tar.append_data(&mut h, format!("{d}/"), std::io::empty())
            .ctx(|| format!("adding {d} to the layer"))?;
    }
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .ctx(|| "finishing the layer tar".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn only_the_missing_part_is_made_and_links_are_followed() {
        let top = tempfile::tempdir().unwrap();
        let bottom = tempfile::tempdir().unwrap();
        fs::create_dir_all(bottom.path().join("usr/src")).unwrap();
        fs::create_dir_all(bottom.path().join("run")).unwrap();
        fs::create_dir_all(top.path().join("var")).unwrap();
        symlink("../run", top.path().join("var/run")).unwrap();
        fs::write(bottom.path().join("file"), "x").unwrap();
        let layers = [top.path().to_path_buf(), bottom.path().to_path_buf()];
        assert_eq!(missing(&layers, "/usr/src").unwrap(), Vec::<String>::new());
        assert_eq!(
            missing(&layers, "/usr/src/app/x").unwrap(),
            ["usr/src/app", "usr/src/app/x"]
        );
        assert_eq!(missing(&layers, "/var/run/app").unwrap(), ["run/app"]);
        assert_eq!(missing(&[], "/app").unwrap(), ["app"]);
        assert!(missing(&layers, "/file/sub")
            .unwrap_err()
            .contains("/file exists and is not a directory"));
        symlink("loop", top.path().join("loop")).unwrap();
        assert!(missing(&layers, "/loop")
            .unwrap_err()
            .contains("symbolic links"));
    }

    #[test]
    fn the_layer_holds_the_directories_with_the_owner() {
        let mut buf = Vec::new();
        write(&["app".into(), "app/x".into()], (1000, 1001), &mut buf).unwrap();
        let mut a = tar::Archive::new(buf.as_slice());
        let got: Vec<(String, u64, u32)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.uid().unwrap(),
                    h.mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [("app/".into(), 1000, 0o755), ("app/x/".into(), 1000, 0o755)]
        );
    }
}
