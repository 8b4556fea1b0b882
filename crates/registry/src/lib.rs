//! berth's OCI distribution client. Owns everything between an image reference and the
//! bytes of its manifests and blobs on a registry: parsing references like Docker,
//! choosing HTTPS or (where allowed) HTTP, CA certificates, mirrors, credentials and
//! `login`, pulling manifests and blobs (verified, resumable) and pushing them.
//! Never stores images: the caller decides where blobs go and what they become.
//!
//! The API is blocking; [`Client`] keeps its own small tokio runtime and may be shared
//! between threads for parallel downloads.
//!
//! ```no_run
//! use registry::{Client, ClientOptions, ImageRef, Platform, RegistryConfig};
//! # fn main() -> registry::Result<()> {
//! let client = Client::new(&RegistryConfig::default(), ClientOptions::default())?;
//! let image = ImageRef::parse("alpine:3.19")?;
//! let resolved = client.resolve(&image, &Platform::host())?;
//! let config = client.fetch_small(&image, &resolved.config)?;
//! for layer in &resolved.layers {
//!     let dest = std::path::Path::new("/tmp").join(layer.digest.replace(':', "-"));
//!     client.fetch_blob(&image, layer, &dest, &|_bytes| {})?;
//! }
//! # let _ = config; Ok(()) }
//! ```

mod auth;
mod client;
mod config;
mod cred_helper;
mod digest;
mod error;
mod fetch;
mod login;
mod manifest;
mod platform;
mod push;
mod reference;
mod transport;

pub use auth::{auth_key, AuthFile, Credentials, DOCKER_HUB_AUTH_KEY};
pub use client::{Client, ClientOptions, Resolved, SMALL_BLOB_LIMIT};
pub use config::{default_certs_dirs, is_loopback, Mirror, RegistryConfig, DEFAULT_CERTS_DIRS};
pub use digest::{is_valid as is_valid_digest, sha256 as sha256_digest};
pub use error::{Action, Error, Result};
pub use manifest::{Descriptor, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
pub use platform::Platform;
pub use reference::{normalize_registry, ImageRef, DOCKER_HUB};
