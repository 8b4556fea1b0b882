//! The build's error type. Owns how a failed build is worded (with the Dockerfile line
//! when there is one); never decides what is cleaned up.

use std::io;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Dockerfile(#[from] dockerfile::Error),

    /// A step that cannot be done, with the Dockerfile line of its instruction.
    #[error("Dockerfile:{line}: {message}")]
    Step { line: usize, message: String },

    /// A RUN whose command exited non-zero.
    #[error("Dockerfile:{line}: RUN failed: process \"{command}\" did not complete successfully: exit code {code}")]
    RunFailed {
        line: usize,
        command: String,
        code: i32,
    },

    /// SIGINT, SIGTERM or SIGHUP arrived: running steps were stopped and removed.
    #[error("build interrupted by signal {0}: the running steps' containers were stopped")]
    Interrupted(u32),

    #[error("{0}")]
    Engine(#[from] engine::Error),

    #[error("{0}")]
    Store(#[from] store::Error),

    #[error("{0}")]
    Invalid(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    pub fn step(line: usize, message: impl Into<String>) -> Error {
        Error::Step {
            line,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid(message.into())
    }

    /// The exit code `berth build` ends with: Docker uses 1 for every failed build.
    pub fn exit_code(&self) -> i32 {
        1
    }
}

/// Adds what was being done to an I/O error.
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
