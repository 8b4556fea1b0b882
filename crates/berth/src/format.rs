//! Owns Docker-compatible `--format` output: evaluating Go text/templates (via gtmpl) against
//! JSON values, Docker's extra template functions, the list output modes (default table,
//! `table TEMPLATE`, `json`, custom template) and tabwriter-style column alignment.
//! Never performs I/O and never panics on a user template: every problem comes back as an
//! `Err(String)` worded like Docker's `template parsing error: ...`.
//!
//! gtmpl is a partial port of Go's text/template and several of its gaps would either panic
//! (which aborts a `panic = "abort"` release build) or produce Rust-flavoured output. The
//! template source is therefore pre-scanned and lightly rewritten before gtmpl sees it; see
//! `prepare` for the list of adjustments.

use std::collections::{HashMap, HashSet};

use gtmpl::{Context, Func, FuncError, Template};
use gtmpl_value::{Number, Value};
use serde_json::Value as Json;

/// Docker wraps every template failure (parse and execution alike) in this prefix.
const ERROR_PREFIX: &str = "template parsing error";

/// Docker's table writer is `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`; the minimum width is
/// why an empty `docker volume ls` prints `DRIVER    VOLUME NAME` rather than `DRIVER   VOLUME NAME`.
pub const TABLE_MIN_WIDTH: usize = 10;
/// Spaces added after the widest cell of a column.
pub const TABLE_PADDING: usize = 3;

/// Bounds parser recursion: gtmpl parses nested parentheses and blocks recursively, and a stack
/// overflow would abort the process.
const MAX_NESTING: usize = 64;
/// Bounds what `pad` and printf widths may allocate, so a typo cannot exhaust memory.
const MAX_WIDTH: u64 = 100_000;

/// Appended to every printing action so values print the way Go's fmt does (`[a b]`,
/// `map[k:v]`, `<nil>`) instead of gtmpl's Rust `Debug` rendering.
const PRINT_HOOK: &str = "_berth_print";

/// Words that start a control action; such actions print nothing, so they never get the hook.
const KEYWORDS: &[&str] = &[
    "if", "else", "end", "range", "with", "define", "block", "template", "break", "continue",
];

/// Renders a Go text/template against a JSON value (Docker's `--format` for a single object,
/// e.g. inspect).
pub fn render(template: &str, value: &serde_json::Value) -> Result<String, String> {
    let source = prepare(template)?;
    let tmpl = build(&source, &row_funcs())?;
    execute(&tmpl, value)
}

/// Renders a list command's output (ps, volume ls, ...).
///
/// `format`: None => default table; Some("table") => default table; Some("json") => one
/// compact JSON object per line; Some("table TEMPLATE") => a header line then one line per row,
/// columns aligned like Docker's tabwriter where the template has `\t`; Some(other) => the
/// template rendered per row, each followed by "\n", no header. As in Docker, the literal
/// two-character sequences `\t` and `\n` in a list format become a tab and a newline.
///
/// `default_table` is the template used for None/"table" (it starts with "table ").
/// `headers` maps field names to header titles; a field without an entry gets its name
/// uppercased, as Docker does.
pub fn render_list(
    format: Option<&str>,
    default_table: &str,
    headers: &[(&str, &str)],
    rows: &[serde_json::Value],
) -> Result<String, String> {
    let spec = match format {
        Some(f) if !f.trim().is_empty() && f.trim() != "table" => f,
        _ => default_table,
    };
    if spec.trim() == "json" {
        return json_lines(rows);
    }
    match spec.strip_prefix("table") {
        Some(rest) => render_table(&docker_unescape(rest), headers, rows),
        None => render_rows(&docker_unescape(spec), rows),
    }
}

/// Docker's `preFormat`: trims spaces and turns the shell-friendly `\t`/`\n` into real
/// characters, because users type `--format "{{.ID}}\t{{.Image}}"` with a literal backslash.
fn docker_unescape(format: &str) -> String {
    format
        .trim_matches(' ')
        .replace("\\t", "\t")
        .replace("\\n", "\n")
}

