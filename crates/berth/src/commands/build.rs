//! `berth build` and `berth builder prune`: flags in, Docker-like progress out (on
//! stderr; the image id alone on stdout): plain lines, the live tty view
//! (`progress_tty`), or nothing. The build itself is `build::build`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use engine::StateRoot;

mod progress_tty;

/// `--progress`, as Docker's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// tty when stderr is a terminal, else plain.
    Auto,
    Plain,
    Tty,
    Quiet,
}

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
    /// A named context for `COPY --from=NAME`, `RUN --mount=from=NAME` and `FROM NAME`:
    /// a directory, a git URL or `docker-image://REF`; repeatable.
    #[arg(long = "build-context", value_name = "NAME=VALUE")]
    build_contexts: Vec<String>,
    /// An /etc/hosts line for RUN steps (`HOST:IP`; `host-gateway` is the bridge's
    /// gateway); repeatable.
    #[arg(long = "add-host", value_name = "HOST:IP")]
    add_hosts: Vec<String>,
    /// Accepted for Docker compatibility and ignored with a warning: berth keeps its
    /// build cache locally only.
    #[arg(long = "cache-from", value_name = "SOURCE", hide = true)]
    cache_from: Vec<String>,
    #[arg(long = "cache-to", value_name = "DEST", hide = true)]
    cache_to: Vec<String>,
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
    /// A secret for `RUN --mount=type=secret` (never stored in the image or cache);
    /// repeatable. With neither src nor env, the variable ID, else the file ID.
    #[arg(long = "secret", value_name = "id=ID[,src=PATH|,env=VAR]")]
    secrets: Vec<String>,
    /// An SSH agent for `RUN --mount=type=ssh`: `default` ($SSH_AUTH_SOCK) or ID=SOCKET;
    /// repeatable.
    #[arg(long = "ssh", value_name = "default|ID=SOCKET")]
    ssh: Vec<String>,
    /// Print only the image id.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// How to show progress: auto, plain, tty or quiet (default: $BUILDKIT_PROGRESS, else auto).
    #[arg(long, value_enum, value_name = "TYPE")]
    progress: Option<Progress>,
    /// Write the image id to this file.
    #[arg(long, value_name = "FILE")]
    iidfile: Option<PathBuf>,
    /// The platform to build for: berth builds for the host's only (accepted when it
    /// is the host's, as a script written for buildx passes it).
    #[arg(long, value_name = "OS/ARCH")]
    platform: Option<String>,
    /// Accepted for buildx compatibility: the image goes to the local store anyway.
    #[arg(long)]
    load: bool,
    /// The build context: a directory, a git repository URL (`URL#ref:dir`), or `-` for
    /// standard input (a tar of the context, or the Dockerfile alone).
    #[arg(value_name = "CONTEXT")]
    context: PathBuf,
}

