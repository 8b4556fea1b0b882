//! The compiler checked by running its programs in a BPF interpreter: berth's default
//! profile, 64-bit comparison edges, rule order, random profiles against a reference
//! evaluator, and the profile parser's errors.

use std::str::FromStr;
use std::time::Instant;

use super::bpf::{JMP_JA, RET_KILL_PROCESS, X32_SYSCALL_BIT};
use super::interp::{eval_resolved, holds, run, Call};
use super::profile::{syscall_number, KernelVersion, Op};
use super::*;

const ALLOW: u32 = 0x7fff_0000;
const fn errno(e: i32) -> u32 {
    0x0005_0000 | e as u32
}
const EPERM: u32 = errno(libc::EPERM);

fn caps(extra: &[&str]) -> Vec<String> {
    crate::DEFAULT_CAPABILITIES
        .iter()
        .chain(extra)
        .map(|c| c.to_string())
        .collect()
}

fn kernel(release: &str) -> KernelVersion {
    KernelVersion::from_release(release)
}

/// A compiled default profile for one architecture and capability set.
struct Filter {
    arch: Arch,
    prog: Program,
}

impl Filter {
    fn default_profile(arch: Arch, extra_caps: &[&str]) -> Filter {
        Filter::of(&Profile::berth_default(), arch, &caps(extra_caps))
    }

    fn of(profile: &Profile, arch: Arch, caps: &[String]) -> Filter {
        let prog = compile_at(profile, arch, caps, kernel("6.8.0")).unwrap();
        Filter { arch, prog }
    }

    fn nr(&self, name: &str) -> u32 {
        syscall_number(self.arch, name).unwrap_or_else(|| panic!("{name} on {}", self.arch))
    }

    fn call(&self, name: &str, args: &[u64]) -> u32 {
        self.raw(self.arch.audit_arch(), self.nr(name), args)
    }

    fn raw(&self, arch: u32, nr: u32, args: &[u64]) -> u32 {
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        run(self.prog.insns(), &Call { arch, nr, args: a }).0
    }
}

const BOTH: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

#[test]
fn default_profile_allows_ordinary_calls() {
    for arch in BOTH {
        let f = Filter::default_profile(arch, &[]);
        for name in [
            "read",
            "write",
            "openat",
            "futex",
            "execve",
            "exit_group",
            "getpid",
        ] {
            assert_eq!(f.call(name, &[]), ALLOW, "{name} on {arch}");
        }
        assert_eq!(
            f.call("chroot", &[]),
            ALLOW,
            "CAP_SYS_CHROOT is a default capability"
        );
        assert_eq!(f.call("ptrace", &[]), ALLOW, "ptrace on a kernel >= 4.8");
        assert_eq!(f.call("name_to_handle_at", &[]), ALLOW);
    }
    let f = Filter::default_profile(Arch::X86_64, &[]);
    assert_eq!(f.call("arch_prctl", &[]), ALLOW);
}

#[test]
fn default_profile_refuses_what_docker_refuses() {
    let refused = [
        "mount",
        "umount2",
        "pivot_root",
        "keyctl",
        "add_key",
        "request_key",
        "bpf",
        "perf_event_open",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "open_by_handle_at",
        "settimeofday",
        "clock_settime",
        "reboot",
        "swapon",
        "swapoff",
        "acct",
        "quotactl",
        "userfaultfd",
        "syslog",
        "fanotify_init",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "unshare",
        "setns",
        "sethostname",
        "setdomainname",
        "kcmp",
        "pidfd_getfd",
        "vhangup",
        "mbind",
    ];
    for arch in BOTH {
        let f = Filter::default_profile(arch, &[]);
        for name in refused {
            assert_eq!(f.call(name, &[]), EPERM, "{name} on {arch}");
        }
    }
    let f = Filter::default_profile(Arch::X86_64, &[]);
    for name in ["iopl", "ioperm", "lookup_dcookie", "umount", "stime"] {
        if let Some(nr) = syscall_number(Arch::X86_64, name) {
            assert_eq!(f.raw(Arch::X86_64.audit_arch(), nr, &[]), EPERM, "{name}");
        }
    }
}

