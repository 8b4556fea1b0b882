//! A real distribution registry (Debian's `/usr/bin/docker-registry`) per test, listening
//! on 127.0.0.1 only, with its storage in a temporary directory that tests may tamper with.
//! Never listens on anything but loopback, and never outlives its `Registry` value.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
const SETPRIV_BIN: &str = "/usr/bin/setpriv";
const START_TRIES: usize = 5;
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A running registry. Dropping it kills the process and removes its storage.
///
/// The process is started under `setpriv --pdeathsig KILL`, so it also dies with the
/// thread that started it: create it in the test that uses it, not in a shared static.
pub struct Registry {
    child: Child,
    port: u16,
    storage: PathBuf,
    dir: tempfile::TempDir,
}

impl Registry {
    /// A registry without authentication.
    pub fn start() -> Registry {
        Registry::launch(None)
    }

    /// A registry that demands HTTP basic auth with `user`:`pass` (bcrypt htpasswd).
    pub fn start_with_auth(user: &str, pass: &str) -> Registry {
        Registry::launch(Some((user, pass)))
    }

    /// `127.0.0.1:PORT`, as used in image references (`127.0.0.1:PORT/repo:tag`).
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The registry's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The filesystem driver's root directory.
    pub fn storage_dir(&self) -> &Path {
        &self.storage
    }

    /// Where the registry keeps the bytes of blob `digest` (`sha256:<hex>` or bare hex).
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        assert!(
            hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "not a sha256 digest: {digest}"
        );
        self.storage_dir()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// `docker://127.0.0.1:PORT/<name>`, a skopeo reference to `name` (`repo:tag`) here.
    pub fn docker_ref(&self, name: &str) -> String {
        format!("docker://{}/{name}", self.addr())
    }

    /// Uploads `bytes` as a blob of `repo` exactly as given (POST, then PUT with the
    /// digest), bypassing skopeo, which would compress uncompressed layers. No auth.
    /// Returns the digest.
    pub fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = crate::oci::sha256_digest(bytes);
        let start = self.request("POST", &format!("/v2/{repo}/blobs/uploads/"), &[], &[]);
        assert_eq!(start.status, 202, "starting a blob upload: {start:?}");
        let location = start.header("location").expect("upload location");
        // The registry answers with an absolute URL; keep its path and query.
        let path = match location.strip_prefix("http://") {
            Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
            None => location,
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        let put = self.request(
            "PUT",
            &format!("{path}{sep}digest={digest}"),
            &[("Content-Type", "application/octet-stream")],
            bytes,
        );
        assert_eq!(put.status, 201, "finishing the upload of {digest}: {put:?}");
        digest
    }

    /// PUTs `bytes` as the manifest `reference` (tag or digest) of `repo`, verbatim.
    /// Returns the digest the registry reports.
    pub fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let r = self.request(
            "PUT",
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("Content-Type", media_type)],
            bytes,
        );
        assert_eq!(
            r.status,
            201,
            "putting manifest {repo}:{reference}: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        r.header("docker-content-digest")
            .expect("Docker-Content-Digest")
            .to_string()
    }

    /// Pushes every blob of `image` and its manifest as `repo:tag`, byte for byte
    /// (uncompressed layers stay uncompressed). Returns the manifest digest.
    pub fn push_image(&self, repo: &str, tag: &str, image: &crate::oci::BuiltImage) -> String {
        for l in &image.layers {
            self.push_blob(repo, &l.bytes);
        }
        self.push_blob(repo, &image.config);
        self.push_manifest(repo, tag, crate::oci::MT_MANIFEST, &image.manifest)
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        http(self.port, method, path, headers, body)
            .unwrap_or_else(|| panic!("no HTTP answer to {method} {path}; log:\n{}", self.log()))
    }

    /// Everything the registry logged so far (level error and up).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    fn launch(auth: Option<(&str, &str)>) -> Registry {
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "tests need {REGISTRY_BIN}: apt-get install docker-registry"
        );
        let dir = tempfile::Builder::new()
            .prefix("berth-registry-")
            .tempdir()
            .expect("registry temp dir");
        let storage = dir.path().join("storage");
        fs::create_dir_all(&storage).expect("registry storage dir");
        let auth_yaml = match auth {
            None => String::new(),
            Some((user, pass)) => {
                let file = dir.path().join("htpasswd");
                fs::write(&file, htpasswd_line(user, pass)).expect("write htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                    file.display()
                )
            }
        };
        let mut last_log = String::new();
        for _ in 0..START_TRIES {
            let port = free_port();
            match spawn(dir.path(), port, &auth_yaml) {
                Ok(child) => {
                    return Registry {
                        child,
                        port,
                        storage,
                        dir,
                    }
                }
                // Someone else took the port between our probe and the bind: retry.
                Err(log) if log.contains("address already in use") => last_log = log,
                Err(log) => {
                    panic!("docker-registry did not start on 127.0.0.1:{port}; its log:\n{log}")
                }
            }
        }
        panic!("docker-registry found no free port in {START_TRIES} tries; last log:\n{last_log}");
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The TempDir field removes the storage after this.
    }
}

