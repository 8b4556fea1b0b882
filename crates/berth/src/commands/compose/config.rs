//! `compose config`: the loaded project (files merged, variables interpolated, short
//! syntaxes in their long form) as YAML or JSON, or only its service or volume names.

use clap::Args;

use super::Ctx;

#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// Format: yaml or json.
    #[arg(long, default_value = "yaml", value_parser = ["yaml", "json"])]
    format: String,
    /// Print the service names, one per line.
    #[arg(long)]
    services: bool,
    /// Print the volume names, one per line.
    #[arg(long)]
    volumes: bool,
    /// Only validate the configuration, don't print anything.
    #[arg(short = 'q', long)]
    quiet: bool,
}

pub fn run(ctx: &Ctx, args: &ConfigArgs) -> stack::Result<i32> {
    let loaded = ctx.load()?;
    let project = &loaded.project;
    if args.quiet {
        return Ok(0);
    }
    if args.services {
        for s in project.services.keys() {
            println!("{s}");
        }
        return Ok(0);
    }
    if args.volumes {
        for v in project.volumes.keys() {
            println!("{v}");
        }
        return Ok(0);
    }
    // Serialised to text first: serde_json's maps would sort the keys, the text keeps
    // the model's order.
    let json = serde_json::to_string_pretty(project)
        .map_err(|e| stack::Error::invalid(format!("printing the project: {e}")))?;
    if args.format == "json" {
        println!("{json}");
        return Ok(0);
    }
    let node = compose::yaml::parse(&json, 0)
        .map_err(|e| stack::Error::invalid(format!("printing the project: {e}")))?;
    print!("{}", super::yaml::emit(&node));
    Ok(0)
}