#[test]
fn default_profile_checks_clone_flags_and_refuses_clone3() {
    const CLONE_NEWUSER: u64 = 0x1000_0000;
    const CLONE_NEWNET: u64 = 0x4000_0000;
    const THREAD_FLAGS: u64 = 0x003d_0f00; // what glibc's pthread_create passes
    for arch in BOTH {
        let f = Filter::default_profile(arch, &[]);
        assert_eq!(
            f.call("clone", &[libc::SIGCHLD as u64]),
            ALLOW,
            "fork-like clone"
        );
        assert_eq!(f.call("clone", &[THREAD_FLAGS]), ALLOW, "thread clone");
        assert_eq!(f.call("clone", &[CLONE_NEWUSER | 17]), EPERM);
        assert_eq!(f.call("clone", &[CLONE_NEWNET]), EPERM);
        assert_eq!(
            f.call("clone", &[1 << 40 | 17]),
            ALLOW,
            "high bits carry no namespace"
        );
        assert_eq!(f.call("clone3", &[]), errno(libc::ENOSYS));

        let admin = Filter::default_profile(arch, &["CAP_SYS_ADMIN"]);
        assert_eq!(admin.call("clone", &[CLONE_NEWUSER]), ALLOW);
        assert_eq!(admin.call("clone3", &[]), ALLOW);
        for name in ["mount", "umount2", "unshare", "setns", "sethostname", "bpf"] {
            assert_eq!(admin.call(name, &[]), ALLOW, "{name} with CAP_SYS_ADMIN");
        }
        assert_eq!(
            admin.call("keyctl", &[]),
            EPERM,
            "no capability opens the keyring"
        );
    }
}

#[test]
fn default_profile_personality_and_socket_arguments() {
    const AF_INET: u64 = libc::AF_INET as u64;
    const AF_VSOCK: u64 = libc::AF_VSOCK as u64;
    for arch in BOTH {
        let f = Filter::default_profile(arch, &[]);
        for ok in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
            assert_eq!(f.call("personality", &[ok]), ALLOW, "personality({ok:#x})");
        }
        for bad in [0x40_0000, 0x0400_0000, 1 << 32 | 8, u64::MAX] {
            assert_eq!(
                f.call("personality", &[bad]),
                EPERM,
                "personality({bad:#x})"
            );
        }
        assert_eq!(f.call("socket", &[AF_INET, 1, 0]), ALLOW);
        assert_eq!(f.call("socket", &[libc::AF_NETLINK as u64]), ALLOW);
        assert_eq!(f.call("socket", &[AF_VSOCK, 1, 0]), EPERM);
        // The kernel reads the family as an int: a high bit must not get vsock through.
        assert_eq!(f.call("socket", &[1 << 32 | AF_VSOCK]), EPERM);
    }
}

