//! `berth cp`: copies files between the host and a container (engine::cp does the
//! work). Prints nothing on success, like `docker cp` without a terminal; warnings
//! about skipped files go to stderr.

use clap::Args;
use engine::cp::CopyOptions;
use engine::StateRoot;

#[derive(Args, Debug)]
pub struct CpArgs {
    /// Copy UID/GID from the source.
    #[arg(short = 'a', long)]
    archive: bool,
    /// Follow symlinks in SRC_PATH.
    #[arg(short = 'L', long = "follow-link")]
    follow_link: bool,
    /// SRC: CONTAINER:PATH, a host path, or - for a tar stream on stdin.
    src: String,
    /// DEST: CONTAINER:PATH, a host path, or - for a tar stream on stdout.
    dest: String,
}

pub fn run(root: &StateRoot, args: CpArgs) -> engine::Result<i32> {
    let opts = CopyOptions {
        archive: args.archive,
        follow_link: args.follow_link,
    };
    let mut input = std::io::stdin().lock();
    let mut output = std::io::stdout().lock();
    let report = engine::cp::copy(root, &args.src, &args.dest, &opts, &mut input, &mut output)?;
    for w in &report.warnings {
        eprintln!("berth: warning: {w}");
    }
    Ok(0)
}
