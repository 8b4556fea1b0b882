//! Test support for the registry client: a real distribution registry
//! (`/usr/bin/docker-registry`) per test, a scripted fake registry for failures a real
//! one will not produce, and tiny images. Everything listens on 127.0.0.1 only and
//! dies with its value.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use registry::{Client, ClientOptions, Descriptor, ImageRef, RegistryConfig};
use sha2::{Digest as _, Sha256};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
const SETPRIV_BIN: &str = "/usr/bin/setpriv";
/// `htpasswd -Bbn -C 4 u p`: the registry's htpasswd auth wants bcrypt.
pub const HTPASSWD_U_P: &str = "u:$2y$04$Jroj5gulPTuusIwZKHMV3.3gSco2U/mD.OENlpN/XPAqVvfL/2dQO\n";

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// A running docker-registry; killed on drop.
pub struct Registry {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Registry {
    pub fn start() -> Registry {
        Registry::launch(false, None)
    }

    /// A registry demanding basic auth as `u` / `p`.
    pub fn start_with_auth() -> Registry {
        Registry::launch(true, None)
    }

    /// A registry serving HTTPS only, with a certificate for 127.0.0.1 signed by
    /// `tls.ca`.
    pub fn start_tls(tls: &TestCa) -> Registry {
        Registry::launch(false, Some(tls))
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn image(&self, name: &str) -> ImageRef {
        ImageRef::parse(&format!("{}/{name}", self.addr())).unwrap()
    }

    /// Where the registry keeps the bytes of a sha256 blob.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// The registry's access and error log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    fn launch(auth: bool, tls: Option<&TestCa>) -> Registry {
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "these tests need {REGISTRY_BIN}: apt-get install docker-registry"
        );
        let dir = tempfile::Builder::new()
            .prefix("berth-registry-test-")
            .tempdir()
            .unwrap();
        let auth_yaml = if auth {
            let file = dir.path().join("htpasswd");
            fs::write(&file, HTPASSWD_U_P).unwrap();
            format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                file.display()
            )
        } else {
            String::new()
        };
        let tls_yaml = match tls {
            Some(t) => format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                t.server_cert.display(),
                t.server_key.display()
            ),
            None => String::new(),
        };
        for _ in 0..5 {
            let port = free_port();
            if let Some(child) = spawn(dir.path(), port, &tls_yaml, &auth_yaml) {
                return Registry { child, port, dir };
            }
        }
        panic!(
            "docker-registry did not start; log:\n{}",
            fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(dir: &Path, port: u16, tls_yaml: &str, auth_yaml: &str) -> Option<Child> {
    let config = dir.join("config.yml");
    fs::write(
        &config,
        format!(
            "version: 0.1\n\
             log:\n  level: info\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\n\
             {tls_yaml}\
             {auth_yaml}",
            dir.join("storage").display()
        ),
    )
    .unwrap();
    let log = fs::File::create(dir.join("registry.log")).unwrap();
    // setpriv's --pdeathsig keeps the registry from outliving a test binary that dies
    // without running Drop.
    let mut cmd = if Path::new(SETPRIV_BIN).exists() {
        let mut c = Command::new(SETPRIV_BIN);
        c.args(["--pdeathsig", "KILL", REGISTRY_BIN]);
        c
    } else {
        Command::new(REGISTRY_BIN)
    };
    // REGISTRY_* variables would override the config file.
    let mut child = cmd
        .env_clear()
        .arg("serve")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        // An HTTPS registry answers a plain HTTP request with 400.
        if matches!(http_status(port, "/v2/"), Some(200 | 401 | 400)) {
            return Some(child);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A throwaway CA and a server certificate it signed for IP 127.0.0.1, made with the
/// openssl command.
pub struct TestCa {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TestCa {
    pub fn create(dir: &Path) -> TestCa {
        let p = |n: &str| dir.join(n);
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .output()
                .expect("run openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let s = |p: &PathBuf| p.to_str().unwrap().to_string();
        let (ca_key, ca_cert, key, csr, cert, ext) = (
            p("ca.key"),
            p("ca.crt"),
            p("srv.key"),
            p("srv.csr"),
            p("srv.crt"),
            p("ext.cnf"),
        );
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &s(&ca_key),
            "-out",
            &s(&ca_cert),
            "-days",
            "2",
            "-subj",
            "/CN=berth test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &s(&key),
            "-out",
            &s(&csr),
            "-subj",
            "/CN=127.0.0.1",
        ]);
        fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            &s(&csr),
            "-CA",
            &s(&ca_cert),
            "-CAkey",
            &s(&ca_key),
            "-CAcreateserial",
            "-out",
            &s(&cert),
            "-days",
            "2",
            "-extfile",
            &s(&ext),
        ]);
        TestCa {
            ca_cert,
            server_cert: cert,
            server_key: key,
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A port nothing listens on (for a dead mirror).
pub fn dead_port() -> u16 {
    free_port()
}

fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// A client using only a temporary credentials file and no system certificates.
pub fn client_in(dir: &Path, config: &RegistryConfig, tls_verify: Option<bool>) -> Client {
    Client::new(
        config,
        ClientOptions {
            tls_verify,
            auth_file: dir.join("auth.json"),
            certs_dirs: vec![dir.join("certs.d")],
            user_agent: "berth-test",
        },
    )
    .unwrap()
}

/// Bytes that do not compress, from a seed.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A tiny image: a config naming `arch` and one gzip layer.
pub struct TestImage {
    pub config: Vec<u8>,
    pub layer: Vec<u8>,
    pub manifest: Vec<u8>,
    pub config_desc: Descriptor,
    pub layer_desc: Descriptor,
}

impl TestImage {
    pub fn new(arch: &str, layer_len: usize, seed: u64) -> TestImage {
        let raw = noise(layer_len, seed);
        let layer = gzip(&raw);
        let config = format!(
            r#"{{"architecture":"{arch}","os":"linux","config":{{"Cmd":["sh"]}},"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
            sha256(&raw)
        )
        .into_bytes();
        let config_desc = Descriptor {
            media_type: "application/vnd.oci.image.config.v1+json".into(),
            digest: sha256(&config),
            size: config.len() as u64,
        };
        let layer_desc = Descriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            digest: sha256(&layer),
            size: layer.len() as u64,
        };
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{}","size":{}}},"layers":[{{"mediaType":"{}","digest":"{}","size":{}}}]}}"#,
            registry::OCI_MANIFEST,
            config_desc.media_type,
            config_desc.digest,
            config_desc.size,
            layer_desc.media_type,
            layer_desc.digest,
            layer_desc.size
        )
        .into_bytes();
        TestImage {
            config,
            layer,
            manifest,
            config_desc,
            layer_desc,
        }
    }

    /// Pushes blobs and manifest with `client`; returns the manifest digest.
    pub fn push(&self, client: &Client, image: &ImageRef, scratch: &Path) -> String {
        for (data, desc) in [
            (&self.config, &self.config_desc),
            (&self.layer, &self.layer_desc),
        ] {
            if client.blob_exists(image, &desc.digest).unwrap() {
                continue;
            }
            let path = scratch.join(desc.digest.replace(':', "-"));
            fs::write(&path, data).unwrap();
            client
                .push_blob_file(image, &path, &desc.digest, desc.size, &|_| {})
                .unwrap();
        }
        client
            .push_manifest(image, &self.manifest, registry::OCI_MANIFEST)
            .unwrap()
    }

    /// Writes the image into an OCI layout at `dir` under `name` (blobs shared).
    pub fn write_oci_layout(&self, dir: &Path) {
        for data in [&self.config, &self.layer, &self.manifest] {
            write_blob(dir, data);
        }
    }
}

pub fn write_blob(dir: &Path, data: &[u8]) -> String {
    let digest = sha256(data);
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    fs::write(blobs.join(digest.strip_prefix("sha256:").unwrap()), data).unwrap();
    digest
}

/// Writes `oci-layout` and `index.json` naming each (ref name, media type, bytes).
pub fn write_oci_index(dir: &Path, refs: &[(&str, &str, &[u8])]) {
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let entries: Vec<String> = refs
        .iter()
        .map(|(name, media_type, bytes)| {
            format!(
                r#"{{"mediaType":"{media_type}","digest":"{}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"{name}"}}}}"#,
                write_blob(dir, bytes),
                bytes.len()
            )
        })
        .collect();
    fs::write(
        dir.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
            entries.join(",")
        ),
    )
    .unwrap();
}

pub fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One request a [`Fake`] registry received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
}

