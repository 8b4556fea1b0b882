//! `berth build --secret id=ID[,src=PATH|,env=VAR][,type=file|env]`: reads the secrets
//! a build is given, once, before any step. Following Docker: `type` defaults to `env`
//! when `env=` is given and to `file` when `src=` is; with neither, the environment
//! variable named ID is used if set, else the file named ID. Owns the values; never
//! writes them anywhere, and never shows them (not even in `Debug`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Default)]
pub struct Secrets {
    values: BTreeMap<String, Vec<u8>>,
    /// `--ssh`: agent sockets by id, for `RUN --mount=type=ssh`.
    agents: BTreeMap<String, PathBuf>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.values.keys().chain(self.agents.keys()))
            .finish()
    }
}

impl Secrets {
    /// The agent socket `--ssh` gave for `id`.
    pub fn agent(&self, id: &str) -> Option<&Path> {
        self.agents.get(id).map(PathBuf::as_path)
    }

    /// Reads every `--ssh` (`default`, `default=SOCKET`, `ID=SOCKET`): each must name an
    /// SSH agent's socket (`default` alone is `$SSH_AUTH_SOCK`). Key files, which
    /// buildx loads into an agent of its own, are refused with what to do instead.
    pub fn load_ssh(&mut self, specs: &[String]) -> Result<()> {
        for spec in specs {
            let bad = |m: String| Error::invalid(format!("--ssh {spec:?}: {m}"));
            let (id, path) = match spec.split_once('=') {
                Some((id, p)) => (id.to_string(), p.to_string()),
                None if spec == "default" => {
                    let sock = std::env::var("SSH_AUTH_SOCK").map_err(|_| {
                        bad(
                            "SSH_AUTH_SOCK is not set: start ssh-agent, or give default=SOCKET"
                                .into(),
                        )
                    })?;
                    (spec.clone(), sock)
                }
                None => {
                    return Err(bad(
                        "give ID=SOCKET (or `default` for $SSH_AUTH_SOCK)".into()
                    ))
                }
            };
            if id.is_empty() || path.is_empty() || path.contains(',') {
                return Err(bad("give ID=SOCKET with one agent socket".into()));
            }
            let meta = std::fs::metadata(&path).map_err(|e| bad(format!("{path}: {e}")))?;
            if !std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) {
                return Err(bad(format!(
                    "{path} is not an agent socket: berth forwards running agents only (ssh-add the key to ssh-agent and pass --ssh {id}=$SSH_AUTH_SOCK)"
                )));
            }
            self.agents.insert(id, PathBuf::from(path));
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&[u8]> {
        self.values.get(id).map(Vec::as_slice)
    }

    /// Reads every `--secret`; `given` (values a caller already holds, such as
    /// compose's build secrets) come after, so they win on the same id.
    pub fn load(specs: &[String], given: &Given) -> Result<Secrets> {
        let mut values = BTreeMap::new();
        for spec in specs {
            let (id, value) = read_one(spec)?;
            values.insert(id, value);
        }
        values.extend(given.0.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(Secrets {
            values,
            agents: BTreeMap::new(),
        })
    }
}

/// Secret values by id, handed over already read (compose reads its `secrets:` files
/// and variables itself). Never shown: `Debug` prints the ids only.
#[derive(Clone, Default)]
pub struct Given(pub BTreeMap<String, Vec<u8>>);

impl fmt::Debug for Given {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

fn read_one(spec: &str) -> Result<(String, Vec<u8>)> {
    let bad = |m: String| Error::invalid(format!("--secret {spec:?}: {m}"));
    let (mut id, mut src, mut env, mut typ) = (None, None, None, None);
    for field in spec.split(',') {
        let (k, v) = field
            .split_once('=')
            .ok_or_else(|| bad(format!("{field:?} is not KEY=VALUE")))?;
        match k.trim().to_ascii_lowercase().as_str() {
            "id" => id = Some(v.to_string()),
            "src" | "source" => src = Some(v.to_string()),
            "env" => env = Some(v.to_string()),
            "type" => match v {
                "file" | "env" => typ = Some(v.to_string()),
                _ => return Err(bad(format!("type={v} is not file or env"))),
            },
            other => {
                return Err(bad(format!(
                    "unknown key {other:?} (use id=, src=, env= and type=)"
                )))
            }
        }
    }
    let id = id
        .filter(|i| !i.is_empty())
        .ok_or_else(|| bad("it needs id=ID".into()))?;
    let typ = match typ {
        Some(t) => t,
        None if env.is_some() => "env".into(),
        None if src.is_some() => "file".into(),
        None if std::env::var_os(&id).is_some() => "env".into(),
        None => "file".into(),
    };
    if typ == "env" {
        // With type=env, src= names the variable too (as Docker reads it).
        let var = env.or(src).unwrap_or_else(|| id.clone());
        let value = std::env::var_os(&var).ok_or_else(|| {
            bad(format!(
                "the environment variable {var} is not set (export it, or use src=FILE)"
            ))
        })?;
        return Ok((
            id,
            std::os::unix::ffi::OsStrExt::as_bytes(value.as_os_str()).to_vec(),
        ));
    }
    let path = src.unwrap_or_else(|| id.clone());
    let value = std::fs::read(&path).map_err(|e| {
        bad(format!(
            "reading {path}: {e} (give an existing file with src=)"
        ))
    })?;
    Ok((id, value))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn files_env_and_the_defaults() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("tok");
        std::fs::write(&f, "from-file").unwrap();
        std::env::set_var("BERTH_TEST_SECRET_A", "from-env");
        let mut given = Given::default();
        given.0.insert("d".into(), b"handed-over".to_vec());
        let s = Secrets::load(
            &[
                format!("id=a,src={}", f.display()),
                "id=b,env=BERTH_TEST_SECRET_A".into(),
                "id=BERTH_TEST_SECRET_A".into(),
                format!("id=c,type=file,source={}", f.display()),
            ],
            &given,
        )
        .unwrap();
        assert_eq!(s.get("d"), Some(&b"handed-over"[..]));
        assert!(!format!("{given:?}").contains("handed"));
        assert_eq!(s.get("a"), Some(&b"from-file"[..]));
        assert_eq!(s.get("b"), Some(&b"from-env"[..]));
        assert_eq!(s.get("BERTH_TEST_SECRET_A"), Some(&b"from-env"[..]));
        assert_eq!(s.get("c"), Some(&b"from-file"[..]));
        assert!(!format!("{s:?}").contains("from-"));
        for (spec, want) in [
            ("src=x", "needs id=ID"),
            ("id=a,type=ssh", "not file or env"),
            ("id=a,env=BERTH_TEST_SECRET_UNSET", "is not set"),
            ("id=a,src=/nonexistent/file", "reading /nonexistent/file"),
            ("id=a,path=x", "unknown key"),
        ] {
            let e = Secrets::load(&[spec.into()], &Given::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{spec}: {e}");
        }
    }

    #[test]
    fn ssh_agents_must_be_sockets() {
        let t = tempfile::tempdir().unwrap();
        let sock = t.path().join("agent");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let key = t.path().join("key");
        std::fs::write(&key, "k").unwrap();
        let mut s = Secrets::default();
        s.load_ssh(&[format!("deploy={}", sock.display())]).unwrap();
        assert_eq!(s.agent("deploy"), Some(sock.as_path()));
        assert!(format!("{s:?}").contains("deploy"));
        for (spec, want) in [
            (format!("x={}", key.display()), "not an agent socket"),
            ("x".to_string(), "give ID=SOCKET"),
            ("x=/nonexistent/sock".to_string(), "/nonexistent/sock"),
            (format!("x={0},{0}", sock.display()), "one agent socket"),
        ] {
            let e = s
                .load_ssh(std::slice::from_ref(&spec))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{spec}: {e}");
        }
    }
}