pub fn run(root: &StateRoot, a: BuildArgs) -> engine::Result<i32> {
    if let Some(p) = &a.platform {
        if let Err(e) = check_platform(p) {
            eprintln!("berth: {e}");
            return Ok(125);
        }
    }
    if !a.cache_from.is_empty() || !a.cache_to.is_empty() {
        eprintln!("berth: warning: --cache-from and --cache-to are ignored: berth's build cache is local to its state root");
    }
    if a.load && a.output.is_some() {
        eprintln!("berth: --load and --output both say where the image goes: give one");
        return Ok(125);
    }
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
        add_hosts: a.add_hosts,
        build_contexts: a.build_contexts,
        output,
        dockerfile_inline: None,
        secrets: a.secrets,
        ssh: a.ssh,
        secret_values: Default::default(),
    };
    let mode = match progress_mode(a.quiet, a.progress) {
        Ok(m) => m,
        Err(msg) => {
            eprintln!("berth: {msg}");
            return Ok(125);
        }
    };
    let quiet = mode == Progress::Quiet;
    let tty = mode == Progress::Tty;
    let mut screen = tty.then(|| {
        let width = runtime::sys::get_winsize(runtime::sys::borrow(2))
            .map(|w| usize::from(w.ws_col))
            .ok()
            .filter(|&c| c > 0)
            .unwrap_or(80);
        progress_tty::Screen::new(std::io::stderr(), width)
    });
    // In quiet and tty mode a failing step's output is still worth showing, so the
    // current step's is kept; tty mode shows warnings after its last screen.
    let mut last_output: Vec<u8> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut err = std::io::stderr();
    let mut report = |e: build::Event<'_>| {
        match &e {
            build::Event::Step { .. } => last_output.clear(),
            build::Event::Output { text, .. } => last_output.extend_from_slice(text),
            build::Event::Warning(w) if screen.is_some() => warnings.push(w.to_string()),
            _ => {}
        }
        if let Some(s) = screen.as_mut() {
            s.event(&e);
            return;
        }
        match e {
            build::Event::Step { n, label, text } => {
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
            build::Event::Tick => {}
        }
    };
    let result = build::build(root, &opts, &mut report);
    if let Some(s) = screen.as_mut() {
        s.finish(result.is_err());
    }
    for w in &warnings {
        eprintln!("berth: {w}");
    }
    match result {
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
            if let Some(path) = &a.iidfile {
                if let Err(e) = std::fs::write(path, id.to_string()) {
                    eprintln!("berth: writing the image id to {}: {e}", path.display());
                    return Ok(1);
                }
            }
            // The archive itself is on stdout then.
            if !to_stdout {
                println!("{id}");
            }
            Ok(0)
        }
        Err(e) => {
            if (quiet || tty) && !last_output.is_empty() {
                let _ = std::io::stderr().write_all(&last_output);
                if !last_output.ends_with(b"\n") {
                    eprintln!();
                }
            }
            eprintln!("berth: {e}");
            Ok(e.exit_code())
        }
    }
}

/// `-q`, `--progress`, then `BUILDKIT_PROGRESS`; `auto` becomes tty or plain.
fn progress_mode(quiet: bool, flag: Option<Progress>) -> Result<Progress, String> {
    let chosen = match (quiet, flag) {
        (true, _) => Progress::Quiet,
        (false, Some(p)) => p,
        (false, None) => match std::env::var("BUILDKIT_PROGRESS") {
            Ok(v) if !v.is_empty() => Progress::from_str(&v, true)
                .map_err(|_| format!("BUILDKIT_PROGRESS={v:?}: use auto, plain, tty or quiet"))?,
            _ => Progress::Auto,
        },
    };
    Ok(match chosen {
        Progress::Auto if std::io::stderr().is_terminal() => Progress::Tty,
        Progress::Auto => Progress::Plain,
        other => other,
    })
}

#[derive(Subcommand, Debug)]
pub enum BuilderCommand {
    /// Forget the build cache and cache mounts, and delete the layers only the cache kept.
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
            let pruned = build::cache::prune(root).and_then(|(n, bytes)| {
                Ok((n, bytes, build::mounts::cache_dirs::prune(root.dir())?))
            });
            match pruned {
                Ok((n, bytes, (mounts, busy))) => {
                    println!("Deleted build cache entries: {n}");
                    println!("Deleted cache mounts: {mounts}");
                    if busy > 0 {
                        eprintln!(
                            "berth: {busy} cache mount(s) in use by a running build were kept"
                        );
                    }
                    println!(
                        "Total reclaimed space: {}",
                        engine::units::human_size(bytes)
                    );
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

/// `--platform`: one platform, the host's (`linux/amd64`, `linux/arm64/v8`, `local`).
fn check_platform(given: &str) -> Result<(), String> {
    let host = registry::Platform::host();
    if given == "local" {
        return Ok(());
    }
    let wanted =
        registry::Platform::parse(given).map_err(|e| format!("--platform {given:?}: {e}"))?;
    if wanted.os == host.os && wanted.architecture == host.architecture {
        return Ok(());
    }
    Err(format!(
        "--platform {given}: berth builds only for this host's platform ({host}); build on a {} machine",
        wanted
    ))
}
