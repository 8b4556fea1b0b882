//! The CLI side of an attached container or exec: raw mode for the user's terminal,
//! window-size propagation to the pty, and proxying of signals to the container when
//! there is no terminal (Docker's --sig-proxy).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use engine::{lifecycle, StateRoot};
use runtime::sys;

/// Puts stdin's terminal into raw mode until dropped.
pub struct RawMode {
    saved: libc::termios,
}

impl RawMode {
    pub fn enter() -> Option<RawMode> {
        if !sys::isatty(0) {
            return None;
        }
        let saved = sys::tcgetattr(sys::borrow(0)).ok()?;
        let mut raw = saved;
        sys::cfmakeraw(&mut raw);
        sys::tcsetattr(sys::borrow(0), &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = sys::tcsetattr(sys::borrow(0), &self.saved);
    }
}

const PROXIED: &[libc::c_int] = &[
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

fn resize(master: &OwnedFd) {
    if let Ok(ws) = sys::get_winsize(sys::borrow(0)) {
        let _ = sys::set_winsize(master.as_fd(), &ws);
    }
}

/// Waits for an attached container to finish, resizing its terminal and forwarding
/// signals meanwhile. Returns the container's exit code.
pub fn wait_attached(
    root: &StateRoot,
    started: lifecycle::Started,
    tty: bool,
) -> engine::Result<i32> {
    let mut sigs = vec![libc::SIGWINCH];
    if !tty {
        sigs.extend_from_slice(PROXIED);
    }
    let blocked = sys::block_signals(&sigs).ok();
    let sfd = sys::signalfd(&sigs).ok();
    if let Some(m) = &started.pty_master {
        resize(m);
    }
    let id = started.id.clone();
    loop {
        let mut fds = vec![libc::pollfd {
            fd: started.channel.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if let Some(s) = &sfd {
            fds.push(libc::pollfd {
                fd: s.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if sys::poll(&mut fds, -1).is_err() {
            break;
        }
        if fds[0].revents != 0 {
            break;
        }
        if let Some(s) = &sfd {
            while let Ok(Some(sig)) = sys::read_signalfd(s.as_fd()) {
                let sig = sig as libc::c_int;
                if sig == libc::SIGWINCH {
                    if let Some(m) = &started.pty_master {
                        resize(m);
                    }
                } else {
                    let _ = lifecycle::kill(root, &id, sig);
                }
            }
        }
    }
    let code = started.wait(root);
    if let Some(old) = blocked {
        let _ = sys::set_sigmask(&old);
    }
    code
}
