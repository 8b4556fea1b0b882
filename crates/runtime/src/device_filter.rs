//! The device allowlist on cgroup v2, where there is no `devices.allow` file: a small
//! eBPF program of type CGROUP_DEVICE, built here from the same rules as v1's
//! (`c 1:3 rwm`, `b *:* m`, `a`), loaded and attached to the container's cgroup. The
//! kernel asks it on every open or mknod of a device node: 1 allows, 0 refuses (EPERM).
//!
//! Hand-written because the program is ten instructions per rule and a BPF toolchain
//! (aya, libbpf) would be a heavy dependency for it. Never attaches to a cgroup it was
//! not given, and never leaves a program attached: the attachment dies with the cgroup.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

/// One allowlist rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    /// 1 block, 2 char (the kernel's BPF_DEVCG_DEV_*); None: both.
    kind: Option<u32>,
    major: Option<u32>,
    minor: Option<u32>,
    /// BPF_DEVCG_ACC_MKNOD 1, READ 2, WRITE 4.
    access: u32,
}

fn parse_rule(rule: &str) -> Result<Rule, String> {
    let bad =
        || format!("invalid device rule {rule:?}: use TYPE MAJOR:MINOR ACCESS, e.g. c 1:3 rwm");
    let mut parts = rule.split_whitespace();
    let kind = match parts.next() {
        Some("a") => {
            return Ok(Rule {
                kind: None,
                major: None,
                minor: None,
                access: 7,
            })
        }
        Some("b") => Some(1),
        Some("c") => Some(2),
        _ => return Err(bad()),
    };
    let (maj, min) = parts
        .next()
        .and_then(|n| n.split_once(':'))
        .ok_or_else(bad)?;
    let num = |s: &str| -> Result<Option<u32>, String> {
        if s == "*" {
            Ok(None)
        } else {
            s.parse().map(Some).map_err(|_| bad())
        }
    };
    let mut access = 0;
    for c in parts.next().ok_or_else(bad)?.chars() {
        access |= match c {
            'm' => 1,
            'r' => 2,
            'w' => 4,
            _ => return Err(bad()),
        };
    }
    Ok(Rule {
        kind,
        major: num(maj)?,
        minor: num(min)?,
        access,
    })
}

/// eBPF instructions as the kernel's `struct bpf_insn` (little-endian layout).
fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> u64 {
    (code as u64)
        | (((dst & 0xf) as u64) << 8)
        | (((src & 0xf) as u64) << 12)
        | ((off as u16 as u64) << 16)
        | ((imm as u32 as u64) << 32)
}

const LDX_W: u8 = 0x61; // r_dst = *(u32 *)(r_src + off)
const MOV_REG: u8 = 0xbf;
const MOV_IMM: u8 = 0xb7;
const AND_IMM: u8 = 0x57;
const RSH_IMM: u8 = 0x77;
const JNE_IMM: u8 = 0x55;
const EXIT: u8 = 0x95;

/// The program for `rules`: the first rule that covers the access allows it.
fn program(rules: &[Rule]) -> Vec<u64> {
    // r1 = ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; }
    let mut p = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(MOV_REG, 3, 2, 0, 0),
        insn(AND_IMM, 3, 0, 0, 0xffff),
        insn(RSH_IMM, 2, 0, 0, 16),
        insn(LDX_W, 4, 1, 4, 0),
        insn(LDX_W, 5, 1, 8, 0),
    ];
    for r in rules {
        let mut checks: Vec<(u8, i32)> = Vec::new();
        if let Some(k) = r.kind {
            checks.push((3, k as i32));
        }
        if let Some(m) = r.major {
            checks.push((4, m as i32));
        }
        if let Some(m) = r.minor {
            checks.push((5, m as i32));
        }
        // Each check jumps past the rest of this rule's block when it does not match.
        let block_len = checks.len() + 3 + 2;
        for (i, (reg, val)) in checks.iter().enumerate() {
            let skip = (block_len - i - 1) as i16;
            p.push(insn(JNE_IMM, *reg, 0, skip, *val));
        }
        // The access asked for must be inside the rule's: (access & !allowed) == 0.
        p.push(insn(MOV_REG, 6, 2, 0, 0));
        p.push(insn(AND_IMM, 6, 0, 0, !(r.access as i32) & 7));
        p.push(insn(JNE_IMM, 6, 0, 2, 0));
        p.push(insn(MOV_IMM, 0, 0, 0, 1));
        p.push(insn(EXIT, 0, 0, 0, 0));
    }
    p.push(insn(MOV_IMM, 0, 0, 0, 0));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

