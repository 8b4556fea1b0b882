//! The escape probe (`probe/probe.c`): a static C program that makes one escape attempt
//! per run straight with syscalls, built once per test process, and the busybox fixture
//! with the probe at `/bin/probe`. Never runs an attempt on the host itself: the probe
//! is only ever started inside a container.
//!
//! `probe ATTEMPT[@LABEL] [ARGS]` prints one result line, `ATTEMPT[@LABEL]: ok` or
//! `ATTEMPT[@LABEL]: denied: <strerror> (errno N)`, detail lines starting with `| `, and
//! exits 0 (succeeded), 1 (denied) or 2 (usage). The label lets one container run the
//! same attempt several times and still tell the results apart.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::{busybox_rootfs, Berth};

const SOURCE: &str = include_str!("../probe/probe.c");

fn fixture_base() -> PathBuf {
    let base = std::env::temp_dir().join("berth-test-fixtures");
    fs::create_dir_all(&base).expect("fixture dir");
    base
}

/// Short content hash of the probe's source, so an edited probe gets a new fixture.
fn source_tag() -> String {
    hex::encode(&Sha256::digest(SOURCE.as_bytes())[..6])
}

/// The probe binary, compiled with `gcc -static -O2` once per test process (and kept
/// across processes while the source is unchanged).
pub fn probe_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = fixture_base().join(format!("probe-{}", source_tag()));
        let bin = dir.join("probe");
        if bin.exists() {
            return bin;
        }
        let tmp = fixture_base().join(format!("probe.tmp{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).expect("probe build dir");
        fs::write(tmp.join("probe.c"), SOURCE).expect("write probe.c");
        let out = Command::new("gcc")
            .args(["-static", "-O2", "-Wall", "-pthread", "-o"])
            .arg(tmp.join("probe"))
            .arg(tmp.join("probe.c"))
            .output()
            .expect("tests need gcc and a static libc (libc6-dev) to build the probe");
        assert!(
            out.status.success(),
            "compiling the probe failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Parallel test binaries may race here: whoever renames first wins.
        if fs::rename(&tmp, &dir).is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        bin
    })
}

/// The busybox fixture plus the probe at `/bin/probe` (a copy of the fixture tree, built
/// once; containers never modify it, they write to their own overlay).
pub fn probe_rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        let dir = fixture_base().join(format!("probe-rootfs-{}", source_tag()));
        if dir.join("bin/probe").exists() {
            return dir;
        }
        let tmp = fixture_base().join(format!("probe-rootfs.tmp{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        copy_tree(busybox_rootfs(), &tmp);
        fs::copy(probe_binary(), tmp.join("bin/probe")).expect("install the probe");
        if fs::rename(&tmp, &dir).is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        dir
    })
}

/// A private copy of the probe rootfs at `dest` (which must not exist), for tests that
/// need to shape the root filesystem, e.g. to plant a symlink.
pub fn probe_rootfs_copy(dest: &Path) {
    copy_tree(probe_rootfs(), dest);
}

fn copy_tree(from: &Path, to: &Path) {
    let out = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .output()
        .expect("cp -a");
    assert!(
        out.status.success(),
        "cp -a {} {}: {}",
        from.display(),
        to.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The result of one attempt, parsed from a container's output.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `ATTEMPT` or `ATTEMPT@LABEL`, as the probe printed it.
    pub attempt: String,
    /// The result line, or None when the probe never reported (the container did not
    /// start, or the probe never ran): that is neither a success nor a denial.
    pub line: Option<String>,
    pub ok: bool,
    pub errno: Option<i32>,
    /// The `| ` lines right after the result line, without the prefix.
    pub details: Vec<String>,
    /// The container's exit code and output, for messages.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Finds `attempt`'s result in `out` (a container may run several probes).
    pub fn parse(attempt: &str, out: &Output) -> Outcome {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let prefix = format!("{attempt}: ");
        let mut lines = stdout.lines();
        let mut line = None;
        for l in lines.by_ref() {
            if l.starts_with(&prefix) {
                line = Some(l.to_string());
                break;
            }
        }
        let details = if line.is_some() {
            lines
                .map_while(|l| l.strip_prefix("| ").map(str::to_string))
                .collect()
        } else {
            Vec::new()
        };
        let rest = line.as_deref().map(|l| &l[prefix.len()..]);
        let ok = rest == Some("ok");
        let errno = rest
            .and_then(|r| r.rsplit_once("(errno "))
            .and_then(|(_, n)| n.trim_end_matches(')').parse().ok());
        Outcome {
            attempt: attempt.to_string(),
            line,
            ok,
            errno,
            details,
            code: out.status.code(),
            stdout,
            stderr,
        }
    }

    /// Asserts the attempt ran and succeeded.
    pub fn assert_ok(&self, what: &str) {
        assert!(
            self.ok,
            "{what}: expected `{}` to succeed\n{self}",
            self.attempt
        );
    }

    /// Asserts the attempt ran and was refused, whatever the errno.
    pub fn assert_denied(&self, what: &str) {
        assert!(
            self.line.is_some() && !self.ok,
            "{what}: expected `{}` to be denied\n{self}",
            self.attempt
        );
    }

    /// Asserts the attempt ran and was refused with one of `errnos` (the mechanism).
    pub fn assert_errno(&self, errnos: &[i32], what: &str) {
        self.assert_denied(what);
        assert!(
            self.errno.is_some_and(|e| errnos.contains(&e)),
            "{what}: expected `{}` to fail with errno {errnos:?}\n{self}",
            self.attempt
        );
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "result: {}\nexit code: {:?}\nstdout: {}\nstderr: {}",
            self.line.as_deref().unwrap_or("(no result line)"),
            self.code,
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }
}

impl Berth {
    /// `berth run --rm OPTS --rootfs PROBE_ROOTFS CMD...`
    pub fn run_probe_ctr(&self, opts: &[&str], cmd: &[&str]) -> Output {
        let rootfs = probe_rootfs().to_string_lossy().into_owned();
        let mut args: Vec<&str> = vec!["run", "--rm"];
        args.extend_from_slice(opts);
        args.extend_from_slice(&["--rootfs", &rootfs]);
        args.extend_from_slice(cmd);
        self.run(&args)
    }

    /// Runs `probe ATTEMPT ARGS...` as the only process of a fresh container started
    /// with `opts`, and parses its result.
    pub fn probe(&self, opts: &[&str], attempt: &str, args: &[&str]) -> Outcome {
        let mut cmd = vec!["probe", attempt];
        cmd.extend_from_slice(args);
        Outcome::parse(attempt, &self.run_probe_ctr(opts, &cmd))
    }

    /// Runs a shell script in a fresh probe container; parse each attempt of it with
    /// [`Outcome::parse`].
    pub fn probe_sh(&self, opts: &[&str], script: &str) -> Output {
        self.run_probe_ctr(opts, &["sh", "-c", script])
    }

    /// Like [`Berth::cmd`] (same state root and environment) but running another copy of
    /// the berth binary, for tests that must be free to damage the binary they attack.
    pub fn cmd_with_binary(&self, bin: &Path) -> Command {
        let base = self.cmd();
        let mut c = Command::new(bin);
        for (k, v) in base.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c.stdin(Stdio::null());
        c
    }
}

/// The sha256 of a file's content, hex.
pub fn file_digest(path: &Path) -> String {
    let data = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    hex::encode(Sha256::digest(&data))
}
