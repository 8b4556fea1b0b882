//! Runs a compose project (`compose::model::Project`) on the engine: turns services
//! into containers named and labelled exactly as Docker Compose names and labels them
//! (so `ps`, `down` and a second `up` find what belongs to a project by its labels
//! alone), creates the project's networks and volumes, starts services in dependency
//! order with independent ones in parallel, and takes it all down again. It never
//! reads compose files (the `compose` crate does) and never prints: whatever a user
//! should see goes through [`events::Events`], which the CLI renders.

pub mod convert;
pub mod down;
pub mod error;
pub mod events;
pub mod hash;
pub mod images;
pub mod labels;
pub mod oneoff;
pub mod ops;
pub mod plan;
pub mod query;
pub mod resources;
pub mod secrets;
pub mod serial;
pub mod top;
pub mod up;
pub mod wait;

use std::path::PathBuf;

use compose::model::Project;
use engine::StateRoot;

pub use error::{Error, Result};
pub use events::Events;

/// A loaded project and everything needed to act on it.
pub struct Stack<'a> {
    pub root: &'a StateRoot,
    pub project: &'a Project,
    /// The files the project was loaded from, absolute (kept in a label, as compose).
    pub config_files: Vec<PathBuf>,
    /// The environment the project was loaded with: `${VAR}` references in
    /// `env_file` files are resolved against it.
    pub environment: Vec<(String, String)>,
    pub events: &'a dyn Events,
}
