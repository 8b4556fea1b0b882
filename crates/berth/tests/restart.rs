//! Restart policies as Docker runs them: `--restart no|always|unless-stopped|
//! on-failure[:N]` validated like Docker's, the monitor restarting the container after
//! a back-off that starts at 100 ms, `RestartCount`, the `restarting` state in inspect
//! and `ps`, `stop` and `kill` that no policy undoes (not even during a back-off),
//! `wait` that returns at each exit, and every restart a real start: published ports
//! still answering (on the same host port), health checks starting over, nothing
//! leaked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use testsupport::{stderr, stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

fn inspect(b: &Berth, name: &str) -> Value {
    let v: Value = serde_json::from_str(&b.ok(&["inspect", name])).unwrap();
    v[0].clone()
}

fn restarts(b: &Berth, name: &str) -> u64 {
    b.ok(&["inspect", "-f", "{{.RestartCount}}", name])
        .parse()
        .unwrap()
}

fn status(b: &Berth, name: &str) -> String {
    b.ok(&["inspect", "-f", "{{.State.Status}}", name])
}

/// A host directory bind-mounted at /state, and a script prefix that counts the runs
/// in it: `$n` is this run's number (1 for the first).
fn counter() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    (
        dir,
        String::from("n=$(($(cat /state/n 2>/dev/null || echo 0) + 1)); echo $n > /state/n; "),
    )
}

fn state_opt(dir: &Path) -> String {
    format!("{}:/state", dir.display())
}

