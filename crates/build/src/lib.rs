//! `berth build`: turns a Dockerfile and a build context into an image without a
//! daemon. `options` holds what a build is asked for and reports; `context` reads the
//! build context and `.dockerignore` (with `pattern`, Docker's path patterns);
//! `sources` finds what COPY/ADD name and `copy` turns it into a layer tar; `remote`
//! recognises ADD's URLs and git repositories, which `download` and `git_source`
//! fetch into scratch directories; `run`
//! executes a RUN step as a berth container and `diff` turns that container's overlay
//! upper dir into a layer tar; `layers` reads a stage's files from its layers;
//! `commit` publishes layers and the image, `output` sends it to the store, a
//! registry or an archive; `metadata` applies the config-only instructions; `workdir`
//! makes WORKDIR's directory; `history` words the history; `cache` remembers finished
//! steps; `mounts` sets up `RUN --mount`s (with `secrets`, what `--secret` gave);
//! `executor` drives the stages.
//!
//! It never prints: progress goes to the caller through [`Event`]s.

pub mod cache;
pub mod commit;
pub mod context;
pub mod copy;
pub mod diff;
pub mod download;
pub mod error;
pub mod executor;
pub mod git_source;
pub mod history;
pub mod layers;
pub mod metadata;
pub mod mounts;
pub mod named_contexts;
pub mod options;
pub mod output;
pub mod pattern;
pub mod remote;
pub mod remote_context;
pub mod run;
pub mod secrets;
pub mod sources;
pub mod workdir;

pub use error::{Error, Result};
pub use executor::build;
pub use options::{BuildOptions, Event};
pub use output::Output;
