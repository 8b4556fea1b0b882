//! Docker's variable substitution for Dockerfile arguments (what BuildKit's shell
//! lexer does for ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME,
//! WORKDIR and ARG). Owns the substitution and quote-removal rules; never decides
//! which variables exist — the caller passes a lookup — and never runs a shell.
//!
//! Rules:
//! * `$NAME`, `${NAME}`: the value, or nothing when unset. A name is letters, digits
//!   and `_`; `$1`-style digit runs and the one-character specials (`$@ $* $# $? $- $$
//!   $! $0`) are looked up as names too. A `$` that starts no name stays `$`.
//! * `${NAME:-word}` / `${NAME-word}`: `word` when unset or empty / when unset.
//! * `${NAME:+word}` / `${NAME+word}`: `word` when set and non-empty / when set.
//! * `${NAME:?msg}` / `${NAME?msg}`: an error (`NAME: msg`) when unset or empty / unset.
//! * `${NAME#pat}`, `${NAME##pat}`: remove the shortest / longest prefix matching the
//!   shell pattern (`*`, `?`, `\` escapes); `${NAME%pat}`, `${NAME%%pat}`: suffix.
//! * `${NAME/pat/repl}`, `${NAME//pat/repl}`: replace the first / every (longest) match.
//! * `word`, `pat` and `repl` may hold quotes and further substitutions.
//! * The escape character (`\` or the `# escape=` one) makes the next character
//!   literal and is removed; a trailing one is dropped. Single quotes keep everything
//!   literal; double quotes allow substitution, and inside them the escape character
//!   only escapes `"`, `$` and itself. Quotes are removed from the result.
//! * `${}`, `${:x}`, `${{x}`, an unknown operator, a missing `}` or an unterminated
//!   quote are errors.
//!
//! [`expand_words`] additionally splits the result into words the way Docker does for
//! EXPOSE: on whitespace outside quotes, including whitespace that came out of a
//! variable's value.

use crate::error::ExpandError;

/// Where variable values come from; `None` is "unset" (different from `Some("")`).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Substitutes variables in `word` and removes its quoting.
pub fn expand(word: &str, env: Lookup<'_>, escape: char) -> Result<String, ExpandError> {
    let mut sh = Shell::new(word, env, escape);
    sh.process(None, false)
        .map(|(result, _)| result)
        .map_err(|message| ExpandError {
            word: word.to_string(),
            message,
        })
}

/// Substitutes variables in a COPY/ADD heredoc body the way BuildKit does: quotes are
/// ordinary characters and stay, while the escape character still escapes (so `\$X`
/// is a literal `$X`).
pub fn expand_raw(text: &str, env: Lookup<'_>, escape: char) -> Result<String, ExpandError> {
    let mut sh = Shell::new(text, env, escape);
    sh.keep_quotes = true;
    sh.process(None, false)
        .map(|(result, _)| result)
        .map_err(|message| ExpandError {
            word: text.to_string(),
            message,
        })
}

/// Like [`expand`], then split into words.
pub fn expand_words(word: &str, env: Lookup<'_>, escape: char) -> Result<Vec<String>, ExpandError> {
    let mut sh = Shell::new(word, env, escape);
    sh.process(None, false)
        .map(|(_, words)| words.finish())
        .map_err(|message| ExpandError {
            word: word.to_string(),
            message,
        })
}

struct Shell<'a> {
    chars: Vec<char>,
    pos: usize,
    env: Lookup<'a>,
    escape: char,
    /// Keep escape characters in the output: inside `${x#pat}`-style patterns, where
    /// they still mean something to the pattern matcher.
    raw_escapes: bool,
    /// Quotes are plain characters (heredoc bodies).
    keep_quotes: bool,
}

/// Word splitting alongside the plain result.
#[derive(Default)]
struct Words {
    done: Vec<String>,
    word: String,
    in_word: bool,
}

impl Words {
    /// A character that word splitting may cut at.
    fn add_char(&mut self, c: char) {
        if c.is_whitespace() {
            if self.in_word && !self.word.is_empty() {
                self.done.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(c);
        }
    }
    fn add_raw_char(&mut self, c: char) {
        self.word.push(c);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }
    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.done.push(self.word);
        }
        self.done
    }
}

