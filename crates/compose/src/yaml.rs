//! Turns the text of one compose file into a `value::Node` tree: YAML syntax, scalar
//! typing, anchors and aliases, merge keys (`<<`), tags, and duplicate-key checks, with
//! the file, line and column of every node and key kept so later errors can point at
//! the source.
//!
//! It owns only the step from text to tree. It never reads files (the caller passes the
//! text and a file index), never interpolates `${VAR}` (see `interpolate`), and knows
//! nothing about compose itself (no service names, no override merging, no meaning for
//! `!reset`/`!override` beyond keeping the tag). A hostile file gets an error, never a
//! panic and never unbounded memory or recursion: node count, string bytes and nesting
//! depth are capped, which is what stops alias bombs ("billion laughs").
//!
//! Scalar typing follows the YAML 1.2 core schema, which is what docker compose's
//! loader (go-yaml v3) does for booleans, nulls and floats:
//! - plain `null`, `Null`, `NULL`, `~` and the empty scalar are `Null`;
//! - plain `true`/`True`/`TRUE`/`false`/`False`/`FALSE` are `Bool`;
//! - plain `[-+]?[0-9]+`, `0x[0-9a-fA-F]+` and `0o[0-7]+` are `Int`;
//! - plain `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` and the `.inf`/`.nan`
//!   spellings are `Float`;
//! - everything else, and every quoted (`'…'`, `"…"`) or block (`|`, `>`) scalar, is `Str`.
//!   So `8080:80`, `1.2.3`, `yes`, `on` are strings.
//!
//! One deliberate exception to the core schema: a plain decimal with a leading zero whose
//! digits are all octal (`0755`, `-0440`) is read as octal (493, -288), because go-yaml
//! v3 does ("Octals from the 1.1 spec, spelled as 0777, are still decoded by default in
//! v3 as well for compatibility") and compose files rely on it for `mode: 0440` in
//! `secrets`/`configs`; reading it as decimal 440 would silently give wrong permissions.
//! `089` (not octal) stays decimal 89. A decimal too large for `i64` becomes a `Float`;
//! a hex or octal one too large stays a string.
//!
//! Aliases are deep copies of the anchored node. The copy's root takes the alias's span
//! (so an error about the value points at the use site); nodes inside the copy keep the
//! anchor's spans (where the text actually is).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Tag};

use crate::value::{Key, Node, Span, Value};

/// The most nodes one document may expand to (aliases included).
pub const MAX_NODES: usize = 1_000_000;
/// The most bytes of string data (scalars and keys) one document may expand to.
pub const MAX_BYTES: usize = 64 << 20;
/// The deepest nesting of lists and maps accepted. Compose files are a handful of levels
/// deep; the cap keeps recursive code elsewhere (clone, drop, JSON) off the stack limit.
pub const MAX_DEPTH: usize = 256;

/// A YAML error at a position in file `file`. Displays as `line:col: message`; the caller
/// prefixes the file's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct YamlError {
    pub file: u32,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl YamlError {
    fn at(span: Span, message: impl Into<String>) -> YamlError {
        YamlError {
            file: span.file,
            line: span.line,
            col: span.col,
            message: message.into(),
        }
    }
}

/// Parses one YAML document (the compose file) into a `Node` tree whose spans carry
/// `file`. An empty document (or one with only comments) is `Value::Null` at 1:1. More
/// than one document is an error.
pub fn parse(text: &str, file: u32) -> Result<Node, YamlError> {
    Builder::new(text, file).run()
}

/// What a node costs, so that alias copies can be charged before they are made.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    nodes: usize,
    bytes: usize,
    /// Levels of lists/maps at and below this node (a scalar is 0).
    height: usize,
}

/// A finished node plus what map-building needs to know about it.
#[derive(Debug, Clone)]
struct Built {
    node: Node,
    /// The scalar's source text, used when the node is a map key (`0x10:` is key "0x10").
    raw: Option<String>,
    /// A plain, untagged (or `!!merge`) `<<`.
    merge_key: bool,
    cost: Cost,
}

/// A map key as written, before merge keys are resolved.
#[derive(Debug)]
struct RawKey {
    key: Key,
    merge: bool,
}

#[derive(Debug)]
enum Content {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(RawKey, Node)>,
        pending: Option<RawKey>,
    },
}

