//! Starting, stopping, signalling, waiting for and removing containers. Start hands
//! the container to a new monitor process and waits for its verdict; the others act on
//! the recorded pids, always checked against their start times so a reused pid is never
//! signalled. `stop`, `kill` and `rm -f` first record, under the container lock, that
//! the user stopped the container, so that its restart policy never undoes them.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use runtime::sys;

use crate::containers;
use crate::error::{Error, Result};
use crate::monitor;
use crate::record::{Record, State, Status};
use crate::state_root::{Lock, StateRoot};

/// A container whose monitor reported it started.
#[derive(Debug)]
pub struct Started {
    pub id: String,
    pub pid: i32,
    pub monitor_pid: i32,
    /// Channel to the monitor; `exited CODE` arrives on it when attached.
    pub channel: OwnedFd,
    /// The pty master when attached to a terminal (for resizing).
    pub pty_master: Option<OwnedFd>,
    pub warnings: Vec<String>,
}

/// Starts container `id` under a new monitor. With `attach`, the monitor copies the
/// container's output to our stdout/stderr (and our stdin to it when requested).
pub fn start(root: &StateRoot, id: &str, attach: bool) -> Result<Started> {
    let dir = root.container(id);
    let (record, _) = containers::load(root, id)?; // repairs a dead monitor's record first
    let lock = Lock::acquire(&dir.join("lock"))?;
    let mut state = State::load(root, id)?;
    if state.running {
        return Err(Error::conflict(format!(
            "container {} is already running (stop it first with `berth stop {}`)",
            record.short_name(),
            record.short_name()
        )));
    }
    // A user's start re-arms the restart policy and counts restarts from zero, as
    // Docker's does; the new monitor starts from this state.
    if state.restart_count != 0 || state.manually_stopped || state.restart_cancelled {
        state.restart_count = 0;
        state.manually_stopped = false;
        state.restart_cancelled = false;
        state.save(&dir)?;
    }
    let (ours, theirs) =
        sys::seqpacket_pair().map_err(|e| Error::invalid(format!("socketpair: {e}")))?;
    let shared_lock: OwnedFd = lock
        .file()
        .try_clone()
        .map_err(|e| Error::invalid(format!("sharing the container lock: {e}")))?
        .into();
    let null: OwnedFd = File::open("/dev/null")
        .map_err(|e| Error::invalid(format!("/dev/null: {e}")))?
        .into();
    // The monitor is a fork of this process, not a new exec: nothing on the start path
    // pays for loading and initialising berth a second time. The caller may have other
    // threads (compose): glibc's fork keeps glibc consistent in the child, the child
    // prints nothing and takes no lock of ours, and it closes the descriptors the other
    // threads had open.
    let forked = sys::fork_threaded()
        .map_err(|e| Error::invalid(format!("starting the container monitor: {e}")))?;
    let monitor_pid = match forked {
        sys::Forked::Child => {
            drop(ours);
            let _ = sys::setsid();
            if !attach {
                for fd in 0..3 {
                    let _ = sys::dup2(null.as_raw_fd(), fd);
                }
            }
            drop(null);
            drop(lock);
            // A caller with other threads (compose starts services in parallel) had
            // their descriptors copied by the fork: another container's lock held
            // through one would stay locked for as long as this monitor lives.
            let _ = sys::close_all_except(&[theirs.as_raw_fd(), shared_lock.as_raw_fd()]);
            let code = monitor::serve(root.clone(), record.clone(), attach, theirs, shared_lock);
            sys::exit_now(code)
        }
        sys::Forked::Parent(pid) => pid,
    };
    drop(theirs);
    drop(shared_lock);
    drop(null);
    let mut warnings = Vec::new();
    loop {
        let (msg, fd) = monitor::recv(&ours)
            .map_err(|e| Error::invalid(format!("talking to the monitor: {e}")))?;
        if let Some(w) = msg.strip_prefix("warning ") {
            warnings.push(w.to_string());
            continue;
        }
        if let Some(pid) = msg.strip_prefix("started ") {
            drop(lock);
            return Ok(Started {
                id: id.to_string(),
                pid: pid.trim().parse().unwrap_or(0),
                monitor_pid,
                channel: ours,
                pty_master: fd,
                warnings,
            });
        }
        let _ = sys::waitpid(monitor_pid, 0);
        if let Some(rest) = msg.strip_prefix("error ") {
            let (code, text) = rest.split_once(' ').unwrap_or((rest, ""));
            return Err(Error::Start(runtime::StartError {
                exit_code: code.parse().unwrap_or(125),
                message: text.to_string(),
            }));
        }
        return Err(Error::invalid(format!(
            "the monitor of container {} exited before starting it{}",
            record.short_name(),
            if msg.is_empty() {
                String::new()
            } else {
                format!(": {msg}")
            }
        )));
    }
}

