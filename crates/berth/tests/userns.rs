//! User namespaces (`--userns=auto`, the `userns-remap` config default): the container's
//! root is an unprivileged host id from the root's own subordinate ranges; image files
//! appear owned by the container's users through idmapped layers; what it writes lands
//! on the host under its range; ranges never overlap and are freed on removal; and root
//! inside gets no power over the host's files or clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::MetadataExt;

use testsupport::{sh, stderr, stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

/// The real uid and gid of a host process.
fn host_ids(pid: &str) -> (u32, u32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u32 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {status}"))
    };
    (field("Uid:"), field("Gid:"))
}

fn pid_of(b: &Berth, ctr: &str) -> String {
    b.ok(&["inspect", "-f", "{{.State.Pid}}", ctr])
}

/// `0 HOST SIZE` of /proc/self/uid_map, as numbers.
fn map_line(text: &str) -> Vec<u64> {
    text.split_whitespace()
        .take(3)
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn auto_runs_root_as_an_unprivileged_host_id_and_images_still_look_right() {
    let b = berth();
    b.subids(1_100_000, 655_360);
    let (code, out, err) = sh(
        &b,
        &["--userns=auto"],
        "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; \
         stat -c '%u:%g' /bin/busybox /home/app; \
         touch /made-inside; chown 1000:1000 /made-inside; echo ok",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..2], ["0", "0"], "{out}");
    assert_eq!(map_line(lines[2]), [0, 1_100_000, 65536], "{out}");
    assert_eq!(map_line(lines[3]), [0, 1_100_000, 65536], "{out}");
    // The image's files keep their owners as seen inside: root's are root's, app's app's.
    assert_eq!(lines[4], "0:0", "{out}");
    assert_eq!(lines[5], "1000:1000", "{out}");
    assert_eq!(lines[6], "ok");

    // Detached: the workload is host uid 1_100_000; what it writes belongs to its range.
    let id = b.detached(
        &["--userns=auto", "--name", "ns1"],
        &["sh", "-c", "touch /upfile; exec sleep 60"],
    );
    let pid = pid_of(&b, "ns1");
    assert_eq!(host_ids(&pid), (1_100_000, 1_100_000));
    assert!(b.eventually(5, || b
        .root()
        .join("containers")
        .join(&id)
        .join("upper/upfile")
        .exists()));
    let meta =
        std::fs::metadata(b.root().join("containers").join(&id).join("upper/upfile")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1_100_000, 1_100_000));

    // exec joins the same user namespace, and -u maps through it.
    let ns = b.ok(&["exec", "ns1", "cat", "/proc/self/uid_map"]);
    assert_eq!(map_line(&ns), [0, 1_100_000, 65536]);
    assert_eq!(b.ok(&["exec", "-u", "1000", "ns1", "id", "-u"]), "1000");
    let exec_pid = b.ok(&["exec", "-d", "-u", "1000", "ns1", "sleep", "30"]);
    let _ = exec_pid;
    let found = b.eventually(5, || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|p| {
            let cmd = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
            cmd == b"sleep\x0030\x00"
                && std::fs::read_to_string(p.path().join("status"))
                    .unwrap_or_default()
                    .contains("Uid:\t1101000\t")
        })
    });
    assert!(found, "the exec'd process is not host uid 1101000");

    let inspect = b.ok(&[
        "inspect",
        "-f",
        "{{.HostConfig.UsernsMode}} {{json .Security.UserNamespace.UIDMap}}",
        "ns1",
    ]);
    assert_eq!(
        inspect,
        r#"auto [{"ContainerID":0,"HostID":1100000,"Size":65536}]"#
    );
    b.ok(&["rm", "-f", "ns1"]);
}

