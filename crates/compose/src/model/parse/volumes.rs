//! A service's `volumes` (short `SOURCE:TARGET[:OPTIONS]` strings and the long
//! mapping form) and `tmpfs`, plus turning host paths (`./site`, `~/data`) into
//! absolute ones. A short source that starts with `.`, `/` or `~` is a bind mount,
//! anything else names a top-level volume, and no source at all is an anonymous
//! volume, as compose reads them. Never looks at the host: whether a path exists is
//! the engine's business.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::model::{ServiceVolume, VolumeKind};
use crate::value::{Node, Span, Value};

use super::read::{self, child, error, expected, index, Res};
use super::{units, Parser};

const PROPAGATIONS: &[&str] = &[
    "rprivate", "private", "rshared", "shared", "rslave", "slave",
];

const LONG_KEYS: &[&str] = &[
    "type",
    "source",
    "target",
    "read_only",
    "consistency",
    "bind",
    "volume",
    "tmpfs",
    "image",
];

pub(crate) fn volumes(
    node: &Node,
    path: &str,
    owner: &str,
    p: &mut Parser,
) -> Res<Vec<ServiceVolume>> {
    let mut out = Vec::new();
    for (i, item) in read::list(node, path)?.iter().enumerate() {
        let ip = index(path, i);
        let v = match &item.value {
            Value::Str(s) => short(s, item.span, &ip, p)?,
            Value::Map(_) => long(item, &ip, owner, p)?,
            _ => return Err(expected(item, &ip, "a string or a mapping")),
        };
        out.push(v);
    }
    Ok(out)
}

fn empty(kind: VolumeKind, target: String) -> ServiceVolume {
    ServiceVolume {
        kind,
        source: None,
        target,
        read_only: false,
        create_host_path: None,
        propagation: None,
        nocopy: false,
        subpath: None,
        tmpfs_size: None,
        tmpfs_mode: None,
    }
}

fn is_host_path(source: &str) -> bool {
    source.starts_with(['.', '/', '~'])
}

fn container_path(target: &str, span: Span, path: &str) -> Res<()> {
    if !target.starts_with('/') {
        return Err(error(
            span,
            path,
            format!("the container path {target:?} must be absolute (start with /)"),
        ));
    }
    Ok(())
}

/// `NAME:/path`, `./rel:/path:ro`, `/abs:/path:rw,z`, `~/x:/y`, `/anonymous`.
fn short(spec: &str, span: Span, path: &str, p: &mut Parser) -> Res<ServiceVolume> {
    let bad = |why: &str| error(span, path, format!("invalid volume {spec:?}: {why}"));
    if spec.is_empty() {
        return Err(bad("it is empty"));
    }
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.iter().any(|s| s.is_empty()) {
        return Err(bad("empty section between colons"));
    }
    let (source, target, options) = match parts.as_slice() {
        [t] => (None, *t, None),
        [s, t] => (Some(*s), *t, None),
        [s, t, o] => (Some(*s), *t, Some(*o)),
        _ => {
            return Err(bad(
                "too many colons; use SOURCE:TARGET[:OPTIONS] or the long syntax",
            ))
        }
    };
    container_path(target, span, path)?;
    let mut v = match source {
        None => empty(VolumeKind::Volume, target.into()),
        Some(s) if is_host_path(s) => {
            let mut v = empty(VolumeKind::Bind, target.into());
            v.source = Some(host_path(s, p, span, path)?);
            v.create_host_path = Some(true);
            v
        }
        Some(name) => {
            named_volume(name, span, path, &p.volumes)?;
            let mut v = empty(VolumeKind::Volume, target.into());
            v.source = Some(name.into());
            v
        }
    };
    let mut selinux = None;
    for opt in options.map(|o| o.split(',')).into_iter().flatten() {
        match opt {
            "ro" => v.read_only = true,
            "rw" => v.read_only = false,
            "nocopy" if v.kind == VolumeKind::Volume => v.nocopy = true,
            "nocopy" => return Err(bad("nocopy applies only to volumes, not to bind mounts")),
            "z" | "Z" => selinux = Some(opt),
            _ if PROPAGATIONS.contains(&opt) => {
                if v.kind != VolumeKind::Bind {
                    return Err(bad(&format!("{opt} applies only to bind mounts")));
                }
                v.propagation = Some(opt.into());
            }
            "cached" | "delegated" | "consistent" => p.warn(
                span,
                format!("{path}: the {opt:?} option only matters on macOS and is ignored"),
            ),
            _ => {
                return Err(bad(&format!(
                    "unknown option {opt:?}; use ro, rw, nocopy, z, Z or a propagation ({})",
                    PROPAGATIONS.join(", ")
                )))
            }
        }
    }
    set_selinux(&mut v, selinux, span, path)?;
    Ok(v)
}

