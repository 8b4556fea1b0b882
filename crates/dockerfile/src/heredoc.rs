//! Heredocs (`<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF`): recognising the words that open
//! one, and what the opening word says about the body. Owns the recognition rules only;
//! reading the body lines is the lexer's job, and expanding variables in a body is the
//! builder's (when [`Heredoc::expand`] says so).

/// A heredoc body attached to a RUN, COPY or ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter, quotes removed (`EOF` for `<<"EOF"`).
    pub name: String,
    /// The body: every line up to the delimiter line, each with its own line ending.
    /// For `<<-`, leading tabs are already removed from every line.
    pub content: String,
    /// False when the delimiter was quoted (`<<'EOF'`, `<<"EOF"`): the body is then
    /// taken literally; otherwise the builder expands variables in it.
    pub expand: bool,
    /// `<<-`: leading tabs were stripped from the body and the delimiter line.
    pub chomp: bool,
    /// The file descriptor written before `<<` (`3<<EOF`), 0 when none was written.
    pub fd: u32,
}

/// What an opening word (`<<-"EOF"`) declares, before the body is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    pub name: String,
    pub expand: bool,
    pub chomp: bool,
    pub fd: u32,
}

/// Reads one word as a heredoc opening, Docker's `^(\d*)<<(-?)([^<]*)$` with a
/// non-empty name. Anything else (including `<<<`, `cat<<EOF`) is not a heredoc.
pub fn opening(word: &str) -> Option<Opening> {
    let digits = word.chars().take_while(char::is_ascii_digit).count();
    let (fd_text, rest) = word.split_at(digits);
    let rest = rest.strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let fd = if fd_text.is_empty() {
        0
    } else {
        fd_text.parse().ok()?
    };
    let (name, quoted) = unquote(rest)?;
    if name.is_empty() {
        return None;
    }
    Some(Opening {
        name,
        expand: !quoted,
        chomp,
        fd,
    })
}

/// Removes shell quoting from a delimiter; `None` when it is not exactly one word
/// (unbalanced quotes, or unquoted whitespace). The flag says whether any quote
/// characters did quoting, which is what turns expansion off (an escaped `\"` does not).
fn unquote(s: &str) -> Option<(String, bool)> {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => out.push(c),
                    }
                }
            }
            '"' => {
                quoted = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => {
                            let n = chars.next()?;
                            if !matches!(n, '"' | '$' | '\\') {
                                out.push('\\');
                            }
                            out.push(n);
                        }
                        c => out.push(c),
                    }
                }
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            c if c.is_whitespace() => return None,
            c => out.push(c),
        }
    }
    Some((out, quoted))
}

/// Every heredoc opened on an instruction line, in order. The line is cut into words
/// the way a shell would (quotes kept, so a quoted `'<<EOF'` opens nothing); a line
/// with an unbalanced quote opens nothing, as in Docker.
pub fn openings_in_line(line: &str) -> Vec<Opening> {
    match raw_shell_words(line) {
        Some(words) => words.iter().filter_map(|w| opening(w)).collect(),
        None => Vec::new(),
    }
}

/// Shell words with quotes and backslash escapes left in place.
fn raw_shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                word.push(c);
                loop {
                    let n = chars.next()?;
                    word.push(n);
                    if n == c {
                        break;
                    }
                    if c == '"' && n == '\\' {
                        word.push(chars.next()?);
                    }
                }
            }
            '\\' => {
                word.push(c);
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    Some(words)
}

/// `<<-` removes leading tabs from every body line.
pub fn chomp(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(name: &str, expand: bool, chomp: bool, fd: u32) -> Opening {
        Opening {
            name: name.into(),
            expand,
            chomp,
            fd,
        }
    }

    #[test]
    fn openings_are_recognised() {
        assert_eq!(opening("<<EOF"), Some(open("EOF", true, false, 0)));
        assert_eq!(opening("<<-EOF"), Some(open("EOF", true, true, 0)));
        assert_eq!(opening("<<\"EOF\""), Some(open("EOF", false, false, 0)));
        assert_eq!(opening("<<'E'OF"), Some(open("EOF", false, false, 0)));
        assert_eq!(opening("3<<END"), Some(open("END", true, false, 3)));
        assert_eq!(opening("<<\\EOF"), Some(open("EOF", true, false, 0)));
    }

    #[test]
    fn non_openings_are_not() {
        for w in [
            "<<", "<<<EOF", "cat<<EOF", "<EOF", "<<''", "x<<EOF", "<<\"EOF",
        ] {
            assert_eq!(opening(w), None, "{w}");
        }
    }

    #[test]
    fn a_line_can_open_several_and_quoted_ones_do_not_count() {
        let names: Vec<String> = openings_in_line("COPY <<one <<-two '<<three' \"<<four\" /dst")
            .into_iter()
            .map(|o| o.name)
            .collect();
        assert_eq!(names, vec!["one", "two"]);
        assert!(openings_in_line("RUN echo 'unbalanced <<EOF").is_empty());
    }

    #[test]
    fn chomp_strips_leading_tabs_only() {
        assert_eq!(chomp("\t\ta\n \tb\n\tc"), "a\n \tb\nc");
    }
}
