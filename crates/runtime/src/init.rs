//! berth's minimal init (`--init`): PID 1 of the container forks the workload, forwards
//! every signal it receives to it, reaps every orphan that is re-parented to it, and
//! exits with the workload's status (128+N when killed by signal N). It is berth code
//! running inside the container, so it stays non-dumpable and holds no host descriptor.

use std::os::fd::{AsFd, AsRawFd, RawFd};

use crate::identity::{self, Command};
use crate::{report, sys};

/// Becomes the init. `err_pipe` is the start-error channel: the workload child reports
/// exec failures on it; PID 1 closes its own copy so the parent sees EOF on success.
pub fn run_as_pid1(cmd: &Command, err_pipe: RawFd) -> ! {
    sys::set_cmdline("berth-init");
    sys::set_process_name(c"berth-init");
    let blocked = sys::block_all_signals();
    let child = match sys::fork() {
        Ok(sys::Forked::Child) => {
            sys::reset_signal_dispositions();
            let _ = sys::unblock_all_signals();
            let err = identity::exec(cmd);
            report::fail(sys::borrow(err_pipe), &err)
        }
        Ok(sys::Forked::Parent(pid)) => pid,
        Err(e) => report::fail(
            sys::borrow(err_pipe),
            &crate::StartError::berth(format!("init: fork: {e}")),
        ),
    };
    sys::close_raw(err_pipe);
    // What the setup process inherited from the monitor (the container lock, the log,
    // sockets) is only close-on-exec, and this process never execs: close it all, or
    // the container's PID 1 would hold the lock (and so block every `stop`) for life.
    if sys::close_from(3).is_err() {
        sys::exit_now(125);
    }
    if blocked.is_err() {
        sys::exit_now(125);
    }
    let all: Vec<libc::c_int> = (1..libc::SIGRTMAX())
        .filter(|s| *s != libc::SIGKILL && *s != libc::SIGSTOP)
        .collect();
    let sfd = match sys::signalfd(&all) {
        Ok(fd) => fd,
        Err(_) => sys::exit_now(125),
    };
    loop {
        let mut pfd = [libc::pollfd {
            fd: sfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        let _ = sys::poll(&mut pfd, -1);
        while let Ok(Some(sig)) = sys::read_signalfd(sfd.as_fd()) {
            let sig = sig as libc::c_int;
            if sig != libc::SIGCHLD {
                let _ = sys::kill(child, sig);
            }
        }
        // Reap everything that has exited, ours or re-parented orphans.
        while let Ok(Some((pid, status))) = sys::waitpid(-1, libc::WNOHANG) {
            if pid == child {
                sys::exit_now(exit_code(status));
            }
        }
    }
}

/// Docker's convention for a wait status: the exit code, or 128+N for signal N.
pub fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        125
    }
}