#[test]
fn default_profile_capability_groups() {
    let cases = [
        ("CAP_SYS_BOOT", "reboot"),
        ("CAP_SYS_MODULE", "finit_module"),
        ("CAP_SYS_PACCT", "acct"),
        ("CAP_SYS_PTRACE", "kcmp"),
        ("CAP_SYS_TIME", "clock_settime"),
        ("CAP_SYS_TTY_CONFIG", "vhangup"),
        ("CAP_SYS_NICE", "mbind"),
        ("CAP_SYSLOG", "syslog"),
        ("CAP_BPF", "bpf"),
        ("CAP_PERFMON", "perf_event_open"),
        ("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
    ];
    for arch in BOTH {
        for (cap, name) in cases {
            assert_eq!(
                Filter::default_profile(arch, &[]).call(name, &[]),
                EPERM,
                "{name}"
            );
            let f = Filter::default_profile(arch, &[cap]);
            assert_eq!(f.call(name, &[]), ALLOW, "{name} with {cap} on {arch}");
        }
    }
    // Capability names are matched however they are spelled.
    let f = Filter::of(
        &Profile::berth_default(),
        Arch::X86_64,
        &["sys_boot".into()],
    );
    assert_eq!(f.call("reboot", &[]), ALLOW);
    let f = Filter::default_profile(Arch::X86_64, &["CAP_SYS_RAWIO"]);
    assert_eq!(f.call("iopl", &[]), ALLOW);
}

#[test]
fn default_profile_architecture_checks() {
    for arch in BOTH {
        let f = Filter::default_profile(arch, &[]);
        let read = f.nr("read");
        assert_eq!(
            f.raw(0x4000_0003, read, &[]),
            RET_KILL_PROCESS,
            "i386 on {arch}"
        );
        assert_eq!(
            f.raw(0x4000_0028, read, &[]),
            RET_KILL_PROCESS,
            "arm on {arch}"
        );
        assert_eq!(f.raw(arch.audit_arch(), 1000, &[]), EPERM, "unknown number");
        assert_eq!(f.raw(arch.audit_arch(), u32::MAX, &[]), EPERM);
    }
    let f = Filter::default_profile(Arch::X86_64, &[]);
    let x32_read = X32_SYSCALL_BIT | f.nr("read");
    assert_eq!(
        f.raw(Arch::X86_64.audit_arch(), x32_read, &[]),
        EPERM,
        "x32 ABI"
    );
    let other = Filter::default_profile(Arch::Aarch64, &[]);
    assert_eq!(
        other.raw(Arch::X86_64.audit_arch(), 0, &[]),
        RET_KILL_PROCESS
    );
}

#[test]
fn min_kernel_follows_the_kernel_version() {
    let profile = Profile::berth_default();
    let old = compile_at(
        &profile,
        Arch::X86_64,
        &caps(&[]),
        kernel("4.4.0-210-generic"),
    )
    .unwrap();
    let new = compile_at(&profile, Arch::X86_64, &caps(&[]), kernel("4.8")).unwrap();
    let ptrace = syscall_number(Arch::X86_64, "ptrace").unwrap();
    let call = Call {
        arch: Arch::X86_64.audit_arch(),
        nr: ptrace,
        args: [0; 6],
    };
    assert_eq!(run(old.insns(), &call).0, EPERM);
    assert_eq!(run(new.insns(), &call).0, ALLOW);
    assert!(kernel("6.18.44-fc-v782") > kernel("4.8"));
    assert_eq!(kernel("5.10.0-rc1"), kernel("5.10"));
}

/// The filter is a search tree, so an allowed call runs few instructions.
#[test]
fn default_profile_is_a_shallow_search() {
    for arch in BOTH {
        let f = Filter::default_profile(arch, &[]);
        let mut worst = 0;
        for nr in 0..600 {
            let call = Call {
                arch: arch.audit_arch(),
                nr,
                args: [0; 6],
            };
            worst = worst.max(run(f.prog.insns(), &call).1);
        }
        println!(
            "{arch}: {} instructions, at most {worst} run per call",
            f.prog.len()
        );
        assert!(
            worst <= 20,
            "{worst} instructions run for one call on {arch}"
        );
    }
}

#[test]
fn default_profile_compile_time() {
    let caps = caps(&[]);
    let profile = Profile::berth_default();
    let start = Instant::now();
    let n = 200;
    for _ in 0..n {
        compile(&profile, Arch::X86_64, &caps).unwrap();
    }
    let per = start.elapsed() / n;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(Profile::berth_default());
    }
    let build = start.elapsed() / n;
    let len = compile(&profile, Arch::X86_64, &caps).unwrap().len();
    println!("compile(berth default, x86_64): {per:?} per compile, {len} instructions; building the profile: {build:?}");
}

