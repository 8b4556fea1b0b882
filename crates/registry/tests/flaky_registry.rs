//! Failures a healthy registry does not produce, from a scripted fake on 127.0.0.1:
//! connections breaking mid-blob, Range requests ignored, 5xx answers, malformed and
//! schema 1 manifests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs;
use std::sync::Arc;

use registry::{Descriptor, Error, Platform, RegistryConfig};
use support::*;

fn blob_desc(data: &[u8]) -> Descriptor {
    Descriptor {
        media_type: "application/octet-stream".into(),
        digest: sha256(data),
        size: data.len() as u64,
    }
}

/// Serves `data` as a blob: the first answer breaks off after `cut` bytes; later ones
/// honour Range (or not, with `honour_range` false).
fn flaky_blob(data: Vec<u8>, cut: usize, honour_range: bool) -> Fake {
    let data = Arc::new(data);
    Fake::start(move |req, before| {
        if !req.path.contains("/blobs/") {
            return Reply::new(404, "");
        }
        if before == 0 {
            let mut r = Reply::new(200, data.to_vec());
            r.cut_after = Some(cut);
            return r;
        }
        let from = req
            .headers
            .get("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse::<usize>().ok());
        match from {
            Some(from) if honour_range => Reply::new(206, data[from..].to_vec()).header(
                "Content-Range",
                &format!("bytes {from}-{}/{}", data.len() - 1, data.len()),
            ),
            _ => Reply::new(200, data.to_vec()),
        }
    })
}

#[test]
fn broken_connection_is_resumed_with_a_range_request() {
    let data = noise(1 << 20, 21);
    let fake = flaky_blob(data.clone(), 400_000, true);
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let dest = tmp.path().join("blob");

    client
        .fetch_blob(&fake.image("x/y:1"), &blob_desc(&data), &dest, &|_| {})
        .unwrap();

    assert_eq!(fs::read(&dest).unwrap(), data);
    let reqs = fake.requests("/blobs/");
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].headers.get("range"), None);
    let range = reqs[1]
        .headers
        .get("range")
        .expect("second request has a Range");
    let from: usize = range
        .trim_start_matches("bytes=")
        .trim_end_matches('-')
        .parse()
        .unwrap();
    assert!(from > 0 && from <= 400_000, "resumed from {from}");
}

#[test]
fn registry_ignoring_range_gets_a_full_download() {
    let data = noise(500_000, 22);
    let fake = flaky_blob(data.clone(), 100_000, false);
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let dest = tmp.path().join("blob");

    client
        .fetch_blob(&fake.image("x/y:1"), &blob_desc(&data), &dest, &|_| {})
        .unwrap();
    assert_eq!(fs::read(&dest).unwrap(), data);
    assert_eq!(fake.requests("/blobs/").len(), 2);
}

#[test]
fn a_bad_kept_prefix_is_thrown_away() {
    let data = noise(200_000, 23);
    let fake = flaky_blob(data.clone(), data.len(), true);
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let dest = tmp.path().join("blob");
    fs::write(&dest, b"left over from something else").unwrap();

    client
        .fetch_blob(&fake.image("x/y:1"), &blob_desc(&data), &dest, &|_| {})
        .unwrap();
    assert_eq!(fs::read(&dest).unwrap(), data);
}

fn manifest_server(replies: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Fake {
    Fake::start(move |req, before| {
        if req.path.contains("/manifests/") {
            replies(before)
        } else {
            Reply::new(404, "")
        }
    })
}

#[test]
fn server_errors_are_retried() {
    let img = TestImage::new("amd64", 10, 24);
    let manifest = img.manifest.clone();
    let fake = manifest_server(move |before| {
        if before < 2 {
            Reply::new(503, "busy")
        } else {
            Reply::new(200, manifest.clone()).header("Content-Type", registry::OCI_MANIFEST)
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);

    let r = client
        .resolve(&fake.image("x/y:1"), &Platform::host())
        .unwrap();
    assert_eq!(r.manifest_digest, sha256(&img.manifest));
    assert_eq!(fake.requests("/manifests/").len(), 3);
}

#[test]
fn persistent_server_errors_give_up_after_three_retries() {
    let fake = manifest_server(|_| Reply::new(500, "down"));
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);

    let err = client
        .resolve(&fake.image("x/y:1"), &Platform::host())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Registry {
                status: Some(500),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(fake.requests("/manifests/").len(), 4);
}

#[test]
fn malformed_manifest_names_registry_and_reference() {
    let fake = manifest_server(|_| Reply::new(200, "{\"schemaVersion\": 2, oops"));
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);

    let err = client
        .resolve(&fake.image("x/y:1"), &Platform::host())
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::MalformedManifest { .. }), "{err:?}");
    assert!(
        msg.starts_with(&format!(
            "malformed manifest for 127.0.0.1:{}/x/y:1 from 127.0.0.1:{}:",
            fake.port, fake.port
        )),
        "{msg}"
    );
}

#[test]
fn schema1_manifest_is_refused() {
    let fake = manifest_server(|_| {
        Reply::new(
            200,
            r#"{"schemaVersion":1,"name":"x/y","tag":"1","fsLayers":[],"history":[]}"#,
        )
        .header(
            "Content-Type",
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
        )
    });
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);

    let err = client
        .resolve(&fake.image("x/y:1"), &Platform::host())
        .unwrap_err();
    assert!(matches!(err, Error::Schema1 { .. }), "{err:?}");
    assert!(err.to_string().contains("schema 1"), "{err}");
}

#[test]
fn manifest_not_matching_the_pinned_digest_is_refused() {
    let img = TestImage::new("amd64", 10, 25);
    let manifest = img.manifest.clone();
    let fake = manifest_server(move |_| Reply::new(200, manifest.clone()));
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);

    let pinned = fake.image(&format!("x/y@{}", sha256(b"something else")));
    let err = client.resolve(&pinned, &Platform::host()).unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
}

#[test]
fn oversized_config_blobs_are_refused_before_download() {
    let fake = manifest_server(|_| Reply::new(404, ""));
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let desc = Descriptor {
        media_type: String::new(),
        digest: sha256(b"big"),
        size: registry::SMALL_BLOB_LIMIT + 1,
    };
    let err = client.fetch_small(&fake.image("x/y:1"), &desc).unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
    assert!(fake.requests("/").is_empty());
}
