//! The per-container monitor: a process forked from the CLI into its own session,
//! parent of the container. It starts the container through the runtime,
//! records its state, copies its output to the log (and to the attached CLI), relays
//! the terminal, reaps it, records the exit status and OOM kill, removes the cgroup, and
//! removes the container under `--rm`, and runs the container's health check
//! (`health::Checker`). Under a restart policy it starts the container again after
//! each exit the policy covers (`restart::Manager` decides, after a back-off), through
//! the same path as the first start. One per running container, so it keeps no more
//! than a few buffers; it never blocks on anything but its poll loop (or the back-off).
//!
//! Its stdio is the CLI's when attached (else /dev/null); it talks to the CLI over a
//! SOCK_SEQPACKET socket and starts out sharing the CLI's container lock.
//!
//! Messages to the CLI: `started PID` (with the pty master when attached to a
//! terminal), `error CODE MESSAGE`, `exited CODE`. An attached CLI is told of the first
//! exit and let go even when the policy restarts the container, as Docker's is.
//!
//! SIGUSR1 (taken through the signalfd) means "a stop or kill changed the state":
//! during a back-off the monitor reads the state again at once. SIGUSR2 means
//! "`network connect` gave the container its first user-defined network": the
//! monitor starts its embedded DNS server.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use runtime::cgroup::{Cgroup, Layout};
use runtime::sys;

use crate::containers;
use crate::error::IoContext;
use crate::health::Checker;
use crate::logs::{LogWriter, Stream};
use crate::record::{Record, State, Status};
use crate::restart;
use crate::spec;
use crate::state_root::{Lock, StateRoot};
use crate::time;

/// Runs the monitor for container `record` (already loaded by the CLI) in this (freshly forked, single-threaded)
/// process. `notify` is the socket to the CLI, `lock` the container lock the CLI holds
/// (the same open file, so the lock is shared until both close it). Returns the
/// monitor's own exit code.
pub fn serve(
    root: StateRoot,
    record: Record,
    attached: bool,
    notify: OwnedFd,
    lock: OwnedFd,
) -> i32 {
    sys::set_process_name(c"berth-monitor");
    let mut m = Monitor {
        root,
        id: record.id.clone(),
        attached,
        notify: Some(notify),
        services: Default::default(),
        ports: None,
    };
    m.run(record, lock)
}

fn fail_early(notify: Option<OwnedFd>, msg: &str) -> i32 {
    if let Some(n) = notify {
        let _ = sys::send_with_fd(n.as_fd(), format!("error 125 {msg}").as_bytes(), None);
    }
    125
}

struct Monitor {
    root: StateRoot,
    id: String,
    attached: bool,
    notify: Option<OwnedFd>,
    /// Published ports and DNS, served while the container runs.
    services: crate::netserve::Services,
    /// Under a restart policy: the published ports' host sockets, bound for the first
    /// run and served again by every restart, so the host ports never change.
    ports: Option<crate::netserve::BoundPorts>,
}

/// Where the container's output comes from.
enum Output {
    Pipes {
        out: Option<OwnedFd>,
        err: Option<OwnedFd>,
    },
    Pty {
        master: Option<OwnedFd>,
    },
}

/// The network side of a running container: its NetworkSettings and the services
/// (port proxy, DNS) the monitor serves for it.
struct Networking {
    settings: crate::record::NetworkSettings,
    services: crate::netserve::Services,
}

/// One run of the container, from its start to its exit.
struct Run {
    pid: i32,
    checker: Option<Checker>,
    /// The state as this run's start wrote it (what is saved if the file is unreadable).
    state: State,
    since: Instant,
}

/// How a run ended.
struct Exit {
    code: i32,
    oom: bool,
    /// Removing the cgroup failed.
    cleanup: Option<std::io::Error>,
    ran: Duration,
}

impl Monitor {
    fn send(&self, msg: &str, fd: Option<std::os::fd::BorrowedFd<'_>>) {
        if let Some(n) = &self.notify {
            let _ = sys::send_with_fd(n.as_fd(), msg.as_bytes(), fd);
        }
    }

