//! The shared compose scenarios (shared/fixtures/compose/*), read, interpolated and
//! parsed as the loader would, with their key values checked.

use std::path::{Path, PathBuf};

use super::*;
use crate::interpolate::interpolate_tree;
use crate::model::{Condition, Nanos, VolumeKind};
use crate::value::{Key, Node, Span, Value};

/// shared/ sits beside the repository (CI) or at /work/shared (developers).
fn fixtures_dir() -> PathBuf {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/compose");
    for dir in [beside, PathBuf::from("/work/shared/fixtures/compose")] {
        if let Ok(dir) = dir.canonicalize() {
            if dir.join("handshake/compose.yaml").is_file() {
                return dir;
            }
        }
    }
    panic!("shared/fixtures/compose not found beside the repository nor at /work/shared");
}

fn load_tree(stack: &str, file: &str, vars: &HashMap<String, String>) -> (Node, PathBuf) {
    let dir = fixtures_dir().join(stack);
    let text = match std::fs::read_to_string(dir.join(file)) {
        Ok(t) => t,
        Err(e) => panic!("{stack}/{file}: {e}"),
    };
    let mut root = match yaml::parse(&text, 0) {
        Ok(r) => r,
        Err(e) => panic!("{stack}/{file}: {e}"),
    };
    if let Err(e) = interpolate_tree(&mut root, vars) {
        panic!("{stack}/{file}: {e}");
    }
    (root, dir)
}

fn parse_tree(
    root: &Node,
    dir: &Path,
    vars: &HashMap<String, String>,
) -> Result<(Project, Vec<Diagnostic>), Diagnostic> {
    let ctx = Context {
        project_name: "fx",
        working_dir: dir.to_path_buf(),
        env: vars,
    };
    project(root, &ctx)
}

fn fixture(stack: &str) -> Project {
    let vars = env();
    let (root, dir) = load_tree(stack, "compose.yaml", &vars);
    match parse_tree(&root, &dir, &vars) {
        Ok((p, w)) => {
            assert!(w.is_empty(), "{stack}: unexpected warnings {w:?}");
            p
        }
        Err(e) => panic!("{stack}:{}: {}", e.span.line, e.message),
    }
}

#[test]
fn handshake() {
    let p = fixture("handshake");
    assert_eq!(p.services.len(), 2);
    let node = &p.services["browser-node"];
    assert_eq!(
        node.image.as_deref(),
        Some("localhost/fixtures/busybox:latest")
    );
    let cmd = node.command.as_ref().unwrap();
    assert_eq!(cmd[..2], strings(&["sh", "-c"]));
    assert!(cmd[2].contains("exec httpd -f -p 9223 -h /www"));
    assert_eq!(node.volumes[0].kind, VolumeKind::Volume);
    assert_eq!(node.volumes[0].source.as_deref(), Some("ab-data"));
    assert_eq!(node.volumes[0].target, "/data");
    let h = node.healthcheck.as_ref().unwrap();
    assert_eq!(h.test, strings(&["CMD", "test", "-s", "/data/endpoint"]));
    assert_eq!(
        (h.interval, h.timeout, h.retries),
        (
            Some(Nanos(1_000_000_000)),
            Some(Nanos(2_000_000_000)),
            Some(30)
        )
    );

    let ctl = &p.services["controller"];
    assert_eq!(
        ctl.depends_on["browser-node"].condition,
        Condition::ServiceHealthy
    );
    assert_eq!(ctl.environment["ALLOWED_HOSTS"].as_deref(), Some("*"));
    assert_eq!(ctl.ports.len(), 1);
    let port = &ctl.ports[0];
    assert_eq!(
        (
            port.target,
            port.published.as_deref(),
            port.host_ip.as_deref(),
            port.protocol.as_str()
        ),
        (8000, Some("18000"), Some("127.0.0.1"), "tcp")
    );
    // `$$` became `$` in interpolation and the parser keeps it.
    assert!(ctl.command.as_ref().unwrap()[2].contains("endpoint=$(cat /data/endpoint)"));

    assert_eq!(p.volumes["ab-data"].name, "fx_ab-data");
    assert_eq!(p.networks["default"].name, "fx_default");
    assert!(ctl.networks.contains_key("default"));
}

