//! From Dockerfile text to logical lines: parser directives at the top, comments,
//! blank lines, continuations with the escape character, and heredoc bodies. Owns the
//! line structure and the line numbers; never looks inside an instruction beyond what
//! deciding "does this line open heredocs" needs.
//!
//! Rules, as BuildKit applies them:
//! * Directives (`# syntax=`, `# escape=`, `# check=`, names case-insensitive) count only
//!   before anything else: the first blank line, comment that is not a known directive,
//!   or instruction ends them. A repeated directive is an error.
//! * A line ends in a continuation when its last non-blank character is the escape
//!   character and the one before is not also the escape character. Inside a
//!   continuation, comment lines and blank lines are skipped (a blank one is a
//!   warning), and leading whitespace of continued lines is kept.
//! * RUN, COPY and ADD in shell form (and ONBUILD wrapping one) may open heredocs; their
//!   bodies follow the instruction line, each ended by a line that is exactly its
//!   delimiter (after removing leading tabs for `<<-`).

use crate::error::{Error, Warning};
use crate::heredoc::{self, Heredoc};
use crate::words::{json_array, split_command, Json};

/// The parser directives in force for the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// `# syntax=` (the frontend image Docker would use; recorded, not acted on).
    pub syntax: Option<String>,
    /// `\` unless `# escape=` said `` ` ``.
    pub escape: char,
    /// `# check=` as written (lint configuration).
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            syntax: None,
            escape: '\\',
            check: None,
        }
    }
}

/// One instruction's text and where it sits in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalLine {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub heredocs: Vec<Heredoc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexed {
    pub directives: Directives,
    pub lines: Vec<LogicalLine>,
    pub warnings: Vec<Warning>,
}

const BOM: char = '\u{feff}';

pub fn lex(text: &str) -> Result<Lexed, Error> {
    let raw: Vec<&str> = text.split_inclusive('\n').collect();
    let mut directives = Directives::default();
    let mut seen: Vec<&'static str> = Vec::new();
    let mut directives_done = false;
    let mut lines = Vec::new();
    let mut warnings = Vec::new();

    let mut i = 0;
    while i < raw.len() {
        let mut body = trim_newline(raw[i]);
        if i == 0 {
            body = body.strip_prefix(BOM).unwrap_or(body);
        }
        let trimmed = body.trim_start();
        i += 1;
        let start = i;

        if !directives_done {
            match directive(trimmed) {
                Some((name, value)) => {
                    if seen.contains(&name) {
                        return Err(Error::new(
                            start,
                            format!("only one {name} parser directive can be used"),
                        ));
                    }
                    seen.push(name);
                    apply_directive(&mut directives, name, value, start)?;
                    continue;
                }
                None => directives_done = true,
            }
        }
        if trimmed.starts_with('#') {
            continue;
        }
        let escape = directives.escape;
        let (mut line, mut continued) = trim_continuation(trimmed, escape);
        if !continued && line.is_empty() {
            continue;
        }
        let mut blank_inside = false;
        while continued && i < raw.len() {
            let body = trim_newline(raw[i]);
            i += 1;
            let trimmed = body.trim_start();
            if trimmed.starts_with('#') {
                continue;
            }
            if trimmed.is_empty() {
                blank_inside = true;
                continue;
            }
            let (more, again) = trim_continuation(body, escape);
            line.push_str(&more);
            continued = again;
        }
        if line.trim().is_empty() {
            // Only escape characters and skipped lines: nothing to run.
            continue;
        }
        if blank_inside {
            warnings.push(Warning {
                line: start,
                message: "empty continuation line (Docker will make this an error; remove the blank line or the trailing escape)".into(),
            });
        }

        let mut heredocs = Vec::new();
        if opens_heredocs(&line) {
            for open in heredoc::openings_in_line(&line) {
                let mut content = String::new();
                let mut terminated = false;
                while i < raw.len() {
                    let candidate = trim_newline(raw[i]);
                    let candidate = if open.chomp {
                        candidate.trim_start_matches('\t')
                    } else {
                        candidate
                    };
                    if candidate == open.name {
                        terminated = true;
                        i += 1;
                        break;
                    }
                    content.push_str(raw[i]);
                    i += 1;
                }
                if !terminated {
                    return Err(Error::new(
                        start,
                        format!(
                            "unterminated heredoc <<{0}: no line holding only {0} ends it before the end of the file",
                            open.name
                        ),
                    ));
                }
                if open.chomp {
                    content = heredoc::chomp(&content);
                }
                heredocs.push(Heredoc {
                    name: open.name,
                    content,
                    expand: open.expand,
                    chomp: open.chomp,
                    fd: open.fd,
                });
            }
        }
        lines.push(LogicalLine {
            start,
            end: i,
            text: line,
            heredocs,
        });
    }
    Ok(Lexed {
        directives,
        lines,
        warnings,
    })
}

