//! The compiler from resolved rules to a classic-BPF seccomp program (layout in the
//! module doc of `seccomp`). Pure: no system calls, no knowledge of JSON.
//!
//! The program is emitted backwards, last instruction first. Every BPF jump goes
//! forward, so when a jump is written its targets already exist and their distance is
//! known; a target beyond a conditional jump's 8-bit reach gets a `JA` trampoline.

use super::profile::Op;
use super::{Arch, ProfileError, BPF_MAXINSNS};

/// What the compiler works from: the default return value, the rules in force, and
/// (syscall number, index in `rules`) pairs sorted by number, each syscall's rules in
/// profile order.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) default: u32,
    pub(crate) rules: Vec<Rule>,
    pub(crate) calls: Vec<(u32, usize)>,
}

/// One rule for one syscall: every condition must hold for `action` (a
/// `SECCOMP_RET_*` value) to be returned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    pub(crate) conds: Vec<Cond>,
    pub(crate) action: u32,
}

/// `args[index] <op> value` (for MASKED_EQ: `args[index] & value == value_two`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cond {
    pub(crate) index: u8,
    pub(crate) op: Op,
    pub(crate) value: u64,
    pub(crate) value_two: u64,
}

// Classic BPF opcodes (linux/bpf_common.h), only those the compiler emits.
pub(super) const LD_W_ABS: u16 = 0x20;
pub(super) const ALU_AND_K: u16 = 0x54;
pub(super) const JMP_JA: u16 = 0x05;
pub(super) const JMP_JEQ_K: u16 = 0x15;
pub(super) const JMP_JGT_K: u16 = 0x25;
pub(super) const JMP_JGE_K: u16 = 0x35;
pub(super) const RET_K: u16 = 0x06;

/// Offsets in `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
/// The size of `struct seccomp_data`.
pub(super) const SECCOMP_DATA_SIZE: u32 = 64;
/// Both supported architectures are little-endian: the low half comes first.
fn arg_lo(index: u8) -> u32 {
    16 + 8 * u32::from(index)
}
fn arg_hi(index: u8) -> u32 {
    arg_lo(index) + 4
}

pub(crate) const RET_KILL_PROCESS: u32 = 0x8000_0000;
/// Syscall numbers of the x32 ABI have this bit set (and AUDIT_ARCH_X86_64).
pub(crate) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// What a syscall-number range leads to.
#[derive(Debug, Clone, Copy)]
enum Decision<'a> {
    Ret(u32),
    /// The syscall's (number, rule index) pairs, in order.
    Rules(&'a [(u32, usize)]),
}

pub(crate) fn compile(r: &Resolved, arch: Arch) -> Result<Vec<libc::sock_filter>, ProfileError> {
    let ranges = ranges(r);
    let mut e = Emitter {
        rev: Vec::with_capacity(256),
        rets: Vec::new(),
        rules: &r.rules,
        default: r.default,
    };
    let mut entry = e.tree(&ranges);
    if arch == Arch::X86_64 {
        let default = e.ret(r.default);
        entry = e.jump(JMP_JGE_K, X32_SYSCALL_BIT, default, entry);
    }
    let load_nr = e.load(OFF_NR, entry);
    let kill = e.ret(RET_KILL_PROCESS);
    let check = e.jump(JMP_JEQ_K, arch.audit_arch(), load_nr, kill);
    e.load(OFF_ARCH, check);
    let mut insns = e.rev;
    insns.reverse();
    if insns.len() > BPF_MAXINSNS {
        return Err(ProfileError::TooLarge {
            arch,
            len: insns.len(),
        });
    }
    Ok(insns)
}

/// The whole syscall-number space cut into ranges, each starting at `.0` and running
/// to the next one's start, with neighbours of equal plain action merged.
fn ranges(r: &Resolved) -> Vec<(u32, Decision<'_>)> {
    fn push<'a>(ranges: &mut Vec<(u32, Decision<'a>)>, start: u32, d: Decision<'a>) {
        if ranges.last().is_some_and(|l| l.0 == start) {
            ranges.pop();
        }
        if let (Some((_, Decision::Ret(prev))), Decision::Ret(new)) = (ranges.last(), d) {
            if *prev == new {
                return;
            }
        }
        ranges.push((start, d));
    }
    let mut ranges = vec![(0, Decision::Ret(r.default))];
    for calls in r.calls.chunk_by(|a, b| a.0 == b.0) {
        let nr = calls[0].0;
        push(&mut ranges, nr, decide(calls, &r.rules, r.default));
        if let Some(after) = nr.checked_add(1) {
            push(&mut ranges, after, Decision::Ret(r.default));
        }
    }
    ranges
}

