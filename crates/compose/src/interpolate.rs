//! Compose variable interpolation (`$VAR`, `${VAR:-default}` and the other compose-spec
//! forms) over single strings and whole compose trees, and the `.env` file format
//! (see [`dotenv`]).
//!
//! This module owns the *rules*; it never decides where values come from. It never
//! reads the process environment itself: every function takes a [`Lookup`] from the
//! caller, which decides what "the environment" is (process variables, `.env`
//! contents, `--env-file`, in whatever precedence). It never touches files either:
//! [`parse_dotenv`] takes the text the caller has read.
//!
//! Rules, following docker compose (compose-go's `template` package):
//!
//! * `$$` is a literal `$`.
//! * `$NAME` and `${NAME}` substitute a variable; a name is `[A-Za-z_][A-Za-z0-9_]*`.
//!   An unset variable becomes `""` and is reported back (compose warns
//!   `The "X" variable is not set. Defaulting to a blank string.`).
//! * `${NAME:-word}` / `${NAME-word}`: `word` when unset or empty / when unset.
//! * `${NAME:?msg}` / `${NAME?msg}`: an error carrying `msg` when unset or empty / unset.
//! * `${NAME:+word}` / `${NAME+word}`: `word` when set and non-empty / when set, else `""`.
//! * `word` and `msg` may themselves contain interpolation (`${A:-${B:-x}}`); they end
//!   at the first `}` that does not close a nested `${`, as in compose-go (a bare `{`
//!   does not nest).
//! * A `$` that is followed by something that cannot start a name (`$1`, `$-`, `$ `,
//!   `$}`, a trailing `$`) is kept as it is, as docker compose does.
//! * An unterminated `${`, or a `${` whose contents are not a name optionally followed
//!   by one of the operators above (`${1A}`, `${A B}`, `${}`, `${A:x}`), is an error
//!   quoting the whole string, as compose's "invalid interpolation format" does.
//!
//! One deliberate difference: compose-go evaluates a default, replacement or error
//! message even when it is not used, so `${SET:-${OTHER}}` warns about `OTHER` and
//! `${SET:-${OTHER:?x}}` fails. Here only the branch that is taken is evaluated (the way
//! a shell does it), so warnings name only variables whose value was actually needed.
//! Syntax errors are still reported wherever they are, because the whole string is
//! parsed before anything is evaluated.
//!
//! Over a tree, only string *values* are interpolated: map keys are left alone and
//! numbers, booleans and nulls are never touched, as in compose. Extension fields
//! (`x-*`) are interpolated like everything else, because compose does that too
//! (`x-test: "${"` is an error in `docker compose config`).

use std::collections::{BTreeMap, HashMap};

use crate::value::{Node, Span, Value};

pub mod dotenv;

pub use dotenv::{parse_dotenv, DotenvError};

/// Where variable values come from. `None` means "unset", which is different from
/// `Some("")` ("set but empty") for the `-`, `?` and `+` forms.
pub trait Lookup {
    fn get(&self, name: &str) -> Option<String>;
}

impl<F> Lookup for F
where
    F: Fn(&str) -> Option<String>,
{
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

impl Lookup for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

impl Lookup for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).cloned()
    }
}

/// Pairs such as [`parse_dotenv`] returns; when a name appears twice the last one wins,
/// as a later line in a `.env` file does.
impl Lookup for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

/// The result of interpolating one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpolated {
    pub value: String,
    /// Variables that were used without a default and were unset (each once, in the
    /// order first met), so that the caller can warn as compose does.
    pub unset: Vec<String>,
}

/// An interpolation failure: a malformed `${...}` or a `${VAR:?message}` whose variable
/// is missing. Displays as the message alone; the caller knows the file name that
/// `span.file` indexes and adds the location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InterpolationError {
    pub span: Span,
    pub message: String,
}

/// Interpolates one string. Errors carry `Span::default()`; [`interpolate_tree`] puts
/// the node's span in instead.
pub fn interpolate_str(s: &str, vars: &dyn Lookup) -> Result<Interpolated, InterpolationError> {
    let mut unset = Vec::new();
    let value = interpolate_into(s, vars, &mut unset).map_err(|message| InterpolationError {
        span: Span::default(),
        message,
    })?;
    Ok(Interpolated { value, unset })
}

