//! Every error: its message says where (the path) and what, and its span points at
//! the offending line. In `web(...)` files the body starts on line 4.

use super::*;

#[test]
fn unknown_keys_are_rejected_with_a_suggestion() {
    assert_err(
        &web("imagee: x"),
        4,
        "services.web: additional property \"imagee\" is not allowed; did you mean \"image\"?",
    );
    assert_err(
        &web("frobnicate: 1"),
        4,
        "services.web: additional property \"frobnicate\" is not allowed",
    );
    let e = err(&web("frobnicate: 1"));
    assert!(!e.message.contains("did you mean"), "{}", e.message);
    assert_err(
        "servics:\n  web:\n    image: i\n",
        1,
        "additional property \"servics\" is not allowed; did you mean \"services\"?",
    );
    assert_err(
        &web("ports:\n  - target: 80\n    publish: 8080"),
        6,
        "services.web.ports[0]: additional property \"publish\" is not allowed; did you mean \"published\"?",
    );
    assert_err(
        &web("healthcheck:\n  test: [CMD, x]\n  intervall: 1s"),
        6,
        "services.web.healthcheck: additional property \"intervall\"",
    );
    assert_err(
        "services:\n  web:\n    image: i\nnetworks:\n  n:\n    drivr: bridge\n",
        6,
        "networks.n: additional property \"drivr\" is not allowed; did you mean \"driver\"?",
    );
}

#[test]
fn wrong_types_name_what_was_expected() {
    assert_err(
        "services:\n  web:\n    image: [a]\n",
        3,
        "services.web.image: expected a string, got a list",
    );
    assert_err(
        &web("ports:\n  - [80]"),
        5,
        "services.web.ports[0]: expected a string, a number or a mapping, got a list",
    );
    assert_err(
        &web("environment: 3"),
        4,
        "services.web.environment: expected a mapping or a list of KEY=VALUE strings, got an integer",
    );
    assert_err(
        &web("environment:\n  A: [1]"),
        5,
        "services.web.environment.A: expected a string, a number, a boolean or null, got a list",
    );
    assert_err(
        &web("read_only: maybe"),
        4,
        "services.web.read_only: expected true or false, got \"maybe\"",
    );
    assert_err(
        &web("cap_add: NET_ADMIN"),
        4,
        "services.web.cap_add: expected a list, got a string",
    );
    assert_err(
        &web("pids_limit: lots"),
        4,
        "services.web.pids_limit: expected an integer, got \"lots\"",
    );
    assert_err(
        "services:\n  web:\n",
        2,
        "services.web: expected a mapping, got null",
    );
    assert_err("- a\n- b\n", 1, "(root): expected a mapping, got a list");
    assert_err("", 1, "the compose file is empty");
}

#[test]
fn bad_ports_say_what_is_wrong() {
    assert_err(
        &web("ports:\n  - \"80:x\""),
        5,
        "services.web.ports[0]: invalid port \"80:x\": \"x\" is not a port number (1-65535)",
    );
    assert_err(
        &web("ports:\n  - \"99999\""),
        5,
        "\"99999\" is not a port number",
    );
    assert_err(
        &web("ports:\n  - \"localhost:80:80\""),
        5,
        "\"localhost\" is not an IP address",
    );
    assert_err(
        &web("ports:\n  - \"1-3:80-81\""),
        5,
        "ranges differ in length",
    );
    assert_err(
        &web("ports:\n  - 80/sctp"),
        5,
        "protocol \"sctp\" is not supported (use tcp or udp)",
    );
    assert_err(
        &web("ports:\n  - published: 80"),
        5,
        "services.web.ports[0]: a port needs `target`",
    );
    assert_err(
        &web("ports:\n  - target: 80\n    mode: bridge"),
        6,
        "invalid mode \"bridge\"",
    );
    assert_err(
        &web("expose: [\"80-x\"]"),
        4,
        "services.web.expose[0]: invalid port",
    );
}

