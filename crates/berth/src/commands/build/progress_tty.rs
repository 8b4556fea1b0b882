//! `berth build --progress tty`: a BuildKit-like live view on stderr. One line per
//! step (`=> [2/4] RUN ...  0.8s`, `=> CACHED [...]`), the running step's last output
//! lines under it, a `[+] Building 1.2s (3/5)` header, redrawn in place with ANSI
//! cursor-up and clear-line at most ten times a second; the last screen stays.
//! `render` is pure (steps and a width in, lines out); `Screen` owns the terminal.
//! Never decides what a build does, and never prints to stdout.

use std::io::Write;
use std::time::{Duration, Instant};

/// Output lines of the running step shown under it.
const TAIL_LINES: usize = 6;
/// At most ten redraws a second.
const MIN_REDRAW: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    Done,
    Cached,
    Error,
}

/// One step as the screen shows it.
#[derive(Debug, Clone)]
pub struct Step {
    pub label: String,
    pub text: String,
    pub status: Status,
    pub seconds: f64,
    /// The last complete output lines (at most `TAIL_LINES`).
    pub tail: Vec<String>,
    /// Output after the last newline.
    pub partial: String,
}

impl Step {
    pub fn new(label: &str, text: &str) -> Step {
        Step {
            label: label.to_string(),
            text: text.to_string(),
            status: Status::Running,
            seconds: 0.0,
            tail: Vec::new(),
            partial: String::new(),
        }
    }

    /// Takes more output; control characters become spaces so they cannot move the
    /// cursor under the renderer.
    pub fn output(&mut self, text: &[u8]) {
        let text = String::from_utf8_lossy(text);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                // A progress bar's carriage return starts the line again; CRLF does not.
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' => {
                    let line = std::mem::take(&mut self.partial);
                    self.tail.push(line);
                    if self.tail.len() > TAIL_LINES {
                        self.tail.remove(0);
                    }
                }
                '\r' => self.partial.clear(),
                c if c.is_control() => self.partial.push(' '),
                c => self.partial.push(c),
            }
        }
    }
}

/// The lines of one screen, each at most `width` characters.
pub fn render(steps: &[Step], elapsed: f64, finished: bool, width: usize) -> Vec<String> {
    let width = width.max(20);
    let done = steps
        .iter()
        .filter(|s| matches!(s.status, Status::Done | Status::Cached))
        .count();
    let mut header = format!("[+] Building {elapsed:.1}s ({done}/{})", steps.len());
    if finished {
        header.push_str(" FINISHED");
    }
    let mut out = vec![fit(&header, width)];
    for s in steps {
        let mark = match s.status {
            Status::Cached => "CACHED ",
            Status::Error => "ERROR ",
            Status::Running | Status::Done => "",
        };
        let left = format!(" => {mark}[{}] {}", s.label, s.text.replace('\n', " "));
        let time = format!("{:.1}s", s.seconds);
        out.push(with_time(&left, &time, width));
        if matches!(s.status, Status::Running | Status::Error) {
            let partial = (!s.partial.is_empty()).then_some(&s.partial);
            let mut lines: Vec<&String> = s.tail.iter().chain(partial).collect();
            if lines.len() > TAIL_LINES {
                lines.drain(..lines.len() - TAIL_LINES);
            }
            for l in lines {
                out.push(fit(&format!(" => => # {l}"), width));
            }
        }
    }
    out
}

/// `left` cut to leave room for `time`, which ends at column `width`.
fn with_time(left: &str, time: &str, width: usize) -> String {
    let room = width.saturating_sub(time.len() + 1);
    let left = fit(left, room);
    let pad = width - left.chars().count() - time.len();
    format!("{left}{}{time}", " ".repeat(pad))
}

fn fit(s: &str, width: usize) -> String {
    s.chars().take(width).collect()
}

/// The live view: steps so far, and what is on the terminal.
pub struct Screen<W: Write> {
    out: W,
    width: usize,
    started: Instant,
    steps: Vec<(usize, Step, Instant)>,
    drawn: usize,
    last_draw: Option<Instant>,
}

impl<W: Write> Screen<W> {
    pub fn new(out: W, width: usize) -> Screen<W> {
        Screen {
            out,
            width,
            started: Instant::now(),
            steps: Vec::new(),
            drawn: 0,
            last_draw: None,
        }
    }

    pub fn event(&mut self, e: &build::Event<'_>) {
        match e {
            build::Event::Step { n, label, text } => {
                self.steps
                    .push((*n, Step::new(label, text), Instant::now()));
            }
            build::Event::Cached { n } => {
                if let Some(s) = self.step(*n) {
                    s.status = Status::Cached;
                    s.seconds = 0.0;
                }
            }
            build::Event::Output { n, text } => {
                if let Some(s) = self.step(*n) {
                    s.output(text);
                }
            }
            build::Event::Done { n, seconds } => {
                if let Some(s) = self.step(*n) {
                    s.status = Status::Done;
                    s.seconds = *seconds;
                }
            }
            // Only the timers move: drawn at the usual rate.
            build::Event::Warning(_) | build::Event::Tick => {}
        }
        self.draw(false);
    }

