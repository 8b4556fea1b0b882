//! `compose start`, `stop`, `restart`, `kill` and `rm`: the `stack` crate's operations
//! on the services' existing containers.

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;
use stack::query::Member;

use super::Ctx;

#[derive(Args, Debug)]
pub struct ServicesArgs {
    services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait for the stop signal before killing.
    #[arg(short = 't', long = "timeout", allow_hyphen_values = true)]
    timeout: Option<i64>,
    services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// The signal to send.
    #[arg(short = 's', long, default_value = "SIGKILL")]
    signal: String,
    services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Don't ask to confirm the removal.
    #[arg(short = 'f', long)]
    force: bool,
    /// Stop the containers first, if needed.
    #[arg(short = 's', long)]
    stop: bool,
    /// Remove the anonymous volumes attached to the containers.
    #[arg(short = 'v', long)]
    volumes: bool,
    services: Vec<String>,
}

fn members(
    ctx: &Ctx,
    services: &[String],
    oneoff: bool,
    f: impl FnOnce(&stack::Stack, Vec<Member>) -> stack::Result<()>,
) -> stack::Result<i32> {
    let opened = ctx.load_or_labels()?;
    let stack = ctx.stack(&opened.loaded);
    let members = stack::ops::select(&stack, services, oneoff)?;
    f(&stack, members)?;
    Ok(0)
}

pub fn start(ctx: &Ctx, args: &ServicesArgs) -> stack::Result<i32> {
    members(ctx, &args.services, false, |stack, m| {
        if m.is_empty() && !args.services.is_empty() {
            return Err(stack::Error::invalid(format!(
                "service {} has no container to start: create it with berth compose up",
                args.services.join(", ")
            )));
        }
        stack::ops::start(stack, m)
    })
}

pub fn stop(ctx: &Ctx, args: &StopArgs) -> stack::Result<i32> {
    members(ctx, &args.services, true, |stack, m| {
        stack::ops::stop(stack, m, args.timeout)
    })
}

pub fn restart(ctx: &Ctx, args: &StopArgs) -> stack::Result<i32> {
    let opened = ctx.load_or_labels()?;
    let stack = ctx.stack(&opened.loaded);
    // Services whose `depends_on` says `restart: true` restart with what they depend on.
    let mut services = args.services.clone();
    if !services.is_empty() {
        let mut i = 0;
        while i < services.len() {
            let dep = services[i].clone();
            for (name, svc) in &stack.project.services {
                let follows = svc.depends_on.get(&dep).is_some_and(|d| d.restart);
                if follows && !services.contains(name) {
                    services.push(name.clone());
                }
            }
            i += 1;
        }
    }
    let members = stack::ops::select(&stack, &services, false)?;
    stack::ops::restart(&stack, members, args.timeout)?;
    Ok(0)
}

pub fn kill(ctx: &Ctx, args: &KillArgs) -> stack::Result<i32> {
    let signal = engine::signals::parse(&args.signal)?;
    members(ctx, &args.services, true, |stack, m| {
        if !m.iter().any(Member::is_up) {
            // Not an error for compose either: there is nothing left to do.
            eprintln!("no container to kill");
            return Ok(());
        }
        stack::ops::kill(stack, m, signal)
    })
}

pub fn rm(ctx: &Ctx, args: &RmArgs) -> stack::Result<i32> {
    members(ctx, &args.services, true, |stack, m| {
        if args.stop {
            stack::ops::stop(stack, m.clone(), None)?;
        }
        // Stopped now (with -s) or already: re-read, a stop just changed them.
        let ids: Vec<String> = m.iter().map(|x| x.id().to_string()).collect();
        let stopped: Vec<Member> = stack::ops::select(stack, &args.services, true)?
            .into_iter()
            .filter(|x| ids.iter().any(|i| i == x.id()) && !x.is_up())
            .collect();
        if stopped.is_empty() {
            eprintln!("No stopped containers");
            return Ok(());
        }
        if !args.force {
            let names: Vec<&str> = stopped.iter().map(Member::name).collect();
            if !confirm(&format!("Going to remove {}", names.join(", "))) {
                return Ok(());
            }
        }
        let mut errors = Vec::new();
        for x in &stopped {
            if let Err(e) = stack::ops::remove_one(stack, x, args.volumes) {
                errors.push(e.to_string());
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(stack::Error::failed(errors.join("\n")))
        }
    })
}

/// Asks on the terminal, as compose does; without one (or at end of input) the answer
/// is no.
fn confirm(question: &str) -> bool {
    eprint!("{question}\nAre you sure? [yN] ");
    let _ = std::io::stderr().flush();
    if !std::io::stdin().is_terminal() {
        eprintln!();
        return false;
    }
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes")
}

impl ServicesArgs {
    pub fn services(&self) -> &[String] {
        &self.services
    }
}
