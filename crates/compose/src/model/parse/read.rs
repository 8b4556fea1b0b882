//! Typed reads from the YAML tree, shared by every part of the model parser: strings,
//! booleans, numbers, lists and maps in the forms compose accepts (interpolation
//! leaves `"8080"` and `"true"` as strings, so numbers and booleans are read from
//! strings too), the key check that rejects what the compose-spec does not allow, and
//! the error messages that name the path (`services.web.ports[0]`). Knows no compose
//! key's meaning.

use std::fmt::Display;

use crate::value::{Key, Node, Span, Value};

use super::Diagnostic;

pub(crate) type Res<T> = Result<T, Diagnostic>;

/// `PATH: MESSAGE` at `span` (just `MESSAGE` when the path is empty).
pub(crate) fn error(span: Span, path: &str, msg: impl Display) -> Diagnostic {
    let message = if path.is_empty() {
        msg.to_string()
    } else {
        format!("{path}: {msg}")
    };
    Diagnostic { span, message }
}

/// `PATH: expected WHAT, got a mapping`.
pub(crate) fn expected(node: &Node, path: &str, what: &str) -> Diagnostic {
    error(
        node.span,
        path,
        format!("expected {what}, got {}", node.kind()),
    )
}

pub(crate) fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// Numbers print the way Go's `%v` prints them for the values that occur in compose
/// files (`1.5`, `2`), so that `environment: {A: 1.5}` gives "1.5" as in compose.
fn float_text(f: f64) -> String {
    format!("{f}")
}

/// A string, or a number written without quotes (`user: 1000`).
pub(crate) fn string(node: &Node, path: &str) -> Res<String> {
    match &node.value {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(float_text(*f)),
        _ => Err(expected(node, path, "a string")),
    }
}

/// A scalar as text (booleans too); `None` for null. For the values of
/// `environment`, `labels` and other string maps.
pub(crate) fn scalar(node: &Node, path: &str) -> Res<Option<String>> {
    match &node.value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Str(_) | Value::Int(_) | Value::Float(_) => string(node, path).map(Some),
        _ => Err(expected(
            node,
            path,
            "a string, a number, a boolean or null",
        )),
    }
}

pub(crate) fn boolean(node: &Node, path: &str) -> Res<bool> {
    match &node.value {
        Value::Bool(b) => Ok(*b),
        Value::Str(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "on" | "1" => Ok(true),
            "false" | "no" | "n" | "off" | "0" => Ok(false),
            _ => Err(error(
                node.span,
                path,
                format!("expected true or false, got {s:?}"),
            )),
        },
        _ => Err(expected(node, path, "a boolean")),
    }
}

pub(crate) fn int(node: &Node, path: &str) -> Res<i64> {
    match &node.value {
        Value::Int(i) => Ok(*i),
        Value::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| error(node.span, path, format!("expected an integer, got {s:?}"))),
        _ => Err(expected(node, path, "an integer")),
    }
}

/// An integer in `min..=max`.
pub(crate) fn int_in(node: &Node, path: &str, min: i64, max: i64) -> Res<i64> {
    let v = int(node, path)?;
    if v < min || v > max {
        return Err(error(
            node.span,
            path,
            format!("{v} is out of range ({min} to {max})"),
        ));
    }
    Ok(v)
}

pub(crate) fn float(node: &Node, path: &str) -> Res<f64> {
    let v = match &node.value {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| error(node.span, path, format!("expected a number, got {s:?}")))?,
        _ => return Err(expected(node, path, "a number")),
    };
    if !v.is_finite() {
        return Err(error(node.span, path, "expected a finite number"));
    }
    Ok(v)
}

pub(crate) fn list<'a>(node: &'a Node, path: &str) -> Res<&'a [Node]> {
    node.as_seq().ok_or_else(|| expected(node, path, "a list"))
}

pub(crate) fn map<'a>(node: &'a Node, path: &str) -> Res<&'a [(Key, Node)]> {
    node.as_map()
        .ok_or_else(|| expected(node, path, "a mapping"))
}

