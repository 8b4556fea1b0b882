//! Container lifecycle as a Docker user drives it: run, ps, logs, stop, start,
//! restart, kill, wait, inspect, rm, with Docker's exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use testsupport::{stderr, stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

#[test]
fn run_prints_output_and_returns_the_exit_code() {
    let b = berth();
    let out = b.run_ctr(&["--rm"], &["echo", "hello"]);
    assert_eq!(stdout(&out), "hello\n");
    assert_eq!(out.status.code(), Some(0));
    let out = b.run_ctr(&["--rm"], &["sh", "-c", "echo to-err >&2; exit 42"]);
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(stderr(&out), "to-err\n", "stderr stays stderr");
    assert_eq!(b.ok(&["ps", "-aq"]), "", "--rm leaves no record");
}

#[test]
fn a_signal_death_is_128_plus_the_signal() {
    let b = berth();
    // With --init the workload is not PID 1, so the kernel delivers the signal.
    let out = b.run_ctr(&["--rm", "--init"], &["sh", "-c", "kill -USR1 $$"]);
    assert_eq!(out.status.code(), Some(128 + libc::SIGUSR1));
}

#[test]
fn command_not_found_is_127_and_not_executable_is_126() {
    let b = berth();
    let out = b.run_ctr(&["--rm"], &["no-such-command"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        stderr(&out).contains("executable file not found"),
        "{}",
        stderr(&out)
    );
    let out = b.run_ctr(&["--rm"], &["/etc/passwd"]);
    assert_eq!(out.status.code(), Some(126), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("permission denied"),
        "{}",
        stderr(&out)
    );
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

#[test]
fn a_failed_start_without_rm_leaves_a_created_container_like_docker() {
    let b = berth();
    let out = b.run_ctr(&["--name", "broken"], &["nope"]);
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        b.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "broken"
        ]),
        "created 127"
    );
    b.ok(&["rm", "broken"]);
}

#[test]
fn rootfs_is_never_modified() {
    let b = berth();
    let out = b.run_ctr(
        &["--rm"],
        &[
            "sh",
            "-c",
            "echo changed > /etc/passwd; rm /bin/ls; touch /new-file; cat /etc/passwd",
        ],
    );
    assert_eq!(stdout(&out), "changed\n");
    let rootfs = std::path::Path::new(&b.rootfs()).to_path_buf();
    assert!(std::fs::read_to_string(rootfs.join("etc/passwd"))
        .unwrap()
        .starts_with("root:"));
    assert!(rootfs.join("bin/ls").exists());
    assert!(!rootfs.join("new-file").exists());
}

#[test]
fn detached_containers_show_in_ps_and_log_after_the_cli_exits() {
    let b = berth();
    let id = b.detached(
        &["--name", "web"],
        &["sh", "-c", "echo started; echo oops >&2; sleep 60"],
    );
    assert_eq!(id.len(), 64);
    assert_eq!(b.ok(&["ps", "--format", "{{.Names}}"]), "web");
    assert_eq!(b.ok(&["ps", "-q"]), &id[..12]);
    assert!(b.eventually(5, || b.ok(&["logs", "web"]) == "started"));
    let logs = b.run(&["logs", "web"]);
    assert_eq!(stderr(&logs), "oops\n");
    let ts = b.ok(&["logs", "-t", "--tail", "2", "web"]);
    assert!(ts.starts_with("20") && ts.contains("Z started"), "{ts}");
    assert_eq!(
        b.ok(&["inspect", "--format", "{{.State.Status}}", "web"]),
        "running"
    );
    let status = b.ok(&["ps", "--format", "{{.Status}}"]);
    assert!(status.starts_with("Up "), "{status}");

    // stop: sh as PID 1 ignores SIGTERM, so SIGKILL comes after the timeout.
    let t = std::time::Instant::now();
    assert_eq!(b.ok(&["stop", "-t", "1", "web"]), "web");
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(
        b.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "web"
        ]),
        "exited 137"
    );
    assert_eq!(b.ok(&["ps", "-q"]), "");
    assert!(b
        .ok(&["ps", "-a", "--format", "{{.Status}}"])
        .starts_with("Exited (137)"));
    assert_eq!(
        b.ok(&["logs", "web"]),
        "started",
        "logs survive the container"
    );
}