/// What a [`Fake`] registry answers.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send only this many body bytes (after a full Content-Length), then hang up.
    pub cut_after: Option<usize>,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: body.into(),
            cut_after: None,
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
}

type Handler = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

/// A scripted HTTP/1.1 registry on 127.0.0.1: `GET /v2/` answers 200; every other
/// request goes to the handler with how many requests for that path came before.
pub struct Fake {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Fake {
    pub fn start(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Fake {
        Fake::launch(false, handler)
    }

    /// Like `start`, but `GET /v2/` goes to the handler too (to answer a challenge).
    pub fn start_with_v2(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Fake {
        Fake::launch(true, handler)
    }

    fn launch(v2: bool, handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (seen, handler) = (seen2.clone(), handler.clone());
                std::thread::spawn(move || serve(conn, v2, &seen, &*handler));
            }
        });
        Fake {
            port,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    pub fn image(&self, name: &str) -> ImageRef {
        ImageRef::parse(&format!("127.0.0.1:{}/{name}", self.port)).unwrap()
    }

    pub fn requests(&self, path_part: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path.contains(path_part))
            .cloned()
            .collect()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut conn: TcpStream, v2: bool, seen: &Mutex<Vec<Seen>>, handler: &Handler) {
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            // A TLS ClientHello (the client probing for HTTPS): answer as Go's HTTP
            // server answers a request it cannot parse, so the client learns at once
            // that this port speaks plain HTTP.
            Ok(1) if head.is_empty() && byte[0] == 0x16 => {
                let _ = conn.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n400 Bad Request",
                );
                return;
            }
            Ok(1) => head.push(byte[0]),
            // Closed, timed out, or not HTTP at all: hang up.
            _ => return,
        }
        if head.len() > 65536 {
            return;
        }
    }
    let Ok(text) = String::from_utf8(head) else {
        return;
    };
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(path)) = (first.next(), first.next()) else {
        return;
    };
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let req = Seen {
        method: method.to_string(),
        path: path.to_string(),
        headers,
    };
    let reply = if req.path == "/v2/" && !v2 {
        Reply::new(200, "{}")
    } else {
        let before = {
            let mut s = seen.lock().unwrap();
            let n = s.iter().filter(|x| x.path == req.path).count();
            s.push(req.clone());
            n
        };
        handler(&req, before)
    };
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let _ = conn.write_all(out.as_bytes());
    if req.method != "HEAD" {
        let n = reply.cut_after.unwrap_or(reply.body.len());
        let _ = conn.write_all(&reply.body[..n]);
    }
    let _ = conn.flush();
    let _ = conn.shutdown(Shutdown::Both);
}
