//! Loader tests on real files in temporary directories: discovery, the environment,
//! the project name, `extends`, whole loads, and the shared `overrides` fixture. The
//! process environment is always given explicitly, never inherited.

use std::path::{Path, PathBuf};

use super::*;

mod discovery;
mod environment;
mod extends;
mod fixture;
mod naming;

/// A temporary directory with files in it (parent directories created).
pub(super) struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    pub fn new(files: &[(&str, &str)]) -> Tree {
        let t = Tree {
            dir: tempfile::tempdir().unwrap(),
        };
        for (path, text) in files {
            t.write(path, text);
        }
        t
    }

    pub fn write(&self, path: &str, text: &str) {
        let p = self.dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(&p).ok();
        p
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Options for a command run in `rel` with an empty process environment.
    pub fn opts(&self, rel: &str) -> LoadOptions {
        LoadOptions {
            cwd: self.path(rel),
            ..LoadOptions::default()
        }
    }
}

pub(super) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn merged(opts: &LoadOptions) -> MergedTree {
    match merged_tree_from(opts, &mut std::io::empty()) {
        Ok(m) => m,
        Err(e) => panic!("load failed: {e}"),
    }
}

pub(super) fn failure(opts: &LoadOptions) -> String {
    match merged_tree_from(opts, &mut std::io::empty()) {
        Ok(m) => panic!("expected an error, got {:?}", m.tree.to_json()),
        Err(e) => e.to_string(),
    }
}

/// The JSON of `services.NAME` in the merged tree.
pub(super) fn service(m: &MergedTree, name: &str) -> serde_json::Value {
    m.tree.to_json()["services"][name].clone()
}

/// A service file with one service `web` whose image is `image`.
pub(super) fn web(image: &str) -> String {
    format!("services:\n  web:\n    image: {image}\n")
}
