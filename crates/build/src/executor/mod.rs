//! Drives a build: reads the Dockerfile, runs the stages a target needs in file order,
//! turns each RUN/COPY/ADD into a layer (or finds it in the cache) and each other
//! instruction into config, then publishes and tags the image. Owns the order of
//! steps, the cache lookups and the progress events; never prints. RUN and COPY/ADD
//! specifics are in `run_step` and `copy_step`.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use dockerfile::{Base, Instruction, Kind};
use engine::StateRoot;
use store::config::{History, ImageConfig, RootFs, RunConfig};
use store::{Digest, Store};

use crate::cache::{self, Cache};
use crate::context::Context;
use crate::copy;
use crate::error::{Error, IoContext, Result};
use crate::history;
use crate::layers::View;
use crate::metadata::{self, Effects};
use crate::named_contexts::Named;
use crate::options::{parse_build_args, parse_labels, predefined_args, BuildOptions, Event};
use crate::output::Output;

mod copy_step;
mod run_mounts;
mod run_step;
mod schedule;
mod workdir_step;

/// What a finished stage leaves for later stages and the image.
#[derive(Clone)]
struct StageResult {
    config: ImageConfig,
    chain: String,
}

/// Builds the image; returns its id. On failure nothing is tagged and no image or
/// container is left behind (layers already made stay in the store for the cache).
pub fn build(
    root: &StateRoot,
    opts: &BuildOptions,
    report: &mut dyn FnMut(Event<'_>),
) -> Result<Digest> {
    let output_names = match &opts.output {
        Some(Output::Image { names, .. } | Output::Archive { names, .. }) => names.as_slice(),
        None => &[],
    };
    for t in opts.tags.iter().chain(output_names) {
        let r = registry::ImageRef::parse(t)
            .map_err(|e| Error::invalid(format!("invalid tag {t:?}: {e}")))?;
        if r.digest.is_some() {
            return Err(Error::invalid(format!(
                "invalid tag {t:?}: a tag cannot hold a digest"
            )));
        }
    }
    engine::netopts::extra_hosts(&opts.add_hosts, Some("0.0.0.0"))?;
    let given = parse_build_args(&opts.build_args)?;
    let mut build_args = predefined_args();
    build_args.extend(given.clone());
    let labels = parse_labels(&opts.labels)?;
    // The store is locked from here on: a fetched context lives in its scratch space.
    let store = engine::images::open_store(root)?;
    let _lock = store.lock_shared()?;
    let resolved =
        crate::remote_context::resolve(&store, &opts.context, opts.dockerfile.as_deref())?;
    let named = crate::named_contexts::NamedContexts::load(&store, &opts.build_contexts)?;
    let mut secrets = crate::secrets::Secrets::load(&opts.secrets, &opts.secret_values)?;
    secrets.load_ssh(&opts.ssh)?;
    let file_path = resolved
        .dockerfile
        .clone()
        .unwrap_or_else(|| resolved.dir.join("Dockerfile"));
    let from_stdin = file_path.as_os_str() == "-";
    let text = if let Some(inline) = &opts.dockerfile_inline {
        inline.clone()
    } else if let Some(t) = &resolved.dockerfile_text {
        t.clone()
    } else if from_stdin {
        let mut t = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut t)
            .ctx(|| "reading the Dockerfile from stdin".into())?;
        t
    } else {
        fs::read_to_string(&file_path).map_err(|e| {
            Error::invalid(format!(
                "reading the Dockerfile {}: {e} (give one with -f)",
                file_path.display()
            ))
        })?
    };
    let own_ignore =
        !from_stdin && opts.dockerfile_inline.is_none() && resolved.dockerfile_text.is_none();
    let context = Context::open(&resolved.dir, own_ignore.then_some(file_path.as_path()))?;
    let file = dockerfile::parse(&text)?;
    for w in &file.warnings {
        report(Event::Warning(&w.to_string()));
    }
    let args_lookup = |n: &str| build_args.get(n).cloned();
    let stages = file.stages(&args_lookup)?;
    let needed = stages.needed_for(opts.target.as_deref())?;
    let target = stages.target(opts.target.as_deref())?;

    let shared = Shared {
        results: Mutex::new(vec![None; stages.stages.len()]),
        step: AtomicUsize::new(0),
        pulled: Mutex::default(),
        cancel: AtomicBool::new(false),
    };
    let global_args: Vec<(String, Option<String>)> = stages
        .global_args
        .iter()
        .map(|g| (g.name.clone(), g.value.clone()))
        .collect();
    let stage_names: Vec<Option<String>> = stages.stages.iter().map(|s| s.name.clone()).collect();
    let build_stage = |s: usize, report: &mut dyn FnMut(Event<'_>)| -> Result<()> {
        let mut b = Builder {
            root,
            store: &store,
            context: &context,
            named: &named,
            secrets: &secrets,
            cache: Cache::open(root.dir()),
            opts,
            build_args: &build_args,
            global_args: global_args.clone(),
            escape: file.directives.escape,
            results: &shared.results,
            stage_names: stage_names.clone(),
            step: &shared.step,
            single: stages.stages.len() == 1,
            pulled: &shared.pulled,
            cancel: &shared.cancel,
            report,
        };
        let result = b.stage(&stages.stages[s])?;
        if let Ok(mut results) = shared.results.lock() {
            results[s] = Some(result);
        }
        Ok(())
    };
    // A `--from=$VAR` could name any stage: such a stage waits for every earlier one.
    let deps = |s: usize| -> Vec<usize> {
        let stage = &stages.stages[s];
        if stage.dynamic_from {
            return needed.iter().copied().filter(|&d| d < s).collect();
        }
        let mut d: Vec<usize> = stage.deps.iter().map(|d| d.stage).collect();
        if let Base::Stage(b) = stage.base {
            d.push(b);
        }
        d
    };
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    schedule::run_stages(
        &needed,
        &deps,
        parallel,
        &shared.cancel,
        &build_stage,
        report,
    )?;
    let unused: Vec<&str> = given
        .keys()
        .filter(|k| {
            !stages.global_args.iter().any(|g| &g.name == *k)
                && !needed.iter().any(|&s| declares(&stages.stages[s], k))
        })
        .map(String::as_str)
        .collect();
    if !unused.is_empty() {
        let w = format!("build args not used by any ARG: {}", unused.join(", "));
        report(Event::Warning(&w));
    }
    let mut done = shared
        .results
        .lock()
        .ok()
        .and_then(|mut r| r[target].take())
        .ok_or_else(|| Error::invalid("the target stage was not built"))?;
    if !labels.is_empty() {
        let run = done.config.config.get_or_insert_with(RunConfig::default);
        run.labels.get_or_insert_with(BTreeMap::new).extend(labels);
    }
    let (id, existed) = crate::commit::put_image(&store, &done.config)?;
    let output = opts.output.clone().unwrap_or(Output::Image {
        names: Vec::new(),
        push: false,
    });
    crate::output::export(root, &store, &id, existed, &opts.tags, &output)?;
    Ok(id)
}

