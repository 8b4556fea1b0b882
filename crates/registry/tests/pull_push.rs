//! Pull and push against a real distribution registry on 127.0.0.1, cross-checked
//! with skopeo.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::sync::Mutex;

use registry::{Descriptor, Error, Platform, RegistryConfig};
use support::*;

fn platform(s: &str) -> Platform {
    Platform::parse(s).unwrap()
}

fn skopeo_digest(reference: &str) -> String {
    let out = skopeo(&["inspect", "--tls-verify=false", reference]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["Digest"].as_str().unwrap().to_string()
}

#[test]
fn pushed_image_is_what_skopeo_sees() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let image = reg.image("x/y:1");
    let img = TestImage::new("amd64", 4096, 1);

    let digest = img.push(&client, &image, tmp.path());

    assert_eq!(digest, sha256(&img.manifest));
    let docker_ref = format!("docker://{}/x/y:1", reg.addr());
    assert_eq!(skopeo_digest(&docker_ref), digest);
    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &docker_ref]);
    assert_eq!(raw.as_bytes(), img.manifest.as_slice());
    assert!(client.blob_exists(&image, &img.layer_desc.digest).unwrap());
    assert!(!client.blob_exists(&image, &sha256(b"absent")).unwrap());
}

#[test]
fn resolve_and_fetch_return_exactly_what_was_pushed() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let image = reg.image("x/y:1");
    let img = TestImage::new("amd64", 100_000, 2);
    let digest = img.push(&client, &image, tmp.path());

    let resolved = client.resolve(&image, &platform("linux/amd64")).unwrap();
    assert_eq!(resolved.manifest_digest, digest);
    assert_eq!(resolved.manifest_bytes, img.manifest);
    assert_eq!(resolved.manifest_media_type, registry::OCI_MANIFEST);
    assert_eq!(resolved.config, img.config_desc);
    assert_eq!(resolved.layers, vec![img.layer_desc.clone()]);
    assert_eq!(resolved.index_digest, None);

    assert_eq!(
        client.fetch_small(&image, &resolved.config).unwrap(),
        img.config
    );
    let dest = tmp.path().join("layer");
    let last = Mutex::new(0);
    client
        .fetch_blob(&image, &resolved.layers[0], &dest, &|n| {
            *last.lock().unwrap() = n
        })
        .unwrap();
    assert_eq!(fs::read(&dest).unwrap(), img.layer);
    assert_eq!(*last.lock().unwrap(), img.layer.len() as u64);

    // By digest, the same manifest.
    let pinned = image.with_digest(&digest).unwrap();
    assert_eq!(
        client
            .resolve(&pinned, &Platform::host())
            .unwrap()
            .manifest_digest,
        digest
    );
}

#[test]
fn multi_platform_image_copied_in_by_skopeo_resolves_per_platform() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    let amd = TestImage::new("amd64", 2000, 3);
    let arm = TestImage::new("arm64", 2000, 4);
    amd.write_oci_layout(&layout);
    arm.write_oci_layout(&layout);
    let entry = |img: &TestImage, arch: &str, variant: &str| {
        format!(
            r#"{{"mediaType":"{}","digest":"{}","size":{},"platform":{{"architecture":"{arch}","os":"linux"{variant}}}}}"#,
            registry::OCI_MANIFEST,
            sha256(&img.manifest),
            img.manifest.len()
        )
    };
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{},{}]}}"#,
        registry::OCI_INDEX,
        entry(&amd, "amd64", ""),
        entry(&arm, "arm64", r#","variant":"v8""#)
    )
    .into_bytes();
    write_oci_index(&layout, &[("multi", registry::OCI_INDEX, &index)]);
    skopeo(&[
        "copy",
        "--all",
        "--dest-tls-verify=false",
        &format!("oci:{}:multi", layout.display()),
        &format!("docker://{}/multi/app:1", reg.addr()),
    ]);

    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let image = reg.image("multi/app:1");
    let r = client.resolve(&image, &platform("linux/amd64")).unwrap();
    assert_eq!(r.manifest_digest, sha256(&amd.manifest));
    assert_eq!(r.index_digest, Some(sha256(&index)));
    assert_eq!(r.layers, vec![amd.layer_desc.clone()]);
    let r = client.resolve(&image, &platform("linux/arm64")).unwrap();
    assert_eq!(r.manifest_digest, sha256(&arm.manifest));
    let dest = tmp.path().join("arm-layer");
    client
        .fetch_blob(&image, &r.layers[0], &dest, &|_| {})
        .unwrap();
    assert_eq!(fs::read(&dest).unwrap(), arm.layer);

    let err = client
        .resolve(&image, &platform("linux/s390x"))
        .unwrap_err();
    assert!(matches!(err, Error::NoMatchingPlatform { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "no matching manifest for linux/s390x in the manifest list entries of {}/multi/app:1 (available: linux/amd64, linux/arm64/v8)",
            reg.addr()
        )
    );
}

