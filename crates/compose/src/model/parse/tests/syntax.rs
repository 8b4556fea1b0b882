//! Every service key in each of its syntaxes, and the normal form it becomes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::model::{
    Condition, Dependency, FileRef, Nanos, Port, ServiceNetwork, Ulimit, VolumeKind,
};

#[test]
fn command_and_entrypoint_strings_are_split_lists_kept() {
    let s = svc("command: sh -c 'echo \"a b\"; exit 3'\nentrypoint: [\"/bin/tini\", \"--\"]");
    assert_eq!(
        s.command,
        Some(strings(&["sh", "-c", "echo \"a b\"; exit 3"]))
    );
    assert_eq!(s.entrypoint, Some(strings(&["/bin/tini", "--"])));
    let s = svc("command: \"\"\nentrypoint: []");
    assert_eq!(s.command, Some(vec![]));
    assert_eq!(s.entrypoint, Some(vec![]));
    let s = svc("command:\nentrypoint: ''");
    assert_eq!(s.command, None);
    assert_eq!(s.entrypoint, Some(vec![]));
    assert_eq!(
        svc("command: [echo, 1]").command,
        Some(strings(&["echo", "1"]))
    );
}

#[test]
fn environment_map_takes_null_values_from_the_environment() {
    let s = svc("environment:\n  A: b\n  N: 1.5\n  T: true\n  FROM_ENV:\n  UNSET:\n  EMPTY: ''");
    let want: BTreeMap<String, Option<String>> = [
        ("A", Some("b")),
        ("N", Some("1.5")),
        ("T", Some("true")),
        ("FROM_ENV", Some("env-value")),
        ("UNSET", None),
        ("EMPTY", Some("")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.map(String::from)))
    .collect();
    assert_eq!(s.environment, want);
}

#[test]
fn environment_list_splits_at_the_first_equals() {
    let s = svc("environment:\n  - A=b=c\n  - EMPTY=\n  - FROM_ENV\n  - UNSET");
    assert_eq!(s.environment["A"].as_deref(), Some("b=c"));
    assert_eq!(s.environment["EMPTY"].as_deref(), Some(""));
    assert_eq!(s.environment["FROM_ENV"].as_deref(), Some("env-value"));
    assert_eq!(s.environment["UNSET"], None);
}

#[test]
fn env_file_forms_resolve_against_the_project_directory() {
    let files = |body: &str| {
        svc(body)
            .env_file
            .into_iter()
            .map(|e| (e.path, e.required))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        files("env_file: .env"),
        [(PathBuf::from("/srv/app/.env"), true)]
    );
    assert_eq!(
        files("env_file: [a.env, ../b.env, /etc/c.env]"),
        [
            (PathBuf::from("/srv/app/a.env"), true),
            (PathBuf::from("/srv/b.env"), true),
            (PathBuf::from("/etc/c.env"), true),
        ]
    );
    assert_eq!(
        files("env_file:\n  - path: ./x.env\n    required: false\n  - ./y.env"),
        [
            (PathBuf::from("/srv/app/x.env"), false),
            (PathBuf::from("/srv/app/y.env"), true),
        ]
    );
}

#[test]
fn ports_short_and_long_syntax() {
    let s = svc(concat!(
        "ports:\n",
        "  - 80\n",
        "  - \"8080:80\"\n",
        "  - \"127.0.0.1:18000:8000\"\n",
        "  - \"127.0.0.16::8080\"\n",
        "  - \"[::1]:9000:9000/udp\"\n",
        "  - \"8000-8001:90-91\"\n",
        "  - target: 443\n",
        "    published: \"8443\"\n",
        "    host_ip: 0.0.0.0\n",
        "    protocol: tcp\n",
        "    mode: host\n",
        "    name: https\n",
        "    app_protocol: https\n",
        "  - target: \"53\"\n",
        "    published: 5353\n",
        "    protocol: udp\n",
    ));
    let short = |target, published: Option<&str>, ip: Option<&str>, proto: &str| Port {
        target,
        published: published.map(String::from),
        host_ip: ip.map(String::from),
        protocol: proto.into(),
        mode: Some("ingress".into()),
        ..Port::default()
    };
    assert_eq!(
        s.ports,
        [
            short(80, None, None, "tcp"),
            short(80, Some("8080"), None, "tcp"),
            short(8000, Some("18000"), Some("127.0.0.1"), "tcp"),
            short(8080, None, Some("127.0.0.16"), "tcp"),
            short(9000, Some("9000"), Some("::1"), "udp"),
            short(90, Some("8000"), None, "tcp"),
            short(91, Some("8001"), None, "tcp"),
            Port {
                target: 443,
                published: Some("8443".into()),
                host_ip: Some("0.0.0.0".into()),
                protocol: "tcp".into(),
                name: Some("https".into()),
                app_protocol: Some("https".into()),
                mode: Some("host".into()),
            },
            short(53, Some("5353"), None, "udp"),
        ]
    );
}

