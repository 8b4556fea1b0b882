//! How long-running image operations report what they are doing, without printing:
//! the CLI decides between progress bars, plain lines and silence.

/// One layer's progress, in Docker's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerEvent {
    Waiting,
    AlreadyExists,
    Downloading { done: u64, total: u64 },
    Verifying,
    Extracting,
    PullComplete,
    Preparing,
    Pushing { done: u64, total: u64 },
    Pushed,
    LayerExists,
}

pub trait Progress: Sync {
    /// A line of overall status ("3.20: Pulling from library/alpine", "Digest: ...").
    fn status(&self, line: &str);
    /// An event for the layer with short id `id` (12 hex digits).
    fn layer(&self, id: &str, event: LayerEvent);
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn status(&self, _: &str) {}
    fn layer(&self, _: &str, _: LayerEvent) {}
}
