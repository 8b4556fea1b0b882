//! The project name: `-p`, else `COMPOSE_PROJECT_NAME`, else the top-level `name:` of
//! the files, else the project directory's name, with compose's rules for what a
//! name may contain. Decides the name only; never reads files.

use std::path::Path;

use super::env::Env;
use super::sources::Sources;
use super::variables::{self, Unset};
use super::LoadError;
use crate::value::{Node, Value};

/// compose's rule for a project name, quoted in errors.
const RULE: &str = "must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number";

/// Lowercases, keeps only `[a-z0-9_-]`, and drops leading `_`/`-`: how compose turns a
/// directory name (or a `name:` field) into a project name.
pub fn normalize_project_name(s: &str) -> String {
    let kept: String = s
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

/// Whether `name` is acceptable as given (by `-p` or `COMPOSE_PROJECT_NAME`).
pub fn check_project_name(name: &str, given_by: &str) -> Result<(), LoadError> {
    if normalize_project_name(name) == name && !name.is_empty() {
        return Ok(());
    }
    let hint = match normalize_project_name(name) {
        n if n.is_empty() => String::new(),
        n => format!(" (for example {n:?})"),
    };
    Err(LoadError(format!(
        "invalid project name {name:?} (given by {given_by}): a project name {RULE}{hint}"
    )))
}

/// Chooses the project name. `trees` are the parsed, not yet interpolated files in
/// merge order; the last non-empty `name:` among them counts, interpolated with `env`.
pub(crate) fn choose(
    flag: Option<&str>,
    env: &Env,
    trees: &[Node],
    project_dir: &Path,
    sources: &Sources,
    unset: &mut Unset,
    warnings: &mut Vec<String>,
) -> Result<String, LoadError> {
    if let Some(n) = flag.filter(|n| !n.is_empty()) {
        check_project_name(n, "-p")?;
        return Ok(n.to_string());
    }
    if let Some(n) = env.get("COMPOSE_PROJECT_NAME").filter(|n| !n.is_empty()) {
        check_project_name(n, "COMPOSE_PROJECT_NAME")?;
        return Ok(n.clone());
    }
    let named = trees.iter().rev().find_map(|t| {
        t.get("name")
            .filter(|n| matches!(&n.value, Value::Str(s) if !s.is_empty()))
    });
    if let Some(node) = named {
        let mut node = node.clone();
        variables::interpolate(&mut node, env, unset)
            .map_err(|e| sources.error(e.span, format!("name: {}", e.message)))?;
        if let Some(raw) = node.as_str() {
            let n = normalize_project_name(raw);
            if !n.is_empty() {
                if n != raw {
                    warnings.push(sources.at(
                        node.span,
                        format!(
                            "name {raw:?} is not a valid project name (a name {RULE}); using {n:?}"
                        ),
                    ));
                }
                return Ok(n);
            }
        }
    }
    let base = project_dir
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = normalize_project_name(&base);
    if n.is_empty() {
        return Err(LoadError(format!(
            "cannot make a project name from the directory {}: give one with -p, COMPOSE_PROJECT_NAME or a top-level `name:`",
            project_dir.display()
        )));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_follows_compose() {
        for (i, o) in [
            ("My App", "myapp"),
            ("__x-Y_1", "x-y_1"),
            ("-._a.b", "ab"),
            ("Ünïcode", "ncode"),
            ("ok-name_2", "ok-name_2"),
            ("...", ""),
        ] {
            assert_eq!(normalize_project_name(i), o, "{i}");
        }
    }

    #[test]
    fn explicit_names_must_already_be_normal() {
        assert!(check_project_name("web-1", "-p").is_ok());
        let e = check_project_name("Web", "-p").unwrap_err().0;
        assert!(
            e.contains("invalid project name \"Web\" (given by -p)"),
            "{e}"
        );
        assert!(e.contains("lowercase alphanumeric"), "{e}");
        assert!(e.contains("\"web\""), "{e}");
        assert!(check_project_name("_x", "COMPOSE_PROJECT_NAME").is_err());
    }
}