struct Builder<'a, 'r> {
    root: &'a StateRoot,
    store: &'a Store,
    context: &'a Context,
    /// `--build-context`s, by name.
    named: &'a crate::named_contexts::NamedContexts,
    secrets: &'a crate::secrets::Secrets,
    cache: Cache,
    opts: &'a BuildOptions,
    build_args: &'a BTreeMap<String, String>,
    global_args: Vec<(String, Option<String>)>,
    escape: char,
    /// Finished stages, shared by the stages building at the same time.
    results: &'a Mutex<Vec<Option<StageResult>>>,
    stage_names: Vec<Option<String>>,
    /// The build's step counter, shared across stages.
    step: &'a AtomicUsize,
    single: bool,
    /// Images `--pull` already pulled in this build, by the name given.
    pulled: &'a Mutex<BTreeMap<String, Digest>>,
    /// Set when the build stops: no further step starts, a running RUN is killed.
    cancel: &'a AtomicBool,
    /// This stage's progress (the scheduler passes it on to the caller).
    report: &'r mut dyn FnMut(Event<'_>),
}

/// What the stages of one build share.
struct Shared {
    results: Mutex<Vec<Option<StageResult>>>,
    step: AtomicUsize,
    pulled: Mutex<BTreeMap<String, Digest>>,
    cancel: AtomicBool,
}

