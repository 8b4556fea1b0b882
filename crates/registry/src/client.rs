//! Owns the blocking registry client: one tokio runtime shared by every call, one
//! transport per registry host, the order in which mirrors and the registry are tried
//! for pulls, and retrying transient failures. Manifests are resolved here; blob
//! downloads live in `fetch`, uploads in `push`, the login check in `login`.
//!
//! Every public method blocks the calling thread. `Client` is `Send + Sync`: several
//! threads may call it at once (parallel layer downloads), each call running on its
//! own thread while the runtime's workers drive the connections. It must not be called
//! (or dropped) from inside an async runtime.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::auth::AuthFile;
use crate::config::{default_certs_dirs, RegistryConfig};
use crate::digest;
use crate::error::{Action, Ctx, Error, Result, Subject};
use crate::manifest::{self, Descriptor, Parsed, Problem};
use crate::platform::Platform;
use crate::reference::ImageRef;
use crate::transport::{api_host, Settings, Transport};

/// Config blobs and other small blobs read into memory are at most this big.
pub const SMALL_BLOB_LIMIT: u64 = 16 << 20;
/// Docker refuses manifests bigger than this; so does berth.
const MANIFEST_LIMIT: usize = 4 << 20;
/// Retries after the first attempt, for transient failures on the registry itself.
const RETRIES: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// How the client reaches registries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `--tls-verify`: Some(false) allows plain HTTP and unverified certificates for
    /// every registry; Some(true) demands verified HTTPS even where the configuration
    /// or a loopback address would allow less; None follows the configuration.
    pub tls_verify: Option<bool>,
    /// The Docker-compatible credentials file.
    pub auth_file: PathBuf,
    /// Directories of per-registry CA certificates (`<dir>/<host:port>/*.crt`).
    pub certs_dirs: Vec<PathBuf>,
    pub user_agent: &'static str,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            tls_verify: None,
            auth_file: AuthFile::default_path(),
            certs_dirs: default_certs_dirs(),
            user_agent: concat!("berth/", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// An image manifest found for a reference and platform.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The image manifest exactly as the registry sent it (its digest was verified).
    pub manifest_bytes: Vec<u8>,
    pub manifest_digest: String,
    pub manifest_media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    /// The digest of the index (manifest list) the manifest was picked from, if the
    /// reference named an index: what Docker shows as the image's repo digest.
    pub index_digest: Option<String>,
}

pub struct Client {
    runtime: tokio::runtime::Runtime,
    settings: Settings,
    /// Keyed by host; built on first use, dropped on login/logout so that new
    /// credentials are read.
    transports: Mutex<HashMap<String, Arc<Transport>>>,
}

/// A place an image's content may be pulled from: a mirror or the registry itself.
struct Source {
    reference: oci_client::Reference,
    host: String,
    plain_http_mirror: bool,
    is_mirror: bool,
}

impl Client {
    pub fn new(config: &RegistryConfig, options: ClientOptions) -> Result<Client> {
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(2, 4);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("berth-registry")
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting the registry client's runtime", e))?;
        Ok(Client {
            runtime,
            settings: Settings {
                config: config.clone(),
                tls_verify: options.tls_verify,
                certs_dirs: options.certs_dirs,
                auth_file: AuthFile::new(options.auth_file),
                user_agent: options.user_agent,
            },
            transports: Mutex::new(HashMap::new()),
        })
    }

    /// Finds the image manifest for `r` on `platform`, going through an index if `r`
    /// names one. Every manifest's bytes are checked against its digest.
    pub fn resolve(&self, r: &ImageRef, platform: &Platform) -> Result<Resolved> {
        self.block_on(self.over_sources(r, async |t, oref| {
            self.resolve_at(t, oref, r, platform).await
        }))
    }

