//! Health checks as Docker runs them: `--health-*` flags over the image's HEALTHCHECK,
//! probes inside the container on Docker's schedule, `State.Health` in inspect, the
//! health in `ps`, and no probe left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testsupport::oci::{self, LayerCompression};
use testsupport::{stderr, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

/// `State.Health` of a container (Null without a health check).
fn health(b: &Berth, name: &str) -> Value {
    serde_json::from_str(&b.ok(&["inspect", "-f", "{{json .State.Health}}", name])).unwrap()
}

fn status(b: &Berth, name: &str) -> String {
    health(b, name)["Status"].as_str().unwrap_or("").to_string()
}

fn log_len(b: &Berth, name: &str) -> usize {
    health(b, name)["Log"].as_array().map_or(0, Vec::len)
}

/// The command lines of the processes inside the container.
fn processes(b: &Berth, name: &str) -> Vec<String> {
    b.ok(&["exec", name, "ps", "-o", "args"])
        .lines()
        .skip(1)
        .map(|l| l.trim().to_string())
        .collect()
}

/// Loads a busybox image whose config has `healthcheck`; returns its name.
fn image_with(b: &Berth, name: &str, healthcheck: Value) -> String {
    let mut spec = oci::busybox_image(LayerCompression::None);
    spec.config["Healthcheck"] = healthcheck;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("image.tar");
    oci::write_docker_archive(&archive, &spec, &[name]);
    b.ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
    name.to_string()
}

#[test]
fn a_passing_probe_makes_the_container_healthy_in_inspect_and_ps() {
    let b = berth();
    b.detached(
        &[
            "--name",
            "web",
            "--health-cmd",
            "echo ok-from-probe",
            "--health-interval",
            "200ms",
        ],
        &["sleep", "30"],
    );
    assert!(b.eventually(3, || status(&b, "web") == "healthy"));
    assert_eq!(
        b.ok(&["inspect", "--format", "{{.State.Health.Status}}", "web"]),
        "healthy"
    );
    let h = health(&b, "web");
    assert_eq!(h["FailingStreak"], 0);
    let first = &h["Log"][0];
    assert_eq!(first["ExitCode"], 0);
    assert_eq!(first["Output"], "ok-from-probe\n");
    assert!(first["Start"].as_str().unwrap() <= first["End"].as_str().unwrap());
    assert_eq!(
        b.ok(&["inspect", "-f", "{{json .Config.Healthcheck}}", "web"]),
        r#"{"Interval":200000000,"Test":["CMD-SHELL","echo ok-from-probe"]}"#
    );
    let ps = b.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(
        ps.starts_with("web Up ") && ps.ends_with(" (healthy)"),
        "{ps}"
    );

    // Before its first probe a container is starting.
    b.detached(
        &[
            "--name",
            "slow",
            "--health-cmd",
            "true",
            "--health-interval",
            "1h",
        ],
        &["sleep", "30"],
    );
    assert_eq!(status(&b, "slow"), "starting");
    let ps = b.ok(&["ps", "--filter", "name=slow", "--format", "{{.Status}}"]);
    assert!(ps.ends_with(" (health: starting)"), "{ps}");

    b.detached(&["--name", "plain"], &["sleep", "30"]);
    assert_eq!(health(&b, "plain"), Value::Null);
    let ps = b.ok(&["ps", "--filter", "name=plain", "--format", "{{.Status}}"]);
    assert!(ps.starts_with("Up ") && !ps.contains('('), "{ps}");

    let names = |f: &str| b.ok(&["ps", "--filter", f, "--format", "{{.Names}}"]);
    assert_eq!(names("health=healthy"), "web");
    assert_eq!(names("health=starting"), "slow");
    assert_eq!(names("health=none"), "plain");
    assert_eq!(names("health=unhealthy"), "");
    let bad = b.run(&["ps", "--filter", "health=fine"]);
    assert_eq!(bad.status.code(), Some(125));
    assert!(
        stderr(&bad).contains("Unrecognised filter value for health: fine"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn failures_past_the_retries_make_it_unhealthy_and_the_log_keeps_five() {
    let b = berth();
    b.detached(
        &[
            "--name",
            "sick",
            "--health-cmd",
            "echo nope >&2; exit 3",
            "--health-interval",
            "100ms",
            "--health-retries",
            "2",
        ],
        &["sleep", "30"],
    );
    assert!(b.eventually(3, || status(&b, "sick") == "unhealthy"));
    let h = health(&b, "sick");
    assert!(h["FailingStreak"].as_i64().unwrap() >= 2, "{h}");
    assert_eq!(h["Log"][0]["ExitCode"], 3);
    assert_eq!(h["Log"][0]["Output"], "nope\n", "stderr is captured too");
    let ps = b.ok(&["ps", "--format", "{{.Status}}"]);
    assert!(ps.ends_with(" (unhealthy)"), "{ps}");
    assert_eq!(
        b.ok(&[
            "ps",
            "--filter",
            "health=unhealthy",
            "--format",
            "{{.Names}}"
        ]),
        "sick"
    );
    // Only the last five results are kept.
    assert!(
        b.eventually(3, || health(&b, "sick")["FailingStreak"].as_i64().unwrap()
            >= 7)
    );
    assert_eq!(log_len(&b, "sick"), 5);
}

#[test]
fn a_probe_past_its_timeout_is_killed_and_counts_as_a_failure() {
    let b = berth();
    let t = Instant::now();
    b.detached(
        &[
            "--name",
            "late",
            "--health-cmd",
            "if [ -e /tmp/fast ]; then exit 0; fi; echo partial; sleep 5",
            "--health-timeout",
            "300ms",
            "--health-interval",
            "100ms",
            "--health-retries",
            "1",
        ],
        &["sleep", "30"],
    );
    assert!(b.eventually(3, || status(&b, "late") == "unhealthy"));
    assert!(t.elapsed() < Duration::from_secs(3));
    let first = &health(&b, "late")["Log"][0];
    assert_eq!(first["ExitCode"], -1);
    assert_eq!(
        first["Output"],
        "Health check exceeded timeout (300ms): partial\n"
    );
    // At most the probe of the moment is sleeping: the killed ones are gone.
    assert!(b.eventually(3, || log_len(&b, "late") >= 3));
    let sleeping = processes(&b, "late")
        .iter()
        .filter(|p| p.as_str() == "sleep 5")
        .count();
    assert!(sleeping <= 1, "{:?}", processes(&b, "late"));

    b.ok(&["exec", "late", "touch", "/tmp/fast"]);
    assert!(b.eventually(3, || status(&b, "late") == "healthy"));
    assert_eq!(health(&b, "late")["FailingStreak"], 0);
    let left = processes(&b, "late");
    assert!(
        !left.iter().any(|p| p.contains("sleep 5")),
        "a killed probe is still running: {left:?}"
    );
}

#[test]
fn failures_during_the_start_period_do_not_count() {
    let b = berth();
    b.detached(
        &[
            "--name",
            "boot",
            "--health-cmd",
            "false",
            "--health-interval",
            "100ms",
            "--health-start-period",
            "2s",
            "--health-start-interval",
            "100ms",
            "--health-retries",
            "1",
        ],
        &["sleep", "30"],
    );
    assert!(b.eventually(2, || log_len(&b, "boot") >= 2));
    let h = health(&b, "boot");
    assert_eq!(h["Status"], "starting", "{h}");
    assert_eq!(h["FailingStreak"], 0, "{h}");
    assert_eq!(h["Log"][0]["ExitCode"], 1);
    // Once the start period is over, the next failure counts.
    assert!(b.eventually(4, || status(&b, "boot") == "unhealthy"));
    assert_eq!(health(&b, "boot")["FailingStreak"], 1);
}

#[test]
fn a_success_ends_the_start_period_and_the_start_interval_applies_before() {
    let b = berth();
    b.detached(
        &[
            "--name",
            "app",
            "--health-cmd",
            "test -e /tmp/ready",
            "--health-interval",
            "100ms",
            "--health-start-period",
            "30s",
            "--health-start-interval",
            "100ms",
            "--health-retries",
            "1",
        ],
        &["sleep", "30"],
    );
    assert!(b.eventually(2, || log_len(&b, "app") >= 2));
    assert_eq!(status(&b, "app"), "starting");
    b.ok(&["exec", "app", "touch", "/tmp/ready"]);
    assert!(b.eventually(2, || status(&b, "app") == "healthy"));
    // Still inside the start period, but no longer starting: a failure counts.
    b.ok(&["exec", "app", "rm", "/tmp/ready"]);
    assert!(b.eventually(2, || status(&b, "app") == "unhealthy"));

    // During the start period probes run at the start interval, not the interval.
    b.detached(
        &[
            "--name",
            "quick",
            "--health-cmd",
            "true",
            "--health-interval",
            "1h",
            "--health-start-period",
            "30s",
            "--health-start-interval",
            "100ms",
        ],
        &["sleep", "30"],
    );
    assert!(b.eventually(2, || status(&b, "quick") == "healthy"));
    // Healthy: the next probe waits for the interval.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(log_len(&b, "quick"), 1);
}

#[test]
fn the_probe_runs_as_the_container_user_in_its_workdir_and_environment() {
    let b = berth();
    b.detached(
        &[
            "--name",
            "who",
            "-u",
            "1000",
            "-w",
            "/tmp",
            "-e",
            "GREETING=hi",
            "--health-cmd",
            "echo $(id -u) $(pwd) $GREETING",
            "--health-interval",
            "100ms",
        ],
        &["sleep", "30"],
    );
    assert!(b.eventually(3, || status(&b, "who") == "healthy"));
    assert_eq!(health(&b, "who")["Log"][0]["Output"], "1000 /tmp hi\n");
}

#[test]
fn output_is_capped_at_4_kib_like_docker() {
    let b = berth();
    b.detached(
        &[
            "--name",
            "chatty",
            "--health-cmd",
            "yes 0123456789 | head -c 100000",
            "--health-interval",
            "100ms",
        ],
        &["sleep", "30"],
    );
    assert!(b.eventually(3, || status(&b, "chatty") == "healthy"));
    let out = health(&b, "chatty")["Log"][0]["Output"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(out.len(), 4096 + 3);
    assert!(out.starts_with("0123456789\n") && out.ends_with("..."));
}

#[test]
fn stopping_the_container_kills_a_running_probe() {
    let b = berth();
    b.detached(
        &[
            "--name",
            "busy",
            "--health-cmd",
            "sleep 10",
            "--health-interval",
            "100ms",
        ],
        &["sleep", "30"],
    );
    assert!(b.eventually(3, || processes(&b, "busy").iter().any(|p| p == "sleep 10")));
    let t = Instant::now();
    // sleep as PID 1 ignores SIGTERM: SIGKILL after a second.
    b.ok(&["stop", "-t", "1", "busy"]);
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert_eq!(
        b.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Error}}",
            "busy"
        ]),
        "exited",
        "the cgroup was removed: no probe was left in it"
    );
    let h = health(&b, "busy");
    assert_eq!(h["Status"], "unhealthy", "Docker's status once stopped");
    assert_eq!(h["Log"], json!([]), "the interrupted probe is not recorded");
    let ps = b.ok(&["ps", "-a", "--format", "{{.Status}}"]);
    assert!(
        ps.starts_with("Exited (137)") && !ps.contains("healthy"),
        "{ps}"
    );
    b.assert_no_leaks();

    // Started again: starting, with the old results kept.
    b.ok(&["start", "busy"]);
    assert_eq!(status(&b, "busy"), "starting");
}

#[test]
fn flags_override_the_images_healthcheck_field_by_field() {
    let b = berth();
    let img = image_with(
        &b,
        "localhost/fixtures/hc:1",
        json!({"Test": ["CMD", "false"], "Interval": 3_600_000_000_000u64, "Retries": 5}),
    );
    // Only the schedule changes: the image's CMD probe runs.
    b.ok(&[
        "run",
        "-d",
        "--name",
        "img",
        "--health-interval",
        "100ms",
        "--health-retries",
        "1",
        &img,
        "sleep",
        "30",
    ]);
    assert_eq!(
        b.ok(&["inspect", "-f", "{{json .Config.Healthcheck}}", "img"]),
        r#"{"Interval":100000000,"Retries":1,"Test":["CMD","false"]}"#
    );
    assert!(b.eventually(3, || status(&b, "img") == "unhealthy"));
    // Only the command changes: the image's interval (1h) stays.
    b.ok(&[
        "run",
        "-d",
        "--name",
        "cmd",
        "--health-cmd",
        "true",
        &img,
        "sleep",
        "30",
    ]);
    assert_eq!(
        b.ok(&["inspect", "-f", "{{json .Config.Healthcheck}}", "cmd"]),
        r#"{"Interval":3600000000000,"Retries":5,"Test":["CMD-SHELL","true"]}"#
    );
    assert_eq!(status(&b, "cmd"), "starting");

    // --no-healthcheck: Test NONE, no State.Health, "none" for ps.
    b.ok(&[
        "run",
        "-d",
        "--name",
        "off",
        "--no-healthcheck",
        &img,
        "sleep",
        "30",
    ]);
    assert_eq!(
        b.ok(&["inspect", "-f", "{{json .Config.Healthcheck.Test}}", "off"]),
        r#"["NONE"]"#
    );
    let state: Value =
        serde_json::from_str(&b.ok(&["inspect", "-f", "{{json .State}}", "off"])).unwrap();
    assert!(state.get("Health").is_none(), "{state}");
    assert_eq!(
        b.ok(&["ps", "--filter", "health=none", "--format", "{{.Names}}"]),
        "off"
    );
    let out = b.run(&[
        "run",
        "-d",
        "--no-healthcheck",
        "--health-cmd",
        "true",
        &img,
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("--no-healthcheck conflicts with --health-* options"));
}

#[test]
fn a_cmd_probe_that_cannot_start_records_why() {
    let b = berth();
    let img = image_with(
        &b,
        "localhost/fixtures/hc-missing:1",
        json!({"Test": ["CMD", "no-such-probe"], "Interval": 100_000_000u64, "Retries": 1}),
    );
    b.ok(&["run", "-d", "--name", "miss", &img, "sleep", "30"]);
    assert!(b.eventually(3, || status(&b, "miss") == "unhealthy"));
    let first = &health(&b, "miss")["Log"][0];
    assert_eq!(first["ExitCode"], -1);
    let out = first["Output"].as_str().unwrap();
    assert!(out.contains("executable file not found"), "{out}");
}

#[test]
fn bad_health_flags_are_rejected_with_dockers_messages() {
    let b = berth();
    for (flags, msg) in [
        (
            &["--health-interval", "-1s"][..],
            "--health-interval cannot be negative",
        ),
        (
            &["--health-timeout", "-5ms"][..],
            "--health-timeout cannot be negative",
        ),
        (
            &["--health-start-period", "-1m"][..],
            "--health-start-period cannot be negative",
        ),
        (
            &["--health-retries", "-1"][..],
            "--health-retries cannot be negative",
        ),
        (
            &["--health-interval", "500us"][..],
            "Interval in Healthcheck cannot be less than 1ms",
        ),
        (
            &["--health-start-interval", "5"][..],
            "invalid argument \"5\" for \"--health-start-interval\" flag: time: missing unit in duration \"5\"",
        ),
        (
            &["--health-timeout", "soon"][..],
            "invalid argument \"soon\" for \"--health-timeout\" flag: time: invalid duration \"soon\"",
        ),
    ] {
        let out = b.run_ctr(flags, &["true"]);
        assert_eq!(out.status.code(), Some(125), "{flags:?}");
        assert!(stderr(&out).contains(msg), "{flags:?}: {}", stderr(&out));
    }
    assert_eq!(b.ok(&["ps", "-aq"]), "", "bad input creates nothing");
}