/// A list or map whose end event has not come yet.
#[derive(Debug)]
struct Frame {
    content: Content,
    span: Span,
    tag: Option<String>,
    anchor: usize,
    /// Children so far: their nodes and bytes summed, their largest height.
    cost: Cost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CoreTag {
    Str,
    Int,
    Float,
    Bool,
    Null,
    Seq,
    Map,
    Merge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TagKind {
    /// `!name`: kept on the node, value typed as if untagged.
    Local(String),
    /// `!!name`: coerces the value.
    Core(CoreTag),
    /// A bare `!`: the spec's "non-specific" tag, which makes a scalar a string.
    NonSpecific,
}

const CORE_PREFIX: &str = "tag:yaml.org,2002:";

struct Builder<'t> {
    text: &'t str,
    file: u32,
    /// Finished anchored nodes by the parser's anchor id (a redefined anchor gets a new
    /// id, so later aliases see the newest definition, as the spec says).
    anchors: HashMap<usize, Built>,
    stack: Vec<Frame>,
    nodes: usize,
    bytes: usize,
}

impl<'t> Builder<'t> {
    fn new(text: &'t str, file: u32) -> Builder<'t> {
        Builder {
            text,
            file,
            anchors: HashMap::new(),
            stack: Vec::new(),
            nodes: 0,
            bytes: 0,
        }
    }

    fn span(&self, m: Marker) -> Span {
        Span {
            file: self.file,
            line: u32::try_from(m.line()).unwrap_or(u32::MAX),
            col: u32::try_from(m.col().saturating_add(1)).unwrap_or(u32::MAX),
        }
    }

    fn run(mut self) -> Result<Node, YamlError> {
        // Events are pulled one at a time (rather than `Parser::load`) so that the tree is
        // built with an explicit stack, without recursion, and a second document can be
        // refused as soon as it starts.
        let mut parser = Parser::new_from_str(self.text);
        let mut root: Option<Node> = None;
        let mut documents = 0usize;
        while let Some(next) = parser.next_event() {
            let (event, span) = next.map_err(|e| self.scan_error(&e))?;
            let at = self.span(span.start);
            match event {
                Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    documents += 1;
                    if documents > 1 {
                        return Err(YamlError::at(
                            at,
                            "more than one YAML document (`---`) in the file; a compose file is one document",
                        ));
                    }
                }
                Event::Alias(id) => {
                    let built = self.alias(id, at)?;
                    self.deliver(built, &mut root)?;
                }
                Event::Scalar(text, style, anchor, tag) => {
                    let tag = self.tag_kind(tag.as_deref(), at)?;
                    let built = self.scalar(text, style, tag, at)?;
                    self.anchor(anchor, &built);
                    self.deliver(built, &mut root)?;
                }
                Event::SequenceStart(anchor, tag) => {
                    let tag = self.tag_kind(tag.as_deref(), at)?;
                    self.open(Content::Seq(Vec::new()), anchor, tag, at)?;
                }
                Event::MappingStart(anchor, tag) => {
                    let tag = self.tag_kind(tag.as_deref(), at)?;
                    let content = Content::Map {
                        entries: Vec::new(),
                        pending: None,
                    };
                    self.open(content, anchor, tag, at)?;
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let Some(frame) = self.stack.pop() else {
                        return Err(YamlError::at(at, "unbalanced end of a list or mapping"));
                    };
                    let built = self.close(frame)?;
                    self.deliver(built, &mut root)?;
                }
            }
        }
        Ok(root.unwrap_or_else(|| {
            Node::new(
                Value::Null,
                Span {
                    file: self.file,
                    line: 1,
                    col: 1,
                },
            )
        }))
    }

    fn scan_error(&self, e: &ScanError) -> YamlError {
        let at = self.span(*e.marker());
        let message = if e.info().contains("unknown anchor") {
            format!("undefined alias \"*{}\"", self.name_at(e.marker().index()))
        } else {
            e.info().to_string()
        };
        YamlError::at(at, message)
    }

