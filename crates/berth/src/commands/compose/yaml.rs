//! A small YAML emitter for `compose config`: block style, two-space indents, keys in
//! the order given, strings plain only where YAML reads them back as the same string
//! (quoted JSON-style otherwise). Writes text; parses nothing itself.

use compose::value::{Node, Value};

/// The document as YAML text, ending with a newline.
pub fn emit(node: &Node) -> String {
    let mut out = String::new();
    match &node.value {
        Value::Map(m) if !m.is_empty() => map(&mut out, m, 0),
        Value::Seq(s) if !s.is_empty() => seq(&mut out, s, 0),
        _ => {
            out.push_str(&scalar(&node.value));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn is_block(v: &Value) -> bool {
    matches!(v, Value::Map(m) if !m.is_empty()) || matches!(v, Value::Seq(s) if !s.is_empty())
}

fn map(out: &mut String, entries: &[(compose::value::Key, Node)], indent: usize) {
    for (k, v) in entries {
        pad(out, indent);
        out.push_str(&string(&k.name));
        out.push(':');
        child(out, &v.value, indent + 2);
    }
}

fn seq(out: &mut String, items: &[Node], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match &item.value {
            // A map in a list starts on the dash's line, the rest under it.
            Value::Map(m) if !m.is_empty() => {
                let mut inner = String::new();
                map(&mut inner, m, indent + 2);
                out.push(' ');
                out.push_str(inner.trim_start());
            }
            v => child(out, v, indent + 2),
        }
    }
}

/// The value after `key:` or `-`: inline for scalars, on the next lines for blocks.
fn child(out: &mut String, v: &Value, indent: usize) {
    if is_block(v) {
        out.push('\n');
        match v {
            Value::Map(m) => map(out, m, indent),
            Value::Seq(s) => seq(out, s, indent),
            _ => {}
        }
    } else {
        out.push(' ');
        out.push_str(&scalar(v));
        out.push('\n');
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => string(s),
        Value::Seq(_) => "[]".into(),
        Value::Map(_) => "{}".into(),
    }
}

/// A string, plain when YAML would read it back unchanged and as a string.
fn string(s: &str) -> String {
    if plain_ok(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

fn plain_ok(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let second = chars.next();
    if s.trim() != s || s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if s.chars().any(|c| c.is_control()) {
        return false;
    }
    // `-`, `?` and `:` are indicators only when a space (or nothing) follows.
    if "-?:".contains(first) && second.is_none_or(|c| c == ' ') {
        return false;
    }
    if ",[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
    ) || lower.trim_start_matches(['-', '+']).starts_with(".inf")
        || lower == ".nan"
    {
        return false;
    }
    // Anything that starts like a number could be read as one.
    let numeric = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '.');
    !(first.is_ascii_digit()
        || (first == '.' && numeric(second))
        || ("-+".contains(first) && numeric(second)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_json(text: &str) -> Node {
        compose::yaml::parse(text, 0).unwrap()
    }

    #[test]
    fn emits_block_yaml_in_the_given_order() {
        let n = from_json(
            r#"{"name":"p","services":{"web":{"command":["sh","-c","echo: hi"],"ports":[{"target":80,"published":"8080"}],"environment":{"A":"1","B":"true"},"x":null,"e":[],"m":{}}}}"#,
        );
        let want = r#"name: p
services:
  web:
    command:
      - sh
      - -c
      - "echo: hi"
    ports:
      - target: 80
        published: "8080"
    environment:
      A: "1"
      B: "true"
    x: null
    e: []
    m: {}
"#;
        assert_eq!(emit(&n), want);
    }

    #[test]
    fn what_it_prints_reads_back_the_same() {
        let text = r#"{"a":["", " x", "multi\nline", "-dash", "- x", "-1", "+.5", ".inf", ".env", "plain words", "a #b", "1.5", "~", "key:"]}"#;
        let yaml = emit(&from_json(text));
        let back = compose::yaml::parse(&yaml, 0).unwrap();
        assert_eq!(back.to_json(), from_json(text).to_json());
    }
}
