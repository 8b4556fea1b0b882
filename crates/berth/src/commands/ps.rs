//! `berth ps`.

use clap::Args;
use engine::record::{Record, State, Status};
use engine::{containers, time, StateRoot};
use serde_json::{json, Value};

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Show all containers (default shows just running).
    #[arg(short = 'a', long)]
    all: bool,
    /// Only display container ids.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Show the latest created container (includes all states).
    #[arg(short = 'l', long)]
    latest: bool,
    /// Show the n last created containers (includes all states).
    #[arg(short = 'n', long = "last", allow_hyphen_values = true)]
    last: Option<i64>,
    /// Filter: name=, id=, status=, label=KEY[=VALUE], exited=CODE,
    /// health=starting|healthy|unhealthy|none.
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Format: table, json, or a Go template.
    #[arg(long)]
    format: Option<String>,
}

const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("RunningFor", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Status", "STATUS"),
    ("Ports", "PORTS"),
    ("Names", "NAMES"),
    ("State", "STATE"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
    ("Size", "SIZE"),
];

/// Docker's STATUS column.
pub fn status_text(state: &State) -> String {
    match state.status {
        Status::Created => "Created".into(),
        Status::Running => match &state.health {
            Some(h) => format!(
                "Up {} ({})",
                time::human_duration(time::since(&state.started_at)),
                engine::health::status_suffix(h)
            ),
            None => format!(
                "Up {}",
                time::human_duration(time::since(&state.started_at))
            ),
        },
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            state.exit_code,
            time::human_duration(time::since(&state.finished_at))
        ),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            state.exit_code,
            time::human_duration(time::since(&state.finished_at))
        ),
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
    }
}

pub fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

pub fn created_at(ts: &str) -> String {
    // Docker prints Go's time.String(): "2026-11-23 09:38:29 +0000 UTC".
    let date = ts.get(..10).unwrap_or(ts);
    let clock = ts.get(11..19).unwrap_or("");
    format!("{date} {clock} +0000 UTC")
}

/// One container as `ps --format json` shows it (compose's `ps` adds its own fields).
pub(crate) fn row(record: &Record, state: &State, no_trunc: bool) -> Value {
    let command = format!("{:?}", record.args_full().join(" "));
    let labels: Vec<String> = record
        .config
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mounts: Vec<String> = record
        .host_config
        .mounts
        .iter()
        .map(|m| {
            if m.source.is_empty() {
                m.target.clone()
            } else {
                m.source.clone()
            }
        })
        .collect();
    let volumes = record
        .host_config
        .mounts
        .iter()
        .filter(|m| m.kind == engine::record::MountType::Volume)
        .count();
    json!({
        "ID": if no_trunc { record.id.clone() } else { record.id[..12].to_string() },
        "Image": record.config.image,
        "Command": if no_trunc { command } else { ellipsis(&command, 20) },
        "CreatedAt": created_at(&record.created),
        "RunningFor": format!("{} ago", time::human_duration(time::since(&record.created))),
        "Status": status_text(state),
        "State": state.status.as_str(),
        "Ports": ports_text(state),
        "Names": record.short_name(),
        "Labels": labels.join(","),
        "Mounts": mounts.join(","),
        "Networks": if record.networking_config.endpoints_config.is_empty() { record.host_config.network_mode.clone() } else { record.networking_config.endpoints_config.keys().cloned().collect::<Vec<_>>().join(",") },
        "LocalVolumes": volumes.to_string(),
        "Size": "",
    })
}

fn matches(filter: &str, record: &Record, state: &State) -> engine::Result<bool> {
    let (key, value) = filter
        .split_once('=')
        .ok_or_else(|| engine::Error::invalid(format!("bad filter {filter:?}: use KEY=VALUE")))?;
    Ok(match key {
        "name" => record.short_name().contains(value),
        "id" => record.id.starts_with(value),
        "status" => state.status.as_str() == value,
        "exited" => {
            state.status == Status::Exited
                && value.parse::<i32>().is_ok_and(|c| c == state.exit_code)
        }
        "label" => match value.split_once('=') {
            Some((k, v)) => record.config.labels.get(k).is_some_and(|x| x == v),
            None => record.config.labels.contains_key(value),
        },
        "health" => {
            if !matches!(value, "starting" | "healthy" | "unhealthy" | "none") {
                return Err(engine::Error::invalid(format!(
                    "Unrecognised filter value for health: {value}"
                )));
            }
            state.health.as_ref().map_or("none", |h| h.status.as_str()) == value
        }
        _ => {
            return Err(engine::Error::invalid(format!(
                "invalid filter '{key}': use name, id, status, label, exited or health"
            )))
        }
    })
}

pub fn run(root: &StateRoot, args: PsArgs) -> engine::Result<i32> {
    // Bad filters are errors even when no container is there to test them on.
    for f in &args.filter {
        matches(f, &Record::default(), &State::default())?;
    }
    let mut list = containers::list(root);
    let all = args.all
        || args.latest
        || args.last.is_some()
        || args
            .filter
            .iter()
            .any(|f| f.starts_with("status=") || f.starts_with("exited="));
    if !all {
        list.retain(|(_, s)| s.running);
    }
    let mut kept = Vec::new();
    for (r, s) in list {
        let mut ok = true;
        for f in &args.filter {
            ok &= matches(f, &r, &s)?;
        }
        if ok {
            kept.push((r, s));
        }
    }
    if args.latest {
        kept.truncate(1);
    } else if let Some(n) = args.last.filter(|n| *n >= 0) {
        kept.truncate(n as usize);
    }
    if args.quiet {
        for (r, _) in &kept {
            println!(
                "{}",
                if args.no_trunc {
                    r.id.as_str()
                } else {
                    &r.id[..12]
                }
            );
        }
        return Ok(0);
    }
    let rows: Vec<Value> = kept.iter().map(|(r, s)| row(r, s, args.no_trunc)).collect();
    let out = crate::format::render_list(args.format.as_deref(), DEFAULT_TABLE, HEADERS, &rows)
        .map_err(engine::Error::invalid)?;
    print!("{out}");
    Ok(0)
}

/// Docker's PORTS column: `127.0.0.1:8080->80/tcp, 0.0.0.0:32768->53/udp`.
pub fn ports_text(state: &engine::record::State) -> String {
    let mut v = Vec::new();
    for (key, list) in &state.network_settings.ports {
        for b in list {
            let ip = if b.host_ip.contains(':') {
                format!("[{}]", b.host_ip)
            } else {
                b.host_ip.clone()
            };
            v.push(format!("{ip}:{}->{key}", b.host_port));
        }
    }
    v.join(", ")
}
