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
    /// A secret for `RUN --mount=type=secret` (never stored in the image or cache);
    /// repeatable. With neither src nor env, the variable ID, else the file ID.
    #[arg(long = "secret", value_name = "id=ID[,src=PATH|,env=VAR]")]
    secrets: Vec<String>,
    /// Print only the image id.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// The build context directory.
    #[arg(value_name = "CONTEXT")]
    context: PathBuf,
}

pub fn run(root: &StateRoot, a: BuildArgs) -> engine::Result<i32> {
    let opts = build::BuildOptions {
        context: a.context,
        dockerfile: a.file,
        tags: a.tags.clone(),
        build_args: a.build_args,
        target: a.target,
        no_cache: a.no_cache,
        labels: a.labels,
        network: a.network,
        secrets: a.secrets,
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
                let _ = writeln!(std::io::stderr(), "writing image {id} done");
                for t in &a.tags {
                    let _ = writeln!(std::io::stderr(), "naming to {t} done");
                }
            }
            println!("{id}");
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
    /// Forget the build cache and delete cache mounts (the layers go at the next image prune).
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
        BuilderCommand::Prune { .. } => {
            let pruned = build::cache::Cache::open(root.dir())
                .prune()
                .and_then(|n| Ok((n, build::mounts::cache_dirs::prune(root.dir())?)));
            match pruned {
                Ok((n, (mounts, busy))) => {
                    println!("Deleted build cache entries: {n}");
                    println!("Deleted cache mounts: {mounts}");
                    if busy > 0 {
                        eprintln!(
                            "berth: {busy} cache mount(s) in use by a running build were kept"
                        );
                    }
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("berth: {e}");
                    Ok(1)
                }
            }
        }
    }
}
