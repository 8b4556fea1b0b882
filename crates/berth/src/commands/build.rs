//! `berth build` and `berth builder prune`: flags in, Docker-like plain progress out
//! (on stderr; the image id alone on stdout). The build itself is `build::build`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use engine::StateRoot;

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Name and optionally a tag (`name:tag`); repeatable.
    #[arg(short = 't', long = "tag", value_name = "NAME[:TAG]")]
    tags: Vec<String>,
    /// The Dockerfile (default: CONTEXT/Dockerfile; `-` reads it from stdin).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// A build-time variable (`NAME=VALUE`, or `NAME` to pass it from the environment).
    #[arg(long = "build-arg", value_name = "NAME[=VALUE]")]
    build_args: Vec<String>,
    /// The stage to build (default: the last one).
    #[arg(long)]
    target: Option<String>,
    /// Run every step, ignoring the build cache.
    #[arg(long)]
    no_cache: bool,
    /// A label for the image; repeatable.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,
    /// The network RUN steps use: bridge (default, as Docker), none, host or a network name.
    #[arg(long)]
    network: Option<String>,
    /// Always pull the images the build names (FROM, COPY --from), even when present.
    #[arg(long)]
    pull: bool,
    /// Where the image goes: `type=image` (the local store, default), `type=registry`
    /// (store and push), `type=docker,dest=FILE` or `type=oci,dest=FILE` (an archive;
    /// `dest=-` is stdout).
    #[arg(short = 'o', long = "output", value_name = "type=TYPE[,dest=FILE]")]
    output: Option<String>,
    /// Push the tagged image to its registry after building (`--output type=registry`).
    #[arg(long)]
    push: bool,
    /// Print only the image id.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// The build context directory.
    #[arg(value_name = "CONTEXT")]
    context: PathBuf,
}

pub fn run(root: &StateRoot, a: BuildArgs) -> engine::Result<i32> {
    let output = match (&a.output, a.push) {
        (Some(spec), push) => match build::Output::parse(spec) {
            Ok(build::Output::Image { names, .. }) if push => {
                Some(build::Output::Image { names, push: true })
            }
            Ok(_) if push => {
                eprintln!("berth: --push goes with type=image or type=registry outputs only");
                return Ok(125);
            }
            Ok(o) => Some(o),
            Err(e) => {
                eprintln!("berth: {e}");
                return Ok(125);
            }
        },
        (None, true) => Some(build::Output::Image {
            names: Vec::new(),
            push: true,
        }),
        (None, false) => None,
    };
    let to_stdout = matches!(
        output,
        Some(build::Output::Archive {
            dest: build::output::Dest::Stdout,
            ..
        })
    );
    if to_stdout && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        eprintln!("berth: refusing to write an image archive to a terminal: redirect stdout or give dest=FILE");
        return Ok(125);
    }
    let opts = build::BuildOptions {
        context: a.context,
        dockerfile: a.file,
        tags: a.tags.clone(),
        build_args: a.build_args,
        target: a.target,
        no_cache: a.no_cache,
        labels: a.labels,
        network: a.network,
        pull: a.pull,
        output,
        dockerfile_inline: None,
    };
    let quiet = a.quiet;
    let mut err = std::io::stderr().lock();
    // In quiet mode a failing step's output is still worth showing, so it is kept.
    let mut last_output: Vec<u8> = Vec::new();
    let mut report = |e: build::Event<'_>| match e {
        build::Event::Step { n, label, text } => {
            last_output.clear();
            if !quiet {
                let _ = writeln!(err, "#{n} [{label}] {text}");
            }
        }
        build::Event::Cached { n } => {
            if !quiet {
                let _ = writeln!(err, "#{n} CACHED");
            }
        }
        build::Event::Output { n, text } => {
            last_output.extend_from_slice(text);
            if !quiet {
                for line in String::from_utf8_lossy(text).lines() {
                    let _ = writeln!(err, "#{n} {line}");
                }
            }
        }
        build::Event::Done { n, seconds } => {
            if !quiet {
                let _ = writeln!(err, "#{n} DONE {seconds:.1}s");
            }
        }
        build::Event::Warning(w) => {
            let _ = writeln!(err, "berth: {w}");
        }
    };
    match build::build(root, &opts, &mut report) {
        Ok(id) => {
            if !quiet {
                let mut err = std::io::stderr();
                match &opts.output {
                    Some(build::Output::Archive { dest, .. }) => {
                        let to = match dest {
                            build::output::Dest::File(p) => p.display().to_string(),
                            build::output::Dest::Stdout => "stdout".into(),
                        };
                        let _ = writeln!(err, "exporting image {id} to {to} done");
                    }
                    other => {
                        let _ = writeln!(err, "writing image {id} done");
                        let names = match other {
                            Some(build::Output::Image { names, .. }) => names.as_slice(),
                            _ => &[],
                        };
                        for t in a.tags.iter().chain(names) {
                            let _ = writeln!(err, "naming to {t} done");
                        }
                        if let Some(build::Output::Image { push: true, .. }) = other {
                            let _ = writeln!(
                                err,
                                "pushing {} done",
                                a.tags
                                    .iter()
                                    .chain(names)
                                    .cloned()
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            );
                        }
                    }
                }
            }
            // The archive itself is on stdout then.
            if !to_stdout {
                println!("{id}");
            }
            Ok(0)
        }
        Err(e) => {
            if quiet && !last_output.is_empty() {
                let _ = std::io::stderr().write_all(&last_output);
            }
            eprintln!("berth: {e}");
            Ok(e.exit_code())
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum BuilderCommand {
    /// Forget the build cache (the layers go at the next image prune).
    Prune {
        /// Do not ask for confirmation (there is nothing to confirm: accepted for Docker compatibility).
        #[arg(short = 'f', long)]
        force: bool,
        /// Accepted for Docker compatibility: the whole cache is always pruned.
        #[arg(short = 'a', long)]
        all: bool,
    },
}

pub fn builder(root: &StateRoot, c: BuilderCommand) -> engine::Result<i32> {
    match c {
        BuilderCommand::Prune { .. } => match build::cache::Cache::open(root.dir()).prune() {
            Ok(n) => {
                println!("Deleted build cache entries: {n}");
                Ok(0)
            }
            Err(e) => {
                eprintln!("berth: {e}");
                Ok(1)
            }
        },
    }
}
