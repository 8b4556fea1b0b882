//! `compose ps`: the project's containers in Docker Compose's columns (NAME IMAGE
//! COMMAND SERVICE CREATED STATUS PORTS), as JSON lines with its fields, or through a
//! Go template over the same fields.

use clap::Args;
use serde_json::{json, Value};
use stack::query::Member;

use super::Ctx;

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Show all stopped containers (including those created by the run command).
    #[arg(short = 'a', long)]
    all: bool,
    /// Only display IDs.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Display services.
    #[arg(long)]
    services: bool,
    /// Filter services by status: paused, restarting, removing, running, dead,
    /// created, exited.
    #[arg(long, value_name = "STATUS")]
    status: Vec<String>,
    /// Format: table, json, or a Go template.
    #[arg(long)]
    format: Option<String>,
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    #[arg(value_name = "SERVICE")]
    names: Vec<String>,
}

const DEFAULT_TABLE: &str = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Name", "NAME"),
    ("Names", "NAMES"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("Service", "SERVICE"),
    ("Project", "PROJECT"),
    ("RunningFor", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Status", "STATUS"),
    ("State", "STATE"),
    ("Health", "HEALTH"),
    ("ExitCode", "EXIT CODE"),
    ("Ports", "PORTS"),
    ("Publishers", "PUBLISHERS"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
    ("Size", "SIZE"),
];

const STATUSES: &[&str] = &[
    "paused",
    "restarting",
    "removing",
    "running",
    "dead",
    "created",
    "exited",
];

/// Docker Compose's `Publishers`: every published port with where it is bound, then
/// the exposed ones that are not published (PublishedPort 0).
fn publishers(m: &Member) -> Value {
    let mut out = Vec::new();
    let ports = &m.state.network_settings.ports;
    for (key, list) in ports {
        let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        for b in list {
            out.push(json!({
                "URL": b.host_ip,
                "TargetPort": port.parse::<u64>().unwrap_or(0),
                "PublishedPort": b.host_port.parse::<u64>().unwrap_or(0),
                "Protocol": proto,
            }));
        }
    }
    for key in m.record.config.exposed_ports.iter().flat_map(|p| p.keys()) {
        if ports.get(key).is_some_and(|l| !l.is_empty()) {
            continue;
        }
        let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        out.push(json!({
            "URL": "",
            "TargetPort": port.parse::<u64>().unwrap_or(0),
            "PublishedPort": 0,
            "Protocol": proto,
        }));
    }
    Value::Array(out)
}

/// Docker Compose's row: `docker ps`'s, with the full id, the project and service,
/// health, exit code and the ports as `Publishers`.
pub fn row(m: &Member, project: &str, no_trunc: bool) -> Value {
    let mut row = crate::commands::ps::row(&m.record, &m.state, no_trunc);
    if let Value::Object(fields) = &mut row {
        for (k, v) in [
            ("ID", json!(m.record.id)),
            ("Name", json!(m.name())),
            ("Names", json!(m.name())),
            ("Project", json!(project)),
            ("Service", json!(m.service)),
            (
                "Health",
                json!(m.state.health.as_ref().map_or("", |h| h.status.as_str())),
            ),
            ("ExitCode", json!(m.state.exit_code)),
            ("Publishers", publishers(m)),
            ("Size", json!("0B")),
        ] {
            fields.insert(k.to_string(), v);
        }
    }
    row
}

pub fn run(ctx: &Ctx, args: &PsArgs) -> stack::Result<i32> {
    for s in &args.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(stack::Error::invalid(format!(
                "invalid --status {s:?}: use one of {}",
                STATUSES.join(", ")
            )));
        }
    }
    let opened = ctx.load_or_labels()?;
    let stack = ctx.stack(&opened.loaded);
    let mut members: Vec<Member> = stack::ops::select(&stack, &args.names, args.all)?
        .into_iter()
        .filter(|m| {
            if args.status.is_empty() {
                args.all || m.state.running
            } else {
                args.status.iter().any(|s| s == m.state.status.as_str())
            }
        })
        .collect();
    members.sort_by(|a, b| a.name().cmp(b.name()));
    if args.quiet {
        for m in &members {
            println!("{}", m.id());
        }
        return Ok(0);
    }
    if args.services {
        let mut seen = Vec::new();
        for m in &members {
            if !seen.contains(&m.service) {
                println!("{}", m.service);
                seen.push(m.service.clone());
            }
        }
        return Ok(0);
    }
    let project = &stack.project.name;
    let rows: Vec<Value> = members
        .iter()
        .map(|m| row(m, project, args.no_trunc))
        .collect();
    let out = crate::format::render_list(args.format.as_deref(), DEFAULT_TABLE, HEADERS, &rows)
        .map_err(stack::Error::invalid)?;
    print!("{out}");
    Ok(0)
}
