//! `compose down`.

use clap::Args;
use stack::down::{DownOptions, Rmi};

use super::Ctx;

#[derive(Args, Debug)]
pub struct DownArgs {
    /// Remove named volumes declared in the volumes section and anonymous volumes
    /// attached to containers.
    #[arg(short = 'v', long)]
    volumes: bool,
    /// Remove images used by services: "local" (those without a name of their own) or
    /// "all".
    #[arg(long, value_name = "TYPE", value_parser = ["local", "all"])]
    rmi: Option<String>,
    /// Shutdown timeout in seconds.
    #[arg(short = 't', long = "timeout", allow_hyphen_values = true)]
    timeout: Option<i64>,
    /// Remove containers for services not defined in the compose file.
    #[arg(long = "remove-orphans")]
    remove_orphans: bool,
}

pub fn run(ctx: &Ctx, args: &DownArgs) -> stack::Result<i32> {
    let opened = ctx.load_or_labels()?;
    let stack = ctx.stack(&opened.loaded);
    let opts = DownOptions {
        volumes: args.volumes,
        rmi: match args.rmi.as_deref() {
            Some("all") => Some(Rmi::All),
            Some(_) => Some(Rmi::Local),
            None => None,
        },
        timeout: args.timeout,
        // Without the files every container of the project is one the labels name.
        remove_orphans: args.remove_orphans || opened.labels_only,
    };
    stack::down::down(&stack, &opts)?;
    Ok(0)
}
