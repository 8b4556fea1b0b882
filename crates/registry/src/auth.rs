//! Owns the Docker-compatible credentials file (`~/.docker/config.json`,
//! `$DOCKER_CONFIG/config.json` or `$REGISTRY_AUTH_FILE`): reading a registry's
//! credentials, and storing or removing them. Writes replace the file atomically (temp
//! file, fsync, rename) with mode 0600 and keep every other key of the file as it was;
//! never writes a password anywhere else, and never prints one (`Debug` redacts it).
//!
//! Credential helpers are used as Docker uses them: `credHelpers[registry]`, else
//! `credsStore`, is asked first (see `cred_helper`), then the `auths` map; `login`
//! and `logout` store and erase through the helper when there is one. OAuth identity
//! tokens are not understood.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::reference::{normalize_registry, DOCKER_HUB};

/// The key Docker stores Docker Hub credentials under.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// A user name and password (or access token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The credentials file at a path chosen by the caller.
#[derive(Debug, Clone)]
pub struct AuthFile {
    path: PathBuf,
}

/// The credential helper for `registry`: its own in `credHelpers`, else `credsStore`.
fn helper_for(root: &Map<String, Value>, registry: &str) -> Option<String> {
    let want = normalize_registry(registry);
    root.get("credHelpers")
        .and_then(Value::as_object)
        .and_then(|m| {
            m.iter()
                .find(|(k, _)| normalize_registry(k) == want)
                .and_then(|(_, v)| v.as_str())
        })
        .or_else(|| root.get("credsStore").and_then(Value::as_str))
        .filter(|h| !h.is_empty())
        .map(str::to_string)
}

/// The key a registry's entry has in `auths`: Docker Hub's legacy URL, else the host.
pub fn auth_key(registry: &str) -> String {
    let r = normalize_registry(registry);
    if r == DOCKER_HUB {
        DOCKER_HUB_AUTH_KEY.to_string()
    } else {
        r
    }
}

impl AuthFile {
    pub fn new(path: impl Into<PathBuf>) -> AuthFile {
        AuthFile { path: path.into() }
    }

    /// Where Docker and podman users keep credentials: `$REGISTRY_AUTH_FILE`, else
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    pub fn default_path() -> PathBuf {
        if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE").filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|p| !p.is_empty()) {
            return PathBuf::from(d).join("config.json");
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/root"));
        home.join(".docker/config.json")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The credentials stored for `registry`, if any. The entry under Docker's own key
    /// wins; otherwise any key naming the same registry (`docker.io`,
    /// `https://quay.io/v1/`...) is used, as Docker's lookup does.
    pub fn get(&self, registry: &str) -> Result<Option<Credentials>> {
        let Some(root) = self.read()? else {
            return Ok(None);
        };
        let key = auth_key(registry);
        if let Some(helper) = helper_for(&root, registry) {
            if let Some(c) = crate::cred_helper::get(&helper, &key)? {
                return Ok(Some(c));
            }
        }
        let Some(auths) = root.get("auths").and_then(Value::as_object) else {
            return Ok(None);
        };
        let want = normalize_registry(registry);
        let entry = auths.get(&key).or_else(|| {
            auths
                .iter()
                .find(|(k, _)| normalize_registry(k) == want)
                .map(|(_, v)| v)
        });
        match entry {
            Some(e) => self.decode(&key, e),
            None => Ok(None),
        }
    }

    /// Stores `creds` for `registry`, replacing what was there.
    pub fn store(&self, registry: &str, creds: &Credentials) -> Result<()> {
        let mut root = self.read()?.unwrap_or_default();
        if let Some(helper) = helper_for(&root, registry) {
            // Docker keeps an empty entry in `auths` so tools can list the registries.
            crate::cred_helper::store(&helper, &auth_key(registry), creds)?;
            let auths = auths_mut(&mut root, &self.path)?;
            auths.insert(auth_key(registry), Value::Object(Map::new()));
            return self.write(&root);
        }
        let auths = auths_mut(&mut root, &self.path)?;
        let encoded = STANDARD.encode(format!("{}:{}", creds.username, creds.password));
        let mut entry = Map::new();
        entry.insert("auth".into(), Value::String(encoded));
        auths.insert(auth_key(registry), Value::Object(entry));
        self.write(&root)
    }

    /// Removes every entry naming `registry`; `NotLoggedIn` if there was none.
    pub fn remove(&self, registry: &str) -> Result<()> {
        let not_logged_in = || Error::NotLoggedIn(normalize_registry(registry));
        let Some(mut root) = self.read()? else {
            return Err(not_logged_in());
        };
        let erased = match helper_for(&root, registry) {
            Some(helper) => crate::cred_helper::erase(&helper, &auth_key(registry))?,
            None => false,
        };
        let auths = auths_mut(&mut root, &self.path)?;
        let want = normalize_registry(registry);
        let before = auths.len();
        auths.retain(|k, _| normalize_registry(k) != want);
        if auths.len() == before && !erased {
            return Err(not_logged_in());
        }
        self.write(&root)
    }

    fn bad(&self, reason: impl Into<String>) -> Error {
        Error::AuthFile {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    fn read(&self) -> Result<Option<Map<String, Value>>> {
        let data = match fs::read(&self.path) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.bad(e.to_string())),
        };
        if data.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        match serde_json::from_slice(&data) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            Ok(_) => Err(self.bad("not a JSON object")),
            Err(e) => Err(self.bad(format!("not valid JSON: {e}"))),
        }
    }

