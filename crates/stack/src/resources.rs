//! The project's networks and volumes: which ones the selected services use, creating
//! the missing ones with compose's labels (an external one must already exist), and
//! removing the project's own on `down`. Containers are `up`'s and `down`'s business.

use std::collections::BTreeSet;

use compose::model::{Project, VolumeKind};
use engine::{networks, volumes};

use crate::events::{Kind, Phase};
use crate::{labels, query, Error, Result, Stack};

/// The keys of the project networks the services are on.
pub fn networks_used(project: &Project, services: &BTreeSet<String>) -> BTreeSet<String> {
    services
        .iter()
        .filter_map(|s| project.services.get(s))
        .filter(|s| s.network_mode.is_none())
        .flat_map(|s| s.networks.keys().cloned())
        .collect()
}

/// The keys of the project volumes the services mount.
pub fn volumes_used(project: &Project, services: &BTreeSet<String>) -> BTreeSet<String> {
    services
        .iter()
        .filter_map(|s| project.services.get(s))
        .flat_map(|s| s.volumes.iter())
        .filter(|v| v.kind == VolumeKind::Volume)
        .filter_map(|v| v.source.clone())
        .collect()
}

/// A network by its exact name (`networks::find` also takes id prefixes, which a
/// project network's name must never be mistaken for).
fn network_named(stack: &Stack, name: &str) -> Result<Option<networks::Network>> {
    Ok(networks::list(stack.root)?
        .into_iter()
        .find(|n| n.name == name))
}

pub fn ensure_networks(stack: &Stack, keys: &BTreeSet<String>) -> Result<()> {
    let project = &stack.project.name;
    for key in keys {
        let net = stack.project.networks.get(key).ok_or_else(|| {
            Error::invalid(format!("network {key:?} is not defined in the project"))
        })?;
        let existing = network_named(stack, &net.name)?;
        if net.external {
            if existing.is_none() {
                return Err(Error::invalid(format!(
                    "network {} declared as external, but could not be found (create it with berth network create {})",
                    net.name, net.name
                )));
            }
            continue;
        }
        if let Some(n) = existing {
            if n.labels.get(labels::PROJECT) != Some(project) {
                stack.events.warning(&format!(
                    "a network with name {} exists but was not created for project {project:?}. Set `external: true` to use an existing network",
                    net.name
                ));
            }
            continue;
        }
        match net.driver.as_deref() {
            None | Some("bridge") => {}
            Some(d) => {
                return Err(Error::invalid(format!(
                    "network {key:?}: driver {d:?} is not supported by berth: use bridge"
                )))
            }
        }
        if net.ipam.len() > 1 {
            stack.events.warning(&format!(
                "network {key:?}: berth uses the first ipam config only"
            ));
        }
        let ipam = net.ipam.first().cloned().unwrap_or_default();
        if ipam.ip_range.is_some() {
            stack.events.warning(&format!(
                "network {key:?}: ip_range is not supported by berth; addresses come from the whole subnet"
            ));
        }
        if net.enable_ipv6 {
            stack.events.warning(&format!(
                "network {key:?}: berth networks are IPv4 only; enable_ipv6 is ignored"
            ));
        }
        if !net.driver_opts.is_empty() {
            stack.events.warning(&format!(
                "network {key:?}: driver_opts are not supported by berth and are ignored"
            ));
        }
        stack
            .events
            .object(Kind::Network, &net.name, "Creating", Phase::Working);
        let opts = networks::CreateOptions {
            name: net.name.clone(),
            driver: None,
            subnet: ipam.subnet,
            gateway: ipam.gateway,
            internal: net.internal,
            labels: labels::network(project, key, &net.labels),
        };
        match networks::create(stack.root, &opts) {
            Ok(_) => {}
            // Another `up` of the same project made it meanwhile.
            Err(_) if network_named(stack, &net.name)?.is_some() => {}
            Err(e) => {
                stack
                    .events
                    .object(Kind::Network, &net.name, "Error", Phase::Failed);
                return Err(e.into());
            }
        }
        stack
            .events
            .object(Kind::Network, &net.name, "Created", Phase::Done);
    }
    Ok(())
}