fn json_lines(rows: &[Json]) -> Result<String, String> {
    let mut out = String::new();
    for row in rows {
        let line = serde_json::to_string(row).map_err(|e| format!("{ERROR_PREFIX}: {e}"))?;
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

fn render_rows(template: &str, rows: &[Json]) -> Result<String, String> {
    let source = prepare(template)?;
    let tmpl = build(&source, &row_funcs())?;
    let mut out = String::new();
    for row in rows {
        out.push_str(&execute(&tmpl, row)?);
        out.push('\n');
    }
    Ok(out)
}

fn render_table(template: &str, headers: &[(&str, &str)], rows: &[Json]) -> Result<String, String> {
    let source = prepare(template)?;
    let tmpl = build(&source, &row_funcs())?;
    let header_tmpl = build(&source, &header_funcs())?;

    let header_ctx = Context::from(header_context(&source.fields, headers, rows.first()));
    let mut header = Vec::new();
    // Docker ignores header execution errors and keeps whatever was written before the failure
    // (e.g. a `range` over a header title); failing the whole listing over the header would be
    // worse than a partial title.
    let _ = header_tmpl.execute(&mut header, &header_ctx);
    let mut text = String::from_utf8_lossy(&header).into_owned();
    text.push('\n');
    for row in rows {
        text.push_str(&execute(&tmpl, row)?);
        text.push('\n');
    }
    Ok(align_columns(&text, TABLE_MIN_WIDTH, TABLE_PADDING))
}

fn execute(tmpl: &Template, value: &Json) -> Result<String, String> {
    tmpl.render(&Context::from(to_gtmpl(value)))
        .map_err(|e| format!("{ERROR_PREFIX}: {e}"))
}

/// The value a table header is rendered against: every field maps to its column title, and
/// dotted chains such as `.State.Status` get nested maps so they resolve to a title too.
fn header_context(
    chains: &[Vec<String>],
    headers: &[(&str, &str)],
    first_row: Option<&Json>,
) -> Value {
    let mut map: HashMap<String, Value> = headers
        .iter()
        .map(|(field, title)| ((*field).to_string(), Value::String((*title).to_string())))
        .collect();
    if let Some(Json::Object(fields)) = first_row {
        for field in fields.keys() {
            map.entry(field.clone())
                .or_insert_with(|| Value::String(field.to_uppercase()));
        }
    }
    for chain in chains {
        insert_header_chain(&mut map, chain, "", headers);
    }
    Value::Map(map)
}

fn insert_header_chain(
    map: &mut HashMap<String, Value>,
    chain: &[String],
    prefix: &str,
    headers: &[(&str, &str)],
) {
    let Some((head, rest)) = chain.split_first() else {
        return;
    };
    let path = if prefix.is_empty() {
        head.clone()
    } else {
        format!("{prefix}.{head}")
    };
    if rest.is_empty() {
        map.entry(head.clone()).or_insert_with(|| {
            let title = headers
                .iter()
                .find(|(field, _)| *field == path)
                .map(|(_, title)| (*title).to_string());
            Value::String(title.unwrap_or_else(|| head.to_uppercase()))
        });
        return;
    }
    let entry = map
        .entry(head.clone())
        .or_insert_with(|| Value::Map(HashMap::new()));
    if !matches!(entry, Value::Map(_)) {
        *entry = Value::Map(HashMap::new());
    }
    if let Value::Map(inner) = entry {
        insert_header_chain(inner, rest, &path, headers);
    }
}

// ---------------------------------------------------------------------------------------------
// Template source preparation
// ---------------------------------------------------------------------------------------------

/// A template split into literal text and actions, with Go's `{{-`/`-}}` trimming already applied.
enum Piece {
    Text(String),
    /// Kept verbatim (without trim markers) so dropping it cannot glue `{` and `{` into a delimiter.
    Comment(String),
    /// The code between the delimiters, newlines outside literals replaced by spaces.
    Action(String),
}

/// How each `range` is rewritten; see `plan`.
#[derive(Default)]
struct Plan {
    /// Range action index -> the `if` pipeline guarding it.
    range_open: HashMap<usize, String>,
    /// Plain `{{else}}` of a guarded range: closes the range, then acts as the `if`'s else.
    range_else: HashSet<usize>,
    /// `{{end}}` of a guarded range without else: closes both the range and the `if`.
    range_end_double: HashSet<usize>,
}

/// A prepared template: the text handed to gtmpl plus the field chains the header needs.
struct Source {
    /// With the print hook and range guards.
    hooked: String,
    /// Without any rewriting beyond trimming; used if the rewritten text fails to parse, so a
    /// rewriting mistake can only cost Go-style printing, never a working template.
    plain: String,
    fields: Vec<Vec<String>>,
}

/// Scans and rewrites a template so gtmpl behaves like Go's text/template:
/// - trim markers are applied here (gtmpl miscounts multi-byte characters when trimming and
///   only accepts a literal space after `{{-`);
/// - newlines inside actions become spaces (Go allows them, gtmpl does not);
/// - non-ASCII characters outside string literals inside actions are rejected, because gtmpl's
///   lexer backs up one byte at a time and panics inside a multi-byte character;
/// - string, raw-string and char literals are decoded with Go's rules and re-encoded in a form
///   gtmpl cannot mis-decode (see `requote_literal`);
/// - printing actions get `| _berth_print` so values print like Go's fmt;
/// - `range` is wrapped in an `if` on the same pipeline, because gtmpl always runs a range's
///   `else` branch and errors when ranging over nil where Go simply skips;
/// - deeply nested and recursive templates are rejected, because gtmpl recurses without a
///   usable limit and a stack overflow aborts the process.
fn prepare(src: &str) -> Result<Source, String> {
    let pieces = scan(src)?;
    let plan = plan(&pieces)?;
    let mut fields = Vec::new();
    for piece in &pieces {
        if let Piece::Action(body) = piece {
            field_chains(body, &mut fields);
        }
    }
    Ok(Source {
        hooked: assemble(&pieces, &plan, true),
        plain: assemble(&pieces, &Plan::default(), false),
        fields,
    })
}

fn build(source: &Source, funcs: &[(&str, Func)]) -> Result<Template, String> {
    let parse = |text: &str| {
        let mut tmpl = Template::default();
        tmpl.add_funcs(funcs);
        tmpl.parse(text).map(|()| tmpl).map_err(|e| e.to_string())
    };
    match parse(&source.hooked) {
        Ok(tmpl) => Ok(tmpl),
        Err(_) => parse(&source.plain).map_err(|e| format!("{ERROR_PREFIX}: {e}")),
    }
}

fn syntax_error(msg: &str) -> String {
    format!("{ERROR_PREFIX}: template: {msg}")
}

fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn scan(src: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut trim_leading = false;
    loop {
        let Some(open) = rest.find("{{") else {
            let text = if trim_leading {
                rest.trim_start_matches(is_go_space)
            } else {
                rest
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(text.to_string()));
            }
            return Ok(pieces);
        };
        let after = &rest[open + 2..];
        let trim_left = after.starts_with('-') && after[1..].starts_with(is_go_space);
        let mut text = &rest[..open];
        if trim_leading {
            text = text.trim_start_matches(is_go_space);
        }
        if trim_left {
            text = text.trim_end_matches(is_go_space);
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_string()));
        }
        let inner = if trim_left { &after[2..] } else { after };
        let (piece, consumed, trim_right) = if inner.starts_with("/*") {
            scan_comment(inner)?
        } else {
            scan_action(inner)?
        };
        pieces.push(piece);
        trim_leading = trim_right;
        rest = &inner[consumed..];
    }
}

/// Returns the comment piece, the bytes consumed including the closing delimiter, and whether a
/// right trim marker was present.
fn scan_comment(inner: &str) -> Result<(Piece, usize, bool), String> {
    let close = inner
        .find("*/")
        .ok_or_else(|| syntax_error("unclosed comment"))?;
    let end = close + 2;
    let comment = Piece::Comment(inner[..end].to_string());
    let after = &inner[end..];
    if after.starts_with("}}") {
        Ok((comment, end + 2, false))
    } else if after.starts_with(is_go_space) && after[1..].starts_with("-}}") {
        Ok((comment, end + 4, true))
    } else {
        Err(syntax_error("comment ends before closing delimiter"))
    }
}

/// Returns the action piece, the bytes consumed including the closing delimiter, and whether a
/// right trim marker was present.
fn scan_action(inner: &str) -> Result<(Piece, usize, bool), String> {
    let mut body = String::new();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(c) = inner[i..].chars().next() {
        let rest = &inner[i..];
        if rest.starts_with("}}") {
            return Ok((Piece::Action(body), i + 2, false));
        }
        if is_go_space(c) && rest[1..].starts_with("-}}") {
            return Ok((Piece::Action(body), i + 4, true));
        }
        match c {
            '"' | '\'' | '`' => {
                let len = literal_len(rest, c)?;
                body.push_str(&requote_literal(&rest[..len])?);
                i += len;
                continue;
            }
            '(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(syntax_error("expression nested too deeply"));
                }
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if !c.is_ascii() {
            return Err(syntax_error(&format!(
                "unsupported character {c:?} in action (only ASCII is supported outside quoted strings)"
            )));
        }
        body.push(if c == '\n' || c == '\r' { ' ' } else { c });
        i += 1;
    }
    Err(syntax_error("unclosed action"))
}

/// Length in bytes of the literal starting at `s` (which begins with `quote`), using the same
/// rules as gtmpl's lexer so both agree on where the action ends.
fn literal_len(s: &str, quote: char) -> Result<usize, String> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        if quote != '`' {
            if c == '\n' {
                return Err(syntax_error("unterminated quoted string"));
            }
            if escaped {
                escaped = false;
                continue;
            }
            if c == '\\' {
                escaped = true;
                continue;
            }
        }
        if c == quote {
            return Ok(i + c.len_utf8());
        }
    }
    Err(syntax_error("unterminated quoted string"))
}

