//! The error channel between a container's setup code and its parent: a close-on-exec
//! pipe. A successful `execve` closes it (the parent reads EOF); a failure writes one
//! exit-code byte and a message, then the child exits.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use crate::{sys, StartError};

/// Child side: report `err` and end this process.
pub fn fail(pipe: BorrowedFd<'_>, err: &StartError) -> ! {
    let mut msg = Vec::with_capacity(err.message.len() + 1);
    msg.push(err.exit_code.clamp(0, 255) as u8);
    msg.extend_from_slice(err.message.as_bytes());
    let _ = sys::write_all(pipe.as_raw_fd(), &msg);
    sys::exit_now(err.exit_code)
}

/// Parent side: wait for EOF (success) or an error report.
pub fn wait(pipe: &OwnedFd) -> Result<(), StartError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match sys::read(pipe.as_raw_fd(), &mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => {
                return Err(StartError::berth(format!(
                    "reading container start status: {e}"
                )))
            }
        }
    }
    match buf.split_first() {
        None => Ok(()),
        Some((code, msg)) => Err(StartError {
            exit_code: i32::from(*code),
            message: String::from_utf8_lossy(msg).into_owned(),
        }),
    }
}

/// Adds context to an I/O error from container setup.
pub trait Context<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, StartError>;
}

impl<T> Context<T> for std::io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, StartError> {
        self.map_err(|e| StartError::berth(format!("{}: {e}", what())))
    }
}