/// The rules of one syscall with the dead ones dropped: nothing after an
/// unconditional rule can match, and trailing rules whose action is the default change
/// nothing.
fn decide<'a>(calls: &'a [(u32, usize)], rules: &[Rule], default: u32) -> Decision<'a> {
    let rule = |c: &(u32, usize)| &rules[c.1];
    let mut n = calls
        .iter()
        .position(|c| rule(c).conds.is_empty())
        .map_or(calls.len(), |i| i + 1);
    while n > 0 && rule(&calls[n - 1]).action == default {
        n -= 1;
    }
    match &calls[..n] {
        [] => Decision::Ret(default),
        [only] if rule(only).conds.is_empty() => Decision::Ret(rule(only).action),
        live => Decision::Rules(live),
    }
}

/// An instruction's place in the reversed program (0 = the last instruction).
type Label = usize;

struct Emitter<'r> {
    /// The program, last instruction first.
    rev: Vec<libc::sock_filter>,
    /// The most recent RET of each value, for reuse while it is near.
    rets: Vec<(u32, Label)>,
    rules: &'r [Rule],
    default: u32,
}

/// How far back a RET may be reused: well within a conditional jump's reach, so that
/// reuse rarely costs a trampoline.
const RET_REUSE_DISTANCE: usize = 100;

