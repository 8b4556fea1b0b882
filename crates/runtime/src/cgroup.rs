//! Owns a container's cgroup: creating it on cgroup v1 (one directory per controller
//! hierarchy) or v2 (one unified directory), writing resource limits, placing processes,
//! reading OOM kills, and removing it. Never touches a cgroup it did not create.
//!
//! Hybrid hosts (v1 controllers plus a cgroup2 mount at `unified`, as on the CI host) are
//! treated as v1: the controllers that limit anything live there.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The resource limits berth applies. Converted from the OCI spec's `linux.resources`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// Memory limit in bytes.
    pub memory: Option<i64>,
    /// Memory plus swap in bytes (Docker's `--memory-swap`); -1 means unlimited swap.
    pub memory_swap: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub pids_limit: Option<i64>,
    /// Device access rules in the v1 `devices.allow` syntax (`c 1:3 rwm`), applied after
    /// denying everything; None leaves device access unrestricted (`--privileged`).
    /// On cgroup v2 the same rules become an eBPF device program (`device_filter`).
    pub devices: Option<Vec<String>>,
}

/// Docker's default device rules: creating any node is allowed (`m`), opening only the
/// standard character devices, the ptys and /dev/net/tun.
pub const DEFAULT_DEVICE_RULES: &[&str] = &[
    "c *:* m",
    "b *:* m",
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 1:8 rwm",
    "c 1:9 rwm",
    "c 5:0 rwm",
    "c 5:1 rwm",
    "c 5:2 rwm",
    "c 136:* rwm",
    "c 10:200 rwm",
];

/// Which cgroup hierarchy layout the host has, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// One directory per controller under this root (`/sys/fs/cgroup/<controller>`).
    V1(PathBuf),
    /// The unified hierarchy; new cgroups are created under this directory.
    V2(PathBuf),
}

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const V1_CONTROLLERS: &[&str] = &["memory", "cpu", "pids", "devices"];

impl Layout {
    /// Looks at how `/sys/fs/cgroup` is mounted.
    pub fn detect() -> Layout {
        let root = PathBuf::from("/sys/fs/cgroup");
        if is_cgroup2(&root) {
            Layout::V2(root)
        } else {
            Layout::V1(root)
        }
    }
}

fn is_cgroup2(path: &Path) -> bool {
    crate::sys::statfs_type(path).is_ok_and(|t| t == CGROUP2_SUPER_MAGIC)
}

/// One container's cgroup, named relative to each hierarchy root.
#[derive(Debug, Clone)]
pub struct Cgroup {
    layout: Layout,
    name: String,
}

impl Cgroup {
    pub fn new(layout: Layout, name: impl Into<String>) -> Cgroup {
        Cgroup {
            layout,
            name: name.into(),
        }
    }

    /// Every directory that makes up this cgroup (one per v1 controller, or one on v2).
    pub fn paths(&self) -> Vec<PathBuf> {
        match &self.layout {
            Layout::V1(root) => V1_CONTROLLERS
                .iter()
                .map(|c| root.join(c))
                .filter(|p| p.is_dir())
                .map(|p| p.join(&self.name))
                .collect(),
            Layout::V2(root) => vec![root.join(&self.name)],
        }
    }

    /// Creates the cgroup and writes its limits. Returns warnings for limits the host
    /// cannot enforce (e.g. swap accounting disabled). On error, removes what it made.
    pub fn create(&self, res: &Resources) -> io::Result<Vec<String>> {
        let result = match &self.layout {
            Layout::V1(_) => self.create_v1(res),
            Layout::V2(root) => self.create_v2(root, res),
        };
        if result.is_err() {
            let _ = self.destroy();
        }
        result
    }