#[test]
fn stop_signal_and_start_again() {
    let b = berth();
    b.detached(
        &["--name", "svc", "--stop-signal", "USR1"],
        &[
            "sh",
            "-c",
            "trap 'exit 7' USR1; while true; do sleep 0.1; done",
        ],
    );
    b.ok(&["stop", "svc"]);
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.ExitCode}}", "svc"]), "7");
    assert_eq!(b.ok(&["start", "svc"]), "svc");
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.State.Running}}", "svc"]),
        "true"
    );
    let before = b.ok(&["inspect", "-f", "{{.State.Pid}}", "svc"]);
    b.ok(&["restart", "-t", "5", "svc"]);
    let after = b.ok(&["inspect", "-f", "{{.State.Pid}}", "svc"]);
    assert_ne!(before, after, "restart runs a new process");
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.State.Running}}", "svc"]),
        "true"
    );
}

#[test]
fn files_persist_across_restarts_in_the_upper_layer() {
    let b = berth();
    b.detached(
        &["--name", "keep"],
        &["sh", "-c", "echo $$ >> /state; sleep 60"],
    );
    b.ok(&["restart", "-t", "0", "keep"]);
    assert!(b.eventually(5, || b
        .ok(&["exec", "keep", "wc", "-l", "/state"])
        .starts_with('2')));
}

