//! `berth wait`.

use clap::Args;
use engine::{containers, lifecycle, StateRoot};

#[derive(Args, Debug)]
pub struct WaitArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn run(root: &StateRoot, args: WaitArgs) -> engine::Result<i32> {
    let mut code = 0;
    for name in &args.containers {
        match containers::find(root, name).and_then(|id| lifecycle::wait(root, &id)) {
            Ok(c) => println!("{c}"),
            Err(e) => {
                eprintln!("berth: {e}");
                code = e.exit_code();
            }
        }
    }
    Ok(code)
}