/// A line without its line ending (`\n`, `\r\n`).
fn trim_newline(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

/// The line without a trailing continuation, and whether there was one.
fn trim_continuation(line: &str, escape: char) -> (String, bool) {
    let t = line.trim_end_matches([' ', '\t']);
    if let Some(before) = t.strip_suffix(escape) {
        // An escaped escape (`\\` at the end) is not a continuation.
        if !before.ends_with(escape) {
            return (before.to_string(), true);
        }
    }
    (line.to_string(), false)
}

/// A `# name = value` line with a known directive name, as `(name, value)`. The
/// value is trimmed and must not be empty.
fn directive(line: &str) -> Option<(&'static str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let name_len = rest
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_alphabetic() || (*i > 0 && c.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    let (name, rest) = rest.split_at(name_len);
    let value = rest.trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    let name = ["syntax", "escape", "check"]
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(name))?;
    Some((name, value))
}

fn apply_directive(d: &mut Directives, name: &str, value: &str, line: usize) -> Result<(), Error> {
    match name {
        "escape" => {
            d.escape = match value {
                "\\" => '\\',
                "`" => '`',
                other => {
                    return Err(Error::new(
                        line,
                        format!("invalid escape directive '{other}': the escape character must be \\ or ` (backtick)"),
                    ))
                }
            }
        }
        "syntax" => d.syntax = Some(value.to_string()),
        _ => d.check = Some(value.to_string()),
    }
    Ok(())
}

/// Whether the instruction on this line may open heredocs: RUN, COPY or ADD (also as
/// an ONBUILD trigger) in shell form.
fn opens_heredocs(line: &str) -> bool {
    let (mut cmd, _, mut rest) = split_command(line);
    if cmd.eq_ignore_ascii_case("onbuild") {
        let (inner, _, inner_rest) = split_command(&rest);
        cmd = inner;
        rest = inner_rest;
    }
    ["run", "copy", "add"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(&cmd))
        && !matches!(json_array(&rest), Json::Array(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<(usize, usize, String)> {
        lex(src)
            .map(|l| {
                l.lines
                    .into_iter()
                    .map(|l| (l.start, l.end, l.text))
                    .collect()
            })
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn directives_are_read_case_insensitively_at_the_top() {
        let l =
            lex("# Syntax = docker/dockerfile:1\n#ESCAPE=`\n# check=skip=all\nFROM x\n").unwrap();
        assert_eq!(l.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(l.directives.escape, '`');
        assert_eq!(l.directives.check.as_deref(), Some("skip=all"));
    }

    #[test]
    fn directives_after_a_comment_blank_line_or_instruction_are_comments() {
        for src in [
            "# hello\n# escape=`\nFROM x\n",
            "\n# escape=`\nFROM x\n",
            "FROM x\n# escape=`\n",
            "# unknown=1\n# escape=`\nFROM x\n",
        ] {
            assert_eq!(lex(src).unwrap().directives.escape, '\\', "{src:?}");
        }
    }

    #[test]
    fn repeated_or_bad_escape_directives_are_errors() {
        let e = lex("# escape=`\n# escape=\\\nFROM x").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("only one escape"), "{e}");
        let e = lex("# syntax=a\n# escape=x\nFROM x").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("invalid escape directive 'x'"), "{e}");
    }

    #[test]
    fn continuations_join_and_skip_comments_and_blank_lines() {
        let src = "FROM x\nRUN a \\\n  # a comment\n\n    && b \\\n\t&& c\nRUN d\n";
        let l = lex(src).unwrap();
        assert_eq!(l.lines[1].text, "RUN a     && b \t&& c");
        assert_eq!((l.lines[1].start, l.lines[1].end), (2, 6));
        assert_eq!((l.lines[2].start, l.lines[2].text.as_str()), (7, "RUN d"));
        assert_eq!(l.warnings.len(), 1);
        assert_eq!(l.warnings[0].line, 2);
    }

    #[test]
    fn an_escaped_escape_at_the_end_is_not_a_continuation() {
        assert_eq!(
            texts("RUN echo \\\\\nRUN b"),
            vec![(1, 1, "RUN echo \\\\".into()), (2, 2, "RUN b".into())]
        );
    }

    #[test]
    fn trailing_blanks_after_the_escape_still_continue() {
        assert_eq!(texts("RUN a \\  \t\nb"), vec![(1, 2, "RUN a b".into())]);
    }

    #[test]
    fn backtick_escape_continues_and_backslash_does_not() {
        let src = "# escape=`\nRUN dir c:\\ `\n  /w\nRUN b\\\n";
        assert_eq!(
            texts(src),
            vec![(2, 3, "RUN dir c:\\   /w".into()), (4, 4, "RUN b\\".into())]
        );
    }

    #[test]
    fn continuation_at_end_of_file_ends_the_instruction() {
        assert_eq!(
            texts("FROM x\nRUN a \\"),
            vec![(1, 1, "FROM x".into()), (2, 2, "RUN a ".into())]
        );
    }

    #[test]
    fn crlf_and_bom_are_handled() {
        assert_eq!(
            texts("\u{feff}FROM x\r\nRUN a \\\r\n b\r\n"),
            vec![(1, 1, "FROM x".into()), (2, 3, "RUN a  b".into())]
        );
    }

    #[test]
    fn heredoc_bodies_follow_the_line() {
        let src = "RUN <<EOF\necho $A\n  EOF\nEOF\nRUN b\n";
        let l = lex(src).unwrap();
        assert_eq!(l.lines[0].heredocs[0].content, "echo $A\n  EOF\n");
        assert!(l.lines[0].heredocs[0].expand);
        assert_eq!((l.lines[0].start, l.lines[0].end), (1, 4));
        assert_eq!((l.lines[1].start, l.lines[1].text.as_str()), (5, "RUN b"));
    }

    #[test]
    fn chomped_heredocs_strip_tabs_and_several_follow_in_order() {
        let src = "COPY <<-one <<'two' /dst/\n\tfirst\n\tone\nsecond $X\ntwo\n";
        let l = lex(src).unwrap();
        let h = &l.lines[0].heredocs;
        assert_eq!(
            (h[0].name.as_str(), h[0].content.as_str(), h[0].chomp),
            ("one", "first\n", true)
        );
        assert_eq!(
            (h[1].name.as_str(), h[1].content.as_str(), h[1].expand),
            ("two", "second $X\n", false)
        );
        assert_eq!(l.lines[0].end, 5);
    }

    #[test]
    fn heredoc_bodies_are_not_comments_or_continuations() {
        let src = "RUN <<EOF\n# not a comment \\\n\nEOF\n";
        let l = lex(src).unwrap();
        assert_eq!(l.lines[0].heredocs[0].content, "# not a comment \\\n\n");
    }

    #[test]
    fn heredocs_only_for_shell_form_run_copy_add_and_their_onbuild() {
        let l = lex("CMD <<EOF\nRUN [\"cat\", \"<<EOF\"]\nONBUILD RUN <<X\nbody\nX\n").unwrap();
        assert!(l.lines[0].heredocs.is_empty());
        assert!(l.lines[1].heredocs.is_empty());
        assert_eq!(l.lines[2].heredocs[0].content, "body\n");
        assert_eq!(l.lines.len(), 3);
    }

    #[test]
    fn unterminated_heredoc_is_an_error_at_its_instruction() {
        let e = lex("FROM x\nRUN a\nRUN <<EOF\necho\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("unterminated heredoc <<EOF"), "{e}");
    }

    #[test]
    fn heredoc_after_a_continuation() {
        let src = "RUN --mount=type=cache,target=/c \\\n  sh <<EOF\nx\nEOF\n";
        let l = lex(src).unwrap();
        assert_eq!((l.lines[0].start, l.lines[0].end), (1, 4));
        assert_eq!(l.lines[0].heredocs[0].content, "x\n");
    }
}