impl<'a> Shell<'a> {
    fn new(word: &str, env: Lookup<'a>, escape: char) -> Self {
        Shell {
            chars: word.chars().collect(),
            pos: 0,
            env,
            escape,
            raw_escapes: false,
            keep_quotes: false,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Processes up to `stop` (consumed) or the end of the text.
    fn process(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Words), String> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let r = self.process_inner(stop);
        self.raw_escapes = saved;
        r
    }

    fn process_inner(&mut self, stop: Option<char>) -> Result<(String, Words), String> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.pos += 1;
                return Ok((result, words));
            }
            match c {
                '$' => {
                    let v = self.dollar()?;
                    result.push_str(&v);
                    words.add_string(&v);
                }
                '\'' if !self.keep_quotes => {
                    let v = self.single_quoted()?;
                    result.push_str(&v);
                    words.add_raw_string(&v);
                }
                '"' if !self.keep_quotes => {
                    let v = self.double_quoted()?;
                    result.push_str(&v);
                    words.add_raw_string(&v);
                }
                _ => {
                    self.pos += 1;
                    if c == self.escape {
                        if self.raw_escapes {
                            words.add_raw_char(c);
                            result.push(c);
                        }
                        let Some(n) = self.next() else { break };
                        words.add_raw_char(n);
                        result.push(n);
                    } else {
                        words.add_char(c);
                        result.push(c);
                    }
                }
            }
        }
        match stop {
            Some(s) => Err(format!(
                "unexpected end of text while looking for matching {s}"
            )),
            None => Ok((result, words)),
        }
    }

    fn single_quoted(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of text while looking for matching single-quote".into(),
                    )
                }
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of text while looking for matching double-quote".into(),
                    )
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('$') => {
                    let v = self.dollar()?;
                    out.push_str(&v);
                }
                Some(c) => {
                    self.pos += 1;
                    if c == self.escape {
                        match self.peek() {
                            Some(n) if n == '"' || n == '$' || n == self.escape => {
                                if self.raw_escapes {
                                    out.push(c);
                                }
                                self.pos += 1;
                                out.push(n);
                            }
                            // Before anything else the escape character is literal.
                            _ => out.push(c),
                        }
                    } else {
                        out.push(c);
                    }
                }
            }
        }
    }

    fn lookup(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }

    fn dollar(&mut self) -> Result<String, String> {
        self.pos += 1;
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(self.lookup(&name).unwrap_or_default());
        }
        self.pos += 1;
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            _ => {}
        }
        let name = self.name();
        match self.next() {
            None => Err("syntax error: missing '}'".into()),
            Some('}') => Ok(self.lookup(&name).unwrap_or_default()),
            Some(':') => match self.next() {
                None => Err("syntax error: missing '}'".into()),
                Some(op @ ('-' | '+' | '?' | '#' | '%')) => self.operator(&name, op, true),
                Some(op) => Err(format!("unsupported modifier (:{op}) in substitution")),
            },
            Some(op @ ('-' | '+' | '?' | '#' | '%')) => self.operator(&name, op, false),
            Some('/') => self.replace(&name),
            Some(op) => Err(format!("unsupported modifier ({op}) in substitution")),
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if name.is_empty() && c.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    name.push(d);
                    self.pos += 1;
                }
                return name;
            }
            if name.is_empty() && matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.pos += 1;
                return c.to_string();
            }
            if !(c.is_alphanumeric() || c == '_') {
                break;
            }
            name.push(c);
            self.pos += 1;
        }
        name
    }

    /// Processes up to `stop`, reporting running off the end as a missing `missing`.
    fn until(&mut self, stop: char, raw: bool, missing: &str) -> Result<String, String> {
        match self.process(Some(stop), raw) {
            Ok((s, _)) => Ok(s),
            Err(_) if self.peek().is_none() => Err(format!("syntax error: missing {missing}")),
            Err(e) => Err(e),
        }
    }

    fn operator(&mut self, name: &str, op: char, null_is_unset: bool) -> Result<String, String> {
        let raw = op == '#' || op == '%';
        let word = self.until('}', raw, "'}'")?;
        let value = self.lookup(name);
        let unset_or_null = match &value {
            None => true,
            Some(v) => null_is_unset && v.is_empty(),
        };
        match op {
            '-' => Ok(if unset_or_null {
                word
            } else {
                value.unwrap_or_default()
            }),
            '+' => Ok(if unset_or_null { String::new() } else { word }),
            '?' => match value {
                None => Err(format!(
                    "{name}: {}",
                    if word.is_empty() {
                        "is not allowed to be unset"
                    } else {
                        &word
                    }
                )),
                Some(v) if null_is_unset && v.is_empty() => Err(format!(
                    "{name}: {}",
                    if word.is_empty() {
                        "is not allowed to be empty"
                    } else {
                        &word
                    }
                )),
                Some(v) => Ok(v),
            },
            _ => {
                let (greedy, pattern) = match word.strip_prefix(op) {
                    Some(p) => (true, p),
                    None => (false, word.as_str()),
                };
                let pat = compile(pattern)?;
                let value: Vec<char> = value.unwrap_or_default().chars().collect();
                Ok(if op == '#' {
                    trim_prefix(&value, &pat, greedy)
                } else {
                    trim_suffix(&value, &pat, greedy)
                })
            }
        }
    }

    fn replace(&mut self, name: &str) -> Result<String, String> {
        let all = self.peek() == Some('/');
        if all {
            self.pos += 1;
        }
        let pattern = self.until('/', true, "'/' in ${}")?;
        let replacement = self.until('}', true, "'}'")?;
        let pat = compile(&pattern)?;
        let value: Vec<char> = self.lookup(name).unwrap_or_default().chars().collect();
        Ok(replace(&value, &pat, &replacement, all))
    }
}

