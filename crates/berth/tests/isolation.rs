//! The isolation every container gets without a flag: namespaces, Docker's capability
//! set, no_new_privs, masked and read-only kernel paths, a private /dev, generated /etc
//! files, and no host file descriptors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use testsupport::{sh, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

#[test]
fn the_workload_is_pid_1_in_its_own_namespaces() {
    let b = berth();
    let (code, out, _) = sh(&b, &[], "echo $$; ps -o pid | wc -l; hostname");
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1");
    assert!(
        lines[1].trim().parse::<i32>().unwrap() <= 4,
        "only our processes are visible: {out}"
    );
    for ns in ["pid", "mnt", "uts", "ipc", "net", "cgroup"] {
        let host = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        let (_, inside, _) = sh(&b, &[], &format!("readlink /proc/self/ns/{ns}"));
        assert_ne!(
            inside.trim(),
            host.to_string_lossy(),
            "{ns} namespace is private"
        );
    }
}

#[test]
fn network_none_has_only_loopback_and_host_shares_the_host_stack() {
    let b = berth();
    let (_, out, _) = sh(&b, &["--network", "none"], "ls /sys/class/net; ip -o link 2>/dev/null | grep -c UP || true; ping -c1 -W1 127.0.0.1 >/dev/null && echo lo-ok");
    assert!(out.starts_with("lo\n"), "{out}");
    assert!(out.contains("lo-ok"), "{out}");
    let host_net = std::fs::read_link("/proc/self/ns/net").unwrap();
    let (_, inside, _) = sh(&b, &["--network", "host"], "readlink /proc/self/ns/net");
    assert_eq!(inside.trim(), host_net.to_string_lossy());
}

