//! What the stack reports while it works, in Docker Compose's vocabulary (`Network
//! x Created`, `Container x Started`, warnings). The CLI decides how it looks; the
//! stack never prints.

/// The kind of object an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Network,
    Volume,
    Container,
    Image,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Network => "Network",
            Kind::Volume => "Volume",
            Kind::Container => "Container",
            Kind::Image => "Image",
        }
    }
}

/// Where an object's step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Under way ("Creating").
    Working,
    /// Finished ("Created").
    Done,
    /// Failed ("Error").
    Failed,
}

/// Receives the stack's progress. Called from several threads at once.
pub trait Events: Sync {
    /// `text` is compose's word for the step ("Creating", "Started", "Healthy").
    fn object(&self, kind: Kind, name: &str, text: &str, phase: Phase);
    fn warning(&self, message: &str);
}

/// Reports nothing (tests, `-q`).
pub struct Silent;

impl Events for Silent {
    fn object(&self, _: Kind, _: &str, _: &str, _: Phase) {}
    fn warning(&self, _: &str) {}
}
