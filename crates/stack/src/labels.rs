//! Docker Compose's labels, the only link between a project and its objects: every
//! container, network and volume `up` makes carries them, and `ps`, `down` and the
//! next `up` find the project's objects by them alone (no state of our own to go
//! stale). Owns their names and values; never looks objects up (see `query`).

use std::collections::BTreeMap;

use compose::model::Service;

use crate::Stack;

pub const PROJECT: &str = "com.docker.compose.project";
pub const SERVICE: &str = "com.docker.compose.service";
pub const NUMBER: &str = "com.docker.compose.container-number";
pub const ONEOFF: &str = "com.docker.compose.oneoff";
pub const SLUG: &str = "com.docker.compose.slug";
pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
pub const IMAGE: &str = "com.docker.compose.image";
pub const VERSION: &str = "com.docker.compose.version";
pub const NETWORK: &str = "com.docker.compose.network";
pub const VOLUME: &str = "com.docker.compose.volume";

/// What `com.docker.compose.version` says: the berth version that made the object.
pub const VERSION_VALUE: &str = env!("CARGO_PKG_VERSION");

/// What distinguishes one container of a service from another.
#[derive(Debug, Clone)]
pub struct Member<'a> {
    pub service: &'a str,
    pub number: u32,
    /// A `compose run` container: its random slug.
    pub oneoff: Option<&'a str>,
    pub config_hash: &'a str,
    /// The image id the container is created from.
    pub image_id: &'a str,
}

/// A container's labels: the service's own, then compose's (which win, as in compose).
pub fn container(stack: &Stack, svc: &Service, m: &Member) -> BTreeMap<String, String> {
    let mut l = svc.labels.clone();
    let files: Vec<String> = stack
        .config_files
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    for (k, v) in [
        (PROJECT, stack.project.name.clone()),
        (SERVICE, m.service.to_string()),
        (NUMBER, m.number.to_string()),
        (
            ONEOFF,
            if m.oneoff.is_some() { "True" } else { "False" }.into(),
        ),
        (
            WORKING_DIR,
            stack.project.working_dir.to_string_lossy().into_owned(),
        ),
        (CONFIG_FILES, files.join(",")),
        (CONFIG_HASH, m.config_hash.to_string()),
        (DEPENDS_ON, depends_on(svc)),
        (IMAGE, m.image_id.to_string()),
        (VERSION, VERSION_VALUE.into()),
    ] {
        l.insert(k.to_string(), v);
    }
    if let Some(slug) = m.oneoff {
        l.insert(SLUG.into(), slug.to_string());
    }
    l
}

/// `SERVICE:CONDITION:RESTART`, comma-separated, as compose writes it.
pub fn depends_on(svc: &Service) -> String {
    svc.depends_on
        .iter()
        .map(|(name, d)| {
            let condition = match d.condition {
                compose::model::Condition::ServiceStarted => "service_started",
                compose::model::Condition::ServiceHealthy => "service_healthy",
                compose::model::Condition::ServiceCompletedSuccessfully => {
                    "service_completed_successfully"
                }
            };
            format!("{name}:{condition}:{}", d.restart)
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A project network's labels: the model's, then compose's.
pub fn network(
    project: &str,
    key: &str,
    own: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut l = own.clone();
    l.insert(NETWORK.into(), key.into());
    l.insert(PROJECT.into(), project.into());
    l.insert(VERSION.into(), VERSION_VALUE.into());
    l
}

/// A project volume's labels: the model's, then compose's.
pub fn volume(
    project: &str,
    key: &str,
    own: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut l = own.clone();
    l.insert(VOLUME.into(), key.into());
    l.insert(PROJECT.into(), project.into());
    l.insert(VERSION.into(), VERSION_VALUE.into());
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use compose::model::{Condition, Dependency};

    #[test]
    fn depends_on_is_written_as_compose_writes_it() {
        let mut svc = Service::default();
        svc.depends_on.insert(
            "db".into(),
            Dependency {
                condition: Condition::ServiceHealthy,
                restart: true,
                required: true,
            },
        );
        svc.depends_on.insert("cache".into(), Dependency::default());
        assert_eq!(
            depends_on(&svc),
            "cache:service_started:false,db:service_healthy:true"
        );
    }
}