/// Starts the registry on `port` and waits until it answers; on failure the process is
/// reaped and its log returned.
fn spawn(dir: &Path, port: u16, auth_yaml: &str) -> Result<Child, String> {
    let storage = dir.join("storage");
    let config = dir.join("config.yml");
    fs::write(
        &config,
        format!(
            "version: 0.1\n\
             log:\n  level: error\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n\
             {auth_yaml}",
            storage.display()
        ),
    )
    .expect("write registry config");
    let log_path = dir.join("registry.log");
    let log = fs::File::create(&log_path).expect("registry log");
    // setpriv (util-linux) sets PR_SET_PDEATHSIG before exec'ing the registry, which
    // keeps the process from outliving a test binary that dies without running Drop,
    // and needs no unsafe pre_exec here.
    let mut cmd = if Path::new(SETPRIV_BIN).exists() {
        let mut c = Command::new(SETPRIV_BIN);
        c.args(["--pdeathsig", "KILL", REGISTRY_BIN]);
        c
    } else {
        Command::new(REGISTRY_BIN)
    };
    // A clean environment: REGISTRY_* variables would override the config file.
    cmd.env_clear()
        .arg("serve")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup registry log"))
        .stderr(log);
    let mut child = cmd.spawn().expect("spawn docker-registry");
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            return Err(format!("(exited with {status})\n{log}"));
        }
        // Check the listener is our child's: after losing a race for the port, another
        // test's registry may be the one answering.
        if listens_on(child.id(), port) && matches!(http_status(port, "/v2/"), Some(200 | 401)) {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            return Err(format!(
                "(not answering GET /v2/ after {READY_TIMEOUT:?})\n{log}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` holds a TCP socket listening on `port`.
fn listens_on(pid: u32, port: u16) -> bool {
    let want = format!(":{port:04X}");
    let mut inodes = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if let (Some(local), Some(&"0A"), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
            {
                if local.ends_with(&want) {
                    inodes.push(format!("socket:[{inode}]"));
                }
            }
        }
    }
    if inodes.is_empty() {
        return false;
    }
    fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| fs::read_link(e.path()).ok())
        .any(|l| inodes.iter().any(|i| l.as_os_str() == i.as_str()))
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("probe a free port")
        .port()
}

/// The status code of a plain HTTP/1.0 GET to 127.0.0.1:`port`, or None if nothing
/// (or nothing HTTP) answers.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    http(port, "GET", path, &[], &[]).map(|r| r.status)
}

/// A response read by [`http`].
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.0 request to 127.0.0.1:`port` over a raw socket (no client crate, no
/// redirects, no proxies); None if nothing HTTP answers within a few seconds.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<HttpResponse> {
    let mut s = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut raw = Vec::new();
    // An HTTP/1.0 server closes when done; a timeout still leaves what was read.
    let _ = s.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    // "HTTP/1.x NNN reason"
    let status = lines
        .next()?
        .strip_prefix("HTTP/1.")?
        .get(2..5)?
        .parse()
        .ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(HttpResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

/// One htpasswd line with a bcrypt hash, as the registry's htpasswd auth wants.
/// Cost 4 (the minimum) keeps tests fast; the registry accepts any cost.
fn htpasswd_line(user: &str, pass: &str) -> String {
    let hash = bcrypt::hash(pass, 4).expect("bcrypt");
    format!("{user}:{hash}\n")
}
