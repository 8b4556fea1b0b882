//! Which compose files make the project, and which directory is the project's: `-f`,
//! else `COMPOSE_FILE`, else compose.yaml (and its override) found from the working
//! directory upwards; the project directory is `--project-directory`, else the first
//! file's directory. Looks at the filesystem only to see which files exist; never
//! reads them (see `sources`).

use std::path::{Path, PathBuf};

use super::env::Env;
use super::{paths, LoadError, LoadOptions};

/// The names discovery looks for, in compose's order of preference.
pub const FILE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// The override names looked for next to a discovered file, in compose's order.
pub const OVERRIDE_NAMES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// One compose file of the project, in merge order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ComposeFile {
    /// Absolute; `None` is standard input (`-f -`).
    pub path: Option<PathBuf>,
    /// As the user wrote it, or relative to the working directory when discovered.
    pub display: String,
}

/// The directory compose works from before it knows the files: the project directory
/// when given, else the first `-f` file's directory, else the working directory. The
/// first `.env` is read from here, and discovery starts here.
pub(crate) fn provisional_dir(opts: &LoadOptions) -> PathBuf {
    if let Some(d) = &opts.project_directory {
        return paths::absolute(&opts.cwd, d);
    }
    first_dir(
        opts.files
            .iter()
            .filter(|f| f.as_os_str() != "-")
            .map(|f| paths::absolute(&opts.cwd, f)),
    )
    .unwrap_or_else(|| opts.cwd.clone())
}

/// The project directory once the files are known.
pub(crate) fn project_dir(opts: &LoadOptions, files: &[ComposeFile]) -> PathBuf {
    if let Some(d) = &opts.project_directory {
        return paths::absolute(&opts.cwd, d);
    }
    first_dir(files.iter().filter_map(|f| f.path.clone())).unwrap_or_else(|| opts.cwd.clone())
}

fn first_dir(mut files: impl Iterator<Item = PathBuf>) -> Option<PathBuf> {
    files.next().and_then(|f| f.parent().map(Path::to_path_buf))
}

/// The files to load: `-f`, else `COMPOSE_FILE` (split on `COMPOSE_PATH_SEPARATOR`,
/// `:` by default), else discovery from `search_from` upwards. Warnings (several
/// candidate names in one directory) are pushed to `warnings`.
pub(crate) fn compose_files(
    opts: &LoadOptions,
    env: &Env,
    search_from: &Path,
    warnings: &mut Vec<String>,
) -> Result<Vec<ComposeFile>, LoadError> {
    let named = |p: &str| ComposeFile {
        path: (p != "-").then(|| paths::absolute(&opts.cwd, Path::new(p))),
        display: p.to_string(),
    };
    if !opts.files.is_empty() {
        return Ok(opts
            .files
            .iter()
            .map(|f| named(&f.to_string_lossy()))
            .collect());
    }
    if let Some(list) = env.get("COMPOSE_FILE").filter(|v| !v.is_empty()) {
        let sep = env
            .get("COMPOSE_PATH_SEPARATOR")
            .filter(|s| !s.is_empty())
            .map_or(":", String::as_str);
        let files: Vec<ComposeFile> = list
            .split(sep)
            .filter(|p| !p.is_empty())
            .map(named)
            .collect();
        if !files.is_empty() {
            return Ok(files);
        }
    }
    discover(search_from, &opts.cwd, warnings)
}

/// compose.yaml (or another of [`FILE_NAMES`]) in `from` or the nearest parent that
/// has one, plus an override file from the same directory.
fn discover(
    from: &Path,
    cwd: &Path,
    warnings: &mut Vec<String>,
) -> Result<Vec<ComposeFile>, LoadError> {
    let shown = |p: &Path| paths::relative(p, cwd).to_string_lossy().into_owned();
    let mut dir = Some(from);
    while let Some(d) = dir {
        let found = existing(d, &FILE_NAMES);
        if let Some(first) = found.first() {
            let mut out = vec![pick(&found, "compose files", &shown, warnings, first)];
            let overrides = existing(d, &OVERRIDE_NAMES);
            if let Some(o) = overrides.first() {
                out.push(pick(&overrides, "override files", &shown, warnings, o));
            }
            return Ok(out);
        }
        dir = d.parent();
    }
    Err(LoadError(format!(
        "no compose file found in {} or any parent directory (looked for {}); create one there or name it with -f",
        from.display(),
        FILE_NAMES.join(", ")
    )))
}

fn existing(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| p.exists())
        .collect()
}

fn pick(
    found: &[PathBuf],
    what: &str,
    shown: &dyn Fn(&Path) -> String,
    warnings: &mut Vec<String>,
    first: &Path,
) -> ComposeFile {
    if found.len() > 1 {
        let all: Vec<String> = found.iter().map(|p| shown(p)).collect();
        warnings.push(format!(
            "found multiple {what} with supported names: {}; using {}",
            all.join(", "),
            shown(first)
        ));
    }
    ComposeFile {
        path: Some(first.to_path_buf()),
        display: shown(first),
    }
}
