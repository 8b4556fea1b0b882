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
