//! Owns how one registry host is reached: HTTPS or plain HTTP, which CA certificates
//! are trusted, whether certificates are verified at all, and with which credentials.
//! Builds one oci-client (and one plain reqwest client for the calls oci-client lacks)
//! per host, so that a CA certificate or an insecure exception for one registry never
//! applies to another. Never falls back to plain HTTP for a host that is not allowed it.
//!
//! A host is *insecure* when the caller passed `--tls-verify=false`, or (unless it
//! passed `--tls-verify=true`) when the configuration lists it, it is a loopback
//! address, or it is a mirror given as `http://`. For an insecure host, like Docker,
//! HTTPS without certificate verification is tried first and plain HTTP is used if the
//! host does not speak TLS.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;

use crate::auth::AuthFile;
use crate::config::RegistryConfig;
use crate::error::{from_reqwest, is_unreachable, Error, Result};
use crate::reference::{normalize_registry, DOCKER_HUB, DOCKER_HUB_API};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest silence in the middle of a response before the transfer is abandoned (and
/// retried, resuming): long enough for a slow registry, short enough to notice a dead one.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// The HTTPS probe of an insecure host only asks whether it speaks TLS.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// What every host's transport is built from.
pub(crate) struct Settings {
    pub config: RegistryConfig,
    pub tls_verify: Option<bool>,
    pub certs_dirs: Vec<PathBuf>,
    pub auth_file: AuthFile,
    pub user_agent: &'static str,
}

/// How to talk to one host.
pub(crate) struct Transport {
    /// `host[:port]` as oci-client resolves it (`index.docker.io` for Docker Hub).
    pub host: String,
    /// `https` or `http`.
    pub scheme: &'static str,
    pub oci: oci_client::Client,
    pub http: reqwest::Client,
    pub auth: RegistryAuth,
}

impl Settings {
    fn is_insecure(&self, host: &str, plain_http_mirror: bool) -> bool {
        match self.tls_verify {
            Some(verify) => !verify,
            None => plain_http_mirror || self.config.is_insecure(host),
        }
    }

    /// Connects to `host` (probing HTTPS first if the host is insecure).
    pub async fn connect(&self, host: &str, plain_http_mirror: bool) -> Result<Transport> {
        let insecure = self.is_insecure(host, plain_http_mirror);
        let certs = self.certificates(host)?;
        let http = self.http_client(&certs, insecure)?;
        let scheme = if insecure {
            probe_scheme(&http, host).await?
        } else {
            "https"
        };
        let protocol = if scheme == "http" {
            ClientProtocol::HttpsExcept(vec![host.to_string()])
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig {
            protocol,
            accept_invalid_certificates: insecure,
            extra_root_certificates: certs
                .iter()
                .map(|(_, pem)| Certificate {
                    encoding: CertificateEncoding::Pem,
                    data: pem.clone(),
                })
                .collect(),
            // berth picks the platform itself, with a better error when none matches.
            platform_resolver: None,
            // One PUT whose body streams from the file, instead of oci-client's chunked
            // upload which sends a separate PATCH request per 4 MiB.
            use_monolithic_push: true,
            read_timeout: Some(READ_TIMEOUT),
            connect_timeout: Some(CONNECT_TIMEOUT),
            user_agent: self.user_agent,
            ..ClientConfig::default()
        };
        // Not oci_client::Client::new: on a bad setting it silently falls back to a
        // default client (HTTPS, no extra CAs), which would hide the real problem.
        let oci = oci_client::Client::try_from(config).map_err(|e| Error::Registry {
            registry: host.to_string(),
            status: None,
            reason: format!("setting up the HTTP client: {e}"),
        })?;
        let auth = match self.auth_file.get(&credentials_registry(host))? {
            Some(c) => RegistryAuth::Basic(c.username, c.password),
            None => RegistryAuth::Anonymous,
        };
        // oci-client only authenticates requests for registries it has credentials
        // for, and its blob calls never record them themselves.
        oci.store_auth_if_needed(host, &auth).await;
        Ok(Transport {
            host: host.to_string(),
            scheme,
            oci,
            http,
            auth,
        })
    }

    fn http_client(&self, certs: &[(PathBuf, Vec<u8>)], insecure: bool) -> Result<reqwest::Client> {
        let mut roots = Vec::new();
        for (path, pem) in certs {
            roots.push(
                reqwest::Certificate::from_pem(pem).map_err(|e| Error::Certificate {
                    path: path.clone(),
                    reason: e.to_string(),
                })?,
            );
        }
        reqwest::Client::builder()
            .user_agent(self.user_agent)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .tls_certs_merge(roots)
            .danger_accept_invalid_certs(insecure)
            .build()
            .map_err(|e| Error::Invalid(format!("setting up the HTTP client: {e}")))
    }

    /// The CA certificates for `host`: every certificate in `<dir>/<host>/*.crt` of
    /// each certificate directory, as Docker reads them. (Client certificates,
    /// `*.cert` + `*.key`, are not supported: oci-client has no way to present one.)
    fn certificates(&self, host: &str) -> Result<Vec<(PathBuf, Vec<u8>)>> {
        let mut out = Vec::new();
        let mut names = vec![host.to_string()];
        let registry = normalize_registry(host);
        if registry != host {
            names.push(registry);
        }
        for dir in self.certs_dirs.iter().chain(&self.config.ca_dirs) {
            for name in &names {
                read_crt_files(&dir.join(name), &mut out)?;
            }
        }
        Ok(out)
    }
}

/// The registry name credentials are filed under for a host oci-client talks to.
fn credentials_registry(host: &str) -> String {
    if host == DOCKER_HUB_API {
        DOCKER_HUB.to_string()
    } else {
        normalize_registry(host)
    }
}

/// The host oci-client sends requests for `registry` to.
pub(crate) fn api_host(registry: &str) -> String {
    if registry == DOCKER_HUB {
        DOCKER_HUB_API.to_string()
    } else {
        registry.to_string()
    }
}

fn read_crt_files(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "crt"))
        .collect();
    files.sort();
    for path in files {
        let text =
            fs::read(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let blocks = split_pem(&text);
        if blocks.is_empty() {
            return Err(Error::Certificate {
                path,
                reason: "no PEM certificate in it".into(),
            });
        }
        for b in blocks {
            reqwest::Certificate::from_pem(&b).map_err(|e| Error::Certificate {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            out.push((path.clone(), b));
        }
    }
    Ok(())
}

/// Each certificate of a PEM bundle on its own: oci-client hands every entry to
/// reqwest's `Certificate::from_pem`, which reads only the first of a bundle.
fn split_pem(text: &[u8]) -> Vec<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let text = String::from_utf8_lossy(text);
    let mut out = Vec::new();
    let mut rest = text.as_ref();
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            break;
        };
        let end = start + len + END.len();
        out.push(format!("{}\n", &rest[start..end]).into_bytes());
        rest = &rest[end..];
    }
    out
}