/// Every op against values whose high and low halves sit just below, at and above
/// the compared value's, so both halves decide at least once.
#[test]
fn comparisons_are_64_bit() {
    let values: [u64; 6] = [
        0x0000_0001_0000_0005,
        0x0000_0005_ffff_ffff,
        0x8000_0000_0000_0000,
        0xffff_ffff_0000_0000,
        0x0000_0000_ffff_ffff,
        7,
    ];
    let ops = [
        Op::NotEqual,
        Op::LessThan,
        Op::LessEqual,
        Op::Equal,
        Op::GreaterEqual,
        Op::GreaterThan,
    ];
    for value in values {
        let (vh, vl) = (value >> 32, value & 0xffff_ffff);
        let mut probes = vec![0, u64::MAX, value];
        for h in [vh.wrapping_sub(1), vh, vh + 1] {
            for l in [vl.wrapping_sub(1), vl, vl + 1] {
                probes.push((h & 0xffff_ffff) << 32 | (l & 0xffff_ffff));
            }
        }
        for op in ops {
            check_op(op, value, 0, &probes);
        }
        for (mask, want) in [
            (value, value),
            (0xffff_ffff_0000_0000, value & 0xffff_ffff_0000_0000),
            (0x0000_00ff_0000_ff00, value & 0x0000_00ff_0000_ff00),
            (0, 0),
            (0, 1),
            (0x0f, 0xf0),
        ] {
            check_op(Op::MaskedEqual, mask, want, &probes);
        }
    }
}

fn check_op(op: Op, value: u64, value_two: u64, probes: &[u64]) {
    let json = format!(
        r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
              "args": [{{"index": 3, "value": {value}, "valueTwo": {value_two}, "op": "{}"}}]}}]}}"#,
        op.as_str()
    );
    let profile = Profile::from_json(json.as_bytes()).unwrap();
    for arch in BOTH {
        let f = Filter::of(&profile, arch, &[]);
        for &p in probes {
            let want = if holds(op, p, value, value_two) {
                errno(13)
            } else {
                ALLOW
            };
            assert_eq!(
                f.call("getppid", &[0, 0, 0, p]),
                want,
                "{} arg {p:#x} value {value:#x} value2 {value_two:#x}",
                op.as_str()
            );
        }
    }
}

#[test]
fn several_rules_for_one_syscall_first_match_wins() {
    let json = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"name": "getpid", "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getpid", "gettid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 6,
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_GE"},
                  {"index": 1, "value": 100, "op": "SCMP_CMP_LT"}]},
        {"name": "getpid", "action": "SCMP_ACT_ERRNO", "errnoRet": 7},
        {"name": "getpid", "action": "SCMP_ACT_KILL_PROCESS",
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
        {"name": "gettid", "action": "SCMP_ACT_TRAP"}
    ]}"#;
    let profile = Profile::from_json(json.as_bytes()).unwrap();
    for arch in BOTH {
        let f = Filter::of(&profile, arch, &[]);
        assert_eq!(f.call("getpid", &[1, 500]), errno(5));
        assert_eq!(f.call("getpid", &[2, 99]), errno(6));
        assert_eq!(
            f.call("getpid", &[2, 100]),
            errno(7),
            "second condition fails"
        );
        assert_eq!(
            f.call("getpid", &[0]),
            errno(7),
            "an unconditional rule shadows later ones"
        );
        assert_eq!(f.call("gettid", &[3, 5]), errno(6));
        assert_eq!(f.call("gettid", &[0, 5]), 0x0003_0000);
        assert_eq!(f.call("getppid", &[]), ALLOW);
    }
}

/// A rule longer than a conditional jump can cross: its failing comparisons reach the
/// next rule through trampolines.
#[test]
fn long_rules_use_trampolines() {
    let excluded: Vec<u64> = (0..90).map(|i| i * 3 + (i << 33)).collect();
    let args: Vec<String> = excluded
        .iter()
        .map(|v| format!(r#"{{"index": 2, "value": {v}, "op": "SCMP_CMP_NE"}}"#))
        .collect();
    let json = format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {{"name": "getppid", "action": "SCMP_ACT_ALLOW", "args": [{}]}},
            {{"name": "getppid", "action": "SCMP_ACT_ERRNO", "errnoRet": 22}}]}}"#,
        args.join(",")
    );
    let profile = Profile::from_json(json.as_bytes()).unwrap();
    for arch in BOTH {
        let f = Filter::of(&profile, arch, &[]);
        assert!(
            f.prog.insns().iter().any(|i| i.code == JMP_JA),
            "no trampoline"
        );
        assert!(f.prog.len() > 300);
        for v in &excluded {
            assert_eq!(f.call("getppid", &[0, 0, *v]), errno(22), "{v:#x}");
        }
        for v in [1, 2, 4, 1 << 33, u64::MAX] {
            assert_eq!(f.call("getppid", &[0, 0, v]), ALLOW, "{v:#x}");
        }
        assert_eq!(f.call("getpid", &[]), EPERM);
    }
}

