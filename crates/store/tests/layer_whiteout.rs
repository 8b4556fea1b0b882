//! OCI whiteouts become overlayfs whiteouts, since every layer dir is an overlay lower.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod layer_support;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use layer_support::*;

#[test]
fn whiteouts_become_char_devices_and_opaque_markers_become_xattrs() {
    let tar = RawTar::new()
        .dir("dir")
        .file("dir/.wh.gone", b"")
        .file("dir/.wh..wh..opq", b"")
        .file(".wh.top", b"")
        .file(".wh..wh.plnk", b"")
        .file("replaced", b"was here")
        .file(".wh.replaced", b"")
        .finish();
    let t = TestStore::new();
    let info = t.round_trip(&tar);
    let root = t.store.layer_root(&info.diff_id);
    for p in ["dir/gone", "top", "replaced"] {
        let m = fs::symlink_metadata(root.join(p)).unwrap();
        assert!(m.file_type().is_char_device(), "{p} is not a whiteout");
        assert_eq!(m.rdev(), 0, "{p} is not device 0/0");
    }
    assert_eq!(
        get_xattr(&root.join("dir"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(get_xattr(&root, "trusted.overlay.opaque"), None);
    let mut all = Vec::new();
    walk(&root, &mut all);
    assert!(
        !all.iter()
            .any(|p| p.file_name().unwrap().to_string_lossy().starts_with(".wh.")),
        "whiteout marker files must not appear in the tree: {all:?}"
    );
}
