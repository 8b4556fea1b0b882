//! Tests for the model parser: every syntax of every key (`syntax`), the top-level
//! sections (`top_level`), every error and warning with its message and line
//! (`errors`, `warnings`), the JSON shape `config` prints (`json`), and the shared
//! compose fixtures (`fixtures`).

use std::collections::HashMap;
use std::path::PathBuf;

use super::*;
use crate::model::Service;
use crate::yaml;

mod errors;
mod fixtures;
mod json;
mod syntax;
mod top_level;
mod warnings;

pub(super) const WORKDIR: &str = "/srv/app";

/// The environment every test loads with.
pub(super) fn env() -> HashMap<String, String> {
    [
        ("HOME", "/home/user"),
        ("FROM_ENV", "env-value"),
        ("SECRET_VAR", "s3cret"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub(super) fn parse_in(
    text: &str,
    working_dir: &str,
    vars: &HashMap<String, String>,
) -> Result<(Project, Vec<Diagnostic>), Diagnostic> {
    let root = match yaml::parse(text, 3) {
        Ok(r) => r,
        Err(e) => panic!("test YAML does not parse: {e}\n{text}"),
    };
    let ctx = Context {
        project_name: "demo",
        working_dir: PathBuf::from(working_dir),
        env: vars,
    };
    project(&root, &ctx)
}

pub(super) fn parse(text: &str) -> Result<(Project, Vec<Diagnostic>), Diagnostic> {
    parse_in(text, WORKDIR, &env())
}

/// Parses and returns the project and its warnings' messages.
pub(super) fn ok(text: &str) -> (Project, Vec<String>) {
    match parse(text) {
        Ok((p, w)) => (p, w.into_iter().map(|d| d.message).collect()),
        Err(e) => panic!(
            "unexpected error at line {}: {}\n{text}",
            e.span.line, e.message
        ),
    }
}

pub(super) fn proj(text: &str) -> Project {
    ok(text).0
}

/// A file with one service `web` (image `img`) whose other keys are `body`, indented
/// under it. The first line of `body` is line 4 of the file.
pub(super) fn web(body: &str) -> String {
    let mut s = String::from("services:\n  web:\n    image: img\n");
    for line in body.lines() {
        if line.is_empty() {
            s.push('\n');
        } else {
            s.push_str("    ");
            s.push_str(line);
            s.push('\n');
        }
    }
    s
}

/// The service `web` of `web(body)`.
pub(super) fn svc(body: &str) -> Service {
    let mut p = proj(&web(body));
    match p.services.remove("web") {
        Some(s) => s,
        None => panic!("no service web"),
    }
}

pub(super) fn err(text: &str) -> Diagnostic {
    match parse(text) {
        Ok((p, _)) => panic!("expected an error, got {p:#?}\nfor:\n{text}"),
        Err(e) => e,
    }
}

/// Asserts the error is at `line` (of file 3) and its message contains `want`.
#[track_caller]
pub(super) fn assert_err(text: &str, line: u32, want: &str) {
    let e = err(text);
    assert!(
        e.message.contains(want),
        "message {:?} lacks {want:?}\nfor:\n{text}",
        e.message
    );
    assert_eq!(e.span.file, 3, "{}", e.message);
    assert_eq!(e.span.line, line, "wrong line for {:?}", e.message);
}

/// Asserts one warning contains `want`, at `line`.
#[track_caller]
pub(super) fn assert_warns(text: &str, line: u32, want: &str) {
    let (_, w) = match parse(text) {
        Ok(r) => r,
        Err(e) => panic!("unexpected error {e}\n{text}"),
    };
    let found = w.iter().find(|d| d.message.contains(want));
    match found {
        Some(d) => assert_eq!(d.span.line, line, "wrong line for {:?}", d.message),
        None => panic!("no warning contains {want:?}; got {w:#?}"),
    }
}

pub(super) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}
