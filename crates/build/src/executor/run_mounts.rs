//! The `--mount`s of a RUN step, from the parser's options to [`mounts::Plan`]s: variables
//! expanded, Docker's defaults filled in (bind source `.` of the context, cache id =
//! target, secret target `/run/secrets/<id>`), relative targets taken from the
//! working directory, sources found in the context or a `from=` stage or image, and
//! the context sources digested for the key. Never sets anything up.

use dockerfile::mounts::{Mount, MountFlag, MountKind, Sharing};

use super::{Builder, State};
use crate::error::{Error, Result};
use crate::mounts::{tree, Origin, Plan};
use crate::named_contexts::Named;

impl Builder<'_, '_> {
    pub(super) fn plan_mounts(
        &self,
        state: &State,
        line: usize,
        flags: &[MountFlag],
    ) -> Result<Vec<Plan>> {
        let step = |m: String| Error::step(line, format!("RUN --mount: {m}"));
        let workdir = state.run.working_dir.clone().unwrap_or_else(|| "/".into());
        let mut plans: Vec<Plan> = Vec::new();
        for flag in flags {
            let m = match flag {
                MountFlag::Parsed(m) => m.clone(),
                MountFlag::NeedsExpansion(spec) => {
                    let spec = state.expand(spec, self.escape).map_err(step)?;
                    Mount::parse(&spec).map_err(step)?
                }
            };
            let target = |t: &Option<String>| -> Result<Option<String>> {
                t.as_deref()
                    .map(|t| absolute(t, &workdir))
                    .transpose()
                    .map_err(step)
            };
            let plan = match m.kind {
                MountKind::Ssh => {
                    if m.mode.is_some() || m.uid.is_some() || m.gid.is_some() {
                        return Err(step(
                            "mode, uid and gid are not supported on ssh mounts: the agent's socket is mounted as it is, with its own permissions".into(),
                        ));
                    }
                    let n = plans
                        .iter()
                        .filter(|p| matches!(p, Plan::Ssh { .. }))
                        .count();
                    Plan::Ssh {
                        id: m.id.clone().unwrap_or_else(|| "default".into()),
                        target: target(&m.target)?
                            .unwrap_or_else(|| format!("/run/buildkit/ssh_agent.{n}")),
                        required: m.required,
                    }
                }
                MountKind::Bind => Plan::Bind {
                    origin: self.origin(m.from.as_deref(), m.source.as_deref(), line)?,
                    target: target(&m.target)?.unwrap_or_default(),
                    readonly: m.readonly,
                },
                MountKind::Cache => {
                    let t = target(&m.target)?.unwrap_or_default();
                    let seed = match &m.from {
                        Some(f) => Some(self.origin(Some(f), m.source.as_deref(), line)?),
                        None => None,
                    };
                    Plan::Cache {
                        id: m.id.clone().unwrap_or_else(|| t.clone()),
                        target: t,
                        sharing: m.sharing.unwrap_or(Sharing::Shared),
                        readonly: m.readonly,
                        mode: m.mode.unwrap_or(0o755),
                        uid: m.uid.unwrap_or(0),
                        gid: m.gid.unwrap_or(0),
                        seed,
                    }
                }
                MountKind::Tmpfs => Plan::Tmpfs {
                    target: target(&m.target)?.unwrap_or_default(),
                    size: m.size,
                },
                MountKind::Secret => {
                    let given = target(&m.target)?;
                    let id =
                        m.id.clone()
                            .or_else(|| m.source.clone())
                            .or_else(|| {
                                given
                                    .as_deref()
                                    .and_then(|t| t.rsplit('/').next().map(str::to_string))
                            })
                            .or_else(|| m.env.clone())
                            .unwrap_or_default();
                    let target = match (given, &m.env) {
                        (Some(t), _) => Some(t),
                        (None, Some(_)) => None,
                        (None, None) => Some(format!("/run/secrets/{id}")),
                    };
                    Plan::Secret {
                        id,
                        target,
                        env: m.env.clone(),
                        required: m.required,
                        mode: m.mode.unwrap_or(0o400),
                        uid: m.uid.unwrap_or(0),
                        gid: m.gid.unwrap_or(0),
                    }
                }
            };
            let this = mount_target(&plan);
            if let Some(t) = this.filter(|t| plans.iter().any(|p| mount_target(p) == Some(t))) {
                return Err(step(format!("two mounts have the target {t}")));
            }
            if let Plan::Cache { id, sharing, .. } = &plan {
                let again = plans.iter().any(|p| matches!(p, Plan::Cache { id: other, sharing: s, .. } if other == id && (*s == Sharing::Locked || *sharing == Sharing::Locked)));
                if again {
                    return Err(step(format!("the cache {id:?} is mounted twice in this RUN with sharing=locked: the step would wait for itself (use one mount, or sharing=shared)")));
                }
            }
            plans.push(plan);
        }
        Ok(plans)
    }

    /// Where a bind's files come from: `source` (default: the root) in the context,
    /// or in the `from` stage's or image's files.
    fn origin(&self, from: Option<&str>, source: Option<&str>, line: usize) -> Result<Origin> {
        let rel = source
            .unwrap_or("")
            .trim_start_matches('/')
            .trim_end_matches('/')
            .to_string();
        let shown = if rel.is_empty() { "." } else { rel.as_str() };
        let (context, named) = match from.map(|f| (f, self.named.get(f))) {
            Some((f, Some(Named::Dir(ctx)))) => (ctx, Some(f.to_string())),
            Some((f, _)) => {
                let (layers, ident) = self.source_of(f, line)?;
                return Ok(Origin::Layers { layers, ident, rel });
            }
            None => (self.context, None),
        };
        let root = context.root();
        let path = tree::resolve_in_root(root, &rel).map_err(|e| {
            Error::step(
                line,
                format!("RUN --mount source in the build context: {e}"),
            )
        })?;
        let inside = path
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !inside.is_empty() && context.ignore().is_ignored(&inside) {
            return Err(Error::step(
                line,
                format!("RUN --mount source {shown} is excluded by .dockerignore (remove it from there to mount it)"),
            ));
        }
        let (digest, filtered) = tree::context_digest(root, &path, context.ignore())
            .map_err(|e| Error::step(line, format!("RUN --mount source {shown}: {e}")))?;
        Ok(Origin::Context {
            named,
            path,
            rel: inside,
            digest,
            filtered,
        })
    }
}

fn mount_target(p: &Plan) -> Option<&str> {
    match p {
        Plan::Bind { target, .. }
        | Plan::Cache { target, .. }
        | Plan::Tmpfs { target, .. }
        | Plan::Ssh { target, .. } => Some(target),
        Plan::Secret { target, .. } => target.as_deref(),
    }
}

/// `t` made absolute against `workdir` and cleaned (`.`, `..`, repeated `/`).
fn absolute(t: &str, workdir: &str) -> std::result::Result<String, String> {
    let joined = if t.starts_with('/') {
        t.to_string()
    } else {
        format!("{workdir}/{t}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err(format!(
            "target {t:?} is the root: mount onto a directory below /"
        ));
    }
    Ok(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::absolute;

    #[test]
    fn targets_are_cleaned_and_relative_ones_start_at_the_workdir() {
        assert_eq!(absolute("cache", "/src").as_deref(), Ok("/src/cache"));
        assert_eq!(absolute("/a//b/./c/../d", "/").as_deref(), Ok("/a/b/d"));
        assert!(absolute("/", "/").is_err());
        assert!(absolute("..", "/").is_err());
    }
}
