#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The fixtures judge berth, so they are checked against tools that are not berth: the
//! distribution registry and skopeo must accept what testsupport::oci writes, with the
//! digests it reports.

use std::fs;
use std::io::Read;
use std::path::Path;

use serde_json::{json, Value};
use testsupport::oci::{self, ImageSpec, LayerCompression, LayerSpec, TarEntry};
use testsupport::registry::{http_status, Registry};

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("berth-fixture-test-")
        .tempdir()
        .unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// (path bytes, entry type, uid, link name bytes) of every entry.
fn tar_listing(tar: &[u8]) -> Vec<(String, tar::EntryType, u64, Option<String>)> {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                e.header().entry_type(),
                e.header().uid().unwrap(),
                e.link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned()),
            )
        })
        .collect()
}

fn alive(pid: u32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty()
        && !stat
            .rsplit_once(") ")
            .is_some_and(|(_, r)| r.starts_with('Z'))
}

#[test]
fn registry_answers_on_loopback_and_is_gone_after_drop() {
    let reg = Registry::start();
    assert!(reg.addr().starts_with("127.0.0.1:"));
    assert_eq!(http_status(reg.port(), "/v2/"), Some(200));
    assert!(reg.storage_dir().is_dir());
    let (pid, port, storage) = (reg.pid(), reg.port(), reg.storage_dir().to_path_buf());
    drop(reg);
    assert!(!alive(pid), "registry process {pid} outlived its Registry");
    assert_eq!(http_status(port, "/v2/"), None);
    assert!(!storage.exists(), "registry storage was not removed");
}

#[test]
fn registries_started_together_get_their_own_ports() {
    let regs: Vec<Registry> = (0..3).map(|_| Registry::start()).collect();
    let mut ports: Vec<u16> = regs.iter().map(Registry::port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 3);
    for r in &regs {
        assert_eq!(http_status(r.port(), "/v2/"), Some(200));
    }
}

#[test]
fn pushed_oci_layout_keeps_the_manifest_digest_it_was_written_with() {
    let reg = Registry::start();
    let dir = tmp();
    let spec = oci::busybox_image(LayerCompression::Gzip);
    let digests = oci::write_oci_layout(dir.path(), &[(spec.clone(), "latest")]);
    assert_eq!(digests.len(), 1);

    // The layout is what the OCI spec says.
    assert_eq!(
        read_json(&dir.path().join("oci-layout"))["imageLayoutVersion"],
        "1.0.0"
    );
    let index = read_json(&dir.path().join("index.json"));
    assert_eq!(index["manifests"][0]["digest"], json!(digests[0]));
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "latest"
    );
    let blob = |d: &str| dir.path().join("blobs/sha256").join(&d[7..]);
    let manifest = read_json(&blob(&digests[0]));
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let config = read_json(&blob(manifest["config"]["digest"].as_str().unwrap()));
    assert_eq!(
        config["rootfs"]["diff_ids"][0],
        json!(oci::sha256_digest(oci::busybox_layer()))
    );
    assert_eq!(config["config"]["Cmd"], json!(["sh"]));
    assert_eq!(config["architecture"], json!(oci::host_arch()));
    assert_eq!(config["history"].as_array().unwrap().len(), 1);

    let dst = reg.docker_ref("test/busybox:1");
    oci::skopeo_copy(&format!("oci:{}:latest", dir.path().display()), &dst);
    assert_eq!(oci::skopeo_inspect_digest(&dst), digests[0]);

    // The registry stores the layer where blob_path says, byte for byte.
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    assert_eq!(
        fs::read(reg.blob_path(layer)).unwrap(),
        fs::read(blob(layer)).unwrap()
    );
}

#[test]
fn a_layout_holds_several_named_images() {
    let reg = Registry::start();
    let dir = tmp();
    let second = ImageSpec {
        config: json!({ "Entrypoint": ["/bin/echo"], "Cmd": ["hi"], "WorkingDir": "/www", "User": "1000:1000" }),
        ..oci::busybox_image(LayerCompression::Gzip)
    };
    let digests = oci::write_oci_layout(
        dir.path(),
        &[
            (oci::busybox_image(LayerCompression::Gzip), "one"),
            (second, "two"),
        ],
    );
    assert_ne!(digests[0], digests[1]);
    let dst = reg.docker_ref("test/two:latest");
    oci::skopeo_copy(&format!("oci:{}:two", dir.path().display()), &dst);
    assert_eq!(oci::skopeo_inspect_digest(&dst), digests[1]);
}