#[test]
fn ranges_never_overlap_run_out_clearly_and_come_back_on_rm() {
    let b = berth();
    // Room for exactly two default-sized namespaces.
    b.subids(1_300_000, 131_072);
    b.detached(&["--userns=auto", "--name", "na"], &["sleep", "60"]);
    b.detached(&["--userns=auto", "--name", "nb"], &["sleep", "60"]);
    let ua = host_ids(&pid_of(&b, "na")).0;
    let ub = host_ids(&pid_of(&b, "nb")).0;
    let mut got = [ua, ub];
    got.sort();
    assert_eq!(got, [1_300_000, 1_365_536]);

    let out = b.run_ctr(&["--rm", "--userns=auto"], &["true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("in use"), "{}", stderr(&out));

    // A smaller namespace still fits nowhere; removing one frees its block.
    b.ok(&["rm", "-f", "na"]);
    let (code, out, err) = sh(&b, &["--userns=auto"], "cat /proc/self/uid_map");
    assert_eq!(code, 0, "{err}");
    assert_eq!(map_line(&out), [0, ua as u64, 65536]);
    let (code, out, err) = sh(&b, &["--userns=auto:size=1000"], "cat /proc/self/uid_map");
    assert_eq!(code, 0, "{err}");
    assert_eq!(map_line(&out), [0, ua as u64, 1000]);
    b.ok(&["rm", "-f", "nb"]);
}

#[test]
fn concurrent_creates_get_distinct_ranges() {
    let b = berth();
    b.subids(1_500_000, 65536 * 8);
    let rootfs = b.rootfs();
    let children: Vec<_> = (0..6)
        .map(|i| {
            b.cmd()
                .args([
                    "create",
                    "--userns=auto",
                    "--name",
                    &format!("c{i}"),
                    "--rootfs",
                ])
                .args([&rootfs, "true"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let mut bases: Vec<String> = (0..6)
        .map(|i| {
            b.ok(&[
                "inspect",
                "-f",
                "{{(index .Security.UserNamespace.UIDMap 0).HostID}}",
                &format!("c{i}"),
            ])
        })
        .collect();
    bases.sort();
    bases.dedup();
    assert_eq!(bases.len(), 6, "{bases:?}");
    for i in 0..6 {
        b.ok(&["rm", &format!("c{i}")]);
    }
}

#[test]
fn root_inside_has_no_power_over_the_host() {
    let b = berth();
    b.subids(1_700_000, 65536);
    let secret = b.root().join("host-secret");
    std::fs::write(&secret, "host only\n").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let hostdir = tempfile::tempdir().unwrap();
    let vol = format!("{}:/secret", secret.display());
    let dir = format!("{}:/hostdir", hostdir.path().display());

    // With the host's ids (the opt-out) root reads and writes them ...
    let (code, out, err) = sh(
        &b,
        &["--userns=host", "-v", &vol, "-v", &dir],
        "cat /secret && touch /hostdir/x && echo wrote",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("host only") && out.contains("wrote"), "{out}");
    std::fs::remove_file(hostdir.path().join("x")).unwrap();

    // ... in its own namespace it may not, and CAP_DAC_OVERRIDE does not help.
    let (_, out, err) = sh(
        &b,
        &[
            "--userns=auto",
            "-v",
            &vol,
            "-v",
            &dir,
            "--cap-add",
            "DAC_OVERRIDE",
        ],
        "stat -c %u /secret; cat /secret; touch /hostdir/x; echo done",
    );
    assert!(out.starts_with("65534"), "{out}");
    assert!(!out.contains("host only"), "{out}");
    assert!(err.contains("Permission denied"), "{err}");
    assert!(!hostdir.path().join("x").exists());

    // Capabilities are the namespace's: even added ones do not reach the host's clock.
    // (busybox date reports the failure but exits 0, so its message is the evidence.)
    let (_, _, err) = sh(
        &b,
        &["--userns=auto", "--cap-add", "SYS_TIME"],
        "date -s 2001-01-01",
    );
    assert!(
        err.contains("can't set date: Operation not permitted"),
        "{err}"
    );
    let year: i32 = b
        .ok(&["run", "--rm", "--rootfs", &b.rootfs(), "date", "+%Y"])
        .parse()
        .unwrap();
    assert!(year > 2001);
    // The default hardening holds inside the namespace too.
    let (code, out, _) = sh(&b, &["--userns=auto"], "cat /proc/sys/vm/memfd_noexec");
    assert_eq!((code, out.trim()), (0, "2"));
}

#[test]
fn volumes_tmpfs_devices_and_terminals_work_inside() {
    let b = berth();
    b.subids(1_900_000, 131_072);
    let (code, out, err) = sh(
        &b,
        &[
            "--userns=auto",
            "-v",
            "nsvol:/data",
            "--tmpfs",
            "/scratch",
            "--device",
            "/dev/zero:/dev/myzero",
            "--read-only",
        ],
        "stat -c '%u %n' /data/seed.txt; echo new > /data/new; touch /scratch/t; \
         head -c 3 /dev/myzero | od -An -tx1; touch /ro 2>&1 || echo ro-refused",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0 /data/seed.txt"), "{out}");
    assert!(out.contains("00 00 00"), "{out}");
    assert!(out.contains("ro-refused"), "{out}");
    let data = b.root().join("volumes/nsvol/_data");
    assert_eq!(
        std::fs::metadata(data.join("new")).unwrap().uid(),
        1_900_000
    );
    assert_eq!(std::fs::metadata(&data).unwrap().uid(), 1_900_000);

    // A health probe runs inside the namespace as well.
    b.detached(
        &[
            "--userns=auto",
            "--name",
            "hc",
            "--health-cmd",
            "grep -q ' 1900000 ' /proc/self/uid_map",
            "--health-interval",
            "200ms",
        ],
        &["sleep", "60"],
    );
    assert!(
        b.eventually(10, || b.ok(&[
            "inspect",
            "-f",
            "{{.State.Health.Status}}",
            "hc"
        ]) == "healthy"),
        "{}",
        b.ok(&["inspect", "-f", "{{json .State.Health}}", "hc"])
    );

    // Terminals: the container's own pty, and one for an exec into the namespace.
    let script = format!(
        "{bin} run --rm -t --userns=auto --rootfs {rootfs} sh -c 'tty; id -u'; \
         {bin} exec -it hc sh -c 'tty; cat /proc/self/uid_map'",
        bin = env!("CARGO_BIN_EXE_berth"),
        rootfs = b.rootfs()
    );
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &script, "/dev/null"]);
    for (k, v) in b.cmd().get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let out = cmd.output().unwrap();
    let text = stdout(&out).replace('\r', "");
    assert_eq!(text.matches("/dev/pts/").count(), 2, "{text}");
    assert!(text.contains("1900000"), "{text}");

    b.ok(&["rm", "-f", "hc"]);
    b.ok(&["volume", "rm", "nsvol"]);
}

#[test]
fn config_default_and_bad_input() {
    let b = berth();
    b.subids(2_100_000, 65536);
    let config = b.root().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.json"),
        r#"{"userns-remap": "default", "dns": ["127.0.0.1"]}"#,
    )
    .unwrap();
    let (code, out, err) = sh(&b, &[], "cat /proc/self/uid_map");
    assert_eq!(code, 0, "{err}");
    assert_eq!(map_line(&out), [0, 2_100_000, 65536]);
    let (_, out, _) = sh(&b, &["--userns=host"], "cat /proc/self/uid_map");
    assert_eq!(map_line(&out), [0, 0, 4294967295]);
    // Docker's rule: --privileged needs the host's namespace, even with the default.
    let out = b.run_ctr(&["--rm", "--privileged"], &["true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("--userns=host"), "{}", stderr(&out));
    b.ok(&[
        "run",
        "--rm",
        "--privileged",
        "--userns=host",
        "--rootfs",
        &b.rootfs(),
        "true",
    ]);
    std::fs::write(config.join("config.json"), testsupport::TEST_CONFIG).unwrap();

    let cases: [(&[&str], &str); 3] = [
        (&["--userns=private"], "use host"),
        (&["--userns=auto:size=0"], "positive"),
        (&["--userns=auto", "--privileged"], "--userns=host"),
    ];
    for (opts, want) in cases {
        let out = b.run_ctr(&[&["--rm"], opts].concat(), &["true"]);
        assert_eq!(out.status.code(), Some(125), "{opts:?}");
        assert!(stderr(&out).contains(want), "{opts:?}: {}", stderr(&out));
    }
    b.set_env("BERTH_SUBUID", "/nonexistent/subuid");
    let out = b.run_ctr(&["--rm", "--userns=auto"], &["true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(
        err.contains("/nonexistent/subuid") && err.contains("berth:"),
        "{err}"
    );
    // Nothing was left behind by the refusals.
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

#[test]
fn cp_shows_and_writes_the_ids_the_container_sees() {
    let b = berth();
    b.subids(2_300_000, 65536);
    b.detached(
        &["--userns=auto", "--name", "cpns"],
        &[
            "sh",
            "-c",
            "echo a > /made; chown 1000:1000 /made; exec sleep 60",
        ],
    );
    assert!(b.eventually(5, || stdout(
        &b.run(&["exec", "cpns", "stat", "-c", "%u", "/made"])
    )
    .trim()
        == "1000"));
    let host_file = b.root().join("in.txt");
    std::fs::write(&host_file, "in\n").unwrap();
    let owners = |b: &Berth| -> String {
        let out = b.cmd().args(["cp", "cpns:/made", "-"]).output().unwrap();
        let made = tar_owner(&out.stdout);
        let out = b
            .cmd()
            .args(["cp", "cpns:/etc/passwd", "-"])
            .output()
            .unwrap();
        format!("{made} {}", tar_owner(&out.stdout))
    };
    // Running, then stopped (the overlay is mounted by cp itself): the same view.
    assert_eq!(owners(&b), "1000:1000 0:0");
    b.ok(&["cp", &host_file.to_string_lossy(), "cpns:/in-running"]);
    b.ok(&["stop", "-t", "0", "cpns"]);
    assert_eq!(owners(&b), "1000:1000 0:0");
    b.ok(&["cp", &host_file.to_string_lossy(), "cpns:/in-stopped"]);
    b.ok(&["start", "cpns"]);
    let ls = b.ok(&[
        "exec",
        "cpns",
        "stat",
        "-c",
        "%u:%g",
        "/in-running",
        "/in-stopped",
    ]);
    assert_eq!(ls, "0:0\n0:0");
    // -a keeps ids that exist inside; one outside the namespace is refused clearly.
    std::os::unix::fs::chown(&host_file, Some(70000), Some(0)).unwrap();
    let out = b.run(&["cp", "-a", &host_file.to_string_lossy(), "cpns:/far"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("outside the container's user namespace"),
        "{}",
        stderr(&out)
    );
    b.ok(&["rm", "-f", "cpns"]);
}

/// `uid:gid` of the first entry of a tar stream.
fn tar_owner(tar: &[u8]) -> String {
    let mut a = tar::Archive::new(tar);
    let e = a.entries().unwrap().next().unwrap().unwrap();
    let h = e.header();
    format!("{}:{}", h.uid().unwrap(), h.gid().unwrap())
}
