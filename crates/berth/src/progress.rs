//! Renders engine progress the way Docker does: one bar per layer on a terminal
//! (indicatif), one plain line per state change otherwise, nothing with -q.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use engine::progress::{LayerEvent, Progress};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub enum Sink {
    Stdout,
    Stderr,
}

pub struct Reporter {
    quiet: bool,
    sink: Sink,
    bars: Option<Mutex<Bars>>,
    last: Mutex<HashMap<String, &'static str>>,
}

struct Bars {
    multi: MultiProgress,
    layers: HashMap<String, ProgressBar>,
}

impl Reporter {
    pub fn new(quiet: bool, sink: Sink) -> Reporter {
        let tty = match sink {
            Sink::Stdout => std::io::stdout().is_terminal(),
            Sink::Stderr => std::io::stderr().is_terminal(),
        };
        let bars = (tty && !quiet).then(|| {
            let target = match sink {
                Sink::Stdout => ProgressDrawTarget::stdout(),
                Sink::Stderr => ProgressDrawTarget::stderr(),
            };
            Mutex::new(Bars {
                multi: MultiProgress::with_draw_target(target),
                layers: HashMap::new(),
            })
        });
        Reporter {
            quiet,
            sink,
            bars,
            last: Mutex::new(HashMap::new()),
        }
    }

    fn line(&self, s: &str) {
        if let Some(b) = &self.bars {
            if let Ok(b) = b.lock() {
                let _ = b.multi.println(s);
                return;
            }
        }
        match self.sink {
            Sink::Stdout => {
                let mut o = std::io::stdout().lock();
                let _ = writeln!(o, "{s}");
            }
            Sink::Stderr => eprintln!("{s}"),
        }
    }
}

fn words(e: LayerEvent) -> &'static str {
    match e {
        LayerEvent::Waiting => "Pulling fs layer",
        LayerEvent::AlreadyExists => "Already exists",
        LayerEvent::Downloading { .. } => "Downloading",
        LayerEvent::Verifying => "Verifying Checksum",
        LayerEvent::Extracting => "Extracting",
        LayerEvent::PullComplete => "Pull complete",
        LayerEvent::Preparing => "Preparing",
        LayerEvent::Pushing { .. } => "Pushing",
        LayerEvent::Pushed => "Pushed",
        LayerEvent::LayerExists => "Layer already exists",
    }
}

impl Progress for Reporter {
    fn status(&self, line: &str) {
        if !self.quiet {
            self.line(line);
        }
    }

    fn layer(&self, id: &str, event: LayerEvent) {
        if self.quiet {
            return;
        }
        let w = words(event);
        if let Some(bars) = &self.bars {
            let Ok(mut b) = bars.lock() else { return };
            let multi = b.multi.clone();
            let bar = b.layers.entry(id.to_string()).or_insert_with(|| {
                let bar = multi.add(ProgressBar::new(0));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix}: {msg:<18} {bar:30} {bytes}/{total_bytes}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_prefix(id.to_string());
                bar
            });
            match event {
                LayerEvent::Downloading { done, total } | LayerEvent::Pushing { done, total } => {
                    bar.set_length(total);
                    bar.set_position(done);
                }
                _ => {}
            }
            bar.set_message(w);
            if matches!(
                event,
                LayerEvent::AlreadyExists
                    | LayerEvent::PullComplete
                    | LayerEvent::Pushed
                    | LayerEvent::LayerExists
            ) {
                bar.finish();
            }
            return;
        }
        // Plain output: one line per state, not per chunk.
        if let Ok(mut last) = self.last.lock() {
            if last.get(id) == Some(&w) {
                return;
            }
            last.insert(id.to_string(), w);
        }
        self.line(&format!("{id}: {w}"));
    }
}
