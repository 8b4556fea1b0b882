//! `berth compose`: the project flags (`-f`, `-p`, `--profile`, `--env-file`,
//! `--project-directory`, `--ansi`, `--progress`) between `compose` and the
//! subcommand, as in Docker, loading the project, and one file per subcommand (or
//! small group) that makes one call into the `stack` crate and prints the result the
//! way Docker Compose does. Holds no container logic.

mod config;
mod down;
mod exec;
mod images;
mod lifecycle;
mod logs;
mod ls;
mod port;
mod progress;
mod ps;
mod run;
mod top;
mod up;
mod yaml;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use compose::load::{LoadOptions, Loaded};
use compose::model::Project;
use engine::StateRoot;

pub use progress::Printer;

#[derive(Args, Debug)]
pub struct ComposeArgs {
    /// Compose configuration files (repeatable; - reads stdin).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Vec<PathBuf>,
    /// Project name.
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    project_name: Option<String>,
    /// Activate a profile (repeatable).
    #[arg(long, value_name = "PROFILE")]
    profile: Vec<String>,
    /// An alternate environment file (repeatable).
    #[arg(long = "env-file", value_name = "FILE")]
    env_file: Vec<PathBuf>,
    /// The project's working directory (default: the first file's directory).
    #[arg(long = "project-directory", value_name = "DIR")]
    project_directory: Option<PathBuf>,
    /// Control when to print ANSI control characters.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["never", "always", "auto"])]
    ansi: String,
    /// Progress output: auto, tty, plain, json or quiet.
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = ["auto", "tty", "plain", "json", "quiet"])]
    progress: String,
    #[command(subcommand)]
    command: ComposeCommand,
}

#[derive(Subcommand, Debug)]
enum ComposeCommand {
    /// Create and start the project's containers.
    Up(up::UpArgs),
    /// Stop and remove the project's containers and networks.
    Down(down::DownArgs),
    /// List the project's containers.
    Ps(ps::PsArgs),
    /// Print the containers' logs.
    Logs(logs::LogsArgs),
    /// Run a command in a running service container.
    Exec(exec::ExecArgs),
    /// Run a one-off command on a service.
    Run(run::RunArgs),
    /// Print the public address of a port.
    Port(port::PortArgs),
    /// Start the services' existing containers.
    Start(lifecycle::ServicesArgs),
    /// Stop the services' containers.
    Stop(lifecycle::StopArgs),
    /// Restart the services' containers.
    Restart(lifecycle::StopArgs),
    /// Send a signal to the services' containers.
    Kill(lifecycle::KillArgs),
    /// Remove stopped service containers.
    Rm(lifecycle::RmArgs),
    /// Pull the services' images.
    Pull(images::PullArgs),
    /// Build the services' images.
    Build(images::BuildArgs),
    /// Print the images the containers use.
    Images(images::ImagesArgs),
    /// Print the loaded project.
    Config(config::ConfigArgs),
    /// List the projects.
    Ls(ls::LsArgs),
    /// Print the processes of the containers.
    Top(lifecycle::ServicesArgs),
}

/// What every subcommand gets: the state root, the project flags, how to report.
pub struct Ctx<'a> {
    root: &'a StateRoot,
    args: &'a ComposeArgs,
    printer: Printer,
}

/// A loaded project; `labels_only` when there was no compose file and `-p` named the
/// project, so only what the labels say is known (as `docker compose -p X down`).
pub struct Opened {
    pub loaded: Loaded,
    pub labels_only: bool,
}