#[test]
fn too_long_a_program_is_refused() {
    let args: Vec<String> = (0..1100)
        .map(|v| format!(r#"{{"index": 0, "value": {v}, "op": "SCMP_CMP_NE"}}"#))
        .collect();
    let json = format!(
        r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {{"name": "getppid", "action": "SCMP_ACT_ERRNO", "args": [{}]}}]}}"#,
        args.join(",")
    );
    let profile = Profile::from_json(json.as_bytes()).unwrap();
    let err = compile(&profile, Arch::X86_64, &[]).unwrap_err();
    assert!(matches!(err, ProfileError::TooLarge { len, .. } if len > BPF_MAXINSNS));
    assert!(err.to_string().contains("4096"), "{err}");
}

/// xorshift64*: deterministic, dependency-free randomness for the profile generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    /// Values that sit on the interesting edges of 32-bit halves.
    fn value(&mut self) -> u64 {
        let half = |r: &mut Rng| *r.pick(&[0u64, 1, 2, 40, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff]);
        match self.below(4) {
            0 => self.next(),
            1 => half(self),
            2 => half(self) << 32 | half(self),
            _ => self.below(64),
        }
    }
}

/// A rule as the generator wrote it, for the reference evaluator.
struct GenRule {
    /// The numbers of the rule's names that exist on the architecture.
    nrs: Vec<u32>,
    action: u32,
    conds: Vec<(usize, Op, u64, u64)>,
}

const ACTIONS: [(&str, u32); 7] = [
    ("SCMP_ACT_ALLOW", ALLOW),
    ("SCMP_ACT_ERRNO", 0x0005_0000),
    ("SCMP_ACT_KILL", 0),
    ("SCMP_ACT_KILL_PROCESS", RET_KILL_PROCESS),
    ("SCMP_ACT_TRAP", 0x0003_0000),
    ("SCMP_ACT_TRACE", 0x7ff0_0000),
    ("SCMP_ACT_LOG", 0x7ffc_0000),
];
const OPS: [Op; 7] = [
    Op::NotEqual,
    Op::LessThan,
    Op::LessEqual,
    Op::Equal,
    Op::GreaterEqual,
    Op::GreaterThan,
    Op::MaskedEqual,
];

fn all_names(arch: Arch) -> Vec<&'static str> {
    match arch {
        Arch::X86_64 => (0..600)
            .filter_map(syscalls::x86_64::Sysno::new)
            .map(|s| s.name())
            .collect(),
        Arch::Aarch64 => (0..600)
            .filter_map(syscalls::aarch64::Sysno::new)
            .map(|s| s.name())
            .collect(),
    }
}

/// The syscall number straight from the syscalls crate's own name matching, not
/// through the compiler's table.
fn reference_nr(arch: Arch, name: &str) -> Option<u32> {
    match arch {
        Arch::X86_64 => syscalls::x86_64::Sysno::from_str(name)
            .ok()
            .map(|s| s.id() as u32),
        Arch::Aarch64 => syscalls::aarch64::Sysno::from_str(name)
            .ok()
            .map(|s| s.id() as u32),
    }
}

