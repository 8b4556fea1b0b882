//! `berth stop` and `berth restart`.

use clap::Args;
use engine::{containers, lifecycle, StateRoot};

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait for the container to stop before killing it.
    #[arg(
        short = 't',
        long = "time",
        alias = "timeout",
        allow_hyphen_values = true
    )]
    time: Option<i64>,
    /// Signal to send instead of the container's stop signal.
    #[arg(short = 's', long)]
    signal: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn stop(root: &StateRoot, args: StopArgs) -> engine::Result<i32> {
    super::for_each(&args.containers, |name| {
        let id = containers::find(root, name)?;
        if let Some(sig) = &args.signal {
            engine::signals::parse(sig)?;
            let (_, state) = containers::load(root, &id)?;
            if state.running {
                lifecycle::kill(root, &id, engine::signals::parse(sig)?)?;
            }
        }
        lifecycle::stop(root, &id, args.time)
    })
}

pub fn restart(root: &StateRoot, args: StopArgs) -> engine::Result<i32> {
    super::for_each(&args.containers, |name| {
        let id = containers::find(root, name)?;
        let started = lifecycle::restart(root, &id, args.time)?;
        super::run::print_warnings(&started.warnings);
        Ok(())
    })
}
