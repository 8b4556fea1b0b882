//! What a build is asked for and what it reports: the options as given, their parsing
//! (build args, labels, Docker's automatic platform args) and the progress events.
//! Never runs a step.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// What `berth build` was asked for.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub context: PathBuf,
    /// `-f`; `CONTEXT/Dockerfile` when not given.
    pub dockerfile: Option<PathBuf>,
    /// The Dockerfile's text itself (compose's `dockerfile_inline`); wins over
    /// `dockerfile`.
    pub dockerfile_inline: Option<String>,
    pub tags: Vec<String>,
    /// `--build-arg K=V`, or `K` to take the value from the environment.
    pub build_args: Vec<String>,
    pub target: Option<String>,
    pub no_cache: bool,
    /// `--label k=v` for the final image.
    pub labels: Vec<String>,
    /// `--network` for RUN steps: none, host, or a network name (default: `bridge`,
    /// as Docker runs build steps on its default network).
    pub network: Option<String>,
    /// `--build-context NAME=DIR|docker-image://REF|GIT-URL`: more contexts, by name.
    pub build_contexts: Vec<String>,
    /// `--add-host HOST:IP`: extra /etc/hosts lines for RUN steps.
    pub add_hosts: Vec<String>,
    /// `--pull`: pull every image the build names (FROM, `--from`) even when the store
    /// has it, and fail when that pull fails.
    pub pull: bool,
    /// `--output`; `None` is the local store.
    pub output: Option<crate::output::Output>,
    /// `--secret id=ID[,src=PATH|,env=VAR][,type=file|env]`, for `RUN --mount=type=secret`.
    pub secrets: Vec<String>,
    /// `--ssh ID=SOCKET` / `default`: SSH agents `RUN --mount=type=ssh` may use.
    pub ssh: Vec<String>,
    /// Secret values already read by the caller (compose's build `secrets:`).
    pub secret_values: crate::secrets::Given,
}

/// Progress, for the caller to show.
#[derive(Debug)]
pub enum Event<'a> {
    /// Step `n` starts: `label` is Docker's `stage i/total`, `text` the instruction.
    Step {
        n: usize,
        label: &'a str,
        text: &'a str,
    },
    /// Step `n` was found in the cache and did not run.
    Cached {
        n: usize,
    },
    /// Output of step `n`'s command.
    Output {
        n: usize,
        text: &'a [u8],
    },
    Done {
        n: usize,
        seconds: f64,
    },
    Warning(&'a str),
    /// Time passed with nothing to report (sent about every 50 ms while steps run), so
    /// a live view can move its timers.
    Tick,
}

/// Docker's automatic platform args (`BUILDPLATFORM`, `TARGETARCH`...): berth builds
/// for the host, so build and target platforms are both the host's.
pub fn predefined_args() -> BTreeMap<String, String> {
    let host = registry::Platform::host();
    let variant = host.variant.clone().unwrap_or_default();
    let mut out = BTreeMap::new();
    for side in ["BUILD", "TARGET"] {
        out.insert(format!("{side}PLATFORM"), host.to_string());
        out.insert(format!("{side}OS"), host.os.clone());
        out.insert(format!("{side}ARCH"), host.architecture.clone());
        out.insert(format!("{side}VARIANT"), variant.clone());
    }
    out
}

pub fn parse_build_args(args: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for a in args {
        match a.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            Some(_) => return Err(Error::invalid(format!("--build-arg {a:?}: use NAME=VALUE"))),
            // `--build-arg NAME` passes the variable from the environment, if set.
            None => {
                if let Ok(v) = std::env::var(a) {
                    out.insert(a.clone(), v);
                }
            }
        }
    }
    Ok(out)
}

pub fn parse_labels(labels: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for l in labels {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        if k.is_empty() {
            return Err(Error::invalid(format!("--label {l:?}: use KEY=VALUE")));
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}