/// Loads the allowlist `rules` and attaches it to the cgroup v2 directory `cgroup`.
pub fn attach(cgroup: &Path, rules: &[String]) -> io::Result<()> {
    let parsed = rules
        .iter()
        .map(|r| parse_rule(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let insns = program(&parsed);
    let prog: OwnedFd = crate::sys::bpf_load_cgroup_device(&insns)?;
    let dir = std::fs::File::open(cgroup)?;
    crate::sys::bpf_attach_cgroup_device(dir.as_raw_fd(), prog.as_raw_fd())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(r: &[&str]) -> Vec<Rule> {
        r.iter().map(|s| parse_rule(s).unwrap()).collect()
    }

    /// Runs the program the way the kernel would, to check the jumps.
    fn eval(p: &[u64], kind: u32, access: u32, major: u32, minor: u32) -> u64 {
        let mut r = [0u64; 11];
        let ctx = [(access << 16) | kind, major, minor];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let code = (i & 0xff) as u8;
            let dst = ((i >> 8) & 0xf) as usize;
            let src = ((i >> 12) & 0xf) as usize;
            let off = ((i >> 16) & 0xffff) as u16 as i16;
            let imm = (i >> 32) as u32 as i32;
            pc += 1;
            match code {
                LDX_W => r[dst] = ctx[off as usize / 4] as u64,
                MOV_REG => r[dst] = r[src],
                MOV_IMM => r[dst] = imm as i64 as u64,
                AND_IMM => r[dst] &= imm as i64 as u64,
                RSH_IMM => r[dst] >>= imm,
                JNE_IMM => {
                    if r[dst] != imm as i64 as u64 {
                        pc = (pc as isize + off as isize) as usize;
                    }
                }
                EXIT => return r[0],
                _ => panic!("unknown opcode {code:#x}"),
            }
        }
    }

    #[test]
    fn the_allowlist_decides_like_v1() {
        let p = program(&rules(&["c *:* m", "b *:* m", "c 1:3 rwm", "c 136:* rw"]));
        assert_eq!(eval(&p, 2, 2 | 4, 1, 3), 1, "read+write /dev/null");
        assert_eq!(eval(&p, 2, 2, 1, 5), 0, "read /dev/zero: not listed");
        assert_eq!(eval(&p, 1, 2, 8, 0), 0, "read a disk");
        assert_eq!(eval(&p, 1, 1, 8, 0), 1, "mknod a disk");
        assert_eq!(eval(&p, 2, 2, 136, 7), 1, "a pty");
        // As in v1, one rule must cover the whole access asked for.
        assert_eq!(eval(&p, 2, 1 | 2, 136, 7), 0, "mknod+read spans two rules");
        assert_eq!(eval(&p, 2, 1, 136, 7), 1, "mknod alone: c *:* m");
        assert_eq!(eval(&p, 1, 2, 136, 7), 0, "block 136:7");
        let all = program(&rules(&["a"]));
        assert_eq!(eval(&all, 1, 7, 8, 0), 1);
        assert_eq!(eval(&program(&[]), 2, 2, 1, 3), 0);
        for bad in ["x 1:3 r", "c 1 r", "c 1:3 rx", "c a:3 r", "c 1:3"] {
            assert!(parse_rule(bad).is_err(), "{bad}");
        }
    }

    /// On a host with a cgroup2 mount, the program really gates opens.
    #[test]
    fn an_attached_program_refuses_unlisted_devices() {
        let base = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .into_iter()
            .map(Path::new)
            .find(|p| {
                crate::sys::statfs_type(p).is_ok_and(|t| t == 0x6367_7270)
                    && p.join("cgroup.procs").exists()
            });
        let Some(base) = base else {
            eprintln!("skipped: no cgroup2 mount");
            return;
        };
        let dir = base.join(format!("berth-devtest-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let rules: Vec<String> = ["c 1:3 rw"].iter().map(|s| s.to_string()).collect();
        attach(&dir, &rules).unwrap();
        let code = match crate::sys::fork().unwrap() {
            crate::sys::Forked::Child => {
                let ok = std::fs::write(dir.join("cgroup.procs"), crate::sys::getpid().to_string())
                    .is_ok()
                    && std::fs::File::open("/dev/null").is_ok()
                    && std::fs::File::open("/dev/zero")
                        .err()
                        .and_then(|e| e.raw_os_error())
                        == Some(libc::EPERM);
                crate::sys::exit_now(if ok { 0 } else { 1 })
            }
            crate::sys::Forked::Parent(pid) => loop {
                match crate::sys::waitpid(pid, 0) {
                    Ok(Some((_, status))) => break status,
                    Ok(None) => continue,
                    Err(e) => panic!("{e}"),
                }
            },
        };
        let _ = std::fs::remove_dir(&dir);
        assert_eq!(code, 0, "/dev/null opens, /dev/zero is refused with EPERM");
    }
}
