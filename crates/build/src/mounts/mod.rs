//! `RUN --mount`: what each mount of a step is ([`Plan`], decided before the cache
//! lookup, with its part of the step's cache key) and what the step's container gets
//! when it runs ([`Active`]: typed engine mounts, secret env vars, the mount points to
//! leave out of the layer, and the guards that undo everything when dropped). Bind
//! sources come from the context (`tree`) or a stage's or image's layers; cache mounts
//! from `cache_dirs`; `rw` binds get a throw-away `scratch` copy. Never lets a secret's
//! value reach a cache key, and never mounts anything writable over a source.

pub mod cache_dirs;
pub mod mountpoints;
pub mod scratch;
pub mod tree;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use dockerfile::mounts::Sharing;
use engine::record::{MountPoint, MountType};
use store::layout::TempDir;
use store::Store;

use crate::context::Context;
use crate::error::{Error, IoContext, Result};
use crate::layers::View;
use crate::secrets::Secrets;

/// Where a bind's (or a cache seed's) files come from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A path in the build context, resolved inside it. `filtered`: `.dockerignore`
    /// hides something below it, so the step sees a filtered copy.
    Context {
        /// A `--build-context` name; `None` for the build's own context.
        named: Option<String>,
        path: PathBuf,
        rel: String,
        digest: String,
        filtered: bool,
    },
    /// A path inside a stage's or image's layers (topmost first). `ident` is the
    /// stage's cache chain or the image id: what the layers are, for the key.
    Layers {
        layers: Vec<PathBuf>,
        ident: String,
        rel: String,
    },
}

impl Origin {
    fn key(&self) -> String {
        match self {
            Origin::Context {
                named, rel, digest, ..
            } => format!("context:{}:{rel}@{digest}", named.as_deref().unwrap_or("")),
            Origin::Layers { ident, rel, .. } => format!("layers:{ident}:{rel}"),
        }
    }
}

/// One mount of a step, resolved. Targets are absolute.
#[derive(Debug, Clone)]
pub enum Plan {
    Bind {
        origin: Origin,
        target: String,
        readonly: bool,
    },
    Cache {
        id: String,
        target: String,
        sharing: Sharing,
        readonly: bool,
        mode: u32,
        uid: u32,
        gid: u32,
        seed: Option<Origin>,
    },
    Tmpfs {
        target: String,
        size: Option<u64>,
    },
    /// An SSH agent socket; `SSH_AUTH_SOCK` points at it.
    Ssh {
        id: String,
        target: String,
        required: bool,
    },
    Secret {
        id: String,
        /// `None` with `env` set: only the environment variable.
        target: Option<String>,
        env: Option<String>,
        required: bool,
        mode: u32,
        uid: u32,
        gid: u32,
    },
}

impl Plan {
    /// This mount's part of the step's cache key: what decides what the step sees,
    /// except what must not count (a cache mount's contents, a secret's value).
    pub fn key(&self) -> String {
        match self {
            Plan::Bind {
                origin,
                target,
                readonly,
            } => format!("bind {target} ro={readonly} {}", origin.key()),
            Plan::Cache {
                id,
                target,
                sharing,
                readonly,
                mode,
                uid,
                gid,
                seed,
            } => format!(
                "cache {target} id={id} {sharing:?} ro={readonly} {mode:o} {uid}:{gid} seed={}",
                seed.as_ref().map(Origin::key).unwrap_or_default()
            ),
            Plan::Tmpfs { target, size } => format!("tmpfs {target} size={size:?}"),
            Plan::Ssh {
                id,
                target,
                required,
            } => format!("ssh id={id} target={target} required={required}"),
            Plan::Secret {
                id,
                target,
                env,
                required,
                mode,
                uid,
                gid,
            } => format!(
                "secret id={id} target={target:?} env={env:?} required={required} {mode:o} {uid}:{gid}"
            ),
        }
    }
}

