//! `compose logs`, and the log multiplexer `up` uses when attached: every container's
//! lines on stdout behind a `SERVICE-N  | ` prefix (coloured per service, padded to
//! the longest name), read from the containers' log files.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use engine::logs::{self, Entry};
use engine::{containers, StateRoot};
use stack::query::Member;

use super::Ctx;

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Follow log output.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Number of lines to show from the end of each container's log ("all" for all).
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps.
    #[arg(short = 't', long)]
    timestamps: bool,
    /// Produce monochrome output.
    #[arg(long = "no-color")]
    no_color: bool,
    /// Don't print a prefix in the logs.
    #[arg(long = "no-log-prefix")]
    no_log_prefix: bool,
    /// The container of the service to show (when it is scaled).
    #[arg(long)]
    index: Option<u32>,
    services: Vec<String>,
}

/// Compose's palette for prefixes: one colour per service, in order.
const COLORS: &[&str] = &[
    "36", "33", "32", "35", "34", "31", "96", "93", "92", "95", "94", "91",
];

/// How lines are printed.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub prefix: bool,
    pub timestamps: bool,
}

/// One followed container.
struct Source {
    id: String,
    prefix: String,
    color: &'static str,
    path: PathBuf,
    offset: u64,
    done: bool,
}

/// An exit `up` reports (`web-1 exited with code 0`).
pub struct Exit {
    pub name: String,
    pub service: String,
    pub code: i32,
}

/// Prints the new lines of a set of containers, and notices when they exit.
pub struct Follower {
    sources: Vec<(Source, String)>,
    width: usize,
    style: Style,
}

/// The name compose prefixes a container's lines with: its name without the project.
pub fn display_name(project: &str, name: &str) -> String {
    name.strip_prefix(&format!("{project}-"))
        .unwrap_or(name)
        .to_string()
}

impl Follower {
    /// `from_start`: print each container's log from the beginning rather than only
    /// what is written from now on.
    pub fn new(project: &str, members: &[(Member, bool)], style: Style) -> Follower {
        let mut colors: BTreeMap<String, &'static str> = BTreeMap::new();
        let mut sources = Vec::new();
        for (m, from_start) in members {
            let n = colors.len();
            let color = *colors
                .entry(m.service.clone())
                .or_insert(COLORS[n % COLORS.len()]);
            let path = PathBuf::from(&m.record.log_path);
            let offset = if *from_start {
                0
            } else {
                std::fs::metadata(&path).map(|md| md.len()).unwrap_or(0)
            };
            sources.push((
                Source {
                    id: m.id().to_string(),
                    prefix: display_name(project, m.name()),
                    color,
                    path,
                    offset,
                    done: false,
                },
                m.service.clone(),
            ));
        }
        let width = sources
            .iter()
            .map(|(s, _)| s.prefix.len())
            .max()
            .unwrap_or(0);
        Follower {
            sources,
            width,
            style,
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.sources.iter().map(|(s, _)| s.prefix.clone()).collect()
    }

    pub fn all_done(&self) -> bool {
        self.sources.iter().all(|(s, _)| s.done)
    }

    /// Prints what was written since the last call; returns the containers that have
    /// stopped since (their logs fully printed).
    pub fn poll(&mut self, root: &StateRoot) -> Vec<Exit> {
        let mut exits = Vec::new();
        for (src, service) in &mut self.sources {
            if src.done {
                continue;
            }
            // The state first: a container seen stopped has its whole log written.
            let state = containers::load(root, &src.id).map(|(_, s)| s);
            if let Ok(f) = File::open(&src.path) {
                if let Ok((entries, off)) = logs::read_from(f, src.offset) {
                    src.offset = off;
                    print_entries(&entries, &src.prefix, src.color, self.width, self.style);
                }
            }
            match state {
                Ok(s) if s.running => {}
                Ok(s) => {
                    src.done = true;
                    exits.push(Exit {
                        name: src.prefix.clone(),
                        service: service.clone(),
                        code: s.exit_code,
                    });
                }
                Err(_) => {
                    src.done = true;
                    exits.push(Exit {
                        name: src.prefix.clone(),
                        service: service.clone(),
                        code: 0,
                    });
                }
            }
        }
        exits
    }

    /// Prints what each log holds now (its last `tail` lines), merged by time, and
    /// goes on from there.
    pub fn print_history(&mut self, tail: Option<usize>) {
        let mut all: Vec<(Entry, usize)> = Vec::new();
        for (i, (src, _)) in self.sources.iter_mut().enumerate() {
            let (mut entries, off) = logs::read_all(&src.path).unwrap_or_default();
            src.offset = off;
            if let Some(n) = tail {
                let skip = entries.len().saturating_sub(n);
                entries.drain(..skip);
            }
            all.extend(entries.into_iter().map(|e| (e, i)));
        }
        all.sort_by(|a, b| a.0.time.cmp(&b.0.time));
        for (e, i) in &all {
            if let Some((src, _)) = self.sources.get(*i) {
                print_entries(
                    std::slice::from_ref(e),
                    &src.prefix,
                    src.color,
                    self.width,
                    self.style,
                );
            }
        }
    }

    /// A line of `up`'s own among the logs (`web-1 exited with code 0`).
    pub fn note(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

fn print_entries(entries: &[Entry], prefix: &str, color: &str, width: usize, style: Style) {
    let mut out = std::io::stdout().lock();
    for e in entries {
        if style.prefix {
            let p = format!("{prefix:<width$} | ");
            if style.color {
                let _ = write!(out, "\x1b[{color}m{p}\x1b[0m");
            } else {
                let _ = write!(out, "{p}");
            }
        }
        if style.timestamps {
            let _ = write!(out, "{} ", e.time);
        }
        let _ = out.write_all(&e.text);
        if !e.text.ends_with(b"\n") {
            let _ = out.write_all(b"\n");
        }
    }
    let _ = out.flush();
}

pub fn run(ctx: &Ctx, args: &LogsArgs) -> stack::Result<i32> {
    let opened = ctx.load_or_labels()?;
    let stack = ctx.stack(&opened.loaded);
    let members: Vec<Member> = stack::ops::select(&stack, &args.services, false)?
        .into_iter()
        .filter(|m| args.index.is_none_or(|i| m.number == i))
        .collect();
    let tail: Option<usize> = match args.tail.as_str() {
        "all" | "-1" => None,
        t => Some(t.parse().map_err(|_| {
            stack::Error::invalid(format!("invalid --tail {t:?}: use a number or \"all\""))
        })?),
    };
    let style = Style {
        color: ctx.color_stdout() && !args.no_color,
        prefix: !args.no_log_prefix,
        timestamps: args.timestamps,
    };
    let project = &stack.project.name;
    let mut follower = Follower::new(
        project,
        &members
            .iter()
            .map(|m| (m.clone(), true))
            .collect::<Vec<_>>(),
        style,
    );
    follower.print_history(tail);
    if !args.follow {
        return Ok(0);
    }
    while !follower.all_done() {
        follower.poll(ctx.root);
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(0)
}
