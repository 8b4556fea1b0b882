//! A layer unpacks to the right tree and its exact archive comes back from the
//! tar-split record, for every tar flavour found in the wild.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod layer_support;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use layer_support::*;
use store::{Compression, Digest, Limits};

#[derive(Clone, Copy, PartialEq)]
enum Flavour {
    Gnu,
    GnuSparse,
    Posix,
    PosixSparse,
    PosixSparse00,
    PosixSparse01,
    Busybox,
    TarCrate,
}

fn archive(flavour: Flavour, src: &Path) -> Vec<u8> {
    let gnu = ["tar"];
    let xattrs = ["--xattrs", "--xattrs-include=*"];
    match flavour {
        Flavour::Gnu => run_tar(&gnu, &["--format=gnu"], src),
        Flavour::GnuSparse => run_tar(&gnu, &["--format=gnu", "-S"], src),
        Flavour::Posix => run_tar(&gnu, &["--format=posix", xattrs[0], xattrs[1]], src),
        Flavour::PosixSparse => run_tar(&gnu, &["--format=posix", "-S", xattrs[0], xattrs[1]], src),
        Flavour::PosixSparse00 => run_tar(
            &gnu,
            &[
                "--format=posix",
                "-S",
                "--sparse-version=0.0",
                xattrs[0],
                xattrs[1],
            ],
            src,
        ),
        Flavour::PosixSparse01 => run_tar(
            &gnu,
            &[
                "--format=posix",
                "-S",
                "--sparse-version=0.1",
                xattrs[0],
                xattrs[1],
            ],
            src,
        ),
        Flavour::Busybox => run_tar(&["busybox", "tar"], &[], src),
        Flavour::TarCrate => tar_crate_archive(src),
    }
}

fn round_trip_flavour(flavour: Flavour) {
    let src = tempfile::tempdir().unwrap();
    fixture_tree(src.path());
    let tar = archive(flavour, src.path());
    let t = TestStore::new();
    let info = t.round_trip(&tar);
    let root = t.store.layer_root(&info.diff_id);
    assert_eq!(t.store.layer_info(&info.diff_id).unwrap(), info);
    assert_eq!(t.store.layers().unwrap(), vec![info.diff_id.clone()]);

    let meta = |p: &str| fs::symlink_metadata(root.join(p)).unwrap();
    let mode = |p: &str| meta(p).mode() & 0o7777;

    // Contents, names, types.
    assert_eq!(
        fs::read(root.join("d/sub/deep/file")).unwrap(),
        b"deep file\n"
    );
    assert_eq!(
        fs::read(root.join("d").join("n".repeat(LONG150))).unwrap(),
        b"150-char name\n"
    );
    assert_eq!(
        fs::read(root.join("d/sub").join("x".repeat(LONG255))).unwrap(),
        b"255-char component\n"
    );
    assert_eq!(meta("empty").len(), 0);
    assert_eq!(
        fs::read_link(root.join("link")).unwrap(),
        Path::new("d/sub/deep/file")
    );
    assert!(meta("fifo").file_type().is_fifo());
    assert_eq!(mode("fifo"), 0o640);

    // Modes, including setuid/setgid and a read-only directory; owners.
    assert_eq!(mode("bin/suid"), 0o4755);
    assert_eq!(mode("bin/sgid"), 0o2755);
    assert_eq!((meta("bin/sgid").uid(), meta("bin/sgid").gid()), (1000, 50));
    assert_eq!((meta("owned").uid(), meta("owned").gid()), (1234, 5678));
    assert_eq!(mode("ro"), 0o555);
    assert_eq!(
        fs::read(root.join("ro/inner")).unwrap(),
        b"inside a read-only dir\n"
    );
    assert_eq!(mode("."), 0o755);

    // Times: seconds always; nanoseconds where the format carries them.
    let nanos = matches!(
        flavour,
        Flavour::Posix | Flavour::PosixSparse | Flavour::PosixSparse00 | Flavour::PosixSparse01
    );
    for p in ["owned", "d/file", "link", "fifo", "sparse"] {
        assert_eq!(meta(p).mtime(), FILE_MTIME.0, "{p}");
        if nanos {
            assert_eq!(meta(p).mtime_nsec(), FILE_MTIME.1, "{p}");
        }
    }
    for p in ["d", "d/sub", "ro", "bin"] {
        assert_eq!(meta(p).mtime(), DIR_MTIME.0, "directory {p}");
    }

    // Hard links stay hard links (the tar crate's Builder does not detect them).
    if flavour != Flavour::TarCrate {
        assert_eq!(ino(&root.join("d/file")), ino(&root.join("d/hard")));
    }
    assert_eq!(
        fs::read(root.join("d/hard")).unwrap(),
        b"hard-linked content\n"
    );

    // Xattrs (only PAX archives carry them).
    if nanos {
        assert_eq!(
            get_xattr(&root.join("xattrs"), "user.foo").as_deref(),
            Some(&b"bar"[..])
        );
        assert_eq!(
            get_xattr(&root.join("xattrs"), "security.capability").as_deref(),
            Some(&CAP_NET_BIND[..])
        );
    }

    // The sparse file reads back whole but occupies few blocks, whatever the archive did.
    let sparse = fs::read(root.join("sparse")).unwrap();
    assert_eq!(sparse.len(), 5 + (1 << 20) + 22);
    assert!(sparse.starts_with(b"start") && sparse.ends_with(b"end of the sparse file"));
    assert!(sparse[5..5 + (1 << 20)].iter().all(|&b| b == 0));
    assert!(
        meta("sparse").blocks() * 512 <= 64 << 10,
        "sparse file has {} blocks",
        meta("sparse").blocks()
    );

    // Every regular file is in the pool and the pool checks out.
    assert!(info.files >= 10, "{info:?}");
    assert!(
        meta("owned").nlink() >= 2,
        "regular files are hard links to pool files"
    );
    assert_eq!(t.store.verify_pool().unwrap(), Vec::<String>::new());
}

