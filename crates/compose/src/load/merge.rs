//! Merges compose trees by the compose-spec's merge rules: a later file (or an
//! extending service) over an earlier one. Mappings merge key by key and a later
//! scalar wins; sequences are appended; a few fields have their own rule, listed in
//! [`RULES`]; `!reset` removes a value and `!override` replaces it without merging.
//! After merging, [`unique`] removes entries that an identity rule says are the same
//! (a port, a volume target...), the later one taking the earlier one's place.
//!
//! Nodes keep their spans through every step, so an error about a merged value still
//! points at the file and line it came from. This module only rearranges trees: it
//! never reads files, never interpolates and validates nothing merging does not need.
//!
//! Two choices where compose-go's behaviour is incidental rather than specified: a
//! `null` in a later file leaves the earlier value alone (compose-go does this for
//! every field but the replaced ones; here it is uniform: use `!reset` to remove a
//! value), and `environment`/`labels`-like fields merged from two files come out as a
//! mapping rather than compose-go's sorted `NAME=VALUE` list (same meaning).

use crate::value::{Key, Node, Span, Value};

pub(crate) mod unique;

#[cfg(test)]
mod tests;

/// The tag that removes a value inherited from an earlier file.
pub(crate) const RESET: &str = "!reset";
/// The tag that replaces an earlier value instead of merging with it.
pub(crate) const OVERRIDE: &str = "!override";

/// A merge failure at `span` (the later value); `earlier` is the value it could not
/// be merged into.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MergeError {
    pub span: Span,
    pub message: String,
    pub earlier: Option<Span>,
}

#[derive(Debug, Clone, Copy)]
enum Rule {
    /// The later value replaces the earlier one whole.
    Replace,
    /// A list of `NAME=VALUE` (or `NAME`) strings, or a mapping: both sides become
    /// mappings, and a later value replaces an earlier one for the same name.
    KeyValues(Split),
    /// A single string or a list of strings: appended.
    StringOrList,
    /// `depends_on`: a list of names or a mapping; a listed name means
    /// `{condition: service_started, required: true}`, as in compose.
    DependsOn,
    /// A service's `networks`: a list of names or a mapping (names to null or
    /// settings); merged as mappings.
    ServiceNetworks,
    /// `build`: a string is `{context: STRING}`; merged as mappings.
    Build,
    /// `logging`: merged only when both name the same driver (or one names none);
    /// otherwise the later one replaces the earlier.
    Logging,
    /// A network's `ipam.config`: entries with the same `subnet` are merged.
    IpamConfig,
}

/// Where a list entry's name ends.
#[derive(Debug, Clone, Copy)]
enum Split {
    /// `NAME=VALUE`.
    Equals,
    /// `HOST=IP` or `HOST:IP` (extra_hosts).
    Host,
}

/// Per-path rules; `*` matches any one key. Paths not listed get the default rules.
const RULES: &[(&str, Rule)] = &[
    ("services.*.command", Rule::Replace),
    ("services.*.entrypoint", Rule::Replace),
    ("services.*.healthcheck.test", Rule::Replace),
    ("services.*.ulimits.*", Rule::Replace),
    ("services.*.environment", Rule::KeyValues(Split::Equals)),
    ("services.*.labels", Rule::KeyValues(Split::Equals)),
    ("services.*.annotations", Rule::KeyValues(Split::Equals)),
    ("services.*.sysctls", Rule::KeyValues(Split::Equals)),
    ("services.*.build.args", Rule::KeyValues(Split::Equals)),
    ("services.*.build.labels", Rule::KeyValues(Split::Equals)),
    (
        "services.*.build.additional_contexts",
        Rule::KeyValues(Split::Equals),
    ),
    ("services.*.deploy.labels", Rule::KeyValues(Split::Equals)),
    ("services.*.extra_hosts", Rule::KeyValues(Split::Host)),
    ("services.*.build.extra_hosts", Rule::KeyValues(Split::Host)),
    ("networks.*.labels", Rule::KeyValues(Split::Equals)),
    ("volumes.*.labels", Rule::KeyValues(Split::Equals)),
    ("secrets.*.labels", Rule::KeyValues(Split::Equals)),
    ("configs.*.labels", Rule::KeyValues(Split::Equals)),
    ("services.*.env_file", Rule::StringOrList),
    ("services.*.label_file", Rule::StringOrList),
    ("services.*.dns", Rule::StringOrList),
    ("services.*.dns_search", Rule::StringOrList),
    ("services.*.tmpfs", Rule::StringOrList),
    ("services.*.depends_on", Rule::DependsOn),
    ("services.*.networks", Rule::ServiceNetworks),
    ("services.*.build", Rule::Build),
    ("services.*.logging", Rule::Logging),
    ("networks.*.ipam.config", Rule::IpamConfig),
];

