//! Docker credential helpers (`docker-credential-NAME get|store|erase`), named by
//! `credHelpers` (per registry) or `credsStore` (for all) in the credentials file: the
//! protocol is the helper's stdin and stdout, JSON with `ServerURL`, `Username` and
//! `Secret`. Owns running a helper and reading its answer; never logs a secret.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::auth::Credentials;
use crate::error::{Error, Result};

fn program(helper: &str) -> String {
    format!("docker-credential-{helper}")
}

fn failed(helper: &str, what: impl std::fmt::Display) -> Error {
    Error::AuthFile {
        path: program(helper).into(),
        reason: what.to_string(),
    }
}

/// Runs `docker-credential-HELPER VERB` with `input` on stdin; its stdout, or None when
/// it says it has no credentials for the server. With `missing_ok`, a helper that is not
/// installed also gives None (a config.json copied from another machine often names
/// `desktop` or `osxkeychain`: its `auths` entries still work).
fn run(helper: &str, verb: &str, input: &[u8], missing_ok: bool) -> Result<Option<Vec<u8>>> {
    // The name is looked up on PATH: a path in it would run some other program.
    if helper.is_empty()
        || !helper
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        || helper.starts_with('.')
    {
        return Err(failed(
            helper,
            "a credential helper's name is letters, digits, '-', '_' and '.' (it runs docker-credential-NAME from PATH)",
        ));
    }
    let child = Command::new(program(helper))
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Err(e) if missing_ok && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        other => other,
    }
    .map_err(|e| {
        failed(
            helper,
            format!(
                "cannot run {} (named by the credentials file's credsStore/credHelpers): {e}",
                program(helper)
            ),
        )
    })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is judged by its exit status below.
        let _ = stdin.write_all(input);
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed(helper, format!("waiting for {}: {e}", program(helper))))?;
    if out.status.success() {
        return Ok(Some(out.stdout));
    }
    let said = String::from_utf8_lossy(&out.stdout).trim().to_string()
        + String::from_utf8_lossy(&out.stderr).trim();
    if said.to_ascii_lowercase().contains("credentials not found") {
        return Ok(None);
    }
    Err(failed(
        helper,
        format!("{} {verb} failed: {said}", program(helper)),
    ))
}

/// The helper's credentials for `server` (Docker's key: `https://index.docker.io/v1/`
/// or the registry host).
pub fn get(helper: &str, server: &str) -> Result<Option<Credentials>> {
    let Some(out) = run(helper, "get", server.as_bytes(), true)? else {
        return Ok(None);
    };
    let v: Value = serde_json::from_slice(&out)
        .map_err(|e| failed(helper, format!("its answer is not JSON: {e}")))?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (username, password) = (field("Username"), field("Secret"));
    if password.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials { username, password }))
}

pub fn store(helper: &str, server: &str, creds: &Credentials) -> Result<()> {
    let input = json!({"ServerURL": server, "Username": creds.username, "Secret": creds.password});
    run(helper, "store", input.to_string().as_bytes(), false)?;
    Ok(())
}

/// Erases; whether the helper had something to erase.
pub fn erase(helper: &str, server: &str) -> Result<bool> {
    Ok(run(helper, "erase", server.as_bytes(), false)?.is_some())
}
