//! Finds what a COPY or ADD source names below a root (the build context, or a stage's
//! or image's file system for `--from`): plain paths, wildcards and `**`, with the
//! context's `.dockerignore` applied. Owns the rule that a source never leaves its
//! root; never follows a symlink out of it and never reads file contents.

use std::fs;
use std::path::Path;

use crate::context::Ignore;
use crate::pattern::{self, Pattern};

/// Paths (relative, `/`-separated; `""` is the root itself) that `source` names,
/// sorted. Errors are the message for the person who wrote the Dockerfile.
pub fn resolve(root: &Path, source: &str, ignore: Option<&Ignore>) -> Result<Vec<String>, String> {
    let pattern = Pattern::new(source).ok_or_else(|| {
        format!("{source}: the path is outside the build context (COPY and ADD can only read files inside it)")
    })?;
    let hidden = |rel: &str| !rel.is_empty() && ignore.is_some_and(|i| i.is_ignored(rel));
    if !pattern::has_wildcards(source) {
        let rel = pattern.parts().join("/");
        return match fs::symlink_metadata(root.join(&rel)) {
            Ok(_) if !hidden(&rel) => Ok(vec![rel]),
            Ok(_) => Err(format!(
                "{source}: excluded from the build context by .dockerignore"
            )),
            Err(_) => Err(format!("{source}: not found in the build context")),
        };
    }
    let mut found = Vec::new();
    let depth_limit = if pattern.parts().iter().any(|p| p == "**") {
        usize::MAX
    } else {
        pattern.parts().len()
    };
    walk_matching(root, "", 0, depth_limit, &pattern, &hidden, &mut found);
    if found.is_empty() {
        return Err(format!(
            "{source}: no files in the build context match this pattern"
        ));
    }
    found.sort();
    Ok(found)
}

/// For `COPY --parents`: how many leading components of a source's matches are left
/// out of the destination path, those before its first `/./` (BuildKit's pivot).
pub fn pivot_depth(source: &str) -> usize {
    let mut text = source;
    while let Some(rest) = text.strip_prefix("./") {
        text = rest;
    }
    match text.find("/./") {
        Some(at) => pattern::clean(&text[..at]).map_or(0, |p| p.len()),
        None => 0,
    }
}

fn walk_matching(
    root: &Path,
    rel: &str,
    depth: usize,
    limit: usize,
    pattern: &Pattern,
    hidden: &dyn Fn(&str) -> bool,
    out: &mut Vec<String>,
) {
    if depth >= limit {
        return;
    }
    let Ok(entries) = fs::read_dir(root.join(rel)) else {
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    for name in names {
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if hidden(&child) {
            continue;
        }
        if pattern.matches(&child) {
            out.push(child.clone());
            continue;
        }
        let is_dir = fs::symlink_metadata(root.join(&child)).is_ok_and(|m| m.is_dir());
        if is_dir {
            walk_matching(root, &child, depth + 1, limit, pattern, hidden, out);
        }
    }
}

/// Everything below directory `rel` (not `rel` itself), parents before children,
/// sorted, with ignored paths left out (a directory is kept when something below it
/// is re-included by a `!` rule).
pub fn tree(root: &Path, rel: &str, ignore: Option<&Ignore>) -> Vec<String> {
    let mut out = Vec::new();
    tree_into(root, rel, ignore, &mut out);
    out
}

fn tree_into(root: &Path, rel: &str, ignore: Option<&Ignore>, out: &mut Vec<String>) -> bool {
    let Ok(entries) = fs::read_dir(root.join(rel)) else {
        return false;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut any = false;
    for name in names {
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let ignored = ignore.is_some_and(|i| i.is_ignored(&child));
        let is_dir = fs::symlink_metadata(root.join(&child)).is_ok_and(|m| m.is_dir());
        if ignored && !(is_dir && ignore.is_some_and(Ignore::has_exceptions)) {
            continue;
        }
        let at = out.len();
        out.push(child.clone());
        let below = is_dir && tree_into(root, &child, ignore, out);
        if ignored && !below {
            out.remove(at);
            continue;
        }
        any = true;
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_plain_paths_and_escapes() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("src/sub")).unwrap();
        fs::write(d.path().join("a.txt"), "a").unwrap();
        fs::write(d.path().join("b.txt"), "b").unwrap();
        fs::write(d.path().join("src/sub/c.txt"), "c").unwrap();
        assert_eq!(
            resolve(d.path(), "*.txt", None).unwrap(),
            ["a.txt", "b.txt"]
        );
        assert_eq!(
            resolve(d.path(), "**/c.txt", None).unwrap(),
            ["src/sub/c.txt"]
        );
        assert_eq!(resolve(d.path(), "./src", None).unwrap(), ["src"]);
        assert!(resolve(d.path(), "../etc/passwd", None)
            .unwrap_err()
            .contains("outside the build context"));
        assert_eq!(pivot_depth("./src/./a/b.txt"), 1);
        assert_eq!(pivot_depth("x/y/./**/*.txt"), 2);
        assert_eq!(pivot_depth("./x/a.txt"), 0);
        assert!(resolve(d.path(), "nope", None)
            .unwrap_err()
            .contains("not found"));
        let ign = Ignore::parse("b.txt\nsrc\n!src/sub/c.txt\n");
        assert_eq!(resolve(d.path(), "*.txt", Some(&ign)).unwrap(), ["a.txt"]);
        assert_eq!(
            tree(d.path(), "", Some(&ign)),
            ["a.txt", "src", "src/sub", "src/sub/c.txt"]
        );
    }
}
