//! Docker-compatible health checks. Owns the `--health-*` settings (flags merged over the
//! image's HEALTHCHECK field by field, validated with Docker's messages), the probe
//! schedule and `State.Health`. The checking itself runs inside the container's monitor
//! and must never block it: a probe is spawned like `berth exec` (same namespaces,
//! user, environment and working directory), its pidfd and output pipe join the
//! monitor's poll set, and a late probe is killed. A probe never outlives the container.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use runtime::sys;
use store::config::Healthcheck;

use crate::error::{Error, Result};
use crate::exec::{self, ExecOptions};
use crate::record::{Health, HealthResult, HealthStatus, Record, State, Status};
use crate::state_root::{read_json, write_json, Lock};

/// Docker's defaults, used when a setting is unset (zero).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: i64 = 3;
/// Docker keeps this much of a probe's output, and this many results.
const MAX_OUTPUT: usize = 4096;
const MAX_LOG: usize = 5;
/// Docker's `MinimumDuration` for user-set durations.
const MINIMUM_NANOS: i64 = 1_000_000;

/// The `--health-*` flags as typed; durations are Go durations (`30s`, `1m30s`, `500ms`).
#[derive(Debug, Clone, Default)]
pub struct HealthOptions {
    pub cmd: Option<String>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    pub retries: Option<i64>,
    /// `--no-healthcheck`.
    pub disabled: bool,
    /// The test as Docker's full vector (`["CMD", ...]`, `["CMD-SHELL", "..."]`,
    /// `["NONE"]`), for callers that have one (compose); `cmd` is the shell form.
    pub test: Option<Vec<String>>,
}

/// Checks a test vector in Docker's form; an empty one means "the image's".
fn check_test(test: &[String]) -> Result<()> {
    let Some((kind, rest)) = test.split_first() else {
        return Ok(());
    };
    match kind.as_str() {
        "NONE" => Ok(()),
        "CMD" | "CMD-SHELL" if rest.is_empty() || rest.iter().all(String::is_empty) => {
            Err(Error::invalid(format!(
                "healthcheck test [{kind}] has no command: give one, e.g. [\"{kind}\", \"true\"]"
            )))
        }
        "CMD" | "CMD-SHELL" => Ok(()),
        other => Err(Error::invalid(format!(
            "healthcheck test starts with {other:?}: it must start with CMD, CMD-SHELL or NONE"
        ))),
    }
}