#[test]
fn gnu_tar_archive_round_trips() {
    round_trip_flavour(Flavour::Gnu);
}

#[test]
fn gnu_tar_sparse_archive_round_trips() {
    round_trip_flavour(Flavour::GnuSparse);
}

#[test]
fn posix_pax_archive_with_xattrs_round_trips() {
    round_trip_flavour(Flavour::Posix);
}

#[test]
fn posix_pax_sparse_archive_round_trips() {
    round_trip_flavour(Flavour::PosixSparse);
}

#[test]
fn posix_pax_sparse_0_0_archive_round_trips() {
    round_trip_flavour(Flavour::PosixSparse00);
}

#[test]
fn posix_pax_sparse_0_1_archive_round_trips() {
    round_trip_flavour(Flavour::PosixSparse01);
}

#[test]
fn busybox_tar_archive_round_trips() {
    round_trip_flavour(Flavour::Busybox);
}

#[test]
fn tar_crate_archive_round_trips() {
    round_trip_flavour(Flavour::TarCrate);
}

#[test]
fn compressed_layers_unpack_to_the_same_diff_id() {
    let src = tempfile::tempdir().unwrap();
    fixture_tree(src.path());
    let tar = archive(Flavour::Posix, src.path());
    let t = TestStore::new();
    let diff_id = Digest::of(&tar);
    let gz = gzip(&tar);
    let zst = zstd::encode_all(&tar[..], 3).unwrap();
    assert_eq!(Compression::sniff(&gz), Compression::Gzip);
    assert_eq!(Compression::sniff(&zst), Compression::Zstd);
    assert_eq!(Compression::sniff(&tar), Compression::None);
    for (blob, c) in [(gz, Compression::Gzip), (zst, Compression::Zstd)] {
        let info = t
            .store
            .unpack_layer(&blob[..], c, Some(&diff_id), &Limits::default())
            .unwrap();
        assert_eq!(info.diff_id, diff_id);
        let mut out = Vec::new();
        t.store.write_layer_tar(&diff_id, &mut out).unwrap();
        assert_eq!(out, tar);
    }
    assert_eq!(t.store.layers().unwrap(), vec![diff_id]);
}

