//! Tests for `yaml::parse`: scalar typing, spans, anchors, merge keys, tags, limits and
//! errors.

use super::*;

fn p(text: &str) -> Node {
    match parse(text, 7) {
        Ok(n) => n,
        Err(e) => panic!("unexpected error {e} for:\n{text}"),
    }
}

fn err(text: &str) -> YamlError {
    match parse(text, 7) {
        Ok(n) => panic!("expected an error, got {n:?} for:\n{text}"),
        Err(e) => e,
    }
}

/// The value of `x:` in `x: <scalar>`.
fn scalar(s: &str) -> Value {
    p(&format!("x: {s}\n")).get("x").unwrap().value.clone()
}

fn str_(s: &str) -> Value {
    Value::Str(s.to_string())
}

fn sp(line: u32, col: u32) -> Span {
    Span { file: 7, line, col }
}

fn keys(n: &Node) -> Vec<&str> {
    n.as_map()
        .unwrap()
        .iter()
        .map(|(k, _)| k.name.as_str())
        .collect()
}

#[test]
fn plain_scalars_follow_the_core_schema() {
    for s in ["null", "Null", "NULL", "~", ""] {
        assert_eq!(scalar(s), Value::Null, "{s:?}");
    }
    for s in ["true", "True", "TRUE"] {
        assert_eq!(scalar(s), Value::Bool(true), "{s:?}");
    }
    for s in ["false", "False", "FALSE"] {
        assert_eq!(scalar(s), Value::Bool(false), "{s:?}");
    }
    assert_eq!(scalar("42"), Value::Int(42));
    assert_eq!(scalar("-17"), Value::Int(-17));
    assert_eq!(scalar("+3"), Value::Int(3));
    assert_eq!(scalar("0"), Value::Int(0));
    assert_eq!(scalar("0x1F"), Value::Int(31));
    assert_eq!(scalar("0o17"), Value::Int(15));
    // go-yaml v3 compatibility: leading-zero octal (file modes).
    assert_eq!(scalar("0755"), Value::Int(0o755));
    assert_eq!(scalar("0440"), Value::Int(0o440));
    assert_eq!(scalar("-010"), Value::Int(-8));
    assert_eq!(scalar("089"), Value::Int(89));
    assert_eq!(scalar("1.5"), Value::Float(1.5));
    assert_eq!(scalar("-.5"), Value::Float(-0.5));
    assert_eq!(scalar("5."), Value::Float(5.0));
    assert_eq!(scalar("1e3"), Value::Float(1000.0));
    assert_eq!(scalar("2.5E-1"), Value::Float(0.25));
    assert_eq!(scalar(".inf"), Value::Float(f64::INFINITY));
    assert_eq!(scalar("-.Inf"), Value::Float(f64::NEG_INFINITY));
    assert!(matches!(scalar(".nan"), Value::Float(f) if f.is_nan()));
    assert_eq!(
        scalar("99999999999999999999"),
        Value::Float(99999999999999999999.0)
    );
    // Strings in YAML 1.2 (several were not in 1.1).
    for s in [
        "8080:80",
        "1.2.3",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "0x",
        "0xZZ",
        "0o8",
        "1_000",
        "+0x10",
        "0b101",
        "1e",
        ".",
        "nginx:latest",
        "0xFFFFFFFFFFFFFFFFFF",
        "2001-12-14",
        "tRUE",
        "nulls",
    ] {
        assert_eq!(scalar(s), str_(s), "{s:?}");
    }
}

#[test]
fn quoted_and_block_scalars_are_always_strings() {
    assert_eq!(scalar("'123'"), str_("123"));
    assert_eq!(scalar("\"true\""), str_("true"));
    assert_eq!(scalar("''"), str_(""));
    assert_eq!(scalar("\"null\""), str_("null"));
    assert_eq!(scalar("'it''s'"), str_("it's"));
    assert_eq!(scalar("\"a\\tb\\u00e9\""), str_("a\tb\u{e9}"));
    let n = p("a: |\n  42\n  two\nb: >\n  1.5\n  more\nc: |-\n  true\n");
    assert_eq!(n.get("a").unwrap().value, str_("42\ntwo\n"));
    assert_eq!(n.get("b").unwrap().value, str_("1.5 more\n"));
    assert_eq!(n.get("c").unwrap().value, str_("true"));
}

