//! `berth exec`.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use clap::Args;
use engine::exec::{self, ExecOptions};
use engine::StateRoot;
use runtime::sys;

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Run the command in the background.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Keep stdin open.
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Allocate a pseudo-terminal.
    #[arg(short = 't', long)]
    tty: bool,
    /// Set environment variables.
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Read environment variables from a file.
    #[arg(long = "env-file")]
    env_file: Vec<PathBuf>,
    /// User: name|uid[:group|gid].
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    workdir: Option<String>,
    container: String,
    #[arg(trailing_var_arg = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

fn dup(fd: i32) -> engine::Result<OwnedFd> {
    sys::borrow(fd)
        .try_clone_to_owned()
        .map_err(|e| engine::Error::invalid(format!("duplicating fd {fd}: {e}")))
}

fn null() -> engine::Result<OwnedFd> {
    File::open("/dev/null")
        .map(OwnedFd::from)
        .map_err(|e| engine::Error::invalid(format!("/dev/null: {e}")))
}

/// One exec as `berth exec` and `berth compose exec` ask for it.
pub struct Request {
    pub container: String,
    pub command: Vec<String>,
    pub env: Vec<String>,
    pub env_files: Vec<PathBuf>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub detach: bool,
    pub interactive: bool,
    pub tty: bool,
}

pub fn run(root: &StateRoot, args: ExecArgs) -> engine::Result<i32> {
    exec(
        root,
        Request {
            container: args.container,
            command: args.command,
            env: args.env,
            env_files: args.env_file,
            user: args.user,
            workdir: args.workdir,
            detach: args.detach,
            interactive: args.interactive,
            tty: args.tty,
        },
    )
}

/// Runs the command in the container; returns its exit code (0 at once with detach).
pub fn exec(root: &StateRoot, args: Request) -> engine::Result<i32> {
    let tty = args.tty && !args.detach;
    let console = if tty {
        sys::get_winsize(sys::borrow(0))
            .ok()
            .map(|w| (w.ws_row, w.ws_col))
    } else {
        None
    };
    let opts = ExecOptions {
        command: args.command.clone(),
        env: args.env.clone(),
        env_files: args.env_files.clone(),
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        tty,
        console,
    };
    let prepared = exec::prepare(root, &args.container, &opts)?;
    let stdio = if tty {
        runtime::Stdio::Terminal
    } else if args.detach {
        runtime::Stdio::Fds {
            stdin: null()?,
            stdout: null()?,
            stderr: null()?,
        }
    } else {
        let stdin = if args.interactive { dup(0)? } else { null()? };
        runtime::Stdio::Fds {
            stdin,
            stdout: dup(1)?,
            stderr: dup(2)?,
        }
    };
    let raw = if tty && args.interactive {
        crate::terminal::RawMode::enter()
    } else {
        None
    };
    let (pid, master) = runtime::exec_in(
        &prepared.target,
        &prepared.process,
        &prepared.confine,
        stdio,
    )?;
    if args.detach {
        return Ok(0);
    }
    if let Some(m) = master {
        relay(&m, args.interactive);
    }
    let status = loop {
        match sys::waitpid(pid, 0) {
            Ok(Some((_, s))) => break s,
            Ok(None) => continue,
            Err(_) => break 125 << 8,
        }
    };
    drop(raw);
    Ok(runtime::init::exit_code(status))
}

/// Copies between our terminal and the pty until the process closes it.
fn relay(master: &OwnedFd, stdin: bool) {
    let sigs = [libc::SIGWINCH];
    let _ = sys::block_signals(&sigs);
    let sfd = sys::signalfd(&sigs).ok();
    let mut stdin_open = stdin;
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let mut fds = vec![libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if stdin_open {
            fds.push(libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if let Some(s) = &sfd {
            fds.push(libc::pollfd {
                fd: s.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if sys::poll(&mut fds, -1).is_err() {
            return;
        }
        if fds[0].revents != 0 {
            match sys::read(master.as_raw_fd(), &mut buf) {
                Ok(n) if n > 0 => {
                    let _ = sys::write_all(1, &buf[..n]);
                }
                _ => return, // EIO: every holder of the slave has exited
            }
        }
        if stdin_open && fds[1].revents != 0 {
            match sys::read(0, &mut buf) {
                Ok(n) if n > 0 => {
                    let _ = sys::write_all(master.as_raw_fd(), &buf[..n]);
                }
                _ => stdin_open = false,
            }
        }
        if let Some(s) = &sfd {
            if fds.last().is_some_and(|f| f.revents != 0) {
                while let Ok(Some(_)) = sys::read_signalfd(s.as_fd()) {}
                if let Ok(ws) = sys::get_winsize(sys::borrow(0)) {
                    let _ = sys::set_winsize(master.as_fd(), &ws);
                }
            }
        }
    }
}