#[test]
fn same_spec_gives_same_digests() {
    let (a, b) = (tmp(), tmp());
    for c in [
        LayerCompression::Gzip,
        LayerCompression::Zstd,
        LayerCompression::None,
    ] {
        let spec = oci::busybox_image(c);
        assert_eq!(
            oci::write_oci_layout(a.path(), &[(spec.clone(), "x")]),
            oci::write_oci_layout(b.path(), &[(spec, "x")])
        );
    }
}

#[test]
fn zstd_layers_push_unchanged_through_skopeo() {
    let reg = Registry::start();
    let dir = tmp();
    let digest = oci::write_oci_layout(
        dir.path(),
        &[(oci::busybox_image(LayerCompression::Zstd), "latest")],
    )
    .remove(0);
    let dst = reg.docker_ref("test/zstd:1");
    oci::skopeo_copy(&format!("oci:{}:latest", dir.path().display()), &dst);
    assert_eq!(oci::skopeo_inspect_digest(&dst), digest);
    let manifest: Value = serde_json::from_slice(&oci::skopeo_inspect_raw(&[], &dst)).unwrap();
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
    // And it pulls back out intact (skopeo checks every digest on the way).
    let back = tmp();
    oci::skopeo_copy(&dst, &format!("oci:{}:back", back.path().display()));
}

#[test]
fn skopeo_gzips_uncompressed_layers_but_push_image_keeps_them() {
    let reg = Registry::start();
    let spec = oci::busybox_image(LayerCompression::None);
    let built = oci::build_image(&spec);
    let dir = tmp();
    let digest = oci::write_oci_layout(dir.path(), &[(spec, "latest")]).remove(0);
    assert_eq!(digest, built.manifest_digest);

    // skopeo always compresses uncompressed layers on the way to a registry.
    let via_skopeo = reg.docker_ref("test/plain:skopeo");
    oci::skopeo_copy(&format!("oci:{}:latest", dir.path().display()), &via_skopeo);
    let m: Value = serde_json::from_slice(&oci::skopeo_inspect_raw(&[], &via_skopeo)).unwrap();
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );

    // The raw push stores exactly what we built.
    assert_eq!(reg.push_image("test/plain", "raw", &built), digest);
    let raw = reg.docker_ref("test/plain:raw");
    assert_eq!(oci::skopeo_inspect_digest(&raw), digest);
    assert_eq!(
        fs::read(reg.blob_path(&built.layers[0].digest)).unwrap(),
        oci::busybox_layer()
    );
    let back = tmp();
    oci::skopeo_copy(&raw, &format!("oci:{}:back", back.path().display()));
}

#[test]
fn multi_platform_index_pushes_with_all() {
    let reg = Registry::start();
    let dir = tmp();
    let platform = |arch: &str, variant: Option<&str>| ImageSpec {
        architecture: arch.to_string(),
        variant: variant.map(str::to_string),
        config: json!({ "Cmd": ["sh"], "Labels": { "arch": arch } }),
        ..oci::busybox_image(LayerCompression::Gzip)
    };
    let specs = [
        platform("amd64", None),
        platform("arm64", Some("v8")),
        platform("arm", Some("v7")),
    ];
    let index_digest = oci::write_oci_layout_multiarch(dir.path(), &specs, "multi");
    let index = read_json(&dir.path().join("blobs/sha256").join(&index_digest[7..]));
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 3);
    assert_eq!(manifests[1]["platform"]["architecture"], "arm64");
    assert_eq!(manifests[2]["platform"]["variant"], "v7");

    let dst = reg.docker_ref("test/multi:1");
    oci::skopeo_copy_args(&[
        "--all",
        &format!("oci:{}:multi", dir.path().display()),
        &dst,
    ]);
    assert_eq!(oci::skopeo_inspect_digest(&dst), index_digest);
    for m in manifests {
        let d = m["digest"].as_str().unwrap();
        let by_digest = reg.docker_ref(&format!("test/multi@{d}"));
        assert_eq!(oci::skopeo_inspect_digest(&by_digest), d);
    }
}

