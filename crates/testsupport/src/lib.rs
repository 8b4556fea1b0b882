//! Test support for berth's integration tests: a private state root per test, the
//! busybox fixture root filesystem, a runner for the berth binary, and a leak check that
//! fails the test if containers, monitors, mounts or cgroups outlive it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: failing loudly is the point

pub mod build;
pub mod oci;
pub mod probe;
pub mod registry;

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Builds (once per test process) a busybox root filesystem like
/// shared/fixtures/busybox-rootfs.sh: /bin/busybox with every applet linked, users root,
/// app (1000:1000) and nobody, and /tmp, /www, /data, /root, /home/app.
pub fn busybox_rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        let base = std::env::temp_dir().join("berth-test-fixtures");
        fs::create_dir_all(&base).expect("fixture dir");
        let dir = base.join("busybox-rootfs-v1");
        if dir.join("bin/busybox").exists() {
            return dir;
        }
        let tmp = base.join(format!("busybox-rootfs.tmp{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        build_busybox(&tmp);
        // Parallel test binaries may race here: whoever renames first wins.
        if fs::rename(&tmp, &dir).is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        dir
    })
}

fn build_busybox(dir: &Path) {
    let bb = Path::new("/bin/busybox");
    assert!(
        bb.exists(),
        "tests need a static /bin/busybox: apt-get install busybox-static"
    );
    for d in [
        "bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "www", "data", "root", "home/app",
        "proc", "sys", "dev",
    ] {
        fs::create_dir_all(dir.join(d)).expect("mkdir");
    }
    fs::copy(bb, dir.join("bin/busybox")).expect("copy busybox");
    let list = Command::new(bb)
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" && !dir.join("bin").join(applet).exists() {
            symlink("busybox", dir.join("bin").join(applet)).expect("applet link");
        }
    }
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir.join("tmp"), fs::Permissions::from_mode(0o1777)).expect("chmod tmp");
    fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .expect("passwd");
    fs::write(
        dir.join("etc/group"),
        "root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n",
    )
    .expect("group");
    std::os::unix::fs::chown(dir.join("home/app"), Some(1000), Some(1000)).expect("chown");
    fs::write(dir.join("www/index.html"), "hello from the image\n").expect("www");
    fs::write(dir.join("data/seed.txt"), "seeded\n").expect("seed");
}

/// The berth configuration of every test root (see [`Berth::new`]).
pub const TEST_CONFIG: &str = r#"{"dns": ["127.0.0.1"]}"#;

/// A private berth state root and a way to run berth against it.
pub struct Berth {
    bin: PathBuf,
    root: tempfile::TempDir,
    tag: String,
    ids: std::cell::RefCell<HashSet<String>>,
    env: std::cell::RefCell<Vec<(String, String)>>,
}