#[test]
fn media_types_name_their_compression() {
    let cases = [
        (
            "application/vnd.oci.image.layer.v1.tar",
            Some(Compression::None),
        ),
        (
            "application/vnd.oci.image.layer.v1.tar+gzip",
            Some(Compression::Gzip),
        ),
        (
            "application/vnd.oci.image.layer.v1.tar+zstd",
            Some(Compression::Zstd),
        ),
        (
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            Some(Compression::Gzip),
        ),
        (
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            Some(Compression::Gzip),
        ),
        (
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            Some(Compression::Gzip),
        ),
        ("application/vnd.oci.image.config.v1+json", None),
        ("application/vnd.oci.image.layer.v1.tar+bzip2", None),
    ];
    for (mt, want) in cases {
        assert_eq!(Compression::from_media_type(mt), want, "{mt}");
    }
}

#[test]
fn later_entries_replace_earlier_ones_and_the_archive_still_round_trips() {
    let tar = RawTar::new()
        .file("a", b"first version of a")
        .file("a", b"second version")
        .dir("d")
        .file("d/x", b"x inside d")
        .file("d/y", b"y inside d")
        .symlink("d", "/etc")
        .file("b", b"b")
        .hard_link("c", "b")
        .file("b", b"b replaced")
        .dir("keep")
        .file("keep/z", b"z")
        .dir("keep")
        .finish();
    let t = TestStore::new();
    let info = t.round_trip(&tar);
    let root = t.store.layer_root(&info.diff_id);
    assert_eq!(fs::read(root.join("a")).unwrap(), b"second version");
    assert_eq!(fs::read_link(root.join("d")).unwrap(), Path::new("/etc"));
    assert_eq!(fs::read(root.join("b")).unwrap(), b"b replaced");
    assert_eq!(fs::read(root.join("c")).unwrap(), b"b");
    assert_eq!(fs::read(root.join("keep/z")).unwrap(), b"z");
    assert_eq!(
        info.files, 7,
        "every regular-file entry counts, replaced ones too"
    );
}

#[test]
fn an_archive_without_end_blocks_and_with_trailing_bytes_round_trips() {
    let mut no_end = RawTar::new().file("f", b"data").finish();
    no_end.truncate(no_end.len() - 1024);
    TestStore::new().round_trip(&no_end);

    let mut trailing = RawTar::new().file("f", b"data").finish();
    trailing.extend_from_slice(&[0u8; 9000]);
    trailing.extend_from_slice(b"junk after the end of the archive");
    TestStore::new().round_trip(&trailing);

    TestStore::new().round_trip(b"");
}

#[test]
fn unpacking_an_existing_layer_again_succeeds_and_concurrent_unpacks_agree() {
    let src = tempfile::tempdir().unwrap();
    fixture_tree(src.path());
    let tar = archive(Flavour::Gnu, src.path());
    let t = TestStore::new();
    let infos: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| t.unpack(&tar).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(infos.iter().all(|i| i.diff_id == infos[0].diff_id));
    assert_eq!(t.store.layers().unwrap().len(), 1);
    assert_eq!(fs::read_dir(t.store.tmp()).unwrap().count(), 0);
    t.store.verify_layer(&infos[0].diff_id).unwrap();
    assert_eq!(t.store.verify_pool().unwrap(), Vec::<String>::new());
}

#[test]
fn a_real_system_tree_round_trips_in_every_gnu_format() {
    let src = std::path::Path::new("/usr/share/zoneinfo");
    if !src.is_dir() {
        eprintln!("skipped: no {}", src.display());
        return;
    }
    for format in ["--format=gnu", "--format=posix", "--format=ustar"] {
        let tar = run_tar(&["tar"], &[format, "--sort=name"], src);
        let t = TestStore::new();
        let info = t.round_trip(&tar);
        assert!(info.files > 100, "{format}: {info:?}");
        assert_eq!(t.store.verify_pool().unwrap(), Vec::<String>::new());
    }
}
