//! The `.env` file format as docker compose reads it (compose-go's `dotenv` package,
//! v2.x), from text the caller has already read: this module never opens files and
//! never reads the process environment (the caller's [`Lookup`] stands for it).
//!
//! Rules:
//!
//! * A UTF-8 byte-order mark at the start is ignored; blank lines and lines whose first
//!   non-blank character is `#` are skipped.
//! * A statement is `[export ]KEY=VALUE`. compose-go also accepts the YAML-like
//!   `KEY: VALUE` (the first `=` or `:` ends the key), so that is accepted too.
//! * A key is letters, digits and `_ . - [ ]` (Unicode letters and digits count, as in
//!   compose-go); any other character is an error naming the line. Blanks around the
//!   key are dropped; a blank inside it is an error.
//! * A bare `KEY` with no `=` takes its value from the lookup and is skipped when the
//!   lookup does not have it. compose-go does this for every dotenv file it parses,
//!   not only `env_file`, so this parser does too. (Unlike compose-go, a bare key on
//!   the last line without a newline is treated the same way rather than as a key
//!   named "" holding the key's text.)
//! * Unquoted values run to the end of the line; ` #` (space, hash) starts a comment;
//!   blanks around the value are dropped; interpolation applies.
//! * Single-quoted values are literal: no interpolation, and a backslash is kept,
//!   except that `\'` is a quote (compose-go).
//! * Double-quoted values: `\"` is a quote; `\n \r \t \a \b \f \v \\` are the usual
//!   escapes; `\$` is a literal `$`; `\0` and three octal digits is that character; any
//!   other backslash is kept. Then interpolation applies.
//! * Quoted values may span lines. After the closing quote only blanks and a `#`
//!   comment may follow on that line; compose-go would instead start a new statement
//!   there, silently, so this is an error here rather than a surprise.
//! * In `${VAR}` references the lookup is consulted first and then the variables set
//!   earlier in the file, the order compose-go uses (the process environment wins over
//!   `.env` in compose anyway, so a reference sees the value compose will use).
//!   Unset references become "" without a warning.
//! * A key set twice keeps its first position and its last value.
//!
//! compose additionally drops keys starting with a digit when it loads the project
//! `.env` (they can never be referenced by `${...}` anyway); that is the caller's
//! choice and is not done here.

use super::{interpolate_into, Lookup};

/// A `.env` problem, with the 1-based line of the statement it is on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DotenvError {
    pub line: u32,
    pub message: String,
}

/// Parses a .env file's text. Variables earlier in the file (and `lookup`, the process
/// environment, for `${VAR}` references) are visible to later values. Returns the
/// variables in the order first defined.
pub fn parse_dotenv(text: &str, lookup: &dyn Lookup) -> Result<Vec<(String, String)>, DotenvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = DotenvParser {
        s: text,
        pos: 0,
        line: 1,
        out: Vec::new(),
    };
    p.run(lookup)?;
    Ok(p.out)
}

/// Blank characters within a line (compose-go's `isSpace`): never a newline.
fn is_blank(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\u{b}' | '\u{c}' | '\r' | '\u{85}' | '\u{a0}'
    )
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '[' | ']')
}

struct DotenvParser<'a> {
    s: &'a str,
    pos: usize,
    line: u32,
    out: Vec<(String, String)>,
}

