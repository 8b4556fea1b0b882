//! The acceptance stacks users bring from Docker Compose (`../shared/fixtures/compose/`):
//! each `check.sh` runs unchanged against this build of berth, in a private state root
//! with the fixture image imported as the fixtures' README says. A stack passes when its
//! script exits 0 (it prints one line per check; the output is in the failure message).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use testsupport::Berth;

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

/// Where the fixtures are: `$BERTH_COMPOSE_FIXTURES`, else `shared/fixtures/compose`
/// beside the repository, else at /work/shared. Missing fixtures fail the test: they are the acceptance tests.
fn fixtures() -> PathBuf {
    if let Some(dir) = std::env::var_os("BERTH_COMPOSE_FIXTURES") {
        return PathBuf::from(dir);
    }
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/compose");
    for dir in [beside, PathBuf::from("/work/shared/fixtures/compose")] {
        if let Ok(dir) = dir.canonicalize() {
            if dir.join("lib.sh").is_file() {
                return dir;
            }
        }
    }
    panic!("the compose acceptance fixtures are neither beside the repository (../shared/fixtures/compose) nor at /work/shared: set BERTH_COMPOSE_FIXTURES")
}

/// Imports the fixture image the stacks use, built by the fixtures' own script.
fn import_fixture_image(b: &Berth) {
    let rootfs = tempfile::tempdir().unwrap();
    let script = fixtures().join("../busybox-rootfs.sh");
    let built = Command::new("sh")
        .arg(&script)
        .arg(rootfs.path())
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    let tar = rootfs.path().with_extension("tar");
    let packed = Command::new("tar")
        .args([
            "-C",
            rootfs.path().to_str().unwrap(),
            "-cf",
            tar.to_str().unwrap(),
            ".",
        ])
        .status()
        .unwrap();
    assert!(packed.success());
    b.ok(&[
        "import",
        tar.to_str().unwrap(),
        "localhost/fixtures/busybox:latest",
    ]);
    let _ = std::fs::remove_file(&tar);
}

fn check(stack: &str) {
    let b = berth();
    import_fixture_image(&b);
    let script = fixtures().join(stack).join("check.sh");
    let mut cmd = b.cmd();
    cmd.env("BERTH", env!("CARGO_BIN_EXE_berth"));
    let out = Command::new("sh")
        .arg(&script)
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(&format!("{stack}: 0 failed")),
        "{stack}/check.sh failed ({}):\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    // The script's own `down -v` must have left nothing of the project behind.
    let left = b.ok(&["ps", "-a", "-q"]);
    assert!(left.trim().is_empty(), "containers left: {left}");
}

#[test]
fn handshake() {
    check("handshake");
}

#[test]
fn bottle() {
    check("bottle");
}

#[test]
fn lifecycle() {
    check("lifecycle");
}

#[test]
fn overrides() {
    check("overrides");
}

#[test]
fn hardened() {
    check("hardened");
}
