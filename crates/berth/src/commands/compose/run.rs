//! `compose run`: a one-off container of a service, attached to the terminal like
//! `berth run` (or detached with -d), after its dependencies are up.

use std::io::IsTerminal;

use clap::Args;
use stack::oneoff::RunOptions;

use super::Ctx;
use crate::terminal;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Run the container in the background and print its name.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    rm: bool,
    /// Disable pseudo-TTY allocation (by default one is allocated when stdin is a
    /// terminal).
    #[arg(short = 'T', long = "no-TTY")]
    no_tty: bool,
    /// Set environment variables.
    #[arg(short = 'e', long = "env", value_name = "K=V")]
    env: Vec<String>,
    /// Override the entrypoint of the image.
    #[arg(long)]
    entrypoint: Option<String>,
    /// Don't start linked services.
    #[arg(long = "no-deps")]
    no_deps: bool,
    /// Assign a name to the container.
    #[arg(long)]
    name: Option<String>,
    /// Run as this user.
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    workdir: Option<String>,
    /// Publish a container's port to the host.
    #[arg(short = 'p', long = "publish")]
    publish: Vec<String>,
    service: String,
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    command: Vec<String>,
}

pub fn run(ctx: &Ctx, args: &RunArgs) -> stack::Result<i32> {
    let loaded = ctx.load_enabling(std::slice::from_ref(&args.service))?;
    let stack = ctx.stack(&loaded);
    let entrypoint =
        match &args.entrypoint {
            None => None,
            Some(e) => Some(compose::model::parse::split_command(e).map_err(|why| {
                stack::Error::invalid(format!("invalid --entrypoint {e:?}: {why}"))
            })?),
        };
    let tty = !args.no_tty && !args.detach && std::io::stdin().is_terminal();
    let opts = RunOptions {
        service: args.service.clone(),
        command: (!args.command.is_empty()).then(|| args.command.clone()),
        entrypoint,
        env: args.env.clone(),
        name: args.name.clone(),
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        publish: args.publish.clone(),
        rm: args.rm,
        no_deps: args.no_deps,
        tty,
        interactive: !args.detach,
    };
    let progress = ctx.pull_progress();
    let record = stack::oneoff::create(&stack, &opts, &progress)?;
    let id = record.id.clone();
    let fail = |e: engine::Error| {
        if args.rm {
            let _ = engine::lifecycle::remove(ctx.root, &id, true, true);
        }
        stack::Error::from(e)
    };
    if args.detach {
        stack::serial::start(ctx.root, &id).map_err(fail)?;
        println!("{}", record.short_name());
        return Ok(0);
    }
    let raw = if tty {
        terminal::RawMode::enter()
    } else {
        None
    };
    let started = match stack::serial::start_attached(ctx.root, &id) {
        Ok(s) => s,
        Err(e) => {
            drop(raw);
            return Err(fail(e));
        }
    };
    let code = terminal::wait_attached(ctx.root, started, tty)?;
    drop(raw);
    Ok(code)
}
