//! Runs the stages a build needs, each as soon as the stages it reads from are done, so
//! independent stages build at the same time (as BuildKit's solver does). Owns the
//! worker threads, the order in which results become visible, stopping everything on
//! the first failure or on SIGINT/SIGTERM/SIGHUP, and passing the workers' progress
//! to the caller's callback on the calling thread (the callback need not be `Send`).
//! Never runs a step itself.

use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::options::Event;

/// A progress event a worker sends to the calling thread.
enum Owned {
    Step {
        n: usize,
        label: String,
        text: String,
    },
    Cached {
        n: usize,
    },
    Output {
        n: usize,
        text: Vec<u8>,
    },
    Done {
        n: usize,
        seconds: f64,
    },
    Warning(String),
    Tick,
}

impl Owned {
    fn from(e: Event<'_>) -> Owned {
        match e {
            Event::Step { n, label, text } => Owned::Step {
                n,
                label: label.to_string(),
                text: text.to_string(),
            },
            Event::Cached { n } => Owned::Cached { n },
            Event::Output { n, text } => Owned::Output {
                n,
                text: text.to_vec(),
            },
            Event::Done { n, seconds } => Owned::Done { n, seconds },
            Event::Warning(w) => Owned::Warning(w.to_string()),
            Event::Tick => Owned::Tick,
        }
    }

    fn pass(&self, report: &mut dyn FnMut(Event<'_>)) {
        match self {
            Owned::Step { n, label, text } => report(Event::Step { n: *n, label, text }),
            Owned::Cached { n } => report(Event::Cached { n: *n }),
            Owned::Output { n, text } => report(Event::Output { n: *n, text }),
            Owned::Done { n, seconds } => report(Event::Done {
                n: *n,
                seconds: *seconds,
            }),
            Owned::Warning(w) => report(Event::Warning(w)),
            Owned::Tick => report(Event::Tick),
        }
    }
}

/// Builds one stage (by index), reporting through the callback it is given.
pub(super) type StageFn<'a> = dyn Fn(usize, &mut dyn FnMut(Event<'_>)) -> Result<()> + Sync + 'a;

enum Msg {
    Event(Owned),
    Finished(usize, Result<()>),
}

/// Builds each of `needed` (stage indices) with `build_stage`, which gets the stage and
/// a progress callback of its own, once every stage in `deps(stage)` has finished. At
/// most `parallel` run at once. After a failure or a signal no new stage starts,
/// `cancel` is set so running steps stop, and the first error is returned once every
/// worker has ended.
pub(super) fn run_stages(
    needed: &[usize],
    deps: &dyn Fn(usize) -> Vec<usize>,
    parallel: usize,
    cancel: &std::sync::atomic::AtomicBool,
    build_stage: &StageFn<'_>,
    report: &mut dyn FnMut(Event<'_>),
) -> Result<()> {
    // The signals are taken for the whole build, by every thread (workers inherit the
    // mask): a step's container must be killed and removed before the build ends.
    let signals = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];
    let old_mask = runtime::sys::block_signals(&signals).ok();
    let sfd = runtime::sys::signalfd(&signals).ok();
    let mut first_err: Option<Error> = None;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<Msg>();
        let mut started = vec![false; needed.len()];
        let mut finished: Vec<usize> = Vec::new();
        let mut running = 0;
        loop {
            if first_err.is_none() {
                for (i, &s) in needed.iter().enumerate() {
                    if started[i] || running >= parallel.max(1) {
                        continue;
                    }
                    if deps(s).iter().all(|d| finished.contains(d)) {
                        started[i] = true;
                        running += 1;
                        let tx = tx.clone();
                        scope.spawn(move || {
                            let events = tx.clone();
                            let mut forward =
                                move |e: Event<'_>| drop(events.send(Msg::Event(Owned::from(e))));
                            let r = build_stage(s, &mut forward);
                            let _ = tx.send(Msg::Finished(s, r));
                        });
                    }
                }
            }
            if running == 0 {
                break;
            }
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(Msg::Event(e)) => e.pass(report),
                Ok(Msg::Finished(s, r)) => {
                    running -= 1;
                    match r {
                        Ok(()) => finished.push(s),
                        Err(e) => {
                            cancel.store(true, Ordering::SeqCst);
                            // A stage stopped by the cancel only echoes the first error.
                            if first_err.is_none() {
                                first_err = Some(e);
                            }
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => report(Event::Tick),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if let Some(Ok(Some(sig))) = sfd
                .as_ref()
                .map(|fd| runtime::sys::read_signalfd(fd.as_fd()))
            {
                cancel.store(true, Ordering::SeqCst);
                if !matches!(first_err, Some(Error::Interrupted(_))) {
                    first_err = Some(Error::Interrupted(sig));
                }
            }
        }
        // Progress sent just before a worker ended.
        while let Ok(Msg::Event(e)) = rx.try_recv() {
            e.pass(report);
        }
    });
    // A signal that came as the last worker ended is taken too, before unblocking.
    if let Some(Ok(Some(sig))) = sfd
        .as_ref()
        .map(|fd| runtime::sys::read_signalfd(fd.as_fd()))
    {
        first_err = Some(Error::Interrupted(sig));
    }
    drop(sfd);
    if let Some(mask) = old_mask {
        let _ = runtime::sys::set_sigmask(&mask);
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
