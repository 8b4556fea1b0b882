//! `extends`: a service built on another service, from the same file or another one.
//! The base service's own `extends` is resolved first (a chain that comes back to a
//! service already on it is an error naming the chain), then the extending service's
//! keys are merged over it with the same rules as files are merged, and `extends` is
//! removed. A file named by `extends` is read, interpolated with the project
//! environment, and has its relative paths made absolute against its own directory
//! (see `rebase`), so that they keep meaning what they meant there.
//!
//! As in compose, `extends` is resolved within each compose file before the files are
//! merged: a service extends a service of its own file, or of the file it names. A
//! relative `file:` is relative to the project directory in a project compose file,
//! and to its own directory in a file loaded by `extends`. Reads the files `extends`
//! names; never touches anything else.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::env::Env;
use super::merge::{self, MergeError};
use super::sources::Sources;
use super::variables::{self, Unset};
use super::{paths, LoadError};
use crate::value::{Node, Span, Value};

mod rebase;

pub(crate) use rebase::rebase;

pub(crate) struct Extends<'a> {
    sources: &'a mut Sources,
    env: &'a Env,
    unset: &'a mut Unset,
    /// The trees being resolved, by file index: the compose file in hand and every
    /// file `extends` has loaded (kept, so a file named twice is read once).
    trees: HashMap<u32, Node>,
    loaded: HashMap<PathBuf, u32>,
    /// Services whose `extends` is already resolved in `trees`.
    done: HashSet<(u32, String)>,
}

/// What an `extends` names.
struct Target {
    service: String,
    file: Option<(String, Span)>,
}

impl<'a> Extends<'a> {
    pub fn new(sources: &'a mut Sources, env: &'a Env, unset: &'a mut Unset) -> Self {
        Extends {
            sources,
            env,
            unset,
            trees: HashMap::new(),
            loaded: HashMap::new(),
            done: HashSet::new(),
        }
    }

    /// Resolves every `extends` in `root`, the tree of compose file `file`.
    pub fn apply(&mut self, root: &mut Node, file: u32) -> Result<(), LoadError> {
        let names: Vec<String> = match root.get("services").map(|s| &s.value) {
            Some(Value::Map(m)) if m.iter().any(|(_, s)| s.get("extends").is_some()) => {
                m.iter().map(|(k, _)| k.name.clone()).collect()
            }
            _ => return Ok(()),
        };
        let span = root.span;
        self.trees
            .insert(file, std::mem::replace(root, Node::new(Value::Null, span)));
        let result = names
            .iter()
            .try_for_each(|n| self.resolve(file, n, &mut Vec::new()).map(drop));
        if let Some(tree) = self.trees.remove(&file) {
            *root = tree;
        }
        result
    }

    fn service(&self, file: u32, name: &str) -> Option<&Node> {
        self.trees.get(&file)?.get("services")?.get(name)
    }

    fn display(&self, file: u32) -> String {
        self.sources
            .get(file)
            .map_or_else(String::new, |s| s.display.clone())
    }

    /// The service `name` of `file` with its `extends` resolved.
    fn resolve(
        &mut self,
        file: u32,
        name: &str,
        chain: &mut Vec<(u32, String)>,
    ) -> Result<Node, LoadError> {
        let Some(svc) = self.service(file, name).cloned() else {
            return Err(LoadError(format!(
                "service {name:?} is not defined in {}",
                self.display(file)
            )));
        };
        let key = (file, name.to_string());
        let Some(ext) = svc.get("extends") else {
            self.done.insert(key);
            return Ok(svc);
        };
        if self.done.contains(&key) {
            return Ok(svc);
        }
        let ext_span = ext.span;
        let target = self.target(ext, name)?;
        if chain.contains(&key) {
            let mut steps: Vec<String> = chain
                .iter()
                .skip_while(|k| **k != key)
                .map(|(f, n)| format!("{n} ({})", self.display(*f)))
                .collect();
            steps.push(format!("{name} ({})", self.display(file)));
            return Err(self.sources.error(
                ext_span,
                format!(
                    "services.{name}.extends: extends goes round in a circle: {}",
                    steps.join(" extends ")
                ),
            ));
        }
        chain.push(key.clone());
        let base_file = match &target.file {
            Some((f, span)) => self.open(file, f, *span)?,
            None => file,
        };
        if self.service(base_file, &target.service).is_none() {
            return Err(self.sources.error(
                ext_span,
                format!(
                    "services.{name}.extends: service {:?} is not defined in {}",
                    target.service,
                    self.display(base_file)
                ),
            ));
        }
        let mut merged = self.resolve(base_file, &target.service, chain)?;
        chain.pop();

        if matches!(merged.value, Value::Null) {
            merged.value = Value::Map(Vec::new());
        }
        let mut over = svc;
        remove_key(&mut over, "extends");
        merge::extend_service(&mut merged, over, name).map_err(|e| merge_error(self.sources, e))?;
        remove_key(&mut merged, "extends");

        if let Some(slot) = self
            .trees
            .get_mut(&file)
            .and_then(|t| t.get_mut("services"))
            .and_then(|s| s.get_mut(name))
        {
            *slot = merged.clone();
        }
        self.done.insert(key);
        Ok(merged)
    }

