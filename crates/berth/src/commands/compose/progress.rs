//! How `berth compose` shows the stack's progress on stderr, in Docker Compose's
//! words: on a terminal one line per finished step (` ✔ Container x  Started`) plus
//! the long waits; plain (not a terminal, or `--progress plain`) every step as it
//! starts and ends; nothing with `--progress quiet` but warnings.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use stack::events::{Kind, Phase};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Tty,
    Plain,
    Quiet,
}

pub struct Printer {
    mode: Mode,
    color: bool,
    /// Lines from several threads never interleave.
    out: Mutex<()>,
}

impl Printer {
    pub fn new(progress: &str, ansi: &str) -> Printer {
        let tty = std::io::stderr().is_terminal();
        let mode = match progress {
            "quiet" => Mode::Quiet,
            "plain" | "json" => Mode::Plain,
            "tty" => Mode::Tty,
            _ if tty => Mode::Tty,
            _ => Mode::Plain,
        };
        let color = match ansi {
            "always" => true,
            "never" => false,
            _ => tty,
        };
        Printer {
            mode,
            color,
            out: Mutex::new(()),
        }
    }

    fn line(&self, s: &str) {
        let _g = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{s}");
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

impl stack::Events for Printer {
    fn object(&self, kind: Kind, name: &str, text: &str, phase: Phase) {
        let what = format!("{} {name}  {text}", kind.as_str());
        match (self.mode, phase) {
            (Mode::Quiet, _) => {}
            (Mode::Plain, _) => self.line(&format!(" {what}")),
            (Mode::Tty, Phase::Done) => self.line(&format!(" {} {what}", self.paint("32", "✔"))),
            (Mode::Tty, Phase::Failed) => self.line(&format!(" {} {what}", self.paint("31", "✘"))),
            // The steps that can take long are shown as they begin.
            (Mode::Tty, Phase::Working) if matches!(text, "Waiting" | "Pulling") => {
                self.line(&format!(" {} {what}", self.paint("33", "⠿")))
            }
            (Mode::Tty, Phase::Working) => {}
        }
    }

    fn warning(&self, message: &str) {
        self.line(&format!("{} {message}", self.paint("33", "WARN[0000]")));
    }
}
