//! Resource limits are really enforced by the kernel: a memory hog is OOM-killed and
//! reported, a fork bomb hits the pids limit, CPU and rlimits are applied.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use testsupport::{stderr, stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

#[test]
fn a_memory_hog_is_oom_killed_and_reported_as_137() {
    let b = berth();
    // Each loop doubles a shell string in memory until 32m cannot hold it.
    let out = b.run_ctr(
        &["--name", "hog", "-m", "32m", "--memory-swap", "32m"],
        &[
            "sh",
            "-c",
            "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done",
        ],
    );
    assert_eq!(out.status.code(), Some(137), "{}", stderr(&out));
    assert_eq!(
        b.ok(&[
            "inspect",
            "-f",
            "{{.State.OOMKilled}} {{.State.ExitCode}}",
            "hog"
        ]),
        "true 137"
    );
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.HostConfig.Memory}}", "hog"]),
        (32 << 20).to_string()
    );
}

#[test]
fn a_normal_exit_is_not_reported_as_oom() {
    let b = berth();
    b.run_ctr(&["--name", "fine", "-m", "64m"], &["true"]);
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.State.OOMKilled}}", "fine"]),
        "false"
    );
}

#[test]
fn a_fork_bomb_is_contained_by_the_pids_limit() {
    let b = berth();
    // Every child that really got forked appends a line; the shell's own kill is a
    // builtin, so it works even when no fork is possible.
    let out = b.run_ctr(
        &["--rm", "--pids-limit", "20"],
        &["sh", "-c", "(for i in $(seq 60); do (echo x >> /tmp/c; exec sleep 5) & done; wait) 2>/dev/null & sleep 2; kill -9 -1; wait; wc -l < /tmp/c"],
    );
    let procs: i32 = stdout(&out).trim().parse().unwrap_or(999);
    assert!(
        procs < 20,
        "the pids limit stopped the bomb: {} {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        procs >= 10,
        "the shell could fork up to the limit: {}",
        stdout(&out)
    );
    let out = b.run_ctr(&["--rm"], &["sh", "-c", "(for i in $(seq 30); do (echo x >> /tmp/c; exec sleep 5) & done; wait) 2>/dev/null & sleep 2; kill -9 -1; wait; wc -l < /tmp/c"]);
    assert_eq!(stdout(&out).trim(), "30", "without a limit all 30 run");
}

#[test]
fn cpu_limits_reach_the_cgroup() {
    let b = berth();
    let id = b.detached(&["--cpus", "0.5", "--cpu-shares", "512"], &["sleep", "60"]);
    let tag = engine::StateRoot::open(b.root()).unwrap().tag();
    let v1 = std::path::Path::new("/sys/fs/cgroup/cpu").join(format!("berth-{tag}-{id}"));
    if v1.exists() {
        assert_eq!(
            std::fs::read_to_string(v1.join("cpu.cfs_quota_us"))
                .unwrap()
                .trim(),
            "50000"
        );
        assert_eq!(
            std::fs::read_to_string(v1.join("cpu.cfs_period_us"))
                .unwrap()
                .trim(),
            "100000"
        );
        assert_eq!(
            std::fs::read_to_string(v1.join("cpu.shares"))
                .unwrap()
                .trim(),
            "512"
        );
    } else {
        let v2 = std::path::Path::new("/sys/fs/cgroup").join(format!("berth-{tag}-{id}"));
        assert_eq!(
            std::fs::read_to_string(v2.join("cpu.max")).unwrap().trim(),
            "50000 100000"
        );
    }
    // The workload itself runs inside that cgroup.
    let cg = b.ok(&["exec", &id, "cat", "/proc/self/cgroup"]);
    assert!(
        cg.lines()
            .any(|l| l.contains(":cpu") || l.starts_with("0::")),
        "{cg}"
    );
}

#[test]
fn ulimits_apply_and_an_impossible_hard_limit_is_a_clear_error() {
    let b = berth();
    let out = b.run_ctr(
        &["--rm", "--ulimit", "nofile=256:512"],
        &["sh", "-c", "ulimit -n; ulimit -Hn"],
    );
    assert_eq!(stdout(&out), "256\n512\n");
    let (_, hard) = current_nofile();
    let too_high = format!("nofile=1024:{}", hard + 1);
    let out = b.run_ctr(&["--rm", "--ulimit", &too_high], &["true"]);
    if !has_sys_resource() {
        assert_eq!(out.status.code(), Some(125));
        assert!(
            stderr(&out).contains("CAP_SYS_RESOURCE"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn shm_size_is_applied() {
    let b = berth();
    let out = b.run_ctr(
        &["--rm", "--shm-size", "8m"],
        &["sh", "-c", "df -k /dev/shm | tail -1"],
    );
    assert!(stdout(&out).contains("8192"), "{}", stdout(&out));
}

fn current_nofile() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = s.lines().find(|l| l.starts_with("Max open files")).unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    (f[3].parse().unwrap(), f[4].parse().unwrap())
}

fn has_sys_resource() -> bool {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let eff = s
        .lines()
        .find(|l| l.starts_with("CapEff:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    u64::from_str_radix(&eff, 16).unwrap() & (1 << 24) != 0
}
