//! `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: the host addresses a running
//! container's ports are published on, as really bound (ephemeral ports included).

use clap::Args;
use engine::{containers, StateRoot};

#[derive(Args, Debug)]
pub struct PortArgs {
    container: String,
    /// e.g. 80 or 80/tcp.
    port: Option<String>,
}

pub fn run(root: &StateRoot, a: PortArgs) -> engine::Result<i32> {
    let id = containers::find(root, &a.container)?;
    let (record, state) = containers::load(root, &id)?;
    let ports = &state.network_settings.ports;
    let fmt = |b: &engine::record::PortBinding| {
        if b.host_ip.contains(':') {
            format!("[{}]:{}", b.host_ip, b.host_port)
        } else {
            format!("{}:{}", b.host_ip, b.host_port)
        }
    };
    match a.port {
        Some(p) => {
            let key = if p.contains('/') {
                p.clone()
            } else {
                format!("{p}/tcp")
            };
            match ports.get(&key).filter(|v| !v.is_empty()) {
                Some(list) => {
                    for b in list {
                        println!("{}", fmt(b));
                    }
                    Ok(0)
                }
                None => Err(engine::Error::invalid(format!(
                    "no public port '{key}' published for {}",
                    record.short_name()
                ))),
            }
        }
        None => {
            for (key, list) in ports {
                for b in list {
                    println!("{key} -> {}", fmt(b));
                }
            }
            Ok(0)
        }
    }
}