/// Writes a random profile as JSON and the same rules for the reference evaluator.
fn random_profile(rng: &mut Rng, arch: Arch, rules: usize) -> (String, u32, Vec<GenRule>) {
    let names = all_names(arch);
    let default_errno = 1 + rng.below(100) as u32;
    let (default_name, default_base) = *rng.pick(&ACTIONS);
    let with_data = |name: &str, base: u32, data: u32| match name {
        "SCMP_ACT_ERRNO" | "SCMP_ACT_TRACE" => base | data,
        _ => base,
    };
    let default = with_data(default_name, default_base, default_errno);
    let mut json_rules = Vec::new();
    let mut gen = Vec::new();
    for _ in 0..rules {
        let mut rule_names: Vec<String> = (0..1 + rng.below(3))
            .map(|_| rng.pick(&names).to_string())
            .collect();
        if rng.below(10) == 0 {
            rule_names.push("no_such_syscall".into());
        }
        let (action_name, base) = *rng.pick(&ACTIONS);
        let errno_ret = rng.below(2) == 0;
        let data = if errno_ret {
            rng.below(4096) as u32
        } else {
            default_errno
        };
        let action = with_data(action_name, base, data);
        let conds: Vec<(usize, Op, u64, u64)> = (0..rng.below(4))
            .map(|_| {
                let op = *rng.pick(&OPS);
                let value = rng.value();
                let value_two = if op == Op::MaskedEqual && rng.below(2) == 0 {
                    value & rng.value()
                } else if op == Op::MaskedEqual {
                    rng.value()
                } else {
                    0
                };
                (rng.below(6) as usize, op, value, value_two)
            })
            .collect();
        let args: Vec<String> = conds
            .iter()
            .map(|(i, op, v, v2)| {
                format!(
                    r#"{{"index": {i}, "value": {v}, "valueTwo": {v2}, "op": "{}"}}"#,
                    op.as_str()
                )
            })
            .collect();
        let errno_field = if errno_ret {
            format!(r#""errnoRet": {data},"#)
        } else {
            String::new()
        };
        json_rules.push(format!(
            r#"{{"names": {names:?}, "action": "{action_name}", {errno_field} "args": [{}]}}"#,
            args.join(","),
            names = rule_names
        ));
        gen.push(GenRule {
            nrs: rule_names
                .iter()
                .filter_map(|n| reference_nr(arch, n))
                .collect(),
            action,
            conds,
        });
    }
    let json = format!(
        r#"{{"defaultAction": "{default_name}", "defaultErrnoRet": {default_errno},
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"], "syscalls": [{}]}}"#,
        json_rules.join(",\n")
    );
    (json, default, gen)
}

fn reference(arch: Arch, default: u32, rules: &[GenRule], call: &Call) -> u32 {
    if call.arch != arch.audit_arch() {
        return RET_KILL_PROCESS;
    }
    if arch == Arch::X86_64 && call.nr >= X32_SYSCALL_BIT {
        return default;
    }
    rules
        .iter()
        .find(|r| {
            r.nrs.contains(&call.nr)
                && r.conds
                    .iter()
                    .all(|&(i, op, v, v2)| holds(op, call.args[i], v, v2))
        })
        .map_or(default, |r| r.action)
}

/// Calls that exercise the rules: each rule's syscall with arguments on and around
/// its compared values, plus random numbers and arguments.
fn probes(rng: &mut Rng, arch: Arch, rules: &[GenRule]) -> Vec<Call> {
    let mut calls = Vec::new();
    for r in rules {
        let Some(&nr) = r.nrs.first() else {
            continue;
        };
        for _ in 0..6 {
            let mut args = [0u64; 6];
            for a in args.iter_mut() {
                *a = rng.value();
            }
            for &(i, _, v, v2) in &r.conds {
                args[i] = match rng.below(5) {
                    0 => v,
                    1 => v.wrapping_add(1),
                    2 => v.wrapping_sub(1),
                    3 => v2 | (rng.value() & !v),
                    _ => v ^ (1 << 32),
                };
            }
            calls.push(Call {
                arch: arch.audit_arch(),
                nr,
                args,
            });
        }
        for nr in [nr.wrapping_sub(1), nr + 1] {
            calls.push(Call {
                arch: arch.audit_arch(),
                nr,
                args: [0; 6],
            });
        }
    }
    for _ in 0..200 {
        let nr = match rng.below(8) {
            0 => rng.next() as u32,
            1 => X32_SYSCALL_BIT | rng.below(600) as u32,
            _ => rng.below(600) as u32,
        };
        let arch_value = if rng.below(20) == 0 {
            0x4000_0003
        } else {
            arch.audit_arch()
        };
        let mut args = [0u64; 6];
        for a in args.iter_mut() {
            *a = rng.value();
        }
        calls.push(Call {
            arch: arch_value,
            nr,
            args,
        });
    }
    calls
}

#[test]
fn random_profiles_match_the_reference_evaluator() {
    let mut rng = Rng(0x5eed_ba5e_0dd5_1234);
    let mut with_trampolines = 0;
    let mut refused = 0;
    let mut checked = 0;
    for round in 0..120 {
        let arch = BOTH[round % 2];
        let size = match round % 4 {
            0 => 1 + rng.below(5) as usize,
            1 => 20 + rng.below(60) as usize,
            2 => 150 + rng.below(150) as usize,
            _ => 200 + rng.below(200) as usize,
        };
        let (json, default, rules) = random_profile(&mut rng, arch, size);
        let profile = Profile::from_json(json.as_bytes()).unwrap();
        let prog = match compile_at(&profile, arch, &[], kernel("6.1")) {
            Ok(p) => p,
            Err(ProfileError::TooLarge { .. }) => {
                refused += 1;
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        assert!(prog.len() <= BPF_MAXINSNS);
        if prog.insns().iter().any(|i| i.code == JMP_JA) {
            with_trampolines += 1;
        }
        let resolved = profile.resolve(arch, &[], kernel("6.1")).unwrap();
        for call in probes(&mut rng, arch, &rules) {
            let want = reference(arch, default, &rules, &call);
            let (got, _) = run(prog.insns(), &call);
            assert_eq!(got, want, "round {round} {arch} {call:?}\n{json}");
            if call.arch == arch.audit_arch()
                && !(arch == Arch::X86_64 && call.nr >= X32_SYSCALL_BIT)
            {
                assert_eq!(eval_resolved(&resolved, call.nr, &call.args), want);
            }
            checked += 1;
        }
        let back = Program::from_bytes(&prog.to_bytes()).unwrap();
        assert_eq!(back, prog);
    }
    println!("{checked} calls checked; {with_trampolines} programs with trampolines, {refused} too large");
    assert!(with_trampolines >= 10, "long jumps were not exercised");
    assert!(refused < 20, "too many programs were too large to test");
}

#[test]
fn program_bytes_round_trip_and_garbage_is_refused() {
    let f = Filter::default_profile(Arch::X86_64, &[]);
    let bytes = f.prog.to_bytes();
    assert_eq!(bytes.len(), f.prog.len() * 8);
    assert_eq!(Program::from_bytes(&bytes), Some(f.prog.clone()));
    assert!(Program::from_bytes(&[]).is_none());
    assert!(Program::from_bytes(&bytes[..bytes.len() - 3]).is_none());
    assert!(
        Program::from_bytes(&bytes[..bytes.len() - 8 * 3]).is_none() || {
            // Truncation may end on a RET; then every jump must still land inside.
            let p = Program::from_bytes(&bytes[..bytes.len() - 24]).unwrap();
            p.len() == f.prog.len() - 3
        }
    );
    let mut bad = bytes.clone();
    bad[0] = 0xff; // unknown opcode
    assert!(Program::from_bytes(&bad).is_none());
    // A JA past the end.
    let mut ja = vec![];
    ja.extend_from_slice(&JMP_JA.to_ne_bytes());
    ja.extend_from_slice(&[0, 0]);
    ja.extend_from_slice(&5u32.to_ne_bytes());
    ja.extend_from_slice(&bytes[bytes.len() - 8..]);
    assert!(Program::from_bytes(&ja).is_none());
    assert!(Program::from_bytes(&vec![0u8; 8 * (BPF_MAXINSNS + 1)]).is_none());
}

#[test]
fn default_profile_json_round_trips() {
    let json = berth_default_json();
    let back = Profile::from_json(json.as_bytes()).unwrap();
    assert_eq!(back, Profile::berth_default());
    assert!(
        json.contains("\"defaultAction\": \"SCMP_ACT_ERRNO\""),
        "{json}"
    );
    assert!(json.contains("\"errnoRet\": 38"));
    for arch in BOTH {
        for extra in [&[][..], &["CAP_SYS_ADMIN"]] {
            let a = Filter::default_profile(arch, extra);
            let b = Filter::of(&back, arch, &caps(extra));
            assert_eq!(a.prog, b.prog);
        }
    }
}

#[test]
fn dockers_format_details_are_accepted() {
    // Go's nulls, comments, archMap, flags, an empty rule, unknown fields and syscall
    // names, minKernel and arches conditions.
    let json = r#"{
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": null,
        "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                     "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                    {"architecture": "SCMP_ARCH_RISCV64", "subArchitectures": null}],
        "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_FUTURE"],
        "listenerPath": "",
        "somethingNew": {"x": 1},
        "syscalls": [
            {"names": ["getpid", "frobnicate", "chown32"], "action": "SCMP_ACT_ALLOW",
             "args": null, "comment": "", "includes": {}, "excludes": null},
            {"names": ["gettid"], "action": "SCMP_ACT_ALLOW",
             "includes": {"minKernel": "99.0"}},
            {"names": ["getuid"], "action": "SCMP_ACT_ALLOW",
             "excludes": {"minKernel": "3.10"}},
            {"names": ["getgid"], "action": "SCMP_ACT_ALLOW",
             "includes": {"arches": ["arm64"]}},
            {"names": ["getegid"], "action": "SCMP_ACT_ALLOW",
             "excludes": {"arches": ["amd64"]}},
            {"names": null, "action": "SCMP_ACT_ALLOW"}
        ]
    }"#;
    let profile = Profile::from_json(json.as_bytes()).unwrap();
    let x86 = Filter::of(&profile, Arch::X86_64, &[]);
    let arm = Filter::of(&profile, Arch::Aarch64, &[]);
    assert_eq!(x86.call("getpid", &[]), ALLOW);
    assert_eq!(x86.call("gettid", &[]), EPERM, "minKernel 99.0 not reached");
    assert_eq!(x86.call("getuid", &[]), EPERM, "excluded from 3.10 on");
    assert_eq!(x86.call("getgid", &[]), EPERM);
    assert_eq!(arm.call("getgid", &[]), ALLOW);
    assert_eq!(x86.call("getegid", &[]), EPERM);
    assert_eq!(arm.call("getegid", &[]), ALLOW);
}