    /// Reads a small blob (an image config) into memory, checking size and digest.
    pub fn fetch_small(&self, r: &ImageRef, desc: &Descriptor) -> Result<Vec<u8>> {
        check_digest(&desc.digest)?;
        if desc.size > SMALL_BLOB_LIMIT {
            return Err(Error::TooLarge {
                what: "a config blob",
                digest: desc.digest.clone(),
                size: desc.size,
                limit: SMALL_BLOB_LIMIT,
            });
        }
        self.block_on(self.over_sources(r, async |t, oref| {
            crate::fetch::small(t, oref, r, desc).await
        }))
    }

    /// Downloads a blob into `dest`, resuming what an interrupted download left there.
    /// On return `dest` holds exactly the blob, fsynced; on a digest mismatch it is
    /// removed. `progress` gets the bytes present so far (starting with what was
    /// already there). Two calls must not download into the same `dest` at once.
    pub fn fetch_blob(
        &self,
        r: &ImageRef,
        desc: &Descriptor,
        dest: &Path,
        progress: &dyn Fn(u64),
    ) -> Result<()> {
        check_digest(&desc.digest)?;
        self.block_on(self.over_sources(r, async |t, oref| {
            crate::fetch::download(t, oref, r, desc, dest, progress).await
        }))
    }

    /// Whether `r`'s repository already has blob `digest` (so a push can skip it).
    pub fn blob_exists(&self, r: &ImageRef, digest: &str) -> Result<bool> {
        check_digest(digest)?;
        let oref = r.to_oci();
        self.block_on(self.on_registry(r, async |t| {
            let ctx = Ctx {
                action: Action::Push,
                image: r,
                host: &t.host,
                subject: Subject::Blob(digest),
            };
            t.oci
                .blob_exists(&oref, digest)
                .await
                .map_err(|e| ctx.oci_error(e))
        }))
    }

    /// Asks the registry to link blob `digest` from repository `from` (on the same
    /// registry) into `r`'s repository, which saves uploading it again. Returns false
    /// when the registry declines (it then expects a normal upload).
    pub fn mount_blob(&self, r: &ImageRef, from: &str, digest: &str) -> Result<bool> {
        check_digest(digest)?;
        let oref = r.to_oci();
        let source = oci_client::Reference::with_digest(
            r.registry.clone(),
            from.to_string(),
            digest.to_string(),
        );
        self.block_on(self.on_registry(r, async |t| {
            Ok(t.oci.mount_blob(&oref, &source, digest).await.is_ok())
        }))
    }