/// Rewrites a literal into a form gtmpl handles exactly like Go: the literal is decoded with Go's
/// rules here, then re-encoded using only the escapes gtmpl decodes safely (`\\`, `\"`, `\n`,
/// `\r`, plus a trailing `\x5c`). Char constants become their integer value, which is what Go
/// evaluates them to.
///
/// gtmpl's own decoding loops forever on a short `\x`/`\u` escape, panics on a multi-byte
/// character right after a backslash, decodes `\x`/`\u` greedily past their digits, applies
/// escapes inside raw strings, and its lexer treats the quote after an escaped backslash
/// (`"a\\"`) as escaped.
fn requote_literal(lit: &str) -> Result<String, String> {
    let quote = lit.chars().next().unwrap_or('"');
    // Both delimiters are one ASCII byte; `literal_len` guarantees they are present.
    let content = &lit[1..lit.len() - 1];
    if quote == '`' {
        // Go drops carriage returns from raw strings.
        return Ok(gtmpl_string_literal(&content.replace('\r', "")));
    }
    let units = go_unquote(content, quote)?;
    if quote == '\'' {
        return match units.as_slice() {
            [Unit::Byte(b)] => Ok(b.to_string()),
            [Unit::Char(c)] => Ok(u32::from(*c).to_string()),
            _ => Err(syntax_error(&format!(
                "malformed character constant: {lit}"
            ))),
        };
    }
    let mut bytes = Vec::with_capacity(content.len());
    for unit in units {
        match unit {
            Unit::Byte(b) => bytes.push(b),
            Unit::Char(c) => bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    Ok(gtmpl_string_literal(&String::from_utf8_lossy(&bytes)))
}

fn gtmpl_string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    if value.ends_with('\\') {
        out.truncate(out.len() - 2);
        out.push_str("\\x5c");
    }
    out.push('"');
    out
}

/// One decoded element of a Go string or char literal: `\x` and octal escapes yield raw bytes.
enum Unit {
    Byte(u8),
    Char(char),
}

/// Decodes the content of a Go interpreted string (`quote` = `"`) or char (`'`) literal.
fn go_unquote(content: &str, quote: char) -> Result<Vec<Unit>, String> {
    let bad = || {
        syntax_error(&format!(
            "invalid escape sequence in {quote}{content}{quote}"
        ))
    };
    let mut units = Vec::with_capacity(content.len());
    let mut chars = content.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            units.push(Unit::Char(c));
            continue;
        }
        let escape = chars.next().ok_or_else(bad)?;
        let mut digits = |n: usize, radix: u32| -> Result<u32, String> {
            let mut value = 0u32;
            for _ in 0..n {
                let d = chars
                    .next()
                    .and_then(|c| c.to_digit(radix))
                    .ok_or_else(bad)?;
                value = value * radix + d;
            }
            Ok(value)
        };
        let unit = match escape {
            'a' => Unit::Char('\u{7}'),
            'b' => Unit::Char('\u{8}'),
            'f' => Unit::Char('\u{c}'),
            'n' => Unit::Char('\n'),
            'r' => Unit::Char('\r'),
            't' => Unit::Char('\t'),
            'v' => Unit::Char('\u{b}'),
            '\\' => Unit::Char('\\'),
            q @ ('"' | '\'') if q == quote => Unit::Char(q),
            'x' => Unit::Byte(u8::try_from(digits(2, 16)?).map_err(|_| bad())?),
            d @ '0'..='7' => {
                let value = (d as u32 - '0' as u32) * 64 + digits(2, 8)?;
                Unit::Byte(u8::try_from(value).map_err(|_| bad())?)
            }
            'u' => Unit::Char(char::from_u32(digits(4, 16)?).ok_or_else(bad)?),
            'U' => Unit::Char(char::from_u32(digits(8, 16)?).ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        units.push(unit);
    }
    Ok(units)
}

/// The keyword an action starts with, if any.
fn keyword(body: &str) -> Option<&'static str> {
    let trimmed = body.trim_start_matches(is_go_space);
    let end = trimmed
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(trimmed.len());
    let word = &trimmed[..end];
    KEYWORDS.iter().copied().find(|k| *k == word)
}

/// Byte length of a leading variable declaration or assignment (`$a :=`, `$k, $v :=`, `$a =`).
fn decl_len(body: &str) -> Option<usize> {
    let b = body.as_bytes();
    let skip = |mut i: usize| {
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        i
    };
    let mut i = skip(0);
    let mut vars = 0;
    loop {
        if b.get(i) != Some(&b'$') {
            return None;
        }
        i += 1;
        while b
            .get(i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            i += 1;
        }
        vars += 1;
        i = skip(i);
        if vars == 1 && b.get(i) == Some(&b',') {
            i = skip(i + 1);
            continue;
        }
        break;
    }
    if body[i..].starts_with(":=") {
        Some(i + 2)
    } else if b.get(i) == Some(&b'=') && b.get(i + 1) != Some(&b'=') {
        Some(i + 1)
    } else {
        None
    }
}

/// The string literal naming a template in `define`/`block`/`template` actions.
fn template_name(body: &str, kw: &str) -> Result<Option<String>, String> {
    let rest = body.trim_start_matches(is_go_space)[kw.len()..].trim_start_matches(is_go_space);
    let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '`') else {
        return Ok(None);
    };
    let len = literal_len(rest, quote)?;
    let name = &rest[1..len - 1];
    if name.contains('\\') {
        return Err(syntax_error(
            "escape sequences in template names are not supported",
        ));
    }
    Ok(Some(name.to_string()))
}

enum Frame {
    Plain,
    Define(String),
    Range {
        open: usize,
        else_at: Option<usize>,
        guard: bool,
    },
}

