//! `berth build`: turns a Dockerfile and a build context into an image without a
//! daemon. `context` reads the build context and `.dockerignore`; `sources` finds what
//! COPY/ADD name; `copy` turns them into a layer tar; `run` executes a RUN step as a
//! berth container; `diff` turns that container's overlay upper dir into a layer tar;
//! `commit` publishes layers and the image; `metadata` applies the config-only
//! instructions; `cache` remembers finished steps; `executor` drives the stages.
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
pub mod pattern;
pub mod run;
pub mod sources;

pub use error::{Error, Result};
pub use executor::{build, BuildOptions, Event};
