#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Crash safety of the image store: `kill -9` of pull, load, import, rmi and image
//! prune at random moments. Afterwards the store passes its integrity check, an image is
//! either wholly there (it runs) or not listed at all, and the same command re-run
//! succeeds.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime};

use testsupport::oci::{self, LayerCompression, LayerSpec, TarEntry};
use testsupport::registry::Registry;
use testsupport::{stderr, stdout, Berth};

const TRIALS: usize = 10;

struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        eprintln!("crash test seed {seed}");
        Rng(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

/// Runs `args`, kills it with SIGKILL after `delay`; returns whether it was killed
/// (false: it had already finished, successfully).
fn kill_after(b: &Berth, args: &[&str], delay: Duration) -> bool {
    let mut child: Child = b
        .cmd()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    if out.status.signal() == Some(libc::SIGKILL) {
        return true;
    }
    assert!(
        out.status.success(),
        "{args:?} failed on its own: {}",
        stderr(&out)
    );
    false
}

fn timed(b: &Berth, args: &[&str]) -> Duration {
    let t = Instant::now();
    b.ok(args);
    t.elapsed()
}

/// The store is consistent, and every listed image really runs.
fn consistent(b: &Berth) {
    let out = b.run(&["storage", "check"]);
    assert!(
        out.status.success(),
        "storage check: {}{}",
        stdout(&out),
        stderr(&out)
    );
    for id in b.ok(&["images", "-q"]).lines() {
        b.ok(&["run", "--rm", id, "true"]);
    }
}

fn big_image() -> oci::ImageSpec {
    // Several layers with many files, so that a kill lands mid-unpack often.
    let mut spec = oci::busybox_image(LayerCompression::Gzip);
    for l in 0..3 {
        let entries: Vec<TarEntry> = (0..400)
            .map(|i| {
                TarEntry::file(
                    &format!("l{l}/f{i}"),
                    format!("layer {l} file {i}\n").repeat(50),
                )
            })
            .collect();
        spec.layers.push(LayerSpec::Entries(entries).to_tar());
    }
    spec
}

#[test]
fn kill_9_pull_load_import_rmi_prune() {
    let mut rng = Rng::new();
    let reg = Registry::start();
    let spec = big_image();
    let dir = tempfile::tempdir().unwrap();
    oci::write_oci_layout(dir.path(), &[(spec.clone(), "latest")]);
    oci::skopeo_copy(
        &format!("oci:{}:latest", dir.path().display()),
        &reg.docker_ref("crash/img:1"),
    );
    let name = format!("{}/crash/img:1", reg.addr());
    let archive = dir.path().join("img.tar");
    oci::write_docker_archive(&archive, &spec, &["crash/loaded:1"]);
    let rootfs_tar = dir.path().join("rootfs.tar");
    std::fs::write(&rootfs_tar, &spec.layers[0]).unwrap();
    let archive = archive.to_str().unwrap().to_string();
    let rootfs_tar = rootfs_tar.to_str().unwrap().to_string();

    let b = berth();
    let pull = ["pull", "-q", name.as_str()];
    let load = ["load", "-q", "-i", archive.as_str()];
    let import = ["import", rootfs_tar.as_str(), "crash/imported:1"];
    // How long each takes when left alone sets the range of kill moments.
    let t_pull = timed(&b, &pull);
    let t_load = timed(&b, &load);
    let t_import = timed(&b, &import);
    b.ok(&["rmi", &name, "crash/loaded:1", "crash/imported:1"]);
    b.ok(&["image", "prune", "-a", "-f"]);

    for (args, t) in [
        (&pull[..], t_pull),
        (&load[..], t_load),
        (&import[..], t_import),
    ] {
        for _ in 0..TRIALS {
            let b = berth();
            let delay = Duration::from_micros(rng.below(t.as_micros() as u64 * 5 / 4));
            kill_after(&b, args, delay);
            consistent(&b);
            b.ok(args);
            consistent(&b);
        }
    }

    // rmi and prune: killed while deleting.
    let b = berth();
    b.ok(&load);
    let t_rmi = timed(&b, &["rmi", "crash/loaded:1"]);
    b.ok(&load);
    let t_prune = timed(&b, &["image", "prune", "-a", "-f"]);
    for _ in 0..TRIALS {
        let b = berth();
        b.ok(&load);
        let delay = Duration::from_micros(rng.below(t_rmi.as_micros() as u64 * 5 / 4));
        if kill_after(&b, &["rmi", "crash/loaded:1"], delay) {
            consistent(&b);
            // Re-running finishes the removal; only a kill that landed after the last
            // change (while printing) leaves nothing to do, and then the image is gone.
            let out = b.run(&["rmi", "crash/loaded:1"]);
            if !out.status.success() {
                assert!(stderr(&out).contains("no such image"), "{}", stderr(&out));
                assert_eq!(b.ok(&["images", "-q"]), "");
            }
        }
        consistent(&b);
        assert_eq!(b.ok(&["images", "-q"]), "");

        b.ok(&load);
        let delay = Duration::from_micros(rng.below(t_prune.as_micros() as u64 * 5 / 4));
        kill_after(&b, &["image", "prune", "-a", "-f"], delay);
        consistent(&b);
        b.ok(&["image", "prune", "-a", "-f"]);
        consistent(&b);
        assert_eq!(b.ok(&["images", "-q"]), "");
    }
}