/// Interpolates every string value in the tree in place (map keys are not, as in
/// compose; `x-*` extension fields are, as in compose). Errors carry the span of the
/// string node that failed; the first failure in document order is returned. On
/// success, returns the unset variables (each once, in the order first met) for
/// warnings.
pub fn interpolate_tree(
    node: &mut Node,
    vars: &dyn Lookup,
) -> Result<Vec<String>, InterpolationError> {
    let mut unset = Vec::new();
    // An explicit stack rather than recursion: the tree's depth is whatever the file
    // says. Children are pushed in reverse so they are visited in document order,
    // which keeps the unset list and the reported error in the order a reader expects.
    let mut stack: Vec<&mut Node> = vec![node];
    while let Some(n) = stack.pop() {
        let span = n.span;
        match &mut n.value {
            Value::Str(s) => {
                if !s.contains('$') {
                    continue;
                }
                *s = interpolate_into(s, vars, &mut unset)
                    .map_err(|message| InterpolationError { span, message })?;
            }
            Value::Seq(items) => stack.extend(items.iter_mut().rev()),
            Value::Map(entries) => stack.extend(entries.iter_mut().rev().map(|(_, v)| v)),
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
        }
    }
    Ok(unset)
}

/// Parses and evaluates `s`, adding unset names to `unset` (without duplicates).
/// The error is the finished message.
pub(crate) fn interpolate_into(
    s: &str,
    vars: &dyn Lookup,
    unset: &mut Vec<String>,
) -> Result<String, String> {
    if !s.contains('$') {
        return Ok(s.to_string());
    }
    let pieces = Parser::new(s).parse_all().map_err(|e| e.message(s))?;
    let mut out = String::with_capacity(s.len());
    eval(&pieces, vars, &mut out, unset)?;
    Ok(out)
}

/// Nested `${...}` deeper than this is refused: evaluation recurses once per level, and
/// no real compose file nests more than a few times, so a limit turns a pathological
/// string into an error instead of a stack overflow.
const MAX_NESTING: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `:-`
    DefaultIfUnsetOrEmpty,
    /// `-`
    DefaultIfUnset,
    /// `:?`
    ErrorIfUnsetOrEmpty,
    /// `?`
    ErrorIfUnset,
    /// `:+`
    ReplaceIfSetNonEmpty,
    /// `+`
    ReplaceIfSet,
}

#[derive(Debug)]
enum Piece {
    Lit(String),
    /// `$NAME` or `${NAME}`.
    Var(String),
    /// `${NAME<op>word}`.
    Op(String, Op, Vec<Piece>),
}

#[derive(Debug)]
enum SyntaxError {
    Unterminated,
    BadName,
    TooDeep,
}

impl SyntaxError {
    fn message(&self, s: &str) -> String {
        let why = match self {
            SyntaxError::Unterminated => "a \"${\" is not closed by \"}\"",
            SyntaxError::BadName => {
                "\"${\" must be followed by a variable name ([A-Za-z_][A-Za-z0-9_]*) and then \"}\" or one of :- - :? ? :+ +"
            }
            SyntaxError::TooDeep => "\"${\" is nested too deeply",
        };
        format!("invalid interpolation format for {s:?}: {why}; you may need to escape any $ with another $")
    }
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A recursive-descent parser over the bytes of the string. Every delimiter it looks
/// for is ASCII, so every index it slices at is a char boundary.
struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(s: &'a str) -> Self {
        Parser { s, pos: 0 }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.s.as_bytes().get(self.pos + ahead).copied()
    }

    fn parse_all(mut self) -> Result<Vec<Piece>, SyntaxError> {
        self.parse_seq(0)
    }

