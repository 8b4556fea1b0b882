//! Image commands: pull, push, images, image inspect, tag, rmi, image prune, login,
//! logout, system df and storage check. Failures exit 1, as Docker's image commands do.

use std::io::Read;

use clap::{Args, Subcommand};
use engine::images;
use engine::units::human_size;
use engine::StateRoot;
use serde_json::json;

use crate::progress::{Reporter, Sink};

/// `--tls-verify[=true|false]`: plain HTTP and unverified TLS only where asked.
#[derive(Args, Debug, Clone, Default)]
pub struct TlsArgs {
    /// Require HTTPS and verify certificates (default: true, except for insecure registries and loopback).
    #[arg(long = "tls-verify", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    tls_verify: Option<bool>,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Suppress verbose output.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Platform: os/arch[/variant] (default: the host's).
    #[arg(long)]
    platform: Option<String>,
    #[command(flatten)]
    tls: TlsArgs,
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    name: String,
}

pub fn pull(root: &StateRoot, a: PullArgs) -> engine::Result<i32> {
    let progress = Reporter::new(a.quiet, Sink::Stdout);
    let opts = engine::pull::PullOptions {
        platform: a.platform,
        tls_verify: a.tls.tls_verify,
    };
    let pulled = engine::pull::pull(root, &a.name, &opts, &progress)?;
    // Docker ends with the fully qualified name, also under -q.
    match pulled.name.contains('@') {
        true => println!("{}", pulled.name),
        false if a.name.contains('@') => println!(
            "{}@{}",
            pulled
                .name
                .rsplit_once(':')
                .map(|(r, _)| r)
                .unwrap_or(&pulled.name),
            pulled.manifest_digest
        ),
        false => println!("{}", pulled.name),
    }
    Ok(0)
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// Suppress verbose output.
    #[arg(short = 'q', long)]
    quiet: bool,
    #[command(flatten)]
    tls: TlsArgs,
    #[arg(value_name = "NAME[:TAG]")]
    name: String,
    /// Push under this name instead (REGISTRY/REPO[:TAG]; podman's form); the local
    /// image is not tagged with it.
    #[arg(value_name = "DESTINATION")]
    destination: Option<String>,
}

pub fn push(root: &StateRoot, a: PushArgs) -> engine::Result<i32> {
    let progress = Reporter::new(a.quiet, Sink::Stdout);
    let dest = a.destination.as_deref().unwrap_or(&a.name);
    let pushed = engine::push::push_as(root, &a.name, dest, a.tls.tls_verify, &progress)?;
    if a.quiet {
        println!("{dest}");
    }
    let _ = pushed;
    Ok(0)
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Username.
    #[arg(short = 'u', long)]
    username: Option<String>,
    /// Password (prefer --password-stdin).
    #[arg(short = 'p', long)]
    password: Option<String>,
    /// Take the password from stdin.
    #[arg(long = "password-stdin")]
    password_stdin: bool,
    #[command(flatten)]
    tls: TlsArgs,
    #[arg(value_name = "SERVER")]
    server: Option<String>,
}

pub fn login(_root: &StateRoot, a: LoginArgs) -> engine::Result<i32> {
    let server = a.server.unwrap_or_else(|| "docker.io".into());
    let user = a.username.ok_or_else(|| {
        engine::Error::invalid("berth login needs a username: -u USER (and --password-stdin)")
    })?;
    let password = match (a.password, a.password_stdin) {
        (Some(_), true) => {
            return Err(engine::Error::invalid(
                "--password and --password-stdin are mutually exclusive",
            ))
        }
        (Some(p), false) => {
            eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
            p
        }
        (None, true) => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map_err(|e| {
                engine::Error::invalid(format!("reading the password from stdin: {e}"))
            })?;
            s.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => {
            return Err(engine::Error::invalid(
                "no password given: use --password-stdin (or -p)",
            ))
        }
    };
    if password.is_empty() {
        return Err(engine::Error::invalid("password is required"));
    }
    let client = engine::registry_config::client(a.tls.tls_verify)?;
    client.login(&server, &user, &password)?;
    println!("Login Succeeded");
    Ok(0)
}

#[derive(Args, Debug)]
pub struct LogoutArgs {
    #[arg(value_name = "SERVER")]
    server: Option<String>,
}

