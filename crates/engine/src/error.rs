//! The engine's error type. Each variant carries the name, id or path involved so the
//! CLI can print one line that says what failed and what to do; `exit_code` maps it onto
//! Docker's convention (125 for berth's own failures, 126/127 for the workload's command).

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no such container: {0}")]
    NoSuchContainer(String),

    #[error("no such volume: {0}")]
    NoSuchVolume(String),

    #[error("{0}")]
    NoSuchNetwork(String),

    #[error("no such image: {0}")]
    NoSuchImage(String),

    #[error("{0}")]
    Store(store::Error),

    #[error("{0}")]
    Registry(#[from] registry::Error),

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

    #[error("{0}")]
    Start(#[from] runtime::StartError),

    #[error("{0}")]
    Exec(String, i32),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Start(e) => e.exit_code,
            Error::Exec(_, code) => *code,
            _ => 125,
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::Invalid(msg.into())
    }

    pub fn conflict(msg: impl Into<String>) -> Error {
        Error::Conflict(msg.into())
    }
}

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Error {
        match e {
            store::Error::NoSuchImage(n) => Error::NoSuchImage(n),
            e => Error::Store(e),
        }
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
