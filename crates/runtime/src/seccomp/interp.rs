//! Test support: a classic-BPF interpreter that runs a compiled program the way the
//! kernel does, and a plain evaluator of resolved rules to compare it with.

use super::bpf::{
    Resolved, ALU_AND_K, JMP_JA, JMP_JEQ_K, JMP_JGE_K, JMP_JGT_K, LD_W_ABS, RET_K,
    SECCOMP_DATA_SIZE,
};
use super::profile::Op;

/// What the kernel hands the filter: `struct seccomp_data`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Call {
    pub arch: u32,
    pub nr: u32,
    pub args: [u64; 6],
}

/// Runs `prog` on `call`; returns the filter's verdict and how many instructions ran.
/// Panics on anything the kernel's checker would refuse at run time.
pub(super) fn run(prog: &[libc::sock_filter], call: &Call) -> (u32, usize) {
    let mut data = [0u8; SECCOMP_DATA_SIZE as usize];
    data[0..4].copy_from_slice(&call.nr.to_le_bytes());
    data[4..8].copy_from_slice(&call.arch.to_le_bytes());
    for (i, a) in call.args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let mut acc: u32 = 0;
    let mut pc = 0usize;
    let mut steps = 0usize;
    loop {
        let f = prog
            .get(pc)
            .unwrap_or_else(|| panic!("pc {pc} ran off a {}-instruction program", prog.len()));
        steps += 1;
        let k = f.k;
        let skip = |cond: bool| 1 + usize::from(if cond { f.jt } else { f.jf });
        pc += match f.code {
            LD_W_ABS => {
                assert!(k & 3 == 0 && k < SECCOMP_DATA_SIZE, "bad load offset {k}");
                let k = k as usize;
                acc = u32::from_le_bytes([data[k], data[k + 1], data[k + 2], data[k + 3]]);
                1
            }
            ALU_AND_K => {
                acc &= k;
                1
            }
            JMP_JA => 1 + k as usize,
            JMP_JEQ_K => skip(acc == k),
            JMP_JGT_K => skip(acc > k),
            JMP_JGE_K => skip(acc >= k),
            RET_K => return (k, steps),
            code => panic!("unknown opcode {code:#x} at {pc}"),
        };
    }
}

/// The plain meaning of one comparison on 64-bit values.
pub(super) fn holds(op: Op, arg: u64, value: u64, value_two: u64) -> bool {
    match op {
        Op::NotEqual => arg != value,
        Op::LessThan => arg < value,
        Op::LessEqual => arg <= value,
        Op::Equal => arg == value,
        Op::GreaterEqual => arg >= value,
        Op::GreaterThan => arg > value,
        Op::MaskedEqual => arg & value == value_two,
    }
}

/// What the resolved rules say for `nr` and `args`, evaluated directly: the first rule
/// of the syscall whose conditions all hold, else the default.
pub(super) fn eval_resolved(r: &Resolved, nr: u32, args: &[u64; 6]) -> u32 {
    r.calls
        .iter()
        .filter(|(n, _)| *n == nr)
        .map(|&(_, i)| &r.rules[i])
        .find(|rule| {
            rule.conds
                .iter()
                .all(|c| holds(c.op, args[usize::from(c.index)], c.value, c.value_two))
        })
        .map_or(r.default, |rule| rule.action)
}
