//! The security options themselves: capability arithmetic, --privileged, no_new_privs,
//! seccomp (default, unconfined, a Docker-format profile file, the compile cache), Landlock
//! (the default ruleset, allow-list policies, warnings for missing paths), what
//! `inspect` reports, and the errors for bad options. The escape attempts are in
//! escape.rs; workloads that must keep working are in compat.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use testsupport::{sh, stderr, stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

fn status_field(out: &str, field: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:\t")))
        .unwrap_or_else(|| panic!("no {field} in {out}"))
        .trim()
        .to_string()
}

fn has_cap(hex: &str, bit: u32) -> bool {
    u64::from_str_radix(hex, 16).unwrap() & (1u64 << bit) != 0
}

const CAP_NET_RAW: u32 = 13;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_CHOWN: u32 = 0;
const CAP_NET_BIND_SERVICE: u32 = 10;

#[test]
fn cap_add_and_cap_drop_change_the_sets_like_docker() {
    let b = berth();
    let (_, out, _) = sh(
        &b,
        &["--cap-add", "sys_admin", "--cap-drop", "CAP_NET_RAW"],
        "cat /proc/self/status",
    );
    let eff = status_field(&out, "CapEff");
    assert!(has_cap(&eff, CAP_SYS_ADMIN), "{eff}");
    assert!(!has_cap(&eff, CAP_NET_RAW), "{eff}");
    assert!(has_cap(&eff, CAP_CHOWN), "{eff}");
    assert_eq!(status_field(&out, "CapBnd"), eff);

    let (_, out, _) = sh(
        &b,
        &["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"],
        "cat /proc/self/status",
    );
    let eff = u64::from_str_radix(&status_field(&out, "CapEff"), 16).unwrap();
    assert_eq!(eff, 1 << CAP_NET_BIND_SERVICE);
    // The effect, not just the bits: chown is refused without CAP_CHOWN.
    let (code, _, err) = sh(&b, &["--cap-drop", "chown"], "touch /f; chown 1000 /f");
    assert_ne!(code, 0, "chown without CAP_CHOWN must fail");
    assert!(err.contains("Operation not permitted"), "{err}");

    let out = b.run(&[
        "run",
        "--rm",
        "--rootfs",
        &b.rootfs(),
        "--cap-add",
        "FLY",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("unknown capability"),
        "{}",
        stderr(&out)
    );
    b.assert_no_leaks();
}

#[test]
fn no_new_privileges_and_seccomp_are_on_by_default_and_can_be_turned_off() {
    let b = berth();
    let (_, out, _) = sh(&b, &[], "cat /proc/self/status");
    assert_eq!(status_field(&out, "NoNewPrivs"), "1");
    assert_eq!(status_field(&out, "Seccomp"), "2", "a filter is installed");
    let (_, out, _) = sh(
        &b,
        &[
            "--security-opt",
            "no-new-privileges=false",
            "--security-opt",
            "seccomp=unconfined",
        ],
        "cat /proc/self/status",
    );
    assert_eq!(status_field(&out, "NoNewPrivs"), "0");
    assert_eq!(status_field(&out, "Seccomp"), "0");
    // no_new_privs off still gets the default filter (installed while root could).
    let (_, out, _) = sh(
        &b,
        &["--security-opt", "no-new-privileges=false", "-u", "1000"],
        "cat /proc/self/status",
    );
    assert_eq!(status_field(&out, "Seccomp"), "2");
    // The default filter refuses what Docker's refuses, with EPERM.
    let (code, _, err) = sh(&b, &[], "unshare -U true");
    assert_ne!(code, 0);
    assert!(err.contains("Operation not permitted"), "{err}");
    b.assert_no_leaks();
}

#[test]
fn a_docker_format_seccomp_profile_file_is_used_and_kept() {
    let b = berth();
    let dir = b.root().join("profiles");
    std::fs::create_dir_all(&dir).unwrap();
    let profile = dir.join("no-mkdir.json");
    std::fs::write(
        &profile,
        r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
    {"names": ["fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO",
     "args": [{"index": 2, "value": 511, "op": "SCMP_CMP_EQ"}]},
    {"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
     "args": [{"index": 1, "value": 511, "op": "SCMP_CMP_EQ"}]}
  ]
}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let id = b.ok(&[
        "create",
        "--rootfs",
        &b.rootfs(),
        "--security-opt",
        &opt,
        "sh",
        "-c",
        "mkdir /x; echo mkdir=$?; touch /f; chmod 777 /f; echo chmod777=$?; chmod 700 /f; echo chmod700=$?",
    ]);
    // The container keeps its own copy: deleting the file changes nothing.
    std::fs::remove_file(&profile).unwrap();
    let out = b.run(&["start", "-a", id.trim()]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains("Permission denied"),
        "mkdir gets EACCES: {text}"
    );
    assert!(text.contains("mkdir=1"), "{text}");
    assert!(text.contains("chmod777=1"), "chmod 0777 is refused: {text}");
    assert!(text.contains("chmod700=0"), "chmod 0700 is allowed: {text}");
    let inspect = b.ok(&["inspect", "--format", "{{.Security.Seccomp}}", id.trim()]);
    assert!(inspect.trim().ends_with("no-mkdir.json"), "{inspect}");
    b.ok(&["rm", id.trim()]);

    // Compiled filters are cached by content.
    let cache = b.root().join("cache/seccomp");
    let n = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(0);
    assert!(n >= 1, "compiled filters are cached in {}", cache.display());

    // Bad profiles are refused at create, with what is wrong.
    for (body, want) in [
        (
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [",
            "line",
        ),
        (r#"{"defaultAction": "SCMP_ACT_MAYBE"}"#, "SCMP_ACT_MAYBE"),
    ] {
        std::fs::write(&profile, body).unwrap();
        let out = b.run(&[
            "run",
            "--rm",
            "--rootfs",
            &b.rootfs(),
            "--security-opt",
            &opt,
            "true",
        ]);
        assert_eq!(out.status.code(), Some(125));
        assert!(stderr(&out).contains(want), "{}", stderr(&out));
    }
    let out = b.run(&[
        "run",
        "--rm",
        "--rootfs",
        &b.rootfs(),
        "--security-opt",
        "seccomp=/nonexistent.json",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("/nonexistent.json"),
        "{}",
        stderr(&out)
    );
    let ids = b.ok(&["ps", "-aq"]);
    assert!(
        ids.trim().is_empty(),
        "refused creates leave nothing: {ids}"
    );
    b.assert_no_leaks();
}

#[test]
fn the_default_landlock_ruleset_denies_device_nodes_and_executing_outside_the_root() {
    let b = berth();
    let (_, out, _) = sh(
        &b,
        &[],
        "mknod /tmp/null c 1 3 && echo mknod-c-ok; mknod /tmp/sda b 8 0 && echo mknod-b-ok; \
         cp /bin/busybox /tmp/true && /tmp/true && echo tmp-exec-ok; \
         mkdir /newdir && cp /bin/busybox /newdir/true && echo copied; /newdir/true && echo newdir-exec-ok; \
         echo hi > /newdir/f && cat /newdir/f; \
         cp /bin/busybox /dev/true && /dev/true && echo dev-exec-ok; \
         printf '#!/bin/sh\\necho fd-exec-ok\\n' > /tmp/s; chmod +x /tmp/s; exec 3</tmp/s; /proc/self/fd/3",
    );
    assert!(!out.contains("dev-exec-ok"), "/dev is noexec: {out}");
    assert!(
        out.contains("fd-exec-ok"),
        "a file of the container through /proc: {out}"
    );
    assert!(!out.contains("mknod-c-ok"), "character devices: {out}");
    assert!(!out.contains("mknod-b-ok"), "block devices: {out}");
    assert!(
        out.contains("tmp-exec-ok"),
        "existing directories stay executable: {out}"
    );
    assert!(
        out.contains("copied"),
        "new top-level directories are writable: {out}"
    );
    assert!(
        out.contains("newdir-exec-ok"),
        "new directories are executable: {out}"
    );
    assert!(out.contains("hi"), "{out}");
    // Opting out gives Docker's behaviour back.
    let (_, out, _) = sh(
        &b,
        &["--security-opt", "landlock=unconfined"],
        "mknod /tmp/null c 1 3 && echo mknod-c-ok; mkdir /newdir && cp /bin/busybox /newdir/true && /newdir/true && echo newdir-exec-ok",
    );
    assert!(out.contains("mknod-c-ok"), "{out}");
    assert!(out.contains("newdir-exec-ok"), "{out}");
    b.assert_no_leaks();
}

#[test]
fn a_landlock_allow_list_confines_the_workload_to_its_paths() {
    let b = berth();
    let vol = b.root().join("vol");
    std::fs::create_dir_all(&vol).unwrap();
    let v = format!("{}:/data", vol.display());
    let policy = [
        "--security-opt",
        "landlock.exec=/bin",
        "--security-opt",
        "landlock.ro=/etc",
        "--security-opt",
        "landlock.rw=/data",
        "--security-opt",
        "landlock.ro=/no/such/dir",
    ];
    let out = b.run_ctr(
        &[&["--rm", "-v", &v], &policy[..]].concat(),
        &[
            "sh",
            "-c",
            "echo saved > /data/out && echo wrote-data; cat /etc/hostname >/dev/null && echo read-etc; \
             echo x > /tmp/x && echo wrote-tmp; ls /root >/dev/null 2>&1 && echo listed-root; \
             echo x > /etc/x && echo wrote-etc; true",
        ],
    );
    let text = stdout(&out);
    assert!(text.contains("wrote-data"), "{text} {}", stderr(&out));
    assert!(text.contains("read-etc"), "{text}");
    assert!(
        !text.contains("wrote-tmp"),
        "/tmp is not in the policy: {text}"
    );
    assert!(!text.contains("listed-root"), "{text}");
    assert!(!text.contains("wrote-etc"), "{text}");
    assert_eq!(std::fs::read_to_string(vol.join("out")).unwrap(), "saved\n");
    let err = stderr(&out);
    assert!(
        err.contains("/no/such/dir") && err.contains("skipped"),
        "a missing path is a warning naming it: {err}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "a missing path never fails the start"
    );

    // The entrypoint must be executable under the policy: a clear 126 otherwise.
    let out = b.run_ctr(&["--rm", "--security-opt", "landlock.ro=/etc"], &["true"]);
    assert_eq!(out.status.code(), Some(126), "{}", stderr(&out));

    // The same policy from a file.
    let file = b.root().join("policy.json");
    std::fs::write(&file, r#"{"executable": ["/bin"], "read_write": ["/tmp"]}"#).unwrap();
    let opt = format!("landlock={}", file.display());
    let (code, out, _) = sh(
        &b,
        &["--security-opt", &opt],
        "echo x > /tmp/x && echo tmp-ok; echo x > /root/x && echo root-ok; true",
    );
    assert_eq!(code, 0);
    assert!(out.contains("tmp-ok") && !out.contains("root-ok"), "{out}");
    std::fs::write(&file, r#"{"writable": ["/tmp"]}"#).unwrap();
    let out = b.run(&[
        "run",
        "--rm",
        "--rootfs",
        &b.rootfs(),
        "--security-opt",
        &opt,
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("writable"), "{}", stderr(&out));
    b.assert_no_leaks();
}

#[test]
fn exec_and_health_probes_get_the_containers_confinement() {
    let b = berth();
    let id = b.detached(
        &[
            "--cap-drop",
            "NET_RAW",
            "--security-opt",
            "landlock.exec=/bin",
            "--security-opt",
            "landlock.rw=/tmp",
        ],
        &["sleep", "60"],
    );
    let out = b.run(&["exec", id.trim(), "cat", "/proc/self/status"]);
    let text = stdout(&out);
    assert_eq!(status_field(&text, "Seccomp"), "2");
    assert!(!has_cap(&status_field(&text, "CapEff"), CAP_NET_RAW));
    let out = b.run(&[
        "exec",
        id.trim(),
        "sh",
        "-c",
        "echo x > /root/x && echo wrote-root; echo x > /tmp/x && echo wrote-tmp",
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("wrote-tmp") && !text.contains("wrote-root"),
        "{text}"
    );
    let out = b.run(&["exec", "-w", "/proc/self/fd/3", id.trim(), "pwd"]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "cwd through an fd: {}",
        stdout(&out)
    );
    b.ok(&["rm", "-f", id.trim()]);
    b.assert_no_leaks();
}

#[test]
fn privileged_is_the_complete_opt_out() {
    let b = berth();
    let (_, out, _) = sh(
        &b,
        &["--privileged"],
        "cat /proc/self/status; ls /dev; grep ' /sys ' /proc/mounts; cat /proc/kcore >/dev/null 2>&1; head -c1 /proc/timer_list >/dev/null && echo timer-list-readable",
    );
    let eff = status_field(&out, "CapEff");
    assert!(has_cap(&eff, CAP_SYS_ADMIN), "{eff}");
    assert_eq!(status_field(&out, "Seccomp"), "0");
    assert_eq!(status_field(&out, "NoNewPrivs"), "0");
    assert!(
        out.contains("timer-list-readable"),
        "masked paths are off: {out}"
    );
    assert!(
        out.contains(" rw,") || out.contains(" rw "),
        "/sys is writable: {out}"
    );
    // Host devices appear (this host has a loop-control device, like every Linux box
    // with the loop driver).
    if std::path::Path::new("/dev/loop-control").exists() {
        assert!(out.contains("loop-control"), "{out}");
    }
    let json = b.ok(&[
        "run",
        "-d",
        "--privileged",
        "--rootfs",
        &b.rootfs(),
        "sleep",
        "30",
    ]);
    let sec = b.ok(&["inspect", "--format", "{{json .Security}}", json.trim()]);
    assert!(sec.contains("\"Privileged\":true"), "{sec}");
    b.ok(&["rm", "-f", json.trim()]);
    b.assert_no_leaks();
}

#[test]
fn inspect_shows_the_effective_settings() {
    let b = berth();
    let id = b.ok(&[
        "create",
        "--rootfs",
        &b.rootfs(),
        "--cap-drop",
        "ALL",
        "--cap-add",
        "chown",
        "--security-opt",
        "landlock.ro=/etc",
        "true",
    ]);
    let sec = b.ok(&["inspect", "--format", "{{json .Security}}", id.trim()]);
    let v: serde_json::Value = serde_json::from_str(sec.trim()).unwrap();
    assert_eq!(v["Capabilities"], serde_json::json!(["CAP_CHOWN"]));
    assert_eq!(v["Seccomp"], "default");
    assert_eq!(v["NoNewPrivileges"], true);
    assert_eq!(v["Landlock"]["read_only"], serde_json::json!(["/etc"]));
    assert!(v["LandlockABI"].as_i64().unwrap() >= 1, "{v}");
    let hc = b.ok(&[
        "inspect",
        "--format",
        "{{json .HostConfig.CapDrop}} {{json .HostConfig.CapAdd}}",
        id.trim(),
    ]);
    assert_eq!(hc.trim(), r#"["ALL"] ["CAP_CHOWN"]"#);
    b.ok(&["rm", id.trim()]);
    for bad in [
        "frobnicate",
        "landlock.bind-tcp=http",
        "apparmor=docker-default",
    ] {
        let out = b.run(&[
            "create",
            "--rootfs",
            &b.rootfs(),
            "--security-opt",
            bad,
            "true",
        ]);
        assert_eq!(out.status.code(), Some(125), "{bad}");
        assert!(
            stderr(&out).contains(bad.split('=').next().unwrap()),
            "{}",
            stderr(&out)
        );
    }
    b.assert_no_leaks();
}

#[test]
fn namespaced_sysctls_are_set_and_host_wide_ones_refused() {
    let b = berth();
    let (code, out, err) = sh(
        &b,
        &["--sysctl", "kernel.shmmax=123456789", "--sysctl", "net.ipv4.ip_unprivileged_port_start=80"],
        "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/vm/memfd_noexec",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..2], ["123456789", "80"], "{out}");
    if std::path::Path::new("/proc/sys/vm/memfd_noexec").exists() {
        assert_eq!(lines[2], "2", "no executable memfds by default: {out}");
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap();
    assert_ne!(host.trim(), "123456789", "the host's value is untouched");
    for bad in [
        &["--sysctl", "kernel.panic=1"][..],
        &["--sysctl", "net.ipv4.ip_forward=1", "--network", "host"],
    ] {
        let out = b.run_ctr(&[&["--rm"], bad].concat(), &["true"]);
        assert_eq!(out.status.code(), Some(125), "{bad:?}");
        assert!(stderr(&out).contains("sysctl"), "{}", stderr(&out));
    }
    b.assert_no_leaks();
}

#[test]
fn device_gives_exactly_one_host_device() {
    let b = berth();
    if !std::path::Path::new("/dev/fuse").exists() {
        eprintln!("skipped: this host has no /dev/fuse");
        return;
    }
    // Without --device the node is not there, and a hand-made one cannot be opened (the
    // device cgroup) even with Landlock off.
    let (_, out, _) = sh(
        &b,
        &["--security-opt", "landlock=unconfined"],
        "ls /dev/fuse 2>/dev/null && echo present; mknod /tmp/fuse c 10 229 && echo made; \
         exec 3<>/tmp/fuse && echo opened-own",
    );
    assert!(!out.contains("present"), "{out}");
    assert!(out.contains("made"), "{out}");
    assert!(
        !out.contains("opened-own"),
        "the device cgroup refuses 10:229: {out}"
    );
    // With --device, the node exists at the asked path and opens.
    let (code, out, err) = sh(
        &b,
        &["--device", "/dev/fuse:/dev/myfuse:rw"],
        "ls -l /dev/myfuse; exec 3<>/dev/myfuse && echo opened",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("opened") && out.contains("10,"), "{out}");
    for (bad, want) in [
        ("/etc/hostname", "not a device"),
        ("/dev/fuse:/etc/fuse", "below /dev"),
        ("/dev/fuse:/dev/fuse:rwx", "permissions"),
        ("/dev/nonexistent", "/dev/nonexistent"),
    ] {
        let out = b.run_ctr(&["--rm", "--device", bad], &["true"]);
        assert_eq!(out.status.code(), Some(125), "{bad}");
        assert!(stderr(&out).contains(want), "{bad}: {}", stderr(&out));
    }
    b.assert_no_leaks();
}

#[test]
fn read_only_root_with_volumes_and_tmpfs() {
    let b = berth();
    b.ok(&["volume", "create", "rodata"]);
    let (code, out, err) = sh(
        &b,
        &["--read-only", "-v", "rodata:/data", "--tmpfs", "/tmp"],
        "touch /x 2>/dev/null || echo root-ro; echo 1 >> /etc/hosts 2>/dev/null || echo hosts-ro; \
         echo kept > /data/f && echo data-rw; echo t > /tmp/t && echo tmp-rw; \
         cp /bin/busybox /tmp/true 2>/dev/null; /tmp/true 2>/dev/null || echo tmp-noexec",
    );
    assert_eq!(code, 0, "{err}");
    for want in ["root-ro", "hosts-ro", "data-rw", "tmp-rw", "tmp-noexec"] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let (_, out, _) = sh(
        &b,
        &["--read-only", "-v", "rodata:/data:ro"],
        "cat /data/f; echo x > /data/g 2>/dev/null || echo vol-ro",
    );
    assert!(out.contains("kept") && out.contains("vol-ro"), "{out}");
    b.ok(&["volume", "rm", "rodata"]);
    b.assert_no_leaks();
}
