//! Every warning: nothing berth ignores is ignored silently.

use super::*;

#[test]
fn unsupported_service_keys_warn_once_each() {
    let (p, w) = ok(&web(
        "ipc: host\npid: host\nlinks: [db]\nvolumes_from: [x]\ncgroup_parent: /x\ngpus: all",
    ));
    assert!(p.services.contains_key("web"));
    for key in [
        "ipc",
        "pid",
        "links",
        "volumes_from",
        "cgroup_parent",
        "gpus",
    ] {
        let msg =
            format!("service \"web\": key \"{key}\" is not supported by berth yet and is ignored");
        assert_eq!(w.iter().filter(|m| **m == msg).count(), 1, "{key}: {w:?}");
    }
    assert_eq!(w.len(), 6, "{w:?}");
    assert_warns(
        &web("oom_score_adj: 500"),
        4,
        "key \"oom_score_adj\" is not supported",
    );
    assert_warns(
        &web("develop:\n  watch: []"),
        4,
        "key \"develop\" is not supported",
    );
    assert_warns(
        &web("blkio_config:\n  weight: 300"),
        4,
        "key \"blkio_config\"",
    );
    assert_warns(
        &web("post_start:\n  - command: [x]"),
        4,
        "key \"post_start\"",
    );
}

#[test]
fn unsupported_nested_keys_warn_with_their_path() {
    assert_warns(
        &web("build:\n  context: .\n  cache_from: [x]"),
        6,
        "service \"web\": key \"build.cache_from\" is not supported by berth yet and is ignored",
    );
    assert_warns(
        "services:\n  web:\n    image: i\n    networks:\n      n:\n        mac_address: 02:42:ac:11:65:43\nnetworks:\n  n:\n",
        6,
        "service \"web\": key \"networks.n.mac_address\" is not supported",
    );
    assert_warns(
        &web("volumes:\n  - type: bind\n    source: .\n    target: /x\n    bind:\n      recursive: readonly"),
        9,
        "key \"volumes[0].bind.recursive\"",
    );
    assert_warns(
        &web("env_file:\n  - path: a.env\n    format: raw"),
        6,
        "env_file[0].format",
    );
}

#[test]
fn deploy_keys_other_than_resources_replicas_restart_warn() {
    let body = concat!(
        "deploy:\n",
        "  mode: global\n",
        "  placement:\n    constraints: [node.role==manager]\n",
        "  update_config:\n    parallelism: 2\n",
        "  labels: {a: b}\n",
        "  resources:\n    reservations:\n      cpus: '0.25'\n",
        "  restart_policy:\n    delay: 5s\n",
    );
    let (_, w) = ok(&web(body));
    for key in [
        "deploy.mode",
        "deploy.placement",
        "deploy.update_config",
        "deploy.labels",
        "deploy.resources.reservations.cpus",
        "deploy.restart_policy.delay",
    ] {
        assert!(
            w.iter()
                .any(|m| m.contains(&format!("service \"web\": key \"{key}\""))),
            "{key}: {w:?}"
        );
    }
    let (_, w) = ok(&web("deploy:\n  mode: replicated\n  replicas: 1"));
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn top_level_version_and_include_warn() {
    assert_warns(
        "version: \"3.8\"\nservices:\n  web:\n    image: i\n",
        1,
        "the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion",
    );
    assert_warns(
        "include:\n  - other.yaml\nservices:\n  web:\n    image: i\n",
        2,
        "`include` is not supported by berth yet and is ignored",
    );
}

#[test]
fn logging_drivers_berth_lacks_warn() {
    assert_warns(
        &web("logging:\n  driver: syslog"),
        5,
        "service \"web\": logging driver \"syslog\" is not supported by berth",
    );
    for d in ["json-file", "local", "none"] {
        let (_, w) = ok(&web(&format!("logging:\n  driver: {d}")));
        assert!(w.is_empty(), "{d}: {w:?}");
    }
}

#[test]
fn network_settings_berth_lacks_warn() {
    let with = |tail: &str| format!("services:\n  web:\n    image: i\nnetworks:\n  n:\n{tail}");
    assert_warns(
        &with("    enable_ipv6: true\n"),
        6,
        "network \"n\": enable_ipv6 is not supported by berth yet",
    );
    assert_warns(
        &with("    ipam:\n      driver: custom\n"),
        7,
        "network \"n\": key \"ipam.driver\"",
    );
    let (_, w) = ok(&with(
        "    enable_ipv6: false\n    ipam:\n      driver: default\n",
    ));
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn external_secrets_are_ignored_with_warnings() {
    let (p, w) = ok(concat!(
        "services:\n  web:\n    image: i\n    secrets: [ext, local]\n",
        "secrets:\n  ext:\n    external: true\n  local:\n    file: ./l\n    labels: {a: b}\n",
    ));
    assert!(
        w.iter()
            .any(|m| m.contains("secret \"ext\": external secrets are not supported")),
        "{w:?}"
    );
    assert!(
        w.iter().any(|m| m
            .contains("external secret \"ext\" is not supported by berth yet; it is not mounted")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|m| m.contains("secret \"local\": key \"labels\" is not supported")),
        "{w:?}"
    );
    assert!(!p.secrets.contains_key("ext"));
    let refs: Vec<_> = p.services["web"]
        .secrets
        .iter()
        .map(|r| r.source.as_str())
        .collect();
    assert_eq!(refs, ["local"]);
}

#[test]
fn optional_missing_dependencies_and_odd_options_warn() {
    let (p, w) = ok(&web(
        "depends_on:\n  gone:\n    condition: service_started\n    required: false",
    ));
    assert!(p.services["web"].depends_on.is_empty());
    assert!(
        w.iter()
            .any(|m| m.contains("optional dependency \"gone\" is not defined and is ignored")),
        "{w:?}"
    );
    assert_warns(
        &web("volumes:\n  - ./a:/a:cached"),
        5,
        "the \"cached\" option only matters on macOS",
    );
    assert_warns(
        &web("pull_policy: daily"),
        4,
        "pull_policy \"daily\" is not supported by berth yet",
    );
}

#[test]
fn a_plain_file_has_no_warnings() {
    let (_, w) = ok(&web("ports: [\"8080:80\"]\nenvironment: {A: b}"));
    assert!(w.is_empty(), "{w:?}");
}
