//! `up`: brings a project's services to what the model says. Images first (pulled when
//! missing), then networks and volumes, then one thread per service: it waits until
//! the services it depends on are up and meet their condition (started, healthy,
//! completed successfully), then converges its own containers: an unchanged one (same
//! config hash, same image) is kept and started if stopped, a changed one recreated,
//! missing ones created, extra ones (scaled down) removed. Services that do not depend
//! on each other thus start in parallel. Never prints; see `events`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use compose::model::{Condition, Service};
use engine::progress::Progress;

use crate::convert::{self, Target};
use crate::events::{Kind, Phase};
use crate::query::{self, Member};
use crate::{hash, images, labels, ops, plan, resources, secrets, serial, wait};
use crate::{Error, Result, Stack};

#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// The services named on the command line; all when empty.
    pub services: Vec<String>,
    pub no_deps: bool,
    pub force_recreate: bool,
    pub no_recreate: bool,
    pub no_start: bool,
    pub remove_orphans: bool,
    /// `--build`: build every service that has `build:` first.
    pub build: bool,
    /// `--scale SERVICE=N`.
    pub scale: BTreeMap<String, u32>,
    pub wait: bool,
    pub wait_timeout: Option<Duration>,
    /// Seconds to wait when stopping containers that are recreated or removed.
    pub timeout: Option<i64>,
    /// `--renew-anon-volumes`: a recreated container gets new anonymous volumes
    /// instead of its predecessor's.
    pub renew_anon_volumes: bool,
}

/// A container `up` left in place, created or recreated.
#[derive(Debug, Clone)]
pub struct Touched {
    pub id: String,
    pub name: String,
    pub service: String,
    /// Started by this `up` (its whole log is new), rather than found running.
    pub started: bool,
}

/// How a service's convergence ended, for the services that depend on it.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    ok: bool,
    /// A container of it was recreated: dependents with `depends_on.restart` restart.
    recreated: bool,
}

/// Which services have finished converging, and how.
#[derive(Default)]
struct Board {
    done: Mutex<BTreeMap<String, Outcome>>,
    changed: Condvar,
}

impl Board {
    fn finish(&self, service: &str, outcome: Outcome) {
        let mut d = self.done.lock().unwrap_or_else(|e| e.into_inner());
        d.insert(service.to_string(), outcome);
        self.changed.notify_all();
    }

