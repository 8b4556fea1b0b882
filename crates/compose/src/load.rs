//! Finds and loads a compose project the way Docker Compose does: which files (`-f`,
//! `COMPOSE_FILE`, or compose.yaml and its override found from the working directory
//! upwards), the project name and directory, `.env` and `--env-file`, interpolation,
//! merging several files by the compose-spec's rules, `extends`, and profiles. Reads
//! files; never touches containers.
//!
//! The steps, in compose's order: the environment (process variables over the `.env`
//! of the directory compose starts from), the files, the project directory (and its
//! `.env`, filling in what is still unset), the project name (which interpolation then
//! sees as `COMPOSE_PROJECT_NAME`), then each file parsed, interpolated and its
//! `extends` resolved, the files merged in order, list entries made unique, and
//! finally the model parsed and profiles applied. [`merged_tree`] stops before the
//! model, for `config` and for anything that wants the tree itself.
//!
//! The submodules: `discover` (files, project directory), `env` (the project
//! environment), `sources` (the files read and `PATH:LINE:COL`), `name` (the project
//! name), `variables` (interpolation with located warnings), `extends`, `merge` (and
//! `merge::unique`), `profiles`, `paths` (lexical path helpers).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use crate::model::parse::Context;
use crate::model::Project;
use crate::value::{Key, Node, Span, Value};

mod discover;
mod env;
mod extends;
mod merge;
mod name;
mod paths;
mod profiles;
mod sources;
mod variables;

#[cfg(test)]
mod tests;

pub use discover::{FILE_NAMES, OVERRIDE_NAMES};
pub use name::{check_project_name, normalize_project_name};

use sources::{read_text, Sources};
use variables::Unset;

/// The project flags and the environment, as given.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f` (repeatable; `-` is stdin). Empty: `COMPOSE_FILE`, then discovery.
    pub files: Vec<PathBuf>,
    /// `-p`.
    pub project_name: Option<String>,
    /// `--project-directory`.
    pub project_directory: Option<PathBuf>,
    /// `--env-file` (repeatable). Empty: `PROJECT_DIR/.env` when present.
    pub env_files: Vec<PathBuf>,
    /// `--profile` (repeatable); `COMPOSE_PROFILES` when empty.
    pub profiles: Vec<String>,
    /// The process environment (wins over .env files).
    pub environment: Vec<(String, String)>,
    /// The directory the command runs in.
    pub cwd: PathBuf,
    /// Services named on the command line: kept whatever their profiles, with what they
    /// depend on (compose enables a service you ask for by name).
    pub enable: Vec<String>,
}

/// A loaded project.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Services disabled by profiles are not in `project.services`; see `disabled`.
    pub project: Project,
    /// Services left out because none of their profiles is active.
    pub disabled: Vec<String>,
    /// The files read, in merge order (absolute).
    pub files: Vec<PathBuf>,
    /// One line each, already saying where (`compose.yaml:12: ...`).
    pub warnings: Vec<String>,
    /// The environment the files were interpolated with (the process environment over
    /// the `.env` files): what `env_file` files' own `${VAR}`s resolve against too.
    pub environment: BTreeMap<String, String>,
}

/// A load failure, displayed with the file and line when there is one
/// (`compose.yaml:12:5: services.web.ports[0]: ...`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(pub String);

/// A project's files merged into one interpolated tree, `extends` resolved, before the
/// model parser has seen it (so profiles are not applied yet either).
#[derive(Debug, Clone)]
pub struct MergedTree {
    /// The merged tree; its top-level `name` is the project name.
    pub tree: Node,
    pub project_name: String,
    /// Relative paths in the tree are relative to this directory.
    pub project_dir: PathBuf,
    /// The project environment: the process environment over the env files, plus
    /// `COMPOSE_PROJECT_NAME`.
    pub env: BTreeMap<String, String>,
    /// The active profiles (`--profile`, else `COMPOSE_PROFILES`).
    pub profiles: Vec<String>,
    /// The compose files, in merge order (absolute; `-` for stdin).
    pub files: Vec<PathBuf>,
    /// One line each, already saying where.
    pub warnings: Vec<String>,
    sources: Sources,
}

impl MergedTree {
    /// `PATH:LINE:COL` for a span of [`MergedTree::tree`].
    pub fn locate(&self, span: Span) -> String {
        self.sources.locate(span)
    }
}

/// Loads the project: the merged tree, parsed into the model, profiles applied.
pub fn load(opts: &LoadOptions) -> Result<Loaded, LoadError> {
    finish(merged_tree(opts)?, &opts.enable)
}

/// The merged, interpolated tree for `opts` (`-f -` reads standard input).
pub fn merged_tree(opts: &LoadOptions) -> Result<MergedTree, LoadError> {
    merged_tree_from(opts, &mut std::io::stdin())
}