pub fn logout(_root: &StateRoot, a: LogoutArgs) -> engine::Result<i32> {
    let server = a.server.unwrap_or_else(|| "docker.io".into());
    let client = engine::registry_config::client(None)?;
    client.logout(&server)?;
    println!("Removing login credentials for {server}");
    Ok(0)
}

#[derive(Args, Debug)]
pub struct ImagesArgs {
    /// Show all images (berth keeps no intermediate images, so this changes nothing).
    #[arg(short = 'a', long)]
    all: bool,
    /// Show digests.
    #[arg(long)]
    digests: bool,
    /// Only show image ids.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Filter: dangling=true|false, reference=PATTERN.
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Format the output with a Go template, "table ...", or "json".
    #[arg(long)]
    format: Option<String>,
    /// Only images of this repository[:tag].
    #[arg(value_name = "REPOSITORY[:TAG]")]
    reference: Option<String>,
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

pub fn list(root: &StateRoot, a: ImagesArgs) -> engine::Result<i32> {
    let _ = a.all;
    let mut rows = images::list(root)?;
    for f in &a.filter {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| engine::Error::invalid(format!("bad filter {f:?}: use KEY=VALUE")))?;
        match k {
            "dangling" => {
                let want = v == "true" || v == "1";
                rows.retain(|r| (r.tag == "<none>") == want);
            }
            "reference" => {
                let (repo, tag) = v.split_once(':').unwrap_or((v, ""));
                rows.retain(|r| r.repository == repo && (tag.is_empty() || r.tag == tag));
            }
            other => {
                return Err(engine::Error::invalid(format!(
                    "invalid filter {other:?}: use dangling or reference"
                )))
            }
        }
    }
    if let Some(reference) = &a.reference {
        let (repo, tag) = match reference.rfind(':') {
            Some(i) if !reference[i..].contains('/') => (&reference[..i], &reference[i + 1..]),
            _ => (reference.as_str(), ""),
        };
        let repo = images::split_name(&format!("{repo}:x")).0;
        rows.retain(|r| r.repository == repo && (tag.is_empty() || r.tag == tag));
    }
    if a.quiet {
        let mut seen = std::collections::HashSet::new();
        for r in &rows {
            if seen.insert(r.id.clone()) {
                println!(
                    "{}",
                    if a.no_trunc {
                        r.id.to_string()
                    } else {
                        r.id.short().to_string()
                    }
                );
            }
        }
        return Ok(0);
    }
    let json_rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({
                "Containers": if r.containers > 0 { r.containers.to_string() } else { "N/A".into() },
                "CreatedAt": r.created,
                "CreatedSince": since(&r.created),
                "Digest": r.digest,
                "ID": if a.no_trunc { r.id.to_string() } else { r.id.short().to_string() },
                "Repository": r.repository,
                "Tag": r.tag,
                "Size": human_size(r.size),
                "SharedSize": "N/A",
                "UniqueSize": "N/A",
                "VirtualSize": human_size(r.size),
            })
        })
        .collect();
    let default = if a.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    let headers = [
        ("Repository", "REPOSITORY"),
        ("Tag", "TAG"),
        ("Digest", "DIGEST"),
        ("ID", "IMAGE ID"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("Size", "SIZE"),
    ];
    let out = crate::format::render_list(a.format.as_deref(), default, &headers, &json_rows)
        .map_err(engine::Error::invalid)?;
    print!("{out}");
    Ok(0)
}

#[derive(Args, Debug)]
pub struct TagArgs {
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    source: String,
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    target: String,
}

pub fn tag(root: &StateRoot, a: TagArgs) -> engine::Result<i32> {
    images::tag(root, &a.source, &a.target)?;
    Ok(0)
}

#[derive(Args, Debug)]
pub struct RmiArgs {
    /// Force removal: untag every name of an image given by id, and untag images containers use.
    #[arg(short = 'f', long)]
    force: bool,
    #[arg(required = true, value_name = "IMAGE")]
    names: Vec<String>,
}

