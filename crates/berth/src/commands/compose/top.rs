//! `compose top`: the processes of each running container, as `ps -ef` prints them.

use super::lifecycle::ServicesArgs;
use super::Ctx;

pub fn run(ctx: &Ctx, args: &ServicesArgs) -> stack::Result<i32> {
    let opened = ctx.load_or_labels()?;
    let stack = ctx.stack(&opened.loaded);
    for m in stack::ops::select(&stack, args.services(), false)? {
        if !m.state.running {
            continue;
        }
        let mut text = String::from("UID\tPID\tPPID\tC\tSTIME\tTTY\tTIME\tCMD\n");
        for p in stack::top::processes(ctx.root, &m.record) {
            text.push_str(&format!(
                "{}\t{}\t{}\t0\t{}\t{}\t{}\t{}\n",
                p.uid, p.pid, p.ppid, p.stime, p.tty, p.time, p.cmd
            ));
        }
        println!("{}", m.name());
        print!(
            "{}",
            crate::format::align_columns(
                &text,
                crate::format::TABLE_MIN_WIDTH,
                crate::format::TABLE_PADDING
            )
        );
        println!();
    }
    Ok(0)
}
