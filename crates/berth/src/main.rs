//! The `berth` command line: parses Docker-style arguments, calls one engine operation
//! per command and prints the result the way Docker does. It holds no container logic.

mod commands;
mod format;
mod progress;
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
    /// Manage networks.
    #[command(subcommand)]
    Network(commands::network::NetworkCommand),
    /// List a container's published ports.
    Port(commands::port::PortArgs),
    /// Copy files between a container and the host.
    Cp(commands::cp::CpArgs),
    /// Download an image from a registry.
    Pull(commands::images::PullArgs),
    /// Upload an image to a registry.
    Push(commands::images::PushArgs),
    /// List images.
    Images(commands::images::ImagesArgs),
    /// Manage images.
    #[command(subcommand)]
    Image(commands::images::ImageCommand),
    /// Show the history of an image.
    History(commands::history::HistoryArgs),
    /// Create a tag TARGET that refers to SOURCE.
    Tag(commands::images::TagArgs),
    /// Remove images.
    Rmi(commands::images::RmiArgs),
    /// Save images to a tar archive (docker-archive or oci-archive).
    Save(commands::archives::SaveArgs),
    /// Load images from a tar archive or OCI layout.
    Load(commands::archives::LoadArgs),
    /// Create an image from a tarball of a root filesystem.
    Import(commands::archives::ImportArgs),
    /// Build an image from a Dockerfile.
    Build(commands::build::BuildArgs),
    /// Manage the build cache.
    #[command(subcommand)]
    Builder(commands::build::BuilderCommand),
    /// Log in to a registry.
    Login(commands::images::LoginArgs),
    /// Log out from a registry.
    Logout(commands::images::LogoutArgs),
    /// Disk usage and other system information.
    #[command(subcommand)]
    System(commands::images::SystemCommand),
    /// Check the image store.
    #[command(subcommand)]
    Storage(commands::images::StorageCommand),
    /// Run multi-container applications from compose files.
    Compose(commands::compose::ComposeArgs),
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
        Command::Network(c) => image_cmd(commands::network::run(root, c)),
        Command::Port(a) => commands::port::run(root, a),
        Command::Cp(a) => commands::cp::run(root, a),
        Command::Pull(a) => image_cmd(commands::images::pull(root, a)),
        Command::Push(a) => image_cmd(commands::images::push(root, a)),
        Command::Images(a) => image_cmd(commands::images::list(root, a)),
        Command::Image(c) => image_cmd(commands::images::image(root, c)),
        Command::Tag(a) => image_cmd(commands::images::tag(root, a)),
        Command::History(a) => image_cmd(commands::history::run(root, a)),
        Command::Rmi(a) => image_cmd(commands::images::rmi(root, a)),
        Command::Save(a) => image_cmd(commands::archives::save(root, a)),
        Command::Load(a) => image_cmd(commands::archives::load(root, a)),
        Command::Import(a) => image_cmd(commands::archives::import(root, a)),
        Command::Build(a) => commands::build::run(root, a),
        Command::Builder(c) => commands::build::builder(root, c),
        Command::Login(a) => image_cmd(commands::images::login(root, a)),
        Command::Logout(a) => image_cmd(commands::images::logout(root, a)),
        Command::System(c) => image_cmd(commands::images::system(root, c)),
        Command::Storage(c) => image_cmd(commands::images::storage(root, c)),
        Command::Compose(a) => commands::compose::run(root, a),
    }
}

/// Docker's image commands exit 1 on failure (125 is for `run`'s own errors).
fn image_cmd(r: engine::Result<i32>) -> engine::Result<i32> {
    match r {
        Err(e) => {
            eprintln!("berth: {e}");
            Ok(1)
        }
        ok => ok,
    }
}
