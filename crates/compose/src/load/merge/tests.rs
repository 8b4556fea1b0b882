//! The merge rules, one test each, on trees parsed from YAML text (file `i` of a test
//! gets span file index `i`, so spans show which file a merged node came from).

use serde_json::json;

use super::*;

fn parse(text: &str, file: u32) -> Node {
    crate::yaml::parse(text, file).unwrap()
}

fn try_merged(files: &[&str]) -> Result<Node, MergeError> {
    let mut base = Node::new(Value::Map(Vec::new()), Span::default());
    for (i, f) in files.iter().enumerate() {
        merge(&mut base, parse(f, i as u32))?;
    }
    unique::enforce(&mut base);
    Ok(base)
}

fn merged(files: &[&str]) -> Node {
    try_merged(files).unwrap()
}

fn web(files: &[&str]) -> serde_json::Value {
    merged(files).to_json()["services"]["web"].clone()
}

fn at<'a>(n: &'a Node, path: &[&str]) -> &'a Node {
    path.iter().fold(n, |n, k| {
        n.get(k).unwrap_or_else(|| panic!("no {k} in {n:?}"))
    })
}

#[test]
fn mappings_merge_key_by_key_and_a_later_scalar_wins() {
    let w = web(&[
        "services:\n  web:\n    image: a\n    user: root\n",
        "services:\n  web:\n    image: b\n    restart: always\n  db:\n    image: pg\n",
    ]);
    assert_eq!(
        w,
        json!({"image": "b", "user": "root", "restart": "always"})
    );
}

#[test]
fn sequences_are_appended() {
    let w = web(&[
        "services:\n  web:\n    security_opt: [a]\n    dns: 1.1.1.1\n",
        "services:\n  web:\n    security_opt: [b]\n    dns: [8.8.8.8]\n",
    ]);
    assert_eq!(w["security_opt"], json!(["a", "b"]));
    assert_eq!(w["dns"], json!(["1.1.1.1", "8.8.8.8"]));
}

#[test]
fn command_entrypoint_and_healthcheck_test_are_replaced() {
    let w = web(&[
        "services:\n  web:\n    command: [sh, -c, a]\n    entrypoint: [x]\n    healthcheck: {test: [CMD, a], retries: 3}\n",
        "services:\n  web:\n    command: echo b\n    entrypoint: [y, z]\n    healthcheck: {test: [CMD-SHELL, b]}\n",
    ]);
    assert_eq!(w["command"], json!("echo b"));
    assert_eq!(w["entrypoint"], json!(["y", "z"]));
    assert_eq!(
        w["healthcheck"],
        json!({"test": ["CMD-SHELL", "b"], "retries": 3})
    );
}

#[test]
fn environment_as_list_and_map_merges_by_name() {
    let files = [
        "services:\n  web:\n    environment:\n      - A=1\n      - B=2\n      - PASS\n",
        "services:\n  web:\n    environment:\n      B: three\n      C: 4\n",
    ];
    let w = web(&files);
    assert_eq!(
        w["environment"],
        json!({"A": "1", "B": "three", "PASS": null, "C": 4})
    );

    // Each entry still points at the file and line it was written on.
    let t = merged(&files);
    let env = at(&t, &["services", "web", "environment"]);
    let spans: Vec<(String, u32, u32, u32)> = env
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.name.clone(), k.span.file, v.span.file, v.span.line))
        .collect();
    assert_eq!(
        spans,
        vec![
            ("A".into(), 0, 0, 4),
            ("B".into(), 0, 1, 4),
            ("PASS".into(), 0, 0, 6),
            ("C".into(), 1, 1, 5)
        ]
    );
}

#[test]
fn a_map_then_a_list_merges_too() {
    let w = web(&[
        "services:\n  web:\n    labels: {a: x, b: y}\n    sysctls: {net.core.somaxconn: 1024}\n    extra_hosts: {db: 10.0.0.1}\n    build:\n      context: .\n      args: {V: 1}\n",
        "services:\n  web:\n    labels: [b=z]\n    sysctls: [net.ipv4.ip_forward=1]\n    extra_hosts: [\"db:10.0.0.2\", \"v6=::1\"]\n    build:\n      args: [W=2]\n",
    ]);
    assert_eq!(w["labels"], json!({"a": "x", "b": "z"}));
    assert_eq!(
        w["sysctls"],
        json!({"net.core.somaxconn": 1024, "net.ipv4.ip_forward": "1"})
    );
    assert_eq!(w["extra_hosts"], json!({"db": "10.0.0.2", "v6": "::1"}));
    assert_eq!(
        w["build"],
        json!({"context": ".", "args": {"V": 1, "W": "2"}})
    );
}

