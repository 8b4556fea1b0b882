//! The `berth` command line: parses Docker-style arguments, calls one engine operation
//! per command and prints the result the way Docker does. It holds no container logic.

mod commands;
mod format;
mod terminal;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "Linux containers without the Docker tax: one binary, no daemon."
)]
struct Cli {
    /// State directory (default /var/lib/berth for root, ~/.local/share/berth otherwise).
    #[arg(long, global = true, env = "BERTH_ROOT", value_name = "DIR")]
    root: Option<PathBuf>,

    /// Print the full error chain.
    #[arg(long, short = 'D', global = true)]
    debug: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create and start a container.
    Run(commands::run::RunArgs),
    /// Create a container without starting it.
    Create(commands::run::RunArgs),
    /// Start stopped containers.
    Start(commands::start::StartArgs),
    /// Stop running containers (stop signal, then SIGKILL after the timeout).
    Stop(commands::stop::StopArgs),
    /// Restart containers.
    Restart(commands::stop::StopArgs),
    /// Send a signal to running containers.
    Kill(commands::kill::KillArgs),
    /// Remove containers.
    Rm(commands::rm::RmArgs),
    /// List containers.
    Ps(commands::ps::PsArgs),
    /// Print a container's logs.
    Logs(commands::logs::LogsArgs),
    /// Run a command in a running container.
    Exec(commands::exec::ExecArgs),
    /// Show low-level information on containers or volumes.
    Inspect(commands::inspect::InspectArgs),
    /// Block until containers stop, then print their exit codes.
    Wait(commands::wait::WaitArgs),
    /// Manage named volumes.
    #[command(subcommand)]
    Volume(commands::volume::VolumeCommand),
    /// Copy files between a container and the host.
    Cp(commands::cp::CpArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Docker exits 125 on a bad flag or argument; help and version are not errors.
            let code = if e.use_stderr() { 125 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let root_dir = cli
        .root
        .clone()
        .unwrap_or_else(engine::StateRoot::default_dir);
    let code =
        match engine::StateRoot::open(&root_dir).and_then(|root| dispatch(&root, cli.command)) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("berth: {e}");
                if cli.debug {
                    let mut src = std::error::Error::source(&e);
                    while let Some(s) = src {
                        eprintln!("  caused by: {s}");
                        src = s.source();
                    }
                }
                e.exit_code()
            }
        };
    ExitCode::from(code.clamp(0, 255) as u8)
}

fn dispatch(root: &engine::StateRoot, command: Command) -> engine::Result<i32> {
    match command {
        Command::Run(a) => commands::run::run(root, a),
        Command::Create(a) => commands::run::create(root, a),
        Command::Start(a) => commands::start::run(root, a),
        Command::Stop(a) => commands::stop::stop(root, a),
        Command::Restart(a) => commands::stop::restart(root, a),
        Command::Kill(a) => commands::kill::run(root, a),
        Command::Rm(a) => commands::rm::run(root, a),
        Command::Ps(a) => commands::ps::run(root, a),
        Command::Logs(a) => commands::logs::run(root, a),
        Command::Exec(a) => commands::exec::run(root, a),
        Command::Inspect(a) => commands::inspect::run(root, a),
        Command::Wait(a) => commands::wait::run(root, a),
        Command::Volume(c) => commands::volume::run(root, c),
        Command::Cp(a) => commands::cp::run(root, a),
    }
}
