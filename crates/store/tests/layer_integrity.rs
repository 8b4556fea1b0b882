//! Integrity checks notice tampering with unpacked layers and pool files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod layer_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use layer_support::*;
use store::Error;

fn sample() -> Vec<u8> {
    RawTar::new()
        .dir("etc")
        .file("etc/config", b"hello world")
        .file("etc/other", b"untouched")
        .finish()
}

fn make_writable(p: &std::path::Path) {
    fs::set_permissions(p, fs::Permissions::from_mode(0o644)).unwrap();
}

#[test]
fn verify_layer_notices_changed_content() {
    let t = TestStore::new();
    let d = t.round_trip(&sample()).diff_id;
    let f = t.store.layer_root(&d).join("etc/config");
    make_writable(&f);
    fs::write(&f, b"HELLO world").unwrap();
    let err = t.store.verify_layer(&d).unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
    // The layer's file is a pool file: the pool check sees it too.
    let problems = t.store.verify_pool().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("changed"), "{problems:?}");
}

#[test]
fn verify_layer_notices_changed_sizes_and_missing_files() {
    let t = TestStore::new();
    let d = t.round_trip(&sample()).diff_id;
    let f = t.store.layer_root(&d).join("etc/config");
    make_writable(&f);
    fs::write(&f, b"hello world, and more").unwrap();
    assert!(matches!(
        t.store.verify_layer(&d),
        Err(Error::DigestMismatch { .. })
    ));
    let err = t.store.write_layer_tar(&d, std::io::sink()).unwrap_err();
    assert!(err.to_string().contains("damaged"), "{err}");

    fs::remove_file(t.store.layer_root(&d).join("etc/other")).unwrap();
    assert!(matches!(
        t.store.verify_layer(&d),
        Err(Error::DigestMismatch { .. })
    ));
}

#[test]
fn verify_pool_notices_changed_pool_files() {
    let t = TestStore::new();
    t.round_trip(&sample());
    assert_eq!(t.store.verify_pool().unwrap(), Vec::<String>::new());
    let mut pool = Vec::new();
    walk(&t.store.dir().join("files"), &mut pool);
    let victim = pool
        .iter()
        .find(|p| p.is_file() && fs::read(p).unwrap() == b"untouched")
        .unwrap();
    // A metadata change alone is tampering too.
    fs::set_permissions(victim, fs::Permissions::from_mode(0o600)).unwrap();
    let problems = t.store.verify_pool().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("files/"), "{problems:?}");
}
