//! Exit codes of `--rm` containers after their records are gone, for the `wait`s that
//! were waiting: a waiter makes `ROOT/exits/ID/` before it waits; the monitor, just
//! before it removes the container, writes the code into `ROOT/exits/ID/code` only if
//! that directory exists (one `stat` on the exit path, nothing when nobody waits); the
//! waiter reads it and removes the directory. Directories of waiters that died are
//! pruned after [`KEEP`] by the next waiter. Never holds anything but a number.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::state_root::StateRoot;

/// How long a forgotten note may stay: any live waiter has read its note long before.
const KEEP: Duration = Duration::from_secs(600);

fn dir(root: &StateRoot, id: &str) -> PathBuf {
    root.exit_notes().join(id)
}

/// A waiter's interest in `id`'s exit code; best effort (without it a `wait` on a
/// `--rm` container reports the last code it saw, as before).
pub fn want(root: &StateRoot, id: &str) {
    prune(root);
    let _ = fs::create_dir_all(dir(root, id));
}

/// Called by the monitor before it removes a `--rm` container.
pub fn write(root: &StateRoot, id: &str, code: i32) {
    let d = dir(root, id);
    if !d.is_dir() {
        return;
    }
    let tmp = d.join(".code.tmp");
    if fs::write(&tmp, code.to_string()).is_ok() {
        let _ = fs::rename(&tmp, d.join("code"));
    }
}

/// The code, if the monitor left one; the note goes either way.
pub fn take(root: &StateRoot, id: &str) -> Option<i32> {
    let d = dir(root, id);
    let code = fs::read_to_string(d.join("code"))
        .ok()
        .and_then(|t| t.trim().parse().ok());
    let _ = fs::remove_dir_all(&d);
    code
}

fn prune(root: &StateRoot) {
    let Ok(entries) = fs::read_dir(root.exit_notes()) else {
        return;
    };
    let now = SystemTime::now();
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > KEEP);
        if old {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_wanted_note_is_written_and_taking_it_removes_it() {
        let tmp = tempfile::tempdir().unwrap();
        let root = StateRoot::open(tmp.path()).unwrap();
        write(&root, "nobody-waits", 3);
        assert!(!dir(&root, "nobody-waits").exists());
        want(&root, "abc");
        write(&root, "abc", 137);
        assert_eq!(take(&root, "abc"), Some(137));
        assert!(!dir(&root, "abc").exists());
        assert_eq!(take(&root, "abc"), None);
        // A waiter that died long ago leaves a directory the next waiter prunes.
        let stale = dir(&root, "stale");
        fs::create_dir_all(&stale).unwrap();
        let f = fs::File::open(&stale).unwrap();
        f.set_modified(SystemTime::now() - KEEP - Duration::from_secs(1))
            .unwrap();
        want(&root, "def");
        assert!(!stale.exists());
        assert!(dir(&root, "def").exists());
    }
}
