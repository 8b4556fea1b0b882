//! File trees behind `RUN --mount` sources: resolving a path inside a root the way the
//! kernel would inside a container (a symlink never leads out of the root), the content
//! digest of a context source for the cache key (honouring `.dockerignore`), and
//! copying a tree (filtered or whole) into a scratch or cache directory. Never writes
//! below a root it reads from.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::context::Ignore;
use crate::error::{Error, IoContext, Result};

/// `rel` inside `root` with every symlink on the way followed inside `root` (an
/// absolute link target starts at `root`, `..` stops at it). The last component is
/// followed too, as a bind mount follows it. Missing paths are an error.
pub fn resolve_in_root(root: &Path, rel: &str) -> Result<PathBuf> {
    let mut todo: Vec<String> = components(rel).into_iter().rev().collect();
    let mut done: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        if c == ".." {
            done.pop();
            continue;
        }
        let here: PathBuf = root.join(done.iter().chain(std::iter::once(&c)).collect::<PathBuf>());
        let m = fs::symlink_metadata(&here)
            .map_err(|e| Error::invalid(format!("{rel}: {e} (the mount source must exist)")))?;
        if m.file_type().is_symlink() {
            links += 1;
            if links > 40 {
                return Err(Error::invalid(format!(
                    "{rel}: too many levels of symlinks"
                )));
            }
            let target = fs::read_link(&here).ctx(|| format!("reading {}", here.display()))?;
            let target = target.to_string_lossy().into_owned();
            if target.starts_with('/') {
                done.clear();
            }
            todo.extend(components(&target).into_iter().rev());
        } else {
            done.push(c);
        }
    }
    Ok(root.join(done.iter().collect::<PathBuf>()))
}

