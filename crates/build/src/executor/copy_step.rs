//! COPY and ADD steps of a build: where sources are read from (the context, inline
//! heredoc files, or a `--from` stage or image, pulled when missing), `--chown` and
//! `--chmod`, the plan and its cache key. Never runs a container.

use std::fs;
use std::path::PathBuf;

use dockerfile::{Instruction, Source};
use store::Digest;

use super::{Builder, Pending, State, ViewGuard};
use crate::cache;
use crate::copy;
use crate::error::{Error, IoContext, Result};
use crate::layers::View;
use crate::{pattern, sources};

impl Builder<'_, '_> {
    pub(super) fn prepare_copy(
        &self,
        state: &State,
        inst: &Instruction,
        files: &dockerfile::Files,
        from: Option<&str>,
        is_add: bool,
    ) -> Result<(String, Pending)> {
        let line = inst.line;
        let escape = self.escape;
        let step = |m: String| Error::step(line, m);
        let what = if is_add { "ADD" } else { "COPY" };
        if !files.excludes.is_empty() {
            return Err(step(format!("{what} --exclude is not supported yet")));
        }
        let docs: Vec<&dockerfile::Heredoc> = files
            .sources
            .iter()
            .filter_map(|s| match s {
                Source::Heredoc(d) => Some(d),
                Source::Path(_) => None,
            })
            .collect();
        if !docs.is_empty() && (docs.len() != files.sources.len() || from.is_some()) {
            return Err(step(format!(
                "{what}: heredoc sources cannot be mixed with files or --from yet"
            )));
        }
        // Where the sources are read from: the context, or a stage's or image's files.
        let (view, from_text) = match from {
            // Inline files: written to a scratch directory that is the source root.
            None if !docs.is_empty() => {
                let dir = self.store.temp_dir("heredoc")?.keep();
                let guard = ViewGuard(None, dir);
                for d in &docs {
                    let name = d.name.replace('/', "_");
                    let path = guard.1.join(&name);
                    fs::write(&path, &d.content).ctx(|| format!("writing {}", path.display()))?;
                    fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644))
                        .ctx(|| format!("chmod {}", path.display()))?;
                }
                (Some(guard), String::from("heredoc"))
            }
            None => (None, String::new()),
            Some(f) => {
                let f = state.expand(f, escape).map_err(step)?;
                let layers = self.source_layers(&f, line)?;
                let mut guard = ViewGuard(None, self.store.temp_dir("from")?.keep());
                guard.0 = Some(View::open(&layers, &guard.1.join("view"))?);
                (Some(guard), f)
            }
        };
        let root = match &view {
            Some(ViewGuard(Some(v), _)) => v.path().to_path_buf(),
            Some(ViewGuard(None, dir)) => dir.clone(),
            None => self.context.root().to_path_buf(),
        };
        let ignore = if view.is_none() {
            Some(self.context.ignore())
        } else {
            None
        };
        let mut resolved = Vec::new();
        let mut shown = Vec::new();
        for s in &files.sources {
            let p = match s {
                Source::Path(p) => state.expand(p, escape).map_err(step)?,
                Source::Heredoc(d) => d.name.replace('/', "_"),
            };
            if is_add && (p.contains("://") || p.starts_with("git@")) {
                return Err(step(format!(
                    "ADD {p}: downloading is not supported yet (fetch it in a RUN step)"
                )));
            }
            let matched =
                sources::resolve(&root, &p, ignore).map_err(|m| step(format!("{what} {m}")))?;
            resolved.push((matched, pattern::has_wildcards(&p)));
            shown.push(p);
        }
        let dest = state.expand(&files.dest, escape).map_err(step)?;
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
        let spec = copy::Spec {
            root: &root,
            ignore,
            sources: resolved,
            dest: &dest,
            workdir: &workdir,
            owner,
            chmod,
            extract_archives: is_add,
            lowers: &lowers,
        };
        let plan = copy::plan(&spec).map_err(|m| step(format!("{what} {m}")))?;
        let text = format!(
            "{what} from={from_text} {} -> {dest} wd={workdir}",
            shown.join(" ")
        );
        let key = cache::key(&state.chain, &[&text, &plan.hash]);
        Ok((key, Pending::Copy(plan, view)))
    }

    /// The id of a local image, pulled first when the store lacks it (Docker's
    /// default for FROM). `what` names the instruction in errors.
    pub(super) fn find_or_pull(&self, image: &str, line: usize, what: &str) -> Result<Digest> {
        if let Some(found) = engine::images::try_find(self.store, image)? {
            return Ok(found.id);
        }
        let opts = engine::pull::PullOptions::default();
        match engine::pull::pull(self.root, image, &opts, &engine::progress::Silent) {
            Ok(p) => Ok(p.id),
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
        let lower = from.to_ascii_lowercase();
        let stage = if !from.is_empty() && from.bytes().all(|b| b.is_ascii_digit()) {
            from.parse::<usize>().ok()
        } else {
            self.stage_names
                .iter()
                .position(|n| n.as_deref() == Some(lower.as_str()))
        };
        let (config, ident) = match stage {
            Some(i) => match self.results.get(i).and_then(Option::as_ref) {
                Some(r) => (r.config.clone(), format!("stage:{}", r.chain)),
                None => {
                    return Err(Error::step(
                        line,
                        format!("--from={from}: that stage is not built before this step (it must come earlier in the Dockerfile)"),
                    ))
                }
            },
            None => {
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