#[test]
fn expose_takes_numbers_and_strings() {
    let s = svc("expose: [80, \"8000-8010\", \"53/udp\"]");
    assert_eq!(s.expose, strings(&["80", "8000-8010", "53/udp"]));
}

#[test]
fn volume_short_syntax() {
    let s = proj(&format!(
        "{}volumes:\n  data:\n",
        web(concat!(
            "volumes:\n",
            "  - data:/data\n",
            "  - ./site:/www:ro\n",
            "  - /abs/path:/abs:rw,z\n",
            "  - ~/cache:/cache\n",
            "  - /anon\n",
            "  - data:/nocopy:nocopy\n",
            "  - ../up:/up:rshared\n",
        ))
    ));
    let v = &s.services["web"].volumes;
    let row = |i: usize| {
        (
            v[i].kind,
            v[i].source.as_deref(),
            v[i].target.as_str(),
            v[i].read_only,
            v[i].create_host_path,
        )
    };
    assert_eq!(
        row(0),
        (VolumeKind::Volume, Some("data"), "/data", false, None)
    );
    assert_eq!(
        row(1),
        (
            VolumeKind::Bind,
            Some("/srv/app/site"),
            "/www",
            true,
            Some(true)
        )
    );
    assert_eq!(
        row(2),
        (
            VolumeKind::Bind,
            Some("/abs/path"),
            "/abs",
            false,
            Some(true)
        )
    );
    assert_eq!(v[2].propagation.as_deref(), Some("z"));
    assert_eq!(
        row(3),
        (
            VolumeKind::Bind,
            Some("/home/user/cache"),
            "/cache",
            false,
            Some(true)
        )
    );
    assert_eq!(row(4), (VolumeKind::Volume, None, "/anon", false, None));
    assert!(v[5].nocopy);
    assert_eq!(
        row(6),
        (VolumeKind::Bind, Some("/srv/up"), "/up", false, Some(true))
    );
    assert_eq!(v[6].propagation.as_deref(), Some("rshared"));
}

#[test]
fn volume_long_syntax() {
    let s = proj(&format!(
        "{}volumes:\n  data: {{}}\n",
        web(concat!(
            "volumes:\n",
            "  - type: volume\n",
            "    source: data\n",
            "    target: /data\n",
            "    read_only: true\n",
            "    volume:\n",
            "      nocopy: true\n",
            "      subpath: sub\n",
            "  - type: bind\n",
            "    source: ./conf\n",
            "    target: /etc/conf\n",
            "    bind:\n",
            "      propagation: rslave\n",
            "      create_host_path: false\n",
            "  - type: tmpfs\n",
            "    target: /scratch\n",
            "    tmpfs:\n",
            "      size: 64m\n",
            "      mode: 01777\n",
            "  - type: volume\n",
            "    target: /anon\n",
        ))
    ));
    let v = &s.services["web"].volumes;
    assert_eq!(v[0].kind, VolumeKind::Volume);
    assert_eq!(v[0].source.as_deref(), Some("data"));
    assert!(v[0].read_only && v[0].nocopy);
    assert_eq!(v[0].subpath.as_deref(), Some("sub"));
    assert_eq!(v[1].kind, VolumeKind::Bind);
    assert_eq!(v[1].source.as_deref(), Some("/srv/app/conf"));
    assert_eq!(v[1].propagation.as_deref(), Some("rslave"));
    assert_eq!(v[1].create_host_path, Some(false));
    assert_eq!(v[2].kind, VolumeKind::Tmpfs);
    assert_eq!(v[2].tmpfs_size, Some(64 << 20));
    assert_eq!(v[2].tmpfs_mode, Some(0o1777));
    assert_eq!(
        (v[3].kind, v[3].source.as_deref()),
        (VolumeKind::Volume, None)
    );
}

