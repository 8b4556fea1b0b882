//! COPY and ADD steps of a build: where each source is read from (the context, inline
//! heredoc files, a `--from` stage or image pulled when missing, or for ADD a download
//! or a git checkout), `--chown`, `--chmod`, `--exclude`, `--parents`, the plan and its
//! cache key. Never runs a container.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use dockerfile::{Instruction, Source};
use store::Digest;

use super::{Builder, Pending, State, ViewGuard};
use crate::cache;
use crate::copy;
use crate::error::{Error, IoContext, Result};
use crate::layers::View;
use crate::named_contexts::Named;
use crate::remote::{self, Remote};
use crate::{download, git_source, pattern, sources};

/// The instruction a COPY/ADD step comes from.
pub(super) enum Step<'a> {
    Copy(&'a dockerfile::Copy),
    Add(&'a dockerfile::Add),
}

impl Builder<'_, '_> {
    pub(super) fn prepare_copy(
        &self,
        state: &State,
        inst: &Instruction,
        what_step: Step<'_>,
    ) -> Result<(String, Pending)> {
        let line = inst.line;
        let escape = self.escape;
        let step = |m: String| Error::step(line, m);
        let (files, from, parents, is_add) = match what_step {
            Step::Copy(c) => (&c.files, c.from.as_deref(), c.parents, false),
            Step::Add(a) => (&a.files, None, false, true),
        };
        let what = if is_add { "ADD" } else { "COPY" };
        let (checksum, keep_git_dir) = match what_step {
            Step::Add(a) => (a.checksum.as_deref(), a.keep_git_dir),
            Step::Copy(_) => (None, false),
        };
        let checksum = match checksum {
            None => None,
            Some(c) => {
                let c = state.expand(c, escape).map_err(step)?;
                Some(download::Checksum::parse(&c).map_err(|m| step(format!("ADD {m}")))?)
            }
        };
        let mut excludes = Vec::new();
        for e in &files.excludes {
            let e = state.expand(e, escape).map_err(step)?;
            let p = pattern::Pattern::new(&e).ok_or_else(|| {
                step(format!(
                    "{what} --exclude={e}: the pattern climbs out of the source root with '..' (give a path below it)"
                ))
            })?;
            excludes.push((e, p));
        }
        // Scratch directories (inline files, downloads, checkouts) and the `--from`
        // view: removed when the step is done, whatever happens.
        let mut guards: Vec<ViewGuard> = Vec::new();
        // Where `--from` reads: a named directory context (with its own ignore rules),
        // or a stage's or image's layers through a read-only view.
        let from_root = match from {
            None => None,
            Some(f) => {
                let f = state.expand(f, escape).map_err(step)?;
                if let Some(Named::Dir(ctx)) = self.named.get(&f) {
                    Some((ctx.root().to_path_buf(), f, Some(ctx.ignore())))
                } else {
                    let layers = self.source_layers(&f, line)?;
                    let mut guard = ViewGuard(None, self.store.temp_dir("from")?.keep());
                    guard.0 = Some(View::open(&layers, &guard.1.join("view"))?);
                    let root = guard.0.as_ref().map(|v| v.path().to_path_buf());
                    guards.push(guard);
                    root.map(|r| (r, f, None))
                }
            }
        };
        let dest = state.expand(&files.dest, escape).map_err(step)?;
        let mut resolved = Vec::new();
        let mut shown = Vec::new();
        for s in &files.sources {
            let text = match s {
                Source::Path(p) => state.expand(p, escape).map_err(step)?,
                Source::Heredoc(d) => {
                    let content = if d.expand {
                        let lookup = |n: &str| state.lookup(n);
                        dockerfile::expand_raw(&d.content, &lookup, escape)
                            .map_err(|e| step(format!("{what} <<{}: {e}", d.name)))?
                    } else {
                        d.content.clone()
                    };
                    let dir = self.scratch(&mut guards, "heredoc")?;
                    let name = d.name.replace('/', "_");
                    let path = dir.join(&name);
                    fs::write(&path, &content).ctx(|| format!("writing {}", path.display()))?;
                    fs::set_permissions(&path, fs::Permissions::from_mode(0o644))
                        .ctx(|| format!("chmod {}", path.display()))?;
                    shown.push(format!("<<{name}"));
                    resolved.push(copy::Source::fetched(dir, name));
                    continue;
                }
            };
            let remote = remote::classify(&text);
            if !is_add && remote.is_some() {
                return Err(step(format!(
                    "COPY {text}: COPY only reads local files; use ADD to download a URL or check out a git repository"
                )));
            }
            if checksum.is_some() && !matches!(remote, Some(Remote::Http(_))) {
                return Err(step(format!(
                    "ADD --checksum: only a file downloaded over http(s) can be checked, and {text} is not one (drop --checksum or ADD each URL on its own line)"
                )));
            }
            match remote {
                Some(Remote::Http(url)) => {
                    let dir = self.scratch(&mut guards, "download")?;
                    let name = match download::file_name(&url) {
                        Some(n) => n,
                        None if dest.ends_with('/') => {
                            return Err(step(format!(
                                "ADD {url}: the URL names no file; give the destination as a file path (not ending in /)"
                            )))
                        }
                        None => String::from("download"),
                    };
                    download::fetch(&url, &dir, &name, checksum.as_ref())
                        .map_err(|m| step(format!("ADD {m}")))?;
                    resolved.push(copy::Source::fetched(dir, name));
                }
                Some(Remote::Git(git)) => {
                    let dir = self.scratch(&mut guards, "git")?;
                    let commit = git_source::checkout(&git, &dir, keep_git_dir)
                        .map_err(|m| step(format!("ADD {m}")))?;
                    let sub = match &git.subdir {
                        None => String::new(),
                        Some(d) => {
                            let parts = pattern::clean(d).ok_or_else(|| {
                                step(format!(
                                    "ADD {text}: the subdirectory {d} climbs out of the repository"
                                ))
                            })?;
                            let sub = parts.join("/");
                            if !dir.join(&sub).is_dir() {
                                return Err(step(format!(
                                    "ADD {text}: no directory {d} in the repository at {commit}"
                                )));
                            }
                            sub
                        }
                    };
                    resolved.push(copy::Source::fetched(dir, sub));
                }
                None => {
                    let (root, ignore) = match &from_root {
                        Some((r, _, ignore)) => (r.clone(), *ignore),
                        None => (
                            self.context.root().to_path_buf(),
                            Some(self.context.ignore()),
                        ),
                    };
                    let matched = sources::resolve(&root, &text, ignore)
                        .map_err(|m| step(format!("{what} {m}")))?;
                    resolved.push(copy::Source {
                        root,
                        ignore,
                        matched,
                        wildcard: pattern::has_wildcards(&text),
                        extract: is_add,
                        pivot: if parents {
                            sources::pivot_depth(&text)
                        } else {
                            0
                        },
                    });
                }
            }
            shown.push(text);
        }
        let lowers = state.lowers(self.store);
        let owner = match &files.chown {
            None => (0, 0),
            Some(c) => {
                let c = state.expand(c, escape).map_err(step)?;
                let u = engine::user::resolve(&c, &lowers)
                    .map_err(|e| step(format!("--chown={c}: {e}")))?;
                (u.uid, u.gid)
            }
        };
        let chmod = match &files.chmod {
            None => None,
            Some(m) => {
                let m = state.expand(m, escape).map_err(step)?;
                Some(
                    u32::from_str_radix(&m, 8)
                        .ok()
                        .filter(|v| *v <= 0o7777)
                        .ok_or_else(|| {
                            step(format!("--chmod={m}: give the mode in octal, like 0755"))
                        })?,
                )
            }
        };
        let workdir = state.run.working_dir.clone().unwrap_or_else(|| "/".into());
        let patterns: Vec<pattern::Pattern> = excludes.iter().map(|(_, p)| p.clone()).collect();
        let spec = copy::Spec {
            sources: resolved,
            dest: &dest,
            workdir: &workdir,
            owner,
            chmod,
            parents,
            excludes: &patterns,
            lowers: &lowers,
        };
        let plan = copy::plan(&spec).map_err(|m| step(format!("{what} {m}")))?;
        let from_text = from_root.as_ref().map_or("", |(_, f, _)| f.as_str());
        let exclude_text: Vec<&str> = excludes.iter().map(|(e, _)| e.as_str()).collect();
        // Remote sources are keyed by what was fetched (the plan's content hash), not
        // by the URL: an unchanged download hits the cache, a changed one does not.
        let text = format!(
            "{what} from={from_text} parents={parents} exclude={} {} -> {dest} wd={workdir}",
            exclude_text.join(","),
            shown.join(" ")
        );
        let key = cache::key(&state.chain, &[&text, &plan.hash]);
        Ok((key, Pending::Copy(plan, guards)))
    }

    /// A new scratch directory that lives as long as the step.
    fn scratch(&self, guards: &mut Vec<ViewGuard>, what: &str) -> Result<PathBuf> {
        let dir = self.store.temp_dir(what)?.keep();
        guards.push(ViewGuard(None, dir.clone()));
        Ok(dir)
    }

    /// The id of a local image, pulled first when the store lacks it (Docker's
    /// default for FROM). `what` names the instruction in errors.
    /// With `--pull`, every image is pulled once per build, found or not.
    pub(super) fn find_or_pull(&self, image: &str, line: usize, what: &str) -> Result<Digest> {
        if self.opts.pull {
            if let Some(id) = self.pulled.lock().ok().and_then(|p| p.get(image).cloned()) {
                return Ok(id);
            }
        } else if let Some(found) = engine::images::try_find(self.store, image)? {
            return Ok(found.id);
        }
        let opts = engine::pull::PullOptions::default();
        match engine::pull::pull(self.root, image, &opts, &engine::progress::Silent) {
            Ok(p) => {
                if let Ok(mut pulled) = self.pulled.lock() {
                    pulled.insert(image.to_string(), p.id.clone());
                }
                Ok(p.id)
            }
            Err(e) if self.opts.pull => Err(Error::step(
                line,
                format!("{what} {image}: --pull could not pull it: {e}"),
            )),
            Err(e) => Err(Error::step(
                line,
                format!("{what} {image}: no such image here, and pulling it failed: {e}"),
            )),
        }
    }

    /// The layer roots (topmost first) of a `--from` stage or image.
    pub(super) fn source_layers(&self, from: &str, line: usize) -> Result<Vec<PathBuf>> {
        Ok(self.source_of(from, line)?.0)
    }

    /// The layer roots (topmost first) of a `--from` stage or image, and what they are
    /// for a cache key: the stage's cache chain, or the image id.
    pub(super) fn source_of(&self, from: &str, line: usize) -> Result<(Vec<PathBuf>, String)> {
        // A named context stands for its image even where a stage has the same name.
        let from = match self.named.get(from) {
            Some(Named::Image(r)) => {
                let id = self.find_or_pull(r, line, "--from")?;
                let config = self.store.image_config(&id)?.0;
                let layers = config
                    .rootfs
                    .diff_ids
                    .iter()
                    .rev()
                    .map(|d| self.store.layer_root(d))
                    .collect();
                return Ok((layers, format!("image:{}", id.hex())));
            }
            Some(Named::Dir(_)) => {
                return Err(Error::step(
                    line,
                    format!(
                    "--from={from}: that build context is a directory, which has no layers here"
                ),
                ))
            }
            None => from,
        };
        let lower = from.to_ascii_lowercase();
        let stage = if !from.is_empty() && from.bytes().all(|b| b.is_ascii_digit()) {
            from.parse::<usize>().ok()
        } else {
            self.stage_names
                .iter()
                .position(|n| n.as_deref() == Some(lower.as_str()))
        };
        let (config, ident) = match stage {
            Some(i) => match self.finished(i) {
                Some(r) => (r.config, format!("stage:{}", r.chain)),
                None => {
                    return Err(Error::step(
                        line,
                        format!("--from={from}: that stage is not built before this step (it must come earlier in the Dockerfile)"),
                    ))
                }
            },
            None => {
                // A misspelt stage would otherwise be pulled from a registry as an image.
                let names: Vec<&str> = self.stage_names.iter().flatten().map(String::as_str).collect();
                if let Some(near) = dockerfile::suggest::closest(&lower, &names) {
                    if engine::images::try_find(self.store, from)?.is_none() {
                        return Err(Error::step(
                            line,
                            format!("--from={from}: no stage of that name (did you mean {near}?), and no such local image"),
                        ));
                    }
                }
                let id = self.find_or_pull(from, line, "--from")?;
                let config = self.store.image_config(&id)?.0;
                (config, format!("image:{}", id.hex()))
            }
        };
        let layers = config
            .rootfs
            .diff_ids
            .iter()
            .rev()
            .map(|d| self.store.layer_root(d))
            .collect();
        Ok((layers, ident))
    }
}