/// What activating needs from the build.
pub struct Env<'a> {
    pub state_root: &'a Path,
    pub store: &'a Store,
    pub context: &'a Context,
    /// `--build-context`s, for binds `from=` a named directory.
    pub named: &'a crate::named_contexts::NamedContexts,
    pub secrets: &'a Secrets,
    /// The stage's layers so far, topmost first.
    pub lowers: &'a [PathBuf],
    pub line: usize,
    /// Whether the build was interrupted (checked while waiting for a cache lock).
    pub stop: &'a dyn Fn() -> bool,
}

/// Held only for what dropping them undoes.
#[allow(dead_code)]
enum Guard {
    View(View, TempDir),
    Scratch(scratch::Scratch),
    Temp(TempDir),
    Cache(cache_dirs::Held),
}

/// A step's mounts, ready. Dropping it undoes them in reverse order (a `rw` overlay
/// before the view it sits on), releases cache locks and deletes private copies and
/// secret files.
#[derive(Default)]
pub struct Active {
    pub points: Vec<MountPoint>,
    /// Secrets given as environment variables (`NAME=value`).
    pub env: Vec<String>,
    /// Mount points the image lacked (relative to the root), to leave out of the layer.
    pub made: Vec<String>,
    guards: Vec<Guard>,
}

impl Drop for Active {
    fn drop(&mut self) {
        while let Some(g) = self.guards.pop() {
            drop(g);
        }
    }
}

/// Sets up every mount in `plans`.
pub fn activate(plans: &[Plan], env: &Env<'_>) -> Result<Active> {
    let mut a = Active::default();
    for p in plans {
        let point = match p {
            Plan::Bind {
                origin,
                target,
                readonly,
            } => {
                let mut src = source(&mut a, origin, env)?;
                let private_copy = matches!(origin, Origin::Context { filtered: true, .. });
                if !readonly && !private_copy {
                    let s = scratch::Scratch::writable(&src, env.store.temp_dir("mount-rw")?)?;
                    src = s.path().to_path_buf();
                    a.guards.push(Guard::Scratch(s));
                }
                bind(&src, target, *readonly)
            }
            Plan::Cache {
                id,
                target,
                sharing,
                readonly,
                mode,
                uid,
                gid,
                seed,
            } => {
                let seed = match seed {
                    Some(o) => Some(source(&mut a, o, env)?),
                    None => None,
                };
                let fresh = cache_dirs::Fresh {
                    mode: *mode,
                    uid: *uid,
                    gid: *gid,
                    seed: seed.as_deref(),
                };
                let held =
                    cache_dirs::acquire(env.state_root, env.store, id, *sharing, &fresh, env.stop)?;
                let point = bind(held.path(), target, *readonly);
                a.guards.push(Guard::Cache(held));
                point
            }
            Plan::Tmpfs { target, size } => {
                // BuildKit's tmpfs mounts allow exec (the engine's default is noexec).
                let mut options = vec!["exec".to_string()];
                options.extend(size.map(|s| format!("size={s}")));
                MountPoint {
                    kind: MountType::Tmpfs,
                    target: target.clone(),
                    options,
                    ..Default::default()
                }
            }
            Plan::Ssh {
                id,
                target,
                required,
            } => {
                let Some(sock) = env.secrets.agent(id) else {
                    if *required {
                        return Err(Error::step(
                            env.line,
                            format!("RUN --mount=type=ssh: no SSH agent {id:?} was given (pass --ssh {id}=SOCKET, or --ssh default for $SSH_AUTH_SOCK)"),
                        ));
                    }
                    continue;
                };
                a.env.push(format!("SSH_AUTH_SOCK={target}"));
                bind(sock, target, false)
            }
            Plan::Secret {
                id,
                target,
                env: var,
                required,
                mode,
                uid,
                gid,
            } => {
                let Some(value) = env.secrets.get(id) else {
                    if *required {
                        return Err(Error::step(
                            env.line,
                            format!("RUN --mount=type=secret: secret {id:?} is required but was not given (pass it with --secret id={id},src=FILE or env=VAR)"),
                        ));
                    }
                    continue;
                };
                if let Some(var) = var {
                    a.env
                        .push(format!("{var}={}", String::from_utf8_lossy(value)));
                }
                let Some(target) = target else { continue };
                let dir = env.store.temp_dir("secret")?;
                let file = dir.path().join("secret");
                write_secret(&file, value, *mode, *uid, *gid)?;
                a.guards.push(Guard::Temp(dir));
                bind(&file, target, true)
            }
        };
        a.made
            .extend(mountpoints::missing(env.lowers, &point.target));
        a.points.push(point);
    }
    Ok(a)
}

