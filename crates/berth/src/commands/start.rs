//! `berth start`.

use clap::Args;
use engine::{containers, lifecycle, StateRoot};

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Attach stdout/stderr and wait for the container to exit.
    #[arg(short = 'a', long)]
    attach: bool,
    /// Attach stdin.
    #[arg(short = 'i', long)]
    interactive: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn run(root: &StateRoot, args: StartArgs) -> engine::Result<i32> {
    if args.attach || args.interactive {
        if args.containers.len() != 1 {
            return Err(engine::Error::invalid(
                "you cannot start and attach multiple containers at once",
            ));
        }
        let id = containers::find(root, &args.containers[0])?;
        let (record, _) = containers::load(root, &id)?;
        let raw = if record.config.tty && args.interactive {
            crate::terminal::RawMode::enter()
        } else {
            None
        };
        let started = lifecycle::start(root, &id, true)?;
        super::run::print_warnings(&started.warnings);
        let code = crate::terminal::wait_attached(root, started, record.config.tty)?;
        drop(raw);
        return Ok(code);
    }
    super::for_each(&args.containers, |name| {
        let id = containers::find(root, name)?;
        // Docker answers "not modified" for a running (or restarting) container.
        if containers::load(root, &id)?.1.running {
            return Ok(());
        }
        let started = lifecycle::start(root, &id, false)?;
        super::run::print_warnings(&started.warnings);
        Ok(())
    })
}
