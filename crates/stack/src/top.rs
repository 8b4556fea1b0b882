//! `compose top`: the processes of a container, read from its cgroup and /proc, in
//! the columns `ps -ef` prints (UID PID PPID C STIME TTY TIME CMD), as Docker's `top`
//! shows them. Reads /proc; never signals anything.

use std::fs;

use engine::record::Record;
use engine::StateRoot;
use runtime::cgroup::{Cgroup, Layout};

/// Clock ticks per second of /proc's times: USER_HZ, 100 on every Linux ABI berth runs on.
const TICKS: u64 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub uid: String,
    pub pid: i32,
    pub ppid: i32,
    pub stime: String,
    pub tty: String,
    pub time: String,
    pub cmd: String,
}

/// The processes in the container's cgroup, by pid.
pub fn processes(root: &StateRoot, record: &Record) -> Vec<Process> {
    let cg = Cgroup::new(Layout::detect(), root.cgroup_name(&record.id));
    let mut pids: Vec<i32> = cg
        .paths()
        .iter()
        .map(|p| fs::read_to_string(p.join("cgroup.procs")).unwrap_or_default())
        .find(|t| !t.trim().is_empty())
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    pids.sort_unstable();
    let users = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let boot = boot_time();
    pids.into_iter()
        .filter_map(|pid| process(pid, &users, boot))
        .collect()
}

fn boot_time() -> u64 {
    fs::read_to_string("/proc/stat")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0)
}

fn process(pid: i32, users: &str, boot: u64) -> Option<Process> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let (_, rest) = stat.rsplit_once(") ")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // `rest` starts at field 3 (state): field N is at index N - 3.
    let ppid = f.get(1).and_then(|v| v.parse().ok()).unwrap_or(0);
    let tty = field(4);
    let cpu = (field(11) + field(12)) / TICKS;
    let start = boot + field(19) / TICKS;
    let uid = fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next().map(str::to_string))
        .unwrap_or_default();
    let user = users
        .lines()
        .find_map(|l| {
            let mut it = l.split(':');
            let name = it.next()?;
            (it.nth(1)? == uid).then(|| name.to_string())
        })
        .unwrap_or(uid);
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmd = String::from_utf8_lossy(&cmdline)
        .trim_end_matches('\0')
        .replace('\0', " ");
    Some(Process {
        uid: user,
        pid,
        ppid,
        stime: clock(start),
        tty: if tty == 0 {
            "?".into()
        } else {
            format!("{tty}")
        },
        time: format!("{:02}:{:02}:{:02}", cpu / 3600, cpu / 60 % 60, cpu % 60),
        cmd,
    })
}

/// HH:MM of a Unix time, in UTC.
fn clock(secs: u64) -> String {
    let day = secs % 86_400;
    format!("{:02}:{:02}", day / 3600, day / 60 % 60)
}
