//! Acting on a project's existing containers: start, stop, restart, kill and remove,
//! in dependency order (dependencies start first and stop last), the containers of
//! one level in parallel. Failures are collected and reported together; one
//! container's failure never stops the others.

use std::collections::{BTreeMap, BTreeSet};

use engine::lifecycle;

use crate::events::{Kind, Phase};
use crate::query::{self, Member};
use crate::{plan, serial, Error, Result, Stack};

/// The project's containers for `services` (all when empty), checked against the
/// project (unless it has no services: known by its labels alone); one-off containers
/// only with `oneoff`.
pub fn select(stack: &Stack, services: &[String], oneoff: bool) -> Result<Vec<Member>> {
    if !stack.project.services.is_empty() {
        plan::check_services(stack.project, services)?;
    }
    Ok(query::members(stack.root, &stack.project.name)
        .into_iter()
        .filter(|m| services.is_empty() || services.contains(&m.service))
        .filter(|m| oneoff || !m.oneoff)
        .collect())
}

/// The members in dependency levels (a container's service after the services it
/// depends on). Services the model lacks (orphans) come first: nothing depends on them.
fn levels(stack: &Stack, members: Vec<Member>) -> Vec<Vec<Member>> {
    let services: BTreeSet<String> = members
        .iter()
        .map(|m| m.service.clone())
        .filter(|s| stack.project.services.contains_key(s))
        .collect();
    let mut by_service: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    for m in members {
        by_service.entry(m.service.clone()).or_default().push(m);
    }
    let mut out = Vec::new();
    let orphans: Vec<Member> = by_service
        .iter()
        .filter(|(s, _)| !services.contains(*s))
        .flat_map(|(_, v)| v.iter().cloned())
        .collect();
    if !orphans.is_empty() {
        out.push(orphans);
    }
    for level in plan::levels(stack.project, &services) {
        let v: Vec<Member> = level
            .iter()
            .filter_map(|s| by_service.get(s))
            .flat_map(|v| v.iter().cloned())
            .collect();
        if !v.is_empty() {
            out.push(v);
        }
    }
    out
}

/// Runs `f` on every member of a level at once; collects the failures.
fn parallel(members: &[Member], f: impl Fn(&Member) -> Result<()> + Sync) -> Vec<String> {
    std::thread::scope(|s| {
        let handles: Vec<_> = members.iter().map(|m| s.spawn(|| f(m))).collect();
        handles
            .into_iter()
            .zip(members)
            .filter_map(|(h, m)| match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some(format!(
                    "container {}: the worker thread panicked",
                    m.name()
                )),
            })
            .collect()
    })
}

fn result(errors: Vec<String>) -> Result<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::failed(errors.join("\n")))
    }
}

/// Stops one container (`Stopping`, `Stopped`).
pub fn stop_one(stack: &Stack, m: &Member, timeout: Option<i64>) -> Result<()> {
    stack
        .events
        .object(Kind::Container, m.name(), "Stopping", Phase::Working);
    match lifecycle::stop(stack.root, m.id(), timeout) {
        Ok(()) => {
            stack
                .events
                .object(Kind::Container, m.name(), "Stopped", Phase::Done);
            Ok(())
        }
        Err(e) => {
            stack
                .events
                .object(Kind::Container, m.name(), "Error", Phase::Failed);
            Err(Error::failed(format!("stopping {}: {e}", m.name())))
        }
    }
}

/// Removes one stopped container (`Removing`, `Removed`), with its anonymous volumes
/// when asked.
pub fn remove_one(stack: &Stack, m: &Member, volumes: bool) -> Result<()> {
    stack
        .events
        .object(Kind::Container, m.name(), "Removing", Phase::Working);
    match lifecycle::remove(stack.root, m.id(), true, volumes) {
        Ok(_) | Err(engine::Error::NoSuchContainer(_)) => {
            stack
                .events
                .object(Kind::Container, m.name(), "Removed", Phase::Done);
            Ok(())
        }
        Err(e) => {
            stack
                .events
                .object(Kind::Container, m.name(), "Error", Phase::Failed);
            Err(Error::failed(format!("removing {}: {e}", m.name())))
        }
    }
}