#[test]
fn bottle() {
    let p = fixture("bottle");
    assert!(p.networks["bottle"].internal);
    assert!(!p.networks["egress"].internal);
    assert_eq!(p.networks["bottle"].name, "fx_bottle");
    assert!(
        !p.networks.contains_key("default"),
        "every service names its networks"
    );
    let side = &p.services["sidecar"];
    assert_eq!(
        side.networks.keys().collect::<Vec<_>>(),
        ["bottle", "egress"]
    );
    let port = &side.ports[0];
    assert_eq!(
        (
            port.target,
            port.published.as_deref(),
            port.host_ip.as_deref()
        ),
        (8080, None, Some("127.0.0.16"))
    );
    assert_eq!(
        p.services["agent"].networks.keys().collect::<Vec<_>>(),
        ["bottle"]
    );
    assert_eq!(
        p.services["upstream"].networks.keys().collect::<Vec<_>>(),
        ["egress"]
    );
    assert_eq!(
        p.services["agent"].command,
        Some(strings(&["sleep", "3600"]))
    );
}

#[test]
fn lifecycle() {
    let p = fixture("lifecycle");
    let db = p.services["db"].healthcheck.as_ref().unwrap();
    assert_eq!(db.test, strings(&["CMD-SHELL", "test -f /tmp/ready"]));
    assert_eq!(db.interval, Some(Nanos(500_000_000)));
    assert_eq!(p.services["flaky"].restart.as_deref(), Some("on-failure"));
    let app = &p.services["app"];
    assert_eq!(app.depends_on["db"].condition, Condition::ServiceHealthy);
    assert_eq!(
        app.depends_on["migrate"].condition,
        Condition::ServiceCompletedSuccessfully
    );
    for s in ["migrate", "flaky", "app"] {
        let v = &p.services[s].volumes[0];
        assert_eq!(
            (v.kind, v.source.as_deref(), v.target.as_str()),
            (VolumeKind::Volume, Some("state"), "/state")
        );
    }
    assert_eq!(p.volumes["state"].name, "fx_state");
    assert!(p.services["flaky"].command.as_ref().unwrap()[2].contains("n=$(cat /state/flaky"));
}

#[test]
fn hardened() {
    let p = fixture("hardened");
    let s = &p.services["locked"];
    assert_eq!(s.user.as_deref(), Some("1000:1000"));
    assert!(s.read_only);
    assert_eq!(s.tmpfs, strings(&["/tmp"]));
    assert_eq!(s.cap_drop, strings(&["ALL"]));
    assert_eq!(s.security_opt, strings(&["no-new-privileges:true"]));
    assert_eq!(s.mem_limit, Some(67_108_864));
    assert_eq!(s.pids_limit, Some(40));
}

#[test]
fn overrides_fragments() {
    let vars = env();
    let (root, dir) = load_tree("overrides", "common.yaml", &vars);
    let p = match parse_tree(&root, &dir, &vars) {
        Ok((p, _)) => p,
        Err(e) => panic!("common.yaml: {e}"),
    };
    let base = &p.services["base"];
    assert_eq!(base.environment["FROM_COMMON"].as_deref(), Some("yes"));
    assert_eq!(base.labels["tier"], "frontend");

    // prod.yaml only makes sense merged on top of compose.yaml: alone it has no image.
    let (root, dir) = load_tree("overrides", "prod.yaml", &vars);
    let e = match parse_tree(&root, &dir, &vars) {
        Ok(_) => panic!("prod.yaml alone should not be a project"),
        Err(e) => e,
    };
    assert!(
        e.message.contains("neither `image` nor `build` is set"),
        "{}",
        e.message
    );
    assert_eq!(e.span.line, 3);
}

#[test]
fn overrides_base_file_once_extends_is_resolved() {
    let mut vars = env();
    vars.insert("GREETING".into(), "hello".into());
    let (mut root, dir) = load_tree("overrides", "compose.yaml", &vars);
    // What the loader does for `extends: {file: common.yaml, service: base}` here,
    // reduced to the one key the base file lacks.
    let Some(Value::Map(web)) = root
        .get_mut("services")
        .and_then(|s| s.get_mut("web"))
        .map(|w| &mut w.value)
    else {
        panic!("no services.web");
    };
    web.retain(|(k, _)| k.name != "extends");
    let span = Span::default();
    web.push((
        Key {
            name: "image".into(),
            span,
        },
        Node::new(Value::Str("localhost/fixtures/busybox:latest".into()), span),
    ));
    let p = match parse_tree(&root, &dir, &vars) {
        Ok((p, _)) => p,
        Err(e) => panic!("compose.yaml:{}: {e}", e.span.line),
    };
    let web = &p.services["web"];
    assert_eq!(web.environment["MODE"].as_deref(), Some("base"));
    assert_eq!(web.environment["GREETING"].as_deref(), Some("hello"));
    assert_eq!(web.environment["FALLBACK"].as_deref(), Some("fallback"));
    assert_eq!(web.ports[0].published.as_deref(), Some("18101"));
    let v = &web.volumes[0];
    assert_eq!(v.kind, VolumeKind::Bind);
    assert_eq!(
        v.source.as_deref(),
        Some(dir.join("site").to_str().unwrap())
    );
    assert!(v.read_only);
}
