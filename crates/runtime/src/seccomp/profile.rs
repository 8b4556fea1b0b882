//! Docker's seccomp profile format (what `docker run --security-opt seccomp=FILE`
//! reads): parsing with errors that say where, serialising, and resolving a profile
//! for one architecture, capability set and kernel into the compiler's input.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use super::bpf::{Cond, Resolved, Rule as CompiledRule};
use super::{Arch, ProfileError};

/// The errno of an `SCMP_ACT_ERRNO` that names none.
const EPERM: u32 = libc::EPERM as u32;

/// Defines an enum whose JSON form is one of a fixed set of names; an unknown name is
/// a deserialisation error (so serde_json reports its line and column) listing the
/// accepted ones.
macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($variant:ident = $text:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum $name { $($variant,)* }

        impl $name {
            const NAMES: &'static [&'static str] = &[$($text,)*];

            pub(crate) fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            fn parse(s: &str) -> Result<$name, String> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => Err(format!(
                        concat!("unknown ", $what, " {:?} (expected one of {})"),
                        s,
                        Self::NAMES.join(", ")
                    )),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(de::Error::custom)
            }
        }
    };
}

named_enum!(
    /// What happens to a matching syscall.
    Action, "seccomp action" {
        Allow = "SCMP_ACT_ALLOW",
        Errno = "SCMP_ACT_ERRNO",
        Kill = "SCMP_ACT_KILL",
        KillThread = "SCMP_ACT_KILL_THREAD",
        KillProcess = "SCMP_ACT_KILL_PROCESS",
        Trap = "SCMP_ACT_TRAP",
        Trace = "SCMP_ACT_TRACE",
        Log = "SCMP_ACT_LOG",
    }
);

named_enum!(
    /// How a syscall argument is compared (all comparisons are unsigned 64-bit).
    Op, "seccomp comparison operator" {
        NotEqual = "SCMP_CMP_NE",
        LessThan = "SCMP_CMP_LT",
        LessEqual = "SCMP_CMP_LE",
        Equal = "SCMP_CMP_EQ",
        GreaterEqual = "SCMP_CMP_GE",
        GreaterThan = "SCMP_CMP_GT",
        MaskedEqual = "SCMP_CMP_MASKED_EQ",
    }
);

named_enum!(
    /// libseccomp's architecture names. Accepted for compatibility; berth compiles for
    /// the target architecture only.
    ScmpArch, "seccomp architecture" {
        Native = "SCMP_ARCH_NATIVE",
        X86 = "SCMP_ARCH_X86",
        X86_64 = "SCMP_ARCH_X86_64",
        X32 = "SCMP_ARCH_X32",
        Arm = "SCMP_ARCH_ARM",
        Aarch64 = "SCMP_ARCH_AARCH64",
        Loongarch64 = "SCMP_ARCH_LOONGARCH64",
        M68k = "SCMP_ARCH_M68K",
        Mips = "SCMP_ARCH_MIPS",
        Mips64 = "SCMP_ARCH_MIPS64",
        Mips64N32 = "SCMP_ARCH_MIPS64N32",
        Mipsel = "SCMP_ARCH_MIPSEL",
        Mipsel64 = "SCMP_ARCH_MIPSEL64",
        Mipsel64N32 = "SCMP_ARCH_MIPSEL64N32",
        Ppc = "SCMP_ARCH_PPC",
        Ppc64 = "SCMP_ARCH_PPC64",
        Ppc64le = "SCMP_ARCH_PPC64LE",
        S390 = "SCMP_ARCH_S390",
        S390x = "SCMP_ARCH_S390X",
        Parisc = "SCMP_ARCH_PARISC",
        Parisc64 = "SCMP_ARCH_PARISC64",
        Riscv64 = "SCMP_ARCH_RISCV64",
        Sh = "SCMP_ARCH_SH",
        Sheb = "SCMP_ARCH_SHEB",
    }
);

/// A kernel version as `minKernel` writes it ("4.8"); a patch level is accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct KernelVersion(u32, u32, u32);