/// The container's `Config.Healthcheck`: the flags, validated as Docker's CLI and daemon
/// do, over the image's healthcheck (a flag left unset keeps the image's value).
pub fn container_config(
    opts: &HealthOptions,
    image: Option<&Healthcheck>,
) -> Result<Option<Healthcheck>> {
    let duration = |value: &Option<String>, flag: &str| -> Result<i64> {
        match value.as_deref() {
            None => Ok(0),
            Some(s) => parse_go_duration(s).map_err(|e| {
                Error::invalid(format!("invalid argument {s:?} for \"{flag}\" flag: {e}"))
            }),
        }
    };
    let interval = duration(&opts.interval, "--health-interval")?;
    let timeout = duration(&opts.timeout, "--health-timeout")?;
    let start_period = duration(&opts.start_period, "--health-start-period")?;
    let start_interval = duration(&opts.start_interval, "--health-start-interval")?;
    let retries = opts.retries.unwrap_or(0);
    let cmd = opts.cmd.as_deref().unwrap_or("");
    let test = opts.test.clone().filter(|t| !t.is_empty());
    if let Some(t) = &test {
        check_test(t)?;
        if !cmd.is_empty() {
            return Err(Error::invalid(
                "a healthcheck takes either a shell command or a test vector, not both",
            ));
        }
        if t.first().is_some_and(|k| k == "NONE") {
            return Ok(Some(Healthcheck {
                test: Some(vec!["NONE".into()]),
                ..Default::default()
            }));
        }
    }
    let test =
        test.or_else(|| (!cmd.is_empty()).then(|| vec!["CMD-SHELL".to_string(), cmd.to_string()]));
    let any = test.is_some()
        || interval != 0
        || timeout != 0
        || start_period != 0
        || start_interval != 0
        || retries != 0;
    let set = |v: i64| (v != 0).then_some(v);
    let user = if opts.disabled {
        if any {
            return Err(Error::invalid(
                "--no-healthcheck conflicts with --health-* options",
            ));
        }
        Healthcheck {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        }
    } else if any {
        for (value, flag) in [
            (interval, "--health-interval"),
            (timeout, "--health-timeout"),
            (retries, "--health-retries"),
            (start_period, "--health-start-period"),
            (start_interval, "--health-start-interval"),
        ] {
            if value < 0 {
                return Err(Error::invalid(format!("{flag} cannot be negative")));
            }
        }
        for (value, field) in [
            (interval, "Interval"),
            (timeout, "Timeout"),
            (start_period, "StartPeriod"),
            (start_interval, "StartInterval"),
        ] {
            if value != 0 && value < MINIMUM_NANOS {
                return Err(Error::invalid(format!(
                    "{field} in Healthcheck cannot be less than {}",
                    go_duration(MINIMUM_NANOS)
                )));
            }
        }
        Healthcheck {
            test,
            interval: set(interval),
            timeout: set(timeout),
            start_period: set(start_period),
            start_interval: set(start_interval),
            retries: set(retries),
        }
    } else {
        return Ok(image.cloned());
    };
    let Some(image) = image else {
        return Ok(Some(user));
    };
    let keep = |mine: Option<i64>, theirs: Option<i64>| mine.filter(|v| *v != 0).or(theirs);
    Ok(Some(Healthcheck {
        test: user
            .test
            .filter(|t| !t.is_empty())
            .or_else(|| image.test.clone()),
        interval: keep(user.interval, image.interval),
        timeout: keep(user.timeout, image.timeout),
        start_period: keep(user.start_period, image.start_period),
        start_interval: keep(user.start_interval, image.start_interval),
        retries: keep(user.retries, image.retries),
    }))
}

/// A healthcheck resolved for running: the probe's command and the schedule, defaults
/// applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub argv: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub start_interval: Duration,
    pub retries: i64,
}

/// The probe to run, or None when there is none (`NONE`, no test, an unknown kind).
/// `CMD-SHELL` runs through `shell` (the image's SHELL), `/bin/sh -c` without one.
pub fn settings(hc: Option<&Healthcheck>, shell: Option<&[String]>) -> Option<Settings> {
    let hc = hc?;
    let (kind, rest) = hc.test.as_ref()?.split_first()?;
    let argv = match kind.as_str() {
        "CMD" => rest.to_vec(),
        "CMD-SHELL" => match shell {
            Some(sh) if !sh.is_empty() => sh.to_vec(),
            _ => vec!["/bin/sh".to_string(), "-c".to_string()],
        }
        .into_iter()
        .chain(rest.iter().cloned())
        .collect(),
        _ => return None,
    };
    let or = |v: Option<i64>, default: Duration| match v {
        Some(n) if n > 0 => Duration::from_nanos(n as u64),
        _ => default,
    };
    Some(Settings {
        argv,
        interval: or(hc.interval, DEFAULT_INTERVAL),
        timeout: or(hc.timeout, DEFAULT_TIMEOUT),
        start_period: or(hc.start_period, Duration::ZERO),
        start_interval: or(hc.start_interval, DEFAULT_START_INTERVAL),
        retries: hc.retries.filter(|r| *r > 0).unwrap_or(DEFAULT_RETRIES),
    })
}

