//! Mount targets a RUN step's image lacked: the runtime creates them (and missing
//! parents) in the container's upper dir only to mount onto, and BuildKit leaves them
//! out of the layer, so berth does too. Owns finding them before the step and removing
//! them from the upper dir after it; never removes anything the step put there itself
//! (a created parent the step filled stays).

use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::layers;

/// The paths (relative to the root, parents first) that `target` needs and the image
/// (`lowers`, topmost first) does not have. Empty when something on the way is a
/// symlink or not a directory: then the runtime's path is not this simple walk's.
pub fn missing(lowers: &[PathBuf], target: &str) -> Vec<String> {
    let mut rel = PathBuf::new();
    let mut out = Vec::new();
    for c in Path::new(target).components() {
        let Component::Normal(name) = c else { continue };
        rel.push(name);
        let shown = rel.to_string_lossy().into_owned();
        if !out.is_empty() {
            out.push(shown);
            continue;
        }
        match layers::stat(lowers, &shown) {
            None => out.push(shown),
            Some(m) if m.is_dir() => {}
            // The target itself may be a file (a file bind); anything else on the way
            // is not a directory to walk through.
            Some(_) => return Vec::new(),
        }
    }
    out
}

/// Removes the mount points in `made` (from [`missing`]) from `upper`, deepest first,
/// as far as they are still empty.
pub fn remove(upper: &Path, made: &[String]) {
    let mut all: Vec<&String> = made.iter().collect();
    all.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
    all.dedup();
    for rel in all {
        let p = upper.join(rel);
        let Ok(m) = fs::symlink_metadata(&p) else {
            continue;
        };
        if m.is_dir() {
            // Fails (and is kept) when not empty.
            let _ = fs::remove_dir(&p);
        } else if m.is_file() && m.len() == 0 {
            let _ = fs::remove_file(&p);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_what_the_image_lacks_and_only_while_empty() {
        let t = tempfile::tempdir().unwrap();
        let lower = t.path().join("lower");
        fs::create_dir_all(lower.join("usr/share")).unwrap();
        fs::write(lower.join("etc"), "").unwrap();
        let lowers = vec![lower];
        assert_eq!(
            missing(&lowers, "/usr/share/cache/pip"),
            vec!["usr/share/cache", "usr/share/cache/pip"]
        );
        assert!(missing(&lowers, "/usr/share").is_empty());
        assert!(missing(&lowers, "/etc/x").is_empty());
        let made = missing(&lowers, "/run/secrets/tok");
        assert_eq!(made, vec!["run", "run/secrets", "run/secrets/tok"]);

        let upper = t.path().join("upper");
        fs::create_dir_all(upper.join("run/secrets")).unwrap();
        fs::write(upper.join("run/secrets/tok"), "").unwrap();
        fs::write(upper.join("run/kept"), "step output").unwrap();
        remove(&upper, &made);
        assert!(!upper.join("run/secrets").exists());
        assert!(upper.join("run/kept").is_file());
    }
}
