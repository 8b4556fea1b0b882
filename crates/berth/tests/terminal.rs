//! `run -t` / `-it`: a real pty inside the container, sized like the user's terminal,
//! with stdin relayed and the exit code returned.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use testsupport::{stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

/// Runs `cmd` under script(1), which gives it a pty as its terminal.
fn in_pty(b: &Berth, cmd: &str, input: &str) -> (i32, String) {
    use std::io::Write;
    let mut child = std::process::Command::new("script")
        .args(["-qec", cmd, "/dev/null"])
        .env("BERTH_ROOT", b.root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        stdout(&out).replace('\r', ""),
    )
}

#[test]
fn run_it_gives_an_interactive_shell_on_a_pty() {
    let b = berth();
    let bin = env!("CARGO_BIN_EXE_berth");
    let rootfs = b.rootfs();
    let (code, out) = in_pty(
        &b,
        &format!("stty cols 123 rows 45; {bin} run --rm -it --rootfs {rootfs} sh"),
        "tty; stty size; echo T=$TERM\nexit 5\n",
    );
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("/dev/pts/0"), "{out}");
    assert!(out.contains("45 123"), "{out}");
    assert!(out.contains("T=xterm"), "{out}");
}

#[test]
fn tty_output_is_logged() {
    let b = berth();
    let bin = env!("CARGO_BIN_EXE_berth");
    let rootfs = b.rootfs();
    let (code, _) = in_pty(
        &b,
        &format!("{bin} run --name tl -t --rootfs {rootfs} echo logged-line"),
        "",
    );
    assert_eq!(code, 0);
    assert!(b.ok(&["logs", "tl"]).contains("logged-line"));
}

#[test]
fn resizing_the_terminal_resizes_the_container_pty() {
    let b = berth();
    let bin = env!("CARGO_BIN_EXE_berth");
    let rootfs = b.rootfs();
    // The outer terminal starts at 10x50; half a second in, it becomes 20x99 while the
    // container is running: the container must see both sizes.
    let cmd = format!(
        "sh -c 'stty cols 50 rows 10; {bin} run --rm -it --rootfs {rootfs} sh -c \"stty size; sleep 1.5; stty size\" </dev/tty & sleep 0.5; stty cols 99 rows 20 </dev/tty; wait'"
    );
    let (_, out) = in_pty(&b, &cmd, "");
    assert!(out.contains("10 50"), "{out}");
    assert!(out.contains("20 99"), "{out}");
}

#[test]
fn without_a_tty_signals_are_proxied_to_the_container() {
    let b = berth();
    let rootfs = b.rootfs();
    let child = b
        .cmd()
        .args([
            "run",
            "--rm",
            "--init",
            "--rootfs",
            &rootfs,
            "sh",
            "-c",
            "trap 'echo got-int; exit 4' INT; while true; do sleep 0.1; done",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let st = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(stdout(&out), "got-int\n");
}