/// Parses a Go duration (`time.ParseDuration`): `300ms`, `-1.5h`, `2h45m`; units ns,
/// us (µs), ms, s, m, h. Errors read like Go's.
pub fn parse_go_duration(orig: &str) -> std::result::Result<i64, String> {
    let invalid = || format!("time: invalid duration {orig:?}");
    let mut s = orig;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let digits = |t: &str| t.bytes().take_while(u8::is_ascii_digit).count();
        let n = digits(s);
        if n == 0 && !s.starts_with('.') {
            return Err(invalid());
        }
        let whole: u128 = if n == 0 {
            0
        } else {
            s[..n].parse().map_err(|_| invalid())?
        };
        s = &s[n..];
        let mut frac: (u128, u128) = (0, 1); // numerator, scale
        let mut frac_digits = 0;
        if let Some(rest) = s.strip_prefix('.') {
            frac_digits = digits(rest);
            // Enough digits for nanoseconds of hours; more cannot change the result.
            for b in rest[..frac_digits].bytes().take(19) {
                frac = (frac.0 * 10 + u128::from(b - b'0'), frac.1 * 10);
            }
            s = &rest[frac_digits..];
        }
        if n == 0 && frac_digits == 0 {
            return Err(invalid());
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {orig:?}"));
        }
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(format!("time: unknown unit {unit:?} in duration {orig:?}")),
        };
        total += whole * nanos + frac.0 * nanos / frac.1;
        if total > 1 << 63 {
            return Err(invalid());
        }
    }
    if neg {
        Ok((total as i128).wrapping_neg() as i64)
    } else if total > i64::MAX as u128 {
        Err(invalid())
    } else {
        Ok(total as i64)
    }
}

