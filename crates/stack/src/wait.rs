//! Waiting on containers the way compose does: for a dependency to be healthy or to
//! have completed successfully, and for `up --wait`'s services to be running (healthy
//! when they have a check). Polls the records the monitors keep; never changes a
//! container.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use engine::containers;
use engine::record::{HealthStatus, Record, State, Status};

use crate::events::{Kind, Phase};
use crate::query::{self, Member};
use crate::{Error, Result, Stack};

const POLL: Duration = Duration::from_millis(100);

/// Whether the container has a health check of its own or from its image.
pub fn has_healthcheck(record: &Record) -> bool {
    record
        .config
        .healthcheck
        .as_ref()
        .and_then(|h| h.test.as_ref())
        .and_then(|t| t.first())
        .is_some_and(|k| k != "NONE")
}

fn reload(stack: &Stack, m: &Member) -> Result<(Record, State)> {
    containers::load(stack.root, m.id()).map_err(|e| {
        Error::failed(format!(
            "dependency failed to start: container {}: {e}",
            m.name()
        ))
    })
}

fn members(stack: &Stack, service: &str) -> Result<Vec<Member>> {
    let v = query::service_members(stack.root, &stack.project.name, service);
    if v.is_empty() {
        return Err(Error::failed(format!(
            "dependency failed to start: service {service:?} has no container"
        )));
    }
    Ok(v)
}

/// What one look at a container says.
enum Verdict {
    /// Not there yet: look again.
    Wait,
    /// Done, reported with this word (`Healthy`, `Exited`), or silently.
    Done(Option<&'static str>),
    /// Failed with this message.
    Fail(String),
}

/// Polls `members` until `check` says each is done, reporting them as compose does;
/// the first failure ends the wait. Past `deadline`, fails naming those still waited
/// for, for `what` they were waited for.
fn poll(
    stack: &Stack,
    members: &[Member],
    deadline: Option<(Instant, &str)>,
    mut check: impl FnMut(&Member, &Record, &State) -> Verdict,
    load: impl Fn(&Member) -> Result<(Record, State)>,
) -> Result<()> {
    let mut done = vec![false; members.len()];
    for m in members {
        stack
            .events
            .object(Kind::Container, m.name(), "Waiting", Phase::Working);
    }
    loop {
        for (i, m) in members.iter().enumerate() {
            if done[i] {
                continue;
            }
            let (record, state) = load(m)?;
            match check(m, &record, &state) {
                Verdict::Wait => {}
                Verdict::Done(word) => {
                    done[i] = true;
                    if let Some(word) = word {
                        stack
                            .events
                            .object(Kind::Container, m.name(), word, Phase::Done);
                    }
                }
                Verdict::Fail(why) => {
                    stack
                        .events
                        .object(Kind::Container, m.name(), "Error", Phase::Failed);
                    return Err(Error::failed(why));
                }
            }
        }
        if done.iter().all(|d| *d) {
            return Ok(());
        }
        if let Some((at, what)) = deadline {
            if Instant::now() >= at {
                let waiting: Vec<&str> = members
                    .iter()
                    .zip(&done)
                    .filter(|(_, d)| !**d)
                    .map(|(m, _)| m.name())
                    .collect();
                return Err(Error::failed(format!(
                    "timed out waiting for {} to be {what}",
                    waiting.join(", ")
                )));
            }
        }
        std::thread::sleep(POLL);
    }
}

/// Until every container of `service` is healthy; fails when one becomes unhealthy,
/// has no health check, or stops.
pub fn healthy(stack: &Stack, service: &str) -> Result<()> {
    let members = members(stack, service)?;
    let check = |m: &Member, record: &Record, state: &State| {
        let name = m.name();
        if !has_healthcheck(record) {
            return Verdict::Fail(format!(
                "dependency failed to start: container {name} has no healthcheck configured"
            ));
        }
        let health = state.health.as_ref().map(|h| h.status);
        if health == Some(HealthStatus::Healthy) && state.status == Status::Running {
            Verdict::Done(Some("Healthy"))
        } else if health == Some(HealthStatus::Unhealthy) && state.running {
            Verdict::Fail(format!(
                "dependency failed to start: container {name} is unhealthy"
            ))
        } else if !state.running && state.status != Status::Created {
            Verdict::Fail(format!(
                "dependency failed to start: container {name} exited ({})",
                state.exit_code
            ))
        } else {
            Verdict::Wait
        }
    };
    poll(stack, &members, None, check, |m| reload(stack, m))
}

/// Until every container of `service` has exited; fails unless each exited with 0.
pub fn completed(stack: &Stack, service: &str) -> Result<()> {
    let members = members(stack, service)?;
    let check = |_: &Member, _: &Record, state: &State| {
        if state.running || state.status == Status::Created {
            Verdict::Wait
        } else if state.exit_code != 0 {
            Verdict::Fail(format!(
                "service {service:?} didn't complete successfully: exit {}",
                state.exit_code
            ))
        } else {
            Verdict::Done(Some("Exited"))
        }
    };
    poll(stack, &members, None, check, |m| reload(stack, m))
}

/// `up --wait`: until every container of `services` runs, healthy when it has a check.
/// A container that exited 0 counts as done when its service is in `may_complete`
/// (others depend on it completing). Fails on an unhealthy or exited container, or at
/// the deadline.
pub fn ready(
    stack: &Stack,
    services: &BTreeSet<String>,
    may_complete: &BTreeSet<String>,
    timeout: Option<Duration>,
) -> Result<()> {
    let deadline = timeout.map(|t| (Instant::now() + t, "running and healthy"));
    let members: Vec<Member> = query::members(stack.root, &stack.project.name)
        .into_iter()
        .filter(|m| !m.oneoff && services.contains(&m.service))
        .collect();
    let check = |m: &Member, record: &Record, state: &State| {
        let name = m.name();
        match state.status {
            Status::Running if has_healthcheck(record) => {
                match state.health.as_ref().map(|h| h.status) {
                    Some(HealthStatus::Healthy) => Verdict::Done(Some("Healthy")),
                    Some(HealthStatus::Unhealthy) => {
                        Verdict::Fail(format!("container {name} is unhealthy"))
                    }
                    _ => Verdict::Wait,
                }
            }
            Status::Running => Verdict::Done(Some("Healthy")),
            // Its restart policy brings it back.
            Status::Restarting => Verdict::Wait,
            Status::Created => Verdict::Done(None),
            _ if state.exit_code == 0 && may_complete.contains(&m.service) => {
                Verdict::Done(Some("Exited"))
            }
            _ => Verdict::Fail(format!("container {name} exited ({})", state.exit_code)),
        }
    };
    poll(stack, &members, deadline, check, |m| {
        Ok(containers::load(stack.root, m.id())?)
    })
}