    fn create_v1(&self, res: &Resources) -> io::Result<Vec<String>> {
        let mut warnings = Vec::new();
        for dir in self.paths() {
            mkdir(&dir)?;
        }
        let Layout::V1(root) = &self.layout else {
            return Ok(warnings);
        };
        let mem = root.join("memory").join(&self.name);
        if let Some(m) = res.memory {
            write(&mem.join("memory.limit_in_bytes"), &m.to_string())?;
        }
        if let Some(s) = res.memory_swap {
            let f = mem.join("memory.memsw.limit_in_bytes");
            if f.exists() {
                write(&f, &s.to_string())?;
            } else if s > 0 {
                warnings.push(
                    "this kernel does not account swap (no memory.memsw.limit_in_bytes): --memory-swap is not enforced"
                        .to_string(),
                );
            }
        }
        let cpu = root.join("cpu").join(&self.name);
        if let Some(s) = res.cpu_shares {
            write(&cpu.join("cpu.shares"), &s.to_string())?;
        }
        if let Some(p) = res.cpu_period {
            write(&cpu.join("cpu.cfs_period_us"), &p.to_string())?;
        }
        if let Some(q) = res.cpu_quota {
            write(&cpu.join("cpu.cfs_quota_us"), &q.to_string())?;
        }
        if let Some(p) = res.pids_limit {
            let v = if p <= 0 {
                "max".to_string()
            } else {
                p.to_string()
            };
            write(&root.join("pids").join(&self.name).join("pids.max"), &v)?;
        }
        if let Some(rules) = &res.devices {
            let dev = root.join("devices").join(&self.name);
            if dev.is_dir() {
                write(&dev.join("devices.deny"), "a")?;
                for r in rules {
                    write(&dev.join("devices.allow"), r)?;
                }
            }
        }
        Ok(warnings)
    }

    fn create_v2(&self, root: &Path, res: &Resources) -> io::Result<Vec<String>> {
        // Controllers must be enabled in the parent before the child's files appear.
        // Missing ones are fine; a limit that needs one fails below with a clear path.
        let subtree = root.join("cgroup.subtree_control");
        for c in ["+memory", "+pids", "+cpu"] {
            let _ = fs::write(&subtree, c);
        }
        let dir = root.join(&self.name);
        mkdir(&dir)?;
        if let Some(m) = res.memory {
            write(&dir.join("memory.max"), &m.to_string())?;
            if let Some(s) = res.memory_swap {
                let v = if s < 0 {
                    "max".to_string()
                } else {
                    (s - m).max(0).to_string()
                };
                write(&dir.join("memory.swap.max"), &v)?;
            }
        }
        if res.cpu_quota.is_some() || res.cpu_period.is_some() {
            let quota = match res.cpu_quota {
                Some(q) if q > 0 => q.to_string(),
                _ => "max".to_string(),
            };
            let period = res.cpu_period.unwrap_or(100_000);
            write(&dir.join("cpu.max"), &format!("{quota} {period}"))?;
        }
        if let Some(s) = res.cpu_shares {
            write(&dir.join("cpu.weight"), &shares_to_weight(s).to_string())?;
        }
        if let Some(p) = res.pids_limit {
            let v = if p <= 0 {
                "max".to_string()
            } else {
                p.to_string()
            };
            write(&dir.join("pids.max"), &v)?;
        }
        if let Some(rules) = &res.devices {
            // Only a real cgroup2 directory takes a program (the unit tests use a plain
            // directory tree).
            if is_cgroup2(&dir) {
                crate::device_filter::attach(&dir, rules).map_err(|e| {
                    io::Error::new(e.kind(), format!("attaching the device allowlist: {e}"))
                })?;
            }
        }
        Ok(Vec::new())
    }