/// Formats nanoseconds like Go's `Duration.String`: `1.5s`, `1m30s`, `1h0m0s`, `500ms`.
pub fn go_duration(nanos: i64) -> String {
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let frac = |v: u64, digits: u32| {
        let scale = 10u64.pow(digits);
        let (whole, part) = (v / scale, v % scale);
        if part == 0 {
            whole.to_string()
        } else {
            let p = format!("{part:0width$}", width = digits as usize);
            format!("{whole}.{}", p.trim_end_matches('0'))
        }
    };
    let body = if u == 0 {
        "0s".to_string()
    } else if u < 1_000 {
        format!("{u}ns")
    } else if u < 1_000_000 {
        format!("{}µs", frac(u, 3))
    } else if u < 1_000_000_000 {
        format!("{}ms", frac(u, 6))
    } else {
        let secs = u / 1_000_000_000;
        let s = frac(secs % 60 * 1_000_000_000 + u % 1_000_000_000, 9);
        let (mins, hours) = (secs / 60 % 60, secs / 3600);
        if hours > 0 {
            format!("{hours}h{mins}m{s}s")
        } else if mins > 0 {
            format!("{mins}m{s}s")
        } else {
            format!("{s}s")
        }
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

/// Docker's STATUS suffix of a running container: `healthy`, `unhealthy`,
/// `health: starting`.
pub fn status_suffix(health: &Health) -> &'static str {
    match health.status {
        HealthStatus::Starting => "health: starting",
        other => other.as_str(),
    }
}

/// The health check of one running container, driven by its monitor's poll loop.
pub struct Checker {
    settings: Settings,
    target: runtime::ExecTarget,
    /// The probe's process spec, built once at start (or why it could not be).
    process: std::result::Result<(oci_spec::runtime::Process, runtime::Confinement), String>,
    dir: PathBuf,
    /// When the container started: the start period counts from here.
    started: Instant,
    health: Health,
    /// When the next probe starts (while none runs).
    next: Instant,
    probe: Option<Probe>,
    /// A result not yet written (the container lock was busy), and when to try again.
    unsaved: Option<Instant>,
    stopped: bool,
}

/// A running probe: the intermediate process `berth exec` forks (host side, its exit
/// status is the probe's), watched through a pidfd.
struct Probe {
    pid: i32,
    pidfd: OwnedFd,
    errors: OwnedFd,
    output: Option<OwnedFd>,
    captured: Vec<u8>,
    truncated: bool,
    start: SystemTime,
    started: Instant,
    deadline: Instant,
    /// When it was first killed for running past its timeout, and when to kill again
    /// (the workload may not have been forked yet).
    killed: Option<(Instant, Instant)>,
}

impl Checker {
    /// The checker of container `record` (directory `dir`), whose init is `pid` in
    /// `cgroup_paths`, started at `started`; probes get the container's seccomp filter
    /// (compiled through `seccomp_cache`). None without a probe to run.
    pub fn new(
        record: &Record,
        dir: PathBuf,
        seccomp_cache: &Path,
        pid: i32,
        cgroup_paths: Vec<PathBuf>,
        started: Instant,
    ) -> Option<Checker> {
        let settings = settings(
            record.config.healthcheck.as_ref(),
            record.config.shell.as_deref(),
        )?;
        let opts = ExecOptions {
            command: settings.argv.clone(),
            ..Default::default()
        };
        let process = if settings.argv.is_empty() {
            Err("no health check command given".to_string())
        } else {
            exec::process_spec(record, &dir, &opts)
                .and_then(|p| {
                    let confine =
                        crate::security::confinement(&record.security, &dir, seccomp_cache)?;
                    Ok((p, confine))
                })
                .map_err(|e| e.to_string())
        };
        let mut c = Checker {
            settings,
            target: runtime::ExecTarget { pid, cgroup_paths },
            process,
            dir,
            started,
            health: Health::default(),
            next: started,
            probe: None,
            unsaved: None,
            stopped: false,
        };
        c.next = started + c.interval();
        Some(c)
    }

    /// Resets the health of a (re)started container as Docker does: status starting, no
    /// failing streak, the previous results kept. Returns it for the first state write.
    pub fn begin(&mut self, previous: Option<Health>) -> Health {
        self.health = Health {
            status: HealthStatus::Starting,
            failing_streak: 0,
            log: previous.map(|h| h.log).unwrap_or_default(),
        };
        self.health.clone()
    }

    /// The health as it stands.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The descriptors the monitor polls for the checker: the running probe's pidfd and
    /// its output pipe.
    pub fn fds(&self) -> (Option<RawFd>, Option<RawFd>) {
        match &self.probe {
            Some(p) => (
                Some(p.pidfd.as_raw_fd()),
                p.output.as_ref().map(|o| o.as_raw_fd()),
            ),
            None => (None, None),
        }
    }

    /// How long the monitor may sleep before the checker has something to do.
    pub fn wait_time(&self, now: Instant) -> Option<Duration> {
        if self.stopped {
            return None;
        }
        let due = match &self.probe {
            Some(p) => match p.killed {
                None => p.deadline,
                Some((_, again)) => again,
            },
            None => self.next,
        };
        let due = self.unsaved.map_or(due, |retry| retry.min(due));
        Some(due.saturating_duration_since(now))
    }

    /// Called after every poll with what it reported for [`Checker::fds`]: collects
    /// output, finishes an exited probe, kills a late one, starts the next one. Returns
    /// true when a probe result was just recorded.
    pub fn after_poll(&mut self, exited: bool, output: bool, buf: &mut [u8]) -> bool {
        if self.stopped {
            return false;
        }
        let now = Instant::now();
        let mut recorded = false;
        if output {
            if let Some(p) = &mut self.probe {
                p.read_output(buf);
            }
        }
        if exited {
            if let Some(p) = self.probe.take() {
                let result = self.finish(p, buf);
                self.record(result);
                recorded = true;
            }
        } else if let Some(p) = &mut self.probe {
            let due = p.killed.map_or(p.deadline, |(_, again)| again);
            if now >= due {
                // Killed again until the intermediate exits, which it does by itself
                // once the workload is dead; killed too if that takes seconds.
                let first = p.killed.map_or(now, |(first, _)| first);
                p.kill(now >= first + Duration::from_secs(2));
                p.killed = Some((first, now + Duration::from_millis(20)));
            }
        }
        if self.probe.is_none() && now >= self.next {
            self.start();
            recorded |= self.probe.is_none();
        }
        if self.unsaved.is_some_and(|at| now >= at) {
            self.save();
        }
        recorded
    }

    /// The container is gone: kill and reap a running probe (its result no longer
    /// counts) and check no more. The health ends unhealthy, as Docker's does.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if let Some(mut p) = self.probe.take() {
            p.kill(true);
            p.reap();
        }
        self.health.status = HealthStatus::Unhealthy;
    }

    /// Docker's schedule: the start interval while starting within the start period,
    /// else the interval; counted from the end of the previous probe.
    fn interval(&self) -> Duration {
        let s = &self.settings;
        if self.started.elapsed() < s.start_period && self.health.status == HealthStatus::Starting {
            s.start_interval
        } else {
            s.interval
        }
    }

    fn start(&mut self) {
        let start = SystemTime::now();
        let started = Instant::now();
        match self.spawn() {
            Ok((pid, pidfd, errors, output)) => {
                self.probe = Some(Probe {
                    pid,
                    pidfd,
                    errors,
                    output: Some(output),
                    captured: Vec::new(),
                    truncated: false,
                    start,
                    started,
                    deadline: started + self.settings.timeout,
                    killed: None,
                });
            }
            Err(message) => {
                self.record(Outcome {
                    start,
                    started,
                    exit_code: -1,
                    output: message,
                });
            }
        }
    }

    fn spawn(&self) -> std::result::Result<(i32, OwnedFd, OwnedFd, OwnedFd), String> {
        let (process, confine) = self.process.as_ref().map_err(Clone::clone)?;
        let (out_r, out_w) = sys::pipe().map_err(|e| format!("creating a pipe: {e}"))?;
        sys::set_nonblocking(out_r.as_fd(), true).map_err(|e| e.to_string())?;
        let err_w = out_w.try_clone().map_err(|e| e.to_string())?;
        let stdin: OwnedFd = File::open("/dev/null")
            .map_err(|e| format!("opening /dev/null: {e}"))?
            .into();
        let stdio = runtime::Stdio::Fds {
            stdin,
            stdout: out_w,
            stderr: err_w,
        };
        let (pid, errors) =
            runtime::exec_spawn(&self.target, process, confine, stdio).map_err(|e| e.message)?;
        // Our own unreaped child: the pid cannot be reused before we wait for it.
        match sys::pidfd_open(pid) {
            Ok(pidfd) => Ok((pid, pidfd, errors, out_r)),
            Err(e) => {
                let _ = sys::kill(pid, libc::SIGKILL);
                let _ = sys::waitpid(pid, 0);
                Err(format!("watching the health check process: {e}"))
            }
        }
    }

    fn finish(&self, mut p: Probe, buf: &mut [u8]) -> Outcome {
        let status = p.reap();
        p.read_output(buf);
        let mut out = String::from_utf8_lossy(&p.captured).into_owned();
        if p.truncated {
            out.push_str("...");
        }
        let (exit_code, output) = if p.killed.is_some() {
            let limit = go_duration(self.settings.timeout.as_nanos() as i64);
            let msg = if out.is_empty() {
                format!("Health check exceeded timeout ({limit})")
            } else {
                format!("Health check exceeded timeout ({limit}): {out}")
            };
            (-1, msg)
        } else if let Some(e) = runtime::exec_failure(&p.errors) {
            (-1, e.message)
        } else {
            (i64::from(runtime::init::exit_code(status)), out)
        };
        Outcome {
            start: p.start,
            started: p.started,
            exit_code,
            output,
        }
    }

    /// Docker's handleProbeResult.
    fn record(&mut self, o: Outcome) {
        let mut start = Vec::with_capacity(40);
        crate::time::push_rfc3339_nanos(&mut start, o.start);
        let mut end = Vec::with_capacity(40);
        crate::time::push_rfc3339_nanos(&mut end, SystemTime::now());
        let h = &mut self.health;
        if h.log.len() >= MAX_LOG {
            h.log.drain(..=h.log.len() - MAX_LOG);
        }
        h.log.push(HealthResult {
            start: String::from_utf8_lossy(&start).into_owned(),
            end: String::from_utf8_lossy(&end).into_owned(),
            exit_code: o.exit_code,
            output: o.output,
        });
        if o.exit_code == 0 {
            h.failing_streak = 0;
            h.status = HealthStatus::Healthy;
        } else {
            // While starting, failures inside the start period do not count.
            let grace = h.status == HealthStatus::Starting
                && o.started.saturating_duration_since(self.started) < self.settings.start_period;
            if !grace {
                h.failing_streak += 1;
                if h.failing_streak >= self.settings.retries {
                    h.status = HealthStatus::Unhealthy;
                }
            }
        }
        self.next = Instant::now() + self.interval();
        self.save();
    }

    /// Writes the health into the state, under the container lock if it is free right
    /// now; otherwise tries again shortly (the loop never waits for the lock).
    fn save(&mut self) {
        self.unsaved = None;
        let _lock = match Lock::try_acquire(&self.dir.join("lock")) {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                self.unsaved = Some(Instant::now() + Duration::from_millis(20));
                return;
            }
            Err(_) => return,
        };
        let path = self.dir.join("state.json");
        if let Ok(mut state) = read_json::<State>(&path) {
            if state.status == Status::Running {
                state.health = Some(self.health.clone());
                let _ = write_json(&path, &state);
            }
        }
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What one probe run came to.
struct Outcome {
    start: SystemTime,
    started: Instant,
    exit_code: i64,
    output: String,
}