/// A shell pattern piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pat {
    Star,
    Any,
    Lit(char),
}

fn compile(pattern: &str) -> Result<Vec<Pat>, String> {
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push(Pat::Star),
            '?' => out.push(Pat::Any),
            '\\' => match chars.peek() {
                // `\}` and `\/` only protected the character from ending the ${}.
                Some('}' | '/') => {}
                Some(&n @ ('*' | '?' | '\\')) => {
                    chars.next();
                    out.push(Pat::Lit(n));
                }
                other => {
                    return Err(format!(
                        "invalid pattern ({pattern}) in substitution: invalid escape '\\{}'",
                        other.map(|c| c.to_string()).unwrap_or_default()
                    ))
                }
            },
            c => out.push(Pat::Lit(c)),
        }
    }
    Ok(out)
}

/// Whether the whole of `text` matches `pat`.
fn matches(pat: &[Pat], text: &[char]) -> bool {
    // reach[j]: the pattern so far can match text[..j].
    let mut reach = vec![false; text.len() + 1];
    reach[0] = true;
    for p in pat {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            if !reach[j] {
                continue;
            }
            match *p {
                Pat::Star => {
                    next[j..].iter_mut().for_each(|r| *r = true);
                    break;
                }
                Pat::Any if j < text.len() => next[j + 1] = true,
                Pat::Lit(c) if j < text.len() && text[j] == c => next[j + 1] = true,
                _ => {}
            }
        }
        reach = next;
    }
    reach[text.len()]
}

fn trim_prefix(value: &[char], pat: &[Pat], longest: bool) -> String {
    let n = value.len();
    let mut ends: Box<dyn Iterator<Item = usize>> = if longest {
        Box::new((0..=n).rev())
    } else {
        Box::new(0..=n)
    };
    match ends.find(|&end| matches(pat, &value[..end])) {
        Some(end) => value[end..].iter().collect(),
        None => value.iter().collect(),
    }
}

fn trim_suffix(value: &[char], pat: &[Pat], longest: bool) -> String {
    let n = value.len();
    let mut starts: Box<dyn Iterator<Item = usize>> = if longest {
        Box::new(0..=n)
    } else {
        Box::new((0..=n).rev())
    };
    match starts.find(|&start| matches(pat, &value[start..])) {
        Some(start) => value[..start].iter().collect(),
        None => value.iter().collect(),
    }
}

/// The leftmost, longest match starting at or after `from`.
fn find(value: &[char], pat: &[Pat], from: usize) -> Option<(usize, usize)> {
    (from..=value.len()).find_map(|s| {
        (s..=value.len())
            .rev()
            .find(|&e| matches(pat, &value[s..e]))
            .map(|e| (s, e))
    })
}

