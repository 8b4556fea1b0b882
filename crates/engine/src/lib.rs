//! berth's engine: containers as records on disk, driven by short-lived CLI processes
//! and one small monitor per running container. It composes the runtime (isolation)
//! with state, locking, logs and volumes; it never parses command lines or prints.

pub mod archives;
pub mod config;
pub mod containers;
pub mod cp;
pub mod error;
pub mod etc_files;
pub mod exec;
pub mod exit_notes;
pub mod health;
pub mod ids;
pub mod images;
pub mod lifecycle;
pub mod logs;
pub mod monitor;
pub mod netattach;
pub mod netopts;
pub mod netserve;
pub mod networks;
pub mod options;
pub mod progress;
pub mod pull;
pub mod push;
pub mod record;
pub mod registry_config;
pub mod restart;
pub mod security;
pub mod signals;
pub mod spec;
pub mod state_root;
pub mod time;
pub mod units;
pub mod user;
pub mod userns;
pub mod volumes;

pub use error::{Error, Result};
pub use state_root::StateRoot;