impl Probe {
    /// Keeps the first [`MAX_OUTPUT`] bytes of what the probe writes; reads and drops
    /// the rest so the probe never blocks on a full pipe.
    fn read_output(&mut self, buf: &mut [u8]) {
        let Some(fd) = &self.output else { return };
        // Bounded: a background process of the probe may keep the pipe busy.
        for _ in 0..64 {
            match sys::read(fd.as_raw_fd(), buf) {
                Ok(0) => {
                    self.output = None;
                    return;
                }
                Ok(n) => {
                    let room = MAX_OUTPUT - self.captured.len();
                    let take = room.min(n);
                    self.captured.extend_from_slice(&buf[..take]);
                    self.truncated |= take < n;
                }
                Err(_) => return, // EAGAIN: nothing more for now
            }
        }
    }

    /// Kills the probe. The workload runs in the container's PID namespace as a child
    /// of the intermediate, in a session (so a process group) of its own: the group is
    /// killed first, while the intermediate, blocked waiting for it, keeps its pid from
    /// being reused; the intermediate then exits by itself. `intermediate` also kills
    /// that (when the workload was never forked, or as a last resort).
    fn kill(&self, intermediate: bool) {
        for child in children(self.pid) {
            let _ = sys::kill(-child, libc::SIGKILL);
            let _ = sys::kill(child, libc::SIGKILL);
        }
        if intermediate {
            let _ = sys::pidfd_send_signal(self.pidfd.as_fd(), libc::SIGKILL);
        }
    }

