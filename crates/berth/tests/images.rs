#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Images end to end: a real registry on loopback, skopeo on the other side, archives in
//! both directions, and containers run from what was pulled, loaded or imported.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::process::Stdio;

use serde_json::json;
use testsupport::oci::{self, ImageSpec, LayerCompression, LayerSpec, TarEntry};
use testsupport::registry::Registry;
use testsupport::{stderr, stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

/// Puts `spec` into the registry as `name` with skopeo; returns the manifest digest.
fn seed(reg: &Registry, name: &str, spec: &ImageSpec) -> String {
    let dir = tempfile::tempdir().unwrap();
    let d = oci::write_oci_layout(dir.path(), &[(spec.clone(), "latest")]);
    oci::skopeo_copy(
        &format!("oci:{}:latest", dir.path().display()),
        &reg.docker_ref(name),
    );
    d[0].clone()
}

fn with_layer(spec: &ImageSpec, entries: Vec<TarEntry>) -> ImageSpec {
    let mut s = spec.clone();
    s.layers.push(LayerSpec::Entries(entries).to_tar());
    s
}

fn check_store(b: &Berth) {
    let out = b.run(&["storage", "check"]);
    assert!(
        out.status.success(),
        "storage check failed:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn pull_runs_with_the_image_config_and_push_is_read_by_skopeo() {
    let reg = Registry::start();
    let b = berth();
    let mut spec = oci::busybox_image(LayerCompression::Gzip);
    spec.config = json!({
        "Entrypoint": ["/bin/sh", "-c"],
        "Cmd": ["echo user=$(id -u) cwd=$(pwd) greeting=$GREETING"],
        "Env": ["PATH=/usr/bin:/bin", "GREETING=hello"],
        "WorkingDir": "/www",
        "User": "1000",
        "ExposedPorts": {"80/tcp": {}},
        "StopSignal": "SIGUSR1",
        "Healthcheck": {"Test": ["CMD", "true"], "Interval": 1000000000u64},
        "Labels": {"org.example": "yes"},
    });
    let manifest = seed(&reg, "team/app:1", &spec);
    let name = format!("{}/team/app:1", reg.addr());

    let out = b.ok(&["pull", &name]);
    assert!(out.contains("Pull complete"), "{out}");
    assert!(out.contains(&format!("Digest: {manifest}")), "{out}");
    assert!(out.ends_with(&name), "{out}");
    // A second pull finds everything in place.
    let again = b.ok(&["pull", &name]);
    assert!(again.contains("Image is up to date"), "{again}");

    let run = b.ok(&["run", "--rm", &name]);
    assert_eq!(run, "user=1000 cwd=/www greeting=hello");
    // A command on the line replaces Cmd, not the entrypoint; -e adds to the image env.
    let run = b.ok(&["run", "--rm", "-e", "GREETING=hi", &name, "echo $GREETING"]);
    assert_eq!(run, "hi");
    let id = b.ok(&["create", "--name", "cfg", &name]);
    let inspect = b.ok(&[
        "inspect",
        "--format",
        "{{.Config.StopSignal}} {{json .Config.ExposedPorts}} {{json .Config.Healthcheck.Test}}",
        &id,
    ]);
    assert_eq!(inspect, r#"SIGUSR1 {"80/tcp":{}} ["CMD","true"]"#);
    b.ok(&["rm", "cfg"]);

    let images = b.ok(&["images", "--digests"]);
    assert!(
        images.contains(&format!("{}/team/app", reg.addr())),
        "{images}"
    );
    assert!(images.contains(&manifest), "{images}");
    let arch = b.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Os}}/{{.Architecture}} {{.Config.WorkingDir}}",
        &name,
    ]);
    assert_eq!(arch, format!("linux/{} /www", oci::host_arch()));

    // Pushed back under a new name: skopeo sees the digest berth reports, and the
    // digest is the one the image came with (the registry already has every blob).
    let pushed_name = format!("{}/team/copy:2", reg.addr());
    b.ok(&["tag", &name, &pushed_name]);
    let out = b.ok(&["push", &pushed_name]);
    let digest = out
        .lines()
        .find_map(|l| l.strip_prefix("2: digest: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest line in {out}"))
        .to_string();
    assert_eq!(
        digest,
        oci::skopeo_inspect_digest(&reg.docker_ref("team/copy:2"))
    );
    assert_eq!(digest, manifest);

    // An image the registry has never seen a blob of: layers are regenerated from the
    // store, and skopeo can copy the result out and finds the same layer content.
    let tarball = oci::busybox_layer();
    let mut child = b
        .cmd()
        .args(["import", "-", "localhost/fresh:1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(tarball).unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let fresh = format!("{}/other/fresh:1", reg.addr());
    b.ok(&["tag", "localhost/fresh:1", &fresh]);
    let out = b.ok(&["push", &fresh]);
    assert!(out.contains("Pushed"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    oci::skopeo_copy(
        &reg.docker_ref("other/fresh:1"),
        &format!("oci:{}:x", dir.path().display()),
    );
    let raw = oci::skopeo_inspect_raw(&[], &reg.docker_ref("other/fresh:1"));
    let m: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(m["layers"].as_array().unwrap().len(), 1);
    // And berth pulls it back into a second store and runs it.
    let b2 = berth();
    assert_eq!(
        b2.ok(&["run", "--rm", "-q", &fresh, "cat", "/www/index.html"]),
        fs::read_to_string(testsupport::busybox_rootfs().join("www/index.html"))
            .unwrap()
            .trim()
    );
    check_store(&b);
    check_store(&b2);
}

#[test]
fn short_names_digests_and_platforms() {
    let reg = Registry::start();
    let b = berth();
    let mut amd = with_layer(
        &oci::busybox_image(LayerCompression::Gzip),
        vec![TarEntry::file("arch", "amd64\n")],
    );
    amd.architecture = "amd64".into();
    let mut arm = with_layer(
        &oci::busybox_image(LayerCompression::Zstd),
        vec![TarEntry::file("arch", "arm64\n")],
    );
    arm.architecture = "arm64".into();
    let dir = tempfile::tempdir().unwrap();
    let index = oci::write_oci_layout_multiarch(dir.path(), &[amd, arm], "multi");
    oci::skopeo_copy_args(&[
        "--all",
        &format!("oci:{}:multi", dir.path().display()),
        &reg.docker_ref("lib/multi:1"),
    ]);
    let by_digest = format!("{}/lib/multi@{index}", reg.addr());
    let out = b.ok(&["pull", "-q", &by_digest]);
    assert_eq!(out, by_digest);
    let host = oci::host_arch();
    assert_eq!(b.ok(&["run", "--rm", &by_digest, "cat", "/arch"]), host);
    let other = if host == "amd64" { "arm64" } else { "amd64" };
    b.ok(&[
        "pull",
        "-q",
        "--platform",
        &format!("linux/{other}"),
        &format!("{}/lib/multi:1", reg.addr()),
    ]);
    assert_eq!(
        b.ok(&[
            "image",
            "inspect",
            "--format",
            "{{.Architecture}}",
            &format!("{}/lib/multi:1", reg.addr())
        ]),
        other
    );
    let out = b.run(&[
        "pull",
        "--platform",
        "linux/s390x",
        &format!("{}/lib/multi:1", reg.addr()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("linux/s390x"), "{}", stderr(&out));

    // Short names resolve like Docker's: `busybox` is docker.io/library/busybox:latest.
    b.ok(&["tag", &by_digest, "busybox"]);
    let names = b.ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .RepoTags}}",
        "docker.io/library/busybox:latest",
    ]);
    assert!(names.contains("\"busybox:latest\""), "{names}");
    let out = b.run(&["pull", "library/UPPER"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("lowercase"), "{}", stderr(&out));
    // A missing tag is an error naming it.
    let out = b.run(&["pull", &format!("{}/lib/multi:nope", reg.addr())]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));
    check_store(&b);
}

/// Pushes the busybox fixture as `repo` to a registry that wants `u`/`secret`; the
/// image's full name.
fn private_image(reg: &Registry, repo: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    oci::write_oci_layout(
        dir.path(),
        &[(oci::busybox_image(LayerCompression::Gzip), "latest")],
    );
    oci::skopeo_copy_args(&[
        "--dest-creds",
        "u:secret",
        &format!("oci:{}:latest", dir.path().display()),
        &reg.docker_ref(repo),
    ]);
    format!("{}/{repo}", reg.addr())
}

#[test]
fn login_logout_and_auth() {
    let reg = Registry::start_with_auth("u", "secret");
    let b = berth();
    let name = private_image(&reg, "private/bb:1");
    let out = b.run(&["pull", &name]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("login"), "{}", stderr(&out));

    let login = |pass: &str| {
        let mut c = b
            .cmd()
            .args(["login", &reg.addr(), "-u", "u", "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin
            .take()
            .unwrap()
            .write_all(format!("{pass}\n").as_bytes())
            .unwrap();
        c.wait_with_output().unwrap()
    };
    let bad = login("wrong");
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        !b.root().join("docker-config/config.json").exists()
            || !fs::read_to_string(b.root().join("docker-config/config.json"))
                .unwrap()
                .contains(&reg.addr())
    );
    let good = login("secret");
    assert!(good.status.success(), "{}", stderr(&good));
    assert!(stdout(&good).contains("Login Succeeded"));
    let cfg = fs::read_to_string(b.root().join("docker-config/config.json")).unwrap();
    assert!(cfg.contains(&reg.addr()) && cfg.contains("auths"), "{cfg}");
    assert_eq!(
        fs::metadata(b.root().join("docker-config/config.json"))
            .unwrap()
            .mode()
            & 0o077,
        0
    );

    b.ok(&["pull", "-q", &name]);
    b.ok(&["tag", &name, &format!("{}/private/bb:2", reg.addr())]);
    b.ok(&["push", &format!("{}/private/bb:2", reg.addr())]);
    b.ok(&["logout", &reg.addr()]);
    b.ok(&["rmi", &name]);
    let out = b.run(&["pull", &name]);
    assert_eq!(out.status.code(), Some(1), "pull after logout must fail");
    check_store(&b);
}

#[test]
fn save_and_load_round_trip_with_skopeo() {
    let b = berth();
    let spec = with_layer(
        &oci::busybox_image(LayerCompression::Gzip),
        vec![TarEntry::file("marker", "two layers\n")],
    );
    // docker save format made without berth.
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("in.tar");
    oci::write_docker_archive(&archive, &spec, &["fixtures/two:1"]);
    let out = b.ok(&["load", "-i", archive.to_str().unwrap()]);
    assert_eq!(out, "Loaded image: fixtures/two:1");
    assert_eq!(
        b.ok(&["run", "--rm", "fixtures/two:1", "cat", "/marker"]),
        "two layers"
    );

    for format in ["docker-archive", "oci-archive"] {
        let saved = dir.path().join(format!("{format}.tar"));
        b.ok(&[
            "save",
            "--format",
            format,
            "-o",
            saved.to_str().unwrap(),
            "fixtures/two:1",
        ]);
        // skopeo reads what berth wrote...
        let layout = dir.path().join(format!("{format}-layout"));
        oci::skopeo_copy(
            &format!("{format}:{}", saved.display()),
            &format!("oci:{}:x", layout.display()),
        );
        // ...and writes an archive of it that berth loads into a fresh store.
        let back = dir.path().join(format!("{format}-back.tar"));
        let dest = if format == "docker-archive" {
            format!("docker-archive:{}:fixtures/back:1", back.display())
        } else {
            format!("oci-archive:{}:fixtures/back:1", back.display())
        };
        oci::skopeo_copy(&format!("oci:{}:x", layout.display()), &dest);
        let b2 = berth();
        let out = b2.ok(&["load", "-i", back.to_str().unwrap()]);
        assert!(
            out.contains("fixtures/back:1") || out.contains("Loaded image ID"),
            "{out}"
        );
        let id = b2.ok(&["images", "-q"]);
        assert_eq!(b2.ok(&["run", "--rm", &id, "cat", "/marker"]), "two layers");
        // The same layers (skopeo rewrites the config when it converts manifest types,
        // so the id may differ).
        assert_eq!(
            b2.ok(&[
                "image",
                "inspect",
                "--format",
                "{{json .RootFS.Layers}}",
                &id
            ]),
            b.ok(&[
                "image",
                "inspect",
                "--format",
                "{{json .RootFS.Layers}}",
                "fixtures/two:1"
            ])
        );
        check_store(&b2);
    }
    // OCI layout directories both ways: berth writes one skopeo reads, and loads one.
    let out_dir = dir.path().join("berth-layout");
    b.ok(&[
        "save",
        "--format",
        "oci-dir",
        "-o",
        out_dir.to_str().unwrap(),
        "fixtures/two:1",
    ]);
    let layout = dir.path().join("docker-archive-layout");
    oci::skopeo_copy(
        &format!("oci:{}:1", out_dir.display()),
        &format!("oci:{}:again", layout.display()),
    );
    let b3 = berth();
    b3.ok(&["load", "-i", out_dir.to_str().unwrap()]);
    assert_eq!(
        b3.ok(&["run", "--rm", "fixtures/two:1", "cat", "/marker"]),
        "two layers"
    );
    check_store(&b);
}

#[test]
fn import_a_rootfs_tarball_with_changes() {
    let b = berth();
    let tar = std::process::Command::new("tar")
        .args([
            "-C",
            testsupport::busybox_rootfs().to_str().unwrap(),
            "-c",
            ".",
        ])
        .output()
        .unwrap();
    assert!(tar.status.success());
    let dir = tempfile::tempdir().unwrap();
    let tar_path = dir.path().join("rootfs.tar");
    fs::write(&tar_path, &tar.stdout).unwrap();
    let mut child = b
        .cmd()
        .args([
            "import",
            "-c",
            "WORKDIR /data",
            "-c",
            "ENV MODE=imported",
            "-c",
            r#"CMD ["sh", "-c", "echo $MODE in $(pwd)"]"#,
            "-",
            "localhost/fixtures/busybox:latest",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).trim().starts_with("sha256:"));
    assert_eq!(
        b.ok(&["run", "--rm", "localhost/fixtures/busybox"]),
        "imported in /data"
    );
    // An image VOLUME becomes an anonymous volume seeded from the image, removed with
    // the container under --rm, as in Docker.
    let out = b.run(&[
        "import",
        "-c",
        "VOLUME /data",
        tar_path.to_str().unwrap(),
        "localhost/fixtures/vol:1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        b.ok(&["run", "--rm", "localhost/fixtures/vol:1", "ls", "/data"]),
        "seed.txt"
    );
    let c = b.ok(&["create", "localhost/fixtures/vol:1", "true"]);
    let mounts = b.ok(&[
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Type}} {{.Destination}}{{end}}",
        &c,
    ]);
    assert_eq!(mounts, "volume /data");
    b.ok(&["rm", "-v", &c]);
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
    let out = b.run(&["import", "-c", "FROB x", "/dev/null"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("FROB"), "{}", stderr(&out));
    check_store(&b);
}

/// Two images both hold an empty file and an identical non-empty file; the store keeps
/// one inode for each. Writing through them in a container changes nothing else.
#[test]
fn shared_inodes_are_never_written_through() {
    let b = berth();
    let dir = tempfile::tempdir().unwrap();
    let mk = |extra: &str| {
        let base = oci::busybox_image(LayerCompression::Gzip);
        with_layer(
            &base,
            vec![
                TarEntry::dir("shared"),
                TarEntry::file("shared/empty", ""),
                TarEntry::file("shared/same.txt", "identical content\n"),
                TarEntry::file("shared/own.txt", extra),
            ],
        )
    };
    for (name, extra) in [("one", "first\n"), ("two", "second\n")] {
        let a = dir.path().join(format!("{name}.tar"));
        oci::write_docker_archive(&a, &mk(extra), &[&format!("fixtures/{name}:1")]);
        b.ok(&["load", "-q", "-i", a.to_str().unwrap()]);
    }
    // The store shares the inodes (deduplication across images).
    let lower = |img: &str, file: &str| -> std::path::PathBuf {
        let layers = b.ok(&[
            "image",
            "inspect",
            "--format",
            "{{json .RootFS.Layers}}",
            img,
        ]);
        let layers: Vec<String> = serde_json::from_str(&layers).unwrap();
        let top = layers
            .last()
            .unwrap()
            .trim_start_matches("sha256:")
            .to_string();
        b.root()
            .join("store/layers")
            .join(top)
            .join("root/shared")
            .join(file)
    };
    for f in ["empty", "same.txt"] {
        assert_eq!(
            fs::metadata(lower("fixtures/one:1", f)).unwrap().ino(),
            fs::metadata(lower("fixtures/two:1", f)).unwrap().ino(),
            "{f} should be stored once"
        );
    }
    let before: Vec<(String, u64)> = ["empty", "same.txt"]
        .iter()
        .map(|f| {
            let p = lower("fixtures/two:1", f);
            (
                fs::read_to_string(&p).unwrap(),
                fs::metadata(&p).unwrap().len(),
            )
        })
        .collect();
    let out = b.ok(&[
        "run", "--rm", "fixtures/one:1", "sh", "-c",
        "echo x >> /shared/empty; echo x > /shared/same.txt; echo y >> /shared/same.txt; cat /shared/empty /shared/same.txt",
    ]);
    assert_eq!(out, "x\nx\ny");
    // The other image, a new container of the same image, and the store are unchanged.
    assert_eq!(
        b.ok(&[
            "run",
            "--rm",
            "fixtures/two:1",
            "sh",
            "-c",
            "cat /shared/empty /shared/same.txt"
        ]),
        "identical content"
    );
    assert_eq!(
        b.ok(&[
            "run",
            "--rm",
            "fixtures/one:1",
            "sh",
            "-c",
            "cat /shared/empty /shared/same.txt"
        ]),
        "identical content"
    );
    for (f, (content, len)) in ["empty", "same.txt"].iter().zip(before) {
        let p = lower("fixtures/two:1", f);
        assert_eq!(fs::read_to_string(&p).unwrap(), content);
        assert_eq!(fs::metadata(&p).unwrap().len(), len);
    }
    check_store(&b);
    let df = b.ok(&["system", "df", "-v"]);
    assert!(
        df.contains("SHARED SIZE") && df.contains("fixtures/one"),
        "{df}"
    );
}

/// Docker's layer semantics: whiteouts, opaque directories, hard links, setuid bits.
#[test]
fn whiteouts_hardlinks_and_modes_like_docker() {
    let b = berth();
    let base = oci::busybox_image(LayerCompression::Gzip);
    let spec = with_layer(
        &with_layer(
            &base,
            vec![
                TarEntry::dir("w"),
                TarEntry::file("w/gone", "bye"),
                TarEntry::file("w/kept", "kept"),
                TarEntry::dir("opq"),
                TarEntry::file("opq/old", "old"),
                TarEntry::file("suid", "x").mode(0o4755),
                TarEntry::file("sgid", "x").mode(0o2755).owner(1000, 2000),
                TarEntry::file("orig", "linked"),
                TarEntry::hardlink("link", "orig"),
            ],
        ),
        vec![
            TarEntry::whiteout("w/gone"),
            TarEntry::opaque("opq"),
            TarEntry::file("opq/new", "new"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("img.tar");
    oci::write_docker_archive(&a, &spec, &["fixtures/layers:1"]);
    b.ok(&["load", "-q", "-i", a.to_str().unwrap()]);
    let out = b.ok(&[
        "run", "--rm", "fixtures/layers:1", "sh", "-c",
        "ls /w; ls /opq; stat -c '%a %u:%g' /suid /sgid; [ $(stat -c %i /orig) = $(stat -c %i /link) ] && cat /link",
    ]);
    assert_eq!(out, "kept\nnew\n4755 0:0\n2755 1000:2000\nlinked");
    check_store(&b);
}

/// Hostile archives and layers are refused with a clear error; nothing lands outside the
/// store and no image becomes visible.
#[test]
fn hostile_input_is_rejected() {
    let b = berth();
    let dir = tempfile::tempdir().unwrap();
    let sentinel = dir.path().join("outside");
    fs::create_dir(&sentinel).unwrap();
    let escape = format!("{}/escaped", sentinel.display());
    let cases: Vec<(&str, Vec<TarEntry>, &str)> = vec![
        ("dotdot", vec![TarEntry::file("../escaped", "x")], ".."),
        (
            "dotdot-file",
            vec![TarEntry::file(
                &format!("a/../../../../../../../../../..{escape}"),
                "x",
            )],
            "..",
        ),
        ("absolute", vec![TarEntry::file(&escape, "x")], "absolute"),
        (
            "symlink",
            vec![
                TarEntry::symlink("evil", sentinel.to_str().unwrap()),
                TarEntry::file("evil/escaped", "x"),
            ],
            "symlink",
        ),
        (
            "hardlink",
            vec![TarEntry::hardlink(
                "evil",
                "../../../../../../../etc/passwd",
            )],
            "link",
        ),
        (
            "hardlink-abs",
            vec![TarEntry::hardlink("evil", "/etc/passwd")],
            "link",
        ),
    ];
    for (name, entries, want) in cases {
        let spec = with_layer(&oci::busybox_image(LayerCompression::Gzip), entries);
        let a = dir.path().join(format!("{name}.tar"));
        oci::write_docker_archive(&a, &spec, &[&format!("hostile/{name}:1")]);
        let out = b.run(&["load", "-i", a.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stdout(&out));
        assert!(
            stderr(&out).to_lowercase().contains(want),
            "{name}: {}",
            stderr(&out)
        );
    }
    // Device nodes: a raw tar with a character device.
    let mut raw = Vec::new();
    {
        let mut t = tar::Builder::new(&mut raw);
        let mut h = tar::Header::new_gnu();
        h.set_path("mem").unwrap();
        h.set_entry_type(tar::EntryType::Char);
        h.set_device_major(1).unwrap();
        h.set_device_minor(1).unwrap();
        h.set_mode(0o600);
        h.set_size(0);
        h.set_cksum();
        t.append(&h, std::io::empty()).unwrap();
        t.finish().unwrap();
    }
    let out = b
        .cmd()
        .args(["import", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&raw).unwrap();
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("device"), "{}", stderr(&out));

    // Truncated gzip, a decompression bomb, malformed JSON, a layer whose content does
    // not match its diff id.
    let gz = LayerCompression::Gzip.compress(oci::busybox_layer());
    let truncated = dir.path().join("truncated.tar.gz");
    fs::write(&truncated, &gz[..gz.len() / 2]).unwrap();
    let out = b.run(&["import", truncated.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let bomb = dir.path().join("bomb.tar.gz");
    let zeros = {
        let mut t = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_path("zeros").unwrap();
        h.set_size(64 << 20);
        h.set_mode(0o644);
        h.set_cksum();
        t.append(&h, std::io::repeat(0).take_n(64 << 20)).unwrap();
        t.into_inner().unwrap()
    };
    fs::write(&bomb, LayerCompression::Gzip.compress(&zeros)).unwrap();
    let out = b
        .cmd()
        .env("BERTH_MAX_LAYER_SIZE", "1048576")
        .args(["import", bomb.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("BERTH_MAX_LAYER_SIZE"),
        "{}",
        stderr(&out)
    );

    let bad_json = dir.path().join("bad-json.tar");
    {
        let mut t = tar::Builder::new(fs::File::create(&bad_json).unwrap());
        let mut h = tar::Header::new_gnu();
        h.set_path("manifest.json").unwrap();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_cksum();
        t.append(&h, &b"[{,]}"[..]).unwrap();
        t.finish().unwrap();
    }
    let out = b.run(&["load", "-i", bad_json.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("malformed"), "{}", stderr(&out));

    // A docker archive whose layer is not what the config says.
    let mut spec = oci::busybox_image(LayerCompression::Gzip);
    spec.layers
        .push(LayerSpec::Entries(vec![TarEntry::file("a", "a")]).to_tar());
    let mismatch = dir.path().join("mismatch");
    oci::write_oci_layout(&mismatch, &[(spec.clone(), "latest")]);
    // Swap the bytes of the second layer blob for other valid gzip.
    let built = oci::build_image(&spec);
    let blob = mismatch
        .join("blobs/sha256")
        .join(built.layers[1].digest.trim_start_matches("sha256:"));
    fs::write(
        &blob,
        LayerCompression::Gzip
            .compress(&LayerSpec::Entries(vec![TarEntry::file("a", "b")]).to_tar()),
    )
    .unwrap();
    let out = b.run(&["load", "-i", mismatch.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("digest mismatch"), "{}", stderr(&out));
    // A manifest that names a missing blob.
    fs::remove_file(&blob).unwrap();
    let out = b.run(&["load", "-i", mismatch.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));

    assert_eq!(
        fs::read_dir(&sentinel).unwrap().count(),
        0,
        "something escaped"
    );
    assert_eq!(b.ok(&["images", "-q"]), "", "no image may be visible");
    check_store(&b);
}

/// A pull whose layer blob was tampered with in the registry fails, leaving nothing.
#[test]
fn registry_blob_tampering_is_detected() {
    let reg = Registry::start();
    let b = berth();
    let spec = oci::busybox_image(LayerCompression::Gzip);
    seed(&reg, "t/bb:1", &spec);
    let built = oci::build_image(&spec);
    let blob = reg.blob_path(&built.layers[0].digest);
    let mut bytes = fs::read(&blob).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    fs::write(&blob, bytes).unwrap();
    let out = b.run(&["pull", &format!("{}/t/bb:1", reg.addr())]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).to_lowercase().contains("digest"),
        "{}",
        stderr(&out)
    );
    assert_eq!(b.ok(&["images", "-q"]), "");
    check_store(&b);
}

/// Uncompressed layers (which skopeo always compresses) pushed byte for byte.
#[test]
fn uncompressed_layers_pull() {
    let reg = Registry::start();
    let b = berth();
    let spec = with_layer(
        &oci::busybox_image(LayerCompression::None),
        vec![TarEntry::file("plain", "not compressed\n")],
    );
    let built = oci::build_image(&spec);
    reg.push_image("raw/img", "1", &built);
    let name = format!("{}/raw/img:1", reg.addr());
    assert_eq!(
        b.ok(&["run", "--rm", "-q", &name, "cat", "/plain"]),
        "not compressed"
    );
    // Its layers round-trip: save as OCI and the layer digests are the diff ids.
    let out = b.ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .RootFS.Layers}}",
        &name,
    ]);
    let want: Vec<&str> = built.layers.iter().map(|l| l.diff_id.as_str()).collect();
    assert_eq!(out, serde_json::to_string(&want).unwrap());
    check_store(&b);
}

#[test]
fn tag_rmi_prune_follow_docker() {
    let b = berth();
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("img.tar");
    oci::write_docker_archive(
        &a,
        &oci::busybox_image(LayerCompression::Gzip),
        &["fixtures/bb:1"],
    );
    b.ok(&["load", "-q", "-i", a.to_str().unwrap()]);
    b.ok(&["tag", "fixtures/bb:1", "fixtures/bb:2"]);
    let id = b.ok(&["images", "-q", "--no-trunc"]);
    assert!(id.starts_with("sha256:"), "{id}");
    // Untag one of two names: the image stays.
    assert_eq!(b.ok(&["rmi", "fixtures/bb:2"]), "Untagged: fixtures/bb:2");
    // In use by a container: refused without -f.
    let c = b.ok(&["create", "fixtures/bb:1", "true"]);
    let out = b.run(&["rmi", "fixtures/bb:1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("conflict"), "{}", stderr(&out));
    // The container still runs after `rmi -f` untags its image; prune keeps it too.
    b.ok(&["rmi", "-f", "fixtures/bb:1"]);
    b.ok(&["image", "prune", "-a", "-f"]);
    b.ok(&["start", "-a", &c]);
    b.ok(&["rm", &c]);
    let out = b.ok(&["image", "prune", "-f"]);
    assert!(out.contains("deleted: sha256:"), "{out}");
    assert_eq!(b.ok(&["images", "-q"]), "");
    assert_eq!(
        fs::read_dir(b.root().join("store/layers")).unwrap().count(),
        0
    );
    assert_eq!(
        fs::read_dir(b.root().join("store/files"))
            .unwrap()
            .flatten()
            .map(|d| fs::read_dir(d.path()).unwrap().count())
            .sum::<usize>(),
        0
    );
    let out = b.run(&["rmi", "fixtures/nothing:1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("No such image") || stderr(&out).contains("no such image"));
    let out = b.run(&[
        "run",
        "--rm",
        "--pull",
        "never",
        "fixtures/nothing:1",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125));
    check_store(&b);
}

trait TakeN: std::io::Read + Sized {
    fn take_n(self, n: u64) -> std::io::Take<Self> {
        self.take(n)
    }
}
impl<R: std::io::Read> TakeN for R {}

#[test]
fn an_image_with_sixty_layers_runs_with_and_without_a_user_namespace() {
    let b = berth();
    b.subids(2_500_000, 65536);
    let mut spec = oci::busybox_image(LayerCompression::None);
    for i in 0..60 {
        spec.layers.push(
            LayerSpec::Entries(vec![TarEntry::file(
                &format!("layer{i:02}"),
                format!("{i}\n"),
            )])
            .to_tar(),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("tall.tar");
    oci::write_docker_archive(&archive, &spec, &["fixtures/tall:1"]);
    b.ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
    // Sixty store paths are more than mount(2)'s one page of options can hold.
    for opts in [
        &["--network", "none"][..],
        &["--network", "none", "--userns=auto"],
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(opts);
        args.extend_from_slice(&[
            "fixtures/tall:1",
            "sh",
            "-c",
            "ls / | grep -c '^layer'; cat /layer00 /layer59",
        ]);
        let out = b.run(&args);
        assert!(out.status.success(), "{opts:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "60\n0\n59\n", "{opts:?}");
    }
}

#[test]
fn credential_helpers_are_asked_for_and_given_credentials() {
    let reg = Registry::start_with_auth("u", "secret");
    let b = berth();
    let name = private_image(&reg, "private/helped:1");
    // A helper that keeps one credential in a file, speaking Docker's protocol.
    let bin = tempfile::tempdir().unwrap();
    let store = bin.path().join("store.json");
    let helper = bin.path().join("docker-credential-berthtest");
    fs::write(
        &helper,
        format!(
            "#!/bin/sh\nstore={}\ncase \"$1\" in\n\
             get) read server; if [ -f $store ] && [ \"$(jq -r .ServerURL $store)\" = \"$server\" ]; then jq -c '{{ServerURL,Username,Secret}}' $store; else echo 'credentials not found in native keychain'; exit 1; fi;;\n\
             store) cat > $store;;\n\
             erase) read server; rm -f $store;;\n\
             esac\n",
            store.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    b.set_env("PATH", &path);
    let config = b.root().join("docker-config/config.json");
    fs::create_dir_all(config.parent().unwrap()).unwrap();
    fs::write(&config, r#"{"credsStore": "berthtest"}"#).unwrap();

    let out = b.run(&["pull", &name]);
    assert!(!out.status.success(), "pulled without credentials");
    let mut c = b
        .cmd()
        .args(["login", &reg.addr(), "-u", "u", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(b"secret\n").unwrap();
    let login = c.wait_with_output().unwrap();
    assert!(login.status.success(), "{}", stderr(&login));
    // The secret went to the helper, not into config.json.
    assert!(fs::read_to_string(&store).unwrap().contains("secret"));
    let cfg = fs::read_to_string(&config).unwrap();
    assert!(
        !cfg.contains("secret") && cfg.contains(&reg.addr()),
        "{cfg}"
    );
    b.ok(&["pull", "-q", &name]);
    b.ok(&["rmi", &name]);
    b.ok(&["logout", &reg.addr()]);
    assert!(!store.exists());
    assert!(!b.run(&["pull", &name]).status.success());

    // A per-registry helper wins over the file's entries.
    fs::write(
        &store,
        format!(
            r#"{{"ServerURL":"{}","Username":"u","Secret":"secret"}}"#,
            reg.addr()
        ),
    )
    .unwrap();
    fs::write(
        &config,
        json!({"credHelpers": {reg.addr(): "berthtest"}, "auths": {reg.addr(): {"auth": "dTp3cm9uZw=="}}}).to_string(),
    )
    .unwrap();
    b.ok(&["pull", "-q", &name]);
    // A helper name cannot be a path.
    fs::write(&config, r#"{"credsStore": "../../bin/sh"}"#).unwrap();
    let out = b.run(&["pull", &name.replace(":1", ":2")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("docker-credential-NAME"),
        "{}",
        stderr(&out)
    );
    check_store(&b);
}