    /// Uploads the file at `path` as blob `digest` of `size` bytes into `r`'s
    /// repository, streaming it; `progress` gets the bytes read so far.
    pub fn push_blob_file(
        &self,
        r: &ImageRef,
        path: &Path,
        digest: &str,
        size: u64,
        progress: &dyn Fn(u64),
    ) -> Result<()> {
        check_digest(digest)?;
        let len = std::fs::metadata(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
            .len();
        if len != size {
            return Err(Error::Invalid(format!(
                "{} is {len} bytes, but blob {digest} should be {size}",
                path.display()
            )));
        }
        self.block_on(self.on_registry(r, async |t| {
            crate::push::upload(t, r, path, digest, size, progress).await
        }))
    }

    /// Pushes a manifest under `r`'s tag (or, without a tag, its digest) and returns
    /// the manifest's digest. If `r` has a digest, the bytes must match it.
    pub fn push_manifest(&self, r: &ImageRef, bytes: &[u8], media_type: &str) -> Result<String> {
        let sha = digest::sha256(bytes);
        if let Some(want) = &r.digest {
            let got = digest::digest_like(want, bytes);
            if &got != want {
                return Err(Error::DigestMismatch {
                    expected: want.clone(),
                    actual: got,
                });
            }
        }
        let content_type = reqwest::header::HeaderValue::from_str(media_type)
            .map_err(|_| Error::Invalid(format!("invalid media type {media_type:?}")))?;
        let (registry, repository) = (r.registry.clone(), r.repository.clone());
        // A digest goes in the tag slot on purpose: the URL is the same
        // (/manifests/<digest>), and oci-client's fallback for registries that send no
        // Location header panics on a reference without a tag.
        let slot = r
            .tag
            .clone()
            .or_else(|| r.digest.clone())
            .unwrap_or_else(|| "latest".into());
        let oref = oci_client::Reference::with_tag(registry, repository, slot);
        self.block_on(self.on_registry(r, async |t| {
            let ctx = Ctx {
                action: Action::Push,
                image: r,
                host: &t.host,
                subject: Subject::Manifest,
            };
            t.oci
                .push_manifest_raw(&oref, bytes.to_vec(), content_type.clone())
                .await
                .map_err(|e| ctx.oci_error(e))
        }))?;
        Ok(sha)
    }

    pub(crate) fn block_on<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(f)
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The transport for `host`, connecting on first use.
    pub(crate) async fn transport(
        &self,
        host: &str,
        plain_http_mirror: bool,
    ) -> Result<Arc<Transport>> {
        if let Some(t) = self.lock().get(host) {
            return Ok(t.clone());
        }
        // Connect without the lock held; a racing thread's transport is as good.
        let t = Arc::new(self.settings.connect(host, plain_http_mirror).await?);
        Ok(self.lock().entry(host.to_string()).or_insert(t).clone())
    }

    /// Drops the transport for `host` so the next call reads credentials afresh.
    pub(crate) fn forget(&self, host: &str) {
        self.lock().remove(host);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Transport>>> {
        // The map holds no invariant a panicking holder could break.
        self.transports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn pull_sources(&self, r: &ImageRef) -> Vec<Source> {
        let mut sources: Vec<Source> = self
            .settings
            .config
            .mirrors(&r.registry)
            .into_iter()
            .map(|m| {
                let mut reference = r.to_oci();
                reference.set_mirror_registry(m.host.clone());
                Source {
                    reference,
                    host: m.host,
                    plain_http_mirror: m.plain_http,
                    is_mirror: true,
                }
            })
            .collect();
        sources.push(Source {
            reference: r.to_oci(),
            host: api_host(&r.registry),
            plain_http_mirror: false,
            is_mirror: false,
        });
        sources
    }

    /// Runs a pull step against each mirror of `r`'s registry in turn (once each), then
    /// against the registry itself (with retries); the first success wins, else the
    /// registry's own error is returned.
    async fn over_sources<T>(
        &self,
        r: &ImageRef,
        mut step: impl AsyncFnMut(&Transport, &oci_client::Reference) -> Result<T>,
    ) -> Result<T> {
        let mut last = None;
        for source in self.pull_sources(r) {
            let tries = if source.is_mirror { 1 } else { 1 + RETRIES };
            let result = retrying(tries, async || {
                let t = self
                    .transport(&source.host, source.plain_http_mirror)
                    .await?;
                step(&t, &source.reference).await
            })
            .await;
            match result {
                Ok(v) => return Ok(v),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Invalid(format!("no registry to pull {r} from"))))
    }

    /// Runs a push step against `r`'s registry, with retries.
    async fn on_registry<T>(
        &self,
        r: &ImageRef,
        mut step: impl AsyncFnMut(&Transport) -> Result<T>,
    ) -> Result<T> {
        let host = api_host(&r.registry);
        retrying(1 + RETRIES, async || {
            let t = self.transport(&host, false).await?;
            step(&t).await
        })
        .await
    }

    async fn resolve_at(
        &self,
        t: &Transport,
        oref: &oci_client::Reference,
        r: &ImageRef,
        platform: &Platform,
    ) -> Result<Resolved> {
        let (bytes, digest) = get_manifest(t, oref, r).await?;
        match parse_manifest(t, r, &bytes)? {
            Parsed::Image {
                media_type,
                config,
                layers,
            } => Ok(Resolved {
                manifest_bytes: bytes,
                manifest_digest: digest,
                manifest_media_type: media_type,
                config,
                layers,
                index_digest: None,
            }),
            Parsed::Index { entries } => {
                let entry = manifest::select(&entries, platform).map_err(|available| {
                    Error::NoMatchingPlatform {
                        reference: r.familiar(),
                        wanted: platform.to_string(),
                        available,
                    }
                })?;
                let child = oref.clone_with_digest(entry.descriptor.digest.clone());
                let (child_bytes, child_digest) = get_manifest(t, &child, r).await?;
                match parse_manifest(t, r, &child_bytes)? {
                    Parsed::Image {
                        media_type,
                        config,
                        layers,
                    } => Ok(Resolved {
                        manifest_bytes: child_bytes,
                        manifest_digest: child_digest,
                        manifest_media_type: media_type,
                        config,
                        layers,
                        index_digest: Some(digest),
                    }),
                    Parsed::Index { .. } => Err(Error::MalformedManifest {
                        reference: r.to_string(),
                        registry: t.host.clone(),
                        reason: format!(
                            "index entry {} for {platform} is another index",
                            entry.descriptor.digest
                        ),
                    }),
                }
            }
        }
    }
}

/// Fetches a manifest and returns it with its digest: the digest `oref` pins (checked
/// here, on top of oci-client's check against it and the Docker-Content-Digest header),
/// else the sha256 of the bytes.
async fn get_manifest(
    t: &Transport,
    oref: &oci_client::Reference,
    r: &ImageRef,
) -> Result<(Vec<u8>, String)> {
    let ctx = Ctx {
        action: Action::Pull,
        image: r,
        host: &t.host,
        subject: Subject::Manifest,
    };
    let (body, _) = t
        .oci
        .pull_manifest_raw(oref, &t.auth, manifest::ACCEPTED)
        .await
        .map_err(|e| ctx.oci_error(e))?;
    if body.len() > MANIFEST_LIMIT {
        return Err(Error::MalformedManifest {
            reference: r.to_string(),
            registry: t.host.clone(),
            reason: format!(
                "{} bytes, more than the {MANIFEST_LIMIT}-byte limit",
                body.len()
            ),
        });
    }
    let digest = match oref.digest() {
        Some(want) => {
            let got = digest::digest_like(want, &body);
            if got != want {
                return Err(Error::DigestMismatch {
                    expected: want.to_string(),
                    actual: got,
                });
            }
            want.to_string()
        }
        None => digest::sha256(&body),
    };
    Ok((body.to_vec(), digest))
}

fn parse_manifest(t: &Transport, r: &ImageRef, bytes: &[u8]) -> Result<Parsed> {
    manifest::parse(bytes).map_err(|p| match p {
        Problem::Schema1 => Error::Schema1 {
            reference: r.familiar(),
        },
        Problem::MediaType(media_type) => Error::UnsupportedMediaType {
            reference: r.familiar(),
            media_type,
        },
        Problem::Malformed(reason) => Error::MalformedManifest {
            reference: r.to_string(),
            registry: t.host.clone(),
            reason,
        },
    })
}

fn check_digest(d: &str) -> Result<()> {
    if digest::is_valid(d) {
        Ok(())
    } else {
        Err(Error::Invalid(format!("invalid blob digest {d:?}")))
    }
}

/// Runs `step` up to `tries` times while it fails transiently, backing off 0.5 s, 1 s,
/// 2 s... between tries.
async fn retrying<T>(tries: u32, mut step: impl AsyncFnMut() -> Result<T>) -> Result<T> {
    let mut delay = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match step().await {
            Err(e) if e.is_transient() && attempt < tries => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Client>();
    }

    #[test]
    fn retries_only_transient_errors() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let calls = std::cell::Cell::new(0);
        let r: Result<()> = rt.block_on(retrying(3, async || {
            calls.set(calls.get() + 1);
            Err(Error::Invalid("no".into()))
        }));
        assert!(r.is_err());
        assert_eq!(calls.get(), 1);

        calls.set(0);
        let r: Result<u32> = rt.block_on(retrying(3, async || {
            calls.set(calls.get() + 1);
            if calls.get() < 2 {
                Err(Error::Interrupted {
                    registry: "r".into(),
                    reason: "reset".into(),
                })
            } else {
                Ok(7)
            }
        }));
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls.get(), 2);
    }
}
