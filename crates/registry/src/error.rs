//! The registry crate's error type, and the one place where oci-client's and reqwest's
//! errors are translated into it. Every message says what failed, naming the image,
//! registry or file, and what to do about it; the CLI prints it as one line.

use std::fmt;
use std::io;
use std::path::PathBuf;

use oci_client::errors::{OciDistributionError, OciErrorCode};

use crate::reference::ImageRef;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid reference format: {reason}")]
    InvalidReference { input: String, reason: String },

    #[error("invalid platform {input:?}: {reason}")]
    InvalidPlatform { input: String, reason: String },

    #[error("registry configuration {}: {reason}", path.display())]
    Config { path: PathBuf, reason: String },

    #[error("credentials file {}: {reason}", path.display())]
    AuthFile { path: PathBuf, reason: String },

    #[error("CA certificate {}: {reason}", path.display())]
    Certificate { path: PathBuf, reason: String },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    #[error("not logged in to {0}")]
    NotLoggedIn(String),

    #[error("login to {registry} failed: {reason}")]
    LoginFailed { registry: String, reason: String },

    #[error(
        "pull access denied for {name}, repository does not exist or may require 'berth login'{}",
        detail_suffix(detail)
    )]
    PullDenied { name: String, detail: String },

    #[error(
        "push access denied for {name}: requested access to the resource is denied (run 'berth login {registry}' first){}",
        detail_suffix(detail)
    )]
    PushDenied {
        name: String,
        registry: String,
        detail: String,
    },

    #[error("manifest unknown: {reference} not found")]
    ManifestUnknown { reference: String },

    #[error("blob unknown: {digest} not found in {repository}")]
    BlobUnknown { repository: String, digest: String },

    #[error(
        "no matching manifest for {wanted} in the manifest list entries of {reference} (available: {})",
        available.join(", ")
    )]
    NoMatchingPlatform {
        reference: String,
        wanted: String,
        available: Vec<String>,
    },

    #[error(
        "{reference} uses Docker image manifest schema 1, which berth does not support; push it again with a current docker, podman or skopeo"
    )]
    Schema1 { reference: String },

    #[error("{reference}: unsupported manifest media type {media_type:?}")]
    UnsupportedMediaType {
        reference: String,
        media_type: String,
    },

    #[error("malformed manifest for {reference} from {registry}: {reason}")]
    MalformedManifest {
        reference: String,
        registry: String,
        reason: String,
    },

    #[error(
        "digest mismatch: expected {expected}, got {actual} (the registry sent corrupt or tampered content; nothing was kept)"
    )]
    DigestMismatch { expected: String, actual: String },

    #[error("{digest} is {size} bytes, more than the {limit}-byte limit for {what}")]
    TooLarge {
        what: &'static str,
        digest: String,
        size: u64,
        limit: u64,
    },

    #[error(
        "{registry}: http: server gave HTTP response to HTTPS client — add the registry to insecure-registries or pass --tls-verify=false"
    )]
    HttpResponseToHttps { registry: String },

    #[error(
        "{registry}: TLS handshake failed: {reason} (put the registry's CA certificate in /etc/docker/certs.d/{registry}/ca.crt, or pass --tls-verify=false)"
    )]
    Tls { registry: String, reason: String },

    #[error("cannot reach registry {registry}: {reason}")]
    Unreachable { registry: String, reason: String },

    #[error("connection to {registry} broke off: {reason}")]
    Interrupted { registry: String, reason: String },

    #[error("toomanyrequests: {registry} refused the request: {reason} (wait, or 'berth login' to raise the limit)")]
    TooManyRequests { registry: String, reason: String },

    #[error("registry {registry} answered {}: {reason}", status_text(*status))]
    Registry {
        registry: String,
        status: Option<u16>,
        reason: String,
    },

    #[error("{0}")]
    Invalid(String),
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

fn status_text(status: Option<u16>) -> String {
    match status {
        Some(s) => format!("HTTP {s}"),
        None => "with an error".into(),
    }
}

impl Error {
    /// Whether trying again may succeed: the network dropped, the registry was briefly
    /// overloaded (5xx), or a download broke off half way.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Unreachable { .. } | Error::Interrupted { .. } => true,
            Error::Registry { status, .. } => matches!(status, Some(s) if *s >= 500),
            _ => false,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Whether a registry operation reads or writes; decides how "access denied" reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pull,
    Push,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Pull => "pull",
            Action::Push => "push",
        })
    }
}

/// What a failed request was about, so a 404 can say "manifest unknown" or "blob
/// unknown" and a 401 can say which image was denied.
pub(crate) enum Subject<'a> {
    Manifest,
    Blob(&'a str),
}

pub(crate) struct Ctx<'a> {
    pub action: Action,
    pub image: &'a ImageRef,
    /// The host actually talked to (a mirror, or the registry itself).
    pub host: &'a str,
    pub subject: Subject<'a>,
}