impl Emitter<'_> {
    fn push(&mut self, code: u16, jt: u8, jf: u8, k: u32) -> Label {
        self.rev.push(libc::sock_filter { code, jt, jf, k });
        self.rev.len() - 1
    }

    /// The jump offset from an instruction pushed now to `target`.
    fn dist(&self, target: Label) -> usize {
        self.rev.len() - target - 1
    }

    fn ret(&mut self, value: u32) -> Label {
        if let Some(&(_, l)) = self.rets.iter().find(|(v, _)| *v == value) {
            if self.dist(l) <= RET_REUSE_DISTANCE {
                return l;
            }
        }
        let l = self.push(RET_K, 0, 0, value);
        match self.rets.iter_mut().find(|(v, _)| *v == value) {
            Some(slot) => slot.1 = l,
            None => self.rets.push((value, l)),
        }
        l
    }

    fn ja(&mut self, target: Label) -> Label {
        // A program long enough to overflow this is refused by the length check.
        let off = u32::try_from(self.dist(target)).unwrap_or(u32::MAX);
        self.push(JMP_JA, 0, 0, off)
    }

    /// Makes `next` the instruction that follows the one about to be pushed.
    fn fall_into(&mut self, next: Label) {
        if next + 1 != self.rev.len() {
            self.ja(next);
        }
    }

    fn load(&mut self, offset: u32, next: Label) -> Label {
        self.fall_into(next);
        self.push(LD_W_ABS, 0, 0, offset)
    }

    fn and(&mut self, mask: u32, next: Label) -> Label {
        self.fall_into(next);
        self.push(ALU_AND_K, 0, 0, mask)
    }

    /// A conditional jump to `jt` or `jf`, through trampolines for a far target.
    fn jump(&mut self, code: u16, k: u32, mut jt: Label, mut jf: Label) -> Label {
        const REACH: usize = u8::MAX as usize;
        if self.dist(jf) > REACH {
            jf = self.ja(jf);
        }
        if self.dist(jt) > REACH {
            jt = self.ja(jt);
        }
        // The trampoline for jt may have pushed a near jf out of reach.
        if self.dist(jf) > REACH {
            jf = self.ja(jf);
        }
        let (t, f) = (self.dist(jt) as u8, self.dist(jf) as u8);
        self.push(code, t, f, k)
    }

    /// A balanced binary search over the ranges' start numbers (the accumulator holds
    /// the syscall number).
    fn tree(&mut self, ranges: &[(u32, Decision<'_>)]) -> Label {
        match ranges {
            [] => self.ret(self.default),
            [(_, Decision::Ret(v))] => self.ret(*v),
            [(_, Decision::Rules(calls))] => self.syscall_rules(calls),
            _ => {
                let mid = ranges.len() / 2;
                let right = self.tree(&ranges[mid..]);
                let left = self.tree(&ranges[..mid]);
                self.jump(JMP_JGE_K, ranges[mid].0, right, left)
            }
        }
    }

    /// The rules of one syscall, tried in order; the first whose conditions all hold
    /// returns its action.
    fn syscall_rules(&mut self, calls: &[(u32, usize)]) -> Label {
        let rules = self.rules;
        let (mut next, tried) = match calls.split_last() {
            Some((last, before)) if rules[last.1].conds.is_empty() => {
                (self.ret(rules[last.1].action), before)
            }
            _ => (self.ret(self.default), calls),
        };
        for &(_, i) in tried.iter().rev() {
            let rule = &rules[i];
            let mut pass = self.ret(rule.action);
            for c in rule.conds.iter().rev() {
                pass = self.cond(c, pass, next);
            }
            next = pass;
        }
        next
    }

    /// One 64-bit comparison made on the two 32-bit halves: high half first; the low
    /// half decides only when the high halves are equal.
    fn cond(&mut self, c: &Cond, pass: Label, fail: Label) -> Label {
        let (hi, lo) = (arg_hi(c.index), arg_lo(c.index));
        let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
        // `ord` is the jump that decides the low half: (opcode, jumps to pass when true).
        let ord = match c.op {
            Op::Equal => {
                let l = self.jump(JMP_JEQ_K, vl, pass, fail);
                let l = self.load(lo, l);
                let l = self.jump(JMP_JEQ_K, vh, l, fail);
                return self.load(hi, l);
            }
            Op::NotEqual => {
                let l = self.jump(JMP_JEQ_K, vl, fail, pass);
                let l = self.load(lo, l);
                let l = self.jump(JMP_JEQ_K, vh, l, pass);
                return self.load(hi, l);
            }
            Op::MaskedEqual => return self.masked_eq(c, pass, fail),
            Op::GreaterThan => (JMP_JGT_K, true),
            Op::GreaterEqual => (JMP_JGE_K, true),
            Op::LessThan => (JMP_JGE_K, false),
            Op::LessEqual => (JMP_JGT_K, false),
        };
        // GT/GE: hi > vh passes, hi < vh fails. LT/LE are their negations.
        let (above, below) = if ord.1 { (pass, fail) } else { (fail, pass) };
        let l = self.jump(ord.0, vl, above, below);
        let l = self.load(lo, l);
        let l = self.jump(JMP_JEQ_K, vh, l, below);
        let l = self.jump(JMP_JGT_K, vh, above, l);
        self.load(hi, l)
    }

    /// `(arg & mask) == want`, each half skipped when its mask makes it constant.
    fn masked_eq(&mut self, c: &Cond, pass: Label, fail: Label) -> Label {
        let half = |e: &mut Emitter<'_>, offset: u32, mask: u32, want: u32, pass: Label| {
            if want & !mask != 0 {
                return fail; // want has a bit the mask clears: never equal
            }
            if mask == 0 {
                return pass; // 0 == 0 whatever the argument
            }
            let l = e.jump(JMP_JEQ_K, want, pass, fail);
            let l = if mask == u32::MAX { l } else { e.and(mask, l) };
            e.load(offset, l)
        };
        let (mh, ml) = ((c.value >> 32) as u32, c.value as u32);
        let (wh, wl) = ((c.value_two >> 32) as u32, c.value_two as u32);
        let l = half(self, arg_lo(c.index), ml, wl, pass);
        half(self, arg_hi(c.index), mh, wh, l)
    }
}

/// Whether `insns` is a program this compiler could have produced: known opcodes,
/// loads inside `seccomp_data`, every jump inside the program, a RET at the end.
pub(super) fn well_formed(insns: &[libc::sock_filter]) -> bool {
    let n = insns.len();
    let in_range = |i: usize, off: usize| i + 1 + off < n;
    let body_ok = insns.iter().enumerate().all(|(i, f)| match f.code {
        LD_W_ABS => f.k & 3 == 0 && f.k < SECCOMP_DATA_SIZE,
        ALU_AND_K | RET_K => true,
        JMP_JA => in_range(i, f.k as usize),
        JMP_JEQ_K | JMP_JGT_K | JMP_JGE_K => {
            in_range(i, f.jt as usize) && in_range(i, f.jf as usize)
        }
        _ => false,
    });
    body_ok && insns.last().is_some_and(|f| f.code == RET_K)
}
