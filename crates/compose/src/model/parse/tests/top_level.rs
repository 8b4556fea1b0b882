//! The top-level sections: networks, volumes, secrets, configs and their real names.

use std::path::PathBuf;

use super::*;
use crate::model::{FileSource, IpamConfig};

#[test]
fn networks_with_their_settings_and_names() {
    let p = proj(concat!(
        "services:\n  web:\n    image: i\n    networks: [plain, custom, ext, legacy, named]\n",
        "networks:\n",
        "  plain:\n",
        "  custom:\n",
        "    driver: bridge\n",
        "    internal: true\n",
        "    attachable: true\n",
        "    driver_opts:\n      com.docker.network.bridge.name: br-x\n      mtu: 1400\n",
        "    labels: [tier=back]\n",
        "    ipam:\n      driver: default\n      config:\n",
        "        - subnet: 172.28.0.0/16\n          ip_range: 172.28.5.0/24\n          gateway: 172.28.5.254\n",
        "  ext:\n    external: true\n",
        "  legacy:\n    external:\n      name: real-legacy\n",
        "  named:\n    name: my-net\n",
    ));
    let n = &p.networks;
    assert_eq!(n["plain"].name, "demo_plain");
    let c = &n["custom"];
    assert_eq!(c.name, "demo_custom");
    assert_eq!(c.driver.as_deref(), Some("bridge"));
    assert!(c.internal && c.attachable && !c.external);
    assert_eq!(c.driver_opts["com.docker.network.bridge.name"], "br-x");
    assert_eq!(c.driver_opts["mtu"], "1400");
    assert_eq!(c.labels["tier"], "back");
    assert_eq!(
        c.ipam,
        [IpamConfig {
            subnet: Some("172.28.0.0/16".into()),
            gateway: Some("172.28.5.254".into()),
            ip_range: Some("172.28.5.0/24".into()),
        }]
    );
    assert!(n["ext"].external);
    assert_eq!(n["ext"].name, "ext");
    assert!(n["legacy"].external);
    assert_eq!(n["legacy"].name, "real-legacy");
    assert_eq!(n["named"].name, "my-net");
    assert!(
        !n.contains_key("default"),
        "no service uses the default network"
    );
}

#[test]
fn a_defined_default_network_is_kept() {
    let p = proj("services:\n  web:\n    image: i\nnetworks:\n  default:\n    name: shared\n");
    assert_eq!(p.networks["default"].name, "shared");
    assert!(p.services["web"].networks.contains_key("default"));
}

#[test]
fn volumes_with_their_settings_and_names() {
    let p = proj(concat!(
        "services:\n  web:\n    image: i\n",
        "volumes:\n",
        "  a:\n",
        "  b: {}\n",
        "  c:\n    driver: local\n    driver_opts:\n      type: tmpfs\n      device: tmpfs\n      o: size=100m\n    labels:\n      k: v\n",
        "  d:\n    external: true\n",
        "  e:\n    external: true\n    name: real-e\n",
        "  f:\n    name: custom-f\n",
    ));
    let v = &p.volumes;
    assert_eq!(v["a"].name, "demo_a");
    assert_eq!(v["b"].name, "demo_b");
    assert_eq!(v["c"].driver.as_deref(), Some("local"));
    assert_eq!(v["c"].driver_opts["o"], "size=100m");
    assert_eq!(v["c"].labels["k"], "v");
    assert!(v["d"].external);
    assert_eq!(v["d"].name, "d");
    assert_eq!(v["e"].name, "real-e");
    assert_eq!(v["f"].name, "custom-f");
}

#[test]
fn secrets_and_configs_sources() {
    let p = proj(concat!(
        "services:\n  web:\n    image: i\n",
        "secrets:\n",
        "  f:\n    file: ./secrets/f.txt\n",
        "  e:\n    environment: SECRET_VAR\n",
        "  n:\n    name: custom\n    file: /abs/n\n",
        "configs:\n",
        "  c:\n    content: |\n      line\n",
        "  h:\n    file: ~/h.conf\n",
    ));
    assert_eq!(p.secrets["f"].name, "demo_f");
    assert_eq!(
        p.secrets["f"].source,
        FileSource::File(PathBuf::from("/srv/app/secrets/f.txt"))
    );
    assert_eq!(
        p.secrets["e"].source,
        FileSource::Environment {
            name: "SECRET_VAR".into(),
            value: "s3cret".into()
        }
    );
    assert_eq!(p.secrets["n"].name, "custom");
    assert_eq!(p.configs["c"].source, FileSource::Content("line\n".into()));
    assert_eq!(
        p.configs["h"].source,
        FileSource::File(PathBuf::from("/home/user/h.conf"))
    );
}

#[test]
fn relative_paths_use_the_given_project_directory() {
    let (p, _) = match parse_in(
        "services:\n  web:\n    image: i\n    volumes: [\"./d/../e:/e\", \".:/here\"]\n",
        "/other/dir",
        &env(),
    ) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let v = &p.services["web"].volumes;
    assert_eq!(v[0].source.as_deref(), Some("/other/dir/e"));
    assert_eq!(v[1].source.as_deref(), Some("/other/dir"));
    assert_eq!(p.working_dir, PathBuf::from("/other/dir"));
    assert_eq!(p.name, "demo");
}

#[test]
fn top_level_name_is_accepted_and_empty_sections_are_empty() {
    let p = proj("name: whatever\nservices:\n  web:\n    image: i\nvolumes:\nsecrets:\n");
    assert!(p.volumes.is_empty() && p.secrets.is_empty());
    assert_eq!(
        p.name, "demo",
        "the loader decides the name; the context carries it"
    );
}

#[test]
fn service_named_like_an_extension_is_a_service() {
    let p = proj("services:\n  x-web:\n    image: i\n");
    assert!(p.services.contains_key("x-web"));
}