    fn decode(&self, key: &str, entry: &Value) -> Result<Option<Credentials>> {
        if let Some(auth) = entry
            .get("auth")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            let raw = STANDARD
                .decode(auth.trim())
                .map_err(|e| self.bad(format!("auths.{key}.auth is not base64: {e}")))?;
            let text = String::from_utf8(raw)
                .map_err(|_| self.bad(format!("auths.{key}.auth is not UTF-8")))?;
            let (user, pass) = text
                .split_once(':')
                .ok_or_else(|| self.bad(format!("auths.{key}.auth is not user:password")))?;
            return Ok(Some(Credentials {
                username: user.to_string(),
                password: pass.to_string(),
            }));
        }
        // Older files and some tools write the fields separately.
        let field = |name| {
            entry
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        match (field("username"), field("password")) {
            (Some(u), Some(p)) => Ok(Some(Credentials {
                username: u.to_string(),
                password: p.to_string(),
            })),
            _ => Ok(None),
        }
    }

    /// Replaces the file atomically; if it is a symlink, its target is replaced so the
    /// link (a common way to share one config) survives.
    fn write(&self, root: &Map<String, Value>) -> Result<()> {
        let target = fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone());
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|e| self.bad(format!("creating {}: {e}", dir.display())))?;
        }
        // Docker writes tab-indented JSON; keep the file looking the same.
        let mut data = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut data, fmt);
        serde::Serialize::serialize(root, &mut ser).map_err(|e| self.bad(e.to_string()))?;
        data.push(b'\n');

        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "config.json".into());
        let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
        let result = (|| -> io::Result<()> {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&data)?;
            f.sync_all()?;
            fs::rename(&tmp, &target)?;
            // The rename is durable once the directory is.
            fs::File::open(&dir)?.sync_all()
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(self.bad(format!("writing: {e}")));
        }
        Ok(())
    }
}

