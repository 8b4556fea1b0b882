//! `berth history` and `berth image history`: an image's history, newest first, with
//! Docker's columns (IMAGE, CREATED, CREATED BY, SIZE, COMMENT), `--no-trunc`, `-q`,
//! `-H` and `--format`. The rows come from `engine::images::history`.

use clap::Args;
use engine::{images, StateRoot};
use serde_json::json;

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Print sizes and dates in human-readable form (`-H=false` for raw values).
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    human: bool,
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Only show image ids.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Format the output with a Go template, "table ...", or "json".
    #[arg(long)]
    format: Option<String>,
    #[arg(value_name = "IMAGE")]
    image: String,
}

pub fn run(root: &StateRoot, a: HistoryArgs) -> engine::Result<i32> {
    let (id, rows) = images::history(root, &a.image)?;
    // Only the newest entry is this image; the entries below it have no image of
    // their own here (as with a pulled image in Docker).
    let id_of = |i: usize| {
        if i > 0 {
            "<missing>".to_string()
        } else if a.no_trunc {
            id.to_string()
        } else {
            id.short().to_string()
        }
    };
    if a.quiet {
        for i in 0..rows.len() {
            println!("{}", id_of(i));
        }
        return Ok(0);
    }
    let docs: Vec<serde_json::Value> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let created_by = if a.no_trunc {
                r.created_by.clone()
            } else {
                super::ps::ellipsis(&r.created_by, 45)
            };
            json!({
                "ID": id_of(i),
                "CreatedAt": r.created,
                "CreatedSince": if a.human { since(&r.created) } else { r.created.clone() },
                "CreatedBy": created_by,
                "Size": if a.human { engine::units::human_size(r.size) } else { r.size.to_string() },
                "Comment": r.comment,
            })
        })
        .collect();
    let out = crate::format::render_list(
        a.format.as_deref(),
        "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
        &[
            ("ID", "IMAGE"),
            ("CreatedSince", "CREATED"),
            ("CreatedBy", "CREATED BY"),
        ],
        &docs,
    )
    .map_err(engine::Error::invalid)?;
    print!("{out}");
    Ok(0)
}

fn since(created: &str) -> String {
    match engine::time::parse(created) {
        Some(_) => format!(
            "{} ago",
            engine::time::human_duration(engine::time::since(created))
        ),
        None => "N/A".into(),
    }
}