    /// Waits for the intermediate (it has exited or been killed); returns its status.
    fn reap(&mut self) -> libc::c_int {
        loop {
            match sys::waitpid(self.pid, 0) {
                Ok(Some((_, status))) => return status,
                Ok(None) => continue,
                Err(_) => return 137 << 8,
            }
        }
    }
}

/// The children of process `pid` (host pids).
fn children(pid: i32) -> Vec<i32> {
    let parse = |s: &str| {
        s.split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    };
    if let Ok(list) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
        return parse(&list);
    }
    // Kernels without CONFIG_PROC_CHILDREN: look for processes whose parent is `pid`.
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = e.file_name();
        let Some(child) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let ppid = stat
            .rfind(')')
            .and_then(|i| stat[i + 2..].split(' ').nth(1))
            .and_then(|p| p.parse::<i32>().ok());
        if ppid == Some(pid) {
            found.push(child);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_like_go() {
        let ok = |s: &str| parse_go_duration(s).unwrap();
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("30s"), 30_000_000_000);
        assert_eq!(ok("1m30s"), 90_000_000_000);
        assert_eq!(ok("500ms"), 500_000_000);
        assert_eq!(ok("1.5h"), 5_400_000_000_000);
        assert_eq!(ok(".5s"), 500_000_000);
        assert_eq!(ok("1.s"), 1_000_000_000);
        assert_eq!(ok("-1s"), -1_000_000_000);
        assert_eq!(ok("+2us"), 2_000);
        assert_eq!(ok("3µs"), 3_000);
        assert_eq!(ok("1h2m3s4ms5us6ns"), 3_723_004_005_006);
        assert_eq!(
            parse_go_duration("5").unwrap_err(),
            "time: missing unit in duration \"5\""
        );
        assert_eq!(
            parse_go_duration("5x").unwrap_err(),
            "time: unknown unit \"x\" in duration \"5x\""
        );
        for bad in ["", "abc", "-", ".", "s", "1s.", "9999999999h"] {
            assert_eq!(
                parse_go_duration(bad).unwrap_err(),
                format!("time: invalid duration {bad:?}"),
                "{bad}"
            );
        }
    }

    #[test]
    fn go_durations_print_like_go() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(30_000_000_000), "30s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(300_000_000), "300ms");
        assert_eq!(go_duration(1_500_000), "1.5ms");
        assert_eq!(go_duration(2_000), "2µs");
        assert_eq!(go_duration(7), "7ns");
        assert_eq!(go_duration(-1_000_000_000), "-1s");
        assert_eq!(go_duration(3_723_004_005_006), "1h2m3.004005006s");
    }

    #[test]
    fn a_test_vector_is_taken_as_docker_gives_it() {
        let image = Healthcheck {
            test: Some(vec!["CMD".into(), "check".into()]),
            retries: Some(7),
            ..Default::default()
        };
        let exec = vec!["CMD".to_string(), "test".into(), "-s".into(), "/f".into()];
        let got = container_config(&flags(|o| o.test = Some(exec.clone())), Some(&image))
            .unwrap()
            .unwrap();
        assert_eq!(got.test, Some(exec));
        assert_eq!(got.retries, Some(7));
        let shell = vec!["CMD-SHELL".to_string(), "test -f /x".into()];
        let got = container_config(&flags(|o| o.test = Some(shell.clone())), None)
            .unwrap()
            .unwrap();
        assert_eq!(got.test, Some(shell));
        // An empty vector keeps the image's test; NONE turns the check off.
        let got = container_config(
            &flags(|o| {
                o.test = Some(Vec::new());
                o.interval = Some("1s".into());
            }),
            Some(&image),
        )
        .unwrap()
        .unwrap();
        assert_eq!(got.test, image.test);
        let none = container_config(&flags(|o| o.test = Some(vec!["NONE".into()])), Some(&image))
            .unwrap()
            .unwrap();
        assert_eq!(none.test, Some(vec!["NONE".into()]));
        for bad in [vec!["CMD"], vec!["SHELL", "x"], vec!["CMD-SHELL", ""]] {
            let t: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
            let err = container_config(&flags(|o| o.test = Some(t)), None).unwrap_err();
            assert!(err.to_string().contains("healthcheck test"), "{err}");
        }
        let both = flags(|o| {
            o.test = Some(vec!["CMD".into(), "true".into()]);
            o.cmd = Some("true".into());
        });
        assert!(container_config(&both, None).is_err());
    }

    fn flags(f: impl FnOnce(&mut HealthOptions)) -> HealthOptions {
        let mut o = HealthOptions::default();
        f(&mut o);
        o
    }

    #[test]
    fn flags_override_the_image_field_by_field() {
        let image = Healthcheck {
            test: Some(vec!["CMD".into(), "check".into()]),
            interval: Some(10_000_000_000),
            timeout: Some(2_000_000_000),
            retries: Some(7),
            ..Default::default()
        };
        let got = container_config(&flags(|o| o.interval = Some("1s".into())), Some(&image))
            .unwrap()
            .unwrap();
        assert_eq!(got.test, image.test);
        assert_eq!(got.interval, Some(1_000_000_000));
        assert_eq!(got.timeout, Some(2_000_000_000));
        assert_eq!(got.retries, Some(7));

        let got = container_config(&flags(|o| o.cmd = Some("true".into())), Some(&image))
            .unwrap()
            .unwrap();
        assert_eq!(got.test, Some(vec!["CMD-SHELL".into(), "true".into()]));
        assert_eq!(got.interval, Some(10_000_000_000));

        let none = container_config(&flags(|o| o.disabled = true), Some(&image))
            .unwrap()
            .unwrap();
        assert_eq!(none.test, Some(vec!["NONE".into()]));
        assert!(settings(Some(&none), None).is_none());

        // No flags: the image's, or nothing.
        let kept = container_config(&HealthOptions::default(), Some(&image)).unwrap();
        assert_eq!(kept.unwrap().test, image.test);
        assert!(container_config(&HealthOptions::default(), None)
            .unwrap()
            .is_none());
        // Zero values mean unset, as in Docker's CLI.
        assert!(container_config(
            &flags(|o| {
                o.interval = Some("0s".into());
                o.retries = Some(0)
            }),
            None
        )
        .unwrap()
        .is_none());
    }

    #[test]
    fn bad_flags_get_dockers_messages() {
        let err = |o: HealthOptions| container_config(&o, None).unwrap_err().to_string();
        assert_eq!(
            err(flags(|o| o.interval = Some("-1s".into()))),
            "--health-interval cannot be negative"
        );
        assert_eq!(
            err(flags(|o| o.retries = Some(-1))),
            "--health-retries cannot be negative"
        );
        assert_eq!(
            err(flags(|o| o.start_interval = Some("-5s".into()))),
            "--health-start-interval cannot be negative"
        );
        assert_eq!(
            err(flags(|o| o.timeout = Some("100us".into()))),
            "Timeout in Healthcheck cannot be less than 1ms"
        );
        assert_eq!(
            err(flags(|o| o.start_period = Some("10".into()))),
            "invalid argument \"10\" for \"--health-start-period\" flag: time: missing unit in duration \"10\""
        );
        assert_eq!(
            err(flags(|o| {
                o.disabled = true;
                o.cmd = Some("true".into())
            })),
            "--no-healthcheck conflicts with --health-* options"
        );
    }

    #[test]
    fn settings_apply_dockers_defaults() {
        let hc = Healthcheck {
            test: Some(vec!["CMD-SHELL".into(), "curl -f localhost".into()]),
            ..Default::default()
        };
        let s = settings(Some(&hc), None).unwrap();
        assert_eq!(s.argv, ["/bin/sh", "-c", "curl -f localhost"]);
        // The image's SHELL is the shell of a CMD-SHELL probe, as in Docker.
        let ash = [
            "/bin/ash".to_string(),
            "-eo".into(),
            "pipefail".into(),
            "-c".into(),
        ];
        let s = settings(Some(&hc), Some(&ash)).unwrap();
        assert_eq!(
            s.argv,
            ["/bin/ash", "-eo", "pipefail", "-c", "curl -f localhost"]
        );
        assert_eq!(s.interval, Duration::from_secs(30));
        assert_eq!(s.timeout, Duration::from_secs(30));
        assert_eq!(s.start_period, Duration::ZERO);
        assert_eq!(s.start_interval, Duration::from_secs(5));
        assert_eq!(s.retries, 3);
        let cmd = Healthcheck {
            test: Some(vec!["CMD".into(), "/check".into(), "-v".into()]),
            ..Default::default()
        };
        assert_eq!(settings(Some(&cmd), None).unwrap().argv, ["/check", "-v"]);
        for test in [vec![], vec!["NONE".to_string()], vec!["BOGUS".to_string()]] {
            let hc = Healthcheck {
                test: Some(test),
                ..Default::default()
            };
            assert!(settings(Some(&hc), None).is_none());
        }
        assert!(settings(None, None).is_none());
    }
}
