//! Bind mounts, named and anonymous volumes, tmpfs and `--mount`, and the volume
//! commands, with Docker's semantics (a new volume is seeded from the image).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use testsupport::{stderr, stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

#[test]
fn bind_mounts_are_read_write_or_read_only() {
    let b = berth();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("in.txt"), "from host\n").unwrap();
    let rw = format!("{}:/mnt/data", host.path().display());
    let out = b.run_ctr(
        &["--rm", "-v", &rw],
        &[
            "sh",
            "-c",
            "cat /mnt/data/in.txt; echo back > /mnt/data/out.txt",
        ],
    );
    assert_eq!(stdout(&out), "from host\n", "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(host.path().join("out.txt")).unwrap(),
        "back\n"
    );
    let ro = format!("{}:/mnt/data:ro", host.path().display());
    let out = b.run_ctr(
        &["--rm", "-v", &ro],
        &[
            "sh",
            "-c",
            "echo x > /mnt/data/nope 2>/dev/null || echo refused",
        ],
    );
    assert_eq!(stdout(&out), "refused\n");
    let m = format!(
        "type=bind,source={},target=/m,readonly",
        host.path().display()
    );
    let out = b.run_ctr(
        &["--rm", "--mount", &m],
        &[
            "sh",
            "-c",
            "cat /m/in.txt; touch /m/x 2>/dev/null || echo refused",
        ],
    );
    assert_eq!(stdout(&out), "from host\nrefused\n");
}

#[test]
fn a_file_can_be_bind_mounted() {
    let b = berth();
    let host = tempfile::tempdir().unwrap();
    let f = host.path().join("conf");
    std::fs::write(&f, "setting=1\n").unwrap();
    let out = b.run_ctr(
        &["--rm", "-v", &format!("{}:/etc/app.conf:ro", f.display())],
        &["cat", "/etc/app.conf"],
    );
    assert_eq!(stdout(&out), "setting=1\n", "{}", stderr(&out));
}