impl Started {
    /// Waits for an attached container to exit; returns its exit code. The monitor has
    /// finished (record saved, `--rm` done) when this returns.
    pub fn wait(self, root: &StateRoot) -> Result<i32> {
        let code = loop {
            match monitor::recv(&self.channel) {
                Ok((msg, _)) if msg.starts_with("exited ") => {
                    break msg[7..].trim().parse::<i32>().ok()
                }
                Ok((msg, _)) if msg.is_empty() => break None,
                Ok(_) => continue,
                Err(_) => break None,
            }
        };
        // Reap the monitor if it is done; under --rm it may still be deleting the
        // container's files, which the caller need not wait for.
        let _ = sys::waitpid(self.monitor_pid, libc::WNOHANG);
        match code {
            Some(c) => Ok(c),
            None => Ok(containers::load(root, &self.id)
                .map(|(_, s)| s.exit_code)
                .unwrap_or(125)),
        }
    }
}

/// Opens a pidfd for (pid, start time), or None if that process is gone.
fn pidfd(pid: i32, start: u64) -> Option<OwnedFd> {
    if pid <= 0 {
        return None;
    }
    let fd = sys::pidfd_open(pid).ok()?;
    // Checked after opening: from here on the fd names this process even if it exits.
    sys::process_alive(pid, start).then_some(fd)
}