#[test]
fn docker_archives_are_accepted_by_skopeo() {
    let spec = ImageSpec {
        layers: vec![
            oci::busybox_layer().to_vec(),
            oci::tar_entries(&[TarEntry::dir("etc"), TarEntry::file("etc/motd", "hi\n")]),
        ],
        ..oci::busybox_image(LayerCompression::Gzip)
    };
    let diff_ids: Vec<Value> = spec
        .layers
        .iter()
        .map(|l| json!(oci::sha256_digest(l)))
        .collect();
    let work = tmp();
    for (name, write) in [
        (
            "classic",
            oci::write_docker_archive as fn(&Path, &ImageSpec, &[&str]),
        ),
        ("oci-style", oci::write_docker_archive_oci),
    ] {
        let archive = work.path().join(format!("{name}.tar"));
        write(
            &archive,
            &spec,
            &["example.com/test/busybox:v1", "busybox:latest"],
        );

        let mut names = Vec::new();
        let mut manifest = Value::Null;
        let mut a = tar::Archive::new(fs::File::open(&archive).unwrap());
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let p = e.path().unwrap().to_string_lossy().into_owned();
            if p == "manifest.json" {
                let mut s = String::new();
                e.read_to_string(&mut s).unwrap();
                manifest = serde_json::from_str(&s).unwrap();
            }
            names.push(p);
        }
        assert!(
            names.contains(&"repositories".to_string()),
            "{name}: {names:?}"
        );
        assert_eq!(
            manifest[0]["RepoTags"],
            json!(["example.com/test/busybox:v1", "busybox:latest"])
        );
        assert_eq!(manifest[0]["Layers"].as_array().unwrap().len(), 2);

        let out = work.path().join(format!("{name}-oci"));
        oci::skopeo_copy(
            &format!("docker-archive:{}", archive.display()),
            &format!("oci:{}:copied", out.display()),
        );
        // skopeo recompresses, but the uncompressed content must be what we wrote.
        let index = read_json(&out.join("index.json"));
        let m = read_json(
            &out.join("blobs/sha256")
                .join(&index["manifests"][0]["digest"].as_str().unwrap()[7..]),
        );
        let config = read_json(
            &out.join("blobs/sha256")
                .join(&m["config"]["digest"].as_str().unwrap()[7..]),
        );
        assert_eq!(config["rootfs"]["diff_ids"], json!(diff_ids), "{name}");
        assert_eq!(config["config"]["Cmd"], json!(["sh"]), "{name}");
    }
}

#[test]
fn auth_registry_takes_the_right_credentials_only() {
    let reg = Registry::start_with_auth("tester", "s3cret");
    assert_eq!(http_status(reg.port(), "/v2/"), Some(401));
    let dir = tmp();
    let digest = oci::write_oci_layout(
        dir.path(),
        &[(oci::busybox_image(LayerCompression::Gzip), "latest")],
    )
    .remove(0);
    let src = format!("oci:{}:latest", dir.path().display());
    let dst = reg.docker_ref("private/busybox:1");

    let anonymous = oci::try_skopeo_copy_args(&[&src, &dst]);
    let wrong = oci::try_skopeo_copy_args(&["--dest-creds", "tester:nope", &src, &dst]);
    for (what, out) in [("no credentials", anonymous), ("a wrong password", wrong)] {
        assert!(!out.status.success(), "push with {what} worked");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("unauthorized"), "push with {what}: {err}");
    }

    oci::skopeo_copy_args(&["--dest-creds", "tester:s3cret", &src, &dst]);
    let raw = oci::skopeo_inspect_raw(&["--creds", "tester:s3cret"], &dst);
    assert_eq!(oci::sha256_digest(&raw), digest);
    let no_creds = oci::skopeo(&["inspect", "--tls-verify=false", "--raw", &dst]);
    assert!(
        !no_creds.status.success(),
        "inspect without credentials worked"
    );
}