#[test]
fn a_build_string_merges_with_a_build_mapping() {
    let w = web(&[
        "services:\n  web:\n    build: ./app\n",
        "services:\n  web:\n    build: {dockerfile: Dev.Dockerfile}\n",
    ]);
    assert_eq!(
        w["build"],
        json!({"context": "./app", "dockerfile": "Dev.Dockerfile"})
    );
}

#[test]
fn ports_are_merged_by_identity() {
    let w = web(&[
        "services:\n  web:\n    ports: [\"8080:80\", \"127.0.0.1:9000:90\", \"53:53/udp\"]\n",
        "services:\n  web:\n    ports:\n      - 0.0.0.0:8080:80/tcp\n      - \"53:53\"\n      - {target: 90, published: 9000, host_ip: 127.0.0.1}\n      - 8443:443\n",
    ]);
    assert_eq!(
        w["ports"],
        json!([
            "0.0.0.0:8080:80/tcp",
            {"target": 90, "published": 9000, "host_ip": "127.0.0.1"},
            "53:53/udp",
            "53:53",
            "8443:443"
        ])
    );
}

#[test]
fn volumes_with_the_same_target_are_replaced() {
    let files = [
        "services:\n  web:\n    volumes: [\"./site:/www:ro\", \"data:/data\", /cache]\n",
        "services:\n  web:\n    volumes:\n      - ./site-prod:/www:ro\n      - {type: volume, source: other, target: /data}\n      - ./logs:/logs\n",
    ];
    let w = web(&files);
    assert_eq!(
        w["volumes"],
        json!([
            "./site-prod:/www:ro",
            {"type": "volume", "source": "other", "target": "/data"},
            "/cache",
            "./logs:/logs"
        ])
    );
    let t = merged(&files);
    let vols = at(&t, &["services", "web", "volumes"]).as_seq().unwrap();
    assert_eq!(
        vols.iter()
            .map(|v| (v.span.file, v.span.line))
            .collect::<Vec<_>>(),
        vec![(1, 4), (1, 5), (0, 3), (1, 6)]
    );
}

#[test]
fn secrets_and_configs_are_merged_by_target() {
    let w = web(&[
        "services:\n  web:\n    secrets: [pw, {source: key, target: /etc/key}]\n    configs: [conf]\n",
        "services:\n  web:\n    secrets: [{source: pw, mode: 0400}, {source: other, target: /etc/key}]\n    configs: [{source: conf, target: /conf}, {source: conf, target: /etc/conf}]\n",
    ]);
    assert_eq!(
        w["secrets"],
        json!([{"source": "pw", "mode": 256}, {"source": "other", "target": "/etc/key"}])
    );
    assert_eq!(
        w["configs"],
        json!([{"source": "conf", "target": "/conf"}, {"source": "conf", "target": "/etc/conf"}])
    );
}

#[test]
fn plain_lists_get_no_duplicates() {
    let w = web(&[
        "services:\n  web:\n    cap_add: [NET_ADMIN]\n    dns: [1.1.1.1]\n    tmpfs: /tmp\n    expose: [80, \"443\"]\n    devices: [\"/dev/fuse:/dev/fuse\"]\n",
        "services:\n  web:\n    cap_add: [NET_ADMIN, SYS_TIME]\n    dns: [1.1.1.1, 8.8.8.8]\n    tmpfs: [/tmp, /run]\n    expose: [\"80\", 8080]\n    devices: [\"/dev/fuse2:/dev/fuse\", /dev/kvm]\n",
    ]);
    assert_eq!(w["cap_add"], json!(["NET_ADMIN", "SYS_TIME"]));
    assert_eq!(w["dns"], json!(["1.1.1.1", "8.8.8.8"]));
    assert_eq!(w["tmpfs"], json!(["/tmp", "/run"]));
    assert_eq!(w["expose"], json!(["80", "443", 8080]));
    assert_eq!(w["devices"], json!(["/dev/fuse2:/dev/fuse", "/dev/kvm"]));
}