/// [`load`] with `stdin` standing for standard input.
#[cfg(test)]
pub(crate) fn load_from(opts: &LoadOptions, stdin: &mut dyn Read) -> Result<Loaded, LoadError> {
    finish(merged_tree_from(opts, stdin)?, &opts.enable)
}

fn finish(m: MergedTree, enable: &[String]) -> Result<Loaded, LoadError> {
    let ctx = Context {
        project_name: &m.project_name,
        working_dir: m.project_dir.clone(),
        env: &m.env,
    };
    let (mut project, diagnostics) = crate::model::parse::project(&m.tree, &ctx)
        .map_err(|d| m.sources.error(d.span, d.message))?;
    project.name = m.project_name.clone();
    project.working_dir = m.project_dir.clone();
    let mut warnings = m.warnings;
    warnings.extend(diagnostics.iter().map(|d| m.sources.at(d.span, &d.message)));
    let disabled = profiles::apply(&mut project, &m.profiles, enable, &m.tree, &m.sources)?;
    Ok(Loaded {
        project,
        disabled,
        files: m.files,
        warnings,
        environment: m.env,
    })
}

pub(crate) fn merged_tree_from(
    opts: &LoadOptions,
    stdin: &mut dyn Read,
) -> Result<MergedTree, LoadError> {
    let mut warnings = Vec::new();
    let process = env::process_env(&opts.environment);

    // compose reads a first .env before it knows the files (it may set COMPOSE_FILE),
    // then the project directory's, which only fills in what is still unset.
    let start_dir = discover::provisional_dir(opts);
    let mut envm = process.clone();
    env::add_files(&mut envm, &env::files_for(opts, &start_dir, &process)?)?;
    let chosen = discover::compose_files(opts, &envm, &start_dir, &mut warnings)?;
    let project_dir = discover::project_dir(opts, &chosen);
    if opts.env_files.is_empty() && project_dir != start_dir {
        env::add_files(&mut envm, &env::files_for(opts, &project_dir, &process)?)?;
    }

    let mut sources = Sources::new(&opts.cwd);
    let mut trees = Vec::new();
    let mut files = Vec::new();
    let mut stdin_read = false;
    for f in &chosen {
        let text = match &f.path {
            Some(p) => read_text(p, &f.display, "the compose file")?,
            None if stdin_read => {
                return Err(LoadError(
                    "-f - (standard input) can be given only once".into(),
                ))
            }
            None => {
                stdin_read = true;
                let mut s = String::new();
                stdin.read_to_string(&mut s).map_err(|e| {
                    LoadError(format!(
                        "cannot read the compose file from standard input: {e}"
                    ))
                })?;
                s
            }
        };
        let path = f.path.clone().unwrap_or_else(|| PathBuf::from("-"));
        let idx = sources.add(f.display.clone(), project_dir.clone());
        trees.push((idx, sources.parse(idx, &text)?));
        files.push(path);
    }

    let mut unset = Unset::default();
    let raw: Vec<Node> = trees.iter().map(|(_, t)| t.clone()).collect();
    let project_name = name::choose(
        opts.project_name.as_deref(),
        &envm,
        &raw,
        &project_dir,
        &sources,
        &mut unset,
        &mut warnings,
    )?;
    drop(raw);
    envm.insert("COMPOSE_PROJECT_NAME".into(), project_name.clone());

    let mut root: Option<Node> = None;
    for (idx, mut tree) in trees {
        variables::interpolate(&mut tree, &envm, &mut unset)
            .map_err(|e| sources.error(e.span, e.message))?;
        extends::Extends::new(&mut sources, &envm, &mut unset).apply(&mut tree, idx)?;
        let base = root.get_or_insert_with(|| Node::new(Value::Map(Vec::new()), tree.span));
        merge::merge(base, tree).map_err(|e| extends::merge_error(&sources, e))?;
    }
    let mut tree = root.unwrap_or_else(|| Node::new(Value::Map(Vec::new()), Span::default()));
    merge::unique::enforce(&mut tree);
    set_name(&mut tree, &project_name);

    warnings.extend(
        unset
            .first_use
            .iter()
            .map(|(span, name)| sources.at(*span, Unset::message(name))),
    );
    Ok(MergedTree {
        tree,
        project_name,
        project_dir,
        profiles: profiles::active(&opts.profiles, &envm),
        env: envm,
        files,
        warnings,
        sources,
    })
}

/// Makes the top-level `name` the project name, first in the tree as `config` prints
/// it (a `name:` from a file keeps its span).
fn set_name(tree: &mut Node, name: &str) {
    let root_span = tree.span;
    if let Value::Map(m) = &mut tree.value {
        let (key, span) = match m.iter().position(|(k, _)| k.name == "name") {
            Some(i) => {
                let (k, v) = m.remove(i);
                (k, v.span)
            }
            None => (
                Key {
                    name: "name".into(),
                    span: root_span,
                },
                root_span,
            ),
        };
        m.insert(0, (key, Node::new(Value::Str(name.to_string()), span)));
    }
}