impl DotenvParser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn err(&self, line: u32, message: String) -> DotenvError {
        DotenvError { line, message }
    }

    /// Moves past `n` bytes, counting the newlines among them.
    fn advance(&mut self, n: usize) {
        let skipped = &self.s[self.pos..self.pos + n];
        self.line += skipped.bytes().filter(|&b| b == b'\n').count() as u32;
        self.pos += n;
    }

    fn skip_while(&mut self, f: impl Fn(char) -> bool) {
        let n = self
            .rest()
            .char_indices()
            .find(|&(_, c)| !f(c))
            .map_or(self.rest().len(), |(i, _)| i);
        self.advance(n);
    }

    fn skip_to_eol(&mut self) {
        self.skip_while(|c| c != '\n');
    }

    fn run(&mut self, lookup: &dyn Lookup) -> Result<(), DotenvError> {
        loop {
            self.skip_while(char::is_whitespace);
            if self.rest().is_empty() {
                return Ok(());
            }
            if self.rest().starts_with('#') {
                self.skip_to_eol();
                continue;
            }
            self.statement(lookup)?;
        }
    }

    fn statement(&mut self, lookup: &dyn Lookup) -> Result<(), DotenvError> {
        let line = self.line;
        // `export` is only a prefix when a blank follows; `export=1` sets "export".
        if let Some(after) = self.rest().strip_prefix("export") {
            if after.starts_with(is_blank) {
                self.advance("export".len());
                self.skip_while(is_blank);
            }
        }

        let rest = self.rest();
        let line_text = rest.split('\n').next().unwrap_or(rest);
        let mut end = None;
        for (i, c) in rest.char_indices() {
            if is_blank(c) || is_key_char(c) {
                continue;
            }
            match c {
                '=' | ':' | '\n' => {
                    end = Some((i, c));
                    break;
                }
                _ => {
                    return Err(self.err(
                        line,
                        format!("unexpected character {c:?} in variable name {line_text:?}"),
                    ))
                }
            }
        }
        // No separator before the end of the text: a bare key on the last line.
        let (key_end, sep) = end.unwrap_or((rest.len(), '\n'));
        let key = rest[..key_end].trim_end_matches(is_blank).to_string();
        if key.is_empty() {
            return Err(self.err(line, format!("missing variable name before {sep:?}")));
        }
        if key.contains(is_blank) {
            return Err(self.err(
                line,
                format!("variable name {key:?} cannot contain a space"),
            ));
        }

        if sep == '\n' {
            // Inherited: the newline itself is left for `run` to count.
            self.advance(key_end);
            if let Some(v) = lookup.get(&key) {
                self.set(key, v);
            }
            return Ok(());
        }

        self.advance(key_end + 1);
        self.skip_while(is_blank);
        let value = match self.rest().chars().next() {
            Some(q @ ('"' | '\'')) => self.quoted(&key, q, line, lookup)?,
            _ => self.unquoted(line, lookup)?,
        };
        self.set(key, value);
        Ok(())
    }

    fn unquoted(&mut self, line: u32, lookup: &dyn Lookup) -> Result<String, DotenvError> {
        let rest = self.rest();
        let len = rest.find('\n').unwrap_or(rest.len());
        let raw = &rest[..len];
        let raw = raw.split(" #").next().unwrap_or(raw).trim_end();
        let value = self.expand(raw, line, lookup)?;
        self.advance(len);
        Ok(value)
    }

    fn quoted(
        &mut self,
        key: &str,
        quote: char,
        line: u32,
        lookup: &dyn Lookup,
    ) -> Result<String, DotenvError> {
        let rest = self.rest();
        // Like compose-go: a backslash before the quote character makes it part of the
        // value; any other backslash is kept for `expand_escapes` (or kept as it is in
        // single quotes).
        let mut raw = String::new();
        let mut escaped = false;
        let mut close = None;
        for (i, c) in rest.char_indices().skip(1) {
            if escaped {
                escaped = false;
                if c != quote {
                    raw.push('\\');
                }
                raw.push(c);
            } else if c == '\\' {
                escaped = true;
            } else if c == quote {
                close = Some(i);
                break;
            } else {
                raw.push(c);
            }
        }
        let Some(close) = close else {
            // The value is not quoted back: this is the line secrets are on.
            return Err(self.err(line, format!("unterminated quoted value for {key}")));
        };
        self.advance(close + 1);

        self.skip_while(is_blank);
        if self.rest().starts_with('#') {
            self.skip_to_eol();
        }
        if !(self.rest().is_empty() || self.rest().starts_with('\n')) {
            return Err(self.err(
                self.line,
                format!("unexpected text after the closing quote of {key}"),
            ));
        }

        if quote == '"' {
            self.expand(&expand_escapes(&raw), line, lookup)
        } else {
            Ok(raw)
        }
    }

    /// Interpolates a value: the lookup first, then the variables set so far.
    fn expand(&self, raw: &str, line: u32, lookup: &dyn Lookup) -> Result<String, DotenvError> {
        let scope = |name: &str| {
            lookup.get(name).or_else(|| {
                self.out
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
        };
        interpolate_into(raw, &scope, &mut Vec::new()).map_err(|message| self.err(line, message))
    }

    fn set(&mut self, key: String, value: String) {
        match self.out.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.out.push((key, value)),
        }
    }
}