fn bind(src: &Path, target: &str, readonly: bool) -> MountPoint {
    MountPoint {
        kind: MountType::Bind,
        source: src.to_string_lossy().into_owned(),
        target: target.to_string(),
        read_only: readonly,
        ..Default::default()
    }
}

/// The host path of `origin`'s files, kept available by a guard in `a`.
fn source(a: &mut Active, origin: &Origin, env: &Env<'_>) -> Result<PathBuf> {
    match origin {
        Origin::Context {
            path,
            filtered: false,
            ..
        } => Ok(path.clone()),
        Origin::Context { path, named, .. } => {
            let dir = env.store.temp_dir("mount-ctx")?;
            let copy = dir.path().join("copy");
            let ctx = match named.as_deref().and_then(|n| env.named.get(n)) {
                Some(crate::named_contexts::Named::Dir(c)) => c,
                _ => env.context,
            };
            tree::copy_filtered(ctx.root(), path, ctx.ignore(), &copy)?;
            a.guards.push(Guard::Temp(dir));
            Ok(copy)
        }
        Origin::Layers { layers, rel, .. } => {
            let dir = env.store.temp_dir("mount-from")?;
            let view = View::open(layers, &dir.path().join("view"))?;
            let path = tree::resolve_in_root(view.path(), rel).map_err(|e| {
                Error::step(
                    env.line,
                    format!("RUN --mount source in the from= stage or image: {e}"),
                )
            })?;
            a.guards.push(Guard::View(view, dir));
            Ok(path)
        }
    }
}

fn write_secret(file: &Path, value: &[u8], mode: u32, uid: u32, gid: u32) -> Result<()> {
    fs::write(file, value).ctx(|| format!("writing {}", file.display()))?;
    std::os::unix::fs::chown(file, Some(uid), Some(gid))
        .ctx(|| format!("chown {}", file.display()))?;
    fs::set_permissions(file, fs::Permissions::from_mode(mode & 0o7777))
        .ctx(|| format!("chmod {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(required: bool) -> Plan {
        Plan::Secret {
            id: "tok".into(),
            target: Some("/run/secrets/tok".into()),
            env: None,
            required,
            mode: 0o400,
            uid: 0,
            gid: 0,
        }
    }

    #[test]
    fn keys_follow_what_the_step_sees_but_never_cache_contents_or_secret_values() {
        let ctx = |digest: &str| Plan::Bind {
            origin: Origin::Context {
                named: None,
                path: "/ctx/src".into(),
                rel: "src".into(),
                digest: digest.into(),
                filtered: false,
            },
            target: "/src".into(),
            readonly: true,
        };
        assert_ne!(ctx("a").key(), ctx("b").key());
        assert_eq!(ctx("a").key(), ctx("a").key());
        let from = |ident: &str| Plan::Bind {
            origin: Origin::Layers {
                layers: Vec::new(),
                ident: ident.into(),
                rel: "out".into(),
            },
            target: "/src".into(),
            readonly: true,
        };
        assert_ne!(from("chain1").key(), from("chain2").key());
        let cache = |id: &str| Plan::Cache {
            id: id.into(),
            target: "/c".into(),
            sharing: Sharing::Shared,
            readonly: false,
            mode: 0o755,
            uid: 0,
            gid: 0,
            seed: None,
        };
        assert_ne!(cache("a").key(), cache("b").key());
        assert_ne!(secret(false).key(), secret(true).key());
        assert_ne!(
            Plan::Tmpfs {
                target: "/t".into(),
                size: None
            }
            .key(),
            Plan::Tmpfs {
                target: "/t".into(),
                size: Some(1)
            }
            .key()
        );
    }
}