pub fn rmi(root: &StateRoot, a: RmiArgs) -> engine::Result<i32> {
    let mut code = 0;
    for n in &a.names {
        match images::remove(root, n, a.force) {
            Ok(r) => {
                for u in r.untagged {
                    println!("Untagged: {u}");
                }
                for d in r.deleted {
                    println!("Deleted: {d}");
                }
            }
            Err(e) => {
                eprintln!("berth: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Remove every image no container uses, not just dangling ones.
    #[arg(short = 'a', long)]
    all: bool,
    /// Do not prompt for confirmation (berth never prompts).
    #[arg(short = 'f', long)]
    force: bool,
}

pub fn prune(root: &StateRoot, a: PruneArgs) -> engine::Result<i32> {
    let _ = a.force;
    let (removed, bytes) = images::prune(root, a.all)?;
    if !removed.is_empty() {
        println!("Deleted Images:");
        for id in &removed {
            println!("deleted: {id}");
        }
        println!();
    }
    println!("Total reclaimed space: {}", human_size(bytes));
    Ok(0)
}

#[derive(Args, Debug)]
pub struct ImageInspectArgs {
    /// Format the output with a Go template (or "json").
    #[arg(short = 'f', long)]
    format: Option<String>,
    #[arg(required = true, value_name = "IMAGE")]
    names: Vec<String>,
}

pub fn inspect(root: &StateRoot, a: ImageInspectArgs) -> engine::Result<i32> {
    let mut docs = Vec::new();
    let mut code = 0;
    for n in &a.names {
        match images::inspect(root, n) {
            Ok(d) => docs.push(d),
            Err(e) => {
                eprintln!("berth: {e}");
                code = 1;
            }
        }
    }
    super::inspect::print_docs(&docs, a.format.as_deref())?;
    Ok(code)
}

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// List images.
    #[command(alias = "list")]
    Ls(ImagesArgs),
    /// Show low-level information on images.
    Inspect(ImageInspectArgs),
    /// Show the history of an image.
    History(super::history::HistoryArgs),
    /// Remove images.
    #[command(alias = "remove")]
    Rm(RmiArgs),
    /// Create a tag TARGET that refers to SOURCE.
    Tag(TagArgs),
    /// Remove unused images.
    Prune(PruneArgs),
    /// Download an image from a registry.
    Pull(PullArgs),
    /// Upload an image to a registry.
    Push(PushArgs),
    /// Save images to a tar archive.
    Save(super::archives::SaveArgs),
    /// Load images from a tar archive.
    Load(super::archives::LoadArgs),
    /// Create an image from a tarball of a root filesystem.
    Import(super::archives::ImportArgs),
}

pub fn image(root: &StateRoot, c: ImageCommand) -> engine::Result<i32> {
    match c {
        ImageCommand::Ls(a) => list(root, a),
        ImageCommand::Inspect(a) => inspect(root, a),
        ImageCommand::History(a) => super::history::run(root, a),
        ImageCommand::Rm(a) => rmi(root, a),
        ImageCommand::Tag(a) => tag(root, a),
        ImageCommand::Prune(a) => prune(root, a),
        ImageCommand::Pull(a) => pull(root, a),
        ImageCommand::Push(a) => push(root, a),
        ImageCommand::Save(a) => super::archives::save(root, a),
        ImageCommand::Load(a) => super::archives::load(root, a),
        ImageCommand::Import(a) => super::archives::import(root, a),
    }
}

#[derive(Subcommand, Debug)]
pub enum SystemCommand {
    /// Show disk usage: images (real on-disk size with deduplication, and shared), containers, volumes.
    Df(DfArgs),
    /// Remove every container, network (the default one and the firewall table too),
    /// volume and image of this state root, as podman's `system reset` does.
    Reset(ResetArgs),
}

#[derive(Args, Debug)]
pub struct ResetArgs {
    /// Required: there is no prompt.
    #[arg(short = 'f', long)]
    force: bool,
}

#[derive(Args, Debug)]
pub struct DfArgs {
    /// Show per-image sizes, shared and unique.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Format the output with a Go template, "table ...", or "json".
    #[arg(long)]
    format: Option<String>,
}

fn pct(part: u64, whole: u64) -> String {
    format!("{}%", (part * 100).checked_div(whole).unwrap_or(0))
}

pub fn system(root: &StateRoot, c: SystemCommand) -> engine::Result<i32> {
    let a = match c {
        SystemCommand::Df(a) => a,
        SystemCommand::Reset(r) => return reset(root, r),
    };
    let du = images::disk_usage(root)?;
    if a.verbose {
        println!("Images space usage:\n");
        let rows: Vec<serde_json::Value> = du
            .images
            .iter()
            .map(|i| {
                json!({
                    "Repository": i.repository, "Tag": i.tag, "ID": i.id.short(),
                    "CreatedSince": since(&i.created), "Size": human_size(i.size),
                    "SharedSize": human_size(i.shared), "UniqueSize": human_size(i.unique),
                    "Containers": i.containers.to_string(),
                })
            })
            .collect();
        let out = crate::format::render_list(
            None,
            "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
            &[("ID", "IMAGE ID"), ("CreatedSince", "CREATED"), ("SharedSize", "SHARED SIZE"), ("UniqueSize", "UNIQUE SIZE")],
            &rows,
        )
        .map_err(engine::Error::invalid)?;
        print!("{out}");
        println!(
            "\nTotal: {} as images, {} on disk (deduplication saves {})\n",
            human_size(du.images_logical),
            human_size(du.images_real),
            human_size(du.images_logical.saturating_sub(du.images_real))
        );
    }
    let rows = vec![
        json!({"Type": "Images", "TotalCount": du.images.len().to_string(), "Active": du.images_active.to_string(),
               "Size": human_size(du.images_real), "LogicalSize": human_size(du.images_logical),
               "Reclaimable": format!("{} ({})", human_size(du.images_reclaimable), pct(du.images_reclaimable, du.images_real))}),
        json!({"Type": "Containers", "TotalCount": du.containers.to_string(), "Active": du.containers_running.to_string(),
               "Size": human_size(du.containers_size), "LogicalSize": human_size(du.containers_size),
               "Reclaimable": format!("{} ({})", human_size(0), pct(0, du.containers_size))}),
        json!({"Type": "Local Volumes", "TotalCount": du.volumes.to_string(), "Active": du.volumes_active.to_string(),
               "Size": human_size(du.volumes_size), "LogicalSize": human_size(du.volumes_size),
               "Reclaimable": "0B (0%)"}),
        json!({"Type": "Build Cache", "TotalCount": du.build_cache_layers.to_string(), "Active": "0",
               "Size": human_size(du.build_cache_size), "LogicalSize": human_size(du.build_cache_size),
               "Reclaimable": format!("{} ({})", human_size(du.build_cache_reclaimable), pct(du.build_cache_reclaimable, du.build_cache_size))}),
    ];
    let out = crate::format::render_list(
        a.format.as_deref(),
        "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.LogicalSize}}\t{{.Reclaimable}}",
        &[("TotalCount", "TOTAL"), ("LogicalSize", "SIZE WITHOUT SHARING"), ("Reclaimable", "RECLAIMABLE")],
        &rows,
    )
    .map_err(engine::Error::invalid)?;
    print!("{out}");
    Ok(0)
}

#[derive(Subcommand, Debug)]
pub enum StorageCommand {
    /// Verify every stored object against its digest and every reference between them.
    Check,
}

pub fn storage(root: &StateRoot, c: StorageCommand) -> engine::Result<i32> {
    let StorageCommand::Check = c;
    let report = images::check(root)?;
    for p in &report.problems {
        println!("problem: {p}");
    }
    println!(
        "checked {} images, {} layers, {} blobs: {}",
        report.images,
        report.layers,
        report.blobs,
        if report.problems.is_empty() {
            "ok".to_string()
        } else {
            format!("{} problems", report.problems.len())
        }
    );
    Ok(if report.problems.is_empty() { 0 } else { 1 })
}

fn reset(root: &StateRoot, a: ResetArgs) -> engine::Result<i32> {
    if !a.force {
        return Err(engine::Error::invalid(format!(
            "system reset removes every container, network, volume and image of {}: add -f",
            root.dir().display()
        )));
    }
    for (record, _) in engine::containers::list(root) {
        engine::lifecycle::remove(root, &record.id, true, true)?;
    }
    engine::networks::remove_all(root)?;
    engine::volumes::prune(root, true)?;
    images::prune(root, true)?;
    Ok(0)
}
