//! `berth exec`: the process spec for an extra process in a running container, with the
//! container's own security settings and environment plus the caller's overrides.

use std::path::Path;

use serde_json::json;

use crate::containers;
use crate::error::{Error, Result};
use crate::record::Record;
use crate::spec;
use crate::state_root::StateRoot;

#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub command: Vec<String>,
    pub env: Vec<String>,
    pub env_files: Vec<std::path::PathBuf>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub tty: bool,
    /// Terminal size (rows, columns) when `tty`.
    pub console: Option<(u16, u16)>,
}

/// Everything `runtime::exec_in` needs.
pub struct Prepared {
    pub target: runtime::ExecTarget,
    pub process: oci_spec::runtime::Process,
    /// The container's own seccomp filter and Landlock policy: an exec'd process is
    /// never less confined than the container's first process.
    pub confine: runtime::Confinement,
}

pub fn prepare(root: &StateRoot, key: &str, opts: &ExecOptions) -> Result<Prepared> {
    let id = containers::find(root, key)?;
    let (record, state) = containers::load(root, &id)?;
    if state.status == crate::record::Status::Restarting {
        return Err(Error::conflict(format!(
            "container {} is restarting, wait until the container is running",
            record.short_name()
        )));
    }
    if !state.running || !runtime::sys::process_alive(state.pid, state.pid_start) {
        return Err(Error::conflict(format!(
            "container {} is not running (start it with `berth start`)",
            record.short_name()
        )));
    }
    if opts.command.is_empty() {
        return Err(Error::invalid(
            "no command given: berth exec CONTAINER COMMAND [ARG...]",
        ));
    }
    let process = process_spec(&record, &root.container(&id), opts)?;
    let confine = crate::security::confinement(
        &record.security,
        &root.container(&id),
        &root.seccomp_cache(),
    )?;
    let cg = runtime::cgroup::Cgroup::new(runtime::cgroup::Layout::detect(), root.cgroup_name(&id));
    Ok(Prepared {
        target: runtime::ExecTarget {
            pid: state.pid,
            cgroup_paths: cg.paths(),
        },
        process,
        confine,
    })
}

/// The spec of an extra process in container `record` (whose directory is `dir`): the
/// container's user, environment, working directory and security settings, with the
/// overrides of `opts`. Also builds the monitor's health probes.
pub fn process_spec(
    record: &Record,
    dir: &Path,
    opts: &ExecOptions,
) -> Result<oci_spec::runtime::Process> {
    let user_spec = opts
        .user
        .clone()
        .unwrap_or_else(|| record.config.user.clone());
    let user = spec::resolve_user(record, dir, &user_spec)?;
    let mut extra = Vec::new();
    for f in &opts.env_files {
        extra.extend(crate::options::read_env_file(f)?);
    }
    extra.extend(crate::options::parse_env(&opts.env));
    let mut env = spec::environment(record, &user, &extra);
    if opts.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let cwd = opts
        .workdir
        .clone()
        .unwrap_or_else(|| record.config.working_dir.clone());
    let cwd = if cwd.is_empty() { "/".to_string() } else { cwd };
    let rlimits: Vec<_> = record
        .host_config
        .ulimits
        .iter()
        .map(|u| json!({"type": format!("RLIMIT_{}", u.name.to_ascii_uppercase()), "soft": u.soft, "hard": u.hard}))
        .collect();
    let mut p = json!({
        "terminal": opts.tty,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": user.additional_gids},
        "args": opts.command,
        "env": env,
        "cwd": cwd,
        "capabilities": spec::capabilities(record),
        "rlimits": rlimits,
        "noNewPrivileges": record.security.no_new_privileges,
    });
    if let Some((rows, cols)) = opts.console {
        p["consoleSize"] = json!({"height": rows, "width": cols});
    }
    serde_json::from_value(p).map_err(|e| Error::invalid(format!("building the exec spec: {e}")))
}
