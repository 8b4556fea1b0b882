//! Makes the relative paths of a file loaded by `extends` absolute against that file's
//! directory: build contexts, `env_file`, `label_file`, bind-mount sources that start
//! with `.`, and the `file:` of secrets and configs. Without this, a path written in
//! `common/base.yaml` would be read from the project directory once the service lands
//! in the project. Changes strings only; never looks at the filesystem.

use std::path::Path;

use crate::load::paths;
use crate::value::{Key, Node, Value};

pub(crate) fn rebase(tree: &mut Node, dir: &Path) {
    if let Some(Value::Map(services)) = tree.get_mut("services").map(|s| &mut s.value) {
        for (_, svc) in services.iter_mut() {
            service(svc, dir);
        }
    }
    for section in ["secrets", "configs"] {
        if let Some(Value::Map(objects)) = tree.get_mut(section).map(|s| &mut s.value) {
            for (_, obj) in objects.iter_mut() {
                if let Some(f) = obj.get_mut("file") {
                    path(f, dir);
                }
            }
        }
    }
}

fn path(n: &mut Node, dir: &Path) {
    if let Value::Str(s) = &mut n.value {
        if let Some(abs) = paths::rebase_str(dir, s) {
            *s = abs;
        }
    }
}

fn service(svc: &mut Node, dir: &Path) {
    if let Some(b) = svc.get_mut("build") {
        build(b, dir);
    }
    if let Some(e) = svc.get_mut("env_file") {
        match &mut e.value {
            Value::Str(_) => path(e, dir),
            Value::Seq(items) => {
                for item in items {
                    match &item.value {
                        Value::Map(_) => {
                            if let Some(p) = item.get_mut("path") {
                                path(p, dir);
                            }
                        }
                        _ => path(item, dir),
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(l) = svc.get_mut("label_file") {
        match &mut l.value {
            Value::Seq(items) => items.iter_mut().for_each(|i| path(i, dir)),
            _ => path(l, dir),
        }
    }
    if let Some(Value::Seq(volumes)) = svc.get_mut("volumes").map(|v| &mut v.value) {
        for v in volumes {
            volume(v, dir);
        }
    }
}

fn build(b: &mut Node, dir: &Path) {
    if matches!(b.value, Value::Str(_)) {
        path(b, dir);
        return;
    }
    let span = b.span;
    let Value::Map(m) = &mut b.value else {
        return;
    };
    match m.iter_mut().find(|(k, _)| k.name == "context") {
        Some((_, c)) => path(c, dir),
        // The spec's default context is ".", which here means this file's directory,
        // not the project's.
        None => m.push((
            Key {
                name: "context".into(),
                span,
            },
            Node::new(Value::Str(dir.to_string_lossy().into_owned()), span),
        )),
    }
    let Some((_, extra)) = m.iter_mut().find(|(k, _)| k.name == "additional_contexts") else {
        return;
    };
    match &mut extra.value {
        Value::Map(m) => m.iter_mut().for_each(|(_, v)| path(v, dir)),
        Value::Seq(items) => {
            for item in items {
                if let Value::Str(s) = &mut item.value {
                    if let Some((name, p)) = s.split_once('=') {
                        if let Some(abs) = paths::rebase_str(dir, p) {
                            *s = format!("{name}={abs}");
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// `./src:/dst[:mode]` (a source that is not `.`-relative is a volume name or an
/// absolute path) or `{type: bind, source: ...}`.
fn volume(v: &mut Node, dir: &Path) {
    if v.get("type").and_then(Node::as_str) == Some("bind") {
        if let Some(src) = v.get_mut("source") {
            path(src, dir);
        }
        return;
    }
    if let Value::Str(s) = &mut v.value {
        if let Some((src, rest)) = s.split_once(':') {
            if src.starts_with('.') {
                if let Some(abs) = paths::rebase_str(dir, src) {
                    *s = format!("{abs}:{rest}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_become_absolute_and_others_stay() {
        let mut t = crate::yaml::parse(
            r#"
services:
  a:
    build: ./app
    env_file: [./a.env, {path: b.env, required: false}, /abs.env]
    label_file: l.txt
    volumes:
      - ./data:/data:ro
      - named:/named
      - /abs:/abs
      - {type: bind, source: ../up, target: /up}
      - {type: volume, source: vol, target: /vol}
  b:
    build: {dockerfile: Dockerfile, additional_contexts: {x: ./x, img: "docker-image://alpine"}}
  c:
    build: {context: "https://github.com/a/b.git"}
secrets:
  s: {file: ./s.txt}
configs:
  c: {external: true}
"#,
            0,
        )
        .unwrap();
        rebase(&mut t, Path::new("/proj/common"));
        let j = t.to_json();
        let a = &j["services"]["a"];
        assert_eq!(a["build"], "/proj/common/app");
        assert_eq!(a["env_file"][0], "/proj/common/a.env");
        assert_eq!(a["env_file"][1]["path"], "/proj/common/b.env");
        assert_eq!(a["env_file"][2], "/abs.env");
        assert_eq!(a["label_file"], "/proj/common/l.txt");
        assert_eq!(a["volumes"][0], "/proj/common/data:/data:ro");
        assert_eq!(a["volumes"][1], "named:/named");
        assert_eq!(a["volumes"][2], "/abs:/abs");
        assert_eq!(a["volumes"][3]["source"], "/proj/up");
        assert_eq!(a["volumes"][4]["source"], "vol");
        let b = &j["services"]["b"]["build"];
        assert_eq!(b["context"], "/proj/common");
        assert_eq!(b["additional_contexts"]["x"], "/proj/common/x");
        assert_eq!(b["additional_contexts"]["img"], "docker-image://alpine");
        assert_eq!(
            j["services"]["c"]["build"]["context"],
            "https://github.com/a/b.git"
        );
        assert_eq!(j["secrets"]["s"]["file"], "/proj/common/s.txt");
    }
}
