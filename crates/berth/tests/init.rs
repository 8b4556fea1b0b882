//! `--init`: berth's minimal init as PID 1 forwards signals and reaps orphans.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use testsupport::{stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

#[test]
fn init_is_pid_1_and_the_workload_is_its_child() {
    let b = berth();
    let out = b.run_ctr(
        &["--rm", "--init"],
        &["sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '"],
    );
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_ne!(lines.next(), Some("1"), "the workload is not PID 1");
    assert!(!lines.next().unwrap_or("").contains("sh -c"), "{text}");
}

#[test]
fn init_forwards_stop_signals() {
    let b = berth();
    // sleep has no TERM handler: as PID 1 it would ignore TERM; under init it dies at once.
    b.detached(&["--name", "i1", "--init"], &["sleep", "60"]);
    let t = std::time::Instant::now();
    b.ok(&["stop", "-t", "10", "i1"]);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.ExitCode}}", "i1"]), "143");
}

#[test]
fn init_reaps_orphans_so_no_zombies_accumulate() {
    let b = berth();
    // Each iteration double-forks: the grandchild is orphaned to PID 1 and exits.
    let script = "for i in $(seq 20); do (sh -c 'sleep 0.01 &' &); done; sleep 1; ps -o stat | grep -c Z || true";
    let out = b.run_ctr(&["--rm", "--init"], &["sh", "-c", script]);
    assert_eq!(stdout(&out).trim(), "0", "no zombies under --init");
    let out = b.run_ctr(&["--rm"], &["sh", "-c", &format!("sh -c \"{script}\"")]);
    let zombies: i32 = stdout(&out).trim().parse().unwrap_or(0);
    assert!(zombies >= 0);
}

#[test]
fn init_holds_no_host_descriptor() {
    let b = berth();
    // --privileged: /proc/1/fd of the non-dumpable init is readable only with
    // CAP_SYS_PTRACE. Its stdio and its own signalfd are all it keeps: no container
    // lock (which would block `stop` and health records), log or monitor socket.
    let out = b.run_ctr(
        &["--rm", "--init", "--privileged"],
        &["sh", "-c", "ls /proc/1/fd | sort -n | tr '\\n' ' '"],
    );
    assert_eq!(stdout(&out), "0 1 2 3 ");
    b.detached(&["--name", "locked", "--init"], &["sleep", "60"]);
    let pid = b.ok(&["inspect", "-f", "{{.State.Pid}}", "locked"]);
    let targets: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert!(
        !targets.iter().any(|t| t.contains("/containers/")),
        "{targets:?}"
    );
}
