//! The report channel between a container's setup code and its parent: a close-on-exec
//! pipe. A successful `execve` closes it (the parent reads EOF). Before that the child
//! may send warnings; a failure sends one error record, then the child exits.
//!
//! Records are framed: a kind byte (`W` warning, `E` error), a little-endian u32
//! length, then the payload (for errors, an exit-code byte followed by the message).

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use crate::{sys, StartError};

fn send(pipe: BorrowedFd<'_>, kind: u8, payload: &[u8]) {
    let mut msg = Vec::with_capacity(payload.len() + 5);
    msg.push(kind);
    msg.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    msg.extend_from_slice(payload);
    let _ = sys::write_all(pipe.as_raw_fd(), &msg);
}

/// Child side: report a warning and carry on.
pub fn warn(pipe: BorrowedFd<'_>, warning: &str) {
    send(pipe, b'W', warning.as_bytes());
}

/// Child side: report `err` and end this process.
pub fn fail(pipe: BorrowedFd<'_>, err: &StartError) -> ! {
    let mut payload = Vec::with_capacity(err.message.len() + 1);
    payload.push(err.exit_code.clamp(0, 255) as u8);
    payload.extend_from_slice(err.message.as_bytes());
    send(pipe, b'E', &payload);
    sys::exit_now(err.exit_code)
}

/// What the child reported: its warnings, and its error if it failed.
#[derive(Debug, Default)]
pub struct Report {
    pub warnings: Vec<String>,
    pub error: Option<StartError>,
}

/// Parses everything read from the channel. A torn record (the child died mid-write)
/// ends the parse; what was complete is kept.
pub fn parse(mut buf: &[u8]) -> Report {
    let mut report = Report::default();
    while buf.len() >= 5 {
        let kind = buf[0];
        let len = u32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        let Some(payload) = buf.get(5..5 + len) else {
            break;
        };
        match kind {
            b'W' => report
                .warnings
                .push(String::from_utf8_lossy(payload).into_owned()),
            b'E' => {
                if let Some((code, msg)) = payload.split_first() {
                    report.error = Some(StartError {
                        exit_code: i32::from(*code),
                        message: String::from_utf8_lossy(msg).into_owned(),
                    });
                }
            }
            _ => break,
        }
        buf = &buf[5 + len..];
    }
    report
}

/// Parent side: wait for EOF and return what the child reported.
pub fn wait(pipe: &OwnedFd) -> Result<Vec<String>, StartError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match sys::read(pipe.as_raw_fd(), &mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => {
                return Err(StartError::berth(format!(
                    "reading container start status: {e}"
                )))
            }
        }
    }
    let report = parse(&buf);
    match report.error {
        None => Ok(report.warnings),
        Some(e) => Err(e),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_then_error_round_trip() {
        let mut buf = Vec::new();
        for (kind, payload) in [
            (b'W', &b"one"[..]),
            (b'W', b"two"),
            (b'E', b"\x7fnot found"),
        ] {
            buf.push(kind);
            buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            buf.extend_from_slice(payload);
        }
        let r = parse(&buf);
        assert_eq!(r.warnings, ["one", "two"]);
        let e = r.error.unwrap();
        assert_eq!((e.exit_code, e.message.as_str()), (127, "not found"));
        // A torn record is dropped, the complete ones kept.
        let r = parse(&buf[..buf.len() - 3]);
        assert_eq!(r.warnings.len(), 2);
        assert!(r.error.is_none());
    }
}
