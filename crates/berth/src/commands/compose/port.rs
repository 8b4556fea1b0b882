//! `compose port`: where a service container's port is published on the host.

use clap::Args;

use super::Ctx;

#[derive(Args, Debug)]
pub struct PortArgs {
    /// tcp or udp.
    #[arg(long, default_value = "tcp", value_parser = ["tcp", "udp"])]
    protocol: String,
    /// Which container of the service, when it is scaled.
    #[arg(long, default_value_t = 1)]
    index: u32,
    service: String,
    #[arg(value_name = "PRIVATE_PORT")]
    port: u16,
}

pub fn run(ctx: &Ctx, args: &PortArgs) -> stack::Result<i32> {
    let opened = ctx.load_or_labels()?;
    let stack = ctx.stack(&opened.loaded);
    let m = super::exec::running(&stack, &args.service, args.index)?;
    let key = format!("{}/{}", args.port, args.protocol);
    let b = m
        .state
        .network_settings
        .ports
        .get(&key)
        .and_then(|l| l.first())
        .ok_or_else(|| {
            stack::Error::invalid(format!(
                "no port {key} is published for container {}",
                m.name()
            ))
        })?;
    let ip = if b.host_ip.is_empty() {
        "0.0.0.0".to_string()
    } else if b.host_ip.contains(':') {
        format!("[{}]", b.host_ip)
    } else {
        b.host_ip.clone()
    };
    println!("{ip}:{}", b.host_port);
    Ok(0)
}
