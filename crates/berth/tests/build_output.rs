//! Where `berth build` puts its image: archives (`--output type=docker|oci`) that podman
//! loads and runs and skopeo reads; `--push` and `berth push SOURCE DEST` to a real
//! registry on loopback, pulled back and run; `--pull` refreshing a base image that
//! changed in the registry; bad outputs refused before anything runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::process::{Command, Output};

use serde_json::Value;
use testsupport::build::{build, build_ok, context, load_busybox, push_busybox};
use testsupport::oci::{self};
use testsupport::registry::Registry;
use testsupport::{stderr, stdout, Berth};

/// A context holding only a Dockerfile.
fn dockerfile(text: &str) -> tempfile::TempDir {
    context(&[("Dockerfile", text)])
}

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

/// A podman with all its state in a temp dir: vfs storage (no mounts to leak), runc
/// and cgroupfs (this host's hybrid cgroups), file events, and ulimits root may set.
struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    fn new() -> Podman {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(
            d.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/graph\"\nrunroot = \"{0}/run\"\n",
                d.display()
            ),
        )
        .unwrap();
        fs::write(
            d.join("containers.conf"),
            format!(
                "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\
                 [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
                 events_logfile_path = \"{}/events.log\"\nruntime = \"runc\"\n",
                d.display()
            ),
        )
        .unwrap();
        Podman { dir }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("podman")
            .args(args)
            .env(
                "CONTAINERS_STORAGE_CONF",
                self.dir.path().join("storage.conf"),
            )
            .env("CONTAINERS_CONF", self.dir.path().join("containers.conf"))
            .output()
            .expect("podman is installed by scripts/test")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "podman {args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "-a", "-f"]);
        let _ = self.run(&["rmi", "-a", "-f"]);
    }
}

#[test]
fn archive_outputs_run_in_podman_and_read_in_skopeo_without_a_local_image() {
    let b = berth();
    load_busybox(&b);
    let ctx = dockerfile(
        "FROM busybox\nRUN echo built-by-berth > /made\nLABEL tier=exported\nCMD [\"cat\", \"/made\"]\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let docker_tar = dir.path().join("app-docker.tar");
    let dest = format!("type=docker,dest={}", docker_tar.display());
    build_ok(&b, ctx.path(), &["-t", "exported:1", "--output", &dest]);
    // Like buildx, an archive output does not keep the image in the local store.
    assert!(!b.ok(&["images", "-a"]).contains("exported"));
    assert_eq!(
        b.ok(&["images", "-a", "-q"]).lines().count(),
        1,
        "only busybox"
    );

    let podman = Podman::new();
    let loaded = podman.ok(&["load", "-i", docker_tar.to_str().unwrap()]);
    assert!(loaded.contains("exported:1"), "{loaded}");
    let ran = podman.ok(&["run", "--rm", "--network", "none", "exported:1"]);
    assert_eq!(ran.trim(), "built-by-berth");

    let oci_tar = dir.path().join("app-oci.tar");
    let dest = format!("type=oci,dest={}", oci_tar.display());
    build_ok(&b, ctx.path(), &["-t", "exported:1", "-o", &dest]);
    let out = oci::skopeo(&[
        "inspect",
        "--config",
        &format!("oci-archive:{}", oci_tar.display()),
    ]);
    assert!(out.status.success(), "skopeo: {}", stderr(&out));
    let config: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(config["config"]["Labels"]["tier"], "exported");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["cat", "/made"]));
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);

    // The OCI archive also comes back into berth and runs.
    b.ok(&["load", "-q", "-i", oci_tar.to_str().unwrap()]);
    assert_eq!(
        b.ok(&["run", "--rm", "--network", "none", "exported:1"])
            .trim(),
        "built-by-berth"
    );
    // Nothing is left beside the archives.
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["app-docker.tar", "app-oci.tar"]);
    b.cleanup();
}