fn rule_for(path: &[String]) -> Option<Rule> {
    RULES
        .iter()
        .find(|(pattern, _)| {
            pattern.split('.').count() == path.len()
                && pattern
                    .split('.')
                    .zip(path)
                    .all(|(p, k)| p == "*" || p == k)
        })
        .map(|(_, r)| *r)
}

/// Merges a later file's tree `over` into `base` (the files before it).
pub(crate) fn merge(base: &mut Node, over: Node) -> Result<(), MergeError> {
    merge_node(base, over, &mut Vec::new())
}

/// Merges the extending service `over` into `base` (the service it extends).
pub(crate) fn extend_service(base: &mut Node, over: Node, name: &str) -> Result<(), MergeError> {
    merge_node(
        base,
        over,
        &mut vec!["services".to_string(), name.to_string()],
    )
}

/// Makes a tree that is not merged over anything final: `!reset` values go (there is
/// nothing for them to reset) and `!override` tags are dropped.
pub(crate) fn clean(node: &mut Node) {
    if node.tag.as_deref() == Some(OVERRIDE) {
        node.tag = None;
    }
    match &mut node.value {
        Value::Map(m) => {
            m.retain(|(_, v)| v.tag.as_deref() != Some(RESET));
            m.iter_mut().for_each(|(_, v)| clean(v));
        }
        Value::Seq(s) => {
            s.retain(|v| v.tag.as_deref() != Some(RESET));
            s.iter_mut().for_each(clean);
        }
        _ => {}
    }
}

fn cleaned(mut node: Node) -> Node {
    clean(&mut node);
    node
}

fn merge_node(base: &mut Node, over: Node, path: &mut Vec<String>) -> Result<(), MergeError> {
    match rule_for(path) {
        Some(rule) if !matches!(over.value, Value::Null) => apply(rule, base, over, path),
        _ => default_merge(base, over, path),
    }
}

/// Mappings by key, sequences appended, a later scalar wins, a later null changes
/// nothing.
fn default_merge(base: &mut Node, over: Node, path: &mut Vec<String>) -> Result<(), MergeError> {
    if matches!(over.value, Value::Null) {
        return Ok(());
    }
    let (base_kind, base_span) = (base.kind(), base.span);
    let Node { value, span, .. } = over;
    match (&mut base.value, value) {
        (Value::Map(b), Value::Map(o)) => merge_map(b, o, path, true),
        (Value::Seq(b), Value::Seq(o)) => {
            append(b, o);
            Ok(())
        }
        (Value::Map(_) | Value::Seq(_), value) => Err(MergeError {
            span,
            message: format!(
                "{}: cannot merge {} over {base_kind}; make them the same kind, or tag the later one !override to replace it",
                dotted(path),
                Node::new(value, span).kind(),
            ),
            earlier: Some(base_span),
        }),
        (_, value) => {
            *base = cleaned(Node::new(value, span));
            Ok(())
        }
    }
}

fn append(base: &mut Vec<Node>, over: Vec<Node>) {
    base.extend(
        over.into_iter()
            .filter(|n| n.tag.as_deref() != Some(RESET))
            .map(cleaned),
    );
}