pub fn ensure_volumes(stack: &Stack, keys: &BTreeSet<String>) -> Result<()> {
    let project = &stack.project.name;
    for key in keys {
        let vol = stack.project.volumes.get(key).ok_or_else(|| {
            Error::invalid(format!("volume {key:?} is not defined in the project"))
        })?;
        let existing = volumes::inspect(stack.root, &vol.name).ok();
        if vol.external {
            if existing.is_none() {
                return Err(Error::invalid(format!(
                    "external volume {:?} not found (create it with berth volume create {})",
                    vol.name, vol.name
                )));
            }
            continue;
        }
        if let Some(v) = existing {
            if v.labels.get(labels::PROJECT) != Some(project) {
                stack.events.warning(&format!(
                    "volume {:?} already exists but was not created for project {project:?}. Use `external: true` to use an existing volume",
                    vol.name
                ));
            }
            continue;
        }
        match vol.driver.as_deref() {
            None | Some("local") => {}
            Some(d) => {
                return Err(Error::invalid(format!(
                    "volume {key:?}: driver {d:?} is not supported by berth: use local"
                )))
            }
        }
        if !vol.driver_opts.is_empty() {
            stack.events.warning(&format!(
                "volume {key:?}: driver_opts are not supported by berth and are ignored"
            ));
        }
        stack
            .events
            .object(Kind::Volume, &vol.name, "Creating", Phase::Working);
        volumes::create(
            stack.root,
            &vol.name,
            labels::volume(project, key, &vol.labels),
            false,
        )?;
        stack
            .events
            .object(Kind::Volume, &vol.name, "Created", Phase::Done);
    }
    Ok(())
}

/// Removes the project's networks: those of the model that carry the project's label,
/// and any other network labelled as the project's (left by an older version of the
/// file). External networks are never touched. Failures are collected.
pub fn remove_networks(stack: &Stack, errors: &mut Vec<String>) {
    let project = &stack.project.name;
    let mut names: BTreeSet<String> = match query::networks(stack.root, project) {
        Ok(v) => v.into_iter().map(|n| n.name).collect(),
        Err(e) => {
            errors.push(e.to_string());
            BTreeSet::new()
        }
    };
    for net in stack.project.networks.values() {
        if net.external {
            names.remove(&net.name);
        }
    }
    for name in names {
        stack
            .events
            .object(Kind::Network, &name, "Removing", Phase::Working);
        match networks::remove(stack.root, &name) {
            Ok(_) => stack
                .events
                .object(Kind::Network, &name, "Removed", Phase::Done),
            Err(e) => {
                stack
                    .events
                    .object(Kind::Network, &name, "Error", Phase::Failed);
                errors.push(format!("removing network {name}: {e}"));
            }
        }
    }
}

/// Removes the project's named volumes (`down -v`): those labelled as the project's,
/// never external ones.
pub fn remove_volumes(stack: &Stack, errors: &mut Vec<String>) {
    let project = &stack.project.name;
    let mut names: BTreeSet<String> = match query::volumes(stack.root, project) {
        Ok(v) => v.into_iter().map(|v| v.name).collect(),
        Err(e) => {
            errors.push(e.to_string());
            BTreeSet::new()
        }
    };
    for vol in stack.project.volumes.values() {
        if vol.external {
            names.remove(&vol.name);
        }
    }
    for name in names {
        stack
            .events
            .object(Kind::Volume, &name, "Removing", Phase::Working);
        match volumes::remove(stack.root, &name, false) {
            Ok(()) => stack
                .events
                .object(Kind::Volume, &name, "Removed", Phase::Done),
            Err(e) => {
                stack
                    .events
                    .object(Kind::Volume, &name, "Error", Phase::Failed);
                errors.push(format!("removing volume {name}: {e}"));
            }
        }
    }
}