#[test]
fn depends_on_and_networks_merge_as_mappings() {
    let w = web(&[
        "services:\n  web:\n    depends_on: [db, cache]\n    networks: [front, back]\n",
        "services:\n  web:\n    depends_on:\n      db: {condition: service_healthy}\n      queue: {condition: service_started, required: false}\n    networks:\n      back: {aliases: [api]}\n      admin: null\n",
    ]);
    assert_eq!(
        w["depends_on"],
        json!({
            "db": {"condition": "service_healthy", "required": true},
            "cache": {"condition": "service_started", "required": true},
            "queue": {"condition": "service_started", "required": false}
        })
    );
    assert_eq!(
        w["networks"],
        json!({"front": null, "back": {"aliases": ["api"]}, "admin": null})
    );
}

#[test]
fn reset_removes_an_inherited_value() {
    let w = web(&[
        "services:\n  web:\n    image: a\n    ports: [\"80:80\"]\n    environment: {A: 1}\n    user: root\n",
        "services:\n  web:\n    ports: !reset []\n    environment: !reset {}\n    user: !reset null\n    init: !reset true\n",
    ]);
    assert_eq!(w, json!({"image": "a"}));
}

#[test]
fn override_replaces_without_merging() {
    let w = web(&[
        "services:\n  web:\n    ports: [\"80:80\"]\n    environment: {A: 1, B: 2}\n    healthcheck: {test: [CMD, a], retries: 3}\n",
        "services:\n  web:\n    ports: !override [\"81:81\"]\n    environment: !override {C: 3}\n    healthcheck: !override {test: [CMD, b]}\n",
    ]);
    assert_eq!(w["ports"], json!(["81:81"]));
    assert_eq!(w["environment"], json!({"C": 3}));
    assert_eq!(w["healthcheck"], json!({"test": ["CMD", "b"]}));
}

#[test]
fn a_whole_service_can_be_reset_and_tags_do_not_survive() {
    let t = merged(&[
        "services:\n  web:\n    image: a\n  db:\n    image: pg\n",
        "services:\n  db: !reset\n  web: !override\n    image: b\n    ports: !override [\"1:1\"]\n    dns: [!reset x, y]\n",
    ]);
    assert_eq!(
        t.to_json()["services"],
        json!({"web": {"image": "b", "ports": ["1:1"], "dns": ["y"]}})
    );
    let web = at(&t, &["services", "web"]);
    assert_eq!(web.tag, None);
    assert_eq!(at(web, &["ports"]).tag, None);
}

#[test]
fn merged_nodes_keep_the_span_of_the_file_they_came_from() {
    let t = merged(&[
        "services:\n  web:\n    image: a\n    user: root\n    ports: [\"80:80\"]\n",
        "\n\nservices:\n  web:\n    image: b\n    ports: [\"81:81\"]\n",
    ]);
    let web = at(&t, &["services", "web"]);
    let span = |k: &str| {
        let s = at(web, &[k]).span;
        (s.file, s.line, s.col)
    };
    assert_eq!(span("image"), (1, 5, 12));
    assert_eq!(span("user"), (0, 4, 11));
    let ports = at(web, &["ports"]).as_seq().unwrap();
    assert_eq!(
        (ports[0].span.file, ports[1].span.file, ports[1].span.line),
        (0, 1, 6)
    );
}

#[test]
fn extension_fields_are_replaced_not_merged() {
    let t = merged(&[
        "x-common: {a: 1, b: 2}\nservices:\n  web:\n    x-meta: {k: v}\n",
        "x-common: {c: 3}\nservices:\n  web:\n    x-meta: {j: w}\n",
    ]);
    assert_eq!(t.to_json()["x-common"], json!({"c": 3}));
    assert_eq!(t.to_json()["services"]["web"]["x-meta"], json!({"j": "w"}));
}

#[test]
fn a_null_in_a_later_file_changes_nothing() {
    let w = web(&[
        "services:\n  web:\n    image: a\n    environment: {A: 1}\n    command: [x]\n",
        "services:\n  web:\n    image:\n    environment:\n    command:\n",
    ]);
    assert_eq!(
        w,
        json!({"image": "a", "environment": {"A": 1}, "command": ["x"]})
    );
}

