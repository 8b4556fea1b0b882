//! Owns the one lock under which the stack creates and starts containers. A start
//! forks the container's monitor (through glibc's fork, which keeps glibc itself
//! consistent in the child), and in a process with other threads the child must
//! never need a lock of ours that another thread held at that moment (the seccomp
//! tables, for one, are built once behind a `OnceLock` by both create and start).
//! Creating and starting one container at a time (milliseconds each) rules that out,
//! while the slow parts (waiting for health, for completion, for stops) run in
//! parallel. Descriptors the fork copies from other threads are closed by the engine.
//! Every create or start the stack makes goes through here.

use std::sync::{Mutex, MutexGuard};

use engine::containers::{self, CreateOptions};
use engine::record::Record;
use engine::{lifecycle, StateRoot};

static LOCK: Mutex<()> = Mutex::new(());

fn guard() -> MutexGuard<'static, ()> {
    // A panic elsewhere while holding it leaves nothing half-done that matters here.
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn create(root: &StateRoot, opts: &CreateOptions) -> engine::Result<Record> {
    let _g = guard();
    containers::create(root, opts)
}

/// Starts a container detached; returns the monitor's warnings.
pub fn start(root: &StateRoot, id: &str) -> engine::Result<Vec<String>> {
    let _g = guard();
    let started = lifecycle::start(root, id, false)?;
    Ok(started.warnings)
}

/// Starts a container attached to this process's stdio (`compose run`).
pub fn start_attached(root: &StateRoot, id: &str) -> engine::Result<lifecycle::Started> {
    let _g = guard();
    lifecycle::start(root, id, true)
}