/// Merges mapping entries: `!reset` removes, `!override` replaces, an `x-` key or a
/// new key is taken as it is, and an existing key is merged (`deep`) or replaced.
fn merge_map(
    base: &mut Vec<(Key, Node)>,
    over: Vec<(Key, Node)>,
    path: &mut Vec<String>,
    deep: bool,
) -> Result<(), MergeError> {
    for (key, value) in over {
        let pos = base.iter().position(|(k, _)| k.name == key.name);
        match value.tag.as_deref() {
            Some(RESET) => {
                if let Some(i) = pos {
                    base.remove(i);
                }
                continue;
            }
            Some(OVERRIDE) => {
                put(base, pos, key, cleaned(value));
                continue;
            }
            _ => {}
        }
        match pos {
            Some(i) if deep && !key.name.starts_with("x-") => {
                path.push(key.name);
                merge_node(&mut base[i].1, value, path)?;
                path.pop();
            }
            _ => put(base, pos, key, cleaned(value)),
        }
    }
    Ok(())
}

/// Sets an entry, keeping the earlier key's place in the mapping.
fn put(base: &mut Vec<(Key, Node)>, pos: Option<usize>, key: Key, value: Node) {
    match pos {
        Some(i) => base[i].1 = value,
        None => base.push((key, value)),
    }
}

fn apply(
    rule: Rule,
    base: &mut Node,
    over: Node,
    path: &mut Vec<String>,
) -> Result<(), MergeError> {
    match rule {
        Rule::Replace => {
            *base = cleaned(over);
            Ok(())
        }
        Rule::KeyValues(split) => {
            let span = base.span;
            let mut entries = key_values(take(base), split, path)?;
            let over = key_values(over, split, path)?;
            merge_map(&mut entries, over, path, false)?;
            *base = Node::new(Value::Map(entries), span);
            Ok(())
        }
        Rule::StringOrList => {
            let span = base.span;
            let mut items = string_or_list(take(base), path)?;
            append(&mut items, string_or_list(over, path)?);
            *base = Node::new(Value::Seq(items), span);
            Ok(())
        }
        Rule::DependsOn | Rule::ServiceNetworks => {
            let span = base.span;
            let deps = matches!(rule, Rule::DependsOn);
            let mut entries = names_to_map(take(base), deps, path)?;
            merge_map(&mut entries, names_to_map(over, deps, path)?, path, true)?;
            *base = Node::new(Value::Map(entries), span);
            Ok(())
        }
        Rule::Build => {
            let b = build_map(take(base));
            *base = b;
            default_merge(base, build_map(over), path)
        }
        Rule::Logging => {
            let driver = |n: &Node| n.get("driver").and_then(scalar_text);
            match (driver(base), driver(&over)) {
                (Some(a), Some(b)) if a != b => {
                    *base = cleaned(over);
                    Ok(())
                }
                _ => default_merge(base, over, path),
            }
        }
        Rule::IpamConfig => {
            let (Value::Seq(b), Value::Seq(_)) = (&mut base.value, &over.value) else {
                return default_merge(base, over, path);
            };
            let Value::Seq(o) = over.value else {
                return Ok(());
            };
            for item in o {
                let subnet = item.get("subnet").and_then(scalar_text);
                let same = subnet.as_ref().and_then(|s| {
                    b.iter()
                        .position(|e| e.get("subnet").and_then(scalar_text).as_ref() == Some(s))
                });
                match same {
                    Some(i) => default_merge(&mut b[i], item, path)?,
                    None => append(b, vec![item]),
                }
            }
            Ok(())
        }
    }
}

fn take(node: &mut Node) -> Node {
    std::mem::replace(node, Node::new(Value::Null, node.span))
}

/// The text of a scalar (`8080`, `true`, `x`), as it would be written.
pub(crate) fn scalar_text(n: &Node) -> Option<String> {
    match &n.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Seq(_) | Value::Map(_) => None,
    }
}

