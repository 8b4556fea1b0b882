//! `compose exec`: a command in a running container of a service, through the same
//! path as `berth exec`.

use std::io::IsTerminal;

use clap::Args;

use super::Ctx;
use crate::commands::exec::{exec, Request};

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Detached mode: run the command in the background.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Disable pseudo-TTY allocation (by default one is allocated when stdin is a
    /// terminal).
    #[arg(short = 'T', long = "no-TTY")]
    no_tty: bool,
    /// Set environment variables.
    #[arg(short = 'e', long = "env", value_name = "K=V")]
    env: Vec<String>,
    /// Run the command as this user.
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    workdir: Option<String>,
    /// Which container of the service, when it is scaled.
    #[arg(long, default_value_t = 1)]
    index: u32,
    service: String,
    #[arg(trailing_var_arg = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

pub fn run(ctx: &Ctx, args: &ExecArgs) -> stack::Result<i32> {
    let opened = ctx.load_or_labels()?;
    let stack = ctx.stack(&opened.loaded);
    let member = running(&stack, &args.service, args.index)?;
    let tty = !args.no_tty && std::io::stdin().is_terminal();
    Ok(exec(
        ctx.root,
        Request {
            container: member.id().to_string(),
            command: args.command.clone(),
            env: args.env.clone(),
            env_files: Vec::new(),
            user: args.user.clone(),
            workdir: args.workdir.clone(),
            detach: args.detach,
            interactive: true,
            tty,
        },
    )?)
}

/// Container `index` of the service, which must be running.
pub fn running(
    stack: &stack::Stack,
    service: &str,
    index: u32,
) -> stack::Result<stack::query::Member> {
    let members = stack::ops::select(stack, &[service.to_string()], false)?;
    members
        .into_iter()
        .find(|m| m.number == index && m.state.running)
        .ok_or_else(|| {
            stack::Error::invalid(format!(
                "service {service:?} is not running (container number {index}): start it with berth compose up -d {service}"
            ))
        })
}