#[test]
fn bad_sizes_and_durations() {
    assert_err(
        &web("mem_limit: 64x"),
        4,
        "services.web.mem_limit: invalid size \"64x\": use a number of bytes, or a number with a unit b, k, m or g",
    );
    assert_err(
        &web("shm_size: -5"),
        4,
        "services.web.shm_size: a size must not be negative",
    );
    assert_err(
        &web("stop_grace_period: 10"),
        4,
        "services.web.stop_grace_period: invalid duration \"10\": a number is missing its unit",
    );
    assert_err(
        &web("healthcheck:\n  interval: 1d"),
        5,
        "services.web.healthcheck.interval: invalid duration \"1d\": unknown unit \"d\"",
    );
    assert_err(&web("stop_grace_period: -1s"), 4, "must not be negative");
    assert_err(
        &web("cpus: -1"),
        4,
        "services.web.cpus: cpus must not be negative",
    );
    assert_err(
        &web("cpus: lots"),
        4,
        "services.web.cpus: expected a number, got \"lots\"",
    );
}

#[test]
fn references_to_undefined_things() {
    assert_err(
        "services:\n  web:\n    image: i\n    depends_on: [db]\n",
        4,
        "services.web.depends_on[0]: service \"web\" depends on \"db\", which is not defined",
    );
    assert_err(
        "services:\n  web:\n    image: i\n    depends_on:\n      db:\n        condition: service_healthy\n",
        5,
        "services.web.depends_on.db: service \"web\" depends on \"db\", which is not defined",
    );
    assert_err(
        &web("networks: [back]"),
        4,
        "services.web.networks[0]: network \"back\" is not defined; add it under the top-level `networks:`",
    );
    assert_err(
        &web("networks:\n  back:\n    aliases: [b]"),
        5,
        "network \"back\" is not defined",
    );
    assert_err(
        &web("volumes:\n  - data:/data"),
        5,
        "services.web.volumes[0]: volume \"data\" is not defined; add it under the top-level `volumes:`",
    );
    assert_err(
        &web("volumes:\n  - type: volume\n    source: data\n    target: /d"),
        6,
        "services.web.volumes[0].source: volume \"data\" is not defined",
    );
    assert_err(
        &web("secrets: [pw]"),
        4,
        "services.web.secrets[0]: secret \"pw\" is not defined; add it under the top-level `secrets:`",
    );
    assert_err(
        &web("configs:\n  - source: cfg"),
        5,
        "services.web.configs[0]: config \"cfg\" is not defined; add it under the top-level `configs:`",
    );
    assert_err(
        &web("network_mode: service:vpn"),
        4,
        "services.web.network_mode: network_mode refers to service \"vpn\", which is not defined",
    );
}

#[test]
fn service_level_rules() {
    assert_err(
        &web("container_name: web1\nscale: 2"),
        4,
        "services.web: container_name \"web1\" cannot be used with scale 2",
    );
    assert_err(
        &web("container_name: web1\ndeploy:\n  replicas: 3"),
        4,
        "cannot be used with scale 3",
    );
    assert_err(
        "services:\n  web:\n    command: [sleep, 1]\n",
        3,
        "services.web: neither `image` nor `build` is set",
    );
    assert_err(
        "services:\n  web:\n    image: i\n    network_mode: host\n    networks: [n]\nnetworks:\n  n:\n",
        5,
        "services.web: `network_mode: host` cannot be combined with `networks`",
    );
    assert_err(
        &web("network_mode: mynet"),
        4,
        "invalid network_mode \"mynet\"",
    );
    assert_err(
        "services:\n  \"we b\":\n    image: i\n",
        2,
        "services: invalid service name \"we b\": use only letters, digits, '.', '_' and '-'",
    );
    assert_err(
        &web("scale: 2\ndeploy:\n  replicas: 3"),
        6,
        "services.web.deploy.replicas: replicas 3 contradicts scale 2",
    );
    assert_err(
        &web("container_name: -bad"),
        4,
        "invalid container name \"-bad\"",
    );
    assert_err(
        &web("restart: sometimes"),
        4,
        "services.web.restart: invalid restart policy \"sometimes\"",
    );
    assert_err(
        &web("restart: on-failure:x"),
        4,
        "invalid restart policy \"on-failure:x\"",
    );
    assert_err(&web("restart: false"), 4, "write `restart: \"no\"`");
    assert_err(
        &web("pull_policy: sometimes"),
        4,
        "invalid pull_policy \"sometimes\"",
    );
    assert_err(
        "services:\n  web:\n    extends: base\n    image: i\n",
        3,
        "`extends` must be resolved by the loader",
    );
}