/// A stage being built.
struct State {
    config: ImageConfig,
    run: RunConfig,
    effects: Effects,
    /// ARGs declared in the stage so far, with their values.
    args: Vec<(String, Option<String>)>,
    chain: String,
}

impl State {
    fn lookup(&self, name: &str) -> Option<String> {
        metadata::get_env(&self.run, name).or_else(|| {
            self.args
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| v.clone())
        })
    }

    fn expand(&self, word: &str, escape: char) -> std::result::Result<String, String> {
        let lookup = |n: &str| self.lookup(n);
        dockerfile::expand(word, &lookup, escape).map_err(|e| e.to_string())
    }

    /// Layer roots, topmost first.
    fn lowers(&self, store: &Store) -> Vec<PathBuf> {
        self.config
            .rootfs
            .diff_ids
            .iter()
            .rev()
            .map(|d| store.layer_root(d))
            .collect()
    }

    /// The build args in scope that have values, as RUN sees them (ENV wins).
    fn arg_env(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (n, v) in &self.args {
            if let Some(v) = v {
                if metadata::get_env(&self.run, n).is_none() {
                    out.retain(|e| e.split_once('=').map(|(k, _)| k) != Some(n.as_str()));
                    out.push(format!("{n}={v}"));
                }
            }
        }
        out
    }

    fn add_history(&mut self, created: &str, created_by: &str, layer: Option<Digest>) {
        let empty_layer = layer.is_none();
        if let Some(l) = layer {
            self.config.rootfs.diff_ids.push(l);
        }
        self.config.created = Some(created.to_string());
        self.config.history.push(History {
            created: Some(created.to_string()),
            created_by: Some(created_by.to_string()),
            comment: Some(crate::history::COMMENT.to_string()),
            author: None,
            empty_layer,
        });
    }
}