#[test]
fn tmpfs_string_or_list() {
    assert_eq!(svc("tmpfs: /run").tmpfs, strings(&["/run"]));
    assert_eq!(
        svc("tmpfs:\n  - /tmp\n  - /run:size=64m,mode=1777").tmpfs,
        strings(&["/tmp", "/run:size=64m,mode=1777"])
    );
}

#[test]
fn networks_as_list_or_map_and_the_implicit_default() {
    let p = proj(concat!(
        "services:\n",
        "  a:\n    image: i\n    networks: [front, back]\n",
        "  b:\n    image: i\n    networks:\n      front:\n      back:\n        aliases: [db, database]\n        ipv4_address: 172.28.0.5\n        priority: 100\n",
        "  c:\n    image: i\n",
        "  d:\n    image: i\n    network_mode: host\n",
        "networks:\n  front:\n  back:\n",
    ));
    let keys = |s: &str| p.services[s].networks.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys("a"), ["back", "front"]);
    assert_eq!(p.services["b"].networks["front"], ServiceNetwork::default());
    assert_eq!(
        p.services["b"].networks["back"],
        ServiceNetwork {
            aliases: strings(&["db", "database"]),
            ipv4_address: Some("172.28.0.5".into()),
            priority: Some(100),
        }
    );
    assert_eq!(keys("c"), ["default"]);
    assert!(p.services["d"].networks.is_empty());
    assert_eq!(p.services["d"].network_mode.as_deref(), Some("host"));
    assert_eq!(p.networks["default"].name, "demo_default");
}

#[test]
fn network_mode_service_adds_a_dependency() {
    let p = proj(concat!(
        "services:\n",
        "  vpn:\n    image: i\n",
        "  app:\n    image: i\n    network_mode: service:vpn\n",
    ));
    assert_eq!(
        p.services["app"].depends_on["vpn"],
        Dependency {
            condition: Condition::ServiceStarted,
            restart: true,
            required: true
        }
    );
    assert!(p.services["app"].networks.is_empty());
}

#[test]
fn depends_on_list_and_map() {
    let p = proj(concat!(
        "services:\n",
        "  db:\n    image: i\n",
        "  mig:\n    image: i\n",
        "  a:\n    image: i\n    depends_on: [db, mig]\n",
        "  b:\n    image: i\n    depends_on:\n",
        "      db:\n        condition: service_healthy\n        restart: true\n",
        "      mig:\n        condition: service_completed_successfully\n        required: false\n",
    ));
    let started = Dependency {
        condition: Condition::ServiceStarted,
        restart: false,
        required: true,
    };
    assert_eq!(p.services["a"].depends_on["db"], started);
    assert_eq!(p.services["a"].depends_on["mig"], started);
    assert_eq!(
        p.services["b"].depends_on["db"],
        Dependency {
            condition: Condition::ServiceHealthy,
            restart: true,
            required: true
        }
    );
    assert_eq!(
        p.services["b"].depends_on["mig"],
        Dependency {
            condition: Condition::ServiceCompletedSuccessfully,
            restart: false,
            required: false
        }
    );
}

#[test]
fn healthcheck_forms() {
    let h = svc("healthcheck:\n  test: curl -f http://localhost\n  interval: 1m30s\n  timeout: 500ms\n  retries: 3\n  start_period: 1.5s\n  start_interval: 2s")
        .healthcheck
        .unwrap();
    assert_eq!(h.test, strings(&["CMD-SHELL", "curl -f http://localhost"]));
    assert_eq!(h.interval, Some(Nanos(90_000_000_000)));
    assert_eq!(h.timeout, Some(Nanos(500_000_000)));
    assert_eq!(h.retries, Some(3));
    assert_eq!(h.start_period, Some(Nanos(1_500_000_000)));
    assert_eq!(h.start_interval, Some(Nanos(2_000_000_000)));
    assert!(!h.disable);
    let h = svc("healthcheck:\n  test: [CMD, test, -f, /x]")
        .healthcheck
        .unwrap();
    assert_eq!(h.test, strings(&["CMD", "test", "-f", "/x"]));
    let h = svc("healthcheck:\n  disable: true").healthcheck.unwrap();
    assert!(h.disable);
    assert_eq!(h.test, strings(&["NONE"]));
    let h = svc("healthcheck:\n  test: [\"NONE\"]").healthcheck.unwrap();
    assert!(h.disable);
    let h = svc("healthcheck:\n  interval: 5s").healthcheck.unwrap();
    assert!(h.test.is_empty(), "no test: the image's test is kept");
}