#[test]
fn dependency_cycles_list_the_cycle() {
    let text = concat!(
        "services:\n",
        "  a:\n    image: i\n    depends_on: [b]\n",
        "  b:\n    image: i\n    depends_on: [c]\n",
        "  c:\n    image: i\n    depends_on:\n      a:\n        condition: service_healthy\n",
    );
    let e = err(text);
    assert!(
        e.message.contains("dependency cycle: a -> b -> c -> a"),
        "{}",
        e.message
    );
    assert!(
        e.message.starts_with("services.a.depends_on: "),
        "{}",
        e.message
    );
    assert_eq!(e.span.line, 4);
    assert_err(
        "services:\n  a:\n    image: i\n    depends_on: [a]\n",
        4,
        "dependency cycle: a -> a",
    );
    // A diamond is not a cycle.
    proj(concat!(
        "services:\n",
        "  top:\n    image: i\n    depends_on: [l, r]\n",
        "  l:\n    image: i\n    depends_on: [base]\n",
        "  r:\n    image: i\n    depends_on: [base]\n",
        "  base:\n    image: i\n",
    ));
}

#[test]
fn bad_volumes() {
    assert_err(
        &web("volumes:\n  - ./x:/y:bogus"),
        5,
        "services.web.volumes[0]: invalid volume \"./x:/y:bogus\": unknown option \"bogus\"",
    );
    assert_err(
        &web("volumes:\n  - ./x:rel"),
        5,
        "the container path \"rel\" must be absolute",
    );
    assert_err(&web("volumes:\n  - a:b:c:d"), 5, "too many colons");
    assert_err(
        &web("volumes:\n  - ./x::ro"),
        5,
        "empty section between colons",
    );
    assert_err(
        &web("volumes:\n  - ./x:/y:nocopy"),
        5,
        "nocopy applies only to volumes",
    );
    assert_err(
        &web("volumes:\n  - ./x:/y:rshared,z"),
        5,
        "cannot combine a bind propagation with an SELinux label",
    );
    assert_err(
        &web("volumes:\n  - ~bob/x:/y"),
        5,
        "~user paths are not supported",
    );
    assert_err(
        &web("volumes:\n  - type: npipe\n    source: x\n    target: /y"),
        5,
        "services.web.volumes[0].type: type \"npipe\" is not supported by berth; use volume, bind or tmpfs",
    );
    assert_err(
        &web("volumes:\n  - type: bind\n    target: /y"),
        5,
        "a bind mount needs `source`",
    );
    assert_err(
        &web("volumes:\n  - type: bind\n    source: .\n"),
        5,
        "a volume needs `target`",
    );
    assert_err(
        &web("volumes:\n  - type: bind\n    source: .\n    target: /y\n    volume:\n      nocopy: true"),
        9,
        "`volume` options do not apply to a mount of this type",
    );
    assert_err(
        &web("volumes:\n  - type: tmpfs\n    source: x\n    target: /y"),
        6,
        "a tmpfs mount has no source",
    );
    assert_err(
        &web("tmpfs: [run]"),
        4,
        "services.web.tmpfs[0]: the container path \"run\" must be absolute",
    );
    let no_home = HashMap::new();
    let e = match parse_in(&web("volumes:\n  - ~/x:/y"), WORKDIR, &no_home) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    };
    assert!(
        e.message.contains("starts with ~ but HOME is not set"),
        "{}",
        e.message
    );
}

