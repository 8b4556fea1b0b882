//! The stack's error type: the engine's errors as they are, plus the two ways a
//! project can fail on its own terms (bad input, a service that did not come up).
//! Each message names the service, container or object involved.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Engine(#[from] engine::Error),
    /// Bad input: an unknown service on the command line, a setting berth cannot run.
    #[error("{0}")]
    Invalid(String),
    /// A service did not come up as its dependents or `--wait` need.
    #[error("{0}")]
    Failed(String),
}

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::Invalid(msg.into())
    }

    pub fn failed(msg: impl Into<String>) -> Error {
        Error::Failed(msg.into())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