impl Builder<'_, '_> {
    fn stage(&mut self, stage: &dockerfile::Stage<'_>) -> Result<StageResult> {
        let started = Instant::now();
        if let Some(p) = &stage.from.platform {
            let lookup = |n: &str| {
                self.global_args
                    .iter()
                    .rev()
                    .find(|(g, _)| g == n)
                    .and_then(|(_, v)| v.clone())
                    .or_else(|| self.build_args.get(n).cloned())
            };
            let p = dockerfile::expand(p, &lookup, self.escape)
                .map_err(|e| Error::step(stage.line, e.to_string()))?;
            let host = registry::Platform::host();
            let wanted = registry::Platform::parse(&p)
                .map_err(|e| Error::step(stage.line, format!("FROM --platform={p}: {e}")))?;
            if !host.matches(&wanted.os, &wanted.architecture, wanted.variant.as_deref()) {
                return Err(Error::step(
                    stage.line,
                    format!(
                        "FROM --platform={p}: berth builds only for this host's platform ({host})"
                    ),
                ));
            }
        }
        let (config, chain, triggers) = match &stage.base {
            Base::Scratch => {
                let host = registry::Platform::host();
                let config = ImageConfig {
                    architecture: host.architecture,
                    os: host.os,
                    config: Some(RunConfig::default()),
                    rootfs: RootFs {
                        kind: "layers".into(),
                        diff_ids: Vec::new(),
                    },
                    ..Default::default()
                };
                (config, cache::key("", &["scratch"]), Vec::new())
            }
            Base::Image(image) => {
                let image = match self.named.get(image) {
                    Some(Named::Image(r)) => r.as_str(),
                    Some(Named::Dir(_)) => {
                        return Err(Error::step(
                            stage.line,
                            format!("FROM {image}: that build context is a directory, and FROM needs an image (give it as docker-image://REF)"),
                        ))
                    }
                    None => image.as_str(),
                };
                let id = self.find_or_pull(image, stage.line, "FROM")?;
                let (mut config, _) = self.store.image_config(&id)?;
                // A base image's ONBUILD triggers run now, and are not inherited.
                let triggers = config
                    .config
                    .as_mut()
                    .and_then(|c| c.on_build.take())
                    .unwrap_or_default();
                (config, cache::key("", &["image", id.hex()]), triggers)
            }
            Base::Stage(i) => {
                let r = self.finished(*i).ok_or_else(|| {
                    Error::step(stage.line, "FROM names a stage that was not built")
                })?;
                (r.config, r.chain, Vec::new())
            }
        };
        let mut extra = Vec::new();
        for t in &triggers {
            let parsed = dockerfile::parse(&format!("FROM scratch\n{t}\n")).map_err(|e| {
                Error::step(
                    stage.line,
                    format!("ONBUILD trigger {t:?} of the base image: {}", e.message),
                )
            })?;
            for mut i in parsed.instructions.into_iter().skip(1) {
                i.line = stage.line;
                extra.push(i);
            }
        }
        let total = 1 + extra
            .iter()
            .chain(stage.instructions.iter())
            .filter(|i| is_fs_step(&i.kind))
            .count();
        let name = match &stage.name {
            Some(n) => n.clone(),
            None => format!("stage-{}", stage.index),
        };
        let single = self.single;
        let label = |i: usize| {
            if single {
                format!("{i}/{total}")
            } else {
                format!("{name} {i}/{total}")
            }
        };
        let n = self.next_step();
        let from_label = label(1);
        (self.report)(Event::Step {
            n,
            label: &from_label,
            text: &format!("FROM {}", stage.from.image),
        });
        (self.report)(Event::Done {
            n,
            seconds: started.elapsed().as_secs_f64(),
        });
        let mut state = State {
            run: config.config.clone().unwrap_or_default(),
            config,
            effects: Effects::default(),
            args: Vec::new(),
            chain,
        };
        let mut fs_index = 1;
        for inst in extra.iter().chain(stage.instructions.iter()) {
            if self.cancel.load(Ordering::SeqCst) {
                return Err(Error::step(inst.line, "not run: the build is stopping"));
            }
            if is_fs_step(&inst.kind) {
                fs_index += 1;
                let l = label(fs_index);
                self.fs_step(&mut state, inst, &l)?;
            } else {
                self.config_step(&mut state, inst)?;
            }
        }
        let mut config = state.config;
        let mut run = state.run;
        if run.on_build.as_ref().is_some_and(Vec::is_empty) {
            run.on_build = None;
        }
        config.config = Some(run);
        if let Some(a) = state.effects.author {
            config.author = Some(a);
        }
        Ok(StageResult {
            config,
            chain: state.chain,
        })
    }

    /// The result of stage `i` if it has finished.
    fn finished(&self, i: usize) -> Option<StageResult> {
        self.results.lock().ok()?.get(i).cloned().flatten()
    }