#[test]
fn bad_service_settings() {
    assert_err(
        &web("healthcheck:\n  test: [RUN, x]"),
        5,
        "a test list starts with NONE, CMD or CMD-SHELL, not \"RUN\"",
    );
    assert_err(
        &web("healthcheck:\n  test: [CMD]"),
        5,
        "needs a command after CMD",
    );
    assert_err(
        &web("healthcheck:\n  test: [CMD, x]\n  disable: true"),
        5,
        "`disable: true` cannot be combined with a test",
    );
    assert_err(
        &web("ulimits:\n  nofile:\n    soft: 10\n    hard: 5"),
        6,
        "services.web.ulimits.nofile: the soft limit 10 is above the hard limit 5",
    );
    assert_err(
        &web("ulimits:\n  nofile:\n    soft: 10"),
        6,
        "a ulimit needs both `soft` and `hard`",
    );
    assert_err(
        &web("extra_hosts:\n  - nohost"),
        5,
        "invalid extra host \"nohost\": use NAME:IP or NAME=IP",
    );
    assert_err(
        &web("extra_hosts:\n  - h:not-an-ip"),
        5,
        "\"not-an-ip\" is not an IP address",
    );
    assert_err(
        &web("sysctls:\n  - net.x"),
        5,
        "sysctl \"net.x\" needs a value",
    );
    assert_err(
        &web("env_file:\n  - required: false"),
        5,
        "an env_file entry needs `path`",
    );
    assert_err(
        &web("devices: [\"/dev/a:/dev/b:rwx\"]"),
        4,
        "invalid device permissions \"rwx\"",
    );
    assert_err(
        &web("devices: [\"a:b:c:d\"]"),
        4,
        "invalid device \"a:b:c:d\"",
    );
    assert_err(
        "services:\n  a:\n    image: i\n  b:\n    image: i\n    depends_on:\n      a:\n        condition: service_ready\n",
        8,
        "unknown condition \"service_ready\"",
    );
    assert_err(
        "services:\n  web:\n    image: i\n    networks:\n      n:\n        ipv4_address: 10.0.0.300\nnetworks:\n  n:\n",
        6,
        "\"10.0.0.300\" is not an IPv4 address",
    );
    assert_err(&web("command: echo 'oops"), 4, "unterminated ' quote");
    assert_err(
        "services:\n  web:\n    image: i\n    secrets:\n      - source: s\n        mode: \"0999\"\nsecrets:\n  s:\n    file: ./s\n",
        6,
        "invalid file mode \"0999\"",
    );
    assert_err(
        &web("deploy:\n  restart_policy:\n    condition: sometimes"),
        6,
        "unknown condition \"sometimes\"; use none, on-failure or any",
    );
}

#[test]
fn bad_top_level_definitions() {
    let with = |tail: &str| format!("services:\n  web:\n    image: i\n{tail}");
    assert_err(
        &with("networks:\n  n:\n    driver: overlay\n"),
        6,
        "networks.n.driver: driver \"overlay\" is not supported: berth supports only bridge networks",
    );
    assert_err(
        &with("volumes:\n  v:\n    driver: nfs\n"),
        6,
        "volumes.v.driver: driver \"nfs\" is not supported: berth supports only local volumes",
    );
    assert_err(
        &with("networks:\n  n:\n    external: true\n    driver: bridge\n"),
        7,
        "networks.n: conflicting parameters \"external\" and \"driver\" specified",
    );
    assert_err(
        &with("networks:\n  n:\n    name: a\n    external:\n      name: b\n"),
        7,
        "both `name` and the deprecated `external.name` are set",
    );
    assert_err(
        &with("networks:\n  n:\n    ipam:\n      config:\n        - subnet: 10.0.0.0/40\n"),
        8,
        "networks.n.ipam.config[0].subnet: \"10.0.0.0/40\" is not a subnet in CIDR form",
    );
    assert_err(
        &with("secrets:\n  s:\n    file: ./a\n    environment: SECRET_VAR\n"),
        7,
        "secrets.s: a secret takes only one of `file`, `environment` and `content`",
    );
    assert_err(
        &with("configs:\n  c:\n    name: x\n"),
        6,
        "configs.c: a config needs one of `file`, `environment` or `content`",
    );
    assert_err(
        &with("secrets:\n  s:\n    environment: NOT_THERE\n"),
        6,
        "secrets.s.environment: environment variable \"NOT_THERE\" is not set",
    );
    assert_err(
        &with("networks:\n  \"bad name\":\n"),
        5,
        "networks: invalid name \"bad name\"",
    );
    assert_err(
        &with("networks: [a, b]\n"),
        4,
        "networks: expected a mapping, got a list",
    );
}
