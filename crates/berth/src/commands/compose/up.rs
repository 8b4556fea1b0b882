//! `compose up`: converges the project (the `stack` crate does the work), then with
//! `-d` returns, and attached follows every container's log until all have exited.
//! Attached, Ctrl-C stops the stack ("Gracefully stopping..."), a second one kills it;
//! `--abort-on-container-exit` stops it when the first container exits.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use clap::Args;
use runtime::sys;
use stack::query::{self, Member};
use stack::up::UpOptions;

use super::logs::{Follower, Style};
use super::Ctx;

#[derive(Args, Debug)]
pub struct UpArgs {
    /// Detached mode: run the containers in the background.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Wait for the services to be running and healthy (implies --detach).
    #[arg(long)]
    wait: bool,
    /// How long to wait with --wait, in seconds.
    #[arg(long = "wait-timeout", value_name = "SECONDS")]
    wait_timeout: Option<u64>,
    /// Build images before starting.
    #[arg(long)]
    build: bool,
    /// Don't build an image, even if it's missing.
    #[arg(long = "no-build")]
    no_build: bool,
    /// Recreate containers even if their configuration and image haven't changed.
    #[arg(long = "force-recreate")]
    force_recreate: bool,
    /// Recreate anonymous volumes instead of keeping the previous containers' ones.
    #[arg(short = 'V', long = "renew-anon-volumes")]
    renew_anon_volumes: bool,
    /// If containers already exist, don't recreate them.
    #[arg(long = "no-recreate")]
    no_recreate: bool,
    /// Don't start linked services.
    #[arg(long = "no-deps")]
    no_deps: bool,
    /// Remove containers for services not defined in the compose file.
    #[arg(long = "remove-orphans")]
    remove_orphans: bool,
    /// Don't start the services after creating them.
    #[arg(long = "no-start")]
    no_start: bool,
    /// Shutdown timeout in seconds.
    #[arg(short = 't', long = "timeout", allow_hyphen_values = true)]
    timeout: Option<i64>,
    /// Stops all containers if any container was stopped.
    #[arg(long = "abort-on-container-exit")]
    abort_on_container_exit: bool,
    /// Return the exit code of the selected service container (implies
    /// --abort-on-container-exit).
    #[arg(long = "exit-code-from", value_name = "SERVICE")]
    exit_code_from: Option<String>,
    /// Scale SERVICE to NUM instances (overrides `scale` in the compose file).
    #[arg(long = "scale", value_name = "SERVICE=NUM")]
    scale: Vec<String>,
    /// Produce monochrome output.
    #[arg(long = "no-color")]
    no_color: bool,
    /// Don't print a prefix in the logs.
    #[arg(long = "no-log-prefix")]
    no_log_prefix: bool,
    services: Vec<String>,
}

fn check(args: &UpArgs) -> stack::Result<()> {
    let bad = |m: &str| Err(stack::Error::invalid(m));
    if args.force_recreate && args.no_recreate {
        return bad("--force-recreate and --no-recreate are incompatible");
    }
    if args.build && args.no_build {
        return bad("--build and --no-build are incompatible");
    }
    let abort = args.abort_on_container_exit || args.exit_code_from.is_some();
    if abort && (args.detach || args.wait) {
        return bad("--abort-on-container-exit and --exit-code-from cannot be combined with --detach or --wait");
    }
    Ok(())
}

fn scale(specs: &[String]) -> stack::Result<BTreeMap<String, u32>> {
    specs
        .iter()
        .map(|s| {
            s.split_once('=')
                .and_then(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
                .ok_or_else(|| {
                    stack::Error::invalid(format!(
                        "invalid --scale {s:?}: use SERVICE=NUM, e.g. --scale web=2"
                    ))
                })
        })
        .collect()
}

pub fn run(ctx: &Ctx, args: &UpArgs) -> stack::Result<i32> {
    check(args)?;
    let loaded = ctx.load_enabling(&args.services)?;
    let stack = ctx.stack(&loaded);
    if let Some(s) = &args.exit_code_from {
        stack::plan::check_services(stack.project, std::slice::from_ref(s))?;
    }
    let opts = UpOptions {
        services: args.services.clone(),
        no_deps: args.no_deps,
        force_recreate: args.force_recreate,
        renew_anon_volumes: args.renew_anon_volumes,
        no_recreate: args.no_recreate,
        no_start: args.no_start,
        remove_orphans: args.remove_orphans,
        build: args.build,
        scale: scale(&args.scale)?,
        wait: args.wait,
        wait_timeout: args.wait_timeout.map(Duration::from_secs),
        timeout: args.timeout,
    };
    let progress = ctx.pull_progress();
    if args.detach || args.wait || args.no_start {
        stack::up::up(&stack, &opts, &progress)?;
        return Ok(0);
    }
    // Attached: Ctrl-C is taken from before start-up, so one pressed while containers
    // are still being made stops them once start-up ends (as one pressed later does);
    // a second one during start-up ends berth at once, as compose's does.
    let sigs = [libc::SIGINT, libc::SIGTERM];
    let old_mask = sys::block_signals(&sigs).ok();
    let sfd = sys::signalfd(&sigs).ok();
    let starting = std::sync::atomic::AtomicBool::new(true);
    let early = std::sync::atomic::AtomicU32::new(0);
    let touched = std::thread::scope(|s| {
        if let Some(fd) = &sfd {
            s.spawn(|| {
                while starting.load(std::sync::atomic::Ordering::SeqCst) {
                    let mut fds = [libc::pollfd {
                        fd: fd.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    }];
                    if !matches!(sys::poll(&mut fds, 100), Ok(n) if n > 0) {
                        continue;
                    }
                    while let Ok(Some(_)) = sys::read_signalfd(fd.as_fd()) {
                        if early.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                            eprintln!("Stopping once the containers are started... (press Ctrl+C again to force)");
                        } else {
                            std::process::exit(130);
                        }
                    }
                }
            });
        }
        let r = stack::up::up(&stack, &opts, &progress);
        starting.store(false, std::sync::atomic::Ordering::SeqCst);
        r
    });
    let touched = match touched {
        Ok(t) => t,
        Err(e) => {
            if let Some(old) = old_mask {
                let _ = sys::set_sigmask(&old);
            }
            return Err(e);
        }
    };
    let signals = Signals {
        sfd,
        old_mask,
        early: early.load(std::sync::atomic::Ordering::SeqCst),
    };
    attached(ctx, &stack, args, &touched, signals)
}