/// The SELinux flag shares the `propagation` field (see the model): both at once
/// cannot be said yet.
fn set_selinux(v: &mut ServiceVolume, flag: Option<&str>, span: Span, path: &str) -> Res<()> {
    let Some(flag) = flag else { return Ok(()) };
    if v.propagation.is_some() {
        return Err(error(
            span,
            path,
            "berth cannot combine a bind propagation with an SELinux label (z or Z) yet; keep one",
        ));
    }
    v.propagation = Some(flag.into());
    Ok(())
}

fn named_volume(name: &str, span: Span, path: &str, defined: &BTreeSet<String>) -> Res<()> {
    if !defined.contains(name) {
        return Err(error(
            span,
            path,
            format!(
                "volume {name:?} is not defined; add it under the top-level `volumes:` (or use ./{name} for a directory next to the compose file)"
            ),
        ));
    }
    Ok(())
}

fn long(node: &Node, path: &str, owner: &str, p: &mut Parser) -> Res<ServiceVolume> {
    let f = read::fields(node, path, LONG_KEYS)?;
    let type_node = f.get("type").ok_or_else(|| {
        error(
            node.span,
            path,
            "a volume needs `type` (volume, bind or tmpfs)",
        )
    })?;
    let tp = child(path, "type");
    let kind = match read::string(type_node, &tp)?.as_str() {
        "volume" => VolumeKind::Volume,
        "bind" => VolumeKind::Bind,
        "tmpfs" => VolumeKind::Tmpfs,
        other => {
            return Err(error(
                type_node.span,
                &tp,
                format!("type {other:?} is not supported by berth; use volume, bind or tmpfs"),
            ))
        }
    };
    let target_node = f.get("target").ok_or_else(|| {
        error(
            node.span,
            path,
            "a volume needs `target` (the container path)",
        )
    })?;
    let target = read::string(target_node, &child(path, "target"))?;
    container_path(&target, target_node.span, &child(path, "target"))?;
    let mut v = empty(kind, target);

    if let Some(n) = f.get("source") {
        let sp = child(path, "source");
        let s = read::string(n, &sp)?;
        v.source = match kind {
            VolumeKind::Tmpfs => return Err(error(n.span, &sp, "a tmpfs mount has no source")),
            VolumeKind::Bind => Some(host_path(&s, p, n.span, &sp)?),
            VolumeKind::Volume if s.is_empty() => None,
            VolumeKind::Volume => {
                named_volume(&s, n.span, &sp, &p.volumes)?;
                Some(s)
            }
        };
    } else if kind == VolumeKind::Bind {
        return Err(error(
            node.span,
            path,
            "a bind mount needs `source` (the host path)",
        ));
    }
    if let Some(n) = f.get("read_only") {
        v.read_only = read::boolean(n, &child(path, "read_only"))?;
    }
    if let Some(span) = f.key_span("consistency") {
        p.unsupported(owner, &child(path, "consistency"), span);
    }
    if let Some(span) = f.key_span("image") {
        return Err(error(
            span,
            path,
            "image options need `type: image`, which berth does not support",
        ));
    }
    for (key, wanted) in [
        ("bind", VolumeKind::Bind),
        ("volume", VolumeKind::Volume),
        ("tmpfs", VolumeKind::Tmpfs),
    ] {
        let Some(n) = f.get(key) else { continue };
        let kp = child(path, key);
        if kind != wanted {
            return Err(error(
                n.span,
                &kp,
                format!("`{key}` options do not apply to a mount of this type"),
            ));
        }
        match kind {
            VolumeKind::Bind => bind_options(n, &kp, owner, &mut v, p)?,
            VolumeKind::Volume => volume_options(n, &kp, owner, &mut v, p)?,
            VolumeKind::Tmpfs => tmpfs_options(n, &kp, &mut v)?,
        }
    }
    Ok(v)
}