/// Waits until the process behind `fd` exits, or `timeout` passes. True if it exited.
fn wait_fd(fd: &OwnedFd, timeout: Option<Duration>) -> bool {
    let mut p = [libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
    matches!(sys::poll(&mut p, ms), Ok(n) if n > 0)
}

fn wait_monitor(state: &State, timeout: Option<Duration>) -> bool {
    match pidfd(state.monitor_pid, state.monitor_start) {
        Some(fd) => wait_fd(&fd, timeout),
        None => true,
    }
}

/// Records a user's stop or kill for the restart policy, under the container lock
/// (Docker's `killWithSignal`): the container has been stopped manually, and with
/// `cancel` no policy may restart it (Docker's ExitOnNext). A monitor waiting out a
/// back-off is woken to see it at once. Returns the state as it was under the lock
/// (its pid is the workload to signal), or None when the container is not running.
fn mark_stopped(root: &StateRoot, id: &str, cancel: bool) -> Result<Option<State>> {
    let dir = root.container(id);
    let _lock = Lock::acquire(&dir.join("lock"))?;
    let mut state = State::load(root, id)?;
    if !state.running {
        return Ok(None);
    }
    if !state.manually_stopped || (cancel && !state.restart_cancelled) {
        state.manually_stopped = true;
        state.restart_cancelled |= cancel;
        state.save(&dir)?;
    }
    if cancel && state.status == Status::Restarting {
        wake_monitor(&state);
    }
    Ok(Some(state))
}

/// Interrupts the monitor's back-off so that it reads the state again: SIGUSR1, which
/// the monitor takes through its signalfd (blocked before its pid is ever recorded).
fn wake_monitor(state: &State) {
    if let Some(fd) = pidfd(state.monitor_pid, state.monitor_start) {
        let _ = sys::pidfd_send_signal(fd.as_fd(), libc::SIGUSR1);
    }
}

/// Whether `sig` from `berth kill` ends the restart policy's say (Docker's rule:
/// SIGKILL always; any signal when the container has no stop signal of its own;
/// otherwise only its stop signal). Any kill counts as a manual stop.
fn kill_cancels_restart(record: &Record, sig: i32) -> bool {
    if sig == libc::SIGKILL || record.config.stop_signal.is_empty() {
        return true;
    }
    crate::signals::parse(&record.config.stop_signal).is_ok_and(|s| s == sig)
}

/// Sends `sig` to the container's main process. A restart policy follows Docker's
/// rules (see [`kill_cancels_restart`]); a container waiting to be restarted is only
/// marked. SIGKILL returns once the container has stopped, as Docker's `kill` does.
pub fn kill(root: &StateRoot, id: &str, sig: i32) -> Result<()> {
    let (record, _) = containers::load(root, id)?;
    let not_running = || {
        Error::conflict(format!(
            "cannot kill container {}: container is not running",
            record.short_name()
        ))
    };
    let cancel = kill_cancels_restart(&record, sig);
    let state = mark_stopped(root, id, cancel)?.ok_or_else(not_running)?;
    if state.status == Status::Restarting {
        return Ok(());
    }
    let fd = pidfd(state.pid, state.pid_start).ok_or_else(not_running)?;
    sys::pidfd_send_signal(fd.as_fd(), sig).map_err(|e| {
        Error::invalid(format!("signalling container {}: {e}", record.short_name()))
    })?;
    if sig == libc::SIGKILL {
        wait_fd(&fd, Some(Duration::from_secs(10)));
        wait_recorded(root, id, &state, Duration::from_secs(10));
    }
    Ok(())
}

/// Docker's stop: the stop signal, then SIGKILL after the timeout. The restart policy
/// does not undo it (nor does it wait out a back-off). Returns once the monitor has
/// recorded the exit.
pub fn stop(root: &StateRoot, id: &str, timeout: Option<i64>) -> Result<()> {
    let (record, state) = containers::load(root, id)?;
    if !state.running {
        return Ok(());
    }
    let sig = match record.config.stop_signal.as_str() {
        "" => libc::SIGTERM,
        s => crate::signals::parse(s)?,
    };
    let secs = timeout.or(record.config.stop_timeout).unwrap_or(10).max(0) as u64;
    let Some(state) = mark_stopped(root, id, true)? else {
        return Ok(());
    };
    if let Some(fd) = pidfd(state.pid, state.pid_start) {
        let _ = sys::pidfd_send_signal(fd.as_fd(), sig);
        if !wait_fd(&fd, Some(Duration::from_secs(secs))) {
            let _ = sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
            wait_fd(&fd, Some(Duration::from_secs(30)));
        }
    }
    if !wait_monitor(&state, Some(Duration::from_secs(30))) {
        return Err(Error::invalid(format!(
            "container {} did not stop in time",
            record.short_name()
        )));
    }
    Ok(())
}

pub fn restart(root: &StateRoot, id: &str, timeout: Option<i64>) -> Result<Started> {
    stop(root, id, timeout)?;
    start(root, id, false)
}

/// Waits (at most `timeout`) until the monitor has recorded the end of the run that
/// `seen` describes: the container left that run (stopped, restarting or running a
/// new one), or its monitor is gone.
fn wait_recorded(root: &StateRoot, id: &str, seen: &State, timeout: Duration) {
    let end = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < end {
        match containers::load(root, id) {
            Ok((_, s)) if s.status == Status::Running && s.pid == seen.pid => {}
            _ => return,
        }
        if wait_monitor(seen, Some(Duration::from_millis(10))) {
            return;
        }
    }
}

/// Blocks until the container is not running; returns its exit code. As Docker's
/// `wait`, a container with a restart policy counts as stopped at each exit: the wait
/// ends when it goes into its back-off too (or, when it is waiting to be restarted
/// already, at the end of its next run).
pub fn wait(root: &StateRoot, id: &str) -> Result<i32> {
    let (record, first) = containers::load(root, id)?;
    // A `--rm` container's record goes with it: its monitor leaves the code for us.
    let noted = record.host_config.auto_remove;
    if noted {
        crate::exit_notes::want(root, id);
    }
    let code = wait_for(root, id, first);
    let note = if noted {
        crate::exit_notes::take(root, id)
    } else {
        None
    };
    match code? {
        Waited::Code(c) => Ok(c),
        Waited::Removed(last) => Ok(note.unwrap_or(last)),
    }
}

/// How a wait ended: with the recorded code, or with the container gone (its last
/// code seen).
enum Waited {
    Code(i32),
    Removed(i32),
}

fn wait_for(root: &StateRoot, id: &str, first: State) -> Result<Waited> {
    let mut last = first.clone();
    loop {
        if !last.running {
            // The monitor recorded the exit; it is done once it has exited itself
            // (`--rm` removal, links deleted).
            wait_monitor(&last, None);
            break;
        }
        if last.status == Status::Restarting && last.finished_at != first.finished_at {
            return Ok(Waited::Code(last.exit_code));
        }
        match pidfd(last.pid, last.pid_start) {
            Some(fd) if last.status == Status::Running => {
                wait_fd(&fd, None);
            }
            // Between runs, or the exit is being recorded: look again shortly (the
            // monitor's own exit ends this at once).
            _ => {
                wait_monitor(&last, Some(Duration::from_millis(20)));
            }
        }
        last = match containers::load(root, id) {
            Ok((_, s)) => s,
            Err(Error::NoSuchContainer(_)) | Err(Error::Io { .. }) => break,
            Err(e) => return Err(e),
        };
    }
    match containers::load(root, id) {
        Ok((_, s)) => Ok(Waited::Code(s.exit_code)),
        Err(Error::NoSuchContainer(_)) | Err(Error::Io { .. }) => {
            Ok(Waited::Removed(last.exit_code))
        }
        Err(e) => Err(e),
    }
}

/// Removes a container; a running one only with `force` (it is killed first).
pub fn remove(root: &StateRoot, id: &str, force: bool, volumes: bool) -> Result<Record> {
    let (record, state) = containers::load(root, id)?;
    if state.running {
        if !force {
            return Err(Error::conflict(format!(
                "cannot remove container \"{}\": container is {}: stop the container before removing or force remove (berth rm -f)",
                record.name,
                state.status.as_str()
            )));
        }
        // Like `kill`: no restart policy brings it back while it is being removed.
        if let Some(state) = mark_stopped(root, id, true)? {
            if let Some(fd) = pidfd(state.pid, state.pid_start) {
                let _ = sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
                wait_fd(&fd, Some(Duration::from_secs(30)));
            }
            wait_monitor(&state, Some(Duration::from_secs(30)));
        }
    }
    let dir = root.container(id);
    if !dir.exists() {
        return Ok(record); // its own --rm got there first
    }
    let lock = Lock::acquire(&dir.join("lock"))?;
    let now = State::load(root, id)?;
    if now.running {
        return Err(Error::conflict(format!(
            "container {} was started again while being removed",
            record.short_name()
        )));
    }
    drop(lock);
    containers::remove_files(root, &record)?;
    if volumes {
        containers::remove_anonymous_volumes(root, &record);
    }
    Ok(record)
}