#[test]
fn wait_reports_the_code_of_a_container_its_own_rm_removed() {
    let b = berth();
    b.detached(
        &["--name", "gone", "--rm"],
        &[
            "sh",
            "-c",
            "trap 'exit 7' TERM; while true; do sleep 0.1; done",
        ],
    );
    let waiter = b
        .cmd()
        .args(["wait", "gone"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    b.ok(&["kill", "-s", "TERM", "gone"]);
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "7");
    assert!(out.status.success());
    // Afterwards the container is gone, as in Docker.
    assert!(b.eventually(5, || b.ok(&["ps", "-aq"]).is_empty()));
    assert!(!b.run(&["wait", "gone"]).status.success());
    b.assert_no_leaks();
}

#[test]
fn kill_sends_the_signal_and_wait_reports_the_code() {
    let b = berth();
    b.detached(
        &["--name", "kk"],
        &[
            "sh",
            "-c",
            "trap 'exit 3' TERM; while true; do sleep 0.1; done",
        ],
    );
    let waiter = b
        .cmd()
        .args(["wait", "kk"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    b.ok(&["kill", "-s", "TERM", "kk"]);
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3");
    let out = b.run(&["kill", "kk"]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "killing a stopped container fails"
    );
    assert!(stderr(&out).contains("not running"));
}

#[test]
fn rm_refuses_a_running_container_without_force() {
    let b = berth();
    b.detached(&["--name", "busy"], &["sleep", "60"]);
    let out = b.run(&["rm", "busy"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("container is running"),
        "{}",
        stderr(&out)
    );
    assert_eq!(b.ok(&["rm", "-f", "busy"]), "busy");
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    b.assert_no_leaks();
}

#[test]
fn start_of_a_running_container_does_nothing_as_in_docker() {
    let b = berth();
    b.detached(&["--name", "up"], &["sleep", "60"]);
    let pid = b.ok(&["inspect", "-f", "{{.State.Pid}}", "up"]);
    assert_eq!(b.ok(&["start", "up"]), "up");
    // The same process still runs: nothing was restarted.
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.Pid}}", "up"]), pid);
    // Attaching to it is still refused: there is no new run to attach to.
    let out = b.run(&["start", "-a", "up"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("already running"));
    assert_eq!(b.ok(&["rm", "-f", "up"]), "up");
    b.assert_no_leaks();
}

#[test]
fn duplicate_names_are_refused_and_nothing_is_left() {
    let b = berth();
    b.detached(&["--name", "dup"], &["sleep", "60"]);
    let out = b.run_ctr(&["--name", "dup"], &["true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("already in use"), "{}", stderr(&out));
    assert_eq!(b.ok(&["ps", "-aq"]).lines().count(), 1);
}

#[test]
fn bad_input_is_rejected_with_125_and_leaves_nothing() {
    let b = berth();
    let cases: &[(&[&str], &str)] = &[
        (&["--memory", "12XB"], "invalid size"),
        (&["-u", "nosuchuser"], "unable to find user nosuchuser"),
        (&["--name=-bad"], "invalid container name"),
        (&["-v", "/no/such/host/dir:/x"], "does not exist"),
        (&["--ulimit", "nofile=1:99999999"], "CAP_SYS_RESOURCE"),
        (&["--stop-signal", "NOPE"], "invalid signal"),
        (&["--network", "bogus"], "not found"),
        (&["--cpus", "abc"], "--cpus"),
    ];
    for (opts, msg) in cases {
        let out = b.run_ctr(opts, &["true"]);
        assert_eq!(out.status.code(), Some(125), "{opts:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(msg), "{opts:?}: {}", stderr(&out));
    }
    let out = b.run(&["run", "--rootfs", "/no/such/rootfs", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("/no/such/rootfs"));
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    let names = std::fs::read_dir(b.root().join("names")).unwrap().count();
    assert_eq!(names, 0, "no name stays reserved");
    assert_eq!(
        std::fs::read_dir(b.root().join("volumes")).unwrap().count(),
        0
    );
}

#[test]
fn ps_formats_json_and_filters() {
    let b = berth();
    b.detached(&["--name", "a1", "--label", "team=x"], &["sleep", "60"]);
    b.run_ctr(&["--name", "b1"], &["true"]);
    let json = b.ok(&["ps", "-a", "--format", "json"]);
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .any(|r| r["Names"] == "a1" && r["State"] == "running" && r["Labels"] == "team=x"));
    assert_eq!(
        b.ok(&[
            "ps",
            "-a",
            "--filter",
            "status=exited",
            "--format",
            "{{.Names}}"
        ]),
        "b1"
    );
    assert_eq!(
        b.ok(&["ps", "--filter", "label=team=x", "--format", "{{.Names}}"]),
        "a1"
    );
    let table = b.ok(&["ps", "-a"]);
    let header = table.lines().next().unwrap();
    for col in [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ] {
        assert!(header.contains(col), "{header}");
    }
}

#[test]
fn inspect_is_a_docker_shaped_json_array() {
    let b = berth();
    b.run_ctr(
        &["--name", "i1", "-e", "A=1", "-w", "/tmp", "--label", "k=v"],
        &["true"],
    );
    let v: serde_json::Value = serde_json::from_str(&b.ok(&["inspect", "i1"])).unwrap();
    let c = &v[0];
    assert_eq!(c["Name"], "/i1");
    assert_eq!(c["State"]["Status"], "exited");
    assert_eq!(c["State"]["ExitCode"], 0);
    assert_eq!(c["Config"]["WorkingDir"], "/tmp");
    assert_eq!(c["Config"]["Labels"]["k"], "v");
    assert!(c["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "A=1"));
    assert_eq!(
        b.ok(&["inspect", "-f", "{{json .Config.Cmd}}", "i1"]),
        "[\"true\"]"
    );
    let out = b.run(&["inspect", "nothing-here"]);
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn fifty_concurrent_runs_leave_consistent_state() {
    let b = berth();
    let rootfs = b.rootfs();
    let children: Vec<_> = (0..50)
        .map(|i| {
            b.cmd()
                .args([
                    "run",
                    "--rm",
                    "--name",
                    &format!("c{i}"),
                    "--rootfs",
                    &rootfs,
                    "sh",
                    "-c",
                    &format!("echo {i}"),
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "run {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), i.to_string());
    }
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    assert_eq!(
        std::fs::read_dir(b.root().join("names")).unwrap().count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(b.root().join("containers"))
            .unwrap()
            .count(),
        0
    );
    b.assert_no_leaks();
}

#[test]
fn a_killed_monitor_is_cleaned_up_by_the_next_command() {
    let b = berth();
    let id = b.detached(&["--name", "orphan"], &["sleep", "60"]);
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(b.root().join("containers").join(&id).join("state.json")).unwrap(),
    )
    .unwrap();
    let monitor = state["MonitorPid"].as_i64().unwrap() as i32;
    let workload = state["Pid"].as_i64().unwrap() as i32;
    unsafe_kill(monitor);
    assert!(
        b.eventually(5, || !alive(workload)),
        "the workload dies with its monitor"
    );
    assert_eq!(
        b.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "orphan"
        ]),
        "exited 137"
    );
    b.ok(&["rm", "orphan"]);
    b.assert_no_leaks();
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| !s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
}

fn unsafe_kill(pid: i32) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn logs_follow_streams_until_the_container_stops() {
    let b = berth();
    b.detached(
        &["--name", "fol"],
        &[
            "sh",
            "-c",
            "for i in 1 2 3; do echo line$i; sleep 0.3; done",
        ],
    );
    let out = b.run(&["logs", "-f", "fol"]);
    assert_eq!(stdout(&out), "line1\nline2\nline3\n");
}

#[test]
fn env_files_entrypoint_and_domainname() {
    let b = berth();
    let dir = tempfile::tempdir().unwrap();
    let envf = dir.path().join("env");
    std::fs::write(&envf, "# comment\nFROM_FILE=yes\nOVERRIDE=file\n").unwrap();
    let out = b.run_ctr(
        &[
            "--rm",
            "--env-file",
            envf.to_str().unwrap(),
            "-e",
            "OVERRIDE=flag",
            "--entrypoint",
            "/bin/echo",
            "--domainname",
            "example.test",
        ],
        &["a", "b"],
    );
    assert_eq!(stdout(&out), "a b\n");
    let out = b.run_ctr(
        &[
            "--rm",
            "--env-file",
            envf.to_str().unwrap(),
            "-e",
            "OVERRIDE=flag",
            "--domainname",
            "example.test",
        ],
        &[
            "sh",
            "-c",
            "echo $FROM_FILE $OVERRIDE; cat /proc/sys/kernel/domainname",
        ],
    );
    assert_eq!(stdout(&out), "yes flag\nexample.test\n");
    let out = b.run_ctr(&["--rm", "--env-file", "/no/such/file"], &["true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("/no/such/file"));
}

#[test]
fn the_leak_guard_sees_a_running_container_and_its_removal() {
    let b = berth();
    b.detached(&["--name", "seen"], &["sleep", "60"]);
    let leaks = b.leaks();
    assert!(leaks.iter().any(|l| l.starts_with("process")), "{leaks:#?}");
    assert!(leaks.iter().any(|l| l.starts_with("cgroup")), "{leaks:#?}");
    b.ok(&["rm", "-f", "seen"]);
    b.assert_no_leaks();
}

#[test]
fn the_containers_stop_timeout_is_the_default_for_stop() {
    let b = berth();
    b.detached(
        &["--name", "st", "--stop-timeout", "1"],
        &["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"],
    );
    let t = std::time::Instant::now();
    b.ok(&["stop", "st"]);
    let took = t.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(900),
        "waited for the timeout: {took:?}"
    );
    assert!(
        took < std::time::Duration::from_secs(5),
        "did not wait Docker's 10 s default: {took:?}"
    );
    assert_eq!(
        b.ok(&[
            "inspect",
            "-f",
            "{{.State.ExitCode}} {{.Config.StopTimeout}}",
            "st"
        ]),
        "137 1"
    );
}

#[test]
fn unknown_flags_exit_125_like_docker() {
    let b = berth();
    let out = b.run(&["run", "--no-such-flag", "x"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("--no-such-flag"));
    assert_eq!(b.run(&["ps", "--bogus"]).status.code(), Some(125));
    assert_eq!(b.run(&["--help"]).status.code(), Some(0));
}
