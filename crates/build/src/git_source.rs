//! Checks out ADD's git sources with the `git` binary: a shallow fetch of the ref into a
//! scratch directory (falling back to a full fetch for servers that cannot serve
//! shallow clones, such as dumb HTTP), then a detached checkout. `.git` is removed
//! unless `--keep-git-dir` asks for it. Owns the git command lines and their errors;
//! never touches a directory other than the one it is given and never prompts.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::remote::GitRef;

/// Checks `git` out into `dir` (which must exist and be empty); returns the commit.
pub fn checkout(git: &GitRef, dir: &Path, keep_git_dir: bool) -> Result<String, String> {
    let wanted = git.reference.as_deref().unwrap_or("HEAD");
    // git runs on the host: a ref that looks like an option (`--upload-pack=...`)
    // would be one.
    if wanted.starts_with('-') || git.url.starts_with('-') {
        return Err(format!(
            "{}#{wanted}: a git ref or URL cannot start with '-'",
            git.url
        ));
    }
    run(dir, &["init", "-q"])?;
    run(dir, &["remote", "add", "--", "origin", &git.url])?;
    let fetched = run(
        dir,
        &[
            "fetch",
            "-q",
            "--depth=1",
            "--no-tags",
            "--",
            "origin",
            wanted,
        ],
    )
    .or_else(|_| run(dir, &["fetch", "-q", "--no-tags", "--", "origin", wanted]));
    let commit = match fetched {
        Ok(_) => run(
            dir,
            &[
                "rev-parse",
                "--verify",
                "--end-of-options",
                "FETCH_HEAD^{commit}",
            ],
        )?,
        Err(first) => {
            // A commit id cannot be fetched by name from every server: fetch every
            // branch and tag, then look for it.
            run(
                dir,
                &[
                    "fetch",
                    "-q",
                    "--tags",
                    "--",
                    "origin",
                    "+refs/heads/*:refs/remotes/origin/*",
                ],
            )
            .map_err(|_| first.clone())?;
            run(
                dir,
                &[
                    "rev-parse",
                    "--verify",
                    "--end-of-options",
                    &format!("{wanted}^{{commit}}"),
                ],
            )
            .map_err(|_| {
                format!(
                    "{}: no branch, tag or commit {wanted:?} in the repository ({first})",
                    git.url
                )
            })?
        }
    };
    run(
        dir,
        &["-c", "advice.detachedHead=false", "checkout", "-q", &commit],
    )?;
    if !keep_git_dir {
        let g = dir.join(".git");
        fs::remove_dir_all(&g).map_err(|e| format!("removing {}: {e}", g.display()))?;
    }
    Ok(commit)
}

/// Runs one git command in `dir`; its trimmed stdout, or an error quoting git.
fn run(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                "ADD of a git repository needs the git program, which is not installed (install git, or fetch the repository in a RUN step)".to_string()
            } else {
                format!("running git: {e}")
            }
        })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    Err(format!(
        "git {} failed: {last}",
        args.first().copied().unwrap_or("")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ref_that_looks_like_an_option_is_refused_before_git_runs() {
        let dir = tempfile::tempdir().unwrap();
        let git = GitRef {
            url: "https://127.0.0.1:1/repo.git".into(),
            reference: Some("--upload-pack=touch /tmp/x".into()),
            subdir: None,
        };
        let e = checkout(&git, dir.path(), false).unwrap_err();
        assert!(e.contains("cannot start with '-'"), "{e}");
        // Nothing ran: not even `git init`.
        assert!(!dir.path().join(".git").exists());
    }
}