fn auths_mut<'a>(
    root: &'a mut Map<String, Value>,
    path: &Path,
) -> Result<&'a mut Map<String, Value>> {
    let auths = root
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    auths.as_object_mut().ok_or_else(|| Error::AuthFile {
        path: path.to_path_buf(),
        reason: "\"auths\" is not an object".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn creds(u: &str, p: &str) -> Credentials {
        Credentials {
            username: u.into(),
            password: p.into(),
        }
    }

    #[test]
    fn missing_file_has_no_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let f = AuthFile::new(dir.path().join("config.json"));
        assert_eq!(f.get("quay.io").unwrap(), None);
        assert_eq!(
            f.remove("quay.io").unwrap_err().to_string(),
            "not logged in to quay.io"
        );
    }

    #[test]
    fn reads_docker_written_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs::write(
            &path,
            r#"{"auths": {
                "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
                "127.0.0.1:5000": {"auth": "dTpwOmFzcw=="},
                "https://quay.io": {"auth": "cTpx"},
                "ghcr.io": {"username": "g", "password": "h"},
                "helper.example": {}
            }, "credsStore": "desktop"}"#,
        )
        .unwrap();
        let f = AuthFile::new(&path);
        assert_eq!(f.get("docker.io").unwrap(), Some(creds("hub", "secret")));
        assert_eq!(
            f.get("index.docker.io").unwrap(),
            Some(creds("hub", "secret"))
        );
        // Passwords may contain ':'; only the first one separates.
        assert_eq!(f.get("127.0.0.1:5000").unwrap(), Some(creds("u", "p:ass")));
        assert_eq!(f.get("quay.io").unwrap(), Some(creds("q", "q")));
        assert_eq!(f.get("ghcr.io").unwrap(), Some(creds("g", "h")));
        assert_eq!(f.get("helper.example").unwrap(), None);
        assert_eq!(f.get("other.example").unwrap(), None);
    }

    #[test]
    fn store_keeps_other_keys_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs::write(
            &path,
            r#"{"auths": {"quay.io": {"auth": "cTpx"}}, "psFormat": "table {{.ID}}", "proxies": {"default": {}}}"#,
        )
        .unwrap();
        let f = AuthFile::new(&path);
        f.store("docker.io", &creds("me", "pw")).unwrap();
        f.store("127.0.0.1:5000", &creds("u", "p")).unwrap();

        let v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["psFormat"], "table {{.ID}}");
        assert!(v["proxies"]["default"].is_object());
        assert_eq!(v["auths"]["quay.io"]["auth"], "cTpx");
        assert_eq!(
            v["auths"][DOCKER_HUB_AUTH_KEY]["auth"],
            STANDARD.encode("me:pw")
        );
        assert_eq!(v["auths"]["127.0.0.1:5000"]["auth"], STANDARD.encode("u:p"));
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // No temp file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        f.remove("https://index.docker.io/v1/").unwrap();
        assert_eq!(f.get("docker.io").unwrap(), None);
        assert_eq!(f.get("quay.io").unwrap(), Some(creds("q", "q")));
        assert!(matches!(f.remove("docker.io"), Err(Error::NotLoggedIn(r)) if r == "docker.io"));
    }

    #[test]
    fn store_creates_the_directory_and_follows_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let f = AuthFile::new(dir.path().join("new/.docker/config.json"));
        f.store("quay.io", &creds("a", "b")).unwrap();
        assert_eq!(f.get("quay.io").unwrap(), Some(creds("a", "b")));

        let real = dir.path().join("real.json");
        fs::write(&real, "{}").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        AuthFile::new(&link)
            .store("quay.io", &creds("c", "d"))
            .unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            AuthFile::new(&real).get("quay.io").unwrap(),
            Some(creds("c", "d"))
        );
    }

    #[test]
    fn malformed_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs::write(&path, "{oops").unwrap();
        let e = AuthFile::new(&path).get("quay.io").unwrap_err().to_string();
        assert!(e.contains("config.json") && e.contains("JSON"), "{e}");
        fs::write(&path, r#"{"auths": {"quay.io": {"auth": "!!"}}}"#).unwrap();
        assert!(AuthFile::new(&path).get("quay.io").is_err());
        // An empty file (as `touch` leaves it) is an empty config.
        fs::write(&path, "").unwrap();
        assert_eq!(AuthFile::new(&path).get("quay.io").unwrap(), None);
    }

    #[test]
    fn debug_redacts_the_password() {
        let s = format!("{:?}", creds("me", "hunter2"));
        assert!(!s.contains("hunter2"));
    }
}