/// Double-quote escapes, as compose-go's `expandEscapes`. `\$` becomes `$$` so that the
/// interpolation that follows leaves a literal `$`.
fn expand_escapes(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        let (replacement, len): (Option<String>, usize) = match b[i + 1] {
            b'a' => (Some("\u{7}".into()), 2),
            b'b' => (Some("\u{8}".into()), 2),
            b'f' => (Some("\u{c}".into()), 2),
            b'n' => (Some("\n".into()), 2),
            b'r' => (Some("\r".into()), 2),
            b't' => (Some("\t".into()), 2),
            b'v' => (Some("\u{b}".into()), 2),
            b'$' => (Some("$$".into()), 2),
            b'"' => (Some("\"".into()), 2),
            b'\\' => (Some("\\".into()), 2),
            b'0' => {
                // `\0` and up to three digits is one match; only exactly three octal
                // digits decode (Go's `\NNN`), anything else is left untouched.
                let digits = b[i + 2..]
                    .iter()
                    .take(3)
                    .take_while(|d| d.is_ascii_digit())
                    .count();
                let octal = &b[i + 2..i + 2 + digits];
                let decoded = (digits == 3 && octal.iter().all(|d| (b'0'..=b'7').contains(d)))
                    .then(|| {
                        octal
                            .iter()
                            .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'))
                    })
                    .and_then(char::from_u32)
                    .map(String::from);
                (decoded, 2 + digits)
            }
            _ => (None, 1),
        };
        if let Some(r) = replacement {
            out.push_str(&s[copied..i]);
            out.push_str(&r);
            copied = i + len;
        }
        i += len;
    }
    out.push_str(&s[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn none(_: &str) -> Option<String> {
        None
    }

    fn parse(text: &str) -> Vec<(String, String)> {
        parse_dotenv(text, &none).unwrap()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn err(text: &str) -> DotenvError {
        parse_dotenv(text, &none).unwrap_err()
    }

    #[test]
    fn simple_comments_and_blank_lines() {
        let text = "# a comment\n\nA=1\n   # indented comment\n  B = two words  \n\nC=\nD=x=y\n";
        assert_eq!(
            parse(text),
            pairs(&[("A", "1"), ("B", "two words"), ("C", ""), ("D", "x=y")])
        );
        assert_eq!(parse(""), vec![]);
        assert_eq!(parse("\n\n# only comments\n"), vec![]);
        assert_eq!(parse("A=1"), pairs(&[("A", "1")]));
    }

    #[test]
    fn bom_and_crlf() {
        assert_eq!(
            parse("\u{feff}A=1\r\nB=\"q\"\r\nC='s'  \r\n"),
            pairs(&[("A", "1"), ("B", "q"), ("C", "s")])
        );
    }

    #[test]
    fn export_prefix() {
        assert_eq!(
            parse("export A=1\nexport\tB=2\nexport=3\nexporter=4\n"),
            pairs(&[("A", "1"), ("B", "2"), ("export", "3"), ("exporter", "4")])
        );
    }

    #[test]
    fn colon_separator_and_key_characters() {
        assert_eq!(
            parse("A: 1\nb.c-d[0]=x\nÉTÉ=été\n_9=n\n9A=digit\n"),
            pairs(&[
                ("A", "1"),
                ("b.c-d[0]", "x"),
                ("ÉTÉ", "été"),
                ("_9", "n"),
                ("9A", "digit")
            ])
        );
    }

    #[test]
    fn inline_comments_on_unquoted_values() {
        assert_eq!(
            parse("A=value # comment\nB=no#comment\nC=url#frag # real comment\nD=\t# blank then comment\n"),
            pairs(&[
                ("A", "value"),
                ("B", "no#comment"),
                ("C", "url#frag"),
                // The blanks after `=` are dropped first, so `#` starts the value (as
                // in compose-go).
                ("D", "# blank then comment"),
            ])
        );
    }

    #[test]
    fn single_quotes_are_literal() {
        assert_eq!(
            parse(r#"A='$HOME ${X} \n \\ "q" # not a comment'"#),
            pairs(&[("A", r#"$HOME ${X} \n \\ "q" # not a comment"#)])
        );
        assert_eq!(parse(r"A='it\'s'"), pairs(&[("A", "it's")]));
        assert_eq!(parse("A=''"), pairs(&[("A", "")]));
    }

    #[test]
    fn double_quote_escapes() {
        assert_eq!(
            parse(r#"A="l1\nl2\tt \"q\" back\\slash \$HOME \r""#),
            pairs(&[("A", "l1\nl2\tt \"q\" back\\slash $HOME \r")])
        );
        assert_eq!(
            parse(r#"A="\a\b\f\v""#),
            pairs(&[("A", "\u{7}\u{8}\u{c}\u{b}")])
        );
        assert_eq!(parse(r#"A="\0101\0""#), pairs(&[("A", "A\\0")]));
        // Unknown escapes keep their backslash.
        assert_eq!(parse(r#"A="\q\c\x41""#), pairs(&[("A", r"\q\c\x41")]));
        assert_eq!(parse(r#"A="\\n""#), pairs(&[("A", r"\n")]));
        assert_eq!(parse(r#"A="""#), pairs(&[("A", "")]));
        assert_eq!(parse(r#"A="a # b""#), pairs(&[("A", "a # b")]));
    }

    #[test]
    fn multiline_quoted_values_keep_line_numbers() {
        let text = "A=\"first\nsecond\"\nB='x\ny'\nC=3\nD=${1A}\n";
        let e = err(text);
        assert_eq!(e.line, 6);
        let text = "A=\"first\nsecond\"\nB='x\ny'\nC=3\n";
        assert_eq!(
            parse(text),
            pairs(&[("A", "first\nsecond"), ("B", "x\ny"), ("C", "3")])
        );
    }

    #[test]
    fn after_the_closing_quote() {
        assert_eq!(
            parse("A=\"x\"   # comment\nB='y'# tight comment\nC=\"z\"   \n"),
            pairs(&[("A", "x"), ("B", "y"), ("C", "z")])
        );
        let e = err("A=1\nB=\"x\" junk\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("after the closing quote"), "{e}");
        let e = err("A=\"multi\nline\" junk\n");
        assert_eq!(e.line, 2);
    }

    #[test]
    fn interpolation_from_earlier_lines_and_the_lookup() {
        let env: HashMap<String, String> = [
            ("HOME".to_string(), "/home/me".to_string()),
            ("OVER".to_string(), "from-env".to_string()),
        ]
        .into();
        let text = "A=1\nB=${A}-$HOME\nC=\"${B}/x\"\nD='${A}'\nOVER=file\nE=$OVER\nF=${NOPE:-dflt}$NOPE2\nG=$$A\n";
        assert_eq!(
            parse_dotenv(text, &env).unwrap(),
            pairs(&[
                ("A", "1"),
                ("B", "1-/home/me"),
                ("C", "1-/home/me/x"),
                ("D", "${A}"),
                ("OVER", "file"),
                // The lookup is consulted before the file (compose-go's order).
                ("E", "from-env"),
                ("F", "dflt"),
                ("G", "$A"),
            ])
        );
        // A later line is not visible earlier.
        assert_eq!(parse("A=$B\nB=2\n"), pairs(&[("A", ""), ("B", "2")]));
    }

    #[test]
    fn redefinition_keeps_position_and_last_value() {
        assert_eq!(
            parse("A=1\nB=2\nA=${A}3\n"),
            pairs(&[("A", "13"), ("B", "2")])
        );
    }

    #[test]
    fn bare_keys_come_from_the_lookup() {
        let env = |k: &str| (k == "FROM_ENV").then(|| "env value".to_string());
        assert_eq!(
            parse_dotenv("FROM_ENV\nNOT_SET\nexport FROM_ENV\nA=1\nFROM_ENV", &env).unwrap(),
            pairs(&[("FROM_ENV", "env value"), ("A", "1")])
        );
    }

    #[test]
    fn invalid_lines_name_their_line() {
        let e = err("A=1\n\n# c\nBAD KEY=1\n");
        assert_eq!(e.line, 4);
        assert!(e.message.contains("cannot contain a space"), "{e}");

        let e = err("A=1\nB/C=1\n");
        assert_eq!(e.line, 2);
        assert_eq!(
            e.message,
            "unexpected character '/' in variable name \"B/C=1\""
        );
        assert_eq!(
            e.to_string(),
            "line 2: unexpected character '/' in variable name \"B/C=1\""
        );

        let e = err("A=1\n=value\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("missing variable name"), "{e}");

        let e = err("A=1\nB=\"open\nstill open\n");
        assert_eq!(e.line, 2);
        assert_eq!(e.message, "unterminated quoted value for B");

        let e = err("A=1\nB='x\n");
        assert_eq!(e.line, 2);

        let e = err("A=1\nB=${A\n");
        assert_eq!(e.line, 2);
        assert!(e.message.starts_with("invalid interpolation format"), "{e}");

        let e = err("X=\"${NEED:?set NEED}\"\n");
        assert_eq!(e.line, 1);
        assert_eq!(
            e.message,
            "required variable NEED is missing a value: set NEED"
        );
    }

    #[test]
    fn escapes_unit() {
        assert_eq!(expand_escapes(r"\"), r"\");
        assert_eq!(expand_escapes(r"a\"), r"a\");
        assert_eq!(expand_escapes(r"\\\n"), "\\\n");
        assert_eq!(expand_escapes(r"\0777x"), "\u{1ff}x");
        assert_eq!(expand_escapes(r"\0128"), r"\0128");
        assert_eq!(expand_escapes(r"\01"), r"\01");
        assert_eq!(expand_escapes("é\\té"), "é\té");
    }
}