#[test]
fn restart_policies() {
    for r in [
        "no",
        "always",
        "on-failure",
        "on-failure:5",
        "unless-stopped",
    ] {
        assert_eq!(
            svc(&format!("restart: \"{r}\"")).restart.as_deref(),
            Some(r)
        );
    }
    assert_eq!(svc("restart: no").restart.as_deref(), Some("no"));
}

#[test]
fn sizes_durations_and_numbers() {
    let s = svc(concat!(
        "mem_limit: 64m\n",
        "memswap_limit: -1\n",
        "mem_reservation: \"1gb\"\n",
        "shm_size: 67108864\n",
        "cpus: \"1.5\"\n",
        "cpu_shares: 512\n",
        "pids_limit: \"40\"\n",
        "stop_grace_period: 1m30s\n",
        "stop_signal: SIGINT\n",
        "scale: 2\n",
    ));
    assert_eq!(s.mem_limit, Some(64 << 20));
    assert_eq!(s.memswap_limit, Some(-1));
    assert_eq!(s.mem_reservation, Some(1 << 30));
    assert_eq!(s.shm_size, Some(67_108_864));
    assert_eq!(s.cpus, Some(1.5));
    assert_eq!(s.cpu_shares, Some(512));
    assert_eq!(s.pids_limit, Some(40));
    assert_eq!(s.stop_grace_period, Some(Nanos(90_000_000_000)));
    assert_eq!(s.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(s.scale, Some(2));
    assert_eq!(svc("cpus: 0.5").cpus, Some(0.5));
    assert_eq!(svc("cpus: 2").cpus, Some(2.0));
    assert_eq!(svc("mem_limit: 1G").mem_limit, Some(1 << 30));
}

#[test]
fn ulimits_sysctls_labels() {
    let s = svc(concat!(
        "ulimits:\n  nproc: 65535\n  nofile:\n    soft: 20000\n    hard: 40000\n",
        "sysctls:\n  net.core.somaxconn: 1024\n",
        "labels:\n  com.example.a: x\n  com.example.empty:\n",
    ));
    assert_eq!(
        s.ulimits["nproc"],
        Ulimit {
            soft: 65535,
            hard: 65535
        }
    );
    assert_eq!(
        s.ulimits["nofile"],
        Ulimit {
            soft: 20000,
            hard: 40000
        }
    );
    assert_eq!(s.sysctls["net.core.somaxconn"], "1024");
    assert_eq!(s.labels["com.example.a"], "x");
    assert_eq!(s.labels["com.example.empty"], "");
    let s = svc("sysctls:\n  - net.ipv4.ip_forward=1\nlabels:\n  - a=b\n  - c");
    assert_eq!(s.sysctls["net.ipv4.ip_forward"], "1");
    assert_eq!((s.labels["a"].as_str(), s.labels["c"].as_str()), ("b", ""));
}

#[test]
fn extra_hosts_become_name_colon_ip() {
    let s = svc(concat!(
        "extra_hosts:\n",
        "  - somehost:162.242.195.82\n",
        "  - other=50.31.209.229\n",
        "  - v6:[::1]\n",
        "  - v6b=::2\n",
        "  - legacy:::3\n",
        "  - gw:host-gateway\n",
    ));
    assert_eq!(
        s.extra_hosts,
        strings(&[
            "somehost:162.242.195.82",
            "other:50.31.209.229",
            "v6:::1",
            "v6b:::2",
            "legacy:::3",
            "gw:host-gateway",
        ])
    );
    let s = svc("extra_hosts:\n  a: 10.0.0.1\n  b: [\"10.0.0.2\", \"::4\"]");
    assert_eq!(
        s.extra_hosts,
        strings(&["a:10.0.0.1", "b:10.0.0.2", "b:::4"])
    );
}

#[test]
fn dns_settings_take_a_string_or_a_list() {
    let s = svc("dns: 8.8.8.8\ndns_search: [a.example, b.example]\ndns_opt: [use-vc, \"ndots:2\"]");
    assert_eq!(s.dns, strings(&["8.8.8.8"]));
    assert_eq!(s.dns_search, strings(&["a.example", "b.example"]));
    assert_eq!(s.dns_opt, strings(&["use-vc", "ndots:2"]));
    assert_eq!(
        svc("dns_search: one.example").dns_search,
        strings(&["one.example"])
    );
}

#[test]
fn devices_short_and_long() {
    let s = svc(concat!(
        "devices:\n",
        "  - /dev/fuse\n",
        "  - /dev/sda:/dev/xvda\n",
        "  - /dev/snd:/dev/snd:r\n",
        "  - source: /dev/net/tun\n",
        "    permissions: rw\n",
        "  - source: /dev/a\n",
        "    target: /dev/b\n",
    ));
    assert_eq!(
        s.devices,
        strings(&[
            "/dev/fuse:/dev/fuse:rwm",
            "/dev/sda:/dev/xvda:rwm",
            "/dev/snd:/dev/snd:r",
            "/dev/net/tun:/dev/net/tun:rw",
            "/dev/a:/dev/b:rwm",
        ])
    );
}

#[test]
fn secret_and_config_references() {
    let p = proj(concat!(
        "services:\n  web:\n    image: i\n",
        "    secrets:\n",
        "      - db_pw\n",
        "      - source: db_pw\n        target: pw.txt\n        uid: \"103\"\n        gid: 104\n        mode: 0440\n",
        "      - source: db_pw\n        target: /etc/pw\n        mode: \"0400\"\n",
        "    configs:\n",
        "      - app_cfg\n",
        "      - source: app_cfg\n        target: /etc/app.conf\n        mode: 0444\n",
        "      - source: app_cfg\n        target: rel.conf\n",
        "secrets:\n  db_pw:\n    file: ./pw.txt\n",
        "configs:\n  app_cfg:\n    content: hello\n",
    ));
    let s = &p.services["web"];
    let r = |source: &str, target: &str, uid, gid, mode| FileRef {
        source: source.into(),
        target: target.into(),
        uid,
        gid,
        mode,
    };
    assert_eq!(
        s.secrets,
        [
            r("db_pw", "/run/secrets/db_pw", None, None, None),
            r(
                "db_pw",
                "/run/secrets/pw.txt",
                Some(103),
                Some(104),
                Some(0o440)
            ),
            r("db_pw", "/etc/pw", None, None, Some(0o400)),
        ]
    );
    assert_eq!(
        s.configs,
        [
            r("app_cfg", "/app_cfg", None, None, None),
            r("app_cfg", "/etc/app.conf", None, None, Some(0o444)),
            r("app_cfg", "/rel.conf", None, None, None),
        ]
    );
}

#[test]
fn deploy_folds_into_service_keys() {
    let s = svc(concat!(
        "deploy:\n",
        "  mode: replicated\n",
        "  replicas: 3\n",
        "  resources:\n",
        "    limits:\n      cpus: '0.50'\n      memory: 50M\n      pids: 100\n",
        "    reservations:\n      memory: 20M\n",
        "  restart_policy:\n    condition: on-failure\n    max_attempts: 3\n",
    ));
    assert_eq!(s.scale, Some(3));
    assert_eq!(s.cpus, Some(0.5));
    assert_eq!(s.mem_limit, Some(50 << 20));
    assert_eq!(s.pids_limit, Some(100));
    assert_eq!(s.mem_reservation, Some(20 << 20));
    assert_eq!(s.restart.as_deref(), Some("on-failure:3"));
    for (cond, want) in [
        ("none", "no"),
        ("any", "always"),
        ("on-failure", "on-failure"),
    ] {
        let s = svc(&format!(
            "deploy:\n  restart_policy:\n    condition: {cond}"
        ));
        assert_eq!(s.restart.as_deref(), Some(want), "{cond}");
    }
}

#[test]
fn direct_keys_win_over_deploy() {
    let (p, w) = ok(&web(concat!(
        "mem_limit: 1g\n",
        "restart: always\n",
        "scale: 2\n",
        "deploy:\n",
        "  replicas: 2\n",
        "  resources:\n    limits:\n      memory: 50M\n",
        "  restart_policy:\n    condition: none\n",
    )));
    let s = &p.services["web"];
    assert_eq!(s.mem_limit, Some(1 << 30));
    assert_eq!(s.restart.as_deref(), Some("always"));
    assert_eq!(s.scale, Some(2));
    assert!(
        w.iter()
            .any(|m| m.contains("differs from the service's `mem_limit`")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|m| m.contains("ignored because the service sets `restart`")),
        "{w:?}"
    );
}

#[test]
fn logging_build_and_plain_keys() {
    let s = svc(concat!(
        "logging:\n  driver: json-file\n  options:\n    max-size: 10m\n    max-file: 3\n",
        "user: 1000\n",
        "working_dir: /app\n",
        "hostname: h\n",
        "domainname: example.com\n",
        "cap_add: [NET_ADMIN]\n",
        "cap_drop: [ALL]\n",
        "security_opt: [\"no-new-privileges:true\"]\n",
        "read_only: \"true\"\n",
        "init: true\n",
        "privileged: false\n",
        "stdin_open: yes\n",
        "tty: true\n",
        "profiles: [debug]\n",
        "container_name: my-web\n",
        "pull_policy: if_not_present\n",
        "platform: linux/amd64\n",
    ));
    let l = s.logging.unwrap();
    assert_eq!(l.driver.as_deref(), Some("json-file"));
    assert_eq!(l.options["max-size"], "10m");
    assert_eq!(l.options["max-file"], "3");
    assert_eq!(s.user.as_deref(), Some("1000"));
    assert_eq!(s.working_dir.as_deref(), Some("/app"));
    assert_eq!(s.hostname.as_deref(), Some("h"));
    assert_eq!(s.domainname.as_deref(), Some("example.com"));
    assert_eq!(s.cap_add, strings(&["NET_ADMIN"]));
    assert_eq!(s.cap_drop, strings(&["ALL"]));
    assert_eq!(s.security_opt, strings(&["no-new-privileges:true"]));
    assert!(s.read_only && s.init && !s.privileged && s.stdin_open && s.tty);
    assert_eq!(s.profiles, strings(&["debug"]));
    assert_eq!(s.container_name.as_deref(), Some("my-web"));
    assert_eq!(s.pull_policy.as_deref(), Some("missing"));
    assert_eq!(s.platform.as_deref(), Some("linux/amd64"));
}

#[test]
fn build_short_and_long() {
    let p = proj("services:\n  a:\n    build: ./app\n");
    let b = p.services["a"].build.as_ref().unwrap();
    assert_eq!(b.context, PathBuf::from("/srv/app/app"));
    assert_eq!(b.dockerfile.as_deref(), Some("Dockerfile"));
    let p = proj(concat!(
        "services:\n  a:\n    image: me/a\n    build:\n",
        "      context: ..\n      dockerfile: Containerfile\n",
        "      args:\n        - FROM_ENV\n        - UNSET\n        - X=1\n",
        "      target: prod\n      labels: {a: b}\n      network: host\n      tags: [me/a:1]\n",
    ));
    let b = p.services["a"].build.as_ref().unwrap();
    assert_eq!(b.context, PathBuf::from("/srv"));
    assert_eq!(b.dockerfile.as_deref(), Some("Containerfile"));
    assert_eq!(b.args.len(), 2, "an arg unset everywhere is left out");
    assert_eq!(b.args["FROM_ENV"], "env-value");
    assert_eq!(b.args["X"], "1");
    assert_eq!(b.target.as_deref(), Some("prod"));
    assert_eq!(b.labels["a"], "b");
    assert_eq!(b.network.as_deref(), Some("host"));
    assert_eq!(b.tags, strings(&["me/a:1"]));
    let p = proj("services:\n  a:\n    build: https://github.com/x/y.git#main\n");
    assert_eq!(
        p.services["a"].build.as_ref().unwrap().context,
        PathBuf::from("https://github.com/x/y.git#main")
    );
}

#[test]
fn extension_keys_are_ignored_everywhere() {
    let (p, w) = ok(concat!(
        "x-common: &c\n  foo: 1\n",
        "services:\n  web:\n    image: i\n    x-note: hi\n",
        "    ports:\n      - target: 80\n        x-extra: 1\n",
        "networks:\n  n:\n    x-owner: me\n",
        "volumes:\n  v:\n    x-owner: me\n",
    ));
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(p.services["web"].ports[0].target, 80);
}
