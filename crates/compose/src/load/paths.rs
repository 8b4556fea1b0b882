//! Lexical path arithmetic for the loader: making a path absolute against a directory,
//! cleaning `.` and `..` out of it, and expressing it relative to the working directory
//! for messages. Never touches the filesystem (no canonicalisation, no symlink
//! resolution), so a path means what the user wrote.

use std::path::{Component, Path, PathBuf};

/// `path` made absolute against `base` (when relative) and cleaned.
pub(crate) fn absolute(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        clean(path)
    } else {
        clean(&base.join(path))
    }
}

/// Removes `.` components and folds `name/..` pairs, as Go's `filepath.Clean` does.
/// A `..` at the root stays at the root.
pub(crate) fn clean(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) | Some(Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// `path` relative to `base` when both are absolute (`../x/compose.yaml`), for
/// messages; `path` itself otherwise.
pub(crate) fn relative(path: &Path, base: &Path) -> PathBuf {
    if !path.is_absolute() || !base.is_absolute() {
        return path.to_path_buf();
    }
    let (path, base) = (clean(path), clean(base));
    let p: Vec<Component> = path.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

/// A string path as the compose file wrote it, made absolute against `dir` when it is
/// relative (`~` paths and URLs are left to the model parser).
pub(crate) fn rebase_str(dir: &Path, s: &str) -> Option<String> {
    if s.is_empty() || s.starts_with('/') || s.starts_with('~') || is_remote(s) {
        return None;
    }
    Some(absolute(dir, Path::new(s)).to_string_lossy().into_owned())
}

/// A build context or file reference that is not on this machine.
pub(crate) fn is_remote(s: &str) -> bool {
    s.contains("://") || s.starts_with("git@") || s.starts_with("github.com/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_like_go() {
        for (i, o) in [
            ("/a/./b/../c", "/a/c"),
            ("/../a", "/a"),
            ("a/../..", ".."),
            ("./", "."),
            ("/a/b/", "/a/b"),
        ] {
            assert_eq!(clean(Path::new(i)), PathBuf::from(o), "{i}");
        }
    }

    #[test]
    fn relative_paths_climb_with_dotdot() {
        let r = |p: &str, b: &str| relative(Path::new(p), Path::new(b));
        assert_eq!(
            r("/w/p/compose.yaml", "/w/p"),
            PathBuf::from("compose.yaml")
        );
        assert_eq!(
            r("/w/compose.yaml", "/w/p/q"),
            PathBuf::from("../../compose.yaml")
        );
        assert_eq!(r("/x/c.yaml", "/w"), PathBuf::from("../x/c.yaml"));
        assert_eq!(r("/w", "/w"), PathBuf::from("."));
    }

    #[test]
    fn rebase_leaves_absolute_home_and_remote_alone() {
        let d = Path::new("/base/dir");
        assert_eq!(rebase_str(d, "./x/../y").as_deref(), Some("/base/dir/y"));
        assert_eq!(rebase_str(d, "sub").as_deref(), Some("/base/dir/sub"));
        assert_eq!(rebase_str(d, "../up").as_deref(), Some("/base/up"));
        assert_eq!(rebase_str(d, "/abs"), None);
        assert_eq!(rebase_str(d, "~/x"), None);
        assert_eq!(rebase_str(d, "https://github.com/a/b.git"), None);
        assert_eq!(rebase_str(d, "git@github.com:a/b.git"), None);
    }
}