fn bind_options(
    n: &Node,
    path: &str,
    owner: &str,
    v: &mut ServiceVolume,
    p: &mut Parser,
) -> Res<()> {
    let f = read::fields(
        n,
        path,
        &["propagation", "create_host_path", "selinux", "recursive"],
    )?;
    if let Some(x) = f.get("propagation") {
        let xp = child(path, "propagation");
        let s = read::string(x, &xp)?;
        if !PROPAGATIONS.contains(&s.as_str()) {
            return Err(error(
                x.span,
                &xp,
                format!(
                    "unknown propagation {s:?}; use one of {}",
                    PROPAGATIONS.join(", ")
                ),
            ));
        }
        v.propagation = Some(s);
    }
    if let Some(x) = f.get("create_host_path") {
        v.create_host_path = Some(read::boolean(x, &child(path, "create_host_path"))?);
    }
    let mut selinux = None;
    if let Some(x) = f.get("selinux") {
        let xp = child(path, "selinux");
        selinux = match read::string(x, &xp)?.as_str() {
            "z" => Some("z"),
            "Z" => Some("Z"),
            other => {
                return Err(error(
                    x.span,
                    &xp,
                    format!("unknown SELinux label {other:?}; use z or Z"),
                ))
            }
        };
    }
    set_selinux(v, selinux, n.span, path)?;
    if let Some(span) = f.key_span("recursive") {
        p.unsupported(owner, &child(path, "recursive"), span);
    }
    Ok(())
}

fn volume_options(
    n: &Node,
    path: &str,
    owner: &str,
    v: &mut ServiceVolume,
    p: &mut Parser,
) -> Res<()> {
    let f = read::fields(n, path, &["nocopy", "subpath", "labels"])?;
    if let Some(x) = f.get("nocopy") {
        v.nocopy = read::boolean(x, &child(path, "nocopy"))?;
    }
    if let Some(x) = f.get("subpath") {
        v.subpath = Some(read::string(x, &child(path, "subpath"))?);
    }
    if let Some(span) = f.key_span("labels") {
        p.unsupported(owner, &child(path, "labels"), span);
    }
    Ok(())
}

fn tmpfs_options(n: &Node, path: &str, v: &mut ServiceVolume) -> Res<()> {
    let f = read::fields(n, path, &["size", "mode"])?;
    if let Some(x) = f.get("size") {
        v.tmpfs_size = Some(units::size_limit(x, &child(path, "size"), false)?);
    }
    if let Some(x) = f.get("mode") {
        v.tmpfs_mode = Some(units::mode(x, &child(path, "mode"))?);
    }
    Ok(())
}

/// `tmpfs: /run` or `tmpfs: [/run, "/tmp:size=64m"]`.
pub(crate) fn tmpfs(node: &Node, path: &str) -> Res<Vec<String>> {
    let entries = read::string_or_list(node, path)?;
    for (i, e) in entries.iter().enumerate() {
        let target = e.split_once(':').map_or(e.as_str(), |(t, _)| t);
        let span = node
            .as_seq()
            .and_then(|s| s.get(i))
            .map_or(node.span, |n| n.span);
        let ip = if node.as_seq().is_some() {
            index(path, i)
        } else {
            path.to_string()
        };
        container_path(target, span, &ip)?;
    }
    Ok(entries)
}

/// A host path made absolute: `~` from `$HOME` in the project's environment, relative
/// paths against the project directory, then `.` and `..` folded away.
pub(crate) fn host_path(s: &str, p: &Parser, span: Span, path: &str) -> Res<String> {
    let joined: PathBuf = if s == "~" || s.starts_with("~/") {
        let home = p
            .ctx
            .env
            .get("HOME")
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                error(
                    span,
                    path,
                    format!("{s:?} starts with ~ but HOME is not set"),
                )
            })?;
        Path::new(&home).join(s.trim_start_matches('~').trim_start_matches('/'))
    } else if s.starts_with('~') {
        return Err(error(
            span,
            path,
            format!("{s:?}: ~user paths are not supported; write the absolute path"),
        ));
    } else {
        p.ctx.working_dir.join(s)
    };
    Ok(clean(&joined).to_string_lossy().into_owned())
}

/// Folds `.` and `..` lexically, as Go's `filepath.Clean` does (no symlinks read).
pub(crate) fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                // `/..` is `/`, as in Go; a relative path keeps its leading `..`.
                if out.as_os_str() != "/" && !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}