#[test]
fn docker_schema2_image_resolves_with_docker_media_types() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    let img = TestImage::new("amd64", 3000, 5);
    img.write_oci_layout(&layout);
    write_oci_index(&layout, &[("one", registry::OCI_MANIFEST, &img.manifest)]);
    skopeo(&[
        "copy",
        "--format",
        "v2s2",
        "--dest-tls-verify=false",
        &format!("oci:{}:one", layout.display()),
        &format!("docker://{}/docker/app:1", reg.addr()),
    ]);

    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let image = reg.image("docker/app:1");
    let r = client.resolve(&image, &Platform::host()).unwrap();
    assert_eq!(r.manifest_media_type, registry::DOCKER_MANIFEST);
    assert_eq!(
        r.layers[0].media_type,
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
    assert_eq!(r.layers[0].digest, img.layer_desc.digest);
    assert_eq!(
        r.manifest_digest,
        skopeo_digest(&format!("docker://{}/docker/app:1", reg.addr()))
    );
    assert_eq!(
        client.fetch_small(&image, &r.config).unwrap().len() as u64,
        r.config.size
    );
}

#[test]
fn interrupted_download_resumes_with_a_range_request() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let image = reg.image("x/big:1");
    let img = TestImage::new("amd64", 3 << 20, 6);
    img.push(&client, &image, tmp.path());

    let dest = tmp.path().join("layer");
    client
        .fetch_blob(&image, &img.layer_desc, &dest, &|_| {})
        .unwrap();
    let half = img.layer.len() as u64 / 2;
    fs::OpenOptions::new()
        .write(true)
        .open(&dest)
        .unwrap()
        .set_len(half)
        .unwrap();

    let seen = Mutex::new(Vec::new());
    client
        .fetch_blob(&image, &img.layer_desc, &dest, &|n| {
            seen.lock().unwrap().push(n)
        })
        .unwrap();
    assert_eq!(fs::read(&dest).unwrap(), img.layer);
    let seen = seen.into_inner().unwrap();
    assert_eq!(
        seen.first(),
        Some(&half),
        "did not start from the kept half"
    );
    assert_eq!(seen.last(), Some(&(img.layer.len() as u64)));
    assert!(
        reg.log().contains("\" 206 "),
        "no partial response in the registry log"
    );

    // A complete file is verified without downloading again.
    client
        .fetch_blob(&image, &img.layer_desc, &dest, &|_| {})
        .unwrap();
    assert_eq!(fs::read(&dest).unwrap(), img.layer);
}

#[test]
fn tampered_blob_is_a_digest_mismatch_and_nothing_is_kept() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let image = reg.image("x/y:1");
    let img = TestImage::new("amd64", 50_000, 7);
    img.push(&client, &image, tmp.path());

    let stored = reg.blob_path(&img.layer_desc.digest);
    let mut bytes = fs::read(&stored).unwrap();
    bytes[1000] ^= 0xff;
    fs::write(&stored, &bytes).unwrap();

    let dest = tmp.path().join("layer");
    let err = client
        .fetch_blob(&image, &img.layer_desc, &dest, &|_| {})
        .unwrap_err();
    match &err {
        Error::DigestMismatch { expected, actual } => {
            assert_eq!(expected, &img.layer_desc.digest);
            assert_eq!(actual, &sha256(&bytes));
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    assert!(!dest.exists(), "a file failing its digest was left behind");

    // Resuming onto a good prefix (before the tampered byte) ends the same way.
    fs::write(&dest, &img.layer[..500]).unwrap();
    let err = client
        .fetch_blob(&image, &img.layer_desc, &dest, &|_| {})
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
    assert!(!dest.exists());

    let stored = reg.blob_path(&img.config_desc.digest);
    let mut config = fs::read(&stored).unwrap();
    config[0] = b' ';
    fs::write(&stored, &config).unwrap();
    let err = client.fetch_small(&image, &img.config_desc).unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
}

#[test]
fn unknown_tag_is_manifest_unknown() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    TestImage::new("amd64", 100, 8).push(&client, &reg.image("team/app:1"), tmp.path());

    let err = client
        .resolve(&reg.image("team/app:2"), &Platform::host())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("manifest unknown: {}/team/app:2 not found", reg.addr())
    );
    let missing = Descriptor {
        media_type: String::new(),
        digest: sha256(b"nope"),
        size: 4,
    };
    let err = client
        .fetch_blob(
            &reg.image("team/app:1"),
            &missing,
            &tmp.path().join("m"),
            &|_| {},
        )
        .unwrap_err();
    assert!(matches!(err, Error::BlobUnknown { .. }), "{err:?}");
}