/// Works out the block structure: nesting depth, which ranges to guard with an `if`, and the
/// template call graph (recursion is rejected).
fn plan(pieces: &[Piece]) -> Result<Plan, String> {
    let mut plan = Plan::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut calls: HashMap<String, Vec<String>> = HashMap::new();
    let current = |stack: &[Frame]| {
        stack
            .iter()
            .rev()
            .find_map(|f| match f {
                Frame::Define(name) => Some(name.clone()),
                _ => None,
            })
            .unwrap_or_default()
    };
    for (idx, piece) in pieces.iter().enumerate() {
        let Piece::Action(body) = piece else {
            continue;
        };
        match keyword(body) {
            Some("if") | Some("with") => stack.push(Frame::Plain),
            Some("range") => {
                let rest = body.trim_start_matches(is_go_space)["range".len()..].to_string();
                let pipe = match decl_len(&rest) {
                    Some(n) => rest[n..].to_string(),
                    None => rest,
                };
                let guard = !pipe.trim().is_empty();
                if guard {
                    plan.range_open.insert(idx, pipe);
                }
                stack.push(Frame::Range {
                    open: idx,
                    else_at: None,
                    guard,
                });
            }
            Some(kw @ ("define" | "block")) => {
                let name = template_name(body, kw)?.unwrap_or_default();
                if kw == "block" {
                    calls.entry(current(&stack)).or_default().push(name.clone());
                }
                stack.push(Frame::Define(name));
            }
            Some("template") => {
                if let Some(name) = template_name(body, "template")? {
                    calls.entry(current(&stack)).or_default().push(name);
                }
            }
            Some("else") => {
                if let Some(Frame::Range { else_at, guard, .. }) = stack.last_mut() {
                    let plain_else = body.trim_matches(is_go_space) == "else";
                    if plain_else && else_at.is_none() {
                        *else_at = Some(idx);
                    } else {
                        *guard = false;
                    }
                }
            }
            Some("end") => {
                if let Some(Frame::Range {
                    open,
                    else_at,
                    guard,
                }) = stack.pop()
                {
                    if !guard {
                        plan.range_open.remove(&open);
                    } else if let Some(e) = else_at {
                        plan.range_else.insert(e);
                    } else {
                        plan.range_end_double.insert(idx);
                    }
                }
            }
            _ => {}
        }
        if stack.len() > MAX_NESTING {
            return Err(syntax_error("actions nested too deeply"));
        }
    }
    // An unclosed range is a parse error anyway; dropping its guard keeps the error message
    // about the user's template rather than about the rewrite.
    for frame in stack {
        if let Frame::Range { open, .. } = frame {
            plan.range_open.remove(&open);
        }
    }
    if has_cycle(&calls) {
        return Err(syntax_error("recursive templates are not supported"));
    }
    Ok(plan)
}

fn has_cycle(calls: &HashMap<String, Vec<String>>) -> bool {
    // Iterative DFS with colours: 1 = on the current path, 2 = finished.
    let mut colour: HashMap<&str, u8> = HashMap::new();
    for start in calls.keys() {
        if colour.contains_key(start.as_str()) {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(start.as_str(), 0)];
        colour.insert(start.as_str(), 1);
        while let Some((node, next)) = stack.last_mut() {
            let targets = calls.get(*node).map(Vec::as_slice).unwrap_or_default();
            if let Some(target) = targets.get(*next) {
                *next += 1;
                match colour.get(target.as_str()) {
                    Some(1) => return true,
                    Some(_) => {}
                    None => {
                        colour.insert(target.as_str(), 1);
                        stack.push((target.as_str(), 0));
                    }
                }
            } else {
                colour.insert(node, 2);
                stack.pop();
            }
        }
    }
    false
}

fn assemble(pieces: &[Piece], plan: &Plan, hooks: bool) -> String {
    let mut out = String::new();
    for (idx, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Text(text) => match text.strip_suffix('{') {
                // After trimming, a text ending in `{` followed by `{{` would read as `{{{`.
                Some(head) if idx + 1 < pieces.len() => {
                    out.push_str(head);
                    out.push_str("{{\"{\"}}");
                }
                _ => out.push_str(text),
            },
            Piece::Comment(comment) => {
                out.push_str("{{");
                out.push_str(comment);
                out.push_str("}}");
            }
            Piece::Action(body) => {
                if let Some(pipe) = plan.range_open.get(&idx) {
                    out.push_str("{{if ");
                    out.push_str(pipe);
                    out.push_str("}}");
                } else if plan.range_else.contains(&idx) {
                    out.push_str("{{end}}");
                }
                out.push_str("{{");
                if body.starts_with('-') {
                    // Keeps a body such as `-` from reading as a `{{- ` trim marker once the
                    // hook follows it.
                    out.push(' ');
                }
                out.push_str(body);
                if hooks && keyword(body).is_none() && decl_len(body).is_none() {
                    out.push_str(" | ");
                    out.push_str(PRINT_HOOK);
                }
                out.push_str("}}");
                if plan.range_end_double.contains(&idx) {
                    out.push_str("{{end}}");
                }
            }
        }
    }
    out
}