impl Berth {
    /// `bin` is `env!("CARGO_BIN_EXE_berth")` of the calling test.
    pub fn new(bin: &str) -> Berth {
        let root = tempfile::Builder::new()
            .prefix("berth-test-")
            .tempdir()
            .expect("temp root");
        let tag = engine::StateRoot::open(root.path())
            .expect("state root")
            .tag();
        // Containers never ask the host's resolvers (tests reach only loopback and
        // their own namespaces): the default DNS server is loopback, where nothing
        // answers, so a lookup of an outside name fails at once.
        fs::create_dir_all(root.path().join("config")).expect("config dir");
        fs::write(root.path().join("config/config.json"), TEST_CONFIG).expect("config.json");
        Berth {
            bin: PathBuf::from(bin),
            root,
            tag,
            ids: Default::default(),
            env: Default::default(),
        }
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn rootfs(&self) -> String {
        busybox_rootfs().to_string_lossy().into_owned()
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        // Credentials and registry settings stay inside the test's root too.
        c.env("BERTH_ROOT", self.root.path())
            .env("DOCKER_CONFIG", self.root.path().join("docker-config"))
            .env("BERTH_CONFIG", self.root.path().join("config"))
            .env_remove("REGISTRY_AUTH_FILE")
            .stdin(Stdio::null());
        for (k, v) in self.env.borrow().iter() {
            c.env(k, v);
        }
        c
    }

    /// Sets an environment variable for every later berth command of this root.
    pub fn set_env(&self, key: &str, value: &str) {
        let mut env = self.env.borrow_mut();
        env.retain(|(k, _)| k != key);
        env.push((key.to_string(), value.to_string()));
    }

    /// Gives this root the subordinate id range `start:count` for `--userns=auto` (in
    /// files of its own, named by BERTH_SUBUID and BERTH_SUBGID).
    pub fn subids(&self, start: u32, count: u32) {
        let line = format!("nobody:1:1\nberth:{start}:{count}\n");
        for (var, file) in [("BERTH_SUBUID", "subuid"), ("BERTH_SUBGID", "subgid")] {
            let path = self.root.path().join(file);
            fs::write(&path, &line).expect("subid file");
            self.set_env(var, &path.to_string_lossy());
        }
    }

    fn track(&self) {
        if let Ok(entries) = fs::read_dir(self.root.path().join("containers")) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.len() == 64 {
                    self.ids.borrow_mut().insert(n);
                }
            }
        }
    }

    /// Runs berth with `args`; returns its output whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd().args(args).output().expect("running berth");
        self.track();
        out
    }

    /// Runs berth and asserts success; returns trimmed stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "berth {args:?} failed with {:?}\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs a container from the fixture rootfs: `berth run <opts> --rootfs R <cmd>`.
    pub fn run_ctr(&self, opts: &[&str], cmd: &[&str]) -> Output {
        let rootfs = self.rootfs();
        let mut args: Vec<&str> = vec!["run"];
        args.extend_from_slice(opts);
        args.extend_from_slice(&["--rootfs", &rootfs]);
        args.extend_from_slice(cmd);
        self.run(&args)
    }

    /// Starts a detached container; returns its id.
    pub fn detached(&self, opts: &[&str], cmd: &[&str]) -> String {
        let mut o = vec!["-d"];
        o.extend_from_slice(opts);
        let out = self.run_ctr(&o, cmd);
        assert!(
            out.status.success(),
            "run -d failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Polls `f` until it returns true or `secs` pass.
    pub fn eventually(&self, secs: u64, mut f: impl FnMut() -> bool) -> bool {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        f()
    }

    /// Everything of this root still alive on the host: processes (berth processes carry
    /// the root in their environment or command line; workloads sit in its cgroups),
    /// mounts, cgroups.
    pub fn leaks(&self) -> Vec<String> {
        let mut leaks = Vec::new();
        let root = self.root.path().to_string_lossy().into_owned();
        let cg_prefix = format!("berth-{}-", self.tag);
        if let Ok(procs) = fs::read_dir("/proc") {
            for p in procs.flatten() {
                let pid = p.file_name().to_string_lossy().into_owned();
                if !pid.chars().all(|c| c.is_ascii_digit()) {
                    continue;
                }
                let stat = fs::read_to_string(p.path().join("stat")).unwrap_or_default();
                if stat
                    .rsplit_once(") ")
                    .is_some_and(|(_, r)| r.starts_with('Z'))
                {
                    continue; // zombies hold nothing (this host's PID 1 does not reap)
                }
                let cmdline = fs::read(p.path().join("cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                let cgroup = fs::read_to_string(p.path().join("cgroup")).unwrap_or_default();
                // Monitors are forks of the CLI, which got the root through BERTH_ROOT.
                let environ = fs::read(p.path().join("environ")).unwrap_or_default();
                let ours = environ
                    .split(|b| *b == 0)
                    .any(|e| e == format!("BERTH_ROOT={root}").as_bytes());
                if cmdline.contains(&root) || cgroup.contains(&cg_prefix) || ours {
                    leaks.push(format!("process {pid}: {cmdline}"));
                }
            }
        }
        for line in fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
        {
            if line.contains(&root) {
                leaks.push(format!("mount: {line}"));
            }
        }
        // cgroup v2 puts ours right under /sys/fs/cgroup, v1 one level down.
        let top: Vec<PathBuf> = fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        let mut candidates = top.clone();
        for t in &top {
            candidates.extend(
                fs::read_dir(t)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path()),
            );
        }
        for c in candidates {
            if c.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&cg_prefix))
            {
                leaks.push(format!("cgroup: {}", c.display()));
            }
        }
        leaks
    }

    /// Network leftovers of this root: veths of its containers, bridges of networks it
    /// had, its nftables table.
    pub fn network_leaks(&self, bridges: &[String]) -> Vec<String> {
        let mut leaks = Vec::new();
        let ids: Vec<String> = self.ids.borrow().iter().cloned().collect();
        for e in fs::read_dir("/sys/class/net")
            .into_iter()
            .flatten()
            .flatten()
        {
            let n = e.file_name().to_string_lossy().into_owned();
            if bridges.contains(&n)
                || ids
                    .iter()
                    .any(|id| n.starts_with(&format!("vb{}", &id[..7])))
            {
                leaks.push(format!("link: {n}"));
            }
        }
        let table = format!("berth-{}", self.tag);
        let tables = Command::new("nft").args(["list", "tables"]).output();
        if let Ok(out) = tables {
            if String::from_utf8_lossy(&out.stdout).contains(&table) {
                leaks.push(format!("nftables table inet {table}"));
            }
        }
        leaks
    }

    /// Asserts that nothing of this root is left once every container is gone.
    pub fn assert_no_leaks(&self) {
        let ok = self.eventually(5, || self.leaks().is_empty());
        assert!(ok, "leaked: {:#?}", self.leaks());
    }

    /// Removes every container of this root (force), then checks for leaks.
    pub fn cleanup(&self) {
        self.track();
        let ids: Vec<String> = self.ids.borrow().iter().cloned().collect();
        for id in ids {
            if self.root.path().join("containers").join(&id).exists() {
                let _ = self.cmd().args(["rm", "-f", &id]).output();
            }
        }
        self.assert_no_leaks();
        let bridges = self.remove_networks();
        let ok = self.eventually(5, || self.network_leaks(&bridges).is_empty());
        assert!(ok, "leaked: {:#?}", self.network_leaks(&bridges));
    }

    /// Removes every network of this root (the default one too) and its firewall table;
    /// returns the bridges they had.
    pub fn remove_networks(&self) -> Vec<String> {
        let Ok(root) = engine::StateRoot::open(self.root.path()) else {
            return Vec::new();
        };
        let bridges = engine::networks::bridges(&root);
        if root.dir().join("networks").exists() {
            let _ = engine::networks::remove_all(&root);
        }
        bridges
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Still clean up, but don't double-panic on leaks.
            let ids: Vec<String> = self.ids.borrow().iter().cloned().collect();
            for id in ids {
                let _ = self.cmd().args(["rm", "-f", &id]).output();
            }
            self.remove_networks();
            return;
        }
        self.cleanup();
    }
}

/// Runs `script` with `sh -c` in a throwaway container (`run --rm OPTS`) from the
/// fixture rootfs; returns (exit code, stdout, stderr).
pub fn sh(b: &Berth, opts: &[&str], script: &str) -> (i32, String, String) {
    let out = b.run_ctr(&[&["--rm"], opts].concat(), &["sh", "-c", script]);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