#[test]
fn a_tampered_blob_in_storage_is_served_and_caught_by_the_puller() {
    let reg = Registry::start();
    let dir = tmp();
    let spec = ImageSpec::new(&[LayerSpec::Entries(vec![TarEntry::file(
        "hello.txt",
        "hello world\n",
    )])]);
    let built = oci::build_image(&spec);
    oci::write_oci_layout(dir.path(), &[(spec, "latest")]);
    let dst = reg.docker_ref("test/tamper:1");
    oci::skopeo_copy(&format!("oci:{}:latest", dir.path().display()), &dst);

    let path = reg.blob_path(&built.layers[0].digest);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff; // same length, different content
    fs::write(&path, bytes).unwrap();

    let back = tmp();
    let out = oci::try_skopeo_copy_args(&[&dst, &format!("oci:{}:x", back.path().display())]);
    assert!(!out.status.success(), "pull of a tampered blob succeeded");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.to_lowercase().contains("digest did not match"),
        "unexpected error: {err}"
    );
}

#[test]
fn tar_dir_is_deterministic_and_keeps_owners_links_and_specials() {
    let bb = oci::tar_dir(testsupport::busybox_rootfs());
    assert_eq!(bb, oci::tar_dir(testsupport::busybox_rootfs()));
    let list = tar_listing(&bb);
    let paths: Vec<&str> = list.iter().map(|e| e.0.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "entries are not sorted");
    let home = list
        .iter()
        .find(|e| e.0.trim_end_matches('/') == "home/app")
        .unwrap();
    assert_eq!(home.2, 1000);
    let sh = list.iter().find(|e| e.0 == "bin/sh").unwrap();
    assert_eq!(sh.1, tar::EntryType::Symlink);
    assert_eq!(sh.3.as_deref(), Some("busybox"));

    let d = tmp();
    fs::create_dir(d.path().join("a")).unwrap();
    fs::write(d.path().join("a/f"), "x").unwrap();
    fs::hard_link(d.path().join("a/f"), d.path().join("g")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(d.path().join("p"))
        .status()
        .unwrap();
    assert!(fifo.success());
    let list = tar_listing(&oci::tar_dir(d.path()));
    let kinds: Vec<(&str, tar::EntryType)> = list.iter().map(|e| (e.0.as_str(), e.1)).collect();
    assert_eq!(
        kinds,
        [
            ("a", tar::EntryType::Directory),
            ("a/f", tar::EntryType::Regular),
            ("g", tar::EntryType::Link),
            ("p", tar::EntryType::Fifo),
        ]
    );
    assert_eq!(list[2].3.as_deref(), Some("a/f"));
}

#[test]
fn tar_entries_writes_hostile_names_verbatim() {
    let long = format!("deep/{}/file", "d".repeat(150));
    let long_target = format!("/{}", "t".repeat(120));
    let tar = oci::tar_entries(&[
        TarEntry::file("../escape", "x"),
        TarEntry::file("/etc/abs", "y")
            .owner(1000, 1000)
            .mode(0o4755),
        TarEntry::symlink("link", "../../../etc/passwd"),
        TarEntry::hardlink("hard", "/etc/shadow"),
        TarEntry::file(&long, "z"),
        TarEntry::symlink("longlink", &long_target),
        TarEntry::whiteout("usr/bin/gone"),
        TarEntry::opaque("var/"),
    ]);
    let list = tar_listing(&tar);
    let got: Vec<(&str, Option<&str>)> = list
        .iter()
        .map(|e| (e.0.as_str(), e.3.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("../escape", None),
            ("/etc/abs", None),
            ("link", Some("../../../etc/passwd")),
            ("hard", Some("/etc/shadow")),
            (long.as_str(), None),
            ("longlink", Some(long_target.as_str())),
            ("usr/bin/.wh.gone", None),
            ("var/.wh..wh..opq", None),
        ]
    );
    assert_eq!(list[1].2, 1000);
}
