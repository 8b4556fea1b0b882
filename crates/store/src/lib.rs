//! berth's image store. It owns everything under `ROOT/store`: content-addressed blobs,
//! unpacked read-only layers, the pool of deduplicated files, image records and their
//! names. It knows nothing of registries, containers or the CLI: callers hand it
//! verified-or-to-be-verified bytes and get back digests and directories.
//!
//! ```text
//! STORE/lock                  flock: shared while adding or pinning, exclusive to delete
//! STORE/names.json            "docker.io/library/alpine:3.20" -> image id (and name@digest)
//! STORE/blobs/sha256/<hex>    manifests, indexes and image configs, immutable
//! STORE/layers/<hex>/         one unpacked layer, named by its diff id:
//!                             root/ (an overlay lower dir), tar-split, layer.json
//! STORE/files/<2>/<62>        deduplicated regular files, named by content + metadata
//! STORE/images/<hex>.json     one image: config digest (= id), manifest, layers
//! STORE/tmp/                  work in progress, swept under the exclusive lock
//! STORE/roots/<holder>/<hex>   layers kept for a holder (the build cache) without an image
//! STORE/downloads/            partial downloads, kept so an interrupted pull resumes
//! ```
//!
//! Invariants: nothing under blobs/, layers/ or files/ is ever opened for writing once
//! its name is published; every published object was verified against its digest on
//! the way in; an image is visible only once everything it refers to is published.

pub mod blobs;
pub mod check;
pub mod config;
pub mod digest;
pub mod error;
pub mod fsutil;
pub mod gc;
pub mod images;
pub mod layout;
pub mod names;
mod readahead;
pub mod roots;
pub mod usage;

pub use config::ImageConfig;
pub use digest::Digest;
pub use error::{Error, Result};
pub use images::{Descriptor, ImageRecord, LayerRef};
pub use layout::{Store, StoreLock};
pub use names::Names;
pub mod layer;
mod pool;
mod tarsplit;
mod unpack;

pub use layer::{Compression, LayerInfo, Limits};