    /// The anchor or alias name that starts at character `index` (at its `&` or `*`).
    /// Only used for messages, so reading the text again is fine.
    fn name_at(&self, index: usize) -> String {
        self.text
            .chars()
            .skip(index.saturating_add(1))
            .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ']' | '{' | '}'))
            .take(100)
            .collect()
    }

    /// Charges `cost` against the document's budget.
    fn charge(&mut self, cost: Cost, at: Span) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(cost.nodes);
        self.bytes = self.bytes.saturating_add(cost.bytes);
        if self.nodes > MAX_NODES {
            return Err(YamlError::at(
                at,
                format!("document expands to more than {MAX_NODES} nodes (alias bomb?)"),
            ));
        }
        if self.bytes > MAX_BYTES {
            return Err(YamlError::at(
                at,
                format!("document expands to more than {MAX_BYTES} bytes of text (alias bomb?)"),
            ));
        }
        Ok(())
    }

    fn tag_kind(&self, tag: Option<&Tag>, at: Span) -> Result<Option<TagKind>, YamlError> {
        let Some(tag) = tag else { return Ok(None) };
        if tag.handle == "!" {
            return Ok(Some(TagKind::Local(format!("!{}", tag.suffix))));
        }
        if tag.handle.is_empty() && tag.suffix == "!" {
            return Ok(Some(TagKind::NonSpecific));
        }
        let full = format!("{}{}", tag.handle, tag.suffix);
        if let Some(name) = full.strip_prefix(CORE_PREFIX) {
            let core = match name {
                "str" => CoreTag::Str,
                "int" => CoreTag::Int,
                "float" => CoreTag::Float,
                "bool" => CoreTag::Bool,
                "null" => CoreTag::Null,
                "seq" => CoreTag::Seq,
                "map" => CoreTag::Map,
                "merge" => CoreTag::Merge,
                _ => return Err(YamlError::at(at, format!("unsupported tag \"!!{name}\""))),
            };
            return Ok(Some(TagKind::Core(core)));
        }
        // A verbatim local tag, `!<!name>`.
        if tag.handle.is_empty() && tag.suffix.starts_with('!') {
            return Ok(Some(TagKind::Local(tag.suffix.clone())));
        }
        Err(YamlError::at(at, format!("unsupported tag \"{full}\"")))
    }

    fn scalar(
        &mut self,
        text: Cow<'_, str>,
        style: ScalarStyle,
        tag: Option<TagKind>,
        at: Span,
    ) -> Result<Built, YamlError> {
        let raw = text.into_owned();
        let cost = Cost {
            nodes: 1,
            bytes: raw.len(),
            height: 0,
        };
        self.charge(cost, at)?;
        let plain = style == ScalarStyle::Plain;
        let mut merge_key = plain && raw == "<<" && tag.is_none();
        let mut node_tag = None;
        let value = match tag {
            None if plain => resolve_plain(&raw),
            None | Some(TagKind::NonSpecific) | Some(TagKind::Core(CoreTag::Str)) => {
                Value::Str(raw.clone())
            }
            Some(TagKind::Local(t)) => {
                node_tag = Some(t);
                if plain {
                    resolve_plain(&raw)
                } else {
                    Value::Str(raw.clone())
                }
            }
            Some(TagKind::Core(core)) => {
                let coerced = match core {
                    CoreTag::Null => is_null(&raw).then_some(Value::Null),
                    CoreTag::Bool => parse_bool(&raw).map(Value::Bool),
                    CoreTag::Int => parse_int(&raw).filter(|v| matches!(v, Value::Int(_))),
                    CoreTag::Float => {
                        parse_float(&raw)
                            .or_else(|| parse_int(&raw))
                            .and_then(|v| match v {
                                Value::Int(i) => Some(Value::Float(i as f64)),
                                Value::Float(f) => Some(Value::Float(f)),
                                _ => None,
                            })
                    }
                    CoreTag::Merge => {
                        merge_key = raw == "<<";
                        merge_key.then(|| Value::Str(raw.clone()))
                    }
                    CoreTag::Str | CoreTag::Seq | CoreTag::Map => None,
                };
                match coerced {
                    Some(v) => v,
                    None => {
                        return Err(YamlError::at(
                            at,
                            format!("cannot read {raw:?} as {}", core_name(core)),
                        ))
                    }
                }
            }
        };
        Ok(Built {
            node: Node {
                value,
                span: at,
                tag: node_tag,
            },
            raw: Some(raw),
            merge_key,
            cost,
        })
    }

    fn open(
        &mut self,
        content: Content,
        anchor: usize,
        tag: Option<TagKind>,
        at: Span,
    ) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError::at(
                at,
                format!("lists and mappings nested more than {MAX_DEPTH} deep"),
            ));
        }
        let is_map = matches!(content, Content::Map { .. });
        let tag = match tag {
            None | Some(TagKind::NonSpecific) => None,
            Some(TagKind::Local(t)) => Some(t),
            Some(TagKind::Core(CoreTag::Seq)) if !is_map => None,
            Some(TagKind::Core(CoreTag::Map)) if is_map => None,
            Some(TagKind::Core(core)) => {
                let kind = if is_map { "a mapping" } else { "a list" };
                return Err(YamlError::at(
                    at,
                    format!("cannot read {kind} as {}", core_name(core)),
                ));
            }
        };
        self.charge(
            Cost {
                nodes: 1,
                ..Cost::default()
            },
            at,
        )?;
        self.stack.push(Frame {
            content,
            span: at,
            tag,
            anchor,
            cost: Cost {
                nodes: 1,
                ..Cost::default()
            },
        });
        Ok(())
    }

    fn close(&mut self, frame: Frame) -> Result<Built, YamlError> {
        let value = match frame.content {
            Content::Seq(items) => Value::Seq(items),
            Content::Map { entries, pending } => {
                if let Some(key) = pending {
                    // The parser always supplies a value (possibly empty) after a key.
                    return Err(YamlError::at(key.key.span, "mapping key without a value"));
                }
                Value::Map(resolve_map(entries)?)
            }
        };
        let built = Built {
            node: Node {
                value,
                span: frame.span,
                tag: frame.tag,
            },
            raw: None,
            merge_key: false,
            cost: Cost {
                height: frame.cost.height.saturating_add(1),
                ..frame.cost
            },
        };
        self.anchor(frame.anchor, &built);
        Ok(built)
    }

    fn anchor(&mut self, anchor: usize, built: &Built) {
        if anchor != 0 {
            self.anchors.insert(anchor, built.clone());
        }
    }

    fn alias(&mut self, id: usize, at: Span) -> Result<Built, YamlError> {
        let Some(anchored) = self.anchors.get(&id) else {
            // The parser resolves names itself, so a known id without a finished node is
            // an alias inside its own anchor (`&a [*a]`).
            return Err(YamlError::at(
                at,
                "alias refers to a node that contains it (recursive anchor)",
            ));
        };
        let cost = anchored.cost;
        if self.stack.len().saturating_add(cost.height) > MAX_DEPTH {
            return Err(YamlError::at(
                at,
                format!("lists and mappings nested more than {MAX_DEPTH} deep"),
            ));
        }
        // Charge before copying so a bomb fails before it allocates.
        self.charge(cost, at)?;
        let mut built = self
            .anchors
            .get(&id)
            .cloned()
            .ok_or_else(|| YamlError::at(at, "alias refers to an unknown anchor"))?;
        built.node.span = at;
        Ok(built)
    }

    /// Hands a finished node to its parent (or makes it the document's root).
    fn deliver(&mut self, built: Built, root: &mut Option<Node>) -> Result<(), YamlError> {
        let Some(top) = self.stack.last_mut() else {
            *root = Some(built.node);
            return Ok(());
        };
        top.cost.nodes = top.cost.nodes.saturating_add(built.cost.nodes);
        top.cost.bytes = top.cost.bytes.saturating_add(built.cost.bytes);
        top.cost.height = top.cost.height.max(built.cost.height);
        match &mut top.content {
            Content::Seq(items) => items.push(built.node),
            Content::Map { entries, pending } => match pending.take() {
                Some(key) => entries.push((key, built.node)),
                None => *pending = Some(map_key(built)?),
            },
        }
        Ok(())
    }
}