/// Collects field chains such as `.State.Status` (outside string literals) for the header.
fn field_chains(body: &str, out: &mut Vec<Vec<String>>) {
    let chars: Vec<char> = body.chars().collect();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut prev = ' ';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' && c != '`' { 2 } else { 1 };
            }
            i += 1;
            prev = c;
            continue;
        }
        let starts_field = c == '.'
            && !(is_ident(prev) || prev == ')' || prev == '$')
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == '_');
        if !starts_field {
            prev = c;
            i += 1;
            continue;
        }
        let mut chain = Vec::new();
        while i < chars.len()
            && chars[i] == '.'
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == '_')
        {
            i += 1;
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            chain.push(chars[start..i].iter().collect());
        }
        prev = chars[i - 1];
        out.push(chain);
    }
}

// ---------------------------------------------------------------------------------------------
// Value conversion
// ---------------------------------------------------------------------------------------------

/// JSON objects become `Value::Map` (not `Object`) so a missing key prints `<no value>` like a
/// Go map instead of failing with an error that dumps the whole object.
fn to_gtmpl(value: &Json) -> Value {
    match value {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => number_to_gtmpl(n),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(to_gtmpl).collect()),
        Json::Object(fields) => Value::Map(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), to_gtmpl(v)))
                .collect(),
        ),
    }
}

fn number_to_gtmpl(n: &serde_json::Number) -> Value {
    if let Some(u) = n.as_u64() {
        Value::from(u)
    } else if let Some(i) = n.as_i64() {
        Value::from(i)
    } else {
        n.as_f64()
            .map_or_else(|| Value::String(n.to_string()), float_to_gtmpl)
    }
}

/// gtmpl_value stores any float whose `fract()` is below `f64::EPSILON` as an integer, which
/// truncates negative fractions (-1.5 becomes -1), tiny fractions and floats beyond the integer
/// range. Those are passed as their Go-formatted text instead, so they at least print correctly.
fn float_to_gtmpl(f: f64) -> Value {
    let whole_in_range = f.fract() == 0.0 && f > -9.0e18 && f < 1.8e19;
    if f.fract() >= f64::EPSILON || whole_in_range {
        Value::from(f)
    } else {
        Value::String(go_float(f))
    }
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::NoValue | Value::Nil | Value::Function(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::String(s) => Json::String(s.clone()),
        Value::Number(n) => number_to_json(n),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Object(fields) | Value::Map(fields) => {
            // Sorted so output is deterministic (gtmpl keeps objects in a HashMap) and matches
            // Go's json encoding of maps.
            let mut keys: Vec<&String> = fields.keys().collect();
            keys.sort();
            Json::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), to_json(&fields[k])))
                    .collect(),
            )
        }
    }
}

fn number_to_json(n: &Number) -> Json {
    if let Some(u) = n.as_u64() {
        Json::from(u)
    } else if let Some(i) = n.as_i64() {
        Json::from(i)
    } else {
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Json::Null, Json::Number)
    }
}

/// Formats a value like Go's `fmt` `%v`, which is what text/template prints.
fn go_display(value: &Value) -> String {
    let mut out = String::new();
    write_go(value, &mut out);
    out
}

fn write_go(value: &Value, out: &mut String) {
    match value {
        Value::NoValue => out.push_str("<no value>"),
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::String(s) => out.push_str(s),
        Value::Number(n) => match n.as_f64() {
            Some(f) => out.push_str(&go_float(f)),
            None => out.push_str(&n.to_string()),
        },
        Value::Function(_) => out.push_str("<func>"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_go(item, out);
            }
            out.push(']');
        }
        Value::Object(fields) | Value::Map(fields) => {
            let mut keys: Vec<&String> = fields.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(key);
                out.push(':');
                write_go(&fields[key], out);
            }
            out.push(']');
        }
    }
}

/// Go's `%v` for float64 (`strconv` `'g'` with shortest precision): plain decimal unless the
/// decimal exponent is below -4 or at least 6, then `1.2345675e+06` style.
fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let sci = format!("{f:e}");
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return f.to_string();
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if f != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    } else {
        f.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Template functions
// ---------------------------------------------------------------------------------------------

fn row_funcs() -> Vec<(&'static str, Func)> {
    vec![
        ("json", json_fn as Func),
        ("upper", upper_fn as Func),
        ("lower", lower_fn as Func),
        ("title", title_fn as Func),
        ("join", join_fn as Func),
        ("split", split_fn as Func),
        ("truncate", truncate_fn as Func),
        ("pad", pad_fn as Func),
        ("print", print_fn as Func),
        ("println", println_fn as Func),
        ("printf", printf_fn as Func),
        ("len", len_fn as Func),
        (PRINT_HOOK, show_fn as Func),
    ]
}

/// Docker's `HeaderFunctions`: the header keeps the column title intact, so these return their
/// first argument unchanged (`pad` is deliberately not overridden, to keep alignment).
fn header_funcs() -> Vec<(&'static str, Func)> {
    let mut funcs = row_funcs();
    for (name, func) in &mut funcs {
        if matches!(
            *name,
            "json" | "upper" | "lower" | "title" | "join" | "split" | "truncate"
        ) {
            *func = passthrough_fn as Func;
        }
    }
    funcs
}

fn exact<'a, const N: usize>(name: &str, args: &'a [Value]) -> Result<&'a [Value; N], FuncError> {
    args.try_into()
        .map_err(|_| FuncError::ExactlyXArgs(name.to_string(), N))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::NoValue => "no value",
        Value::Nil => "nil",
        Value::Bool(_) => "bool",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Function(_) => "function",
        Value::Array(_) => "list",
        Value::Object(_) | Value::Map(_) => "map",
    }
}

fn text_arg(name: &str, value: &Value) -> Result<String, FuncError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(go_display(value)),
        other => Err(FuncError::Generic(format!(
            "error calling {name}: expected a string, got {}",
            kind(other)
        ))),
    }
}

fn count_arg(name: &str, value: &Value) -> Result<usize, FuncError> {
    let n = match value {
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    n.filter(|n| *n <= MAX_WIDTH)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| {
            FuncError::Generic(format!(
                "error calling {name}: expected an integer between 0 and {MAX_WIDTH}, got {}",
                go_display(value)
            ))
        })
}

fn passthrough_fn(args: &[Value]) -> Result<Value, FuncError> {
    args.first()
        .cloned()
        .ok_or_else(|| FuncError::AtLeastXArgs("header function".to_string(), 1))
}

fn show_fn(args: &[Value]) -> Result<Value, FuncError> {
    let [value] = exact::<1>(PRINT_HOOK, args)?;
    Ok(Value::String(go_display(value)))
}

fn json_fn(args: &[Value]) -> Result<Value, FuncError> {
    let [value] = exact::<1>("json", args)?;
    serde_json::to_string(&to_json(value))
        .map(Value::String)
        .map_err(|e| FuncError::Generic(format!("error calling json: {e}")))
}

fn upper_fn(args: &[Value]) -> Result<Value, FuncError> {
    let [s] = exact::<1>("upper", args)?;
    Ok(Value::String(text_arg("upper", s)?.to_uppercase()))
}

fn lower_fn(args: &[Value]) -> Result<Value, FuncError> {
    let [s] = exact::<1>("lower", args)?;
    Ok(Value::String(text_arg("lower", s)?.to_lowercase()))
}

fn title_fn(args: &[Value]) -> Result<Value, FuncError> {
    let [s] = exact::<1>("title", args)?;
    Ok(Value::String(go_title(&text_arg("title", s)?)))
}

/// Go's `strings.Title`: upper-cases the first letter of every word, where words are separated
/// by anything that is not a letter, digit or underscore.
fn go_title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !c.is_alphanumeric() && c.is_whitespace()
        }
    };
    let mut out = String::with_capacity(s.len());
    let mut at_word_start = true;
    for c in s.chars() {
        if at_word_start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_word_start = is_separator(c);
    }
    out
}

fn join_fn(args: &[Value]) -> Result<Value, FuncError> {
    let [list, sep] = exact::<2>("join", args)?;
    let sep = text_arg("join", sep)?;
    let Value::Array(items) = list else {
        return Err(FuncError::Generic(format!(
            "error calling join: expected a list, got {}",
            kind(list)
        )));
    };
    let parts: Vec<String> = items.iter().map(go_display).collect();
    Ok(Value::String(parts.join(&sep)))
}

fn split_fn(args: &[Value]) -> Result<Value, FuncError> {
    let [s, sep] = exact::<2>("split", args)?;
    let (s, sep) = (text_arg("split", s)?, text_arg("split", sep)?);
    // Go splits around every UTF-8 sequence for an empty separator, without the empty leading
    // and trailing elements Rust's `split("")` yields.
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep.as_str())
            .map(|p| Value::String(p.to_string()))
            .collect()
    };
    Ok(Value::Array(parts))
}

fn truncate_fn(args: &[Value]) -> Result<Value, FuncError> {
    let [s, len] = exact::<2>("truncate", args)?;
    let s = text_arg("truncate", s)?;
    let len = count_arg("truncate", len)?;
    Ok(Value::String(s.chars().take(len).collect()))
}

fn pad_fn(args: &[Value]) -> Result<Value, FuncError> {
    let [s, prefix, suffix] = exact::<3>("pad", args)?;
    let s = text_arg("pad", s)?;
    let (prefix, suffix) = (count_arg("pad", prefix)?, count_arg("pad", suffix)?);
    if s.is_empty() {
        return Ok(Value::String(s));
    }
    Ok(Value::String(format!(
        "{}{s}{}",
        " ".repeat(prefix),
        " ".repeat(suffix)
    )))
}

/// gtmpl's builtin `len` rejects `Value::Map`, which is what JSON objects become.
fn len_fn(args: &[Value]) -> Result<Value, FuncError> {
    let [value] = exact::<1>("len", args)?;
    let len = match value {
        // Go's len counts bytes.
        Value::String(s) => s.len(),
        Value::Array(items) => items.len(),
        Value::Object(fields) | Value::Map(fields) => fields.len(),
        other => {
            return Err(FuncError::Generic(format!(
                "error calling len: len of {}",
                kind(other)
            )))
        }
    };
    Ok(Value::from(len))
}

/// Go's `fmt.Sprint`: a space goes between operands only when neither is a string.
fn print_fn(args: &[Value]) -> Result<Value, FuncError> {
    let mut out = String::new();
    let mut prev_string = true;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        write_go(arg, &mut out);
        prev_string = is_string;
    }
    Ok(Value::String(out))
}

/// Go's `fmt.Sprintln`: operands always space-separated, newline appended.
fn println_fn(args: &[Value]) -> Result<Value, FuncError> {
    let parts: Vec<String> = args.iter().map(go_display).collect();
    Ok(Value::String(parts.join(" ") + "\n"))
}

/// gtmpl's printf, with arguments pre-rendered Go-style where gtmpl cannot format them (its
/// `%v` of a map uses random key order and Rust formatting; `%v`/`%s` of a float is an error)
/// and with format strings rejected where gtmpl would panic (`%[0]d`) or allocate without bound
/// (`%*d`, huge widths).
fn printf_fn(args: &[Value]) -> Result<Value, FuncError> {
    let verbs = match args.first() {
        Some(Value::String(format)) => printf_verbs(format)?,
        _ => None,
    };
    let args: Vec<Value> = args
        .iter()
        .enumerate()
        .map(|(i, arg)| {
            let verb = i
                .checked_sub(1)
                .and_then(|n| verbs.as_ref()?.get(n).copied());
            let float = matches!(arg, Value::Number(n) if n.as_f64().is_some());
            match arg {
                Value::Array(_)
                | Value::Object(_)
                | Value::Map(_)
                | Value::Nil
                | Value::NoValue
                    if i > 0 =>
                {
                    Value::String(go_display(arg))
                }
                _ if float && matches!(verb, Some('v' | 's')) => Value::String(go_display(arg)),
                _ => arg.clone(),
            }
        })
        .collect();
    gtmpl::funcs::printf(&args)
}

/// Validates a printf format and returns its verbs in argument order, or `None` when explicit
/// argument indexes make the order non-sequential.
fn printf_verbs(format: &str) -> Result<Option<Vec<char>>, FuncError> {
    const VERBS: &str = "vVtTbcdoqxXUeEfFgGsp";
    let reject = |why: &str| {
        Err(FuncError::Generic(format!(
            "error calling printf: {why} in {format:?}"
        )))
    };
    let mut verbs = Vec::new();
    let mut indexed = false;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            continue;
        }
        let mut number = String::new();
        let mut in_index = false;
        for c in chars.by_ref() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            if !number.is_empty() {
                let n: u64 = number.parse().unwrap_or(u64::MAX);
                if (in_index && c == ']' && n == 0) || (!in_index && n > MAX_WIDTH) {
                    return reject("unsupported width, precision or argument index");
                }
                number.clear();
            }
            match c {
                '*' => return reject("'*' widths are not supported"),
                '[' => {
                    in_index = true;
                    indexed = true;
                }
                ']' => in_index = false,
                c if VERBS.contains(c) => {
                    verbs.push(c);
                    break;
                }
                _ => {}
            }
        }
        if !number.is_empty() && number.parse::<u64>().map_or(true, |n| n > MAX_WIDTH) {
            return reject("unsupported width or precision");
        }
    }
    Ok((!indexed).then_some(verbs))
}

// ---------------------------------------------------------------------------------------------
// Column alignment
// ---------------------------------------------------------------------------------------------

/// Aligns `\t`-terminated cells like Go's `text/tabwriter` with flags 0 and a space pad
/// character: a column block is a run of consecutive lines that all have a cell in that column,
/// each cell of the block is padded to the block's widest cell plus `padding` (at least
/// `min_width`), and the last cell of a line is never padded. Widths count chars.
///
/// Iterative rather than Go's recursive formulation, because a value with many tabs would
/// otherwise recurse once per column.
pub fn align_columns(text: &str, min_width: usize, padding: usize) -> String {
    let lines: Vec<Vec<&str>> = text
        .split('\n')
        .map(|line| line.split('\t').collect())
        .collect();
    let mut block_width: Vec<usize> = Vec::new();
    let mut block_of: Vec<Vec<usize>> = Vec::with_capacity(lines.len());
    let mut open: Vec<usize> = Vec::new();
    for line in &lines {
        let aligned = line.len() - 1;
        open.truncate(aligned);
        let mut blocks = Vec::with_capacity(aligned);
        for (column, cell) in line.iter().take(aligned).enumerate() {
            let width = cell.chars().count() + padding;
            if let Some(&block) = open.get(column) {
                block_width[block] = block_width[block].max(width);
            } else {
                block_width.push(width.max(min_width));
                open.push(block_width.len() - 1);
            }
            blocks.push(open[column]);
        }
        block_of.push(blocks);
    }

    let mut out = String::with_capacity(text.len());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for (column, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if let Some(&block) = block_of[i].get(column) {
                let fill = block_width[block].saturating_sub(cell.chars().count());
                out.extend(std::iter::repeat_n(' ', fill));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inspect() -> Json {
        json!({
            "Id": "0123456789abcdef0123",
            "Name": "/web",
            "Args": ["-g", "daemon off;"],
            "State": {"Status": "running", "Running": true, "Pid": 42, "ExitCode": 0},
            "Config": {
                "Labels": {"com.example.vendor": "ACME", "tier": "front"},
                "Env": ["PATH=/usr/bin", "HOME=/root"],
                "Cpus": 1.5,
                "Nothing": null
            },
            "Mounts": [
                {"Source": "/a", "Destination": "/data"},
                {"Source": "/b", "Destination": "/logs"}
            ],
            "Empty": []
        })
    }

    fn r(template: &str) -> String {
        match render(template, &inspect()) {
            Ok(out) => out,
            Err(e) => panic!("render({template:?}) failed: {e}"),
        }
    }

    #[test]
    fn fields_and_nested_fields() {
        assert_eq!(r("{{.Name}}"), "/web");
        assert_eq!(r("{{.State.Status}}"), "running");
        assert_eq!(r("{{.State.Pid}}"), "42");
        assert_eq!(r("{{.State.Running}}"), "true");
        assert_eq!(r("{{.Config.Cpus}}"), "1.5");
        assert_eq!(
            r("id={{ .Id }} name={{.Name}}\n"),
            "id=0123456789abcdef0123 name=/web\n"
        );
        assert_eq!(r("{{$.Name}}"), "/web");
    }

    #[test]
    fn values_print_like_go() {
        assert_eq!(r("{{.Args}}"), "[-g daemon off;]");
        assert_eq!(
            r("{{.Config.Labels}}"),
            "map[com.example.vendor:ACME tier:front]"
        );
        assert_eq!(r("{{.Config.Nothing}}"), "<nil>");
        assert_eq!(r("{{.Missing}}"), "<no value>");
        assert_eq!(r("{{.Empty}}"), "[]");
        assert_eq!(r("{{print .Args}}"), "[-g daemon off;]");
        assert_eq!(r("{{print 1 2 \"a\" 3}}"), "1 2a3");
        assert_eq!(
            r("{{printf \"%s|%v|%d\" .Name .Args .State.Pid}}"),
            "/web|[-g daemon off;]|42"
        );
        assert_eq!(
            r("{{printf \"%v %s %.2f\" .Config.Cpus .Config.Cpus .Config.Cpus}}"),
            "1.5 1.5 1.50"
        );
    }

    #[test]
    fn json_function_preserves_types() {
        assert_eq!(r("{{json .Name}}"), "\"/web\"");
        assert_eq!(r("{{json .State.Pid}}"), "42");
        assert_eq!(r("{{json .Config.Cpus}}"), "1.5");
        assert_eq!(r("{{json .State.Running}}"), "true");
        assert_eq!(r("{{json .Config.Nothing}}"), "null");
        assert_eq!(r("{{json .Missing}}"), "null");
        assert_eq!(r("{{json .Args}}"), r#"["-g","daemon off;"]"#);
        assert_eq!(
            r("{{json .State}}"),
            r#"{"ExitCode":0,"Pid":42,"Running":true,"Status":"running"}"#
        );
        assert_eq!(
            r("{{json .Config.Labels}}"),
            r#"{"com.example.vendor":"ACME","tier":"front"}"#
        );
        let round_trip: Json = match serde_json::from_str(&r("{{json .}}")) {
            Ok(v) => v,
            Err(e) => panic!("json . is not JSON: {e}"),
        };
        assert_eq!(round_trip, inspect());
        assert_eq!(
            render(
                "{{json .}}",
                &json!({"neg": -7, "big": 18446744073709551615u64, "f": 0.25})
            ),
            Ok(r#"{"big":18446744073709551615,"f":0.25,"neg":-7}"#.to_string())
        );
        assert_eq!(
            render("{{json .}}", &json!("a<b>&c")),
            Ok("\"a<b>&c\"".to_string())
        );
    }

    #[test]
    fn index_on_map_with_dotted_key() {
        assert_eq!(
            r(r#"{{index .Config.Labels "com.example.vendor"}}"#),
            "ACME"
        );
        assert_eq!(r(r#"{{index .Config.Labels "absent"}}"#), "<no value>");
        assert_eq!(r("{{index .Args 1}}"), "daemon off;");
        assert!(render("{{index .Args 5}}", &inspect()).is_err());
    }

    #[test]
    fn range_and_variables() {
        assert_eq!(
            r("{{range .Mounts}}{{.Destination}} {{end}}"),
            "/data /logs "
        );
        assert_eq!(
            r("{{range $i, $m := .Mounts}}{{$i}}={{$m.Source}};{{end}}"),
            "0=/a;1=/b;"
        );
        assert_eq!(r("{{range .Mounts}}x{{else}}none{{end}}"), "xx");
        assert_eq!(r("{{range .Empty}}x{{else}}none{{end}}"), "none");
        assert_eq!(r("{{range .Config.Nothing}}x{{end}}"), "");
        assert_eq!(r("{{range .Missing}}x{{else}}none{{end}}"), "none");
        assert_eq!(r("{{$n := .Name}}{{$n}}"), "/web");
        assert_eq!(r("{{with .State}}{{.Status}}{{end}}"), "running");
        assert_eq!(
            r("{{range .Mounts}}{{range $.Args}}{{.}},{{end}}{{end}}"),
            "-g,daemon off;,-g,daemon off;,"
        );
    }

    #[test]
    fn conditionals() {
        assert_eq!(r("{{if .State.Running}}up{{else}}down{{end}}"), "up");
        assert_eq!(r("{{if .Config.Nothing}}up{{else}}down{{end}}"), "down");
        assert_eq!(r("{{if eq .State.Status \"running\"}}yes{{end}}"), "yes");
        assert_eq!(r("{{if eq .State.ExitCode 0}}ok{{end}}"), "ok");
        assert_eq!(r("{{if ne .State.Pid 0}}pid{{end}}"), "pid");
        assert_eq!(
            r("{{if and .State.Running (not .Empty)}}a{{else if .Name}}b{{end}}"),
            "a"
        );
        assert_eq!(r("{{if .Empty}}a{{else if .Name}}b{{end}}"), "b");
    }

    #[test]
    fn docker_functions() {
        assert_eq!(r("{{upper .State.Status}}"), "RUNNING");
        assert_eq!(r("{{lower \"MiXed\"}}"), "mixed");
        assert_eq!(r("{{title \"hello big_world-x\"}}"), "Hello Big_world-X");
        assert_eq!(r("{{join .Args \",\"}}"), "-g,daemon off;");
        assert_eq!(r("{{split \"a,b,c\" \",\"}}"), "[a b c]");
        assert_eq!(r("{{len (split \"a,b,c\" \",\")}}"), "3");
        assert_eq!(r("{{index (split \"a,b\" \",\") 1}}"), "b");
        assert_eq!(r("{{len .Args}}"), "2");
        assert_eq!(r("{{len .Config.Labels}}"), "2");
        assert_eq!(r("{{truncate .Id 12}}"), "0123456789ab");
        assert_eq!(r("{{truncate \"abc\" 12}}"), "abc");
        assert_eq!(r("[{{pad .Name 1 2}}]"), "[ /web  ]");
        assert_eq!(r("[{{pad \"\" 1 2}}]"), "[]");
        assert_eq!(r("{{println .Name}}"), "/web\n");
        assert_eq!(r("{{println \"a\" 1}}"), "a 1\n");
        assert_eq!(r("{{.Name | upper}}"), "/WEB");
        assert_eq!(r("{{.State.Status | printf \"%s!\"}}"), "running!");
        assert!(render("{{upper .Args}}", &inspect()).is_err());
        assert!(render("{{truncate .Name -1}}", &inspect()).is_err());
    }

    #[test]
    fn whitespace_is_preserved_and_trim_markers_work() {
        assert_eq!(r("  {{.Name}}  \n"), "  /web  \n");
        assert_eq!(r("a  {{- .Name -}}  \n b"), "a/webb");
        assert_eq!(r("é {{- .Name}}"), "é/web");
        assert_eq!(r("{ {{- .Name}}"), "{/web");
        assert_eq!(r("{{/* comment */}}x{{- /* c2 */ -}} y"), "xy");
        assert_eq!(r("{{.Name\n}}"), "/web");
        assert_eq!(r("{{`raw\\n`}}|{{\"q\\tq\"}}"), "raw\\n|q\tq");
        assert_eq!(r("{{\"héllo\"}}"), "héllo");
        assert_eq!(
            r(r#"{{"a\\"}}|{{`b\`}}|{{'\\'}}|{{"\\\\"}}"#),
            r"a\|b\|92|\\"
        );
        assert_eq!(
            r(r#"{{"\u00e9\x41\101\"é\t"}}|{{'\x41'}}|{{'é'}}"#),
            "éAA\"é\t|65|233"
        );
    }

    #[test]
    fn template_errors_are_reported_not_panicked() {
        for bad in [
            "{{.Name",
            "{{if .Name}}",
            "{{nosuchfunc .Name}}",
            "{{end}}",
            "{{\"unterminated}}",
            "{{.Näme}}",
            "{{\"\\é\"}}",
            "{{\"\\x1é\"}}",
            "{{\"\\u12\"}}",
            "{{\"\\x4\"}}",
            "{{'ab'}}",
            "{{printf \"%[0]d\" 1}}",
            "{{printf \"%*d\" 5 1}}",
            "{{printf \"%999999999d\" 1}}",
            "{{pad .Name 999999999 0}}",
            "{{.Name.Foo}}",
            "{{define \"a\"}}{{template \"a\"}}{{end}}{{template \"a\"}}",
            "{{template \"\"}}",
            "{{/* open",
            "{{/* x */ }}",
        ] {
            match render(bad, &inspect()) {
                Err(e) => assert!(e.starts_with("template parsing error: "), "{bad:?}: {e}"),
                Ok(out) => panic!("{bad:?} should fail, rendered {out:?}"),
            }
        }
        let deep = format!("{{{{{}.Name{}}}}}", "(".repeat(200), ")".repeat(200));
        assert!(render(&deep, &inspect()).is_err());
        let nested = "{{if .Name}}".repeat(200) + &"{{end}}".repeat(200);
        assert!(render(&nested, &inspect()).is_err());
    }

    #[test]
    fn defined_templates_work() {
        assert_eq!(
            r("{{define \"n\"}}<{{.}}>{{end}}{{template \"n\" .Name}}"),
            "</web>"
        );
        assert_eq!(r("{{block \"b\" .State}}{{.Status}}{{end}}"), "running");
    }

    #[test]
    fn floats_print_like_go() {
        assert_eq!(go_float(0.5), "0.5");
        assert_eq!(go_float(1234567.5), "1.2345675e+06");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(123456.5), "123456.5");
        assert_eq!(render("{{.}}", &json!(-1.5)), Ok("-1.5".to_string()));
        assert_eq!(render("{{.}}", &json!(2.0)), Ok("2".to_string()));
        assert_eq!(render("{{.}}", &json!(-3)), Ok("-3".to_string()));
    }

    fn ps_rows() -> Vec<Json> {
        vec![
            json!({"ID": "abc123", "Image": "nginx:latest", "Names": "web", "Status": "Up 2 hours", "State": {"Status": "running"}}),
            json!({"ID": "def456789", "Image": "redis", "Names": "cache-server", "Status": "Exited (0)", "State": {"Status": "exited"}}),
        ]
    }

    const PS_HEADERS: &[(&str, &str)] = &[
        ("ID", "CONTAINER ID"),
        ("Image", "IMAGE"),
        ("Names", "NAMES"),
    ];
    const PS_DEFAULT: &str = "table {{.ID}}\\t{{.Image}}\\t{{.Names}}";

    fn list(format: Option<&str>, rows: &[Json]) -> String {
        match render_list(format, PS_DEFAULT, PS_HEADERS, rows) {
            Ok(out) => out,
            Err(e) => panic!("render_list({format:?}) failed: {e}"),
        }
    }

    #[test]
    fn default_table_aligns_columns() {
        let expected = "\
CONTAINER ID   IMAGE          NAMES
abc123         nginx:latest   web
def456789      redis          cache-server
";
        assert_eq!(list(None, &ps_rows()), expected);
        assert_eq!(list(Some("table"), &ps_rows()), expected);
        assert_eq!(list(Some(""), &ps_rows()), expected);
    }

    #[test]
    fn empty_table_still_has_header() {
        assert_eq!(list(None, &[]), "CONTAINER ID   IMAGE     NAMES\n");
        assert_eq!(
            list(Some("table {{.Status}}\t{{.Names}}"), &[]),
            "STATUS    NAMES\n"
        );
    }

    #[test]
    fn custom_table_maps_headers() {
        let out = list(
            Some("table {{.Names}}\\t{{.Status}}\\t{{.State.Status}}"),
            &ps_rows(),
        );
        let expected = "\
NAMES          STATUS       STATUS
web            Up 2 hours   running
cache-server   Exited (0)   exited
";
        assert_eq!(out, expected);
        // Docker's header functions leave titles intact; `pad` still applies.
        let out = list(
            Some("table {{upper .Names}}|{{truncate .ID 3}}|{{pad .Image 1 0}}"),
            &ps_rows(),
        );
        assert_eq!(
            out,
            "NAMES|CONTAINER ID| IMAGE\nWEB|abc| nginx:latest\nCACHE-SERVER|def| redis\n"
        );
    }

    #[test]
    fn custom_format_has_no_header() {
        assert_eq!(list(Some("{{.Names}}"), &ps_rows()), "web\ncache-server\n");
        assert_eq!(
            list(Some("{{.ID}}\\t{{.Names}}"), &ps_rows()),
            "abc123\tweb\ndef456789\tcache-server\n"
        );
        assert_eq!(list(Some("{{.Names}}"), &[]), "");
    }

    #[test]
    fn json_list_mode() {
        let out = list(Some("json"), &ps_rows());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2);
        for (line, row) in lines.iter().zip(ps_rows()) {
            assert_eq!(serde_json::from_str::<Json>(line).ok(), Some(row));
            assert!(!line.contains('\n') && !line.contains(": "));
        }
        assert_eq!(list(Some("json"), &[]), "");
        assert_eq!(list(Some("{{json .}}"), &ps_rows()[..1]).lines().count(), 1);
    }

    #[test]
    fn list_template_error() {
        let err = render_list(Some("table {{.ID"), PS_DEFAULT, PS_HEADERS, &ps_rows());
        assert!(
            matches!(err, Err(ref e) if e.starts_with("template parsing error")),
            "{err:?}"
        );
        let err = render_list(Some("{{upper .State}}"), PS_DEFAULT, PS_HEADERS, &ps_rows());
        assert!(err.is_err());
    }

    #[test]
    fn alignment_follows_tabwriter_blocks() {
        assert_eq!(
            align_columns("a\tbb\tc\nccc\td\te\n", 0, 3),
            "a     bb   c\nccc   d    e\n"
        );
        // Cells are measured in chars, not bytes.
        assert_eq!(align_columns("é\tx\nab\ty", 0, 1), "é  x\nab y");
        // A line without tabs ends the column block, so widths restart below it.
        assert_eq!(
            align_columns("aaaaa\tx\n--\nb\ty", 0, 1),
            "aaaaa x\n--\nb y"
        );
        // Minimum width, and an empty trailing cell is not padded.
        assert_eq!(align_columns("a\tb\t\n", 4, 1), "a   b   \n");
    }

    #[test]
    fn value_conversion_round_trips() {
        let v = json!({"a": [1, -2, 2.5, true, null, "s", {"b": {}}]});
        assert_eq!(to_json(&to_gtmpl(&v)), v);
        assert_eq!(to_gtmpl(&json!(null)), Value::Nil);
        assert_eq!(to_gtmpl(&json!(7)), Value::from(7u64));
    }
}
