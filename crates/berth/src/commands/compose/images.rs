//! `compose pull`, `compose build` (through `berth build`'s executor) and
//! `compose images`.

use clap::Args;
use serde_json::{json, Value};

use super::Ctx;

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Pull what it can and ignore images with pull failures.
    #[arg(long = "ignore-pull-failures")]
    ignore_pull_failures: bool,
    /// Pull without printing progress information.
    #[arg(short = 'q', long)]
    quiet: bool,
    services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Do not use the build cache.
    #[arg(long)]
    no_cache: bool,
    /// Always pull the images the Dockerfiles name.
    #[arg(long)]
    pull: bool,
    /// A build-time variable for every service built (`NAME=VALUE`); repeatable.
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    build_args: Vec<String>,
    services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ImagesArgs {
    /// Only display IDs.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Format: table or json.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
    services: Vec<String>,
}

pub fn pull(ctx: &Ctx, args: &PullArgs) -> stack::Result<i32> {
    let loaded = ctx.load_enabling(&args.services)?;
    let stack = ctx.stack(&loaded);
    let services = stack::plan::select(stack.project, &args.services, false)?;
    let progress = crate::progress::Reporter::new(
        args.quiet || ctx.args.progress == "quiet",
        crate::progress::Sink::Stderr,
    );
    stack::images::pull_services(&stack, &services, args.ignore_pull_failures, &progress)?;
    Ok(0)
}

pub fn build(ctx: &Ctx, args: &BuildArgs) -> stack::Result<i32> {
    let flags = stack::images::BuildFlags {
        no_cache: args.no_cache,
        pull: args.pull,
        build_args: args.build_args.clone(),
    };
    let loaded = ctx.load_enabling(&args.services)?;
    let stack = ctx.stack(&loaded);
    for name in stack::plan::select(stack.project, &args.services, false)? {
        if stack
            .project
            .services
            .get(&name)
            .is_some_and(|s| s.build.is_some())
        {
            stack::images::build_one(&stack, &name, &stack.project.services[&name], &flags)?;
        }
    }
    Ok(0)
}

pub fn images(ctx: &Ctx, args: &ImagesArgs) -> stack::Result<i32> {
    let opened = ctx.load_or_labels()?;
    let stack = ctx.stack(&opened.loaded);
    let members = stack::ops::select(&stack, &args.services, true)?;
    let rows = engine::images::list(ctx.root)?;
    let mut out: Vec<Value> = Vec::new();
    for m in &members {
        let row = rows.iter().find(|r| r.id.to_string() == m.record.image);
        let (repo, tag, size) = match row {
            Some(r) => (r.repository.clone(), r.tag.clone(), r.size),
            None => ("<none>".into(), "<none>".into(), 0),
        };
        let id = m.record.image.trim_start_matches("sha256:");
        out.push(json!({
            "ContainerName": m.name(),
            "Repository": repo,
            "Tag": tag,
            "ID": id.get(..12).unwrap_or(id),
            "Size": size,
        }));
    }
    if args.quiet {
        let mut seen = Vec::new();
        for r in &out {
            let id = r["ID"].as_str().unwrap_or_default().to_string();
            if !seen.contains(&id) {
                println!("{id}");
                seen.push(id);
            }
        }
        return Ok(0);
    }
    if args.format == "json" {
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| stack::Error::invalid(e.to_string()))?
        );
        return Ok(0);
    }
    let mut text = String::from("CONTAINER\tREPOSITORY\tTAG\tIMAGE ID\tSIZE\n");
    for r in &out {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            r["ContainerName"].as_str().unwrap_or_default(),
            r["Repository"].as_str().unwrap_or_default(),
            r["Tag"].as_str().unwrap_or_default(),
            r["ID"].as_str().unwrap_or_default(),
            engine::units::human_size(r["Size"].as_u64().unwrap_or(0)),
        ));
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