#[test]
fn ulimits_entries_are_replaced_whole() {
    let w = web(&[
        "services:\n  web:\n    ulimits:\n      nofile: {soft: 1024, hard: 2048}\n      nproc: 65535\n",
        "services:\n  web:\n    ulimits:\n      nofile: {soft: 10}\n",
    ]);
    assert_eq!(
        w["ulimits"],
        json!({"nofile": {"soft": 10}, "nproc": 65535})
    );
}

#[test]
fn logging_merges_only_for_the_same_driver() {
    let same = web(&[
        "services:\n  web:\n    logging: {driver: json-file, options: {max-size: 1m}}\n",
        "services:\n  web:\n    logging: {options: {max-file: \"3\"}}\n",
    ]);
    assert_eq!(
        same["logging"],
        json!({"driver": "json-file", "options": {"max-size": "1m", "max-file": "3"}})
    );
    let other = web(&[
        "services:\n  web:\n    logging: {driver: json-file, options: {max-size: 1m}}\n",
        "services:\n  web:\n    logging: {driver: local, options: {max-file: \"3\"}}\n",
    ]);
    assert_eq!(
        other["logging"],
        json!({"driver": "local", "options": {"max-file": "3"}})
    );
}

#[test]
fn ipam_config_entries_merge_by_subnet() {
    let t = merged(&[
        "networks:\n  n:\n    ipam:\n      config: [{subnet: 10.1.0.0/24, gateway: 10.1.0.1}]\n",
        "networks:\n  n:\n    ipam:\n      config: [{subnet: 10.1.0.0/24, ip_range: 10.1.0.128/25}, {subnet: 10.2.0.0/24}]\n",
    ]);
    assert_eq!(
        t.to_json()["networks"]["n"]["ipam"]["config"],
        json!([
            {"subnet": "10.1.0.0/24", "gateway": "10.1.0.1", "ip_range": "10.1.0.128/25"},
            {"subnet": "10.2.0.0/24"}
        ])
    );
}

#[test]
fn duplicates_within_one_file_collapse_to_the_last() {
    let w = web(&[
        "services:\n  web:\n    environment: [A=1, B=2, A=3]\n    ports: [\"80:80\", \"80:80\"]\n",
    ]);
    assert_eq!(w["environment"], json!(["A=3", "B=2"]));
    assert_eq!(w["ports"], json!(["80:80"]));
}

#[test]
fn merging_a_different_kind_over_a_mapping_is_an_error_at_both_places() {
    let e = try_merged(&[
        "services:\n  web:\n    deploy: {replicas: 2}\n",
        "services:\n  web:\n    deploy: [x]\n",
    ])
    .unwrap_err();
    assert_eq!((e.span.file, e.span.line), (1, 3));
    assert_eq!(e.earlier.map(|s| (s.file, s.line)), Some((0, 3)));
    assert!(
        e.message
            .starts_with("services.web.deploy: cannot merge a list over a mapping"),
        "{}",
        e.message
    );
}

#[test]
fn a_bad_list_entry_is_an_error_where_it_is() {
    let e = try_merged(&[
        "services:\n  web:\n    environment: {A: 1}\n",
        "services:\n  web:\n    environment:\n      - [nested]\n",
    ])
    .unwrap_err();
    assert_eq!((e.span.file, e.span.line), (1, 4));
    assert!(
        e.message.contains("services.web.environment"),
        "{}",
        e.message
    );
}

#[test]
fn extending_a_service_uses_the_same_rules() {
    let mut base = parse(
        "image: a\ncommand: [x]\nenvironment: [A=1]\nports: [\"80:80\"]\n",
        0,
    );
    let over = parse(
        "command: [y]\nenvironment: {B: 2}\nports: [\"0.0.0.0:80:80\", \"81:81\"]\n",
        1,
    );
    extend_service(&mut base, over, "web").unwrap();
    let mut root = Node::new(
        Value::Map(vec![(
            Key {
                name: "services".into(),
                span: Span::default(),
            },
            Node::new(
                Value::Map(vec![(
                    Key {
                        name: "web".into(),
                        span: Span::default(),
                    },
                    base,
                )]),
                Span::default(),
            ),
        )]),
        Span::default(),
    );
    unique::enforce(&mut root);
    assert_eq!(
        root.to_json()["services"]["web"],
        json!({"image": "a", "command": ["y"], "environment": {"A": "1", "B": 2}, "ports": ["0.0.0.0:80:80", "81:81"]})
    );
}