#[test]
fn spans_of_keys_and_values() {
    let text = "\
services:
  web:
    image: nginx
    ports:
      - \"80:80\"
      - 443
    env: {A: 1, B: x}
";
    let root = p(text);
    assert_eq!(root.span, sp(1, 1));
    let (k, services) = &root.as_map().unwrap()[0];
    assert_eq!((k.name.as_str(), k.span), ("services", sp(1, 1)));
    assert_eq!(services.span, sp(2, 3));
    let (k, web) = &services.as_map().unwrap()[0];
    assert_eq!((k.name.as_str(), k.span), ("web", sp(2, 3)));
    assert_eq!(web.span, sp(3, 5));
    let m = web.as_map().unwrap();
    assert_eq!((m[0].0.name.as_str(), m[0].0.span), ("image", sp(3, 5)));
    assert_eq!(m[0].1.span, sp(3, 12));
    assert_eq!(m[0].1.value, str_("nginx"));
    assert_eq!((m[1].0.name.as_str(), m[1].0.span), ("ports", sp(4, 5)));
    let ports = &m[1].1;
    assert_eq!(ports.span, sp(5, 7));
    let items = ports.as_seq().unwrap();
    assert_eq!(items[0].span, sp(5, 9));
    assert_eq!(items[0].value, str_("80:80"));
    assert_eq!(items[1].span, sp(6, 9));
    assert_eq!(items[1].value, Value::Int(443));
    assert_eq!(m[2].0.span, sp(7, 5));
    let env = &m[2].1;
    assert_eq!(env.span, sp(7, 10));
    let e = env.as_map().unwrap();
    assert_eq!((e[0].0.name.as_str(), e[0].0.span), ("A", sp(7, 11)));
    assert_eq!(
        (e[0].1.value.clone(), e[0].1.span),
        (Value::Int(1), sp(7, 14))
    );
    assert_eq!((e[1].0.name.as_str(), e[1].0.span), ("B", sp(7, 17)));
    assert_eq!((e[1].1.value.clone(), e[1].1.span), (str_("x"), sp(7, 20)));
}

#[test]
fn keys_are_scalar_source_text() {
    let n = p("80: a\ntrue: b\n0x10: c\n1.50: d\n'q': e\n~: f\n");
    assert_eq!(keys(&n), ["80", "true", "0x10", "1.50", "q", "~"]);
    let e = err("a: 1\n[x]: 2\n");
    assert_eq!((e.line, e.col), (2, 1));
    assert!(e.message.contains("mapping key"), "{e}");
    let e = err("? {a: 1}\n: 2\n");
    assert_eq!((e.line, e.col), (1, 3));
}

#[test]
fn anchors_and_aliases_copy_deeply() {
    let n = p("a: &x\n  k: [1, 2]\nb: *x\nc: &s hello\nd: *s\n");
    assert_eq!(n.get("b").unwrap().value, n.get("a").unwrap().value);
    // The copy's root points at the alias; its insides at the anchor.
    let b = n.get("b").unwrap();
    assert_eq!(b.span, sp(3, 4));
    assert_eq!(b.get("k").unwrap().span, sp(2, 6));
    assert_eq!(n.get("d").unwrap().value, str_("hello"));
    assert_eq!(n.get("d").unwrap().span, sp(5, 4));
    // A redefined anchor: later aliases see the newest definition.
    let n = p("a: &x 1\nb: *x\nc: &x 2\nd: *x\n");
    assert_eq!(n.get("b").unwrap().value, Value::Int(1));
    assert_eq!(n.get("d").unwrap().value, Value::Int(2));
    // An alias as a key uses the anchored scalar's text.
    let n = p("a: &k 0x10\n*k : v\n");
    assert_eq!(keys(&n), ["a", "0x10"]);
}

#[test]
fn undefined_and_recursive_aliases_are_errors() {
    let e = err("a: 1\nb: *nope\n");
    assert_eq!((e.file, e.line, e.col), (7, 2, 4));
    assert_eq!(e.message, "undefined alias \"*nope\"");
    assert_eq!(e.to_string(), "2:4: undefined alias \"*nope\"");
    let e = err("a: &r [1, *r]\n");
    assert_eq!((e.line, e.col), (1, 11));
    assert!(e.message.contains("recursive"), "{e}");
}

