//! Owns seccomp: Docker's JSON profile format, berth's default profile, the compiler
//! from a profile to a classic-BPF program, and the one call that installs it. Never
//! installs a filter on its own initiative: the caller decides when (in the forked,
//! single-threaded child, right before `execve`).
//!
//! # Why a compiler of our own
//! `seccompiler` (Firecracker's) gives a whole filter a single match action, but a
//! Docker profile needs one action per rule with its own errno: `clone3` must fail
//! with `ENOSYS` so that libc falls back to `clone` (whose flags a filter can read)
//! while everything unlisted fails with `EPERM`. libseccomp does that, but it is C.
//! What we need is small: a few hundred syscall numbers, six 64-bit argument
//! comparisons, and a handful of return values.
//!
//! # How the filter is laid out
//! ```text
//! load arch;  arch != target          -> KILL_PROCESS
//! load nr;    nr >= 0x40000000 (x32)  -> default action        (x86_64 only)
//! binary search over syscall-number ranges (JGE pivots)
//!   leaf: RET action                   a range of syscalls with one plain action
//!   leaf: rules in order, first match wins; none matched -> default action
//! ```
//! The filter runc builds for Docker (libseccomp's default layout) compares the
//! syscall number with each listed syscall in turn, so a call can pay ~350
//! comparisons before the kernel runs it. Here a call pays about log2 of the number
//! of ranges: ranges of neighbouring syscalls with one action are merged, and berth's
//! default profile compiles to about 100 instructions of which no call runs more than
//! 15. Arguments are 64-bit and BPF loads 32 bits at a time, so each comparison is
//! made on the high half first, then the low half, as libseccomp does.
//!
//! Conditional jumps reach at most 255 instructions ahead; the compiler emits the
//! program backwards (every target is known when a jump is written) and puts a `JA`
//! (32-bit offset) trampoline right after any jump whose target is farther.
//!
//! Only the target architecture is compiled: a syscall made through another ABI (i386
//! `int 0x80` on x86_64, AArch32 on arm64) kills the process, and x32 syscalls get the
//! default action. Docker also admits the 32-bit ABIs its archMap lists.

mod bpf;
mod default;
mod profile;
mod sys;

#[cfg(test)]
mod interp;
#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod tests;

use std::fmt;

pub use default::berth_default_json;
pub use profile::Profile;

/// The highest number of instructions the kernel accepts in one filter.
pub const BPF_MAXINSNS: usize = 4096;

/// The architectures berth compiles filters for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture berth itself was built for, when it is one berth supports.
    pub fn host() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }

    /// The `AUDIT_ARCH_*` value the kernel puts in `seccomp_data.arch`.
    fn audit_arch(self) -> u32 {
        match self {
            Arch::X86_64 => 0xC000_003E,
            Arch::Aarch64 => 0xC000_00B7,
        }
    }

    /// The name Docker's profiles use in `includes.arches` (Go's GOARCH).
    fn go_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        })
    }
}

/// Why a profile could not be read or compiled.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Not JSON, or a field of the wrong type or with an unknown action, operator or
    /// architecture name; serde's message says where (line and column).
    #[error("invalid seccomp profile: {0}")]
    Json(#[from] serde_json::Error),
    /// A rule that parses but makes no sense.
    #[error("invalid seccomp profile: {rule}: {problem}")]
    Rule { rule: String, problem: String },
    /// A feature of Docker's format berth does not implement.
    #[error("seccomp profile uses {0}, which berth does not support")]
    Unsupported(&'static str),
    /// The compiled program is longer than the kernel accepts.
    #[error(
        "the seccomp profile compiles to {len} BPF instructions for {arch}, more than the \
         kernel's limit of {BPF_MAXINSNS}: use fewer argument conditions"
    )]
    TooLarge { arch: Arch, len: usize },
}

/// A compiled filter, ready for [`install`].
#[derive(Clone)]
pub struct Program {
    insns: Vec<libc::sock_filter>,
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Program({} instructions)", self.insns.len())
    }
}

impl PartialEq for Program {
    fn eq(&self, other: &Program) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}

impl Eq for Program {}

const INSN_SIZE: usize = 8;

impl Program {
    /// The number of BPF instructions.
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Never true for a compiled program; here for API hygiene.
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// The program in the kernel's `struct sock_filter` layout (8 bytes per
    /// instruction, host byte order), for a cache.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.insns.len() * INSN_SIZE);
        for i in &self.insns {
            out.extend_from_slice(&i.code.to_ne_bytes());
            out.push(i.jt);
            out.push(i.jf);
            out.extend_from_slice(&i.k.to_ne_bytes());
        }
        out
    }

    /// The inverse of [`Program::to_bytes`]. Returns None for anything that is not a
    /// well-formed filter (wrong size, unknown instruction, a jump out of the program,
    /// no final return), so a damaged cache entry is recompiled instead of installed.
    pub fn from_bytes(b: &[u8]) -> Option<Program> {
        let chunks = b.chunks_exact(INSN_SIZE);
        if b.is_empty() || !chunks.remainder().is_empty() || chunks.len() > BPF_MAXINSNS {
            return None;
        }
        let insns: Vec<libc::sock_filter> = chunks
            .map(|c| libc::sock_filter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        bpf::well_formed(&insns).then_some(Program { insns })
    }

    #[cfg(test)]
    fn insns(&self) -> &[libc::sock_filter] {
        &self.insns
    }
}

/// Compiles `profile` for `arch`, for a container whose capabilities are `caps`
/// (names such as `CAP_SYS_ADMIN`; they select the profile's `includes.caps` and
/// `excludes.caps` rules). `minKernel` conditions are checked against the running
/// kernel.
pub fn compile(profile: &Profile, arch: Arch, caps: &[String]) -> Result<Program, ProfileError> {
    compile_at(profile, arch, caps, sys::kernel_version())
}

fn compile_at(
    profile: &Profile,
    arch: Arch,
    caps: &[String],
    kernel: profile::KernelVersion,
) -> Result<Program, ProfileError> {
    let rules = profile.resolve(arch, caps, kernel)?;
    let insns = bpf::compile(&rules, arch)?;
    Ok(Program { insns })
}

/// Installs the filter on the calling thread. The caller must hold no_new_privs or
/// CAP_SYS_ADMIN. Made for a forked single-threaded child right before `execve`: it
/// does not allocate. Speculative-store-bypass mitigation stays on (no
/// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`).
pub fn install(program: &Program) -> std::io::Result<()> {
    sys::seccomp_set_filter(&program.insns)
}