/// Whether an insecure host speaks HTTPS: any HTTP answer over TLS means yes. A host
/// that cannot be reached at all is an error, since HTTP on the same port would not
/// fare better.
async fn probe_scheme(http: &reqwest::Client, host: &str) -> Result<&'static str> {
    let url = format!("https://{host}/v2/");
    match http.get(&url).timeout(PROBE_TIMEOUT).send().await {
        Ok(_) => Ok("https"),
        Err(e) if is_unreachable(&e) => Err(from_reqwest(&e, host, |s| Error::Registry {
            registry: host.to_string(),
            status: Some(s),
            reason: String::new(),
        })),
        Err(_) => Ok("http"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_bundles_are_split() {
        let one = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
        let two = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----";
        let bundle = format!("# comment\n{one}\n\n{two}\ntrailing");
        let blocks = split_pem(bundle.as_bytes());
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0], format!("{one}\n").into_bytes());
        assert_eq!(blocks[1], format!("{two}\n").into_bytes());
        assert!(split_pem(b"nothing").is_empty());
    }

    #[test]
    fn docker_hub_hosts() {
        assert_eq!(api_host("docker.io"), "index.docker.io");
        assert_eq!(api_host("quay.io"), "quay.io");
        assert_eq!(credentials_registry("index.docker.io"), "docker.io");
        assert_eq!(credentials_registry("127.0.0.1:5000"), "127.0.0.1:5000");
    }

    #[test]
    fn insecure_decision() {
        let settings = |tls_verify| Settings {
            config: RegistryConfig::default(),
            tls_verify,
            certs_dirs: vec![],
            auth_file: AuthFile::new("/nonexistent"),
            user_agent: "t",
        };
        assert!(settings(None).is_insecure("127.0.0.1:5000", false));
        assert!(!settings(None).is_insecure("quay.io", false));
        assert!(settings(None).is_insecure("mirror.example", true));
        assert!(!settings(Some(true)).is_insecure("127.0.0.1:5000", false));
        assert!(settings(Some(false)).is_insecure("quay.io", false));
    }
}
