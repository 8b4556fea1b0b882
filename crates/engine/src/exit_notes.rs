//! Exit codes of `--rm` containers after their records are gone: the monitor writes
//! `ROOT/exits/ID` just before it removes the container, and a `wait` that was already
//! waiting reads it. Notes older than [`KEEP`] are deleted by the next writer, so the
//! directory stays small. Never holds anything but a number.

use std::fs;
use std::time::{Duration, SystemTime};

use crate::state_root::StateRoot;

/// How long a note outlives its container: any `wait` that began before the exit has
/// read it long before.
const KEEP: Duration = Duration::from_secs(600);

/// Best effort: a missing note only makes a late `wait` report 0, as before.
pub fn write(root: &StateRoot, id: &str, code: i32) {
    let dir = root.exit_notes();
    if fs::create_dir_all(&dir).is_err() {
        return;
    }
    let tmp = dir.join(format!(".{id}.tmp"));
    if fs::write(&tmp, code.to_string()).is_ok() {
        let _ = fs::rename(&tmp, dir.join(id));
    }
    prune(&dir);
}

pub fn read(root: &StateRoot, id: &str) -> Option<i32> {
    fs::read_to_string(root.exit_notes().join(id))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn prune(dir: &std::path::Path) {
    let Ok(entries) = fs::read_dir(dir) else {
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
            let _ = fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_read_back_and_old_ones_go() {
        let tmp = tempfile::tempdir().unwrap();
        let root = StateRoot::open(tmp.path()).unwrap();
        write(&root, "abc", 137);
        assert_eq!(read(&root, "abc"), Some(137));
        assert_eq!(read(&root, "nothere"), None);
        let stale = root.exit_notes().join("stale");
        fs::write(&stale, "1").unwrap();
        let f = fs::File::options().write(true).open(&stale).unwrap();
        f.set_modified(SystemTime::now() - KEEP - Duration::from_secs(1))
            .unwrap();
        write(&root, "def", 0);
        assert!(!stale.exists());
        assert_eq!(read(&root, "abc"), Some(137));
    }
}
