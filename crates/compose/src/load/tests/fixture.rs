//! The shared `overrides` fixture (compose.yaml + compose.override.yaml as discovery
//! finds them, and -f compose.yaml -f prod.yaml), the same stack its check.sh runs
//! under Docker Compose, plus whole loads through the model parser.

use std::path::PathBuf;

use serde_json::json;

use super::*;

fn fixture() -> PathBuf {
    PathBuf::from("/work/shared/fixtures/compose/overrides")
}

fn opts() -> LoadOptions {
    LoadOptions {
        cwd: fixture(),
        ..LoadOptions::default()
    }
}

fn prod() -> LoadOptions {
    LoadOptions {
        files: vec!["compose.yaml".into(), "prod.yaml".into()],
        ..opts()
    }
}

#[test]
fn discovery_merges_the_override_and_extends_common() {
    let m = merged(&opts());
    assert_eq!(
        m.files,
        vec![
            fixture().join("compose.yaml"),
            fixture().join("compose.override.yaml")
        ]
    );
    assert_eq!(m.project_name, "overrides");
    assert_eq!(
        service(&m, "web"),
        json!({
            "image": "localhost/fixtures/busybox:latest",
            "environment": {
                "FROM_COMMON": "yes",
                "MODE": "override",
                "KEEP": "kept",
                "GREETING": "hello-from-dotenv",
                "FALLBACK": "fallback"
            },
            "labels": {"tier": "frontend"},
            "command": ["sh", "-c", "exec httpd -f -p 80 -h /www"],
            "ports": ["127.0.0.1:18101:80", "127.0.0.1:18102:80"],
            "volumes": ["./site:/www:ro"]
        })
    );
    assert_eq!(m.tree.to_json()["services"].as_object().unwrap().len(), 1);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}

#[test]
fn f_prod_replaces_the_volume_and_skips_the_override() {
    let m = merged(&prod());
    assert_eq!(
        m.files,
        vec![fixture().join("compose.yaml"), fixture().join("prod.yaml")]
    );
    let web = service(&m, "web");
    assert_eq!(web["environment"]["MODE"], "prod");
    assert_eq!(web["environment"]["KEEP"], "kept");
    assert_eq!(web["environment"]["FROM_COMMON"], "yes");
    assert_eq!(web["environment"]["GREETING"], "hello-from-dotenv");
    assert_eq!(web["environment"]["FALLBACK"], "fallback");
    assert_eq!(web["ports"], json!(["127.0.0.1:18101:80"]));
    assert_eq!(web["volumes"], json!(["./site-prod:/www:ro"]));
    assert_eq!(web["labels"], json!({"tier": "frontend"}));
    // The volume now points at prod.yaml, where it was written.
    let vol = &m
        .tree
        .get("services")
        .unwrap()
        .get("web")
        .unwrap()
        .get("volumes")
        .unwrap()
        .as_seq()
        .unwrap()[0];
    assert_eq!(m.locate(vol.span), "prod.yaml:6:9");
}

#[test]
fn the_process_environment_wins_over_the_fixture_dot_env() {
    let mut o = opts();
    o.environment = env(&[("GREETING", "from-process")]);
    assert_eq!(
        service(&merged(&o), "web")["environment"]["GREETING"],
        "from-process"
    );
}

#[test]
fn the_fixture_loads_into_the_model() {
    let loaded = load_from(&opts(), &mut std::io::empty()).unwrap();
    assert_eq!(loaded.project.name, "overrides");
    assert_eq!(loaded.project.working_dir, fixture());
    let web = &loaded.project.services["web"];
    let env = |k: &str| web.environment.get(k).cloned().flatten();
    assert_eq!(env("MODE").as_deref(), Some("override"));
    assert_eq!(env("KEEP").as_deref(), Some("kept"));
    assert_eq!(env("FROM_COMMON").as_deref(), Some("yes"));
    assert_eq!(env("GREETING").as_deref(), Some("hello-from-dotenv"));
    assert_eq!(env("FALLBACK").as_deref(), Some("fallback"));
    assert_eq!(web.labels.get("tier").map(String::as_str), Some("frontend"));
    let published: Vec<Option<&str>> = web.ports.iter().map(|p| p.published.as_deref()).collect();
    assert_eq!(published, vec![Some("18101"), Some("18102")]);
    assert_eq!(web.volumes.len(), 1);
    assert_eq!(web.volumes[0].target, "/www");
    assert_eq!(
        web.volumes[0].source.as_deref(),
        Some(fixture().join("site").to_str().unwrap())
    );

    let loaded = load_from(&prod(), &mut std::io::empty()).unwrap();
    let web = &loaded.project.services["web"];
    assert_eq!(
        web.environment.get("MODE").cloned().flatten().as_deref(),
        Some("prod")
    );
    assert_eq!(web.ports.len(), 1);
    assert_eq!(
        web.volumes[0].source.as_deref(),
        Some(fixture().join("site-prod").to_str().unwrap())
    );
}

#[test]
fn profiles_leave_inactive_services_out_of_a_load() {
    let t = Tree::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: a\n    depends_on:\n      dbg: {condition: service_started, required: false}\n  dbg:\n    image: b\n    profiles: [debug]\n  db:\n    image: c\n    profiles: [data]\n",
    )]);
    let mut o = t.opts("");
    let loaded = load_from(&o, &mut std::io::empty()).unwrap();
    assert_eq!(loaded.disabled, vec!["db", "dbg"]);
    assert_eq!(
        loaded.project.services.keys().collect::<Vec<_>>(),
        vec!["web"]
    );
    assert!(loaded.project.services["web"].depends_on.is_empty());

    o.profiles = vec!["debug".into()];
    let loaded = load_from(&o, &mut std::io::empty()).unwrap();
    assert_eq!(loaded.disabled, vec!["db"]);

    o.profiles = vec![];
    o.environment = env(&[("COMPOSE_PROFILES", "*")]);
    assert!(load_from(&o, &mut std::io::empty())
        .unwrap()
        .disabled
        .is_empty());

    t.write(
        "compose.yaml",
        "services:\n  web:\n    image: a\n    depends_on: [db]\n  db:\n    image: c\n    profiles: [data]\n",
    );
    let e = load_from(&t.opts(""), &mut std::io::empty()).unwrap_err().0;
    assert!(
        e.starts_with(
            "compose.yaml:4:18: service \"web\" depends on service \"db\", which is disabled"
        ),
        "{e}"
    );
}
