//! A service's secrets and configs as files in its containers. A plain file source is
//! bind-mounted read-only as it is; content and environment sources, and file sources
//! that ask for an owner or a mode, are written into the project's directory under the
//! state root (`ROOT/compose/PROJECT/secrets|configs/SERVICE/`, private to root) with
//! that owner and mode, and bind-mounted read-only from there. `down` removes the
//! directory. Never writes outside it.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use compose::model::{FileObject, FileRef, FileSource, Service};
use engine::StateRoot;

use crate::{Error, Result, Stack};

/// The project's own directory under the state root.
pub fn project_dir(root: &StateRoot, project: &str) -> PathBuf {
    root.dir().join("compose").join(project)
}

/// The `--mount` specs that put the service's secrets and configs in place, after
/// writing the files that need writing.
pub fn mounts(stack: &Stack, service: &str, svc: &Service) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (kind, refs, objects) in [
        ("secret", &svc.secrets, &stack.project.secrets),
        ("config", &svc.configs, &stack.project.configs),
    ] {
        for (i, r) in refs.iter().enumerate() {
            let obj = objects.get(&r.source).ok_or_else(|| {
                Error::invalid(format!(
                    "service {service:?} refers to undefined {kind} {:?}",
                    r.source
                ))
            })?;
            let source = place(stack, kind, service, i, r, obj)?;
            out.push(bind_spec(&source, &r.target)?);
        }
    }
    Ok(out)
}

/// The host file to mount for one reference, written first when it has to be.
fn place(
    stack: &Stack,
    kind: &str,
    service: &str,
    index: usize,
    r: &FileRef,
    obj: &FileObject,
) -> Result<PathBuf> {
    if obj.external {
        return Err(Error::invalid(format!(
            "{kind} {:?} is external: external {kind}s live in a swarm, which berth does not have; give it a file, environment or content source",
            r.source
        )));
    }
    let custom = r.uid.is_some() || r.gid.is_some() || r.mode.is_some();
    let content = match &obj.source {
        FileSource::File(path) if !custom => return Ok(path.clone()),
        FileSource::File(path) => fs::read(path).map_err(|e| {
            Error::invalid(format!(
                "{kind} {:?}: reading {}: {e}",
                r.source,
                path.display()
            ))
        })?,
        FileSource::Environment { value, .. } => value.clone().into_bytes(),
        FileSource::Content(s) => s.clone().into_bytes(),
    };
    let dir = project_dir(stack.root, &stack.project.name)
        .join(format!("{kind}s"))
        .join(service);
    let file = dir.join(format!("{index}-{}", safe_name(&r.source)));
    write(
        &dir,
        &file,
        &content,
        r.mode.unwrap_or(0o444),
        r.uid.unwrap_or(0),
        r.gid.unwrap_or(0),
    )
    .map_err(|e| {
        Error::invalid(format!(
            "writing {kind} {:?} to {}: {e}",
            r.source,
            file.display()
        ))
    })?;
    Ok(file)
}

/// Keeps a file name to one path component whatever the object's key holds.
fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes `file` whole (temp file, then rename): a container being created at the same
/// moment never mounts half a secret.
fn write(
    dir: &Path,
    file: &Path,
    content: &[u8],
    mode: u32,
    uid: u32,
    gid: u32,
) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    // The project directory holds secrets: root's alone.
    if let Some(top) = dir.parent().and_then(Path::parent) {
        fs::set_permissions(top, fs::Permissions::from_mode(0o700))?;
    }
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(content)?;
        drop(f);
        std::os::unix::fs::chown(&tmp, Some(uid), Some(gid))?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode & 0o7777))?;
        fs::rename(&tmp, file)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn bind_spec(source: &Path, target: &str) -> Result<String> {
    let src = source.to_string_lossy();
    if src.contains(',') || target.contains(',') {
        return Err(Error::invalid(format!(
            "cannot mount {src} at {target}: berth cannot mount paths that contain a comma"
        )));
    }
    Ok(format!("type=bind,source={src},target={target},readonly"))
}

/// Removes the project's directory (its written secrets and configs).
pub fn remove(root: &StateRoot, project: &str) -> Result<()> {
    let dir = project_dir(root, project);
    match fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::invalid(format!("removing {}: {e}", dir.display()))),
    }
}
