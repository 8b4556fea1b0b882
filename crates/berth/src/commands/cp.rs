//! `berth cp`.

use clap::Args;
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

pub fn run(_root: &StateRoot, args: CpArgs) -> engine::Result<i32> {
    let _ = (args.archive, args.follow_link, &args.src, &args.dest);
    Err(engine::Error::invalid("berth cp is not implemented yet"))
}
