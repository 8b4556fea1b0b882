//! The parser's error and warning types. Owns how a problem is worded for the person
//! who wrote the Dockerfile (`Dockerfile:LINE: message`); never decides whether a build
//! goes on — that is the caller's call.

use std::fmt;

/// A problem in the Dockerfile, with the 1-based line where the offending instruction
/// starts (for a multi-line instruction, its first line).
/// Line 0 means the problem is not on any one line (an unknown `--target`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "Dockerfile: {}", self.message),
            n => write!(f, "Dockerfile:{n}: {}", self.message),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        Error {
            line,
            message: message.into(),
        }
    }
}

/// Something Docker accepts but warns about (an empty continuation line, MAINTAINER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dockerfile:{}: warning: {}", self.line, self.message)
    }
}

/// A variable substitution that cannot be done (`${A:?}` on an unset `A`, an
/// unterminated quote, a bad `${...}`). It carries no line: the caller knows which
/// instruction it was expanding and turns it into an [`Error`] with [`ExpandError::at`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} in {word:?}")]
pub struct ExpandError {
    /// The text that was being expanded.
    pub word: String,
    pub message: String,
}

impl ExpandError {
    pub fn at(&self, line: usize) -> Error {
        Error::new(line, self.to_string())
    }
}