impl Ctx<'_> {
    fn denied(&self, detail: String) -> Error {
        match self.action {
            Action::Pull => Error::PullDenied {
                name: self.image.familiar_name(),
                detail,
            },
            Action::Push => Error::PushDenied {
                name: self.image.familiar_name(),
                registry: self.image.registry.clone(),
                detail,
            },
        }
    }

    fn not_found(&self) -> Error {
        match self.subject {
            Subject::Manifest => Error::ManifestUnknown {
                reference: self.image.to_string(),
            },
            Subject::Blob(digest) => Error::BlobUnknown {
                repository: self.image.repo_name(),
                digest: digest.to_string(),
            },
        }
    }

    /// The error for an HTTP status the registry answered with.
    pub(crate) fn status_error(&self, status: u16, message: String) -> Error {
        match status {
            401 | 403 => self.denied(message),
            404 => self.not_found(),
            429 => Error::TooManyRequests {
                registry: self.host.to_string(),
                reason: message,
            },
            _ => Error::Registry {
                registry: self.host.to_string(),
                status: Some(status),
                reason: message,
            },
        }
    }

    /// Translates an oci-client error.
    pub(crate) fn oci_error(&self, e: OciDistributionError) -> Error {
        match e {
            OciDistributionError::RegistryError { envelope, .. } => {
                let message = envelope
                    .errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .filter(|m| !m.is_empty())
                    .collect::<Vec<_>>()
                    .join("; ");
                let Some(first) = envelope.errors.first() else {
                    return self.status_error(400, message);
                };
                match &first.code {
                    OciErrorCode::Unauthorized | OciErrorCode::Denied => self.denied(message),
                    OciErrorCode::ManifestUnknown | OciErrorCode::NotFound => {
                        Error::ManifestUnknown {
                            reference: self.image.to_string(),
                        }
                    }
                    OciErrorCode::NameUnknown => match self.action {
                        // Docker Hub answers NAME_UNKNOWN for a repository the user may
                        // not see; Docker words both the same way.
                        Action::Pull => self.denied(message),
                        Action::Push => self.not_found(),
                    },
                    OciErrorCode::BlobUnknown => self.not_found(),
                    OciErrorCode::Toomanyrequests => Error::TooManyRequests {
                        registry: self.host.to_string(),
                        reason: message,
                    },
                    _ => Error::Registry {
                        registry: self.host.to_string(),
                        status: Some(400),
                        reason: envelope.to_string(),
                    },
                }
            }
            OciDistributionError::UnauthorizedError { .. } => self.denied(String::new()),
            OciDistributionError::AuthenticationFailure(reason) => {
                self.denied(first_line(&reason).to_string())
            }
            OciDistributionError::ServerError { code, message, .. } => {
                self.status_error(code, first_line(&message).to_string())
            }
            OciDistributionError::RequestError(e) => {
                from_reqwest(&e, self.host, |s| self.status_error(s, String::new()))
            }
            OciDistributionError::DigestError(
                oci_client::errors::DigestError::VerificationError { expected, actual },
            ) => Error::DigestMismatch { expected, actual },
            OciDistributionError::IoError(e) => Error::Interrupted {
                registry: self.host.to_string(),
                reason: e.to_string(),
            },
            OciDistributionError::SpecViolationError(reason) => Error::Registry {
                registry: self.host.to_string(),
                status: None,
                reason: format!("the registry does not follow the OCI distribution spec: {reason}"),
            },
            other => Error::Registry {
                registry: self.host.to_string(),
                status: None,
                reason: other.to_string(),
            },
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
}

/// Translates a reqwest error: an HTTP status goes to `status`, anything else is a
/// network failure told apart by its cause (refused, TLS, plain HTTP on an HTTPS port).
pub(crate) fn from_reqwest(
    e: &reqwest::Error,
    host: &str,
    status: impl FnOnce(u16) -> Error,
) -> Error {
    if let Some(s) = e.status() {
        return status(s.as_u16());
    }
    let chain = error_chain(e);
    let registry = host.to_string();
    // rustls reports a plain-HTTP answer to its ClientHello as a record of an invalid
    // content type: that is Go's "server gave HTTP response to HTTPS client".
    if chain.contains("InvalidContentType") || chain.contains("corrupt message") {
        return Error::HttpResponseToHttps { registry };
    }
    if chain.contains("certificate") || chain.contains("UnknownIssuer") {
        return Error::Tls {
            registry,
            reason: innermost(e),
        };
    }
    if e.is_connect() || e.is_timeout() {
        return Error::Unreachable {
            registry,
            reason: innermost(e),
        };
    }
    Error::Interrupted {
        registry,
        reason: innermost(e),
    }
}

/// Whether a request failed before any byte of TLS or HTTP came back (refused,
/// unresolvable, timed out): then neither HTTPS nor HTTP can work.
pub(crate) fn is_unreachable(e: &reqwest::Error) -> bool {
    if e.is_timeout() {
        return true;
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(ioe) = err.downcast_ref::<io::Error>() {
            if matches!(
                ioe.kind(),
                io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::HostUnreachable
                    | io::ErrorKind::NetworkUnreachable
                    | io::ErrorKind::AddrNotAvailable
            ) {
                return true;
            }
        }
        cur = err.source();
    }
    // DNS failures carry no io kind; hyper-util words them "dns error".
    error_chain(e).contains("dns error")
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        out.push_str(&err.to_string());
        out.push_str(&format!(" {err:?}"));
        out.push('\n');
        cur = err.source();
    }
    out
}

/// The most specific cause's message: reqwest's own top line ("error sending request
/// for url ...") says nothing a user can act on.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_are_network_and_5xx() {
        let reg = |status| Error::Registry {
            registry: "r".into(),
            status,
            reason: String::new(),
        };
        assert!(reg(Some(503)).is_transient());
        assert!(!reg(None).is_transient());
        assert!(!reg(Some(400)).is_transient());
        assert!(!Error::DigestMismatch {
            expected: "a".into(),
            actual: "b".into()
        }
        .is_transient());
    }

    #[test]
    fn denied_message_names_the_image_like_docker() {
        let image = ImageRef::parse("alpine").unwrap();
        let ctx = Ctx {
            action: Action::Pull,
            image: &image,
            host: "index.docker.io",
            subject: Subject::Manifest,
        };
        assert_eq!(
            ctx.status_error(401, String::new()).to_string(),
            "pull access denied for alpine, repository does not exist or may require 'berth login'"
        );
        assert_eq!(
            ctx.status_error(404, String::new()).to_string(),
            "manifest unknown: docker.io/library/alpine:latest not found"
        );
    }
}