impl KernelVersion {
    /// Parses the leading numbers of a uname release ("6.8.0-45-generic" -> 6.8.0).
    pub(crate) fn from_release(release: &str) -> KernelVersion {
        let mut parts = [0u32; 3];
        for (slot, piece) in parts.iter_mut().zip(release.split('.')) {
            let digits: String = piece.chars().take_while(char::is_ascii_digit).collect();
            match digits.parse() {
                Ok(n) => *slot = n,
                Err(_) => break,
            }
            if digits.len() != piece.len() {
                break;
            }
        }
        KernelVersion(parts[0], parts[1], parts[2])
    }

    fn parse(s: &str) -> Result<KernelVersion, String> {
        let nums: Result<Vec<u32>, _> = s.split('.').map(str::parse::<u32>).collect();
        match nums.as_deref() {
            Ok([a, b]) => Ok(KernelVersion(*a, *b, 0)),
            Ok([a, b, c]) => Ok(KernelVersion(*a, *b, *c)),
            _ => Err(format!(
                "invalid minKernel {s:?} (expected MAJOR.MINOR, e.g. \"4.8\")"
            )),
        }
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.2 {
            0 => write!(f, "{}.{}", self.0, self.1),
            p => write!(f, "{}.{}.{p}", self.0, self.1),
        }
    }
}

impl Serialize for KernelVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KernelVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KernelVersion, D::Error> {
        let s = String::deserialize(d)?;
        KernelVersion::parse(&s).map_err(de::Error::custom)
    }
}

/// Go writes nil slices and structs as `null`; read those as empty.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// A seccomp profile in Docker's JSON format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub(crate) default_action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default_errno_ret: Option<u32>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) architectures: Vec<ScmpArch>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) arch_map: Vec<ArchMap>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) syscalls: Vec<Rule>,
    /// Filter flags (SECCOMP_FILTER_FLAG_*): accepted and ignored. TSYNC is moot for a
    /// single-threaded child, LOG is not implemented, SPEC_ALLOW is refused on purpose
    /// (it would turn off the speculative-store-bypass mitigation).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) flags: Vec<String>,
    #[serde(default, skip_serializing)]
    listener_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ArchMap {
    pub(crate) architecture: ScmpArch,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) sub_architectures: Vec<ScmpArch>,
}

/// One entry of `syscalls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Rule {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    names: Vec<String>,
    action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    errno_ret: Option<u32>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    args: Vec<Arg>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    comment: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Filter::is_empty"
    )]
    includes: Filter,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Filter::is_empty"
    )]
    excludes: Filter,
}

/// One argument condition; all of a rule's conditions must hold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Arg {
    index: u32,
    value: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    value_two: u64,
    op: Op,
}

/// `includes` / `excludes`: when a rule applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Filter {
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    caps: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    arches: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_kernel: Option<KernelVersion>,
}

impl Filter {
    fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

/// Builders for berth's default profile.
impl Rule {
    pub(crate) fn new(action: Action, names: &[&str]) -> Rule {
        Rule {
            name: String::new(),
            names: names.iter().map(|n| n.to_string()).collect(),
            action,
            errno_ret: None,
            args: Vec::new(),
            comment: String::new(),
            includes: Filter::default(),
            excludes: Filter::default(),
        }
    }

    pub(crate) fn why(mut self, comment: &str) -> Rule {
        self.comment = comment.to_string();
        self
    }

    pub(crate) fn errno(mut self, errno: i32) -> Rule {
        self.errno_ret = u32::try_from(errno).ok();
        self
    }

    pub(crate) fn arg(mut self, index: u32, op: Op, value: u64, value_two: u64) -> Rule {
        self.args.push(Arg {
            index,
            value,
            value_two,
            op,
        });
        self
    }

    pub(crate) fn with_cap(mut self, cap: &str) -> Rule {
        self.includes.caps.push(cap.to_string());
        self
    }

    pub(crate) fn without_cap(mut self, cap: &str) -> Rule {
        self.excludes.caps.push(cap.to_string());
        self
    }

