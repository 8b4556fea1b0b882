//! HTTPS registries on 127.0.0.1: CA certificates from a certs.d directory, verified
//! and unverified TLS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs;

use registry::{Error, Platform, RegistryConfig};
use support::*;

#[test]
fn ca_from_the_certs_dir_makes_a_registry_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = TestCa::create(tmp.path());
    let reg = Registry::start_tls(&ca);
    let host_dir = tmp.path().join("certs.d").join(reg.addr());
    fs::create_dir_all(&host_dir).unwrap();
    fs::copy(&ca.ca_cert, host_dir.join("ca.crt")).unwrap();

    // Verification demanded: only the CA from certs.d can make this work.
    let client = client_in(tmp.path(), &RegistryConfig::default(), Some(true));
    let image = reg.image("x/y:1");
    let img = TestImage::new("amd64", 5000, 31);
    let digest = img.push(&client, &image, tmp.path());
    let r = client.resolve(&image, &Platform::host()).unwrap();
    assert_eq!(r.manifest_digest, digest);
    let dest = tmp.path().join("layer");
    client
        .fetch_blob(&image, &r.layers[0], &dest, &|_| {})
        .unwrap();
    assert_eq!(fs::read(&dest).unwrap(), img.layer);
}

#[test]
fn unknown_ca_is_a_tls_error_saying_where_the_certificate_goes() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = TestCa::create(tmp.path());
    let reg = Registry::start_tls(&ca);
    let client = client_in(tmp.path(), &RegistryConfig::default(), Some(true));

    let err = client
        .resolve(&reg.image("x/y:1"), &Platform::host())
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("/etc/docker/certs.d/{}/ca.crt", reg.addr())),
        "{err}"
    );
}

#[test]
fn loopback_https_registry_works_unverified_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = TestCa::create(tmp.path());
    let reg = Registry::start_tls(&ca);
    // Loopback is insecure like in Docker: HTTPS is tried first, without verification.
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let image = reg.image("x/y:1");
    let img = TestImage::new("amd64", 100, 32);
    let digest = img.push(&client, &image, tmp.path());
    assert_eq!(
        client
            .resolve(&image, &Platform::host())
            .unwrap()
            .manifest_digest,
        digest
    );
}

#[test]
fn a_broken_certificate_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = TestCa::create(tmp.path());
    let reg = Registry::start_tls(&ca);
    let host_dir = tmp.path().join("certs.d").join(reg.addr());
    fs::create_dir_all(&host_dir).unwrap();
    fs::write(host_dir.join("ca.crt"), "not a certificate").unwrap();

    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let err = client
        .resolve(&reg.image("x/y:1"), &Platform::host())
        .unwrap_err();
    assert!(matches!(err, Error::Certificate { .. }), "{err:?}");
    assert!(err.to_string().contains("ca.crt"), "{err}");
}
