//! RUN: executes one command as a berth container whose root is the stage's layers so far,
//! then turns the container's overlay upper dir into the step's layer. Owns the
//! container's whole life: it is always removed (with its anonymous volumes), whether
//! the command succeeds, fails or cannot start. Never changes how containers work.

use std::fs::File;
use std::io::BufWriter;
use std::os::fd::AsFd;
use std::path::Path;

use engine::containers::CreateOptions;
use engine::StateRoot;
use store::{Digest, Store};

use crate::commit;
use crate::error::{Error, IoContext, Result};

/// What the command runs with.
pub struct Command<'a> {
    pub argv: Vec<String>,
    /// The stage's environment plus the build args in scope.
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// `none`, `host`, or a network name.
    pub network: String,
    /// `--add-host HOST:IP` entries for the step's /etc/hosts.
    pub add_hosts: Vec<String>,
    /// The layers so far, bottom first.
    pub layers: &'a [Digest],
    /// Set when the build stops (another stage failed, or a signal): the command's
    /// container is killed.
    pub cancel: &'a std::sync::atomic::AtomicBool,
    /// `RUN --mount`s, ready to mount (their sources are kept alive by the caller).
    pub mounts: Vec<engine::record::MountPoint>,
    /// Mount points the image lacked, relative to the root: left out of the layer.
    pub mount_points_made: Vec<String>,
}

/// How a RUN ended.
pub struct Outcome {
    pub code: i32,
    /// stdout and stderr, interleaved as written.
    pub output: Vec<u8>,
    /// The new layer when the command succeeded.
    pub layer: Option<Digest>,
}

/// Runs the command; its output goes to `on_output` while it runs (and into the
/// outcome).
pub fn run(
    root: &StateRoot,
    store: &Store,
    cmd: &Command<'_>,
    on_output: &mut dyn FnMut(&[u8]),
) -> Result<Outcome> {
    // The container runs on the layers so far with an empty image config (the command,
    // environment, user and directory are given explicitly, and a base image's health
    // check or volumes must not act during a build step). No image record is made: one
    // would show in `images` and could be removed by a concurrent build using it too.
    let mut opts = CreateOptions {
        layers: Some(cmd.layers.to_vec()),
        command: cmd.argv.clone(),
        entrypoint: Some(Vec::new()),
        env: cmd.env.clone(),
        user: cmd.user.clone().filter(|u| !u.is_empty()),
        workdir: cmd.workdir.clone().filter(|w| !w.is_empty()),
        mount_points: cmd.mounts.clone(),
        ..Default::default()
    };
    opts.net.networks = vec![cmd.network.clone()];
    opts.net.add_hosts = cmd.add_hosts.clone();
    opts.health.disabled = true;
    let record = engine::containers::create(root, &opts)?;
    let id = record.id.clone();
    let outcome = (|| -> Result<Outcome> {
        let log = Path::new(&record.log_path);
        let mut output = Vec::new();
        let code = match engine::lifecycle::start(root, &id, false) {
            Ok(_) => {
                // Ctrl-C or a stop while the step runs must not leave the container
                // running: the signals are taken here, and the container is killed.
                let signals = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];
                let old_mask = runtime::sys::block_signals(&signals).ok();
                let sfd = runtime::sys::signalfd(&signals).ok();
                // The wait happens on a thread so the log can be followed meanwhile; it
                // is joined before anything else forks (start forks the monitor).
                let waiter = {
                    let root = root.clone();
                    let id = id.clone();
                    std::thread::spawn(move || engine::lifecycle::wait(&root, &id))
                };
                let mut offset = 0;
                let mut interrupted = None;
                loop {
                    let finished = waiter.is_finished();
                    offset = follow(log, offset, &mut output, on_output);
                    if finished {
                        break;
                    }
                    let signal = match sfd
                        .as_ref()
                        .map(|fd| runtime::sys::read_signalfd(fd.as_fd()))
                    {
                        Some(Ok(Some(sig))) => Some(sig),
                        // Another step failed or the build's own signal watch fired.
                        _ if cmd.cancel.load(std::sync::atomic::Ordering::SeqCst) => {
                            Some(libc::SIGKILL as u32)
                        }
                        _ => None,
                    };
                    if let Some(sig) = signal {
                        if interrupted.is_none() {
                            interrupted = Some(sig);
                            let _ = engine::lifecycle::kill(root, &id, libc::SIGKILL);
                        }
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                let waited = waiter
                    .join()
                    .map_err(|_| Error::invalid("waiting for the build container failed"));
                // A signal that came with the exit is taken too: unblocking it would
                // end this process before the container is removed.
                if let Some(Ok(Some(sig))) = sfd
                    .as_ref()
                    .map(|fd| runtime::sys::read_signalfd(fd.as_fd()))
                {
                    interrupted.get_or_insert(sig);
                }
                drop(sfd);
                if let Some(mask) = old_mask {
                    let _ = runtime::sys::set_sigmask(&mask);
                }
                if let Some(sig) = interrupted {
                    return Err(Error::Interrupted(sig));
                }
                waited??
            }
            Err(engine::Error::Start(e)) => {
                return Ok(Outcome {
                    code: e.exit_code,
                    output: format!("{}\n", e.message).into_bytes(),
                    layer: None,
                })
            }
            Err(e) => return Err(e.into()),
        };
        if code != 0 {
            return Ok(Outcome {
                code,
                output,
                layer: None,
            });
        }
        let upper = root.container(&id).join("upper");
        crate::mounts::mountpoints::remove(&upper, &cmd.mount_points_made);
        let work = store.temp_dir("build")?;
        let tar_path = work.path().join("layer.tar");
        let f = File::create(&tar_path).ctx(|| format!("creating {}", tar_path.display()))?;
        crate::diff::write_layer(&upper, BufWriter::new(f))?;
        let layer = commit::layer_from_tar(store, &tar_path)?;
        Ok(Outcome {
            code,
            output,
            layer: Some(layer),
        })
    })();
    let removed = engine::lifecycle::remove(root, &id, true, true);
    match (outcome, removed) {
        (Ok(o), Ok(_)) => Ok(o),
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(Error::invalid(format!(
            "removing the build container {id}: {e}"
        ))),
    }
}

/// Passes on what the log has gained since `offset`; returns the new offset.
fn follow(log: &Path, offset: u64, all: &mut Vec<u8>, on_output: &mut dyn FnMut(&[u8])) -> u64 {
    let Ok(f) = File::open(log) else {
        return offset;
    };
    match engine::logs::read_from(f, offset) {
        Ok((entries, next)) => {
            let text: Vec<u8> = entries.into_iter().flat_map(|e| e.text).collect();
            if !text.is_empty() {
                on_output(&text);
                all.extend_from_slice(&text);
            }
            next
        }
        Err(_) => offset,
    }
}