    pub(crate) fn on_arches(mut self, arches: &[&str]) -> Rule {
        self.includes.arches = arches.iter().map(|a| a.to_string()).collect();
        self
    }

    pub(crate) fn min_kernel(mut self, major: u32, minor: u32) -> Rule {
        self.includes.min_kernel = Some(KernelVersion(major, minor, 0));
        self
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str())
            .filter(|n| !n.is_empty())
            .chain(self.names.iter().map(String::as_str))
    }

    /// "syscalls[3] (mount, umount2, ...)", for error messages.
    fn describe(&self, i: usize) -> String {
        let names: Vec<&str> = self.names().take(3).collect();
        let more = if self.names().count() > 3 {
            ", ..."
        } else {
            ""
        };
        format!("syscalls[{i}] ({}{more})", names.join(", "))
    }

    /// Whether the rule is in force for this architecture, capability set and kernel.
    fn applies(&self, arch: Arch, caps: &[String], kernel: KernelVersion) -> bool {
        let has = |c: &String| caps.iter().any(|have| same_cap(have, c));
        let inc = &self.includes;
        let exc = &self.excludes;
        inc.caps.iter().all(has)
            && (inc.arches.is_empty() || inc.arches.iter().any(|a| a == arch.go_name()))
            && inc.min_kernel.is_none_or(|min| kernel >= min)
            && !exc.caps.iter().any(has)
            && !exc.arches.iter().any(|a| a == arch.go_name())
            && exc.min_kernel.is_none_or(|min| kernel < min)
    }
}

/// "sys_admin" and "CAP_SYS_ADMIN" are the same capability.
fn same_cap(a: &str, b: &str) -> bool {
    fn bare(c: &str) -> &str {
        let c = c.trim();
        match c.get(..4) {
            Some(p) if p.eq_ignore_ascii_case("CAP_") => &c[4..],
            _ => c,
        }
    }
    bare(a).eq_ignore_ascii_case(bare(b))
}

impl Profile {
    /// Reads a profile in Docker's JSON format. Syscall names the kernel does not know
    /// for an architecture are not an error (they are skipped when compiling, as
    /// Docker does); unknown action, operator and architecture names are.
    pub fn from_json(bytes: &[u8]) -> Result<Profile, ProfileError> {
        let profile: Profile = serde_json::from_slice(bytes)?;
        profile.validate()?;
        Ok(profile)
    }

    /// berth's default profile: see `default.rs`.
    pub fn berth_default() -> Profile {
        super::default::profile()
    }

    /// The profile in Docker's JSON format (pretty-printed), which [`Profile::from_json`]
    /// and Docker both read.
    pub fn to_json(&self) -> String {
        // Cannot fail: every map key is a string and every value serialisable.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub(crate) fn new(default_action: Action, default_errno: u32, syscalls: Vec<Rule>) -> Profile {
        Profile {
            default_action,
            default_errno_ret: Some(default_errno),
            architectures: Vec::new(),
            arch_map: vec![
                ArchMap {
                    architecture: ScmpArch::X86_64,
                    sub_architectures: Vec::new(),
                },
                ArchMap {
                    architecture: ScmpArch::Aarch64,
                    sub_architectures: Vec::new(),
                },
            ],
            syscalls,
            flags: Vec::new(),
            listener_path: None,
        }
    }

    fn validate(&self) -> Result<(), ProfileError> {
        if self.listener_path.as_deref().is_some_and(|p| !p.is_empty()) {
            return Err(ProfileError::Unsupported(
                "listenerPath (a seccomp notification agent)",
            ));
        }
        let bad = |rule: String, problem: String| ProfileError::Rule { rule, problem };
        if let Some(e) = self.default_errno_ret.filter(|&e| e > 0xFFFF) {
            return Err(bad(
                "defaultErrnoRet".into(),
                format!("{e} does not fit in 16 bits"),
            ));
        }
        for (i, rule) in self.syscalls.iter().enumerate() {
            if !rule.name.is_empty() && !rule.names.is_empty() {
                return Err(bad(
                    rule.describe(i),
                    "both 'name' and 'names' are set; use one".into(),
                ));
            }
            if let Some(e) = rule.errno_ret.filter(|&e| e > 0xFFFF) {
                return Err(bad(
                    rule.describe(i),
                    format!("errnoRet {e} does not fit in 16 bits"),
                ));
            }
            if let Some(a) = rule.args.iter().find(|a| a.index > 5) {
                return Err(bad(
                    rule.describe(i),
                    format!("argument index {} is out of range (0 to 5)", a.index),
                ));
            }
        }
        Ok(())
    }

