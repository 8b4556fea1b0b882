//! `berth rm`.

use clap::Args;
use engine::{containers, lifecycle, StateRoot};

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Kill and remove running containers.
    #[arg(short = 'f', long)]
    force: bool,
    /// Also remove the container's anonymous volumes.
    #[arg(short = 'v', long)]
    volumes: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn run(root: &StateRoot, args: RmArgs) -> engine::Result<i32> {
    super::for_each(&args.containers, |name| {
        let id = match containers::find(root, name) {
            Ok(id) => id,
            Err(engine::Error::NoSuchContainer(_)) if args.force => return Ok(()),
            Err(e) => return Err(e),
        };
        lifecycle::remove(root, &id, args.force, args.volumes).map(drop)
    })
}
