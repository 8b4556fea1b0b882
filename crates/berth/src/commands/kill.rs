//! `berth kill`.

use clap::Args;
use engine::{containers, lifecycle, StateRoot};

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal to send (name or number).
    #[arg(short = 's', long, default_value = "KILL")]
    signal: String,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn run(root: &StateRoot, args: KillArgs) -> engine::Result<i32> {
    let sig = engine::signals::parse(&args.signal)?;
    super::for_each(&args.containers, |name| {
        let id = containers::find(root, name)?;
        lifecycle::kill(root, &id, sig)
    })
}
