//! `berth volume create|ls|inspect|rm|prune`.

use clap::{Args, Subcommand};
use engine::{volumes, StateRoot};
use serde_json::{json, Value};

#[derive(Subcommand, Debug)]
pub enum VolumeCommand {
    /// Create a volume.
    Create(CreateArgs),
    /// List volumes.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Show volume details.
    Inspect(InspectArgs),
    /// Remove volumes (refused while a container uses them).
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove unused volumes.
    Prune(PruneArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Set metadata: K=V.
    #[arg(short = 'l', long)]
    label: Vec<String>,
    /// Volume driver (only "local").
    #[arg(short = 'd', long, default_value = "local")]
    driver: String,
    name: Option<String>,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Only display volume names.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Format: table, json, or a Go template.
    #[arg(long)]
    format: Option<String>,
    /// Filter: name=, label=KEY[=VALUE], dangling=true|false.
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    #[arg(short = 'f', long)]
    format: Option<String>,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Do not fail on missing volumes.
    #[arg(short = 'f', long)]
    force: bool,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones.
    #[arg(short = 'a', long)]
    all: bool,
    /// Do not prompt for confirmation.
    #[arg(short = 'f', long)]
    force: bool,
}

pub fn run(root: &StateRoot, cmd: VolumeCommand) -> engine::Result<i32> {
    match cmd {
        VolumeCommand::Create(a) => {
            if a.driver != "local" {
                return Err(engine::Error::invalid(format!(
                    "volume driver {:?} is not supported: use local",
                    a.driver
                )));
            }
            let name = match a.name {
                Some(n) => n,
                None => engine::ids::new_id()?,
            };
            let v = volumes::create(root, &name, engine::options::parse_labels(&a.label), false)?;
            println!("{}", v.name);
            Ok(0)
        }
        VolumeCommand::Ls(a) => {
            let mut list = volumes::list(root)?;
            for f in &a.filter {
                let (k, val) = f.split_once('=').ok_or_else(|| {
                    engine::Error::invalid(format!("bad filter {f:?}: use KEY=VALUE"))
                })?;
                match k {
                    "name" => list.retain(|v| v.name.contains(val)),
                    "label" => list.retain(|v| super::label_matches(&v.labels, val)),
                    "dangling" => {
                        let want = matches!(val, "true" | "1");
                        list.retain(|v| volumes::users(root, &v.name).is_empty() == want)
                    }
                    _ => {
                        return Err(engine::Error::invalid(format!(
                            "invalid filter '{k}': use name, label or dangling"
                        )))
                    }
                }
            }
            if a.quiet {
                for v in &list {
                    println!("{}", v.name);
                }
                return Ok(0);
            }
            let rows: Vec<Value> = list
                .iter()
                .map(|v| {
                    let labels: Vec<String> = v.labels.iter().map(|(k, x)| format!("{k}={x}")).collect();
                    json!({"Name": v.name, "Driver": v.driver, "Mountpoint": v.mountpoint, "Labels": labels.join(","), "Scope": v.scope, "Size": "N/A", "Links": "N/A"})
                })
                .collect();
            let out = crate::format::render_list(
                a.format.as_deref(),
                "table {{.Driver}}\t{{.Name}}",
                &[
                    ("Driver", "DRIVER"),
                    ("Name", "VOLUME NAME"),
                    ("Mountpoint", "MOUNTPOINT"),
                ],
                &rows,
            )
            .map_err(engine::Error::invalid)?;
            print!("{out}");
            Ok(0)
        }
        VolumeCommand::Inspect(a) => {
            let mut docs = Vec::new();
            let mut code = 0;
            for n in &a.names {
                match volumes::inspect(root, n) {
                    Ok(v) => docs.push(serde_json::to_value(v).unwrap_or(Value::Null)),
                    Err(e) => {
                        eprintln!("berth: {e}");
                        code = 1;
                    }
                }
            }
            super::inspect::print_docs(&docs, a.format.as_deref())?;
            Ok(code)
        }
        VolumeCommand::Rm(a) => super::for_each(&a.names, |n| volumes::remove(root, n, a.force)),
        VolumeCommand::Prune(a) => {
            let _ = a.force;
            let removed = volumes::prune(root, a.all)?;
            if !removed.is_empty() {
                println!("Deleted Volumes:");
                for (n, _) in &removed {
                    println!("{n}");
                }
                println!();
            }
            let total: u64 = removed.iter().map(|(_, s)| s).sum();
            println!(
                "Total reclaimed space: {}",
                engine::units::human_size(total)
            );
            Ok(0)
        }
    }
}