    fn run(&mut self, mut record: Record, lock: OwnedFd) -> i32 {
        let dir = self.root.container(&self.id);
        let signals = [libc::SIGCHLD, libc::SIGUSR1, libc::SIGUSR2];
        if let Err(e) = sys::block_signals(&signals) {
            return fail_early(self.notify.take(), &format!("blocking signals: {e}"));
        }
        let sfd = match sys::signalfd(&signals) {
            Ok(fd) => fd,
            Err(e) => return fail_early(self.notify.take(), &format!("signalfd: {e}")),
        };
        let log = match OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o640)
            .custom_flags(libc::O_CLOEXEC)
            .open(&record.log_path)
        {
            Ok(f) => f,
            Err(e) => {
                return fail_early(
                    self.notify.take(),
                    &format!("opening log {}: {e}", record.log_path),
                )
            }
        };
        // Every run appends to the same log.
        let mut log = LogWriter::new(log);
        let cgroup = Cgroup::new(Layout::detect(), self.root.cgroup_name(&self.id));
        // `lifecycle::start` has set the count back to zero, as Docker's start does.
        let policy = restart::Policy::of(&record.host_config.restart_policy);
        let mut restarts = restart::Manager::new(policy, 0);
        let mut held = lock;
        loop {
            let Some((mut run, output)) = self.launch(&record, &dir, &cgroup, held) else {
                return 0;
            };
            let status = self.supervise(
                run.pid,
                output,
                &sfd,
                &mut log,
                record.config.open_stdin,
                run.checker.as_mut(),
            );
            let exit = self.tear_down(&record, &cgroup, &mut run, status);
            if record.host_config.auto_remove {
                // --rm: the record is about to go, so skip writing its final state. The
                // CLI is told once the container is unpublished (gone from every
                // listing, its name free); deleting the files follows without keeping
                // the caller waiting.
                crate::exit_notes::write(&self.root, &self.id, exit.code);
                let trash = containers::unpublish(&self.root, &record).ok().flatten();
                self.send(&format!("exited {}", exit.code), None);
                self.notify = None;
                crate::netattach::delete_links(&record);
                if let Some(trash) = trash {
                    let _ = containers::delete(&trash);
                }
                return 0;
            }
            let Some(delay) = self.record_exit(&record, &dir, run, exit, &mut restarts) else {
                return 0;
            };
            let Some(lock) = self.back_off(&dir, &sfd, delay) else {
                return 0;
            };
            held = lock;
            // `network connect`/`disconnect` may have changed it since the last run.
            if let Ok(fresh) = Record::load(&self.root, &self.id) {
                record = fresh;
            }
        }
    }

    /// Starts one run while `held` (the container lock) keeps every other berth process
    /// from seeing a half-started container, and records it running. None when the
    /// start failed (recorded, and reported to the CLI).
    fn launch(
        &mut self,
        record: &Record,
        dir: &Path,
        cgroup: &Cgroup,
        held: OwnedFd,
    ) -> Option<(Run, Output)> {
        let started = self.start(record, dir, cgroup);
        let mut state = State::load(&self.root, &self.id).unwrap_or_else(|_| State::new());
        let (pid, output, mut networking) = match started {
            Ok((pid, output, warnings, networking)) => {
                for w in warnings {
                    self.send(&format!("warning {w}"), None);
                }
                (pid, output, networking)
            }
            Err(e) => {
                state.error = e.to_string();
                // A failed restart keeps the exit code of the run before it (Docker's).
                if state.status != Status::Restarting {
                    state.exit_code = e.exit_code();
                }
                if state.running {
                    state.set_status(Status::Exited);
                    state.pid = 0;
                }
                let _ = state.save(dir);
                drop(held);
                if record.host_config.auto_remove {
                    let _ = containers::remove_files(&self.root, record);
                }
                self.send(&format!("error {} {}", e.exit_code(), e), None);
                return None;
            }
        };
        state.set_status(Status::Running);
        state.pid = pid;
        state.pid_start = sys::process_start_time(pid).unwrap_or(0);
        state.monitor_pid = sys::getpid();
        state.monitor_start = sys::process_start_time(state.monitor_pid).unwrap_or(0);
        state.exit_code = 0;
        state.oom_killed = false;
        state.error.clear();
        state.started_at = time::now_rfc3339();
        state.finished_at = crate::record::ZERO_TIME.into();
        state.network_settings = std::mem::take(&mut networking.settings);
        self.services = std::mem::take(&mut networking.services);
        let mut checker = Checker::new(
            record,
            dir.to_path_buf(),
            &self.root.seccomp_cache(),
            pid,
            cgroup.paths(),
            Instant::now(),
        );
        // Each run's health starts over from `starting` (the log is kept), as Docker's.
        state.health = checker.as_mut().map(|c| c.begin(state.health.take()));
        if let Err(e) = state.save(dir) {
            let _ = sys::kill(pid, libc::SIGKILL);
            let _ = sys::waitpid(pid, 0);
            self.services = Default::default();
            let _ = cgroup.destroy();
            crate::netattach::detach(&self.root, record);
            self.send(&format!("error 125 {e}"), None);
            return None;
        }
        drop(held);
        match &output {
            Output::Pty { master: Some(m) } if self.attached => {
                self.send(&format!("started {pid}"), Some(m.as_fd()))
            }
            _ => self.send(&format!("started {pid}"), None),
        }
        if !self.attached {
            self.notify = None;
        }
        let run = Run {
            pid,
            checker,
            state,
            since: Instant::now(),
        };
        Some((run, output))
    }

    /// Undoes what a run set up once it has exited: its services, network endpoints,
    /// health probe and cgroup.
    fn tear_down(
        &mut self,
        record: &Record,
        cgroup: &Cgroup,
        run: &mut Run,
        status: libc::c_int,
    ) -> Exit {
        let ran = run.since.elapsed();
        self.services = Default::default();
        crate::netattach::release(&self.root, record);
        // No probe may outlive the container, nor hold its cgroup.
        if let Some(c) = &mut run.checker {
            c.stop();
        }
        Exit {
            code: runtime::init::exit_code(status),
            oom: cgroup.oom_killed(),
            cleanup: cgroup.destroy().err(),
            ran,
        }
    }

    /// Records the exit under the container lock and asks the restart policy about it
    /// (a user's stop or kill, read from the state under the same lock, overrules it).
    /// Returns the back-off before the next run, or None when the container stays
    /// stopped.
    fn record_exit(
        &mut self,
        record: &Record,
        dir: &Path,
        run: Run,
        exit: Exit,
        restarts: &mut restart::Manager,
    ) -> Option<Duration> {
        let lock = Lock::acquire(&dir.join("lock"));
        let mut state = State::load(&self.root, &self.id).unwrap_or(run.state);
        let delay = if state.restart_cancelled {
            None
        } else {
            restarts.next(exit.code, state.manually_stopped, exit.ran)
        };
        state.set_status(if delay.is_some() {
            Status::Restarting
        } else {
            Status::Exited
        });
        state.restart_count = restarts.count();
        state.exit_code = exit.code;
        state.oom_killed = exit.oom;
        state.pid = 0;
        state.network_settings = Default::default();
        state.finished_at = time::now_rfc3339();
        if let Some(c) = &run.checker {
            state.health = Some(c.health().clone());
        }
        if let Some(e) = exit.cleanup {
            state.error = e.to_string();
        }
        let _ = state.save(dir);
        drop(lock);
        self.send(&format!("exited {}", exit.code), None);
        if delay.is_some() {
            // Docker's attached `run` returns at the first exit, restart or not; the
            // next runs are detached.
            self.detach();
            self.notify = None;
        }
        // Before a restart too: the next run's veths take the same names.
        crate::netattach::delete_links(record);
        delay
    }

    /// Waits out the back-off before a restart; a stop or kill (SIGUSR1) ends it at
    /// once. Returns the container lock, held, when the restart goes ahead; None when
    /// the user stopped the container meanwhile (it is then recorded as exited).
    fn back_off(&self, dir: &Path, sfd: &OwnedFd, delay: Duration) -> Option<OwnedFd> {
        let until = Instant::now() + delay;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let mut fds = [libc::pollfd {
                fd: sfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            let ms = left.as_millis().min(i32::MAX as u128 - 1) as i32 + 1;
            if sys::poll(&mut fds, ms).is_err() || fds[0].revents == 0 {
                continue;
            }
            let mut woken = false;
            while let Ok(Some(sig)) = sys::read_signalfd(sfd.as_fd()) {
                woken |= sig == libc::SIGUSR1 as u32;
            }
            if woken && State::load(&self.root, &self.id).map_or(true, |s| s.restart_cancelled) {
                break;
            }
        }
        let lock = Lock::acquire(&dir.join("lock")).ok()?;
        let mut state = State::load(&self.root, &self.id).ok()?;
        if state.restart_cancelled || state.status != Status::Restarting {
            if state.status == Status::Restarting {
                state.set_status(Status::Exited);
                state.finished_at = time::now_rfc3339();
                let _ = state.save(dir);
            }
            return None;
        }
        // The same open file keeps the lock until the next run is recorded.
        lock.file().try_clone().ok().map(OwnedFd::from)
    }

    fn start(
        &mut self,
        record: &Record,
        dir: &Path,
        cgroup: &Cgroup,
    ) -> crate::error::Result<(i32, Output, Vec<String>, Networking)> {
        let console = if record.config.tty && self.attached {
            sys::get_winsize(sys::borrow(0))
                .ok()
                .map(|w| (w.ws_row, w.ws_col))
        } else {
            None
        };
        let oci = spec::build(record, &self.root, dir, console)?;
        let confine =
            crate::security::confinement(&record.security, dir, &self.root.seccomp_cache())?;
        let dirs = spec::rootfs_dirs(dir);
        let rootfs = runtime::Rootfs::Overlay {
            lower: record.rootfs_layers.clone(),
            upper: dirs.upper,
            work: dirs.work,
            target: dirs.merged,
        };
        let volume_seeds = record
            .host_config
            .mounts
            .iter()
            .filter(|m| {
                // A subpath names existing content: nothing is copied into it.
                m.kind == crate::record::MountType::Volume
                    && !m
                        .options
                        .iter()
                        .any(|o| o == "nocopy" || o.starts_with(crate::options::SUBPATH))
            })
            .map(|m| {
                (
                    m.target.clone().into(),
                    crate::volumes::data_dir(&self.root, &m.source),
                )
            })
            .collect();
        let (stdio, pipes) = if record.config.tty {
            (runtime::Stdio::Terminal, None)
        } else {
            let (out_r, out_w) = sys::pipe().ctx(|| "creating the stdout pipe".into())?;
            let (err_r, err_w) = sys::pipe().ctx(|| "creating the stderr pipe".into())?;
            let stdin: OwnedFd = if self.attached && record.config.open_stdin {
                std::io::stdin()
                    .as_fd()
                    .try_clone_to_owned()
                    .ctx(|| "duplicating stdin".into())?
            } else {
                File::open("/dev/null")
                    .ctx(|| "opening /dev/null".into())?
                    .into()
            };
            (
                runtime::Stdio::Fds {
                    stdin,
                    stdout: out_w,
                    stderr: err_w,
                },
                Some((out_r, err_r)),
            )
        };
        // Published ports are bound before anything starts: a taken port is a failed
        // start with nothing to undo.
        let bound = match &self.ports {
            Some(kept) => kept.try_clone()?,
            None => {
                let bound = crate::netserve::bind_ports(record)?;
                if restart::Policy::of(&record.host_config.restart_policy).restarts() {
                    self.ports = Some(bound.try_clone()?);
                }
                bound
            }
        };
        // `--network container:X`: X's names, as they are now; nothing to attach.
        let joined = record.host_config.network_mode.strip_prefix("container:");
        if let Some(other) = joined {
            crate::etc_files::copy_joined(dir, &self.root.container(other))?;
        }
        let mut attached: Option<crate::netattach::Attached> = None;
        let root = self.root.clone();
        let attach = |pid: i32| -> Result<(), String> {
            let a = crate::netattach::attach(&root, record, pid).map_err(|e| e.to_string())?;
            let gateway = a.networks.values().next().map(|e| e.gateway.clone());
            if joined.is_some() {
                attached = Some(a);
                return Ok(());
            }
            if let Err(e) =
                crate::etc_files::rewrite_hosts(dir, record, a.first_ip, gateway.as_deref())
            {
                crate::netattach::detach(&root, record);
                return Err(e.to_string());
            }
            attached = Some(a);
            Ok(())
        };
        let started = runtime::spawn(runtime::Launch {
            spec: &oci,
            rootfs,
            cgroup: Some(cgroup),
            resources: spec::resources(record),
            stdio,
            init: record.host_config.init,
            volume_seeds,
            confine,
            before_release: Some(runtime::Hook(Box::new(attach))),
        });
        let started = match started {
            Ok(s) => s,
            Err(e) => {
                if attached.is_some() {
                    crate::netattach::detach(&self.root, record);
                }
                return Err(e.into());
            }
        };
        let mut attached = attached.unwrap_or_default();
        let (services, ports) =
            crate::netserve::Services::new(&self.root, record, bound, &mut attached);
        let networking = Networking {
            settings: crate::record::NetworkSettings {
                networks: std::mem::take(&mut attached.networks),
                ports,
            },
            services,
        };
        let output = match pipes {
            Some((out, err)) => Output::Pipes {
                out: Some(out),
                err: Some(err),
            },
            None => Output::Pty {
                master: started.pty_master,
            },
        };
        Ok((started.pid, output, started.warnings, networking))
    }

    /// Copies output and runs health probes until the container exits and its output is
    /// drained; returns the wait status.
    fn supervise(
        &mut self,
        pid: i32,
        mut output: Output,
        sfd: &OwnedFd,
        log: &mut LogWriter,
        stdin: bool,
        mut checker: Option<&mut Checker>,
    ) -> libc::c_int {
        let mut status = None;
        let mut stdin_open = stdin && self.attached && matches!(output, Output::Pty { .. });
        let mut drain_deadline: Option<Instant> = None;
        let mut buf = vec![0u8; 32 * 1024];
        let mut shed = false;
        loop {
            let mut fds: Vec<libc::pollfd> = Vec::with_capacity(7);
            let pfd = |fd: RawFd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            fds.push(pfd(sfd.as_raw_fd()));
            let (a, b) = match &output {
                Output::Pipes { out, err } => (
                    out.as_ref().map(|f| f.as_raw_fd()),
                    err.as_ref().map(|f| f.as_raw_fd()),
                ),
                Output::Pty { master } => (master.as_ref().map(|f| f.as_raw_fd()), None),
            };
            let src_a = a.map(|fd| {
                fds.push(pfd(fd));
                fds.len() - 1
            });
            let src_b = b.map(|fd| {
                fds.push(pfd(fd));
                fds.len() - 1
            });
            let stdin_idx = stdin_open.then(|| {
                fds.push(pfd(0));
                fds.len() - 1
            });
            let notify_idx = self.notify.as_ref().map(|n| {
                fds.push(libc::pollfd {
                    fd: n.as_raw_fd(),
                    events: 0,
                    revents: 0,
                });
                fds.len() - 1
            });
            let (probe, probe_out) = checker.as_ref().map_or((None, None), |c| c.fds());
            let probe_idx = probe.map(|fd| {
                fds.push(pfd(fd));
                fds.len() - 1
            });
            let probe_out_idx = probe_out.map(|fd| {
                fds.push(pfd(fd));
                fds.len() - 1
            });
            if status.is_none() {
                self.services.fill_poll(&mut fds);
            }
            if status.is_some() && a.is_none() && b.is_none() {
                break;
            }
            let mut timeout = match drain_deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    left.as_millis() as i32 + 1
                }
                None => -1,
            };
            if let Some(wait) = self.services.wait_time(Instant::now()) {
                let ms = wait.as_millis().min(i32::MAX as u128 - 1) as i32 + 1;
                timeout = if timeout < 0 { ms } else { timeout.min(ms) };
            }
            if let Some(wait) = checker.as_ref().and_then(|c| c.wait_time(Instant::now())) {
                let ms = wait.as_millis().min(i32::MAX as u128 - 1) as i32 + 1;
                timeout = if timeout < 0 { ms } else { timeout.min(ms) };
            }
            if !shed {
                // One monitor per running container: from here on keep only the pages
                // the loop itself touches (done right before the first wait, after every
                // allocation of the set-up, and again after each health probe).
                sys::shed_startup_pages();
                shed = true;
            }
            if sys::poll(&mut fds, timeout).is_err() {
                continue;
            }
            let ready = |i: Option<usize>| i.is_some_and(|i| fds[i].revents != 0);
            if status.is_none() {
                self.services.after_poll(&fds, Instant::now());
            }

            if ready(Some(0)) {
                let mut connected = false;
                while let Ok(Some(sig)) = sys::read_signalfd(sfd.as_fd()) {
                    connected |= sig == libc::SIGUSR2 as u32;
                }
                // `network connect` gave the container its first user-defined network.
                if connected && status.is_none() {
                    if let Ok(record) = Record::load(&self.root, &self.id) {
                        let _ = self.services.start_dns(&self.root, &record, pid);
                    }
                }
                if status.is_none() {
                    if let Ok(Some((_, st))) = sys::waitpid(pid, libc::WNOHANG) {
                        status = Some(st);
                        // All writers are gone with the PID namespace; allow a moment
                        // for the kernel to deliver what is left in the pipes.
                        drain_deadline = Some(Instant::now() + Duration::from_secs(2));
                        stdin_open = false;
                        if let Some(c) = checker.as_mut() {
                            c.stop();
                        }
                    }
                }
            }
            if let Some(c) = checker.as_mut() {
                if c.after_poll(ready(probe_idx), ready(probe_out_idx), &mut buf) {
                    // A probe ran the exec and state-writing code: drop those pages
                    // again before the next wait, so that a monitor with a health check
                    // is as small as one without between probes.
                    shed = false;
                }
            }
            if ready(notify_idx) {
                // The CLI went away: keep running, stop talking to its terminal.
                self.detach();
                stdin_open = false;
            }
            if ready(stdin_idx) {
                let n = sys::read(0, &mut buf).unwrap_or(0);
                if n == 0 {
                    stdin_open = false;
                } else if let Output::Pty { master: Some(m) } = &output {
                    let _ = sys::write_all(m.as_raw_fd(), &buf[..n]);
                }
            }
            for (idx, stream) in [(src_a, Stream::Stdout), (src_b, Stream::Stderr)] {
                if !ready(idx) {
                    continue;
                }
                let Some(fd) = idx.map(|i| fds[i].fd) else {
                    continue;
                };
                let n = sys::read(fd, &mut buf).unwrap_or(0);
                if n == 0 {
                    match &mut output {
                        Output::Pipes { out, err } => {
                            if stream == Stream::Stdout {
                                *out = None
                            } else {
                                *err = None
                            }
                        }
                        Output::Pty { master } => *master = None,
                    }
                    continue;
                }
                let _ = log.write(stream, &buf[..n]);
                if self.attached {
                    let target = if stream == Stream::Stderr { 2 } else { 1 };
                    if sys::write_all(target, &buf[..n]).is_err() {
                        self.detach();
                    }
                }
            }
        }
        let _ = log.flush_partial();
        match status {
            Some(s) => s,
            None => loop {
                match sys::waitpid(pid, 0) {
                    Ok(Some((_, s))) => break s,
                    Ok(None) => continue,
                    Err(_) => break 137 << 8,
                }
            },
        }
    }

    /// Drops every reference to the CLI's terminal and socket.
    fn detach(&mut self) {
        if !self.attached {
            return;
        }
        self.attached = false;
        self.notify = None;
        if let Ok(null) = File::open("/dev/null") {
            let null: OwnedFd = null.into();
            for fd in 0..3 {
                let _ = sys::dup2(null.as_raw_fd(), fd);
            }
        }
    }
}

/// Reads one message from the monitor.
pub fn recv(sock: &OwnedFd) -> std::io::Result<(String, Option<OwnedFd>)> {
    let mut buf = vec![0u8; 64 * 1024];
    let (n, fd) = sys::recv_with_fd(sock.as_fd(), &mut buf)?;
    Ok((String::from_utf8_lossy(&buf[..n]).into_owned(), fd))
}