fn replace(value: &[char], pat: &[Pat], replacement: &str, all: bool) -> String {
    let mut out = String::new();
    let mut pos = 0;
    let mut last_end: Option<usize> = None;
    while pos <= value.len() {
        let Some((s, e)) = find(value, pat, pos) else {
            break;
        };
        // An empty match right after the previous match is not a new match.
        if s == e && last_end == Some(s) {
            if s >= value.len() {
                break;
            }
            out.extend(&value[pos..=s]);
            pos = s + 1;
            continue;
        }
        out.extend(&value[pos..s]);
        out.push_str(replacement);
        last_end = Some(e);
        if !all {
            pos = e;
            break;
        }
        if s == e {
            if s < value.len() {
                out.push(value[s]);
            }
            pos = s + 1;
        } else {
            pos = e;
        }
    }
    if pos < value.len() {
        out.extend(&value[pos..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("alpha".into()),
            "EMPTY" => Some(String::new()),
            "SP" => Some("one two".into()),
            "PATHV" => Some("/usr/local/bin/tool.tar.gz".into()),
            _ => None,
        }
    }

    fn x(word: &str) -> String {
        expand(word, &env, '\\').unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(word: &str) -> String {
        expand(word, &env, '\\').unwrap_err().to_string()
    }

    #[test]
    fn plain_and_braced_variables() {
        assert_eq!(x("$A"), "alpha");
        assert_eq!(x("${A}_x"), "alpha_x");
        assert_eq!(x("$A_x"), "");
        assert_eq!(x("$UNSET-"), "-");
        assert_eq!(x("cost: 5$"), "cost: 5$");
        assert_eq!(x("$ A"), "$ A");
        assert_eq!(x("$1x"), "x");
    }

    #[test]
    fn default_and_alternative_operators() {
        assert_eq!(x("${UNSET:-d}"), "d");
        assert_eq!(x("${EMPTY:-d}"), "d");
        assert_eq!(x("${EMPTY-d}"), "");
        assert_eq!(x("${UNSET-d}"), "d");
        assert_eq!(x("${A:-d}"), "alpha");
        assert_eq!(x("${A:+set}"), "set");
        assert_eq!(x("${EMPTY:+set}"), "");
        assert_eq!(x("${EMPTY+set}"), "set");
        assert_eq!(x("${UNSET+set}"), "");
        assert_eq!(x("${UNSET:-${A}-x}"), "alpha-x");
        assert_eq!(x("${UNSET:-'a b'}"), "a b");
    }

    #[test]
    fn required_operators() {
        assert_eq!(x("${A:?}"), "alpha");
        assert_eq!(x("${EMPTY?}"), "");
        assert!(err("${UNSET?}").contains("UNSET: is not allowed to be unset"));
        assert!(err("${EMPTY:?}").contains("EMPTY: is not allowed to be empty"));
        assert!(err("${UNSET:?set it}").contains("UNSET: set it"));
    }

    #[test]
    fn pattern_removal() {
        assert_eq!(x("${PATHV#*/}"), "usr/local/bin/tool.tar.gz");
        assert_eq!(x("${PATHV##*/}"), "tool.tar.gz");
        assert_eq!(x("${PATHV%.*}"), "/usr/local/bin/tool.tar");
        assert_eq!(x("${PATHV%%.*}"), "/usr/local/bin/tool");
        assert_eq!(x("${A#a?p}"), "ha");
        assert_eq!(x("${A%nomatch}"), "alpha");
        assert_eq!(x("${UNSET#x}"), "");
        assert_eq!(x(r"${A#\*}"), "alpha");
    }

    #[test]
    fn replacement() {
        assert_eq!(x("${A/a/A}"), "Alpha");
        assert_eq!(x("${A//a/A}"), "AlphA");
        assert_eq!(x("${PATHV/*\\//}"), "tool.tar.gz");
        assert_eq!(x("${A//l*/}"), "a");
        assert_eq!(x("${A/zz/y}"), "alpha");
        assert!(err("${A/a").contains("missing '/'"));
    }

    #[test]
    fn escapes_and_quotes() {
        assert_eq!(x(r"\$A"), "$A");
        assert_eq!(x(r"\${A}"), "${A}");
        assert_eq!(x("'$A'"), "$A");
        assert_eq!(x("\"$A\""), "alpha");
        assert_eq!(x(r#""a \"q\" \$A \x""#), r#"a "q" $A \x"#);
        assert_eq!(x(r"a\ b\\c\"), r"a b\c");
        assert_eq!(x("a''b\"\""), "ab");
        assert_eq!(expand("`$A and \\", &env, '`').unwrap(), "$A and \\");
    }

    #[test]
    fn syntax_errors() {
        assert!(err("${}").contains("bad substitution"));
        assert!(err("${:x}").contains("bad substitution"));
        assert!(err("${{A}").contains("bad substitution"));
        assert!(err("${A").contains("missing '}'"));
        assert!(err("${A:-x").contains("missing '}'"));
        assert!(err("${A^}").contains("unsupported modifier (^)"));
        assert!(err("${A:x}").contains("unsupported modifier (:x)"));
        assert!(err("'open").contains("single-quote"));
        assert!(err("\"open").contains("double-quote"));
        assert!(err("${A#\\x}").contains("invalid escape"));
        assert_eq!(err("${A"), "syntax error: missing '}' in \"${A\"");
    }

    #[test]
    fn word_splitting() {
        let w = |s: &str| expand_words(s, &env, '\\').unwrap();
        assert_eq!(w("80 $SP"), vec!["80", "one", "two"]);
        assert_eq!(w("\"$SP\" x"), vec!["one two", "x"]);
        assert_eq!(w("a\\ b  c"), vec!["a b", "c"]);
        assert_eq!(w("  "), Vec::<String>::new());
    }

    #[test]
    fn heredoc_bodies_keep_quotes_but_not_escapes() {
        let r = |s: &str| expand_raw(s, &env, '\\').unwrap();
        assert_eq!(r("say \"$A\" '$A'\n"), "say \"alpha\" 'alpha'\n");
        assert_eq!(r("cost \\$A ${A:-x}"), "cost $A alpha");
        assert_eq!(r("don't"), "don't");
    }
}
