//! The store's error type. Every variant names the object (digest, image, path) it is
//! about, so the CLI can print one line that says what is wrong and what to do.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no such image: {0}")]
    NoSuchImage(String),

    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },

    /// Input from outside (an archive, a layer, a manifest) that berth refuses.
    #[error("{0}")]
    Rejected(String),

    #[error("{0}")]
    Invalid(String),

    #[error("{0}")]
    Conflict(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    pub fn rejected(msg: impl Into<String>) -> Error {
        Error::Rejected(msg.into())
    }

    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::Invalid(msg.into())
    }

    pub fn conflict(msg: impl Into<String>) -> Error {
        Error::Conflict(msg.into())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Adds the "what were we doing" half of an I/O error.
pub trait IoContext<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: what(),
            source,
        })
    }
}

impl<T> IoContext<T> for std::result::Result<T, rustix::io::Errno> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::Io {
            context: what(),
            source: e.into(),
        })
    }
}
