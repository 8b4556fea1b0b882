//! Hostile layers are refused with an error that names the problem, and leave nothing
//! behind: no layer, no temp files, nothing outside the store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod layer_support;

use std::io::Write;
use std::process::{Command, Stdio};

use layer_support::*;
use store::{Compression, Digest, Error, Limits};

/// Unpacks `tar`, expects a Rejected error mentioning `needle`, and checks the store.
fn refused(tar: &[u8], needle: &str) {
    let t = TestStore::new();
    let err = t.unpack(tar).expect_err("a hostile layer was accepted");
    assert!(
        matches!(err, Error::Rejected(_)),
        "wrong error kind: {err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(needle),
        "error {msg:?} does not mention {needle:?}"
    );
    t.assert_nothing_left();
}

// The layer root sits at STORE/tmp/layer-*/root, so four `..` reach the sentinel dir.
const TO_OUTSIDE: &str = "../../../../outside";

#[test]
fn dot_dot_paths_are_refused() {
    refused(&RawTar::new().file("../escape", b"x").finish(), "'..'");
    refused(
        &RawTar::new()
            .file(&format!("{TO_OUTSIDE}/escape"), b"x")
            .finish(),
        "'..'",
    );
    refused(
        &RawTar::new().dir("a").file("a/../../escape", b"x").finish(),
        "'..'",
    );
}

#[test]
fn absolute_paths_are_refused() {
    refused(
        &RawTar::new().file("/abs/path/escape", b"x").finish(),
        "absolute path",
    );
}

#[test]
fn entries_through_a_symlink_are_refused() {
    let outside = TestStore::new().outside();
    let abs = outside.to_str().unwrap().to_string();
    for target in ["/", abs.as_str(), "../..", TO_OUTSIDE] {
        let tar = RawTar::new()
            .symlink("evil", target)
            .file("evil/escape", b"x")
            .finish();
        refused(&tar, "symlink escape");
        let tar = RawTar::new()
            .symlink("evil", target)
            .dir("evil/escape")
            .finish();
        refused(&tar, "symlink escape");
    }
    // Deeper: a symlinked directory in the middle of the path.
    let tar = RawTar::new()
        .dir("a")
        .symlink("a/b", "/")
        .file("a/b/c/escape", b"x")
        .finish();
    refused(&tar, "symlink escape");
}

#[test]
fn hard_links_leaving_the_layer_are_refused() {
    refused(
        &RawTar::new().hard_link("h", "../../etc/passwd").finish(),
        "hard-link escape",
    );
    refused(
        &RawTar::new().hard_link("h", "/etc/passwd").finish(),
        "hard-link escape",
    );
    refused(
        &RawTar::new()
            .hard_link("h", "later")
            .file("later", b"x")
            .finish(),
        "hard-link escape",
    );
    refused(
        &RawTar::new().dir("d").hard_link("h", "d").finish(),
        "hard-link escape",
    );
    refused(
        &RawTar::new()
            .symlink("s", "/etc")
            .hard_link("h", "s/passwd")
            .finish(),
        "hard-link escape",
    );
    refused(
        &RawTar::new().hard_link("h", "").finish(),
        "hard-link escape",
    );
}

#[test]
fn device_nodes_are_refused() {
    for kind in [tar::EntryType::Char, tar::EntryType::Block] {
        let tar = RawTar::new().entry(b"dev/sda", kind, b"", None).finish();
        refused(&tar, "device nodes are not allowed in image layers");
    }
}

#[test]
fn invalid_names_are_refused() {
    refused(&RawTar::new().file("", b"x").finish(), "empty name");
    refused(
        &RawTar::new().file("dir/.wh..", b"").finish(),
        "invalid whiteout",
    );
    refused(
        &RawTar::new().file("f", b"x").file("f/g", b"x").finish(),
        "not a directory",
    );
    refused(&RawTar::new().symlink("s", "").finish(), "empty target");
}

#[test]
fn a_wrong_diff_id_is_refused_and_nothing_is_published() {
    let t = TestStore::new();
    let tar = RawTar::new().file("f", b"content").finish();
    let wrong = Digest::of(b"something else");
    let err = t
        .store
        .unpack_layer(
            &tar[..],
            Compression::None,
            Some(&wrong),
            &Limits::default(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&Digest::of(&tar).to_string()),
        "{err}"
    );
    t.assert_nothing_left();
}

fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn truncated_compressed_streams_are_refused() {
    let tar = RawTar::new()
        .file("a", &noise(200_000))
        .file("b", &noise(100_000))
        .finish();
    let gz = gzip(&tar);
    let zst = zstd::encode_all(&tar[..], 3).unwrap();
    for (blob, c) in [(gz, Compression::Gzip), (zst, Compression::Zstd)] {
        for cut in [blob.len() / 2, blob.len() - 4] {
            let t = TestStore::new();
            let err = t
                .store
                .unpack_layer(&blob[..cut], c, None, &Limits::default())
                .unwrap_err();
            assert!(matches!(err, Error::Rejected(_)), "{err:?}");
            assert!(
                err.to_string().contains("truncated"),
                "{c:?} cut at {cut}: {err}"
            );
            t.assert_nothing_left();
        }
    }
}

#[test]
fn truncated_tars_are_refused() {
    let tar = RawTar::new()
        .file("a", &noise(5000))
        .file("b", b"second")
        .finish();
    refused(&tar[..3000], "truncated");
    refused(&tar[..700], "truncated");
    refused(&tar[..100], "truncated");
}

#[test]
fn garbage_is_refused() {
    refused(&noise(4096), "bad header checksum");
    let mut tar = RawTar::new().file("a", b"x").finish();
    tar.truncate(tar.len() - 1024);
    tar.extend_from_slice(&[0u8; 512]);
    tar.extend_from_slice(&RawTar::new().file("b", b"y").finish());
    refused(&tar, "single zero block");
}

#[test]
fn decompression_bombs_are_refused() {
    // 64 MiB of zeros compress to ~64 KiB.
    let mut gz = Command::new("gzip")
        .arg("-1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = gz.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let header = RawTar::new()
            .entry(b"zeros", tar::EntryType::Regular, b"", None)
            .finish();
        let mut h = tar::Header::from_byte_slice(&header[..512]).clone();
        h.set_size(64 << 20);
        h.set_cksum();
        stdin.write_all(h.as_bytes()).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..66 {
            stdin.write_all(&zeros).unwrap();
        }
    });
    let out = gz.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.stdout.len() < 1 << 20);
    let t = TestStore::new();
    let limits = Limits {
        max_unpacked: 1 << 20,
    };
    let err = t
        .store
        .unpack_layer(&out.stdout[..], Compression::Gzip, None, &limits)
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("more than 1048576 bytes") && msg.contains("BERTH_MAX_LAYER_SIZE"),
        "{msg}"
    );
    t.assert_nothing_left();
}

#[test]
fn sparse_bombs_count_their_full_size() {
    // An old-GNU sparse entry claiming 100 MiB with one 512-byte data segment.
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_path("huge").unwrap();
    h.set_size(512);
    h.set_mode(0o644);
    {
        let gnu = h.as_gnu_mut().unwrap();
        gnu.sparse[0].offset = *b"00000000000\0";
        gnu.sparse[0].numbytes = *b"00000001000\0";
        gnu.realsize = *b"00620000000\0"; // 100 MiB in octal
    }
    h.set_cksum();
    let mut tar = h.as_bytes().to_vec();
    tar.extend_from_slice(&[b'x'; 512]);
    tar.extend_from_slice(&[0u8; 1024]);
    let t = TestStore::new();
    let limits = Limits {
        max_unpacked: 1 << 20,
    };
    let err = t
        .store
        .unpack_layer(&tar[..], Compression::None, None, &limits)
        .unwrap_err();
    assert!(err.to_string().contains("BERTH_MAX_LAYER_SIZE"), "{err}");
    t.assert_nothing_left();
    // Within the limit it unpacks sparse and round-trips.
    let info = TestStore::new().round_trip(&tar);
    assert_eq!(info.files, 1);
}

#[test]
fn overlay_xattrs_from_the_archive_are_dropped() {
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([
        ("SCHILY.xattr.trusted.overlay.opaque", &b"y"[..]),
        ("SCHILY.xattr.trusted.overlay.redirect", &b"/etc"[..]),
        ("SCHILY.xattr.user.overlay.opaque", &b"y"[..]),
        ("SCHILY.xattr.user.kept", &b"1"[..]),
    ])
    .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_path("dir/").unwrap();
    h.set_mode(0o755);
    h.set_size(0);
    h.set_cksum();
    b.append(&h, &[][..]).unwrap();
    let tar = b.into_inner().unwrap();
    let t = TestStore::new();
    let info = t.round_trip(&tar);
    let dir = t.store.layer_root(&info.diff_id).join("dir");
    assert_eq!(get_xattr(&dir, "trusted.overlay.opaque"), None);
    assert_eq!(get_xattr(&dir, "trusted.overlay.redirect"), None);
    assert_eq!(get_xattr(&dir, "user.overlay.opaque"), None);
    assert_eq!(get_xattr(&dir, "user.kept").as_deref(), Some(&b"1"[..]));
}