    /// Moves `pid` into every hierarchy of this cgroup.
    pub fn add_pid(&self, pid: i32) -> io::Result<()> {
        for dir in self.paths() {
            write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Whether the kernel's OOM killer killed a process in this cgroup.
    pub fn oom_killed(&self) -> bool {
        let (file, key) = match &self.layout {
            Layout::V1(root) => (
                root.join("memory")
                    .join(&self.name)
                    .join("memory.oom_control"),
                "oom_kill",
            ),
            Layout::V2(root) => (root.join(&self.name).join("memory.events"), "oom_kill"),
        };
        fs::read_to_string(file)
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    l.strip_prefix(key)
                        .and_then(|v| v.trim().parse::<u64>().ok())
                })
            })
            .is_some_and(|n| n > 0)
    }

    /// Removes every directory of this cgroup. Tolerates ones already gone; retries
    /// briefly while the kernel finishes releasing exiting tasks.
    pub fn destroy(&self) -> io::Result<()> {
        let mut first_err = None;
        for dir in self.paths() {
            let deadline = Instant::now() + Duration::from_millis(500);
            loop {
                match fs::remove_dir(&dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e)
                        if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline =>
                    {
                        // Processes still inside: kill them so the cgroup can go.
                        if let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) {
                            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                                let _ = crate::sys::kill(pid, libc::SIGKILL);
                            }
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => {
                        first_err.get_or_insert(io::Error::new(
                            e.kind(),
                            format!("removing cgroup {}: {e}", dir.display()),
                        ));
                        break;
                    }
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// Docker's mapping of v1 cpu.shares (2..262144) onto v2 cpu.weight (1..10000).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 100;
    }
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

fn mkdir(dir: &Path) -> io::Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("creating cgroup {}: {e}", dir.display()),
        )),
    }
}

fn write(file: &Path, value: &str) -> io::Result<()> {
    fs::write(file, value).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("writing {value} to {}: {e}", file.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake cgroup2 tree: directories plus the files the kernel would create.
    fn fake_v2() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("cgroup.subtree_control"), "").unwrap();
        t
    }

    #[test]
    fn v2_writes_every_limit_in_unified_format() {
        let t = fake_v2();
        let cg = Cgroup::new(Layout::V2(t.path().to_path_buf()), "berth-test");
        let res = Resources {
            memory: Some(64 << 20),
            memory_swap: Some(96 << 20),
            cpu_shares: Some(512),
            cpu_quota: Some(150_000),
            cpu_period: Some(100_000),
            pids_limit: Some(42),
            devices: None,
        };
        cg.create(&res).unwrap();
        let d = t.path().join("berth-test");
        let read = |f: &str| fs::read_to_string(d.join(f)).unwrap();
        assert_eq!(read("memory.max"), (64u64 << 20).to_string());
        assert_eq!(read("memory.swap.max"), (32u64 << 20).to_string());
        assert_eq!(read("cpu.max"), "150000 100000");
        assert_eq!(read("cpu.weight"), shares_to_weight(512).to_string());
        assert_eq!(read("pids.max"), "42");
        assert_eq!(cg.paths(), vec![d.clone()]);
    }

    #[test]
    fn v2_reports_oom_kills_from_memory_events() {
        let t = fake_v2();
        let cg = Cgroup::new(Layout::V2(t.path().to_path_buf()), "c");
        cg.create(&Resources::default()).unwrap();
        let d = t.path().join("c");
        fs::write(
            d.join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n",
        )
        .unwrap();
        assert!(!cg.oom_killed());
        fs::write(
            d.join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        )
        .unwrap();
        assert!(cg.oom_killed());
    }

    #[test]
    fn v2_unlimited_swap_and_pids() {
        let t = fake_v2();
        let cg = Cgroup::new(Layout::V2(t.path().to_path_buf()), "c");
        let res = Resources {
            memory: Some(1 << 20),
            memory_swap: Some(-1),
            pids_limit: Some(-1),
            ..Default::default()
        };
        cg.create(&res).unwrap();
        let d = t.path().join("c");
        assert_eq!(
            fs::read_to_string(d.join("memory.swap.max")).unwrap(),
            "max"
        );
        assert_eq!(fs::read_to_string(d.join("pids.max")).unwrap(), "max");
    }

    #[test]
    fn shares_map_like_docker() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10000);
    }
}
