//! Identical files (same content and metadata) across layers share one pool inode;
//! any metadata difference keeps them apart; sweeping frees only unused pool files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod layer_support;

use std::fs;
use std::os::unix::fs::MetadataExt;

use layer_support::*;
use store::Error;

struct F<'a> {
    name: &'a str,
    data: &'a [u8],
    mode: u32,
    mtime: u64,
}

fn f<'a>(name: &'a str, data: &'a [u8]) -> F<'a> {
    F {
        name,
        data,
        mode: 0o644,
        mtime: 1_600_000_000,
    }
}

fn layer(files: &[F<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for file in files {
        let mut h = header(file.data.len() as u64, file.mode, file.mtime);
        b.append_data(&mut h, file.name, file.data).unwrap();
    }
    b.into_inner().unwrap()
}

fn pool_count(t: &TestStore) -> usize {
    let mut all = Vec::new();
    walk(&t.store.dir().join("files"), &mut all);
    all.iter().filter(|p| p.is_file()).count()
}

#[test]
fn identical_files_share_one_inode_and_sweeping_frees_only_unused_ones() {
    let t = TestStore::new();
    let one = layer(&[
        f("same", b"shared content"),
        f("empty", b""),
        f("dup-in-layer", b"shared content"),
        f("only-here", b"layer one"),
        F {
            mtime: 1_600_000_001,
            ..f("other-mtime", b"x")
        },
        F {
            mode: 0o755,
            ..f("other-mode", b"y")
        },
    ]);
    let two = layer(&[
        f("same", b"shared content"),
        f("empty", b""),
        f("only-here", b"layer two"),
        f("other-mtime", b"x"),
        f("other-mode", b"y"),
    ]);
    let l1 = t.round_trip(&one).diff_id;
    let l2 = t.round_trip(&two).diff_id;
    let (r1, r2) = (t.store.layer_root(&l1), t.store.layer_root(&l2));

    assert_eq!(ino(&r1.join("same")), ino(&r2.join("same")));
    assert_eq!(ino(&r1.join("same")), ino(&r1.join("dup-in-layer")));
    assert_eq!(ino(&r1.join("empty")), ino(&r2.join("empty")));
    assert_eq!(
        fs::metadata(r1.join("same")).unwrap().nlink(),
        4,
        "pool + 3 layer names"
    );
    assert_ne!(ino(&r1.join("other-mtime")), ino(&r2.join("other-mtime")));
    assert_ne!(ino(&r1.join("other-mode")), ino(&r2.join("other-mode")));
    assert_ne!(ino(&r1.join("only-here")), ino(&r2.join("only-here")));
    // same, empty, 2 x only-here, 2 x other-mtime, 2 x other-mode
    assert_eq!(pool_count(&t), 8);
    assert_eq!(t.store.verify_pool().unwrap(), Vec::<String>::new());

    // Sweeping needs the exclusive lock.
    {
        let shared = t.store.lock_shared().unwrap();
        assert!(matches!(
            t.store.sweep_pool(&shared),
            Err(Error::Invalid(_))
        ));
    }
    let lock = t.store.lock_exclusive().unwrap();
    assert_eq!(
        t.store.sweep_pool(&lock).unwrap(),
        (0, 0),
        "every pool file is in use"
    );

    t.store.remove_layer(&l1).unwrap();
    assert_eq!(t.store.layers().unwrap(), vec![l2.clone()]);
    assert_eq!(fs::read_dir(t.store.tmp()).unwrap().count(), 0);
    let (files, bytes) = t.store.sweep_pool(&lock).unwrap();
    assert_eq!(
        files, 3,
        "layer one's own only-here, other-mtime and other-mode"
    );
    assert_eq!(bytes, 9 + 1 + 1);
    assert_eq!(pool_count(&t), 5);
    assert_eq!(fs::read(r2.join("same")).unwrap(), b"shared content");
    t.store.verify_layer(&l2).unwrap();
    assert_eq!(t.store.verify_pool().unwrap(), Vec::<String>::new());

    t.store.remove_layer(&l2).unwrap();
    t.store.remove_layer(&l2).unwrap(); // removing a missing layer succeeds
    assert_eq!(t.store.sweep_pool(&lock).unwrap().0, 5);
    assert_eq!(pool_count(&t), 0);
    assert!(t.store.layers().unwrap().is_empty());
    assert!(t.store.layer_info(&l2).is_err());
}

#[test]
fn xattrs_and_owners_are_part_of_a_files_identity() {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = header(5, 0o644, 1_600_000_000);
    b.append_data(&mut h, "plain", &b"hello"[..]).unwrap();
    let mut h = header(5, 0o644, 1_600_000_000);
    h.set_uid(1000);
    b.append_data(&mut h, "owned", &b"hello"[..]).unwrap();
    b.append_pax_extensions([("SCHILY.xattr.user.tag", &b"v"[..])])
        .unwrap();
    let mut h = header(5, 0o644, 1_600_000_000);
    b.append_data(&mut h, "tagged", &b"hello"[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let t = TestStore::new();
    let root = t.store.layer_root(&t.round_trip(&tar).diff_id);
    let inos = [
        ino(&root.join("plain")),
        ino(&root.join("owned")),
        ino(&root.join("tagged")),
    ];
    assert!(
        inos[0] != inos[1] && inos[1] != inos[2] && inos[0] != inos[2],
        "{inos:?}"
    );
    assert_eq!(
        get_xattr(&root.join("tagged"), "user.tag").as_deref(),
        Some(&b"v"[..])
    );
    assert_eq!(fs::metadata(root.join("owned")).unwrap().uid(), 1000);
}