fn parse_err(json: &str) -> String {
    match Profile::from_json(json.as_bytes()) {
        Ok(p) => panic!("accepted: {p:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_profiles_are_explained() {
    let e = parse_err("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [\n");
    assert!(e.contains("line 4"), "{e}");

    let e = parse_err(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_FROB"}]}"#,
    );
    assert!(
        e.contains("unknown seccomp action \"SCMP_ACT_FROB\""),
        "{e}"
    );
    assert!(e.contains("SCMP_ACT_ERRNO") && e.contains("line 2"), "{e}");

    let e = parse_err(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
            "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XOR"}]}]}"#,
    );
    assert!(
        e.contains("unknown seccomp comparison operator \"SCMP_CMP_XOR\""),
        "{e}"
    );

    let e = parse_err(r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}"#);
    assert!(
        e.contains("unknown seccomp architecture \"SCMP_ARCH_Z80\""),
        "{e}"
    );

    let e = parse_err(r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#);
    assert!(e.contains("SCMP_ACT_NOTIFY"), "{e}");

    let e = parse_err(r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock"}"#);
    assert!(
        e.contains("listenerPath") && e.contains("not support"),
        "{e}"
    );

    let e = parse_err(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"name": "read", "names": ["write"], "action": "SCMP_ACT_ERRNO"}]}"#,
    );
    assert!(
        e.contains("syscalls[0] (read, write)") && e.contains("'names'"),
        "{e}"
    );

    let e = parse_err(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
            "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    assert!(e.contains("argument index 6"), "{e}");

    let e = parse_err(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
            "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "four"}}]}"#,
    );
    assert!(e.contains("invalid minKernel \"four\""), "{e}");

    let e = parse_err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}"#);
    assert!(e.contains("16 bits"), "{e}");

    let e = parse_err(r#"{"syscalls": []}"#);
    assert!(e.contains("defaultAction"), "{e}");
}
