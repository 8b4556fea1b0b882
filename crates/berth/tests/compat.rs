//! The compatibility battery: under the default security settings (seccomp, Landlock,
//! Docker's capabilities, no_new_privs, masked paths) real workloads still work: the
//! busybox tool box, a web server and its client, ping, and a program that uses
//! threads, futexes, signals, timers, epoll and fork the way language runtimes do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use testsupport::probe::Outcome;
use testsupport::{stderr, stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

fn sh(b: &Berth, opts: &[&str], script: &str) -> (i32, String, String) {
    let out = b.run_probe_ctr(opts, &["sh", "-c", script]);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

#[test]
fn busybox_tools_work_under_the_defaults() {
    let b = berth();
    let (code, out, err) = sh(
        &b,
        &[],
        "set -e; ls / | grep -c bin; ps -o pid,args | head -2 | tail -1; top -b -n1 | head -1 | cut -c1-4; \
         mkdir -p /tmp/t/a && echo hello > /tmp/t/a/f && tar -C /tmp/t -czf /tmp/t.tgz a && \
         mkdir /tmp/u && tar -C /tmp/u -xzf /tmp/t.tgz && cat /tmp/u/a/f; \
         echo 'one two three' | sed 's/two/2/'; echo '3 4' | awk '{print $1*$2}'; \
         find /tmp/u -name f; sha256sum /tmp/u/a/f | cut -c1-8; \
         date +%Y >/dev/null && echo date-ok; id -u; nproc >/dev/null && echo nproc-ok",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "2", "bin and sbin: {out}");
    assert!(
        lines[1].trim_start().starts_with('1'),
        "ps sees PID 1: {out}"
    );
    assert_eq!(lines[2], "Mem:", "top reads /proc: {out}");
    assert_eq!(
        lines[3..],
        [
            "hello",
            "one 2 three",
            "12",
            "/tmp/u/a/f",
            "5891b5b5",
            "date-ok",
            "0",
            "nproc-ok"
        ],
        "{err}"
    );
}

#[test]
fn httpd_serves_a_file_that_wget_fetches_from_inside() {
    let b = berth();
    let (code, out, err) = sh(
        &b,
        &[],
        "httpd -p 127.0.0.1:8080 -h /www && \
         for i in $(seq 50); do wget -q -O - http://127.0.0.1:8080/index.html && break; sleep 0.1; done",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "hello from the image\n");
}

#[test]
fn ping_works_with_dockers_default_net_raw() {
    let b = berth();
    let (code, out, err) = sh(&b, &[], "ping -c1 -W2 127.0.0.1");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("1 packets received"), "{out}");
}

#[test]
fn threads_futexes_signals_timers_epoll_and_fork_work() {
    let b = berth();
    for opts in [&[][..], &["-u", "app"][..], &["--read-only"][..]] {
        let out = b.run_probe_ctr(opts, &["probe", "runtime_selftest"]);
        let o = Outcome::parse("runtime_selftest", &out);
        o.assert_ok(&format!("the runtime self-test with {opts:?}"));
        assert!(
            o.details.iter().all(|d| d.ends_with(" ok")),
            "every part passed: {o}"
        );
    }
}

#[test]
fn exec_into_a_running_container_works_under_the_defaults() {
    let b = berth();
    let rootfs = testsupport::probe::probe_rootfs().display().to_string();
    let id = b.ok(&[
        "run", "-d", "--name", "web", "--rootfs", &rootfs, "httpd", "-f", "-p", "8080", "-h",
        "/www",
    ]);
    assert!(b.eventually(5, || b
        .run(&[
            "exec",
            "web",
            "wget",
            "-q",
            "-O",
            "-",
            "http://127.0.0.1:8080/"
        ])
        .status
        .success()));
    let ps = b.ok(&["exec", &id[..12], "ps", "-o", "args"]);
    assert!(ps.contains("httpd -f -p 8080"), "{ps}");
    let out = b.run(&["exec", "web", "probe", "runtime_selftest"]);
    Outcome::parse("runtime_selftest", &out).assert_ok("the self-test through exec");
}

/// A Debian minbase root filesystem, built once with debootstrap (slow; cached in the
/// fixture directory), or None with the reason it cannot be built here.
fn debian_minbase() -> Result<&'static Path, String> {
    static ROOTFS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ROOTFS
        .get_or_init(|| {
            let base = std::env::temp_dir().join("berth-test-fixtures");
            let dir = base.join("debian-bookworm-minbase");
            if dir.join("usr/bin/apt-get").exists() {
                return Ok(dir);
            }
            let which = Command::new("sh")
                .args(["-c", "command -v debootstrap"])
                .output()
                .map_err(|e| e.to_string())?;
            if !which.status.success() {
                return Err("debootstrap is not installed".into());
            }
            let mirror = std::env::var("BERTH_TEST_DEBIAN_MIRROR")
                .unwrap_or_else(|_| "http://deb.debian.org/debian".into());
            let host = mirror
                .split("://")
                .nth(1)
                .and_then(|r| r.split('/').next())
                .unwrap_or("deb.debian.org")
                .to_string();
            let addr = format!("{host}:80");
            let reachable = std::net::ToSocketAddrs::to_socket_addrs(&addr.as_str())
                .ok()
                .and_then(|mut a| a.next())
                .is_some_and(|a| {
                    std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(5))
                        .is_ok()
                });
            if !reachable {
                return Err(format!("the Debian mirror {mirror} is not reachable"));
            }
            std::fs::create_dir_all(&base).map_err(|e| e.to_string())?;
            let tmp = base.join(format!("debian-minbase.tmp{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            let out = Command::new("debootstrap")
                .args(["--variant=minbase", "bookworm"])
                .arg(&tmp)
                .arg(&mirror)
                .output()
                .map_err(|e| e.to_string())?;
            if !out.status.success() {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(format!(
                    "debootstrap failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                ));
            }
            if std::fs::rename(&tmp, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&tmp);
            }
            Ok(dir)
        })
        .as_deref()
        .map_err(Clone::clone)
}

#[test]
fn a_debian_minbase_root_runs_apt_and_dpkg() {
    let rootfs = match debian_minbase() {
        Ok(r) => r.display().to_string(),
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let b = berth();
    let out = b.run(&[
        "run",
        "--rm",
        "--rootfs",
        &rootfs,
        "sh",
        "-c",
        "apt-get --version | head -1; dpkg -s dpkg | grep -c '^Status: install ok installed'; \
         bash -c 'echo bash-ok'; perl -e 'print qq(perl-ok\\n)'",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("apt "), "{text}");
    assert!(text.contains("\n1\nbash-ok\nperl-ok\n"), "{text}");
}
