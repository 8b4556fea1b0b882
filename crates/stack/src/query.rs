//! Finds a project's containers, networks and volumes by their compose labels, and
//! lists the projects a state root holds. Reads records; never changes anything.

use std::collections::BTreeMap;

use engine::record::{Record, State};
use engine::{containers, networks, volumes, StateRoot};

use crate::labels;

/// One container of a project, with what its labels say about it.
#[derive(Debug, Clone)]
pub struct Member {
    pub record: Record,
    pub state: State,
    pub service: String,
    pub number: u32,
    /// Made by `compose run`.
    pub oneoff: bool,
}

impl Member {
    pub fn name(&self) -> &str {
        self.record.short_name()
    }

    pub fn id(&self) -> &str {
        &self.record.id
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.record.config.labels.get(key).map(String::as_str)
    }

    /// Running, or about to run again under its restart policy.
    pub fn is_up(&self) -> bool {
        self.state.running
    }
}

fn member(record: Record, state: State, project: &str) -> Option<Member> {
    let l = &record.config.labels;
    if l.get(labels::PROJECT).map(String::as_str) != Some(project) {
        return None;
    }
    let service = l.get(labels::SERVICE)?.clone();
    let number = l
        .get(labels::NUMBER)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let oneoff = l.get(labels::ONEOFF).is_some_and(|v| v == "True");
    Some(Member {
        record,
        state,
        service,
        number,
        oneoff,
    })
}

/// Every container of `project`, one-off ones too, ordered by service, then the
/// service's own containers by number, then one-off ones by name.
pub fn members(root: &StateRoot, project: &str) -> Vec<Member> {
    let mut v: Vec<Member> = containers::list(root)
        .into_iter()
        .filter_map(|(r, s)| member(r, s, project))
        .collect();
    v.sort_by(|a, b| {
        (&a.service, a.oneoff, a.number, a.name()).cmp(&(&b.service, b.oneoff, b.number, b.name()))
    });
    v
}

/// The containers `up` manages for `service` (not the one-off ones), by number.
pub fn service_members(root: &StateRoot, project: &str, service: &str) -> Vec<Member> {
    members(root, project)
        .into_iter()
        .filter(|m| m.service == service && !m.oneoff)
        .collect()
}

/// A project as `compose ls` shows it.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub name: String,
    /// Container count by state ("running", "exited", ...).
    pub states: BTreeMap<String, usize>,
    pub config_files: String,
}

impl Summary {
    /// `exited(1), running(2)`, as compose prints it.
    pub fn status(&self) -> String {
        self.states
            .iter()
            .map(|(s, n)| format!("{s}({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn running(&self) -> bool {
        self.states.get("running").is_some_and(|n| *n > 0)
    }
}

/// Every project with a container in the root, by name.
pub fn projects(root: &StateRoot) -> Vec<Summary> {
    let mut by_name: BTreeMap<String, Summary> = BTreeMap::new();
    for (r, s) in containers::list(root) {
        let Some(p) = r.config.labels.get(labels::PROJECT) else {
            continue;
        };
        let entry = by_name.entry(p.clone()).or_insert_with(|| Summary {
            name: p.clone(),
            ..Default::default()
        });
        *entry
            .states
            .entry(s.status.as_str().to_string())
            .or_default() += 1;
        if entry.config_files.is_empty() {
            if let Some(f) = r.config.labels.get(labels::CONFIG_FILES) {
                entry.config_files = f.clone();
            }
        }
    }
    by_name.into_values().collect()
}

/// The networks labelled as `project`'s.
pub fn networks(root: &StateRoot, project: &str) -> engine::Result<Vec<networks::Network>> {
    Ok(networks::list(root)?
        .into_iter()
        .filter(|n| n.labels.get(labels::PROJECT).map(String::as_str) == Some(project))
        .collect())
}

/// The volumes labelled as `project`'s.
pub fn volumes(root: &StateRoot, project: &str) -> engine::Result<Vec<volumes::Volume>> {
    Ok(volumes::list(root)?
        .into_iter()
        .filter(|v| v.labels.get(labels::PROJECT).map(String::as_str) == Some(project))
        .collect())
}