/// The attached `up`'s signal handling, set up before start-up: the signalfd, the
/// mask to restore, and how many interrupts came during start-up.
struct Signals {
    sfd: Option<std::os::fd::OwnedFd>,
    old_mask: Option<libc::sigset_t>,
    early: u32,
}

/// Follows the logs until every container has exited; stops the stack on Ctrl-C, or on
/// the first exit with --abort-on-container-exit.
fn attached(
    ctx: &Ctx,
    stack: &stack::Stack,
    args: &UpArgs,
    touched: &[stack::up::Touched],
    signals: Signals,
) -> stack::Result<i32> {
    let members: Vec<(Member, bool)> = query::members(ctx.root, &stack.project.name)
        .into_iter()
        .filter_map(|m| {
            let t = touched.iter().find(|t| t.id == m.id())?;
            Some((m, t.started))
        })
        .collect();
    let style = Style {
        color: ctx.color_stdout() && !args.no_color,
        prefix: !args.no_log_prefix,
        timestamps: false,
    };
    let mut follower = Follower::new(&stack.project.name, &members, style);
    follower.note(&format!("Attaching to {}", follower.names().join(", ")));
    let Signals {
        sfd,
        old_mask,
        early,
    } = signals;
    let abort = args.abort_on_container_exit || args.exit_code_from.is_some();
    let targets: Vec<Member> = members.iter().map(|(m, _)| m.clone()).collect();
    let mut code = 0;
    let mut first_exit: Option<i32> = None;
    let mut from_service: Option<i32> = None;
    let result = std::thread::scope(|s| {
        let mut stopper: Option<std::thread::ScopedJoinHandle<stack::Result<()>>> = None;
        let mut interrupts = early;
        if early > 0 {
            code = 130;
            let t = targets.clone();
            stopper = Some(s.spawn(move || stack::ops::stop(stack, t, args.timeout)));
        }
        loop {
            for e in follower.poll(ctx.root) {
                follower.note(&format!("{} exited with code {}", e.name, e.code));
                first_exit.get_or_insert(e.code);
                if args.exit_code_from.as_deref() == Some(e.service.as_str()) {
                    from_service.get_or_insert(e.code);
                }
                if abort && stopper.is_none() {
                    follower.note("Aborting on container exit...");
                    let t = targets.clone();
                    stopper = Some(s.spawn(move || stack::ops::stop(stack, t, args.timeout)));
                }
            }
            if follower.all_done() {
                break;
            }
            let Some(sfd) = &sfd else {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            };
            let mut fds = [libc::pollfd {
                fd: sfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            if !matches!(sys::poll(&mut fds, 100), Ok(n) if n > 0) {
                continue;
            }
            while let Ok(Some(_)) = sys::read_signalfd(sfd.as_fd()) {
                interrupts += 1;
                if interrupts == 1 {
                    eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
                    code = 130;
                    if stopper.is_none() {
                        let t = targets.clone();
                        stopper = Some(s.spawn(move || stack::ops::stop(stack, t, args.timeout)));
                    }
                } else {
                    let t = targets.clone();
                    let _ = stack::ops::kill(stack, t, libc::SIGKILL);
                }
            }
        }
        match stopper {
            Some(h) => h.join().unwrap_or(Ok(())),
            None => Ok(()),
        }
    });
    if let Some(old) = old_mask {
        let _ = sys::set_sigmask(&old);
    }
    result?;
    if args.exit_code_from.is_some() {
        return Ok(from_service.unwrap_or(code));
    }
    if abort && code == 0 {
        return Ok(first_exit.unwrap_or(0));
    }
    Ok(code)
}