#[test]
fn alias_bomb_is_capped() {
    let mut text = String::from(
        "a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n",
    );
    let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
    let mut prev = "a";
    for n in names {
        text.push_str(&format!(
            "{n}: &{n} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
        prev = n;
    }
    let e = err(&text);
    assert!(e.message.contains("more than 1000000 nodes"), "{e}");
    // Big strings copied many times hit the byte cap even with few nodes.
    let big = "x".repeat(1 << 20);
    let text = format!("a: &a \"{big}\"\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c]\n");
    let e = err(&text);
    assert!(e.message.contains("bytes"), "{e}");
}

#[test]
fn nesting_depth_is_capped() {
    // Block nesting (flow nesting stops at the parser's own limit of 255).
    let deep = format!("{}x\n", "- ".repeat(MAX_DEPTH + 1));
    let e = err(&deep);
    assert_eq!((e.line, e.col), (1, 2 * MAX_DEPTH as u32 + 1));
    assert!(e.message.contains("nested"), "{e}");
    let ok = format!("{}x\n", "- ".repeat(MAX_DEPTH));
    p(&ok);
    // Aliases cannot be used to nest past the cap either.
    let mut text = format!("a: &a {}{}\n", "[".repeat(200), "]".repeat(200));
    text.push_str("b: &b [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n");
    text.push_str("c: [[[[[[[[[[*b]]]]]]]]]]\n");
    let e = err(&text);
    assert!(e.message.contains("nested"), "{e}");
}

#[test]
fn merge_key_with_one_alias() {
    let n = p("base: &b\n  x: 1\n  y: 2\nsvc:\n  <<: *b\n  z: 3\n");
    let svc = n.get("svc").unwrap();
    assert_eq!(keys(svc), ["x", "y", "z"]);
    assert_eq!(svc.get("x").unwrap().value, Value::Int(1));
    // Merged values keep the anchor's spans.
    assert_eq!(svc.get("x").unwrap().span, sp(2, 6));
}

#[test]
fn merge_key_with_a_list_earlier_wins() {
    let n = p("a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n");
    let c = n.get("c").unwrap();
    assert_eq!(keys(c), ["x", "y", "z"]);
    assert_eq!(c.get("y").unwrap().value, Value::Int(1));
    assert_eq!(c.get("z").unwrap().value, Value::Int(2));
    // Inline maps work too.
    let n = p("c: {<<: {a: 1}, b: 2}\n");
    assert_eq!(keys(n.get("c").unwrap()), ["a", "b"]);
}

#[test]
fn explicit_keys_win_before_and_after_the_merge() {
    let n = p("a: &a {x: 1, y: 1, z: 1}\nc:\n  x: 9\n  <<: *a\n  z: 8\n");
    let c = n.get("c").unwrap();
    assert_eq!(keys(c), ["x", "y", "z"]);
    assert_eq!(c.get("x").unwrap().value, Value::Int(9));
    assert_eq!(c.get("y").unwrap().value, Value::Int(1));
    assert_eq!(c.get("z").unwrap().value, Value::Int(8));
    assert_eq!(c.get("z").unwrap().span, sp(5, 6));
}

#[test]
fn merge_inside_anchored_map_is_resolved_before_copying() {
    let n = p("a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b}\n");
    assert_eq!(keys(n.get("c").unwrap()), ["x", "y"]);
}

#[test]
fn quoted_merge_key_is_an_ordinary_key() {
    let n = p("a: &a {x: 1}\nb:\n  \"<<\": *a\n  '<<x': 2\n");
    let b = n.get("b").unwrap();
    assert_eq!(keys(b), ["<<", "<<x"]);
    assert_eq!(b.get("<<").unwrap().get("x").unwrap().value, Value::Int(1));
    // `!!merge` spells the merge key explicitly; `!!str` makes it a plain key.
    let n = p("a: &a {x: 1}\nb: {!!merge <<: *a}\nc: {!!str <<: *a}\n");
    assert_eq!(keys(n.get("b").unwrap()), ["x"]);
    assert_eq!(keys(n.get("c").unwrap()), ["<<"]);
}

#[test]
fn bad_merge_values_are_errors() {
    let e = err("a:\n  <<: 3\n");
    assert_eq!((e.line, e.col), (2, 7));
    assert!(e.message.contains("mapping or a list of mappings"), "{e}");
    let e = err("x: &x [1]\na:\n  <<: [{k: 1}, *x]\n");
    assert_eq!((e.line, e.col), (3, 16));
    assert!(e.message.contains("found a list"), "{e}");
    let e = err("a:\n  <<:\n");
    assert!(e.message.contains("found null"), "{e}");
}

#[test]
fn duplicate_keys_name_both_lines() {
    let e = err("services:\n  web:\n    image: a\n    ports: []\n    image: b\n");
    assert_eq!(
        e.to_string(),
        "5:5: duplicate key \"image\" (first at line 3)"
    );
    assert_eq!((e.file, e.line, e.col), (7, 5, 5));
    // Source text decides sameness: `1` and `01` differ... but two `80`s do not.
    let e = err("80: a\n80: b\n");
    assert_eq!(e.message, "duplicate key \"80\" (first at line 1)");
    // Keys brought in by merges are not duplicates.
    p("a: &a {x: 1}\nb: &b {x: 2}\nc: {<<: *a, x: 3}\nd: {<<: [*a, *b]}\n");
}

#[test]
fn multiple_documents_are_an_error() {
    let e = err("a: 1\n---\nb: 2\n");
    assert_eq!((e.line, e.col), (2, 1));
    assert!(e.message.contains("more than one YAML document"), "{e}");
    // One explicit document is fine.
    assert_eq!(keys(&p("---\na: 1\n...\n")), ["a"]);
}

#[test]
fn empty_documents_are_null() {
    for text in ["", "\n\n", "# only a comment\n", "---\n", "~\n"] {
        let n = p(text);
        assert_eq!(n.value, Value::Null, "{text:?}");
        assert_eq!(n.span.file, 7);
    }
}

#[test]
fn local_tags_are_kept() {
    let n = p("a: !reset []\nb: !override {a: 1}\nc: !reset\nd: !custom 12\ne: !<!verb> x\n");
    let a = n.get("a").unwrap();
    assert_eq!(
        (a.tag.as_deref(), &a.value),
        (Some("!reset"), &Value::Seq(vec![]))
    );
    let b = n.get("b").unwrap();
    assert_eq!(b.tag.as_deref(), Some("!override"));
    assert_eq!(b.get("a").unwrap().value, Value::Int(1));
    let c = n.get("c").unwrap();
    assert_eq!((c.tag.as_deref(), &c.value), (Some("!reset"), &Value::Null));
    let d = n.get("d").unwrap();
    assert_eq!(
        (d.tag.as_deref(), &d.value),
        (Some("!custom"), &Value::Int(12))
    );
    assert_eq!(n.get("e").unwrap().tag.as_deref(), Some("!verb"));
    // An untagged node has no tag.
    assert_eq!(p("a: 1\n").get("a").unwrap().tag, None);
}

#[test]
fn core_tags_coerce() {
    assert_eq!(scalar("!!str 123"), str_("123"));
    assert_eq!(scalar("!!str true"), str_("true"));
    assert_eq!(scalar("!!str 0x10"), str_("0x10"));
    assert_eq!(scalar("!!str"), str_(""));
    assert_eq!(scalar("!!int \"42\""), Value::Int(42));
    assert_eq!(scalar("!!float 1"), Value::Float(1.0));
    assert_eq!(scalar("!!float '2.5'"), Value::Float(2.5));
    assert_eq!(scalar("!!bool 'true'"), Value::Bool(true));
    assert_eq!(scalar("!!null ''"), Value::Null);
    assert_eq!(scalar("! 12"), str_("12"));
    assert_eq!(scalar("!<tag:yaml.org,2002:str> 7"), str_("7"));
    assert_eq!(p("a: !!seq [1]\n").get("a").unwrap().tag, None);
    p("a: !!map {b: 1}\n");
    let e = err("a: !!int abc\n");
    assert_eq!((e.line, e.col), (1, 4));
    assert!(e.message.contains("!!int"), "{e}");
    let e = err("a: !!str [1]\n");
    assert!(e.message.contains("!!str"), "{e}");
    let e = err("a: !!map [1]\n");
    assert!(e.message.contains("!!map"), "{e}");
}

#[test]
fn unknown_non_local_tags_are_errors() {
    let e = err("a: !!binary aGVsbG8=\n");
    assert_eq!((e.line, e.col), (1, 4));
    assert_eq!(e.message, "unsupported tag \"!!binary\"");
    let e = err("%TAG !e! tag:example.com,2000:\n---\na: !e!thing 1\n");
    assert_eq!((e.line, e.col), (3, 4));
    assert!(e.message.contains("tag:example.com,2000:thing"), "{e}");
    let e = err("a: !<tag:example.com,2000:x> 1\n");
    assert!(e.message.contains("unsupported tag"), "{e}");
}

#[test]
fn syntax_errors_have_positions() {
    let e = err("services:\n  web:\n    image: a\n   bad: b\n");
    assert_eq!((e.file, e.line), (7, 4));
    assert!(!e.message.is_empty());
    let e = err("a: [1, 2\n");
    assert!(e.line >= 1, "{e}");
    let e = err("a: b: c\n");
    assert_eq!((e.line, e.col), (1, 5));
    let e = err("a: \"unterminated\n");
    assert!(e.line >= 1, "{e}");
}

#[test]
fn hostile_inputs_error_without_panicking() {
    for text in [
        "[",
        "]",
        "{",
        "}",
        "&",
        "*",
        "!",
        "!!",
        "&a",
        "*a",
        "? ",
        ": ",
        "- - - -",
        "\t",
        "a:\tb",
        "%YAML 1.2\n%YAML 1.2\n---\n",
        "%FOO\n",
        "\"\\x\"",
        "'",
        "|\n x\n y",
        ">-1\n",
        "- &a\n- *a\n",
        "a: &a\nb: *a\n",
        "[&a a, *a, *b]",
        "{a: 1, a: 1}",
        "? a\n? a\n",
        "\u{feff}a: 1",
        "a: 1\n...\n...\n",
        "---\n---\n",
        "--- |\n  x\n--- >\n",
        "a: !!merge 1",
        "<<: *x",
        "<<: [1]",
        "- <<: {}\n",
        "{<<: {a: 1}, <<: {a: 2}}",
    ] {
        let _ = parse(text, 0);
    }
    // A very long flat list is fine and fast.
    let long = format!("[{}]", "1,".repeat(100_000));
    assert_eq!(p(&long).as_seq().unwrap().len(), 100_000);
    // Deep nesting of block maps is refused, not a stack overflow.
    let mut deep = String::new();
    for i in 0..1000 {
        deep.push_str(&" ".repeat(i));
        deep.push_str("a:\n");
    }
    let _ = parse(&deep, 0);
}

#[test]
fn realistic_compose_file_with_extension_anchors() {
    let text = r#"
x-common: &common
  restart: unless-stopped
  environment:
    TZ: UTC
    DEBUG: "false"
  logging: &logging
    driver: json-file
    options:
      max-size: 10m

x-healthcheck: &hc
  interval: 30s
  retries: 3

services:
  web:
    <<: *common
    image: nginx:1.25
    ports:
      - "8080:80"
      - 443:443
    healthcheck:
      <<: *hc
      test: ["CMD", "curl", "-f", "http://localhost"]
  worker:
    <<: *common
    restart: always
    image: app:latest
    command: >
      run --queue
      default
    logging: *logging
    secrets:
      - source: key
        mode: 0440

secrets:
  key:
    file: ./key.txt
"#;
    let root = p(text);
    assert_eq!(
        keys(&root),
        ["x-common", "x-healthcheck", "services", "secrets"]
    );
    let services = root.get("services").unwrap();
    let web = services.get("web").unwrap();
    assert_eq!(
        keys(web),
        [
            "restart",
            "environment",
            "logging",
            "image",
            "ports",
            "healthcheck"
        ]
    );
    assert_eq!(web.get("restart").unwrap().value, str_("unless-stopped"));
    assert_eq!(web.get("restart").unwrap().span, sp(3, 12));
    assert_eq!(
        web.get("environment").unwrap().get("DEBUG").unwrap().value,
        str_("false")
    );
    assert_eq!(
        web.get("ports").unwrap().as_seq().unwrap()[1].value,
        str_("443:443")
    );
    let hc = web.get("healthcheck").unwrap();
    assert_eq!(keys(hc), ["interval", "retries", "test"]);
    assert_eq!(hc.get("retries").unwrap().value, Value::Int(3));
    let worker = services.get("worker").unwrap();
    assert_eq!(worker.get("restart").unwrap().value, str_("always"));
    assert_eq!(
        worker.get("command").unwrap().value,
        str_("run --queue default\n")
    );
    assert_eq!(
        worker.get("logging").unwrap().get("driver").unwrap().value,
        str_("json-file")
    );
    assert_eq!(worker.get("logging").unwrap().span, sp(33, 14));
    let secret = &worker.get("secrets").unwrap().as_seq().unwrap()[0];
    assert_eq!(secret.get("mode").unwrap().value, Value::Int(0o440));
    assert_eq!(
        root.to_json()["services"]["web"]["logging"]["options"]["max-size"],
        serde_json::json!("10m")
    );
}

/// A cheap deterministic fuzz over YAML-ish fragments: every input must give a tree or
/// an error. (2,000,000 rounds passed when written; 50,000 keep the suite fast.)
#[test]
fn random_inputs_never_panic() {
    let alphabet: Vec<char> = "ab1:- \n  \n- : : [ ] { } , &a *a !!<>|\"'?#%~.@`\\0x---...<<"
        .chars()
        .collect();
    let mut seed: u64 = 0x1234_5678;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(seed >> 33).unwrap()
    };
    for _ in 0..50_000 {
        let len = next() % 24;
        let text: String = (0..len)
            .map(|_| alphabet[next() % alphabet.len()])
            .collect();
        let outcome = std::panic::catch_unwind(|| parse(&text, 0));
        assert!(outcome.is_ok(), "panic on {text:?}");
    }
}
