//! `berth build`: turns a Dockerfile and a build context into an image without a
//! daemon. `options` holds what a build is asked for and reports; `context` reads the
//! build context and `.dockerignore` (with `pattern`, Docker's path patterns);
//! `sources` finds what COPY/ADD name and `copy` turns it into a layer tar; `run`
//! executes a RUN step as a berth container and `diff` turns that container's overlay
//! upper dir into a layer tar; `layers` reads a stage's files from its layers;
//! `commit` publishes layers and the image; `metadata` applies the config-only
//! instructions; `cache` remembers finished steps; `mounts` sets up `RUN --mount`s
//! (with `secrets`, what `--secret` gave); `executor` drives the stages.
//!
//! It never prints: progress goes to the caller through [`Event`]s.

pub mod cache;
pub mod commit;
pub mod context;
pub mod copy;
pub mod diff;
pub mod error;
pub mod executor;
pub mod layers;
pub mod metadata;
pub mod mounts;
pub mod options;
pub mod pattern;
pub mod run;
pub mod secrets;
pub mod sources;

pub use error::{Error, Result};
pub use executor::build;
pub use options::{BuildOptions, Event};