    /// Blocks until `service` is done.
    fn wait(&self, service: &str) -> Outcome {
        let mut d = self.done.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(o) = d.get(service) {
                return *o;
            }
            d = self.changed.wait(d).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Why a service's thread did not converge it.
enum Stopped {
    /// A dependency failed: its own error is the one to report.
    Dependency,
    Failed(Error),
}

pub fn up(stack: &Stack, opts: &UpOptions, progress: &dyn Progress) -> Result<Vec<Touched>> {
    let project = stack.project;
    let selected = plan::select(project, &opts.services, !opts.no_deps)?;
    for (name, n) in &opts.scale {
        if !project.services.contains_key(name) {
            return Err(Error::invalid(format!(
                "--scale {name}={n}: no such service: {name}"
            )));
        }
    }
    for s in &selected {
        for d in plan::missing_optional(project, s) {
            stack.events.warning(&format!(
                "service {s:?} depends on service {d:?}, which is not enabled: skipping the optional dependency"
            ));
        }
    }
    images::ensure(stack, &selected, opts.build, progress)?;
    handle_orphans(stack, opts)?;
    resources::ensure_networks(stack, &resources::networks_used(project, &selected))?;
    resources::ensure_volumes(stack, &resources::volumes_used(project, &selected))?;

    let board = Board::default();
    let order = plan::start_order(project, &selected);
    let outcomes: Vec<(String, std::result::Result<Vec<Touched>, Stopped>)> =
        std::thread::scope(|s| {
            let handles: Vec<_> = order
                .iter()
                .map(|name| {
                    let board = &board;
                    let selected = &selected;
                    let h = s.spawn(move || {
                        let r = run_service(stack, opts, selected, board, name);
                        let outcome = Outcome {
                            ok: r.is_ok(),
                            recreated: r.as_ref().is_ok_and(|(_, re)| *re),
                        };
                        board.finish(name, outcome);
                        r.map(|(t, _)| t)
                    });
                    (name.clone(), h)
                })
                .collect();
            handles
                .into_iter()
                .map(|(name, h)| {
                    let r = h.join().unwrap_or_else(|_| {
                        board.finish(
                            &name,
                            Outcome {
                                ok: false,
                                recreated: false,
                            },
                        );
                        Err(Stopped::Failed(Error::failed(format!(
                            "service {name:?}: its worker thread panicked"
                        ))))
                    });
                    (name, r)
                })
                .collect()
        });
    let mut touched = Vec::new();
    let mut first_error = None;
    for (_, r) in outcomes {
        match r {
            Ok(t) => touched.extend(t),
            Err(Stopped::Failed(e)) if first_error.is_none() => first_error = Some(e),
            Err(_) => {}
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    if opts.wait && !opts.no_start {
        let may_complete: BTreeSet<String> = project
            .services
            .values()
            .flat_map(|s| s.depends_on.iter())
            .filter(|(_, d)| d.condition == Condition::ServiceCompletedSuccessfully)
            .map(|(n, _)| n.clone())
            .collect();
        wait::ready(stack, &selected, &may_complete, opts.wait_timeout)?;
    }
    Ok(touched)
}

/// Containers of services the model no longer has: removed with `--remove-orphans`,
/// else a warning, as compose does.
fn handle_orphans(stack: &Stack, opts: &UpOptions) -> Result<()> {
    let orphans: Vec<Member> = query::members(stack.root, &stack.project.name)
        .into_iter()
        .filter(|m| !m.oneoff && !stack.project.services.contains_key(&m.service))
        .collect();
    if orphans.is_empty() {
        return Ok(());
    }
    if opts.remove_orphans {
        return ops::stop_and_remove(stack, orphans, opts.timeout, false);
    }
    let names: Vec<&str> = orphans.iter().map(Member::name).collect();
    stack.events.warning(&format!(
        "Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
        names.join(" ")
    ));
    Ok(())
}

/// One service's thread: its dependencies' conditions, then its containers.
fn run_service(
    stack: &Stack,
    opts: &UpOptions,
    selected: &BTreeSet<String>,
    board: &Board,
    name: &str,
) -> std::result::Result<(Vec<Touched>, bool), Stopped> {
    let mut restart = false;
    for (dep, d) in plan::dependencies(stack.project, name).map_err(Stopped::Failed)? {
        if !selected.contains(dep) {
            continue;
        }
        let outcome = board.wait(dep);
        if !outcome.ok {
            return Err(Stopped::Dependency);
        }
        restart |= d.restart && outcome.recreated;
        if opts.no_start {
            continue;
        }
        match d.condition {
            Condition::ServiceStarted => {}
            Condition::ServiceHealthy => wait::healthy(stack, dep).map_err(Stopped::Failed)?,
            Condition::ServiceCompletedSuccessfully => {
                wait::completed(stack, dep).map_err(Stopped::Failed)?
            }
        }
    }
    converge(stack, opts, name, restart).map_err(Stopped::Failed)
}

/// What a service's containers must be made from.
struct Spec<'a> {
    name: &'a str,
    svc: &'a Service,
    hash: String,
    image: String,
    image_id: String,
}

/// Brings the service's containers to its spec; whether one was recreated. `restart`:
/// a dependency with `depends_on.restart` was recreated, so running containers that
/// are otherwise up to date restart (compose's rule).
fn converge(
    stack: &Stack,
    opts: &UpOptions,
    name: &str,
    restart: bool,
) -> Result<(Vec<Touched>, bool)> {
    let svc = stack
        .project
        .services
        .get(name)
        .ok_or_else(|| Error::invalid(format!("no such service: {name}")))?;
    let scale = opts.scale.get(name).copied().or(svc.scale).unwrap_or(1);
    if let (true, Some(c)) = (scale > 1, &svc.container_name) {
        return Err(Error::invalid(format!(
            "service {name:?} is using the custom container name {c:?}: container names are unique, so it cannot be scaled to {scale}; remove container_name to scale it"
        )));
    }
    convert::create_host_paths(svc)?;
    let image = images::image_name(&stack.project.name, name, svc);
    let image_id = images::image_id(stack, &image)?
        .ok_or_else(|| Error::invalid(format!("service {name:?}: no such image: {image}")))?;
    let spec = Spec {
        name,
        svc,
        hash: hash::config_hash(svc),
        image,
        image_id,
    };
    let existing = query::service_members(stack.root, &stack.project.name, name);
    let keep = existing.len().min(scale as usize);
    let (kept, extra) = existing.split_at(keep);
    // Scaled down: the highest numbers go, as in compose.
    ops::stop_and_remove(stack, extra.to_vec(), opts.timeout, true)?;
    let mut touched = Vec::new();
    let mut recreated = false;
    // `network_mode: service:X` lives in X's first container: a new one there means
    // this service's containers must be made again to join it.
    let shared_net = svc
        .network_mode
        .as_deref()
        .and_then(|m| m.strip_prefix("service:"))
        .map(|other| {
            query::service_members(stack.root, &stack.project.name, other)
                .iter()
                .min_by_key(|x| x.number)
                .map(|x| format!("container:{}", x.id()))
        });
    for m in kept {
        let diverged = m.label(labels::CONFIG_HASH) != Some(spec.hash.as_str())
            || m.label(labels::IMAGE) != Some(spec.image_id.as_str())
            || shared_net
                .as_ref()
                .is_some_and(|n| n.as_deref() != Some(m.record.host_config.network_mode.as_str()));
        if opts.force_recreate || (diverged && !opts.no_recreate) {
            touched.push(recreate(stack, opts, &spec, m)?);
            recreated = true;
        } else if restart && m.is_up() && !opts.no_start {
            ops::restart(stack, vec![m.clone()], opts.timeout)?;
            touched.push(touch(m.id(), m.name(), name, true));
        } else if !m.is_up() && !opts.no_start {
            ops::start_one(stack, m.name(), m.id())?;
            touched.push(touch(m.id(), m.name(), name, true));
        } else {
            if m.is_up() {
                stack
                    .events
                    .object(Kind::Container, m.name(), "Running", Phase::Done);
            }
            touched.push(touch(m.id(), m.name(), name, false));
        }
    }
    let used: BTreeSet<u32> = kept.iter().map(|m| m.number).collect();
    let mut free = (1u32..).filter(|n| !used.contains(n));
    for _ in kept.len()..scale as usize {
        let number = free.next().unwrap_or(1);
        let (id, cname) = create(stack, &spec, number, "Creating", "Created", Vec::new())?;
        if !opts.no_start {
            ops::start_one(stack, &cname, &id)?;
        }
        touched.push(touch(&id, &cname, name, !opts.no_start));
    }
    Ok((touched, recreated))
}

fn touch(id: &str, name: &str, service: &str, started: bool) -> Touched {
    Touched {
        id: id.to_string(),
        name: name.to_string(),
        service: service.to_string(),
        started,
    }
}

/// The name compose gives a service's container number `n`.
pub fn container_name(project: &str, service: &str, svc: &Service, n: u32) -> String {
    svc.container_name
        .clone()
        .unwrap_or_else(|| format!("{project}-{service}-{n}"))
}

/// Creates container `number` of the service; returns its id and name.
fn create(
    stack: &Stack,
    spec: &Spec,
    number: u32,
    working: &str,
    done: &str,
    inherited: Vec<engine::record::MountPoint>,
) -> Result<(String, String)> {
    let cname = container_name(&stack.project.name, spec.name, spec.svc, number);
    let member = labels::Member {
        service: spec.name,
        number,
        oneoff: None,
        config_hash: &spec.hash,
        image_id: &spec.image_id,
    };
    let target = Target {
        service: spec.name.to_string(),
        name: cname.clone(),
        image: spec.image.clone(),
        labels: labels::container(stack, spec.svc, &member),
        extra_mounts: secrets::mounts(stack, spec.name, spec.svc)?,
        aliases: true,
        inherited,
    };
    let (opts, warnings) = convert::create_options(stack, spec.svc, &target)?;
    if number == 1 {
        for w in warnings {
            stack.events.warning(&w);
        }
    }
    stack
        .events
        .object(Kind::Container, &cname, working, Phase::Working);
    match serial::create(stack.root, &opts) {
        Ok(record) => {
            stack
                .events
                .object(Kind::Container, &cname, done, Phase::Done);
            Ok((record.id, cname))
        }
        Err(e) => {
            stack
                .events
                .object(Kind::Container, &cname, "Error", Phase::Failed);
            Err(Error::failed(format!("creating container {cname}: {e}")))
        }
    }
}

/// Replaces a container whose configuration changed: stop, remove, create under the
/// same number, start. As compose does, the new container mounts the old one's
/// anonymous volumes where it still has an anonymous volume (so a database's data in
/// an image VOLUME survives a config change); the others, and all of them with
/// `--renew-anon-volumes`, are removed with the old container.
fn recreate(stack: &Stack, opts: &UpOptions, spec: &Spec, m: &Member) -> Result<Touched> {
    if m.is_up() {
        ops::stop_one(stack, m, opts.timeout)?;
    }
    let kept = if opts.renew_anon_volumes {
        Vec::new()
    } else {
        kept_anonymous(stack, spec, &m.record)?
    };
    engine::lifecycle::remove(stack.root, m.id(), true, false)
        .map_err(|e| Error::failed(format!("removing {} to recreate it: {e}", m.name())))?;
    for old in m.record.host_config.mounts.iter().filter(|x| x.anonymous) {
        if !kept.iter().any(|k| k.source == old.source) {
            let _ = engine::volumes::remove(stack.root, &old.source, true);
        }
    }
    let (id, cname) = create(stack, spec, m.number, "Recreate", "Recreated", kept)?;
    if !opts.no_start {
        ops::start_one(stack, &cname, &id)?;
    }
    Ok(touch(&id, &cname, spec.name, !opts.no_start))
}

/// The anonymous volumes of `old` the replacing container keeps: those at a target
/// where the service declares an anonymous volume, or where the (new) image has a
/// VOLUME that the service mounts nothing else onto.
fn kept_anonymous(
    stack: &Stack,
    spec: &Spec,
    old: &engine::record::Record,
) -> Result<Vec<engine::record::MountPoint>> {
    use compose::model::VolumeKind;
    let trim = |t: &str| t.trim_end_matches('/').to_string();
    let store = engine::images::open_store(stack.root)?;
    let image_volumes: BTreeSet<String> = engine::images::try_find(&store, &spec.image_id)?
        .map(|f| store.image_config(&f.id))
        .transpose()
        .map_err(engine::Error::from)?
        .and_then(|(c, _)| c.config.and_then(|r| r.volumes))
        .map(|v| v.keys().map(|k| trim(k)).collect())
        .unwrap_or_default();
    let svc = spec.svc;
    let anonymous = |t: &str| {
        svc.volumes
            .iter()
            .any(|v| v.kind == VolumeKind::Volume && v.source.is_none() && trim(&v.target) == t)
    };
    let taken = |t: &str| {
        svc.volumes.iter().any(|v| trim(&v.target) == t)
            || svc
                .tmpfs
                .iter()
                .any(|p| trim(p.split(':').next().unwrap_or("")) == t)
    };
    Ok(old
        .host_config
        .mounts
        .iter()
        .filter(|m| m.anonymous && m.kind == engine::record::MountType::Volume)
        .filter(|m| {
            let t = trim(&m.target);
            anonymous(&t) || (image_volumes.contains(&t) && !taken(&t))
        })
        .cloned()
        .collect())
}