fn core_name(core: CoreTag) -> &'static str {
    match core {
        CoreTag::Str => "!!str",
        CoreTag::Int => "!!int",
        CoreTag::Float => "!!float",
        CoreTag::Bool => "!!bool",
        CoreTag::Null => "!!null",
        CoreTag::Seq => "!!seq",
        CoreTag::Map => "!!map",
        CoreTag::Merge => "!!merge",
    }
}

/// A key must be a scalar; its name is the scalar's source text (`80:` is "80",
/// `true:` is "true"), as go-yaml gives when decoding into string-keyed maps.
fn map_key(built: Built) -> Result<RawKey, YamlError> {
    let span = built.node.span;
    match (&built.node.value, built.raw) {
        (Value::Seq(_) | Value::Map(_), _) | (_, None) => Err(YamlError::at(
            span,
            format!(
                "a mapping key must be a plain value, not {}",
                built.node.kind()
            ),
        )),
        (_, Some(name)) => Ok(RawKey {
            key: Key { name, span },
            merge: built.merge_key,
        }),
    }
}

/// Applies merge keys and refuses duplicate keys. Explicit keys win over merged ones
/// wherever they appear in the map; among merged maps the first to supply a key wins.
/// Merged keys take the place of the `<<` entry, so key order stays readable. Several
/// `<<` entries in one map are allowed and act like one list, in document order.
fn resolve_map(entries: Vec<(RawKey, Node)>) -> Result<Vec<(Key, Node)>, YamlError> {
    let mut explicit: HashMap<&str, u32> = HashMap::new();
    for (k, _) in &entries {
        if k.merge {
            continue;
        }
        if let Some(first) = explicit.insert(&k.key.name, k.key.span.line) {
            return Err(YamlError::at(
                k.key.span,
                format!("duplicate key \"{}\" (first at line {first})", k.key.name),
            ));
        }
    }
    let explicit: HashSet<String> = explicit.into_keys().map(str::to_string).collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        if !k.merge {
            seen.insert(k.key.name.clone());
            out.push((k.key, v));
            continue;
        }
        for source in merge_sources(v)? {
            for (mk, mv) in source {
                if explicit.contains(&mk.name) || seen.contains(&mk.name) {
                    continue;
                }
                seen.insert(mk.name.clone());
                out.push((mk, mv));
            }
        }
    }
    Ok(out)
}