/// The normal components of `p`, `..` kept (to be applied against what is resolved).
fn components(p: &str) -> Vec<String> {
    Path::new(p)
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

/// The path of `abs` relative to the context root, `/`-separated ("" for the root).
fn context_rel(context: &Path, abs: &Path) -> String {
    abs.strip_prefix(context)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A digest of what a mount of `src` (a path below `context`) shows: names, types,
/// modes, owners, sizes and bytes, never times. Returns it and whether `.dockerignore`
/// hid something below `src` (then the mount must show a filtered copy).
pub fn context_digest(context: &Path, src: &Path, ignore: &Ignore) -> Result<(String, bool)> {
    let mut h = Sha256::new();
    let mut hidden = false;
    walk(context, src, ignore, &mut |abs, m| {
        let Some(m) = m else {
            hidden = true;
            return Ok(());
        };
        let rel = abs
            .strip_prefix(src)
            .unwrap_or(abs)
            .to_string_lossy()
            .into_owned();
        h.update((rel.len() as u64).to_le_bytes());
        h.update(rel.as_bytes());
        h.update(m.mode().to_le_bytes());
        h.update(m.uid().to_le_bytes());
        h.update(m.gid().to_le_bytes());
        if m.file_type().is_symlink() {
            let t = fs::read_link(abs).ctx(|| format!("reading {}", abs.display()))?;
            h.update(t.to_string_lossy().as_bytes());
        } else if m.is_file() {
            h.update(m.len().to_le_bytes());
            let mut f = fs::File::open(abs).ctx(|| format!("reading {}", abs.display()))?;
            let mut buf = vec![0u8; 64 << 10];
            loop {
                let n = f
                    .read(&mut buf)
                    .ctx(|| format!("reading {}", abs.display()))?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
        }
        Ok(())
    })?;
    Ok((hex::encode(h.finalize()), hidden))
}

/// Calls `visit` for `src` and everything below it in name order; `None` metadata
/// for a path `.dockerignore` hides (which is not descended into unless a `!` rule
/// could bring something below it back).
fn walk(
    context: &Path,
    src: &Path,
    ignore: &Ignore,
    visit: &mut dyn FnMut(&Path, Option<&fs::Metadata>) -> Result<()>,
) -> Result<()> {
    let rel = context_rel(context, src);
    let m = fs::symlink_metadata(src).ctx(|| format!("reading {}", src.display()))?;
    let hidden = !rel.is_empty() && ignore.is_ignored(&rel);
    if hidden {
        visit(src, None)?;
        if !(m.is_dir() && ignore.has_exceptions()) {
            return Ok(());
        }
    } else {
        visit(src, Some(&m))?;
    }
    if m.is_dir() {
        let mut names: Vec<_> = fs::read_dir(src)
            .ctx(|| format!("reading {}", src.display()))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort();
        for n in names {
            walk(context, &src.join(n), ignore, visit)?;
        }
    }
    Ok(())
}

/// Copies what a mount of `src` shows (minus what `.dockerignore` hides) to `dest`,
/// which must not exist yet.
pub fn copy_filtered(context: &Path, src: &Path, ignore: &Ignore, dest: &Path) -> Result<()> {
    walk(context, src, ignore, &mut |abs, m| {
        let Some(m) = m else { return Ok(()) };
        let rel = abs.strip_prefix(src).unwrap_or(abs);
        let to = if rel.as_os_str().is_empty() {
            dest.to_path_buf()
        } else {
            dest.join(rel)
        };
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).ctx(|| format!("creating {}", parent.display()))?;
        }
        copy_entry(abs, m, &to)
    })
}

/// Copies the tree at `src` (no filter) to `dest`, keeping modes and owners; `dest`
/// may exist as a directory when `src` is one.
pub fn copy_tree(src: &Path, dest: &Path) -> Result<()> {
    let m = fs::symlink_metadata(src).ctx(|| format!("reading {}", src.display()))?;
    if m.is_dir() {
        if !dest.is_dir() {
            copy_entry(src, &m, dest)?;
        }
        let mut names: Vec<_> = fs::read_dir(src)
            .ctx(|| format!("reading {}", src.display()))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort();
        for n in names {
            copy_tree(&src.join(&n), &dest.join(&n))?;
        }
        Ok(())
    } else {
        copy_entry(src, &m, dest)
    }
}

/// One directory, file or symlink, with its mode and owner (a directory is made
/// empty; other kinds of file are skipped: they cannot be cache or mount content).
fn copy_entry(src: &Path, m: &fs::Metadata, to: &Path) -> Result<()> {
    let ft = m.file_type();
    if ft.is_symlink() {
        let t = fs::read_link(src).ctx(|| format!("reading {}", src.display()))?;
        std::os::unix::fs::symlink(&t, to).ctx(|| format!("creating {}", to.display()))?;
        let _ = std::os::unix::fs::lchown(to, Some(m.uid()), Some(m.gid()));
        return Ok(());
    }
    if ft.is_dir() {
        fs::create_dir(to).ctx(|| format!("creating {}", to.display()))?;
    } else if ft.is_file() {
        fs::copy(src, to).ctx(|| format!("copying {} to {}", src.display(), to.display()))?;
    } else {
        return Ok(());
    }
    std::os::unix::fs::chown(to, Some(m.uid()), Some(m.gid()))
        .ctx(|| format!("chown {}", to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(m.mode() & 0o7777))
        .ctx(|| format!("chmod {}", to.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(root.join("etc/passwd"), "inside").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../etc/passwd", root.join("up")).unwrap();
        assert_eq!(
            resolve_in_root(&root, "abs/passwd").unwrap(),
            root.join("etc/passwd")
        );
        assert_eq!(
            resolve_in_root(&root, "up").unwrap(),
            root.join("etc/passwd")
        );
        assert_eq!(resolve_in_root(&root, "/../etc").unwrap(), root.join("etc"));
        assert!(resolve_in_root(&root, "missing").is_err());
    }

    #[test]
    fn the_digest_follows_content_and_ignore_rules_but_not_times() {
        let t = tempfile::tempdir().unwrap();
        let ctx = t.path();
        fs::create_dir_all(ctx.join("src")).unwrap();
        fs::write(ctx.join("src/a"), "one").unwrap();
        fs::write(ctx.join("src/secret.key"), "k").unwrap();
        let none = Ignore::default();
        let (d1, hidden) = context_digest(ctx, &ctx.join("src"), &none).unwrap();
        assert!(!hidden);
        let f = fs::File::options()
            .write(true)
            .open(ctx.join("src/a"))
            .unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(context_digest(ctx, &ctx.join("src"), &none).unwrap().0, d1);
        fs::write(ctx.join("src/a"), "two").unwrap();
        let (d2, _) = context_digest(ctx, &ctx.join("src"), &none).unwrap();
        assert_ne!(d1, d2);

        let ign = Ignore::parse("*.key\nsrc/*.key\n");
        let (d3, hidden) = context_digest(ctx, &ctx.join("src"), &ign).unwrap();
        assert!(hidden);
        fs::write(ctx.join("src/secret.key"), "changed").unwrap();
        assert_eq!(context_digest(ctx, &ctx.join("src"), &ign).unwrap().0, d3);
        let dest = t.path().join("copy");
        copy_filtered(ctx, &ctx.join("src"), &ign, &dest).unwrap();
        assert!(dest.join("a").is_file());
        assert!(!dest.join("secret.key").exists());
    }
}