    fn next_step(&mut self) -> usize {
        self.step.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// ARG and the config-only instructions: no layer, but a history entry and a new
    /// cache chain link (later steps depend on the config they see).
    fn config_step(&mut self, state: &mut State, inst: &Instruction) -> Result<()> {
        let line = inst.line;
        let escape = self.escape;
        if let Kind::Arg(decls) = &inst.kind {
            for d in decls {
                let value = match self.build_args.get(&d.name) {
                    Some(v) => Some(v.clone()),
                    None => match &d.default {
                        Some(raw) => Some(
                            state
                                .expand(raw, escape)
                                .map_err(|m| Error::step(line, m))?,
                        ),
                        None => self
                            .global_args
                            .iter()
                            .rev()
                            .find(|(n, _)| n == &d.name)
                            .and_then(|(_, v)| v.clone()),
                    },
                };
                let shown = format!("{}={}", d.name, value.clone().unwrap_or_default());
                state.chain = cache::key(&state.chain, &["ARG", &shown]);
                state.args.push((d.name.clone(), value));
            }
            let declared = &state.args[state.args.len() - decls.len()..];
            let created_by = history::arg(declared);
            return self.config_history(state, inst, &created_by);
        }
        {
            let expand = |w: &str| -> std::result::Result<String, String> {
                if inst.kind.expands_variables() {
                    state.expand(w, escape)
                } else {
                    Ok(w.to_string())
                }
            };
            let mut run = state.run.clone();
            let mut effects = Effects {
                cmd_set: state.effects.cmd_set,
                author: state.effects.author.clone(),
            };
            metadata::apply(&inst.kind, &mut run, &mut effects, &expand)
                .map_err(|m| Error::step(line, m))?;
            state.run = run;
            state.effects = effects;
        }
        let created_by = {
            let expand = |w: &str| -> String {
                if inst.kind.expands_variables() {
                    state.expand(w, escape).unwrap_or_else(|_| w.to_string())
                } else {
                    w.to_string()
                }
            };
            history::config(&inst.kind, &inst.source, &state.run, &expand)
        };
        self.config_history(state, inst, &created_by)
    }

    /// The history entry of a config-only step (and ARG), its time kept in the cache so
    /// an unchanged rebuild gives the same image id.
    fn config_history(
        &mut self,
        state: &mut State,
        inst: &Instruction,
        created_by: &str,
    ) -> Result<()> {
        let snapshot = serde_json::to_string(&state.run).unwrap_or_default();
        let key = cache::key(&state.chain, &["CONFIG", &inst.source, &snapshot]);
        let created = match self.cache.get(&key).filter(|_| !self.opts.no_cache) {
            Some(e) => e.created,
            None => {
                let now = engine::time::now_rfc3339();
                self.cache.put(
                    &key,
                    &cache::Entry {
                        layer: None,
                        created: now.clone(),
                    },
                )?;
                now
            }
        };
        state.add_history(&created, created_by, None);
        state.chain = key;
        Ok(())
    }

    fn fs_step(&mut self, state: &mut State, inst: &Instruction, label: &str) -> Result<()> {
        let n = self.next_step();
        let started = Instant::now();
        let line = inst.line;
        (self.report)(Event::Step {
            n,
            label,
            text: &inst.source,
        });
        let (key, pending) = match &inst.kind {
            Kind::Workdir(_) => self.prepare_workdir(state, inst)?,
            Kind::Run(r) => self.prepare_run(state, inst, r)?,
            Kind::Copy(c) => self.prepare_copy(state, inst, copy_step::Step::Copy(c))?,
            Kind::Add(a) => self.prepare_copy(state, inst, copy_step::Step::Add(a))?,
            _ => return Err(Error::step(line, "not a file system step")),
        };
        let created_by = self.created_by(state, inst, &pending);
        let hit = if self.opts.no_cache {
            None
        } else {
            self.cache
                .get(&key)
                .filter(|e| e.layer.as_ref().is_none_or(|l| self.store.has_layer(l)))
        };
        let (layer, created) = match hit {
            Some(e) => {
                (self.report)(Event::Cached { n });
                (e.layer, e.created)
            }
            None => {
                let layer = match pending {
                    Pending::Run(cmd) => Some(self.do_run(state, inst, n, cmd)?),
                    Pending::Copy(plan, _view) => {
                        let work = self.store.temp_dir("build")?;
                        let tar_path = work.path().join("layer.tar");
                        let f = File::create(&tar_path)
                            .ctx(|| format!("creating {}", tar_path.display()))?;
                        copy::write(&plan, BufWriter::new(f))?;
                        Some(crate::commit::layer_from_tar(self.store, &tar_path)?)
                    }
                    Pending::Workdir(dirs, owner) => self.make_workdir(&dirs, owner)?,
                };
                let created = engine::time::now_rfc3339();
                self.cache.put(
                    &key,
                    &cache::Entry {
                        layer: layer.clone(),
                        created: created.clone(),
                    },
                )?;
                (self.report)(Event::Done {
                    n,
                    seconds: started.elapsed().as_secs_f64(),
                });
                (layer, created)
            }
        };
        // The cache keeps its layer through image GC until `builder prune`.
        if let Some(l) = &layer {
            self.store.add_root(cache::GC_HOLDER, l)?;
        }
        // Later steps depend on what this one made, not only on how it was asked for:
        // if it had to run again and made different files, they are misses.
        let made = layer
            .as_ref()
            .map(|l| l.hex().to_string())
            .unwrap_or_default();
        state.chain = cache::key(&key, &["LAYER", &made]);
        state.add_history(&created, &created_by, layer);
        Ok(())
    }

    /// The step's `created_by`, worded as BuildKit words it.
    fn created_by(&self, state: &State, inst: &Instruction, pending: &Pending) -> String {
        let escape = self.escape;
        let expand = |w: &str| state.expand(w, escape).unwrap_or_else(|_| w.to_string());
        match (pending, &inst.kind) {
            (Pending::Run(cmd), _) => {
                // The stage's declared build args, each once, with the value RUN sees.
                let mut args: Vec<(String, String)> = Vec::new();
                for (name, _) in &state.args {
                    if !args.iter().any(|(n, _)| n == name) {
                        args.push((name.clone(), state.lookup(name).unwrap_or_default()));
                    }
                }
                history::run(&cmd.argv, &args)
            }
            (_, Kind::Copy(c)) => history::copy("COPY", &c.files.sources, &c.files.dest, &expand),
            (_, Kind::Add(a)) => history::copy("ADD", &a.files.sources, &a.files.dest, &expand),
            _ => history::config(&inst.kind, &inst.source, &state.run, &expand),
        }
    }
}

/// Whether a stage declares ARG `name`.
fn declares(stage: &dockerfile::Stage<'_>, name: &str) -> bool {
    stage.instructions.iter().any(|i| match &i.kind {
        Kind::Arg(decls) => decls.iter().any(|d| d.name == name),
        _ => false,
    })
}

/// The steps that may change files (and so count in Docker's `[stage i/n]`). WORKDIR
/// makes its directory, as BuildKit does.
fn is_fs_step(kind: &Kind) -> bool {
    matches!(
        kind,
        Kind::Run(_) | Kind::Copy(_) | Kind::Add(_) | Kind::Workdir(_)
    )
}

enum Pending {
    Run(PendingRun),
    /// The plan, and the scratch directories and views its sources are read from.
    Copy(copy::Plan, Vec<ViewGuard>),
    /// The directories WORKDIR must make (none when they exist) and their owner.
    Workdir(Vec<String>, (u32, u32)),
}

struct PendingRun {
    argv: Vec<String>,
    env: Vec<String>,
    user: String,
    workdir: String,
    network: String,
    mounts: Vec<crate::mounts::Plan>,
}

/// A `--from` view (if any) and the scratch directory it lives in, both gone when
/// dropped.
struct ViewGuard(Option<View>, PathBuf);

impl Drop for ViewGuard {
    fn drop(&mut self) {
        drop(self.0.take());
        let _ = fs::remove_dir_all(&self.1);
    }
}
