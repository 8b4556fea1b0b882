//! `compose run`: a one-off container of a service (`PROJECT-SERVICE-run-SLUG`,
//! labelled `oneoff=True`), with the command, entrypoint, environment, user, working
//! directory and ports the command line gives, after bringing up the services it
//! depends on and waiting for their conditions. Creates the container; starting and
//! attaching are the caller's (the CLI attaches it to the terminal like `berth run`).

use compose::model::Condition;
use engine::progress::Progress;
use engine::record::Record;

use crate::convert::{self, Target};
use crate::events::{Kind, Phase};
use crate::up::{self, UpOptions};
use crate::{hash, images, labels, plan, resources, secrets, serial, wait, Error, Result, Stack};

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub service: String,
    /// Replaces the service's command when given.
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// `-e K=V` (or `K`, taken from the environment the project was loaded with).
    pub env: Vec<String>,
    pub name: Option<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// `-p`: published ports; the service's own `ports` are not published, as in compose.
    pub publish: Vec<String>,
    pub rm: bool,
    pub no_deps: bool,
    pub tty: bool,
    pub interactive: bool,
}

/// Starts the service's dependencies (unless `no_deps`), then creates the one-off
/// container; returns its record.
pub fn create(stack: &Stack, opts: &RunOptions, progress: &dyn Progress) -> Result<Record> {
    let project = stack.project;
    plan::check_services(project, std::slice::from_ref(&opts.service))?;
    let service = opts.service.as_str();
    let deps: Vec<String> = plan::dependencies(project, service)?
        .into_iter()
        .map(|(d, _)| d.to_string())
        .collect();
    if !opts.no_deps && !deps.is_empty() {
        up::up(
            stack,
            &UpOptions {
                services: deps,
                ..Default::default()
            },
            progress,
        )?;
        for (dep, d) in plan::dependencies(project, service)? {
            match d.condition {
                Condition::ServiceStarted => {}
                Condition::ServiceHealthy => wait::healthy(stack, dep)?,
                Condition::ServiceCompletedSuccessfully => wait::completed(stack, dep)?,
            }
        }
    }
    let mut svc = project
        .services
        .get(service)
        .cloned()
        .ok_or_else(|| Error::invalid(format!("no such service: {service}")))?;
    let selected = std::iter::once(service.to_string()).collect();
    images::ensure(stack, &selected, false, progress)?;
    resources::ensure_networks(stack, &resources::networks_used(project, &selected))?;
    resources::ensure_volumes(stack, &resources::volumes_used(project, &selected))?;
    convert::create_host_paths(&svc)?;

    if let Some(c) = &opts.command {
        svc.command = Some(c.clone());
    }
    if let Some(e) = &opts.entrypoint {
        svc.entrypoint = Some(e.clone());
    }
    for e in &opts.env {
        match e.split_once('=') {
            Some((k, v)) => svc.environment.insert(k.to_string(), Some(v.to_string())),
            None => svc.environment.insert(
                e.clone(),
                stack
                    .environment
                    .iter()
                    .rev()
                    .find(|(k, _)| k == e)
                    .map(|(_, v)| v.clone()),
            ),
        };
    }
    if opts.user.is_some() {
        svc.user = opts.user.clone();
    }
    if opts.workdir.is_some() {
        svc.working_dir = opts.workdir.clone();
    }
    svc.ports.clear();
    // A one-off container is not supervised: no restart policy (it would also
    // conflict with --rm).
    svc.restart = None;
    svc.tty = opts.tty;
    svc.stdin_open = opts.interactive;
    svc.container_name = None;

    let image = images::image_name(&project.name, service, &svc);
    let image_id = images::image_id(stack, &image)?
        .ok_or_else(|| Error::invalid(format!("service {service:?}: no such image: {image}")))?;
    let slug = slug()?;
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{service}-run-{}", project.name, &slug[..12]));
    let config_hash = hash::config_hash(&svc);
    let member = labels::Member {
        service,
        number: 1,
        oneoff: Some(&slug),
        config_hash: &config_hash,
        image_id: &image_id,
    };
    let target = Target {
        inherited: Vec::new(),
        service: service.to_string(),
        name: name.clone(),
        image,
        labels: labels::container(stack, &svc, &member),
        extra_mounts: secrets::mounts(stack, service, &svc)?,
        aliases: false,
    };
    let (mut create, warnings) = convert::create_options(stack, &svc, &target)?;
    for w in warnings {
        stack.events.warning(&w);
    }
    create.net.publish = opts.publish.clone();
    create.auto_remove = opts.rm;
    stack
        .events
        .object(Kind::Container, &name, "Creating", Phase::Working);
    let record = serial::create(stack.root, &create)
        .map_err(|e| Error::failed(format!("creating container {name}: {e}")))?;
    stack
        .events
        .object(Kind::Container, &name, "Created", Phase::Done);
    Ok(record)
}

/// A one-off container's random slug: 64 hex digits, the first 12 in its name.
fn slug() -> Result<String> {
    let mut b = [0u8; 32];
    runtime::sys::random_bytes(&mut b)
        .map_err(|e| Error::invalid(format!("reading random bytes: {e}")))?;
    Ok(hex::encode(b))
}
