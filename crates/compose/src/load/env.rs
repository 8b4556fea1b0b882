//! The project environment, the one interpolation and the model see: the process
//! environment, then the `.env` file (or the `--env-file`s) filling in only what the
//! process environment does not set, as compose does. Reads env files; never reads the
//! process environment itself (the caller passes it in `LoadOptions`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::sources::read_text;
use super::{paths, LoadError, LoadOptions};
use crate::interpolate::parse_dotenv;

pub(crate) type Env = BTreeMap<String, String>;

/// An env file to read: where it is and how messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvFile {
    pub path: PathBuf,
    pub display: String,
}

/// The process environment as given; a name given twice keeps its last value.
pub(crate) fn process_env(vars: &[(String, String)]) -> Env {
    vars.iter().cloned().collect()
}

/// The env files for a load whose working directory is `dir`: the `--env-file`s when
/// there are any (relative to the command's directory), else `dir/.env` when it is a
/// file and `COMPOSE_DISABLE_ENV_FILE` (from the process environment) is not true.
pub(crate) fn files_for(
    opts: &LoadOptions,
    dir: &Path,
    process: &Env,
) -> Result<Vec<EnvFile>, LoadError> {
    if !opts.env_files.is_empty() {
        return Ok(opts
            .env_files
            .iter()
            .map(|p| EnvFile {
                path: paths::absolute(&opts.cwd, p),
                display: p.to_string_lossy().into_owned(),
            })
            .collect());
    }
    if let Some(v) = process.get("COMPOSE_DISABLE_ENV_FILE") {
        if parse_bool(v).ok_or_else(|| {
            LoadError(format!(
                "COMPOSE_DISABLE_ENV_FILE={v:?} is not a boolean (use true or false)"
            ))
        })? {
            return Ok(Vec::new());
        }
    }
    let path = dir.join(".env");
    if !path.is_file() {
        return Ok(Vec::new());
    }
    Ok(vec![EnvFile {
        display: paths::relative(&path, &opts.cwd)
            .to_string_lossy()
            .into_owned(),
        path,
    }])
}

/// Go's `strconv.ParseBool`, which compose uses for its boolean variables.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Reads `files` in order (a later file overrides an earlier one) and adds to `env`
/// every variable `env` does not already have. A `${VAR}` in a file sees `env` first,
/// then the files read before it. Names starting with a digit are dropped, as compose
/// drops them (no `${...}` can name them).
pub(crate) fn add_files(env: &mut Env, files: &[EnvFile]) -> Result<(), LoadError> {
    let mut from_files: Vec<(String, String)> = Vec::new();
    for f in files {
        if f.path.is_dir() {
            return Err(LoadError(format!(
                "{}: is a directory, not an env file",
                f.display
            )));
        }
        if !f.path.exists() {
            return Err(LoadError(format!(
                "{}: env file not found (check the --env-file path)",
                f.display
            )));
        }
        let text = read_text(&f.path, &f.display, "the env file")?;
        let lookup = |name: &str| {
            env.get(name).cloned().or_else(|| {
                from_files
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
        };
        let vars = parse_dotenv(&text, &lookup)
            .map_err(|e| LoadError(format!("{}:{}: {}", f.display, e.line, e.message)))?;
        for (k, v) in vars {
            if k.starts_with(|c: char| c.is_ascii_digit()) {
                continue;
            }
            match from_files.iter_mut().find(|(name, _)| *name == k) {
                Some(slot) => slot.1 = v,
                None => from_files.push((k, v)),
            }
        }
    }
    for (k, v) in from_files {
        env.entry(k).or_insert(v);
    }
    Ok(())
}
