//! The files one load reads (the compose files, and files named by `extends`), each
//! with the name messages use for it, and the turning of a node's span into
//! `PATH:LINE:COL`. Reads and parses files; never interprets what is in them.

use std::path::{Path, PathBuf};

use super::paths;
use super::LoadError;
use crate::value::{Node, Span, Value};

/// One file read by the loader; a span's `file` is its index in [`Sources::files`].
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// How messages name it: as the user wrote it, or relative to the working
    /// directory.
    pub display: String,
    /// What relative paths inside the file are relative to: the project directory
    /// for the project's compose files, the file's own directory for a file loaded
    /// by `extends`.
    pub base_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub(crate) struct Sources {
    pub files: Vec<Source>,
    pub cwd: PathBuf,
}

impl Sources {
    pub fn new(cwd: &Path) -> Sources {
        Sources {
            files: Vec::new(),
            cwd: cwd.to_path_buf(),
        }
    }

    pub fn add(&mut self, display: String, base_dir: PathBuf) -> u32 {
        self.files.push(Source { display, base_dir });
        // Far more files than any project reads would have to be opened before this
        // saturates, and a saturated index only makes a message name the wrong file.
        u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX)
    }

    pub fn get(&self, file: u32) -> Option<&Source> {
        self.files.get(file as usize)
    }

    /// `path` as messages show it: relative to the working directory.
    pub fn display_of(&self, path: &Path) -> String {
        paths::relative(path, &self.cwd)
            .to_string_lossy()
            .into_owned()
    }

    /// `PATH:LINE:COL` for a span.
    pub fn locate(&self, span: Span) -> String {
        let name = self
            .get(span.file)
            .map_or("<unknown file>", |s| s.display.as_str());
        if span.line == 0 {
            name.to_string()
        } else {
            format!("{name}:{}:{}", span.line, span.col)
        }
    }

    /// `PATH:LINE:COL: message`.
    pub fn at(&self, span: Span, message: impl std::fmt::Display) -> String {
        format!("{}: {message}", self.locate(span))
    }

    pub fn error(&self, span: Span, message: impl std::fmt::Display) -> LoadError {
        LoadError(self.at(span, message))
    }

    /// Parses file `file`'s text. A document with nothing in it is an empty mapping
    /// (an override file may well be empty); any other non-mapping is an error.
    pub fn parse(&self, file: u32, text: &str) -> Result<Node, LoadError> {
        let node = crate::yaml::parse(text, file).map_err(|e| {
            self.error(
                Span {
                    file: e.file,
                    line: e.line,
                    col: e.col,
                },
                &e.message,
            )
        })?;
        match node.value {
            Value::Map(_) => Ok(node),
            Value::Null => Ok(Node::new(Value::Map(Vec::new()), node.span)),
            _ => Err(self.error(
                node.span,
                format!(
                    "the top level of a compose file must be a mapping (services:, networks:, ...), not {}",
                    node.kind()
                ),
            )),
        }
    }
}

/// Reads a file's text, with an error that names it the way the user knows it.
pub(crate) fn read_text(path: &Path, display: &str, what: &str) -> Result<String, LoadError> {
    let bytes = std::fs::read(path)
        .map_err(|e| LoadError(format!("{display}: cannot read {what}: {e}")))?;
    String::from_utf8(bytes)
        .map_err(|_| LoadError(format!("{display}: {what} is not valid UTF-8 text")))
}