#[test]
fn capabilities_are_dockers_default_set_and_no_new_privs_is_set() {
    let b = berth();
    let (_, out, _) = sh(
        &b,
        &[],
        "grep -E 'Cap(Bnd|Eff)|NoNewPrivs' /proc/self/status",
    );
    assert!(out.contains("CapBnd:\t00000000a80425fb"), "{out}");
    assert!(out.contains("CapEff:\t00000000a80425fb"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    let (_, out, _) = sh(
        &b,
        &["-u", "app"],
        "grep -E 'Cap(Eff|Prm)' /proc/self/status",
    );
    assert!(
        out.contains("CapEff:\t0000000000000000"),
        "a non-root user has no effective caps: {out}"
    );
}

#[test]
fn privileged_operations_fail() {
    let b = berth();
    let (_, out, _) = sh(
        &b,
        &[],
        "mount -t tmpfs none /mnt 2>/dev/null && echo mounted; hostname evil 2>/dev/null && echo renamed; \
         echo 1 > /proc/sys/kernel/panic 2>/dev/null && echo sysctl; echo b > /proc/sysrq-trigger 2>/dev/null && echo sysrq; \
         cat /proc/kcore 2>/dev/null | head -c1 | wc -c; mknod /tmp/sda b 8 0 2>/dev/null && echo mknod-ok; true",
    );
    assert!(!out.contains("mounted"), "{out}");
    assert!(!out.contains("renamed"), "{out}");
    assert!(!out.contains("sysctl"), "{out}");
    assert!(!out.contains("sysrq"), "{out}");
    assert!(out.contains("0\n"), "kcore is masked: {out}");
}

#[test]
fn proc_and_sys_are_protected() {
    let b = berth();
    let (_, out, _) = sh(&b, &[], "grep -E ' /proc/sys | /sys ' /proc/self/mounts; cat /proc/keys | wc -c; ls /sys/firmware | wc -l; touch /sys/x 2>/dev/null || echo sys-ro");
    assert!(
        out.lines()
            .any(|l| l.contains(" /proc/sys ") && l.contains(" ro,")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains(" /sys ") && l.contains(" ro,")),
        "{out}"
    );
    assert!(out.contains("sys-ro"), "{out}");
}

#[test]
fn dev_is_minimal() {
    let b = berth();
    let (_, out, _) = sh(&b, &[], "ls /dev | tr '\\n' ' '; echo; ls /dev/sda /dev/vda /dev/mem 2>&1 | grep -c 'No such'; echo x > /dev/null && echo null-ok; head -c4 /dev/urandom | wc -c; df /dev/shm | tail -1");
    for dev in [
        "null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue", "ptmx", "fd",
        "stdin", "stdout", "stderr",
    ] {
        assert!(
            out.split_whitespace().any(|w| w == dev),
            "/dev/{dev} missing: {out}"
        );
    }
    assert!(out.contains("\n3\n"), "no host block devices: {out}");
    assert!(out.contains("null-ok"));
    assert!(out.contains("65536"), "/dev/shm is 64m: {out}");
}

#[test]
fn etc_files_are_generated_and_never_written_through() {
    let b = berth();
    let (_, out, _) = sh(
        &b,
        &["--hostname", "box1"],
        "cat /etc/hostname; hostname; grep localhost /etc/hosts | head -1; echo $HOSTNAME",
    );
    assert_eq!(out.lines().collect::<Vec<_>>()[..2], ["box1", "box1"]);
    assert!(out.contains("127.0.0.1\tlocalhost"));
    assert!(out.ends_with("box1\n"));
    let rootfs = std::path::PathBuf::from(b.rootfs());
    assert!(
        !rootfs.join("etc/hostname").exists(),
        "the rootfs never gets an /etc/hostname"
    );
}

#[test]
fn environment_defaults_like_docker() {
    let b = berth();
    let (_, out, _) = sh(&b, &["-e", "FOO=bar", "--hostname", "h1"], "env | sort");
    assert!(
        out.contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"),
        "{out}"
    );
    assert!(out.contains("HOSTNAME=h1\n"));
    assert!(out.contains("HOME=/root\n"));
    assert!(out.contains("FOO=bar\n"));
    assert!(!out.contains("TERM="), "no TERM without -t");
    let (_, out, _) = sh(&b, &["-u", "app"], "echo $HOME");
    assert_eq!(out, "/home/app\n");
}

#[test]
fn no_host_descriptor_leaks_into_the_container() {
    let b = berth();
    let (_, out, _) = sh(&b, &[], "ls /proc/self/fd | sort -n | tr '\\n' ' '");
    // 0-2 plus the fd ls itself opens for the directory.
    assert_eq!(out.trim(), "0 1 2 3", "{out}");
    let (_, cwd, _) = sh(&b, &[], "readlink /proc/self/cwd; readlink /proc/1/exe");
    assert_eq!(cwd.lines().next(), Some("/"));
    assert!(!cwd.contains("berth"), "{cwd}");
}

#[test]
fn users_resolve_from_the_container_passwd_with_groups() {
    let b = berth();
    let (_, out, _) = sh(&b, &["-u", "app"], "id");
    assert_eq!(
        out.trim(),
        "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)"
    );
    let (_, out, _) = sh(&b, &["-u", "4242:4343"], "id -u; id -g");
    assert_eq!(out, "4242\n4343\n");
    let (_, out, _) = sh(&b, &["-u", "app:root"], "id -g");
    assert_eq!(out, "0\n");
}

#[test]
fn workdir_is_created_when_missing() {
    let b = berth();
    let (_, out, _) = sh(&b, &["-w", "/srv/app"], "pwd");
    assert_eq!(out, "/srv/app\n");
}

#[test]
fn read_only_root_with_writable_tmpfs() {
    let b = berth();
    let (code, out, _) = sh(&b, &["--read-only", "--tmpfs", "/run:size=1m"], "touch /x 2>/dev/null || echo ro; touch /run/ok && echo tmpfs-rw; grep ' /run ' /proc/self/mounts");
    assert_eq!(code, 0);
    assert!(out.contains("ro\n"), "{out}");
    assert!(out.contains("tmpfs-rw"), "{out}");
    assert!(out.contains("size=1024k"), "{out}");
}