/// The maps a `<<` entry's value brings in, in priority order.
fn merge_sources(value: Node) -> Result<Vec<Vec<(Key, Node)>>, YamlError> {
    const WANT: &str = "merge key \"<<\" expects a mapping or a list of mappings";
    let kind = value.kind();
    match value.value {
        Value::Map(m) => Ok(vec![m]),
        Value::Seq(items) => items
            .into_iter()
            .map(|item| {
                let kind = item.kind();
                match item.value {
                    Value::Map(m) => Ok(m),
                    _ => Err(YamlError::at(
                        item.span,
                        format!("{WANT}, found {kind} in the list"),
                    )),
                }
            })
            .collect(),
        _ => Err(YamlError::at(value.span, format!("{WANT}, found {kind}"))),
    }
}

fn is_null(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Core-schema integers, plus go-yaml's leading-zero octal (see the module docs).
/// Returns `Float` for a decimal too big for `i64`, `None` when `s` is not an integer.
fn parse_int(s: &str) -> Option<Value> {
    let all = |t: &str, f: fn(char) -> bool| !t.is_empty() && t.chars().all(f);
    if let Some(hex) = s.strip_prefix("0x") {
        return all(hex, |c| c.is_ascii_hexdigit())
            .then(|| i64::from_str_radix(hex, 16).ok().map(Value::Int))
            .flatten();
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return all(oct, |c| c.is_digit(8))
            .then(|| i64::from_str_radix(oct, 8).ok().map(Value::Int))
            .flatten();
    }
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if !all(digits, |c| c.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') && all(digits, |c| c.is_digit(8)) {
        let v = i64::from_str_radix(digits, 8).ok()?;
        return Some(Value::Int(if neg { -v } else { v }));
    }
    match s.parse::<i64>() {
        Ok(i) => Some(Value::Int(i)),
        Err(_) => s.parse::<f64>().ok().map(Value::Float),
    }
}

/// Core-schema floats: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` and the
/// `.inf`/`.nan` spellings.
fn parse_float(s: &str) -> Option<Value> {
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(Value::Float(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(Value::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(Value::Float(f64::NAN)),
        _ => {}
    }
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_digits = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac = digits(&mut i);
        if int_digits == 0 && frac == 0 {
            return None;
        }
    } else if int_digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    s.parse::<f64>().ok().map(Value::Float)
}

/// Types a plain scalar by the core schema (see the module docs).
fn resolve_plain(s: &str) -> Value {
    if is_null(s) {
        return Value::Null;
    }
    if let Some(b) = parse_bool(s) {
        return Value::Bool(b);
    }
    if let Some(v) = parse_int(s) {
        return v;
    }
    if let Some(v) = parse_float(s) {
        return v;
    }
    Value::Str(s.to_string())
}

#[cfg(test)]
mod tests;
