//! `berth logs`.

use std::fs::File;
use std::io::Write;
use std::time::Duration;

use clap::Args;
use engine::logs::{self, Entry, Stream};
use engine::{containers, StateRoot};

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Follow log output until the container stops.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Number of lines to show from the end ("all" for everything).
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps.
    #[arg(short = 't', long)]
    timestamps: bool,
    /// Show logs since a timestamp (RFC 3339) or relative time (e.g. 10m).
    #[arg(long)]
    since: Option<String>,
    /// Show logs before a timestamp (RFC 3339) or relative time.
    #[arg(long)]
    until: Option<String>,
    container: String,
}

fn time_arg(s: &str, flag: &str) -> engine::Result<std::time::SystemTime> {
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(std::time::SystemTime::now() - d);
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t);
    }
    Err(engine::Error::invalid(format!(
        "invalid value for {flag}: {s:?} (use an RFC 3339 time or a duration like 10m)"
    )))
}

fn print(entries: &[Entry], timestamps: bool) {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    for e in entries {
        let w: &mut dyn Write = if e.stream == Stream::Stderr {
            &mut err
        } else {
            &mut out
        };
        if timestamps {
            let _ = write!(w, "{} ", e.time);
        }
        let _ = w.write_all(&e.text);
    }
    let _ = out.flush();
}

pub fn run(root: &StateRoot, args: LogsArgs) -> engine::Result<i32> {
    let id = containers::find(root, &args.container)?;
    let (record, _) = containers::load(root, &id)?;
    let path = std::path::PathBuf::from(&record.log_path);
    let (mut entries, mut offset) = logs::read_all(&path)
        .map_err(|e| engine::Error::invalid(format!("reading {}: {e}", path.display())))?;
    let since = args
        .since
        .as_deref()
        .map(|s| time_arg(s, "--since"))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| time_arg(s, "--until"))
        .transpose()?;
    let in_window = |e: &Entry| {
        let t = engine::time::parse(&e.time);
        since.is_none_or(|s| t.is_some_and(|t| t >= s))
            && until.is_none_or(|u| t.is_some_and(|t| t <= u))
    };
    entries.retain(|e| in_window(e));
    if args.tail != "all" {
        let n: usize = args.tail.parse().map_err(|_| {
            engine::Error::invalid(format!(
                "invalid --tail {:?}: use a number or \"all\"",
                args.tail
            ))
        })?;
        let skip = entries.len().saturating_sub(n);
        entries.drain(..skip);
    }
    print(&entries, args.timestamps);
    if !args.follow {
        return Ok(0);
    }
    loop {
        let running = containers::load(root, &id)
            .map(|(_, s)| s.running)
            .unwrap_or(false);
        if let Ok(f) = File::open(&path) {
            if let Ok((mut new, off)) = logs::read_from(f, offset) {
                offset = off;
                new.retain(|e| in_window(e));
                print(&new, args.timestamps);
            }
        }
        if !running {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