impl Ctx<'_> {
    fn load_options(&self) -> stack::Result<LoadOptions> {
        let cwd = std::env::current_dir()
            .map_err(|e| stack::Error::invalid(format!("reading the current directory: {e}")))?;
        Ok(LoadOptions {
            files: self.args.file.clone(),
            project_name: self.args.project_name.clone(),
            project_directory: self.args.project_directory.clone(),
            env_files: self.args.env_file.clone(),
            profiles: self.args.profile.clone(),
            environment: environment(),
            cwd,
            enable: Vec::new(),
        })
    }

    /// Loads the project from its files.
    fn load(&self) -> stack::Result<Loaded> {
        self.load_enabling(&[])
    }

    /// [`Ctx::load`], with the services named on the command line enabled whatever
    /// their profiles.
    fn load_enabling(&self, services: &[String]) -> stack::Result<Loaded> {
        let mut opts = self.load_options()?;
        opts.enable = services.to_vec();
        let loaded = compose::load::load(&opts).map_err(|e| stack::Error::invalid(e.0))?;
        for w in &loaded.warnings {
            stack::Events::warning(&self.printer, w);
        }
        Ok(loaded)
    }

    /// Loads the project, or with `-p` and no compose file to be found, an empty
    /// project of that name: commands that act on existing containers then work from
    /// the labels alone.
    fn load_or_labels(&self) -> stack::Result<Opened> {
        match self.load() {
            Ok(loaded) => Ok(Opened {
                loaded,
                labels_only: false,
            }),
            Err(e) => {
                let (Some(name), true) = (&self.args.project_name, self.args.file.is_empty())
                else {
                    return Err(e);
                };
                if self.has_compose_file() {
                    return Err(e);
                }
                compose::load::check_project_name(name, "-p")
                    .map_err(|e| stack::Error::invalid(e.0))?;
                let cwd = std::env::current_dir().unwrap_or_default();
                Ok(Opened {
                    loaded: Loaded {
                        project: Project {
                            name: name.clone(),
                            working_dir: cwd,
                            ..Default::default()
                        },
                        disabled: Vec::new(),
                        files: Vec::new(),
                        warnings: Vec::new(),
                        environment: environment().into_iter().collect(),
                    },
                    labels_only: true,
                })
            }
        }
    }

    /// Whether the project directory (or the current one) has a compose file.
    fn has_compose_file(&self) -> bool {
        let dir = self
            .args
            .project_directory
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default();
        [
            "compose.yaml",
            "compose.yml",
            "docker-compose.yaml",
            "docker-compose.yml",
        ]
        .iter()
        .any(|f| dir.join(f).exists())
    }

    fn stack<'s>(&'s self, loaded: &'s Loaded) -> stack::Stack<'s> {
        stack::Stack {
            root: self.root,
            project: &loaded.project,
            config_files: loaded.files.clone(),
            environment: loaded
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            events: &self.printer,
        }
    }

    /// Whether to colour output on stdout (`--ansi`, else when stdout is a terminal).
    fn color_stdout(&self) -> bool {
        match self.args.ansi.as_str() {
            "always" => true,
            "never" => false,
            _ => std::io::stdout().is_terminal(),
        }
    }

    /// The engine's pull progress, drawn like `berth pull`'s unless quiet.
    fn pull_progress(&self) -> crate::progress::Reporter {
        crate::progress::Reporter::new(self.args.progress == "quiet", crate::progress::Sink::Stderr)
    }
}

/// The process environment, for interpolation and `env_file` references.
fn environment() -> Vec<(String, String)> {
    std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

pub fn run(root: &StateRoot, args: ComposeArgs) -> engine::Result<i32> {
    let printer = Printer::new(&args.progress, &args.ansi);
    let ctx = Ctx {
        root,
        args: &args,
        printer,
    };
    let result = match &args.command {
        ComposeCommand::Up(a) => up::run(&ctx, a),
        ComposeCommand::Down(a) => down::run(&ctx, a),
        ComposeCommand::Ps(a) => ps::run(&ctx, a),
        ComposeCommand::Logs(a) => logs::run(&ctx, a),
        ComposeCommand::Exec(a) => exec::run(&ctx, a),
        ComposeCommand::Run(a) => run::run(&ctx, a),
        ComposeCommand::Port(a) => port::run(&ctx, a),
        ComposeCommand::Start(a) => lifecycle::start(&ctx, a),
        ComposeCommand::Stop(a) => lifecycle::stop(&ctx, a),
        ComposeCommand::Restart(a) => lifecycle::restart(&ctx, a),
        ComposeCommand::Kill(a) => lifecycle::kill(&ctx, a),
        ComposeCommand::Rm(a) => lifecycle::rm(&ctx, a),
        ComposeCommand::Pull(a) => images::pull(&ctx, a),
        ComposeCommand::Build(a) => images::build(&ctx, a),
        ComposeCommand::Images(a) => images::images(&ctx, a),
        ComposeCommand::Config(a) => config::run(&ctx, a),
        ComposeCommand::Ls(a) => ls::run(&ctx, a),
        ComposeCommand::Top(a) => top::run(&ctx, a),
    };
    // Docker Compose exits 1 on every failure of its own.
    match result {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("berth: {e}");
            Ok(1)
        }
    }
}
