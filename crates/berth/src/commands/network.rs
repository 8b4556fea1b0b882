//! `berth network create|ls|inspect|rm|prune`.

use clap::{Args, Subcommand};
use engine::{networks, StateRoot};
use serde_json::{json, Value};

#[derive(Subcommand, Debug)]
pub enum NetworkCommand {
    /// Create a bridge network.
    Create(CreateArgs),
    /// List networks.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Show network details, with the running containers attached.
    Inspect(InspectArgs),
    /// Remove networks (refused while running containers are attached).
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove networks no container refers to.
    Prune(PruneArgs),
    /// Connect a container to a network (a running one at once).
    Connect(ConnectArgs),
    /// Disconnect a container from a network.
    Disconnect(DisconnectArgs),
}

#[derive(Args, Debug)]
pub struct ConnectArgs {
    /// Add a network-scoped alias.
    #[arg(long)]
    alias: Vec<String>,
    /// IPv4 address on the network.
    #[arg(long)]
    ip: Option<String>,
    network: String,
    container: String,
}

#[derive(Args, Debug)]
pub struct DisconnectArgs {
    /// Accepted for Docker compatibility.
    #[arg(short = 'f', long)]
    force: bool,
    network: String,
    container: String,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Driver (only "bridge").
    #[arg(short = 'd', long)]
    driver: Option<String>,
    /// Subnet in CIDR form, e.g. 10.50.0.0/24 (default: a free one).
    #[arg(long)]
    subnet: Option<String>,
    /// Gateway address inside the subnet (default: its first address).
    #[arg(long)]
    gateway: Option<String>,
    /// No route out and no reachability of the host.
    #[arg(long)]
    internal: bool,
    /// Set metadata: K=V.
    #[arg(long)]
    label: Vec<String>,
    /// IPv6 (not supported yet: refused).
    #[arg(long)]
    ipv6: bool,
    name: String,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Only display network ids.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Format: table, json, or a Go template.
    #[arg(long)]
    format: Option<String>,
    /// Filter: name=, id=, label=KEY[=VALUE], driver=.
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Do not truncate ids.
    #[arg(long = "no-trunc")]
    no_trunc: bool,
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
    /// Do not fail on missing networks.
    #[arg(short = 'f', long)]
    force: bool,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Do not prompt for confirmation.
    #[arg(short = 'f', long)]
    force: bool,
}

/// `network inspect`'s document: the record plus the running containers on it.
fn document(root: &StateRoot, n: &networks::Network) -> Value {
    let mut v = serde_json::to_value(n).unwrap_or(Value::Null);
    let prefix = n.subnet().map(|s| s.prefix).unwrap_or(0);
    let containers: serde_json::Map<String, Value> = networks::endpoints(root, n)
        .into_iter()
        .map(|e| {
            (
                e.container_id.clone(),
                json!({"Name": e.name, "EndpointID": format!("{}{}", &n.id[..32], &e.container_id[..32.min(e.container_id.len())]),
                       "MacAddress": e.mac_address, "IPv4Address": format!("{}/{prefix}", e.ipv4_address), "IPv6Address": ""}),
            )
        })
        .collect();
    if let Some(o) = v.as_object_mut() {
        o.insert("Containers".into(), Value::Object(containers));
    }
    v
}

pub fn run(root: &StateRoot, cmd: NetworkCommand) -> engine::Result<i32> {
    match cmd {
        NetworkCommand::Create(a) => {
            if a.ipv6 {
                return Err(engine::Error::invalid(
                    "--ipv6: IPv6 networks are not supported yet; create an IPv4 network",
                ));
            }
            let n = networks::create(
                root,
                &networks::CreateOptions {
                    name: a.name,
                    driver: a.driver,
                    subnet: a.subnet,
                    gateway: a.gateway,
                    internal: a.internal,
                    labels: engine::options::parse_labels(&a.label),
                },
            )?;
            println!("{}", n.id);
            Ok(0)
        }
        NetworkCommand::Ls(a) => {
            if networks::find(root, networks::DEFAULT_NETWORK).is_err() {
                // Like Docker, `bridge` is always listed: create it now.
                let _ = networks::default_network(root);
            }
            let mut list = networks::list(root)?;
            for f in &a.filter {
                let (k, val) = f.split_once('=').ok_or_else(|| {
                    engine::Error::invalid(format!("bad filter {f:?}: use KEY=VALUE"))
                })?;
                match k {
                    "name" => list.retain(|n| n.name.contains(val)),
                    "id" => list.retain(|n| n.id.starts_with(val)),
                    "driver" => list.retain(|n| n.driver == val),
                    "label" => list.retain(|n| super::label_matches(&n.labels, val)),
                    _ => {
                        return Err(engine::Error::invalid(format!(
                            "invalid filter '{k}': use name, id, driver or label"
                        )))
                    }
                }
            }
            let short = |id: &str| {
                if a.no_trunc {
                    id.to_string()
                } else {
                    id[..12.min(id.len())].to_string()
                }
            };
            if a.quiet {
                for n in &list {
                    println!("{}", short(&n.id));
                }
                return Ok(0);
            }
            let rows: Vec<Value> = list
                .iter()
                .map(|n| {
                    let labels: Vec<String> =
                        n.labels.iter().map(|(k, x)| format!("{k}={x}")).collect();
                    json!({"ID": short(&n.id), "Name": n.name, "Driver": n.driver, "Scope": n.scope,
                           "IPv6": n.enable_ipv6.to_string(), "Internal": n.internal.to_string(),
                           "Labels": labels.join(","), "CreatedAt": n.created})
                })
                .collect();
            let out = crate::format::render_list(
                a.format.as_deref(),
                "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
                &[
                    ("ID", "NETWORK ID"),
                    ("Name", "NAME"),
                    ("Driver", "DRIVER"),
                    ("Scope", "SCOPE"),
                ],
                &rows,
            )
            .map_err(engine::Error::invalid)?;
            print!("{out}");
            Ok(0)
        }
        NetworkCommand::Inspect(a) => {
            let mut docs = Vec::new();
            let mut code = 0;
            for key in &a.names {
                match networks::find(root, key) {
                    Ok(n) => {
                        engine::containers::reap_network_endpoints(root, &n);
                        docs.push(document(root, &n))
                    }
                    Err(e) => {
                        eprintln!("berth: {e}");
                        code = 1;
                    }
                }
            }
            super::inspect::print_docs(&docs, a.format.as_deref())?;
            Ok(code)
        }
        NetworkCommand::Rm(a) => {
            let mut code = 0;
            for key in &a.names {
                match networks::remove(root, key) {
                    Ok(_) => println!("{key}"),
                    Err(engine::Error::NoSuchNetwork(_)) if a.force => {}
                    Err(e) => {
                        eprintln!("berth: {e}");
                        code = 1;
                    }
                }
            }
            Ok(code)
        }
        NetworkCommand::Connect(a) => {
            engine::netattach::connect(root, &a.container, &a.network, &a.alias, a.ip.as_deref())?;
            Ok(0)
        }
        NetworkCommand::Disconnect(a) => {
            let _ = a.force;
            engine::netattach::disconnect(root, &a.container, &a.network)?;
            Ok(0)
        }
        NetworkCommand::Prune(a) => {
            let _ = a.force;
            let removed = networks::prune(root)?;
            if !removed.is_empty() {
                println!("Deleted Networks:");
                for n in &removed {
                    println!("{n}");
                }
            }
            Ok(0)
        }
    }
}
