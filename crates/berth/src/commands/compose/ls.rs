//! `compose ls`: the projects in the state root, found by their containers' labels.

use clap::Args;
use serde_json::json;

use super::Ctx;

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Show all stopped Compose projects.
    #[arg(short = 'a', long)]
    all: bool,
    /// Only display project names.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Format: table or json.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
}

pub fn run(ctx: &Ctx, args: &LsArgs) -> stack::Result<i32> {
    let projects: Vec<_> = stack::query::projects(ctx.root)
        .into_iter()
        .filter(|p| args.all || p.running())
        .collect();
    if args.quiet {
        for p in &projects {
            println!("{}", p.name);
        }
        return Ok(0);
    }
    if args.format == "json" {
        let v: Vec<_> = projects
            .iter()
            .map(|p| json!({"Name": p.name, "Status": p.status(), "ConfigFiles": p.config_files}))
            .collect();
        println!(
            "{}",
            serde_json::to_string(&v).map_err(|e| stack::Error::invalid(e.to_string()))?
        );
        return Ok(0);
    }
    let mut text = String::from("NAME\tSTATUS\tCONFIG FILES\n");
    for p in &projects {
        text.push_str(&format!("{}\t{}\t{}\n", p.name, p.status(), p.config_files));
    }
    print!(
        "{}",
        crate::format::align_columns(
            &text,
            crate::format::TABLE_MIN_WIDTH,
            crate::format::TABLE_PADDING
        )
    );
    Ok(0)
}
