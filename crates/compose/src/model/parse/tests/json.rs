//! The JSON `config --format json` prints: the shape docker compose prints.

use serde_json::json;

use super::*;

fn to_json(text: &str) -> serde_json::Value {
    match serde_json::to_value(proj(text)) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_service_prints_like_compose_config() {
    let j = to_json(concat!(
        "services:\n  web:\n    image: nginx\n",
        "    ports: [\"127.0.0.1:8080:80\"]\n",
        "    volumes:\n      - data:/data:nocopy\n      - ./site:/www:ro,z\n      - type: tmpfs\n        target: /t\n        tmpfs:\n          size: 1m\n",
        "    environment: [A=b, UNSET]\n",
        "    mem_limit: 64m\n",
        "    extra_hosts: [\"b.example:10.0.0.2\", \"a.example:::1\"]\n",
        "    devices: [/dev/fuse]\n",
        "    ulimits:\n      nofile: 1024\n      nproc:\n        soft: 1\n        hard: 2\n",
        "    healthcheck:\n      test: \"true\"\n      interval: 90s\n",
        "    depends_on: [db]\n",
        "    secrets:\n      - source: pw\n        uid: \"1000\"\n        mode: 0440\n",
        "  db:\n    image: db\n    network_mode: none\n",
        "volumes:\n  data:\n",
        "secrets:\n  pw:\n    environment: SECRET_VAR\n",
        "configs:\n  c:\n    content: hi\n",
    ));
    let web = &j["services"]["web"];
    assert_eq!(j["name"], "demo");
    assert_eq!(web["command"], json!(null));
    assert_eq!(
        web["ports"],
        json!([{"target": 80, "published": "8080", "host_ip": "127.0.0.1", "protocol": "tcp", "mode": "ingress"}])
    );
    assert_eq!(
        web["volumes"],
        json!([
            {"type": "volume", "source": "data", "target": "/data", "volume": {"nocopy": true}},
            {"type": "bind", "source": "/srv/app/site", "target": "/www", "read_only": true,
             "bind": {"selinux": "z", "create_host_path": true}},
            {"type": "tmpfs", "target": "/t", "tmpfs": {"size": "1048576"}},
        ])
    );
    assert_eq!(web["environment"], json!({"A": "b", "UNSET": null}));
    assert_eq!(web["mem_limit"], json!("67108864"));
    assert_eq!(
        web["extra_hosts"],
        json!(["a.example=::1", "b.example=10.0.0.2"])
    );
    assert_eq!(
        web["devices"],
        json!([{"source": "/dev/fuse", "target": "/dev/fuse", "permissions": "rwm"}])
    );
    assert_eq!(
        web["ulimits"],
        json!({"nofile": 1024, "nproc": {"soft": 1, "hard": 2}})
    );
    assert_eq!(
        web["healthcheck"],
        json!({"test": ["CMD-SHELL", "true"], "interval": "1m30s"})
    );
    assert_eq!(
        web["depends_on"],
        json!({"db": {"condition": "service_started", "required": true}})
    );
    assert_eq!(web["networks"], json!({"default": null}));
    assert_eq!(
        web["secrets"],
        json!([{"source": "pw", "target": "/run/secrets/pw", "uid": "1000", "mode": "0440"}])
    );
    assert!(j["services"]["db"].get("networks").is_none());
    assert_eq!(
        j["networks"],
        json!({"default": {"name": "demo_default", "ipam": {}}})
    );
    assert_eq!(j["volumes"], json!({"data": {"name": "demo_data"}}));
    assert_eq!(
        j["secrets"],
        json!({"pw": {"name": "demo_pw", "environment": "SECRET_VAR"}}),
        "a secret's value is never printed"
    );
    assert_eq!(
        j["configs"],
        json!({"c": {"name": "demo_c", "content": "hi"}})
    );
}

#[test]
fn networks_print_ipam_as_compose_does() {
    let j = to_json(concat!(
        "services:\n  web:\n    image: i\n    networks:\n      n:\n        aliases: [x]\n",
        "networks:\n  n:\n    internal: true\n    ipam:\n      config:\n        - subnet: 10.9.0.0/24\n",
    ));
    assert_eq!(
        j["services"]["web"]["networks"],
        json!({"n": {"aliases": ["x"]}})
    );
    assert_eq!(
        j["networks"]["n"],
        json!({"name": "demo_n", "internal": true, "ipam": {"config": [{"subnet": "10.9.0.0/24"}]}})
    );
}
