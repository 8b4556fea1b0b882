//! Turns a merged, interpolated compose tree into the typed [`Project`]: validates
//! every key against the compose-spec, turns short syntaxes into long ones, resolves
//! relative paths against the project directory, and warns (never silently) about
//! keys berth does not support yet. Reads no files.
//!
//! The submodules each own one part of the file: `read` (typed reads and key checks
//! shared by all), `units` (sizes, durations, modes), `shell` (splitting a string
//! command), `service` (one service's keys), `ports`, `volumes`, `env` (maps and
//! lists of strings), `links` (what a service refers to: networks, dependencies,
//! secrets, configs, devices), `deploy` (deploy, healthcheck, logging, restart),
//! `top_level` (networks, volumes, secrets, configs) and `checks` (what needs the
//! whole project: dependency cycles, the implicit default network).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::model::{Network, Project};
use crate::value::{Node, Span, Value};

mod checks;
mod deploy;
mod env;
mod links;
mod ports;
mod read;
mod service;
mod shell;
mod top_level;
mod units;
mod volumes;

#[cfg(test)]
mod tests;

pub use shell::split_command;
pub use units::{parse_duration, parse_size};

use read::{error, Res};

/// What the tree alone does not say.
pub struct Context<'a> {
    pub project_name: &'a str,
    /// Relative paths (bind sources, build contexts, env files, secret files) are
    /// resolved against this directory.
    pub working_dir: PathBuf,
    /// The environment the project is loaded with (process environment over `.env`):
    /// fills `environment: [NAME]` entries and `environment:` secret sources.
    pub env: &'a dyn crate::interpolate::Lookup,
}

/// A problem in the file, where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Diagnostic {
    pub span: Span,
    /// Says what is wrong and, where it helps, what is accepted
    /// (`services.web.ports[0]: invalid port "80:x": ...`).
    pub message: String,
}

/// The top-level keys of the compose-spec. `name` is the loader's business;
/// `version` and `include` only warn.
const TOP_LEVEL: &[&str] = &[
    "version", "name", "include", "services", "networks", "volumes", "secrets", "configs", "models",
];

/// Parses the whole project. Errors stop at the first problem; warnings (unsupported
/// keys, ignored settings) are returned with the project.
pub fn project(root: &Node, ctx: &Context) -> Result<(Project, Vec<Diagnostic>), Diagnostic> {
    let top = match &root.value {
        Value::Map(_) => read::fields(root, "(root)", TOP_LEVEL)?,
        Value::Null => return Err(error(root.span, "", "the compose file is empty")),
        _ => return Err(read::expected(root, "(root)", "a mapping")),
    };
    let mut p = Parser::new(ctx);

    if let Some(v) = top.get("version") {
        p.warn(
            v.span,
            "the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion",
        );
    }
    if let Some(n) = top.get("name") {
        read::string(n, "name")?;
    }
    if let Some(n) = top.get("include") {
        p.warn(
            n.span,
            "`include` is not supported by berth yet and is ignored; merge the files with -f instead",
        );
    }
    if let Some(n) = top.get("models") {
        p.warn(
            n.span,
            "`models` is not supported by berth yet and is ignored",
        );
    }

    let mut project = Project {
        name: ctx.project_name.to_string(),
        working_dir: ctx.working_dir.clone(),
        ..Project::default()
    };
    if let Some(n) = section(top.get("networks"), "networks")? {
        project.networks = top_level::networks(n, &mut p)?;
    }
    if let Some(n) = section(top.get("volumes"), "volumes")? {
        project.volumes = top_level::volumes(n, &mut p)?;
    }
    if let Some(n) = section(top.get("secrets"), "secrets")? {
        project.secrets = top_level::files(n, "secrets", &mut p)?;
    }
    if let Some(n) = section(top.get("configs"), "configs")? {
        project.configs = top_level::files(n, "configs", &mut p)?;
    }
    p.networks = project.networks.keys().cloned().collect();
    p.volumes = project.volumes.keys().cloned().collect();
    p.secrets = project.secrets.keys().cloned().collect();
    p.configs = project.configs.keys().cloned().collect();

    let mut spans = BTreeMap::new();
    if let Some(services) = section(top.get("services"), "services")? {
        // Every key here is a service, `x-` ones too: the spec's name pattern admits
        // them and compose loads them as services.
        for (key, _) in read::map(services, "services")? {
            service::check_name(key)?;
            p.services.insert(key.name.clone());
        }
        for (key, node) in read::map(services, "services")? {
            let svc = service::service(&key.name, node, &mut p)?;
            spans.insert(
                key.name.clone(),
                (key.span, node.get("depends_on").map(|d| d.span)),
            );
            project.services.insert(key.name.clone(), svc);
        }
    }

    checks::dependency_cycles(&project, &spans)?;
    if checks::uses_default_network(&project) && !project.networks.contains_key("default") {
        project.networks.insert(
            "default".into(),
            Network {
                name: format!("{}_default", ctx.project_name),
                ..Network::default()
            },
        );
    }
    Ok((project, p.warnings))
}

/// A top-level section; `null` (a key with nothing under it) is an empty one.
fn section<'a>(node: Option<&'a Node>, path: &str) -> Res<Option<&'a Node>> {
    match node {
        None => Ok(None),
        Some(n) if matches!(n.value, Value::Null) => Ok(None),
        Some(n) => {
            read::map(n, path)?;
            Ok(Some(n))
        }
    }
}

/// What the service parser needs to know about the rest of the project, and where
/// warnings go.
pub(crate) struct Parser<'a> {
    pub ctx: &'a Context<'a>,
    pub warnings: Vec<Diagnostic>,
    pub services: BTreeSet<String>,
    pub networks: BTreeSet<String>,
    pub volumes: BTreeSet<String>,
    pub secrets: BTreeSet<String>,
    pub configs: BTreeSet<String>,
    /// External secrets and configs: not supported, warned about at the top level,
    /// and references to them are dropped (with a warning) rather than failing.
    pub ignored_secrets: BTreeSet<String>,
    pub ignored_configs: BTreeSet<String>,
}

impl<'a> Parser<'a> {
    fn new(ctx: &'a Context<'a>) -> Parser<'a> {
        Parser {
            ctx,
            warnings: Vec::new(),
            services: BTreeSet::new(),
            networks: BTreeSet::new(),
            volumes: BTreeSet::new(),
            secrets: BTreeSet::new(),
            configs: BTreeSet::new(),
            ignored_secrets: BTreeSet::new(),
            ignored_configs: BTreeSet::new(),
        }
    }

    pub fn warn(&mut self, span: Span, message: impl Into<String>) {
        self.warnings.push(Diagnostic {
            span,
            message: message.into(),
        });
    }

    /// `service "web": key "ipc" is not supported by berth yet and is ignored`.
    /// `owner` is `KIND "NAME"` (`service "web"`, `network "back"`); a `key` given as
    /// a full path (`services.web.build.ssh`) is shown relative to it (`build.ssh`).
    pub fn unsupported(&mut self, owner: &str, key: &str, span: Span) {
        let relative = owner.split_once(' ').and_then(|(kind, name)| {
            let prefix = format!("{kind}s.{}.", name.trim_matches('"'));
            key.strip_prefix(prefix.as_str())
        });
        let key = relative.unwrap_or(key);
        self.warn(
            span,
            format!("{owner}: key {key:?} is not supported by berth yet and is ignored"),
        );
    }
}