#[test]
fn bad_policies_are_refused_like_dockers_and_create_nothing() {
    let b = berth();
    for (policy, want) in [
        (
            "on-failure:-1",
            "invalid restart policy: maximum retry count cannot be negative",
        ),
        (
            "always:3",
            "invalid restart policy: maximum retry count can only be used with 'on-failure'",
        ),
        (
            "unless-stopped:-1",
            "can only be used with 'on-failure' and cannot be negative",
        ),
        ("on-failure:x", "maximum retry count must be an integer"),
        ("sometimes", "unknown policy 'sometimes'"),
    ] {
        for detach in [&["-d"][..], &[]] {
            let out = b.run_ctr(&[detach, &["--restart", policy]].concat(), &["true"]);
            assert_eq!(out.status.code(), Some(125), "{policy}");
            assert!(stderr(&out).contains(want), "{policy}: {}", stderr(&out));
        }
    }
    for detach in [&["-d"][..], &[]] {
        let out = b.run_ctr(
            &[detach, &["--rm", "--restart", "always"]].concat(),
            &["true"],
        );
        assert_eq!(out.status.code(), Some(125));
        assert!(
            stderr(&out).contains("conflicting options: --restart and --rm"),
            "{}",
            stderr(&out)
        );
    }
    let rootfs = b.rootfs();
    let out = b.run(&[
        "create",
        "--rm",
        "--restart",
        "on-failure",
        "--rootfs",
        &rootfs,
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    // `no` (also with a zero count) goes with --rm; the policy is recorded as Docker's.
    let out = b.run_ctr(&["--rm", "--restart", "no:0"], &["true"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    b.ok(&["create", "--name", "plain", "--rootfs", &rootfs, "true"]);
    b.ok(&[
        "create",
        "--name",
        "every",
        "--restart",
        "on-failure",
        "--rootfs",
        &rootfs,
        "true",
    ]);
    let policy = |n: &str| b.ok(&["inspect", "-f", "{{json .HostConfig.RestartPolicy}}", n]);
    assert_eq!(policy("plain"), r#"{"MaximumRetryCount":0,"Name":"no"}"#);
    assert_eq!(
        policy("every"),
        r#"{"MaximumRetryCount":0,"Name":"on-failure"}"#
    );
    assert_eq!(restarts(&b, "plain"), 0);
}

#[test]
fn on_failure_gives_up_after_its_retries_and_keeps_the_exit_code() {
    let b = berth();
    b.detached(
        &["--name", "flaky", "--restart", "on-failure:2"],
        &["sh", "-c", "echo attempt; exit 3"],
    );
    assert!(b.eventually(10, || status(&b, "flaky") == "exited"));
    let c = inspect(&b, "flaky");
    assert_eq!(c["RestartCount"], 2, "{c}");
    assert_eq!(c["State"]["ExitCode"], 3);
    assert_eq!(c["State"]["Restarting"], false);
    assert_eq!(c["State"]["Running"], false);
    assert!(c["State"].get("RestartCount").is_none(), "top level only");
    assert_eq!(
        c["HostConfig"]["RestartPolicy"],
        serde_json::json!({"Name": "on-failure", "MaximumRetryCount": 2})
    );
    // Three runs, one log.
    assert_eq!(b.ok(&["logs", "flaky"]), "attempt\nattempt\nattempt");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(restarts(&b, "flaky"), 2, "no restart after the last retry");
    assert_eq!(b.ok(&["wait", "flaky"]), "3");
}

#[test]
fn on_failure_stops_restarting_once_the_command_succeeds() {
    let b = berth();
    let (dir, count) = counter();
    b.detached(
        &[
            "--name",
            "third-time",
            "--restart",
            "on-failure",
            "-v",
            &state_opt(dir.path()),
        ],
        &["sh", "-c", &format!("{count} [ $n -ge 3 ]")],
    );
    assert!(b.eventually(10, || status(&b, "third-time") == "exited"));
    assert_eq!(
        b.ok(&[
            "inspect",
            "-f",
            "{{.RestartCount}} {{.State.ExitCode}}",
            "third-time"
        ]),
        "2 0"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("n")).unwrap(),
        "3\n"
    );
}

#[test]
fn always_restarts_after_a_clean_exit_and_start_rearms_it() {
    let b = berth();
    let (dir, count) = counter();
    // Runs 1, 2 and 4 exit 0 at once; the others stay up.
    let script = format!("{count} case $n in 1|2|4) exit 0;; esac; exec sleep 30");
    b.detached(
        &[
            "--name",
            "keeper",
            "--restart",
            "always",
            "--init",
            "-v",
            &state_opt(dir.path()),
        ],
        &["sh", "-c", &script],
    );
    assert!(b.eventually(10, || restarts(&b, "keeper") == 2
        && status(&b, "keeper") == "running"));
    let first = inspect(&b, "keeper");
    assert_eq!(first["State"]["ExitCode"], 0);
    assert_eq!(first["State"]["Restarting"], false);
    assert_eq!(b.ok(&["exec", "keeper", "cat", "/state/n"]), "3");

    // A stop is final; a start counts from zero and re-arms the policy.
    b.ok(&["stop", "keeper"]);
    assert_eq!(status(&b, "keeper"), "exited");
    b.ok(&["start", "keeper"]);
    assert!(b.eventually(10, || restarts(&b, "keeper") == 1
        && status(&b, "keeper") == "running"));
    assert_eq!(b.ok(&["exec", "keeper", "cat", "/state/n"]), "5");
    b.ok(&["restart", "-t", "1", "keeper"]);
    assert_eq!(
        restarts(&b, "keeper"),
        0,
        "restart resets the count like start"
    );
    b.ok(&["rm", "-f", "keeper"]);
}

#[test]
fn unless_stopped_restarts_until_the_user_stops_it() {
    let b = berth();
    b.detached(
        &["--name", "until", "--restart", "unless-stopped"],
        &["sh", "-c", "sleep 0.2"],
    );
    assert!(b.eventually(10, || restarts(&b, "until") >= 2));
    b.ok(&["stop", "until"]);
    let n = restarts(&b, "until");
    assert_eq!(status(&b, "until"), "exited");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(status(&b, "until"), "exited");
    assert_eq!(restarts(&b, "until"), n);
}

#[test]
fn stop_of_a_running_always_container_is_final() {
    let b = berth();
    b.detached(
        &["--name", "steady", "--restart", "always", "--init"],
        &["sleep", "30"],
    );
    let t = Instant::now();
    b.ok(&["stop", "steady"]);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(
        b.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}",
            "steady"
        ]),
        "exited 143 0"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(status(&b, "steady"), "exited");
    assert_eq!(restarts(&b, "steady"), 0);
    b.assert_no_leaks();
}

#[test]
fn kill_follows_dockers_rules() {
    let b = berth();
    // SIGKILL is final (and returns once the container has stopped).
    b.detached(
        &["--name", "k-kill", "--restart", "always"],
        &["sleep", "30"],
    );
    b.ok(&["kill", "k-kill"]);
    assert_eq!(
        b.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "k-kill"
        ]),
        "exited 137"
    );
    // Without a stop signal of its own, any signal from `kill` is final.
    b.detached(
        &["--name", "k-hup", "--restart", "always", "--init"],
        &["sleep", "30"],
    );
    b.ok(&["kill", "-s", "HUP", "k-hup"]);
    // With one, another signal only counts as a manual stop: `always` restarts,
    // `unless-stopped` does not.
    for (name, policy) in [("k-always", "always"), ("k-unless", "unless-stopped")] {
        b.detached(
            &[
                "--name",
                name,
                "--restart",
                policy,
                "--init",
                "--stop-signal",
                "TERM",
            ],
            &["sleep", "30"],
        );
        b.ok(&["kill", "-s", "HUP", name]);
    }
    assert!(b.eventually(5, || restarts(&b, "k-always") == 1
        && status(&b, "k-always") == "running"));
    for name in ["k-hup", "k-unless"] {
        assert!(b.eventually(5, || status(&b, name) == "exited"), "{name}");
        assert_eq!(
            b.ok(&[
                "inspect",
                "-f",
                "{{.State.ExitCode}} {{.RestartCount}}",
                name
            ]),
            format!("{} 0", 128 + libc::SIGHUP),
            "{name}"
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(status(&b, "k-hup"), "exited");
    assert_eq!(status(&b, "k-unless"), "exited");
    assert_eq!(status(&b, "k-kill"), "exited");
}

#[test]
fn ps_shows_restarting_and_a_stop_during_the_back_off_is_final_and_quick() {
    let b = berth();
    b.detached(
        &["--name", "crashy", "--restart", "always"],
        &["sh", "-c", "exit 1"],
    );
    // After five restarts the back-off is 1.6 s: time enough to look at it.
    assert!(b.eventually(10, || restarts(&b, "crashy") >= 5
        && status(&b, "crashy") == "restarting"));
    let c = inspect(&b, "crashy");
    assert_eq!(c["State"]["Restarting"], true);
    assert_eq!(c["State"]["Running"], true, "Docker counts it as running");
    assert_eq!(c["State"]["Pid"], 0);
    assert_eq!(c["State"]["ExitCode"], 1);
    // Listed without -a, like Docker's.
    let ps = b.ok(&["ps", "--format", "{{.Names}}|{{.Status}}|{{.State}}"]);
    assert!(
        ps.starts_with("crashy|Restarting (1) ") && ps.ends_with(" ago|restarting"),
        "{ps}"
    );
    assert_eq!(
        b.ok(&[
            "ps",
            "--filter",
            "status=restarting",
            "--format",
            "{{.Names}}"
        ]),
        "crashy"
    );
    // Between runs, exec and start say what Docker says.
    let out = b.run(&["exec", "crashy", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("is restarting"), "{}", stderr(&out));
    assert_eq!(b.ok(&["start", "crashy"]), "crashy");
    let n = restarts(&b, "crashy");

    let t = Instant::now();
    b.ok(&["stop", "crashy"]);
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "stop took {:?}",
        t.elapsed()
    );
    let done = inspect(&b, "crashy");
    assert_eq!(done["State"]["Status"], "exited");
    assert_eq!(done["State"]["Running"], false);
    assert_eq!(done["State"]["Restarting"], false);
    assert_eq!(done["State"]["ExitCode"], 1);
    assert_eq!(done["RestartCount"], n);
    // Past the back-off it would have run again: it does not.
    std::thread::sleep(Duration::from_millis(1800));
    assert_eq!(status(&b, "crashy"), "exited");
    assert_eq!(restarts(&b, "crashy"), n);
    assert_eq!(b.ok(&["ps", "-q"]), "");
    b.assert_no_leaks();
}

#[test]
fn wait_returns_at_each_exit_like_docker() {
    let b = berth();
    b.detached(
        &["--name", "waited", "--restart", "always"],
        &["sh", "-c", "sleep 0.3; exit 5"],
    );
    let t = Instant::now();
    assert_eq!(b.ok(&["wait", "waited"]), "5");
    assert!(t.elapsed() < Duration::from_secs(5));
    // The container goes on.
    assert!(b.eventually(5, || restarts(&b, "waited") >= 2));
    assert_eq!(b.ok(&["wait", "waited"]), "5");
    // An attached run returns at the first exit too; the policy carries on without it.
    let out = b.run_ctr(
        &["--name", "attached", "--restart", "always"],
        &["sh", "-c", "echo hi; sleep 0.2; exit 4"],
    );
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(stdout(&out), "hi\n");
    assert!(b.eventually(5, || restarts(&b, "attached") >= 1));
}

fn get(addr: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(body)
}

#[test]
fn a_published_port_answers_again_after_a_restart_on_the_same_host_port() {
    let b = berth();
    let (dir, count) = counter();
    // Run 1 serves for a second and fails; run 2 serves on. The port is read during
    // run 1.
    let script = format!(
        "{count} mkdir -p /w && echo run $n > /w/index.html && \
         if [ $n -ge 2 ]; then exec httpd -f -p 80 -h /w; fi; httpd -p 80 -h /w; sleep 1; exit 2"
    );
    b.detached(
        &[
            "--name",
            "site",
            "--restart",
            "on-failure",
            "-p",
            "127.0.0.1::80",
            "-v",
            &state_opt(dir.path()),
        ],
        &["sh", "-c", &script],
    );
    let port = b.ok(&["port", "site", "80"]);
    assert!(port.starts_with("127.0.0.1:"), "{port}");
    assert!(
        b.eventually(10, || get(&port).is_ok_and(|p| p.contains("run 2"))),
        "run 2 on {port}"
    );
    assert_eq!(restarts(&b, "site"), 1);
    assert_eq!(b.ok(&["port", "site", "80"]), port, "the host port stays");
    b.ok(&["rm", "-f", "site"]);
    assert!(get(&port).is_err(), "the port is closed with the container");
}

#[test]
fn a_health_check_starts_over_and_turns_healthy_after_a_restart() {
    let b = berth();
    let (dir, count) = counter();
    b.detached(
        &[
            "--name",
            "doc",
            "--restart",
            "on-failure",
            "--init",
            "--health-cmd",
            "true",
            "--health-interval",
            "200ms",
            "-v",
            &state_opt(dir.path()),
        ],
        &[
            "sh",
            "-c",
            &format!("{count} [ $n -ge 2 ] && exec sleep 30; sleep 1; exit 1"),
        ],
    );
    let health = |b: &Berth| inspect(b, "doc")["State"]["Health"].clone();
    assert!(b.eventually(5, || health(&b)["Status"] == "healthy"));
    assert!(b.eventually(10, || restarts(&b, "doc") == 1
        && status(&b, "doc") == "running"));
    let started = inspect(&b, "doc")["State"]["StartedAt"]
        .as_str()
        .unwrap()
        .to_string();
    // Healthy again by a probe of the new run.
    assert!(b.eventually(5, || {
        let h = health(&b);
        h["Status"] == "healthy"
            && h["Log"].as_array().unwrap().last().unwrap()["Start"]
                .as_str()
                .unwrap()
                > started.as_str()
    }));
    let ps = b.ok(&["ps", "--format", "{{.Status}}"]);
    assert!(ps.ends_with("(healthy)"), "{ps}");
}

#[test]
fn a_monitor_killed_during_the_back_off_is_reconciled() {
    let b = berth();
    b.detached(
        &["--name", "orphan", "--restart", "always"],
        &["sh", "-c", "exit 6"],
    );
    assert!(b.eventually(10, || restarts(&b, "orphan") >= 4
        && status(&b, "orphan") == "restarting"));
    let monitor = inspect(&b, "orphan")["State"]["MonitorPid"]
        .as_i64()
        .unwrap() as i32;
    assert!(monitor > 0);
    sigkill(monitor);
    assert!(b.eventually(5, || status(&b, "orphan") == "exited"));
    let c = inspect(&b, "orphan");
    assert_eq!(c["State"]["ExitCode"], 6, "the last run's exit stands");
    assert!(
        c["State"]["Error"].as_str().unwrap().contains("monitor"),
        "{c}"
    );
    b.assert_no_leaks();
}

/// SIGKILLs a process with the `kill` command.
fn sigkill(pid: i32) {
    let ok = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}
