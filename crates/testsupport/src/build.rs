//! What `berth build` tests share: the busybox fixture loaded as `busybox`, a context
//! directory from (path, content) pairs, running a build (and asserting it worked), and
//! running a command in a built image. Builds get `--network none` unless the test
//! gives a `--network` of its own, so a RUN step in a test never reaches off the host.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::process::Output;

use tempfile::TempDir;

use crate::oci::{self, LayerCompression};
use crate::{stderr, stdout, Berth};

/// Loads the busybox fixture image as `busybox:latest`.
pub fn load_busybox(b: &Berth) {
    let spec = oci::busybox_image(LayerCompression::None);
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("image.tar");
    oci::write_docker_archive(&archive, &spec, &["busybox"]);
    b.ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
}

/// Pushes the busybox fixture (gzip layers) to `reg` as `repo` (`team/base:1`);
/// returns the image's full name there.
pub fn push_busybox(reg: &crate::registry::Registry, repo: &str) -> String {
    let layout = tempfile::tempdir().unwrap();
    oci::write_oci_layout(
        layout.path(),
        &[(oci::busybox_image(LayerCompression::Gzip), "latest")],
    );
    oci::skopeo_copy(
        &format!("oci:{}:latest", layout.path().display()),
        &reg.docker_ref(repo),
    );
    format!("{}/{repo}", reg.addr())
}

/// A build context holding `files` (path below the context, content).
pub fn context(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let p = dir.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
    dir
}

/// `berth build ARGS CTX`, with `--network none` unless `args` choose a network.
pub fn build(b: &Berth, ctx: &Path, args: &[&str]) -> Output {
    let mut a = vec!["build"];
    if !args
        .iter()
        .any(|x| *x == "--network" || x.starts_with("--network="))
    {
        a.extend(["--network", "none"]);
    }
    a.extend_from_slice(args);
    a.push(ctx.to_str().unwrap());
    b.run(&a)
}

/// [`build`], which must succeed: the image id (stdout) and the progress (stderr).
pub fn build_ok(b: &Berth, ctx: &Path, args: &[&str]) -> (String, String) {
    let out = build(b, ctx, args);
    assert!(
        out.status.success(),
        "build failed\nstdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    (stdout(&out).trim().to_string(), stderr(&out))
}

/// `sh -c SCRIPT` in a throw-away container of `image`, without a network.
pub fn sh(b: &Berth, image: &str, script: &str) -> String {
    b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        image,
        "sh",
        "-c",
        script,
    ])
}