#[test]
fn verified_https_refuses_a_plain_http_registry() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), Some(true));
    let err = client
        .resolve(&reg.image("x/y:1"), &Platform::host())
        .unwrap_err();
    assert!(matches!(err, Error::HttpResponseToHttps { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("http: server gave HTTP response to HTTPS client — add the registry to insecure-registries or pass --tls-verify=false"),
        "{err}"
    );
}

#[test]
fn mirrors_are_tried_first_and_dead_ones_skipped() {
    let origin = Registry::start();
    let mirror = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let dead = format!("http://127.0.0.1:{}", dead_port());

    // Only the mirror has the image.
    let img = TestImage::new("amd64", 1000, 9);
    let plain = client_in(tmp.path(), &RegistryConfig::default(), None);
    img.push(&plain, &mirror.image("x/y:1"), tmp.path());

    let config = RegistryConfig {
        registry_mirrors: BTreeMap::from([(
            origin.addr(),
            vec![dead.clone(), format!("http://{}", mirror.addr())],
        )]),
        ..RegistryConfig::default()
    };
    let client = client_in(tmp.path(), &config, None);
    let image = origin.image("x/y:1");
    let r = client.resolve(&image, &Platform::host()).unwrap();
    assert_eq!(r.manifest_digest, sha256(&img.manifest));
    let dest = tmp.path().join("layer");
    client
        .fetch_blob(&image, &r.layers[0], &dest, &|_| {})
        .unwrap();
    assert_eq!(fs::read(&dest).unwrap(), img.layer);

    // With only a dead mirror, the registry itself serves the pull.
    img.push(&plain, &image, tmp.path());
    let config = RegistryConfig {
        registry_mirrors: BTreeMap::from([(origin.addr(), vec![dead])]),
        ..RegistryConfig::default()
    };
    let client = client_in(tmp.path(), &config, None);
    assert_eq!(
        client
            .resolve(&image, &Platform::host())
            .unwrap()
            .manifest_digest,
        sha256(&img.manifest)
    );
}

#[test]
fn one_client_serves_parallel_downloads_from_several_threads() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let image = reg.image("x/par:1");
    let blobs: Vec<Vec<u8>> = (0..6)
        .map(|i| noise(300_000 + i * 1000, 100 + i as u64))
        .collect();
    let descs: Vec<Descriptor> = blobs
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let path = tmp.path().join(format!("up{i}"));
            fs::write(&path, b).unwrap();
            let d = Descriptor {
                media_type: "application/octet-stream".into(),
                digest: sha256(b),
                size: b.len() as u64,
            };
            client
                .push_blob_file(&image, &path, &d.digest, d.size, &|_| {})
                .unwrap();
            d
        })
        .collect();

    std::thread::scope(|s| {
        for (i, d) in descs.iter().enumerate() {
            let (client, image, tmp) = (&client, &image, tmp.path());
            s.spawn(move || {
                client
                    .fetch_blob(image, d, &tmp.join(format!("down{i}")), &|_| {})
                    .unwrap()
            });
        }
    });
    for (i, b) in blobs.iter().enumerate() {
        assert_eq!(&fs::read(tmp.path().join(format!("down{i}"))).unwrap(), b);
    }
}

#[test]
fn manifests_push_by_digest_and_refuse_a_wrong_one() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let img = TestImage::new("amd64", 100, 10);
    img.push(&client, &reg.image("x/y:1"), tmp.path());
    let digest = sha256(&img.manifest);

    let by_digest = reg.image(&format!("x/z@{digest}"));
    // The blobs must be in x/z too.
    img.push(&client, &reg.image("x/z:tmp"), tmp.path());
    assert_eq!(
        client
            .push_manifest(&by_digest, &img.manifest, registry::OCI_MANIFEST)
            .unwrap(),
        digest
    );
    assert_eq!(
        client
            .resolve(&by_digest, &Platform::host())
            .unwrap()
            .manifest_digest,
        digest
    );
    let wrong = reg.image(&format!("x/z@{}", sha256(b"other")));
    let err = client
        .push_manifest(&wrong, &img.manifest, registry::OCI_MANIFEST)
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
}
