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

/// Until every container of `service` is healthy; fails when one becomes unhealthy,
/// has no health check, or stops.
pub fn healthy(stack: &Stack, service: &str) -> Result<()> {
    let members = members(stack, service)?;
    let mut done = vec![false; members.len()];
    for m in &members {
        stack
            .events
            .object(Kind::Container, m.name(), "Waiting", Phase::Working);
    }
    loop {
        for (i, m) in members.iter().enumerate() {
            if done[i] {
                continue;
            }
            let (record, state) = reload(stack, m)?;
            let name = m.name();
            if !has_healthcheck(&record) {
                return Err(Error::failed(format!(
                    "dependency failed to start: container {name} has no healthcheck configured"
                )));
            }
            let health = state.health.as_ref().map(|h| h.status);
            if health == Some(HealthStatus::Healthy) && state.status == Status::Running {
                done[i] = true;
                stack
                    .events
                    .object(Kind::Container, name, "Healthy", Phase::Done);
            } else if health == Some(HealthStatus::Unhealthy) && state.running {
                stack
                    .events
                    .object(Kind::Container, name, "Error", Phase::Failed);
                return Err(Error::failed(format!(
                    "dependency failed to start: container {name} is unhealthy"
                )));
            } else if !state.running && state.status != Status::Created {
                stack
                    .events
                    .object(Kind::Container, name, "Error", Phase::Failed);
                return Err(Error::failed(format!(
                    "dependency failed to start: container {name} exited ({})",
                    state.exit_code
                )));
            }
        }
        if done.iter().all(|d| *d) {
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
}

/// Until every container of `service` has exited; fails unless each exited with 0.
pub fn completed(stack: &Stack, service: &str) -> Result<()> {
    let members = members(stack, service)?;
    let mut done = vec![false; members.len()];
    for m in &members {
        stack
            .events
            .object(Kind::Container, m.name(), "Waiting", Phase::Working);
    }
    loop {
        for (i, m) in members.iter().enumerate() {
            if done[i] {
                continue;
            }
            let (_, state) = reload(stack, m)?;
            if state.running || state.status == Status::Created {
                continue;
            }
            if state.exit_code != 0 {
                stack
                    .events
                    .object(Kind::Container, m.name(), "Error", Phase::Failed);
                return Err(Error::failed(format!(
                    "service {service:?} didn't complete successfully: exit {}",
                    state.exit_code
                )));
            }
            done[i] = true;
            stack
                .events
                .object(Kind::Container, m.name(), "Exited", Phase::Done);
        }
        if done.iter().all(|d| *d) {
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
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
    let deadline = timeout.map(|t| Instant::now() + t);
    let members: Vec<Member> = query::members(stack.root, &stack.project.name)
        .into_iter()
        .filter(|m| !m.oneoff && services.contains(&m.service))
        .collect();
    let mut done = vec![false; members.len()];
    for m in &members {
        stack
            .events
            .object(Kind::Container, m.name(), "Waiting", Phase::Working);
    }
    loop {
        for (i, m) in members.iter().enumerate() {
            if done[i] {
                continue;
            }
            let (record, state) = containers::load(stack.root, m.id())?;
            let name = m.name();
            let fail = |why: String| {
                stack
                    .events
                    .object(Kind::Container, name, "Error", Phase::Failed);
                Err(Error::failed(why))
            };
            match state.status {
                Status::Running if has_healthcheck(&record) => {
                    match state.health.as_ref().map(|h| h.status) {
                        Some(HealthStatus::Healthy) => {
                            done[i] = true;
                            stack
                                .events
                                .object(Kind::Container, name, "Healthy", Phase::Done);
                        }
                        Some(HealthStatus::Unhealthy) => {
                            return fail(format!("container {name} is unhealthy"))
                        }
                        _ => {}
                    }
                }
                Status::Running => {
                    done[i] = true;
                    stack
                        .events
                        .object(Kind::Container, name, "Healthy", Phase::Done);
                }
                // Its restart policy brings it back.
                Status::Restarting => {}
                Status::Created => {
                    done[i] = true;
                }
                _ if state.exit_code == 0 && may_complete.contains(&m.service) => {
                    done[i] = true;
                    stack
                        .events
                        .object(Kind::Container, name, "Exited", Phase::Done);
                }
                _ => return fail(format!("container {name} exited ({})", state.exit_code)),
            }
        }
        if done.iter().all(|d| *d) {
            return Ok(());
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let waiting: Vec<&str> = members
                .iter()
                .zip(&done)
                .filter(|(_, d)| !**d)
                .map(|(m, _)| m.name())
                .collect();
            return Err(Error::failed(format!(
                "timed out waiting for {} to be running and healthy",
                waiting.join(", ")
            )));
        }
        std::thread::sleep(POLL);
    }
}