    /// Parses text up to the end of the string (`depth == 0`) or up to and including
    /// the `}` that closes the current `${...}` (`depth > 0`).
    fn parse_seq(&mut self, depth: usize) -> Result<Vec<Piece>, SyntaxError> {
        let bytes = self.s.as_bytes();
        let mut pieces = Vec::new();
        let mut lit = String::new();
        loop {
            let Some(b) = self.peek(0) else {
                if depth > 0 {
                    return Err(SyntaxError::Unterminated);
                }
                break;
            };
            match b {
                b'}' if depth > 0 => {
                    self.pos += 1;
                    break;
                }
                b'$' => match self.peek(1) {
                    Some(b'$') => {
                        lit.push('$');
                        self.pos += 2;
                    }
                    Some(b'{') => {
                        self.pos += 2;
                        if !lit.is_empty() {
                            pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                        }
                        pieces.push(self.parse_braced(depth + 1)?);
                    }
                    Some(c) if is_name_start(c) => {
                        self.pos += 1;
                        let name = self.take_name();
                        if !lit.is_empty() {
                            pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                        }
                        pieces.push(Piece::Var(name));
                    }
                    // Compose keeps a `$` it cannot read as a reference (`$1`, `$-`, `$`
                    // at the end), rather than failing.
                    _ => {
                        lit.push('$');
                        self.pos += 1;
                    }
                },
                _ => {
                    let rest = &bytes[self.pos..];
                    let stop = rest
                        .iter()
                        .position(|&c| c == b'$' || (depth > 0 && c == b'}'))
                        .unwrap_or(rest.len());
                    lit.push_str(&self.s[self.pos..self.pos + stop]);
                    self.pos += stop;
                }
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        Ok(pieces)
    }

    /// Reads `[A-Za-z0-9_]*` from the current position (the first character has been
    /// checked by the caller).
    fn take_name(&mut self) -> String {
        let start = self.pos;
        while self.peek(0).is_some_and(is_name_char) {
            self.pos += 1;
        }
        self.s[start..self.pos].to_string()
    }

    /// Parses what follows `${`, up to and including the closing `}`.
    fn parse_braced(&mut self, depth: usize) -> Result<Piece, SyntaxError> {
        if depth > MAX_NESTING {
            return Err(SyntaxError::TooDeep);
        }
        match self.peek(0) {
            None => return Err(SyntaxError::Unterminated),
            Some(c) if is_name_start(c) => {}
            Some(_) => return Err(SyntaxError::BadName),
        }
        let name = self.take_name();
        let (op, len) = match (self.peek(0), self.peek(1)) {
            (None, _) => return Err(SyntaxError::Unterminated),
            (Some(b'}'), _) => {
                self.pos += 1;
                return Ok(Piece::Var(name));
            }
            (Some(b':'), Some(b'-')) => (Op::DefaultIfUnsetOrEmpty, 2),
            (Some(b':'), Some(b'?')) => (Op::ErrorIfUnsetOrEmpty, 2),
            (Some(b':'), Some(b'+')) => (Op::ReplaceIfSetNonEmpty, 2),
            (Some(b':'), None) => return Err(SyntaxError::Unterminated),
            (Some(b'-'), _) => (Op::DefaultIfUnset, 1),
            (Some(b'?'), _) => (Op::ErrorIfUnset, 1),
            (Some(b'+'), _) => (Op::ReplaceIfSet, 1),
            _ => return Err(SyntaxError::BadName),
        };
        self.pos += len;
        let word = self.parse_seq(depth)?;
        Ok(Piece::Op(name, op, word))
    }
}

fn note_unset(unset: &mut Vec<String>, name: &str) {
    if !unset.iter().any(|n| n == name) {
        unset.push(name.to_string());
    }
}

fn eval(
    pieces: &[Piece],
    vars: &dyn Lookup,
    out: &mut String,
    unset: &mut Vec<String>,
) -> Result<(), String> {
    for piece in pieces {
        match piece {
            Piece::Lit(s) => out.push_str(s),
            Piece::Var(name) => match vars.get(name) {
                Some(v) => out.push_str(&v),
                None => note_unset(unset, name),
            },
            Piece::Op(name, op, word) => {
                let value = vars.get(name);
                let empty = value.as_deref().is_none_or(str::is_empty);
                match op {
                    Op::DefaultIfUnsetOrEmpty | Op::DefaultIfUnset => {
                        let use_default = match op {
                            Op::DefaultIfUnsetOrEmpty => empty,
                            _ => value.is_none(),
                        };
                        match value {
                            Some(v) if !use_default => out.push_str(&v),
                            _ => eval(word, vars, out, unset)?,
                        }
                    }
                    Op::ErrorIfUnsetOrEmpty | Op::ErrorIfUnset => {
                        let missing = match op {
                            Op::ErrorIfUnsetOrEmpty => empty,
                            _ => value.is_none(),
                        };
                        match value {
                            Some(v) if !missing => out.push_str(&v),
                            _ => {
                                // The message may use variables too (compose-go
                                // interpolates it); its own unset names are not worth a
                                // warning next to the error.
                                let mut msg = String::new();
                                eval(word, vars, &mut msg, &mut Vec::new())?;
                                return Err(if msg.is_empty() {
                                    format!("required variable {name} is missing a value")
                                } else {
                                    format!("required variable {name} is missing a value: {msg}")
                                });
                            }
                        }
                    }
                    Op::ReplaceIfSetNonEmpty | Op::ReplaceIfSet => {
                        let replace = match op {
                            Op::ReplaceIfSetNonEmpty => !empty,
                            _ => value.is_some(),
                        };
                        if replace {
                            eval(word, vars, out, unset)?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Key;

    fn env() -> HashMap<String, String> {
        [
            ("A", "a"),
            ("B", "b"),
            ("EMPTY", ""),
            ("NAME_2", "n2"),
            ("_x9", "under"),
            ("DOLLAR", "$HOME"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn ok(s: &str) -> String {
        interpolate_str(s, &env()).unwrap().value
    }

    fn err(s: &str) -> String {
        interpolate_str(s, &env()).unwrap_err().message
    }

    #[test]
    fn plain_references() {
        assert_eq!(ok("$A"), "a");
        assert_eq!(ok("${A}"), "a");
        assert_eq!(ok("no dollars"), "no dollars");
        assert_eq!(ok(""), "");
        assert_eq!(ok("pre${A}post"), "preapost");
        assert_eq!(ok("$A.b"), "a.b");
        assert_eq!(ok("$A$B"), "ab");
        assert_eq!(ok("$A-x"), "a-x");
        assert_eq!(ok("${NAME_2}/$NAME_2"), "n2/n2");
        assert_eq!(ok("$_x9!"), "under!");
        // `$NAME_2x` is one name, unset: greedy, like compose.
        assert_eq!(ok("$NAME_2x"), "");
        // A value is not interpolated again.
        assert_eq!(ok("${DOLLAR}"), "$HOME");
        // Non-ASCII text around references survives byte-level scanning.
        assert_eq!(ok("é${A}ü$B€"), "éaüb€");
    }

    #[test]
    fn escaped_dollar() {
        assert_eq!(ok("$$"), "$");
        assert_eq!(ok("$$A"), "$A");
        assert_eq!(ok("$${A}"), "${A}");
        assert_eq!(ok("$$$A"), "$a");
        assert_eq!(ok("a$$$$b"), "a$$b");
    }

    #[test]
    fn dollar_that_cannot_start_a_name_is_kept() {
        assert_eq!(ok("$1"), "$1");
        assert_eq!(ok("$-"), "$-");
        assert_eq!(ok("$ x"), "$ x");
        assert_eq!(ok("$}"), "$}");
        assert_eq!(ok("$@"), "$@");
        assert_eq!(ok("cost: 5$"), "cost: 5$");
        assert_eq!(ok("awk '{print $1}'"), "awk '{print $1}'");
    }

    #[test]
    fn default_when_unset_or_empty() {
        assert_eq!(ok("${A:-d}"), "a");
        assert_eq!(ok("${EMPTY:-d}"), "d");
        assert_eq!(ok("${UNSET:-d}"), "d");
        assert_eq!(ok("${UNSET:-}"), "");
        assert_eq!(ok("${UNSET:-two words}"), "two words");
    }

    #[test]
    fn default_when_unset() {
        assert_eq!(ok("${A-d}"), "a");
        assert_eq!(ok("${EMPTY-d}"), "");
        assert_eq!(ok("${UNSET-d}"), "d");
        assert_eq!(ok("${UNSET-}"), "");
        assert_eq!(ok("${UNSET-a-b}"), "a-b");
    }

    #[test]
    fn required_when_unset_or_empty() {
        assert_eq!(ok("${A:?need A}"), "a");
        assert_eq!(
            err("${EMPTY:?set it in .env}"),
            "required variable EMPTY is missing a value: set it in .env"
        );
        assert_eq!(
            err("${DB_PASSWORD:?set it in .env}"),
            "required variable DB_PASSWORD is missing a value: set it in .env"
        );
        assert_eq!(
            err("${UNSET:?}"),
            "required variable UNSET is missing a value"
        );
    }

    #[test]
    fn required_when_unset() {
        assert_eq!(ok("${A?need A}"), "a");
        assert_eq!(ok("x${EMPTY?need it}y"), "xy");
        assert_eq!(
            err("${UNSET?need it}"),
            "required variable UNSET is missing a value: need it"
        );
        assert_eq!(
            err("${UNSET?}"),
            "required variable UNSET is missing a value"
        );
    }

    #[test]
    fn required_message_is_interpolated() {
        assert_eq!(
            err("${UNSET:?see $A/${B}}"),
            "required variable UNSET is missing a value: see a/b"
        );
    }

    #[test]
    fn replacement_when_set_and_non_empty() {
        assert_eq!(ok("${A:+r}"), "r");
        assert_eq!(ok("${EMPTY:+r}"), "");
        assert_eq!(ok("${UNSET:+r}"), "");
    }

    #[test]
    fn replacement_when_set() {
        assert_eq!(ok("${A+r}"), "r");
        assert_eq!(ok("${EMPTY+r}"), "r");
        assert_eq!(ok("${UNSET+r}"), "");
    }

    #[test]
    fn nesting() {
        assert_eq!(ok("${UNSET:-${B:-x}}"), "b");
        assert_eq!(ok("${UNSET:-${UNSET2:-x}}"), "x");
        assert_eq!(ok("${UNSET:-pre-$A-${B}-post}"), "pre-a-b-post");
        assert_eq!(ok("${A:+[${B}]}"), "[b]");
        assert_eq!(ok("${UNSET:-${EMPTY-${A}}}tail"), "tail");
        assert_eq!(ok("${UNSET:-$${A}}"), "${A}");
        // A bare `{` does not nest (compose-go): the first `}` ends the default.
        assert_eq!(ok("${UNSET:-{x}}"), "{x}");
        // `$}` inside a default is a kept `$` followed by the closing brace.
        assert_eq!(ok("${UNSET:-$}"), "$");
    }

    #[test]
    fn only_the_taken_branch_is_evaluated() {
        let r = interpolate_str("${A:-${NOPE}}${A:-${NOPE2:?boom}}", &env()).unwrap();
        assert_eq!(r.value, "aa");
        assert!(r.unset.is_empty());
    }

    #[test]
    fn unset_list() {
        let r = interpolate_str("$X ${Y} $X ${UNSET:-d} ${A} ${Z:+r} ${UNSET2-}", &env()).unwrap();
        assert_eq!(r.value, "   d a  ");
        assert_eq!(r.unset, vec!["X".to_string(), "Y".to_string()]);
        let r = interpolate_str("${UNSET:-$INNER}", &env()).unwrap();
        assert_eq!(r.unset, vec!["INNER".to_string()]);
    }

    #[test]
    fn syntax_errors_quote_the_string() {
        for s in [
            "${1A}",
            "${A B}",
            "${}",
            "${-}",
            "${@}",
            "${A:x}",
            "${A!}",
            "x ${A%%b} y",
        ] {
            let m = err(s);
            assert!(
                m.starts_with(&format!("invalid interpolation format for {s:?}")),
                "{s}: {m}"
            );
            assert!(m.contains("escape any $ with another $"), "{m}");
        }
        assert!(err("${1A}").starts_with("invalid interpolation format for \"${1A}\""));
    }

    #[test]
    fn unterminated_errors() {
        for s in [
            "${",
            "${A",
            "${A:",
            "${A:-",
            "${A:-x",
            "a ${A:-${B}",
            "${A-${B:-c}",
        ] {
            let m = err(s);
            assert!(m.contains("is not closed"), "{s}: {m}");
            assert!(m.contains(&format!("{s:?}")), "{s}: {m}");
        }
    }

    #[test]
    fn syntax_errors_in_unused_branches_still_fail() {
        assert!(err("${A:-${1}}").starts_with("invalid interpolation format"));
    }

    #[test]
    fn too_deep_nesting_is_an_error_not_a_crash() {
        let deep = "${U:-".repeat(10_000) + &"}".repeat(10_000);
        assert!(err(&deep).contains("nested too deeply"));
        let fine = "${U:-".repeat(10) + "x" + &"}".repeat(10);
        assert_eq!(ok(&fine), "x");
    }

    #[test]
    fn lookup_impls() {
        let f = |k: &str| (k == "K").then(|| "closure".to_string());
        assert_eq!(interpolate_str("$K", &f).unwrap().value, "closure");
        let b: BTreeMap<String, String> = [("K".to_string(), "btree".to_string())].into();
        assert_eq!(interpolate_str("$K", &b).unwrap().value, "btree");
        let v = vec![
            ("K".to_string(), "first".to_string()),
            ("K".to_string(), "last".to_string()),
        ];
        assert_eq!(interpolate_str("$K", &v).unwrap().value, "last");
    }

    fn sp(line: u32, col: u32) -> Span {
        Span { file: 1, line, col }
    }

    fn s(v: &str, line: u32) -> Node {
        Node::new(Value::Str(v.to_string()), sp(line, 5))
    }

    fn map(entries: Vec<(&str, Node)>, line: u32) -> Node {
        Node::new(
            Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                name: k.to_string(),
                                span: sp(v.span.line, 1),
                            },
                            v,
                        )
                    })
                    .collect(),
            ),
            sp(line, 1),
        )
    }

    #[test]
    fn tree_interpolates_values_only() {
        let mut tagged = s("${B}", 9);
        tagged.tag = Some("!override".to_string());
        let mut root = map(
            vec![
                (
                    "services",
                    map(
                        vec![(
                            "web",
                            map(
                                vec![
                                    ("image", s("img:${TAG:-latest}", 3)),
                                    (
                                        "command",
                                        Node::new(
                                            Value::Seq(vec![
                                                s("$A", 5),
                                                s("$$1", 6),
                                                s("$MISSING", 7),
                                            ]),
                                            sp(4, 5),
                                        ),
                                    ),
                                    ("${A}", s("key stays", 8)),
                                    ("port", Node::new(Value::Int(80), sp(9, 5))),
                                    ("ratio", Node::new(Value::Float(0.5), sp(10, 5))),
                                    ("tty", Node::new(Value::Bool(true), sp(11, 5))),
                                    ("none", Node::new(Value::Null, sp(12, 5))),
                                    ("tagged", tagged),
                                ],
                                2,
                            ),
                        )],
                        1,
                    ),
                ),
                ("x-ext", s("$A-$MISSING2-$MISSING", 13)),
            ],
            0,
        );
        let unset = interpolate_tree(&mut root, &env()).unwrap();
        assert_eq!(unset, vec!["MISSING".to_string(), "MISSING2".to_string()]);
        let web = root.get("services").unwrap().get("web").unwrap();
        assert_eq!(web.get("image").unwrap().as_str(), Some("img:latest"));
        let cmd: Vec<_> = web
            .get("command")
            .unwrap()
            .as_seq()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert_eq!(cmd, vec!["a", "$1", ""]);
        // The key is not interpolated; its value is a plain string.
        assert_eq!(web.get("${A}").unwrap().as_str(), Some("key stays"));
        assert_eq!(web.get("port").unwrap().value, Value::Int(80));
        assert_eq!(web.get("ratio").unwrap().value, Value::Float(0.5));
        assert_eq!(web.get("tty").unwrap().value, Value::Bool(true));
        assert_eq!(web.get("none").unwrap().value, Value::Null);
        let tagged = web.get("tagged").unwrap();
        assert_eq!(tagged.as_str(), Some("b"));
        assert_eq!(tagged.tag.as_deref(), Some("!override"));
        assert_eq!(root.get("x-ext").unwrap().as_str(), Some("a--"));
    }

    #[test]
    fn tree_errors_point_at_the_failing_node() {
        let mut root = map(
            vec![
                ("ok", s("$A", 1)),
                (
                    "list",
                    Node::new(
                        Value::Seq(vec![s("fine", 3), s("${DB_PASSWORD:?set it in .env}", 4)]),
                        sp(2, 3),
                    ),
                ),
                ("later", s("${1A}", 5)),
            ],
            0,
        );
        let e = interpolate_tree(&mut root, &env()).unwrap_err();
        assert_eq!(e.span, sp(4, 5));
        assert_eq!(
            e.message,
            "required variable DB_PASSWORD is missing a value: set it in .env"
        );
        assert_eq!(e.to_string(), e.message);

        let mut root = map(vec![("a", s("x", 1)), ("b", s("${1A}", 2))], 0);
        let e = interpolate_tree(&mut root, &env()).unwrap_err();
        assert_eq!(e.span, sp(2, 5));
        assert!(e
            .message
            .starts_with("invalid interpolation format for \"${1A}\""));

        let mut root = s("${A", 7);
        assert_eq!(
            interpolate_tree(&mut root, &env()).unwrap_err().span,
            sp(7, 5)
        );
    }

    #[test]
    fn tree_root_scalar_and_empty_containers() {
        let mut n = s("$A", 1);
        assert!(interpolate_tree(&mut n, &env()).unwrap().is_empty());
        assert_eq!(n.as_str(), Some("a"));
        let mut n = Node::new(Value::Seq(vec![]), sp(1, 1));
        assert!(interpolate_tree(&mut n, &env()).unwrap().is_empty());
        let mut n = Node::new(Value::Int(3), sp(1, 1));
        assert!(interpolate_tree(&mut n, &env()).unwrap().is_empty());
        assert_eq!(n.value, Value::Int(3));
    }
}