#[test]
fn a_new_named_volume_is_seeded_from_the_image_and_shared_live() {
    let b = berth();
    let out = b.run_ctr(&["--rm", "-v", "seeded:/data"], &["cat", "/data/seed.txt"]);
    assert_eq!(stdout(&out), "seeded\n", "{}", stderr(&out));
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "seeded");
    // Two containers share the volume's data live.
    b.detached(
        &["--name", "writer", "-v", "seeded:/data"],
        &["sh", "-c", "sleep 0.3; echo live > /data/live; sleep 60"],
    );
    let out = b.run_ctr(&["--rm", "-v", "seeded:/shared"], &["sh", "-c", "for i in $(seq 50); do test -f /shared/live && break; sleep 0.1; done; cat /shared/live"]);
    assert_eq!(stdout(&out), "live\n");
    // In use: refused; after the container is gone: removable.
    let out = b.run(&["volume", "rm", "seeded"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("in use"), "{}", stderr(&out));
    b.ok(&["rm", "-f", "writer"]);
    assert_eq!(b.ok(&["volume", "rm", "seeded"]), "seeded");
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn data_in_a_volume_outlives_the_container() {
    let b = berth();
    b.run_ctr(
        &["--rm", "-v", "keep:/v"],
        &["sh", "-c", "echo persisted > /v/file"],
    );
    let out = b.run_ctr(&["--rm", "-v", "keep:/w"], &["cat", "/w/file"]);
    assert_eq!(stdout(&out), "persisted\n");
}

#[test]
fn anonymous_volumes_go_with_rm() {
    let b = berth();
    b.run_ctr(
        &["--rm", "-v", "/scratch"],
        &["sh", "-c", "echo x > /scratch/f"],
    );
    assert_eq!(
        b.ok(&["volume", "ls", "-q"]),
        "",
        "--rm removes anonymous volumes"
    );
    b.run_ctr(&["--name", "anon", "-v", "/scratch"], &["true"]);
    assert_eq!(b.ok(&["volume", "ls", "-q"]).lines().count(), 1);
    b.ok(&["rm", "-v", "anon"]);
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn volume_commands() {
    let b = berth();
    assert_eq!(b.ok(&["volume", "create", "--label", "team=a", "v1"]), "v1");
    assert_eq!(
        b.ok(&["volume", "create", "v1"]),
        "v1",
        "create is idempotent"
    );
    b.ok(&["volume", "create", "v2"]);
    let v: serde_json::Value = serde_json::from_str(&b.ok(&["volume", "inspect", "v1"])).unwrap();
    assert_eq!(v[0]["Name"], "v1");
    assert_eq!(v[0]["Driver"], "local");
    assert_eq!(v[0]["Labels"]["team"], "a");
    assert!(std::path::Path::new(v[0]["Mountpoint"].as_str().unwrap()).is_dir());
    assert_eq!(
        b.ok(&["volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "v2"]),
        "v2 local"
    );
    assert_eq!(
        b.ok(&[
            "volume",
            "ls",
            "--format",
            "{{.Name}}",
            "--filter",
            "label=team=a"
        ]),
        "v1"
    );
    let table = b.ok(&["volume", "ls"]);
    assert!(table.starts_with("DRIVER"), "{table}");
    let json = b.ok(&["volume", "ls", "--format", "json"]);
    assert_eq!(json.lines().count(), 2);
    let out = b.run(&["volume", "inspect", "nope"]);
    assert_ne!(out.status.code(), Some(0));
    b.ok(&["volume", "prune", "-a", "-f"]);
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
    let out = b.run(&["volume", "create", "bad name"]);
    assert_eq!(out.status.code(), Some(125));
}

#[test]
fn tmpfs_mounts_are_private_and_noexec_by_default() {
    let b = berth();
    let out = b.run_ctr(
        &[
            "--rm",
            "--tmpfs",
            "/cache:size=2m",
            "--mount",
            "type=tmpfs,target=/t2,tmpfs-mode=1770",
        ],
        &[
            "sh",
            "-c",
            "grep -E ' /cache | /t2 ' /proc/self/mounts; stat -c %a /t2",
        ],
    );
    let text = stdout(&out);
    assert!(
        text.contains("/cache tmpfs") && text.contains("noexec") && text.contains("size=2048k"),
        "{text}"
    );
    assert!(text.ends_with("1770\n"), "{text}");
}

#[test]
fn a_symlink_in_the_image_cannot_redirect_a_mount_to_the_host() {
    let b = berth();
    // The container points /evil at the host's /etc, then a later container mounts a
    // tmpfs "at" /evil: the mount must land inside the container, never on the host.
    b.run_ctr(&["--name", "sym"], &["ln", "-s", "/etc", "/evil"]);
    b.ok(&["start", "-a", "sym"]);
    let out = b.run_ctr(&["--rm", "--tmpfs", "/etc/../evil/x"], &["true"]);
    let _ = out;
    assert!(!std::path::Path::new("/etc/x").exists());
    assert!(!std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(" /etc/x "));
}

#[test]
fn a_volume_subpath_mounts_a_directory_of_the_volume_and_never_leaves_it() {
    let b = berth();
    let vol = "subpath-test-vol";
    b.ok(&["volume", "create", vol]);
    let whole = format!("type=volume,source={vol},target=/v");
    let out = b.run_ctr(
        &["--rm", "--mount", &whole],
        &[
            "sh",
            "-c",
            "mkdir -p /v/app/conf && echo inside > /v/app/conf/c.txt && ln -s /etc /v/escape",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let sub = format!("type=volume,source={vol},target=/conf,volume-subpath=app/conf");
    let out = b.run_ctr(
        &["--rm", "--mount", &sub],
        &["sh", "-c", "ls /conf; cat /conf/c.txt"],
    );
    assert_eq!(stdout(&out), "c.txt\ninside\n", "{}", stderr(&out));
    // The symlink the first container left resolves inside the volume (to its own
    // missing /etc), not to the host's /etc.
    let evil = format!("type=volume,source={vol},target=/x,volume-subpath=escape");
    let out = b.run_ctr(&["--rm", "--mount", &evil], &["ls", "/x/passwd"]);
    assert!(
        !out.status.success(),
        "the host's /etc was mounted: {}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("volume subpath escape"),
        "{}",
        stderr(&out)
    );
    for bad in ["../up", "/abs"] {
        let spec = format!("type=volume,source={vol},target=/x,volume-subpath={bad}");
        let out = b.run_ctr(&["--rm", "--mount", &spec], &["true"]);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("relative path inside the volume"),
            "{}",
            stderr(&out)
        );
    }
    b.ok(&["volume", "rm", vol]);
    b.assert_no_leaks();
}