#[test]
fn a_built_image_is_pushed_pulled_back_and_run() {
    let reg = Registry::start();
    let b = berth();
    load_busybox(&b);
    let ctx = dockerfile("FROM busybox\nRUN echo pushed > /p\nCMD [\"cat\", \"/p\"]\n");
    let (id, _) = build_ok(&b, ctx.path(), &["-t", "app:1"]);
    // podman's form: push a local image under another name, without tagging it here.
    let dest = format!("{}/team/app:1", reg.addr());
    b.ok(&["push", "-q", "app:1", &dest]);
    assert!(!b.ok(&["images"]).contains("team/app"));
    // `--push` tags and pushes in one go.
    let direct = format!("{}/team/direct:2", reg.addr());
    let out = build(&b, ctx.path(), &["-t", &direct, "--push"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("pushing"), "{}", stderr(&out));

    for name in ["team/app:1", "team/direct:2"] {
        let out = oci::skopeo(&[
            "inspect",
            "--tls-verify=false",
            "--config",
            &reg.docker_ref(name),
        ]);
        assert!(out.status.success(), "skopeo {name}: {}", stderr(&out));
        let config: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(config["config"]["Cmd"], serde_json::json!(["cat", "/p"]));
    }

    // A fresh state root pulls it and runs it, with the same image id.
    let other = berth();
    other.ok(&["pull", "-q", &dest]);
    let pulled_id = other.ok(&["image", "inspect", "-f", "{{.Id}}", &dest]);
    assert_eq!(pulled_id.trim(), id);
    assert_eq!(
        other
            .ok(&["run", "--rm", "--network", "none", &dest])
            .trim(),
        "pushed"
    );
    // A source that does not exist is named in the error.
    let out = b.run(&["push", "nosuch:9", &dest]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("nosuch:9"), "{}", stderr(&out));
    other.cleanup();
    b.cleanup();
}

#[test]
fn pull_refreshes_a_base_image_that_changed_in_the_registry() {
    let reg = Registry::start();
    let b = berth();
    let base = push_busybox(&reg, "team/base:1");
    b.ok(&["pull", "-q", &base]);
    // A new base is pushed under the same tag; the local one stays the old one.
    let v2 = dockerfile(&format!("FROM {base}\nRUN echo v2 > /version\n"));
    build_ok(&b, v2.path(), &["-t", "base-v2"]);
    b.ok(&["push", "-q", "base-v2", &base]);

    let app = dockerfile(&format!(
        "FROM {base}\nCMD [\"sh\", \"-c\", \"cat /version 2>/dev/null || echo v1\"]\n"
    ));
    build_ok(&b, app.path(), &["-t", "app:old"]);
    assert_eq!(
        b.ok(&["run", "--rm", "--network", "none", "app:old"])
            .trim(),
        "v1"
    );
    build_ok(&b, app.path(), &["-t", "app:new", "--pull"]);
    assert_eq!(
        b.ok(&["run", "--rm", "--network", "none", "app:new"])
            .trim(),
        "v2"
    );

    // --pull fails when the registry cannot be reached, even though the image is here.
    load_busybox(&b);
    b.ok(&["tag", "busybox", "127.0.0.1:1/team/offline:1"]);
    let offline = dockerfile("FROM 127.0.0.1:1/team/offline:1\nRUN true\n");
    build_ok(&b, offline.path(), &["-t", "offline-ok"]);
    let out = build(&b, offline.path(), &["--pull", "-t", "offline-pull"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("Dockerfile:1") && err.contains("--pull"),
        "{err}"
    );
    assert!(!b.ok(&["images"]).contains("offline-pull"));
    b.cleanup();
}

#[test]
fn bad_outputs_are_refused_before_any_step_runs() {
    let b = berth();
    load_busybox(&b);
    let ctx = dockerfile("FROM busybox\nRUN echo ran > /r\n");
    for (args, says) in [
        (&["-o", "type=local,dest=out"][..], "type=oci"),
        (&["-o", "outdir"][..], "type=oci"),
        (&["-o", "type=oci"][..], "dest=FILE"),
        (
            &["-o", "type=oci,dest=f.tar,compression=zstd"][..],
            "compression",
        ),
        (&["-o", "type=oci,dest=f.tar", "--push"][..], "--push"),
        (&["-t", "Bad:Name", "-o", "type=image"][..], "Bad:Name"),
    ] {
        let out = build(&b, ctx.path(), args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = stderr(&out);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("RUN echo"), "{args:?} ran a step: {err}");
    }
    // An archive that cannot be written fails after the build, and keeps nothing.
    let out = build(
        &b,
        ctx.path(),
        &[
            "-t",
            "lost:1",
            "-o",
            "type=docker,dest=/nonexistent-berth-dir/x.tar",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("/nonexistent-berth-dir/x.tar"),
        "{}",
        stderr(&out)
    );
    assert!(!b.ok(&["images", "-a"]).contains("lost"));
    b.cleanup();
}

#[test]
fn iidfile_platform_and_load_read_as_docker_reads_them() {
    let b = berth();
    load_busybox(&b);
    let ctx = dockerfile("FROM busybox\nRUN echo x > /x\n");
    let dir = tempfile::tempdir().unwrap();
    let iid = dir.path().join("iid");
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let host = format!("linux/{arch}");
    let (id, _) = build_ok(
        &b,
        ctx.path(),
        &[
            "--iidfile",
            iid.to_str().unwrap(),
            "--platform",
            &host,
            "--load",
            "-t",
            "iid:1",
        ],
    );
    assert_eq!(fs::read_to_string(&iid).unwrap(), id);
    assert!(id.starts_with("sha256:"));
    let other = if arch == "s390x" {
        "linux/amd64"
    } else {
        "linux/s390x"
    };
    let out = build(&b, ctx.path(), &["--platform", other]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("only for this host's platform"),
        "{}",
        stderr(&out)
    );
    let out = build(&b, ctx.path(), &["--load", "-o", "type=oci,dest=x.tar"]);
    assert_eq!(out.status.code(), Some(125));
    b.cleanup();
}

#[test]
fn history_lists_the_build_steps_newest_first_with_layer_sizes() {
    let b = berth();
    load_busybox(&b);
    let ctx = dockerfile(
        "FROM busybox\nENV A=b\nRUN head -c 5000 /dev/zero > /zeros\nCMD [\"cat\", \"/x\"]\n",
    );
    let (id, _) = build_ok(&b, ctx.path(), &["-t", "hist:1"]);
    let rows = b.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.ID}}|{{.CreatedBy}}|{{.Size}}",
        "hist:1",
    ]);
    let rows: Vec<&str> = rows.lines().collect();
    assert_eq!(rows[0], format!("{id}|CMD [\"cat\" \"/x\"]|0B"));
    // The RUN's layer holds the 5000 bytes (its size is the layer's tar, a few
    // headers more).
    let (step, size) = rows[1].rsplit_once('|').unwrap();
    assert_eq!(
        step,
        "<missing>|RUN /bin/sh -c head -c 5000 /dev/zero > /zeros # buildkit"
    );
    let kb: f64 = size.strip_suffix("kB").unwrap().parse().unwrap();
    assert!((5.0..10.0).contains(&kb), "{size}");
    assert_eq!(rows[2], "<missing>|ENV A=b|0B");
    // The base image's own entries follow.
    assert!(rows.len() > 3, "{rows:?}");
    let table = b.ok(&["image", "history", "hist:1"]);
    assert!(table.starts_with("IMAGE "), "{table}");
    assert!(
        table.contains("RUN /bin/sh -c head -c 5000 /dev/zero > /zer…"),
        "{table}"
    );
    assert_eq!(
        b.ok(&["history", "-q", "hist:1"]).lines().count(),
        rows.len()
    );
    let out = b.run(&["history", "nosuch:1"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no such image"), "{}", stderr(&out));
    b.cleanup();
}
