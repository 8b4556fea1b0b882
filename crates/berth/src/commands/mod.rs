//! One module per subcommand; each parses its flags and makes one engine call.

pub mod archives;
pub mod build;
pub mod compose;
pub mod cp;
pub mod exec;
pub mod history;
pub mod images;
pub mod inspect;
pub mod kill;
pub mod logs;
pub mod network;
pub mod port;
pub mod ps;
pub mod rm;
pub mod run;
pub mod start;
pub mod stop;
pub mod volume;
pub mod wait;

/// Runs `f` for every container named, printing each name on success (Docker's style
/// for stop, rm, kill, ...). Errors are printed as they happen and do not stop the
/// others; the exit code is that of the last failure, 0 if none failed.
pub fn for_each(
    names: &[String],
    mut f: impl FnMut(&str) -> engine::Result<()>,
) -> engine::Result<i32> {
    let mut code = 0;
    for n in names {
        match f(n) {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("berth: {e}");
                code = e.exit_code();
            }
        }
    }
    Ok(code)
}

/// Docker's `--filter label=KEY` / `label=KEY=VALUE` test against a label map.
pub fn label_matches(labels: &std::collections::BTreeMap<String, String>, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(filter),
    }
}