    fn step(&mut self, n: usize) -> Option<&mut Step> {
        self.steps
            .iter_mut()
            .rev()
            .find(|(i, _, _)| *i == n)
            .map(|(_, s, _)| s)
    }

    /// The last screen, which stays; a step still running when the build failed is
    /// marked ERROR.
    pub fn finish(&mut self, failed: bool) {
        if failed {
            for (_, s, _) in &mut self.steps {
                if s.status == Status::Running {
                    s.status = Status::Error;
                }
            }
        }
        self.draw(true);
    }

    fn draw(&mut self, last: bool) {
        let now = Instant::now();
        if !last && self.last_draw.is_some_and(|t| now - t < MIN_REDRAW) {
            return;
        }
        self.last_draw = Some(now);
        for (_, s, started) in &mut self.steps {
            if matches!(s.status, Status::Running | Status::Error) {
                s.seconds = (now - *started).as_secs_f64();
            }
        }
        let steps: Vec<Step> = self.steps.iter().map(|(_, s, _)| s.clone()).collect();
        let lines = render(&steps, (now - self.started).as_secs_f64(), last, self.width);
        let mut buf = String::new();
        if self.drawn > 0 {
            buf.push_str(&format!("\x1b[{}A", self.drawn));
        }
        for l in &lines {
            buf.push_str("\x1b[2K");
            buf.push_str(l);
            buf.push('\n');
        }
        // A shorter screen than the last one leaves nothing of the old below it.
        buf.push_str("\x1b[J");
        self.drawn = lines.len();
        let _ = self.out.write_all(buf.as_bytes());
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(label: &str, text: &str, status: Status, seconds: f64) -> Step {
        Step {
            status,
            seconds,
            ..Step::new(label, text)
        }
    }

    #[test]
    fn steps_are_one_line_each_with_the_time_at_the_right_edge() {
        let mut running = step("3/4", "RUN make", Status::Running, 0.84);
        running.output(b"one\ntwo\npart");
        let steps = [
            step("1/4", "FROM busybox", Status::Done, 0.0),
            step("2/4", "COPY a /a", Status::Cached, 0.0),
            running,
        ];
        let lines = render(&steps, 1.23, false, 40);
        assert_eq!(
            lines,
            [
                "[+] Building 1.2s (2/3)",
                " => [1/4] FROM busybox              0.0s",
                " => CACHED [2/4] COPY a /a          0.0s",
                " => [3/4] RUN make                  0.8s",
                " => => # one",
                " => => # two",
                " => => # part",
            ]
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 40));
    }

    #[test]
    fn long_lines_are_cut_and_only_the_last_output_lines_show() {
        let mut s = step("app 2/2", &"RUN ".repeat(30), Status::Running, 12.0);
        for i in 0..10 {
            s.output(format!("line {i}\n").as_bytes());
        }
        s.output(b"\x1b[31mred\r\n");
        let lines = render(&[s], 12.0, false, 30);
        assert_eq!(lines[1], " => [app 2/2] RUN RUN RU 12.0s");
        assert_eq!(lines.len(), 2 + TAIL_LINES);
        assert_eq!(lines[2], " => => # line 5");
        assert_eq!(lines.last().unwrap(), " => => #  [31mred");
        assert!(lines.iter().all(|l| l.chars().count() <= 30));
    }

    #[test]
    fn the_final_screen_says_finished_and_hides_output_of_done_steps() {
        let mut s = step("1/1", "RUN x", Status::Done, 2.0);
        s.output(b"noise\n");
        let failed = step("2/2", "RUN false", Status::Error, 0.1);
        let lines = render(&[s, failed], 2.5, true, 40);
        assert_eq!(lines[0], "[+] Building 2.5s (1/2) FINISHED");
        assert_eq!(lines[1], format!(" => [1/1] RUN x{}2.0s", " ".repeat(21)));
        assert_eq!(
            lines[2],
            format!(" => ERROR [2/2] RUN false{}0.1s", " ".repeat(11))
        );
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn redraws_move_the_cursor_up_over_the_last_screen() {
        let mut buf = Vec::new();
        {
            let mut screen = Screen::new(&mut buf, 40);
            screen.event(&build::Event::Step {
                n: 1,
                label: "1/2",
                text: "FROM busybox",
            });
            screen.finish(false);
        }
        let text = String::from_utf8(buf).unwrap();
        // The first draw has 2 lines; the final one goes back over them.
        assert!(text.contains("\x1b[2A"), "{text:?}");
        assert!(text.ends_with("\x1b[J"), "{text:?}");
        assert!(text.contains("FINISHED"), "{text:?}");
    }
}
