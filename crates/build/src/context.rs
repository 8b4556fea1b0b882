//! The build context: the directory COPY and ADD read from, and the `.dockerignore`
//! rules that hide parts of it (Docker's rules: one pattern a line, `#` comments, the
//! last matching line wins, `!` re-includes, a pattern naming a directory hides what is
//! below it). Never writes to the context.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::pattern::Pattern;

#[derive(Debug, Clone)]
pub struct Context {
    root: PathBuf,
    ignore: Ignore,
}

impl Context {
    /// Opens the context at `dir`. `dockerfile` is the Dockerfile in use: a
    /// `<Dockerfile>.dockerignore` next to it wins over the context's `.dockerignore`,
    /// as in Docker.
    pub fn open(dir: &Path, dockerfile: Option<&Path>) -> Result<Context> {
        let root = fs::canonicalize(dir).map_err(|e| {
            Error::invalid(format!(
                "build context {}: {e} (give an existing directory)",
                dir.display()
            ))
        })?;
        if !root.is_dir() {
            return Err(Error::invalid(format!(
                "build context {} is not a directory",
                root.display()
            )));
        }
        let specific = dockerfile.and_then(|f| {
            let name = f.file_name()?.to_string_lossy().into_owned();
            Some(f.with_file_name(format!("{name}.dockerignore")))
        });
        let path = match specific {
            Some(p) if p.is_file() => p,
            _ => root.join(".dockerignore"),
        };
        let ignore = match fs::read_to_string(&path) {
            Ok(text) => Ignore::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ignore::default(),
            Err(e) => return Err(Error::invalid(format!("reading {}: {e}", path.display()))),
        };
        Ok(Context { root, ignore })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn ignore(&self) -> &Ignore {
        &self.ignore
    }
}

/// The rules of a `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    /// Patterns in file order; `true` for a `!` exception.
    rules: Vec<(Pattern, bool)>,
}

impl Ignore {
    pub fn parse(text: &str) -> Ignore {
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, pat) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            // A pattern that climbs out of the context can match nothing in it.
            if let Some(p) = Pattern::new(pat) {
                rules.push((p, exception));
            }
        }
        Ignore { rules }
    }

    /// Whether `rel` (relative to the context, `/`-separated) is hidden from the build.
    pub fn is_ignored(&self, rel: &str) -> bool {
        let mut ignored = false;
        for (p, exception) in &self.rules {
            if p.matches_or_parent(rel) {
                ignored = !exception;
            }
        }
        ignored
    }

    /// Whether some `!` rule could re-include something below directory `rel`: then an
    /// ignored directory must still be walked.
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|(_, e)| *e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_matching_rule_wins() {
        let i = Ignore::parse("# comment\n*.md\n!README.md\nbuild\n");
        assert!(i.is_ignored("notes.md"));
        assert!(!i.is_ignored("README.md"));
        assert!(i.is_ignored("build/x/y"));
        assert!(!i.is_ignored("src/main.rs"));
        assert!(!i.is_ignored("docs/a.md"));
    }

    #[test]
    fn double_star_and_leading_slash() {
        let i = Ignore::parse("/**/*.tmp\n");
        assert!(i.is_ignored("a.tmp"));
        assert!(i.is_ignored("x/y/a.tmp"));
    }
}