    /// The rules in force for `arch`, `caps` and `kernel`, by syscall number, in
    /// profile order.
    pub(crate) fn resolve(
        &self,
        arch: Arch,
        caps: &[String],
        kernel: KernelVersion,
    ) -> Result<Resolved, ProfileError> {
        self.validate()?;
        let ret = |action: Action, errno: Option<u32>| {
            action_value(action, errno.or(self.default_errno_ret).unwrap_or(EPERM))
        };
        let mut rules = Vec::new();
        let mut calls = Vec::new();
        for rule in &self.syscalls {
            if !rule.applies(arch, caps, kernel) {
                continue;
            }
            let index = rules.len();
            for name in rule.names() {
                if let Some(nr) = syscall_number(arch, name) {
                    calls.push((nr, index));
                }
            }
            rules.push(CompiledRule {
                conds: rule
                    .args
                    .iter()
                    .map(|a| Cond {
                        // validate() keeps the index at 5 or below.
                        index: a.index as u8,
                        op: a.op,
                        value: a.value,
                        value_two: a.value_two,
                    })
                    .collect(),
                action: ret(rule.action, rule.errno_ret),
            });
        }
        // Stable: the rules of one syscall keep the profile's order (first match wins).
        calls.sort_by_key(|c| c.0);
        Ok(Resolved {
            default: ret(self.default_action, None),
            rules,
            calls,
        })
    }
}

/// The `SECCOMP_RET_*` value of an action; `data` is the errno (or the tracer's data).
pub(crate) fn action_value(action: Action, data: u32) -> u32 {
    match action {
        Action::Allow => 0x7fff_0000,
        Action::Errno => 0x0005_0000 | (data & 0xffff),
        Action::Kill | Action::KillThread => 0,
        Action::KillProcess => 0x8000_0000,
        Action::Trap => 0x0003_0000,
        Action::Trace => 0x7ff0_0000 | (data & 0xffff),
        Action::Log => 0x7ffc_0000,
    }
}

/// The number of syscall `name` on `arch`, when the architecture has it.
pub(crate) fn syscall_number(arch: Arch, name: &str) -> Option<u32> {
    type Table = HashMap<&'static str, u32, BuildHasherDefault<Fnv>>;
    fn table<S: Copy>(
        numbers: std::ops::RangeInclusive<i32>,
        new: impl Fn(usize) -> Option<S>,
        name: impl Fn(S) -> &'static str,
    ) -> Table {
        numbers
            .filter_map(|n| {
                let nr = u32::try_from(n).ok()?;
                Some((name(new(nr as usize)?), nr))
            })
            .collect()
    }
    static X86_64: OnceLock<Table> = OnceLock::new();
    static AARCH64: OnceLock<Table> = OnceLock::new();
    let t = match arch {
        Arch::X86_64 => X86_64.get_or_init(|| {
            use syscalls::x86_64::Sysno;
            table(Sysno::first().id()..=Sysno::last().id(), Sysno::new, |s| {
                s.name()
            })
        }),
        Arch::Aarch64 => AARCH64.get_or_init(|| {
            use syscalls::aarch64::Sysno;
            table(Sysno::first().id()..=Sysno::last().id(), Sysno::new, |s| {
                s.name()
            })
        }),
    };
    t.get(name).copied()
}

/// FNV-1a: syscall names are short and trusted to be few, so a simple hash beats
/// SipHash here (the syscalls crate itself matches names one by one).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}