    /// `extends: NAME` or `extends: {service: NAME, file: PATH}`.
    fn target(&self, ext: &Node, name: &str) -> Result<Target, LoadError> {
        let path = format!("services.{name}.extends");
        match &ext.value {
            Value::Str(s) => Ok(Target {
                service: s.clone(),
                file: None,
            }),
            Value::Map(m) => {
                if let Some((k, _)) = m
                    .iter()
                    .find(|(k, _)| k.name != "service" && k.name != "file")
                {
                    return Err(self.sources.error(
                        k.span,
                        format!("{path}: unknown key {:?} (extends takes service and file)", k.name),
                    ));
                }
                let service = match ext.get("service") {
                    Some(n) => n.as_str().map(str::to_string).ok_or_else(|| {
                        self.sources.error(
                            n.span,
                            format!("{path}.service: must be a service name, not {}", n.kind()),
                        )
                    })?,
                    None => {
                        return Err(self.sources.error(
                            ext.span,
                            format!("{path}: `service` is required (the name of the service to extend)"),
                        ))
                    }
                };
                let file = match ext.get("file") {
                    None => None,
                    Some(n) => match n.as_str() {
                        Some(f) => Some((f.to_string(), n.span)),
                        None => {
                            return Err(self.sources.error(
                                n.span,
                                format!("{path}.file: must be a file path, not {}", n.kind()),
                            ))
                        }
                    },
                };
                Ok(Target { service, file })
            }
            _ => Err(self.sources.error(
                ext.span,
                format!(
                    "{path}: must be a service name or a mapping with `service` (and optionally `file`), not {}",
                    ext.kind()
                ),
            )),
        }
    }

    /// Reads, interpolates and rebases the file `rel` named in file `from`; returns
    /// its index.
    fn open(&mut self, from: u32, rel: &str, span: Span) -> Result<u32, LoadError> {
        let base_dir = self
            .sources
            .get(from)
            .map_or_else(|| self.sources.cwd.clone(), |s| s.base_dir.clone());
        let abs = paths::absolute(&base_dir, Path::new(rel));
        if let Some(&i) = self.loaded.get(&abs) {
            return Ok(i);
        }
        let display = self.sources.display_of(&abs);
        let text = std::fs::read(&abs)
            .map_err(|e| e.to_string())
            .and_then(|b| String::from_utf8(b).map_err(|_| "it is not UTF-8 text".to_string()))
            .map_err(|e| {
                self.sources
                    .error(span, format!("extends: cannot read {display}: {e}"))
            })?;
        let dir = abs.parent().map_or_else(|| abs.clone(), Path::to_path_buf);
        let idx = self.sources.add(display, dir.clone());
        let mut tree = self.sources.parse(idx, &text)?;
        variables::interpolate(&mut tree, self.env, self.unset)
            .map_err(|e| self.sources.error(e.span, e.message))?;
        rebase(&mut tree, &dir);
        self.trees.insert(idx, tree);
        self.loaded.insert(abs, idx);
        Ok(idx)
    }
}

fn remove_key(node: &mut Node, key: &str) {
    if let Value::Map(m) = &mut node.value {
        m.retain(|(k, _)| k.name != key);
    }
}

/// A merge failure as a located load error, naming where the earlier value is.
pub(crate) fn merge_error(sources: &Sources, e: MergeError) -> LoadError {
    match e.earlier {
        Some(at) => sources.error(
            e.span,
            format!(
                "{} (the earlier value is at {})",
                e.message,
                sources.locate(at)
            ),
        ),
        None => sources.error(e.span, e.message),
    }
}