pub(crate) fn string_list(node: &Node, path: &str) -> Res<Vec<String>> {
    list(node, path)?
        .iter()
        .enumerate()
        .map(|(i, n)| string(n, &index(path, i)))
        .collect()
}

/// `dns: 8.8.8.8` or `dns: [8.8.8.8, 1.1.1.1]`.
pub(crate) fn string_or_list(node: &Node, path: &str) -> Res<Vec<String>> {
    match &node.value {
        Value::Str(_) | Value::Int(_) | Value::Float(_) => Ok(vec![string(node, path)?]),
        Value::Seq(_) => string_list(node, path),
        _ => Err(expected(node, path, "a string or a list of strings")),
    }
}

/// One entry of a compose "list or dict": `KEY: value` or `- KEY=value`; `value` is
/// `None` for `KEY:` (null) and for `- KEY` (no `=`).
pub(crate) struct Entry {
    pub key: String,
    pub value: Option<String>,
    pub span: Span,
    pub path: String,
}

pub(crate) fn list_or_dict(node: &Node, path: &str) -> Res<Vec<Entry>> {
    match &node.value {
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| {
                let p = child(path, &k.name);
                Ok(Entry {
                    key: k.name.clone(),
                    value: scalar(v, &p)?,
                    span: v.span,
                    path: p,
                })
            })
            .collect(),
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let p = index(path, i);
                let s = string(n, &p)?;
                let (key, value) = match s.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (s, None),
                };
                if key.is_empty() {
                    return Err(error(n.span, &p, "the name before '=' is empty"));
                }
                Ok(Entry {
                    key,
                    value,
                    span: n.span,
                    path: p,
                })
            })
            .collect(),
        _ => Err(expected(
            node,
            path,
            "a mapping or a list of KEY=VALUE strings",
        )),
    }
}

/// A mapping whose keys were checked against the keys the spec allows there.
pub(crate) struct Fields<'a> {
    pub entries: &'a [(Key, Node)],
}

/// Reads a mapping and rejects any key not in `known` (extension keys `x-*` are
/// allowed everywhere and ignored).
pub(crate) fn fields<'a>(node: &'a Node, path: &str, known: &[&str]) -> Res<Fields<'a>> {
    let entries = map(node, path)?;
    for (k, _) in entries {
        if !k.name.starts_with("x-") && !known.contains(&k.name.as_str()) {
            return Err(unknown_key(k, path, known));
        }
    }
    Ok(Fields { entries })
}

impl<'a> Fields<'a> {
    pub fn get(&self, name: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(_, v)| v)
    }

    /// The key's own span (for warnings about the key rather than its value).
    pub fn key_span(&self, name: &str) -> Option<Span> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(k, _)| k.span)
    }

    /// The keys present that are in `names`, in document order.
    pub fn present<'b>(&'b self, names: &'b [&str]) -> impl Iterator<Item = &'a Key> + 'b {
        self.entries
            .iter()
            .map(|(k, _)| k)
            .filter(move |k| names.contains(&k.name.as_str()))
    }
}

/// `services.web: additional property "imagee" is not allowed; did you mean "image"?`
pub(crate) fn unknown_key(k: &Key, path: &str, known: &[&str]) -> Diagnostic {
    let mut msg = format!("additional property {:?} is not allowed", k.name);
    if let Some(s) = suggest(&k.name, known) {
        msg.push_str(&format!("; did you mean {s:?}?"));
    }
    error(k.span, path, msg)
}

/// The closest candidate within a small edit distance, for "did you mean".
pub(crate) fn suggest<'k>(word: &str, candidates: &[&'k str]) -> Option<&'k str> {
    let limit = match word.chars().count() {
        0..=3 => 1,
        4..=8 => 2,
        _ => 3,
    };
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_pick_the_closest_key() {
        let keys = ["image", "build", "ports", "expose"];
        assert_eq!(suggest("imagee", &keys), Some("image"));
        assert_eq!(suggest("port", &keys), Some("ports"));
        assert_eq!(suggest("volumes", &keys), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