pub(crate) fn dotted(path: &[String]) -> String {
    if path.is_empty() {
        "(top level)".to_string()
    } else {
        path.join(".")
    }
}

fn kind_error(n: &Node, path: &[String], expected: &str) -> MergeError {
    MergeError {
        span: n.span,
        message: format!("{}: expected {expected}, found {}", dotted(path), n.kind()),
        earlier: None,
    }
}

/// A key-value field as mapping entries; list entries keep their own spans.
fn key_values(node: Node, split: Split, path: &[String]) -> Result<Vec<(Key, Node)>, MergeError> {
    let items = match node.value {
        Value::Map(m) => return Ok(m),
        Value::Null => return Ok(Vec::new()),
        Value::Seq(items) => items,
        _ => return Err(kind_error(&node, path, "a list or a mapping")),
    };
    let mut out: Vec<(Key, Node)> = Vec::new();
    for item in items {
        if item.tag.as_deref() == Some(RESET) {
            continue;
        }
        let text =
            scalar_text(&item).ok_or_else(|| kind_error(&item, path, "NAME=VALUE strings"))?;
        let (name, value) = match split {
            Split::Equals => text.split_once('='),
            Split::Host => text.split_once('=').or_else(|| text.split_once(':')),
        }
        .map_or((text.as_str(), None), |(k, v)| (k, Some(v)));
        let key = Key {
            name: name.to_string(),
            span: item.span,
        };
        let value = match value {
            Some(v) => Node::new(Value::Str(v.to_string()), item.span),
            None => Node::new(Value::Null, item.span),
        };
        let pos = out.iter().position(|(k, _)| k.name == key.name);
        put(&mut out, pos, key, value);
    }
    Ok(out)
}

fn string_or_list(node: Node, path: &[String]) -> Result<Vec<Node>, MergeError> {
    match node.value {
        Value::Seq(items) => Ok(items),
        Value::Null => Ok(Vec::new()),
        Value::Str(_) => Ok(vec![node]),
        _ => Err(kind_error(&node, path, "a string or a list")),
    }
}

/// `depends_on` / `networks` as mappings. A listed dependency gets compose's
/// defaults; a listed network maps to null.
fn names_to_map(node: Node, deps: bool, path: &[String]) -> Result<Vec<(Key, Node)>, MergeError> {
    let items = match node.value {
        Value::Map(m) => return Ok(m),
        Value::Null => return Ok(Vec::new()),
        Value::Seq(items) => items,
        _ => return Err(kind_error(&node, path, "a list of names or a mapping")),
    };
    let mut out = Vec::new();
    for item in items {
        if item.tag.as_deref() == Some(RESET) {
            continue;
        }
        let name = item
            .as_str()
            .ok_or_else(|| kind_error(&item, path, "names in the list"))?
            .to_string();
        let sp = item.span;
        let value = if deps {
            let k = |name: &str| Key {
                name: name.to_string(),
                span: sp,
            };
            Node::new(
                Value::Map(vec![
                    (
                        k("condition"),
                        Node::new(Value::Str("service_started".into()), sp),
                    ),
                    (k("required"), Node::new(Value::Bool(true), sp)),
                ]),
                sp,
            )
        } else {
            Node::new(Value::Null, sp)
        };
        let key = Key { name, span: sp };
        let pos = out
            .iter()
            .position(|(k, _): &(Key, Node)| k.name == key.name);
        put(&mut out, pos, key, value);
    }
    Ok(out)
}

/// `build: DIR` as `{context: DIR}`; anything else as it is.
fn build_map(node: Node) -> Node {
    match node.value {
        Value::Str(_) => {
            let span = node.span;
            Node::new(
                Value::Map(vec![(
                    Key {
                        name: "context".into(),
                        span,
                    },
                    node,
                )]),
                span,
            )
        }
        _ => node,
    }
}