/// Starts one container (`Starting`, `Started`); the monitor's warnings go to the
/// events.
pub fn start_one(stack: &Stack, name: &str, id: &str) -> Result<()> {
    stack
        .events
        .object(Kind::Container, name, "Starting", Phase::Working);
    match serial::start(stack.root, id) {
        Ok(warnings) => {
            for w in warnings {
                stack.events.warning(&w);
            }
            stack
                .events
                .object(Kind::Container, name, "Started", Phase::Done);
            Ok(())
        }
        Err(e) => {
            stack
                .events
                .object(Kind::Container, name, "Error", Phase::Failed);
            Err(Error::failed(format!("starting container {name}: {e}")))
        }
    }
}

/// The member with its state as it is now (None when it is gone).
fn refreshed(stack: &Stack, m: &Member) -> Option<Member> {
    let (_, state) = engine::containers::load(stack.root, m.id()).ok()?;
    Some(Member { state, ..m.clone() })
}

/// Stops the members, dependents before what they depend on; those running when
/// their level's turn comes.
pub fn stop(stack: &Stack, members: Vec<Member>, timeout: Option<i64>) -> Result<()> {
    let mut errors = Vec::new();
    for level in levels(stack, members).into_iter().rev() {
        let running: Vec<Member> = level
            .iter()
            .filter_map(|m| refreshed(stack, m))
            .filter(Member::is_up)
            .collect();
        errors.extend(parallel(&running, |m| stop_one(stack, m, timeout)));
    }
    result(errors)
}

/// Starts the members that are not running, dependencies first.
pub fn start(stack: &Stack, members: Vec<Member>) -> Result<()> {
    let mut errors = Vec::new();
    for level in levels(stack, members) {
        let stopped: Vec<Member> = level.into_iter().filter(|m| !m.is_up()).collect();
        errors.extend(parallel(&stopped, |m| start_one(stack, m.name(), m.id())));
    }
    result(errors)
}

/// Restarts the members (stopped ones are started), dependencies first.
pub fn restart(stack: &Stack, members: Vec<Member>, timeout: Option<i64>) -> Result<()> {
    let mut errors = Vec::new();
    for level in levels(stack, members) {
        errors.extend(parallel(&level, |m| {
            stack
                .events
                .object(Kind::Container, m.name(), "Restarting", Phase::Working);
            lifecycle::stop(stack.root, m.id(), timeout)
                .map_err(|e| Error::failed(format!("stopping {}: {e}", m.name())))?;
            start_one(stack, m.name(), m.id())
        }));
    }
    result(errors)
}

/// Sends `signal` to the running members.
pub fn kill(stack: &Stack, members: Vec<Member>, signal: i32) -> Result<()> {
    let running: Vec<Member> = members.into_iter().filter(|m| m.is_up()).collect();
    result(parallel(&running, |m| {
        stack
            .events
            .object(Kind::Container, m.name(), "Killing", Phase::Working);
        match lifecycle::kill(stack.root, m.id(), signal) {
            Ok(()) => {
                stack
                    .events
                    .object(Kind::Container, m.name(), "Killed", Phase::Done);
                Ok(())
            }
            Err(e) => {
                stack
                    .events
                    .object(Kind::Container, m.name(), "Error", Phase::Failed);
                Err(Error::failed(format!("killing {}: {e}", m.name())))
            }
        }
    }))
}

/// Stops (dependents first) and removes the members.
pub fn stop_and_remove(
    stack: &Stack,
    members: Vec<Member>,
    timeout: Option<i64>,
    volumes: bool,
) -> Result<()> {
    let mut errors = Vec::new();
    if let Err(e) = stop(stack, members.clone(), timeout) {
        errors.push(e.to_string());
    }
    errors.extend(parallel(&members, |m| remove_one(stack, m, volumes)));
    result(errors)
}
