//! `extends` in the same file and across files, chains, cycles, and missing targets.

use serde_json::json;

use super::*;

#[test]
fn a_service_extends_one_of_its_own_file() {
    let t = Tree::new(&[(
        "compose.yaml",
        r#"
services:
  base:
    image: app
    command: [serve]
    environment: [A=1, B=2]
    ports: ["8080:80"]
  web:
    extends: base
    command: [serve, --debug]
    environment: {B: two}
    ports: ["0.0.0.0:8080:80", "9090:90"]
"#,
    )]);
    let m = merged(&t.opts(""));
    assert_eq!(
        service(&m, "web"),
        json!({
            "image": "app",
            "command": ["serve", "--debug"],
            "environment": {"A": "1", "B": "two"},
            "ports": ["0.0.0.0:8080:80", "9090:90"]
        })
    );
    // The base stays a service of its own, untouched.
    assert_eq!(service(&m, "base")["environment"], json!(["A=1", "B=2"]));
}

#[test]
fn a_service_from_another_file_has_its_paths_rebased_there() {
    let t = Tree::new(&[
        (
            "compose.yaml",
            "services:\n  web:\n    extends:\n      file: lib/common.yaml\n      service: base\n    volumes: [./mine:/mine]\n",
        ),
        (
            "lib/common.yaml",
            "services:\n  base:\n    build: ./app\n    image: ${IMG}\n    env_file: base.env\n    volumes: [./data:/data, named:/named]\n",
        ),
        (".env", "IMG=from-dotenv\n"),
    ]);
    let m = merged(&t.opts(""));
    let lib = t.root().join("lib");
    let lib = lib.display();
    assert_eq!(
        service(&m, "web"),
        json!({
            "build": format!("{lib}/app"),
            "image": "from-dotenv",
            "env_file": format!("{lib}/base.env"),
            "volumes": [format!("{lib}/data:/data"), "named:/named", "./mine:/mine"]
        })
    );
    // Only the extended service comes in, not the rest of the other file.
    assert!(m.tree.to_json()["services"].get("base").is_none());
}

#[test]
fn nodes_from_the_other_file_keep_its_location() {
    let t = Tree::new(&[
        (
            "compose.yaml",
            "services:\n  web:\n    extends: {file: common.yaml, service: base}\n",
        ),
        (
            "common.yaml",
            "services:\n  base:\n    image: ${UNSET_IN_COMMON}\n",
        ),
    ]);
    let m = merged(&t.opts(""));
    assert_eq!(
        m.warnings,
        vec!["common.yaml:3:12: The \"UNSET_IN_COMMON\" variable is not set. Defaulting to a blank string."]
    );
    let image = m
        .tree
        .get("services")
        .unwrap()
        .get("web")
        .unwrap()
        .get("image")
        .unwrap();
    assert_eq!(m.locate(image.span), "common.yaml:3:12");
}

#[test]
fn chains_resolve_from_the_bottom_across_files() {
    let t = Tree::new(&[
        (
            "compose.yaml",
            "services:\n  web:\n    extends: {file: a/mid.yaml, service: mid}\n    labels: {layer: web}\n",
        ),
        (
            "a/mid.yaml",
            "services:\n  mid:\n    extends: {file: ../b/bottom.yaml, service: bottom}\n    labels: [layer=mid, mid=yes]\n  unrelated:\n    image: x\n",
        ),
        (
            "b/bottom.yaml",
            "services:\n  bottom:\n    extends: root\n    labels: {bottom: yes}\n  root:\n    image: root-image\n    volumes: [./b-data:/data]\n",
        ),
    ]);
    let m = merged(&t.opts(""));
    let b = t.root().join("b");
    assert_eq!(
        service(&m, "web"),
        json!({
            "image": "root-image",
            "volumes": [format!("{}/b-data:/data", b.display())],
            "labels": {"bottom": "yes", "layer": "web", "mid": "yes"}
        })
    );
}

#[test]
fn a_cycle_is_an_error_naming_the_chain() {
    let t = Tree::new(&[
        (
            "compose.yaml",
            "services:\n  a:\n    extends: b\n  b:\n    extends: {file: other.yaml, service: c}\n",
        ),
        (
            "other.yaml",
            "services:\n  c:\n    extends: {file: compose.yaml, service: a}\n",
        ),
    ]);
    let e = failure(&t.opts(""));
    assert!(e.contains("extends goes round in a circle"), "{e}");
    assert!(
        // compose.yaml named from other.yaml is read again, and the loop closes at c.
        e.starts_with("other.yaml:3:14: services.c.extends: extends goes round in a circle: c (other.yaml) extends a (compose.yaml) extends b (compose.yaml) extends c (other.yaml)"),
        "{e}"
    );

    let t = Tree::new(&[(
        "compose.yaml",
        "services:\n  a:\n    image: x\n    extends: a\n",
    )]);
    let e = failure(&t.opts(""));
    assert!(e.starts_with("compose.yaml:4:14: services.a.extends: extends goes round in a circle: a (compose.yaml) extends a (compose.yaml)"), "{e}");
}

#[test]
fn a_missing_service_or_file_is_an_error_at_the_extends() {
    let t = Tree::new(&[
        ("compose.yaml", "services:\n  web:\n    extends: nothere\n"),
        (
            "two.yaml",
            "services:\n  web:\n    extends:\n      service: base\n      file: common.yaml\n",
        ),
        (
            "three.yaml",
            "services:\n  web:\n    extends:\n      service: base\n      file: nofile.yaml\n",
        ),
        (
            "four.yaml",
            "services:\n  web:\n    extends: {file: common.yaml}\n",
        ),
        ("common.yaml", "services:\n  other:\n    image: x\n"),
    ]);
    let e = failure(&t.opts(""));
    assert_eq!(
        e,
        "compose.yaml:3:14: services.web.extends: service \"nothere\" is not defined in compose.yaml"
    );

    let mut o = t.opts("");
    o.files = vec!["two.yaml".into()];
    assert_eq!(
        failure(&o),
        "two.yaml:4:7: services.web.extends: service \"base\" is not defined in common.yaml"
    );

    o.files = vec!["three.yaml".into()];
    let e = failure(&o);
    assert!(
        e.starts_with("three.yaml:5:13: extends: cannot read nofile.yaml: "),
        "{e}"
    );

    o.files = vec!["four.yaml".into()];
    let e = failure(&o);
    assert!(
        e.starts_with("four.yaml:3:14: services.web.extends: `service` is required"),
        "{e}"
    );
}

#[test]
fn extends_is_resolved_in_each_file_before_the_files_merge() {
    // The override changes the extending service after extends brought the base in.
    let t = Tree::new(&[
        (
            "compose.yaml",
            "services:\n  base:\n    image: b\n    user: base\n  web:\n    extends: base\n",
        ),
        (
            "compose.override.yaml",
            "services:\n  web:\n    user: override\n",
        ),
    ]);
    let m = merged(&t.opts(""));
    assert_eq!(
        service(&m, "web"),
        json!({"image": "b", "user": "override"})
    );
}
