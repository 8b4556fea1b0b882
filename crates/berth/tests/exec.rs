//! `berth exec`: a second process inside a running container, with the container's
//! namespaces, cgroup, user resolution and environment, and Docker's exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use testsupport::{stderr, stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

#[test]
fn exec_runs_inside_the_container() {
    let b = berth();
    let id = b.detached(
        &["--name", "box", "-e", "FROM_RUN=1", "--hostname", "boxhost"],
        &["sh", "-c", "echo hi > /marker; sleep 60"],
    );
    assert!(b.eventually(5, || b
        .run(&["exec", "box", "test", "-f", "/marker"])
        .status
        .success()));
    assert_eq!(b.ok(&["exec", "box", "hostname"]), "boxhost");
    assert_eq!(
        b.ok(&["exec", "box", "sh", "-c", "echo $FROM_RUN $HOSTNAME"]),
        "1 boxhost"
    );
    assert_eq!(
        b.ok(&["exec", "-e", "X=y", "box", "sh", "-c", "echo $X"]),
        "y"
    );
    assert_eq!(b.ok(&["exec", "-w", "/tmp", "box", "pwd"]), "/tmp");
    assert_eq!(b.ok(&["exec", "-u", "app", "box", "id", "-u"]), "1000");
    // Same PID namespace: the container's PID 1 is visible, host processes are not.
    let ps = b.ok(&["exec", &id[..12], "ps", "-o", "pid,args"]);
    assert!(
        ps.lines()
            .any(|l| l.trim().starts_with("1 ") && l.contains("sleep 60")
                || l.trim().starts_with("1 sh")),
        "{ps}"
    );
    assert!(ps.lines().count() <= 5, "{ps}");
    let host_mnt = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    assert_ne!(
        b.ok(&["exec", "box", "readlink", "/proc/self/ns/mnt"]),
        host_mnt.to_string_lossy()
    );
}

#[test]
fn exec_exit_codes_follow_docker() {
    let b = berth();
    b.detached(&["--name", "codes"], &["sleep", "60"]);
    assert_eq!(
        b.run(&["exec", "codes", "sh", "-c", "exit 9"])
            .status
            .code(),
        Some(9)
    );
    let out = b.run(&["exec", "codes", "nope"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).contains("executable file not found"));
    assert_eq!(
        b.run(&["exec", "codes", "/etc/passwd"]).status.code(),
        Some(126)
    );
    b.ok(&["stop", "-t", "0", "codes"]);
    let out = b.run(&["exec", "codes", "true"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("not running"), "{}", stderr(&out));
}

#[test]
fn exec_interactive_reads_stdin() {
    let b = berth();
    b.detached(&["--name", "cat"], &["sleep", "60"]);
    let mut child = b
        .cmd()
        .args(["exec", "-i", "cat", "sh", "-c", "read line; echo got:$line"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(stdout(&out), "got:hello\n");
}

#[test]
fn exec_joins_the_cgroup_so_limits_apply() {
    let b = berth();
    b.detached(
        &["--name", "lim", "-m", "32m", "--memory-swap", "32m"],
        &["sleep", "60"],
    );
    let out = b.run(&[
        "exec",
        "lim",
        "sh",
        "-c",
        "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done",
    ]);
    assert_eq!(
        out.status.code(),
        Some(137),
        "the exec'd hog is OOM-killed inside the limit"
    );
}

#[test]
fn exec_with_a_tty() {
    let b = berth();
    b.detached(&["--name", "tt"], &["sleep", "60"]);
    let bin = env!("CARGO_BIN_EXE_berth");
    let out = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("stty cols 77 rows 11; {bin} exec -it tt sh -c 'tty; stty size; echo $TERM'"),
            "/dev/null",
        ])
        .env("BERTH_ROOT", b.root())
        .output()
        .unwrap();
    let text = stdout(&out).replace('\r', "");
    assert!(text.contains("/dev/pts/"), "{text}");
    assert!(text.contains("11 77"), "{text}");
    assert!(text.contains("xterm"), "{text}");
}
