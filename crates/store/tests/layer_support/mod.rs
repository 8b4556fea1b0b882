//! Shared helpers for the layer tests: temp stores with a sentinel directory beside
//! them, the fixture tree, tar flavours made by real tools, and raw hostile archives.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use rustix::fs::{AtFlags, Mode, Timespec, Timestamps, XattrFlags, CWD};
use store::{Compression, Digest, LayerInfo, Limits, Store};

/// Fixed times for the fixture (with nanoseconds, which PAX archives carry).
pub const FILE_MTIME: (i64, i64) = (1_600_000_000, 123_456_789);
pub const DIR_MTIME: (i64, i64) = (1_500_000_000, 0);
pub const LONG150: usize = 150;
pub const LONG255: usize = 255;

/// A security.capability value (VFS_CAP_REVISION_2, effective, cap_net_bind_service).
pub const CAP_NET_BIND: [u8; 20] = [
    0x01, 0, 0, 0x02, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

pub struct TestStore {
    pub base: tempfile::TempDir,
    pub store: Store,
}

impl TestStore {
    pub fn new() -> TestStore {
        let base = tempfile::tempdir().unwrap();
        fs::create_dir(base.path().join("outside")).unwrap();
        let store = Store::open(base.path().join("store")).unwrap();
        TestStore { base, store }
    }

    pub fn outside(&self) -> PathBuf {
        self.base.path().join("outside")
    }

    pub fn unpack(&self, tar: &[u8]) -> store::Result<LayerInfo> {
        let _lock = self.store.lock_shared().unwrap();
        self.store
            .unpack_layer(tar, Compression::None, None, &Limits::default())
    }

    /// Unpacks, then checks the archive comes back byte for byte and verifies.
    pub fn round_trip(&self, tar: &[u8]) -> LayerInfo {
        let info = self.unpack(tar).unwrap();
        assert_eq!(info.diff_id, Digest::of(tar));
        assert_eq!(info.size, tar.len() as u64);
        let mut out = Vec::new();
        let n = self.store.write_layer_tar(&info.diff_id, &mut out).unwrap();
        assert_eq!(n, tar.len() as u64);
        if out != tar {
            let at = out
                .iter()
                .zip(tar)
                .position(|(a, b)| a != b)
                .unwrap_or(out.len().min(tar.len()));
            panic!(
                "rebuilt archive differs at byte {at} (lengths {} vs {})",
                out.len(),
                tar.len()
            );
        }
        self.store.verify_layer(&info.diff_id).unwrap();
        info
    }

    /// Asserts that a refused unpack left nothing behind.
    pub fn assert_nothing_left(&self) {
        let empty = |p: &Path| fs::read_dir(p).unwrap().count() == 0;
        assert!(
            empty(&self.outside()),
            "something was written outside the store"
        );
        assert!(
            empty(&self.store.dir().join("layers")),
            "a layer was published"
        );
        assert!(empty(&self.store.tmp()), "temp files were left behind");
        assert!(
            empty(&self.store.dir().join("files")),
            "files were added to the pool"
        );
        let mut names = Vec::new();
        walk(self.base.path(), &mut names);
        assert!(
            !names.iter().any(|n| n
                .file_name()
                .is_some_and(|f| f == "escape" || f == "passwd")),
            "an escaping entry was created: {names:?}"
        );
        let listing: Vec<_> = fs::read_dir(self.base.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            listing.len(),
            2,
            "unexpected files beside the store: {listing:?}"
        );
    }
}

pub fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        out.push(e.path());
        if e.file_type().unwrap().is_dir() {
            walk(&e.path(), out);
        }
    }
}

pub fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    rustix::fs::lsetxattr(path, name, value, XattrFlags::empty()).unwrap();
}

pub fn get_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    match rustix::fs::lgetxattr(path, name, &mut buf[..]) {
        Ok(n) => {
            buf.truncate(n);
            Some(buf)
        }
        Err(_) => None,
    }
}

pub fn set_times(path: &Path, (sec, nsec): (i64, i64)) {
    let t = Timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    };
    rustix::fs::utimensat(
        CWD,
        path,
        &Timestamps {
            last_access: t,
            last_modification: t,
        },
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
}

/// The tree every flavour archives.
pub fn fixture_tree(src: &Path) {
    fs::create_dir_all(src.join("d/sub/deep")).unwrap();
    fs::write(src.join("d/sub/deep/file"), b"deep file\n").unwrap();
    fs::write(src.join("d/file"), b"hard-linked content\n").unwrap();
    fs::hard_link(src.join("d/file"), src.join("d/hard")).unwrap();
    fs::create_dir(src.join("ro")).unwrap();
    fs::write(src.join("ro/inner"), b"inside a read-only dir\n").unwrap();
    fs::create_dir(src.join("bin")).unwrap();
    fs::write(src.join("bin/suid"), b"#!/bin/sh\n").unwrap();
    chown(&src.join("bin/suid"), 0, 0);
    chmod(&src.join("bin/suid"), 0o4755);
    fs::write(src.join("bin/sgid"), b"#!/bin/sh\necho sgid\n").unwrap();
    chown(&src.join("bin/sgid"), 1000, 50);
    chmod(&src.join("bin/sgid"), 0o2755);
    fs::write(src.join("owned"), b"owned by 1234:5678\n").unwrap();
    chown(&src.join("owned"), 1234, 5678);
    fs::write(src.join("xattrs"), b"has xattrs\n").unwrap();
    set_xattr(&src.join("xattrs"), "user.foo", b"bar");
    set_xattr(&src.join("xattrs"), "security.capability", &CAP_NET_BIND);
    std::os::unix::fs::symlink("d/sub/deep/file", src.join("link")).unwrap();
    rustix::fs::mknodat(
        CWD,
        src.join("fifo"),
        rustix::fs::FileType::Fifo,
        Mode::from_raw_mode(0o640),
        0,
    )
    .unwrap();
    chmod(&src.join("fifo"), 0o640);
    let mut f = fs::File::create(src.join("sparse")).unwrap();
    f.write_all(b"start").unwrap();
    f.set_len(5 + (1 << 20)).unwrap();
    use std::io::Seek;
    f.seek(std::io::SeekFrom::End(0)).unwrap();
    f.write_all(b"end of the sparse file").unwrap();
    drop(f);
    fs::write(src.join("d").join("n".repeat(LONG150)), b"150-char name\n").unwrap();
    fs::write(
        src.join("d/sub").join("x".repeat(LONG255)),
        b"255-char component\n",
    )
    .unwrap();
    fs::File::create(src.join("empty")).unwrap();
    chmod(src, 0o755);
    chmod(&src.join("ro"), 0o555);
    set_tree_times(src);
}

fn set_tree_times(dir: &Path) {
    let mut all = Vec::new();
    walk(dir, &mut all);
    for p in &all {
        if !p.symlink_metadata().unwrap().is_dir() {
            set_times(p, FILE_MTIME);
        }
    }
    for p in &all {
        if p.symlink_metadata().unwrap().is_dir() {
            set_times(p, DIR_MTIME);
        }
    }
    set_times(dir, DIR_MTIME);
}

/// Runs GNU tar (or busybox tar) in `src`, archiving `.`.
pub fn run_tar(program: &[&str], args: &[&str], src: &Path) -> Vec<u8> {
    let out = Command::new(program[0])
        .args(&program[1..])
        .args(args)
        .arg("-cf")
        .arg("-")
        .arg("-C")
        .arg(src)
        .arg(".")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program:?} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Archives `src` with the `tar` crate's Builder.
pub fn tar_crate_archive(src: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    b.append_dir_all(".", src).unwrap();
    b.into_inner().unwrap()
}

pub fn ino(p: &Path) -> u64 {
    fs::symlink_metadata(p).unwrap().ino()
}

/// Raw archive building for hostile inputs: names are written straight into the
/// header, so `..` and absolute paths survive.
pub struct RawTar(pub Vec<u8>);

impl RawTar {
    pub fn new() -> RawTar {
        RawTar(Vec::new())
    }

    pub fn entry(
        &mut self,
        name: &[u8],
        kind: tar::EntryType,
        data: &[u8],
        link: Option<&[u8]>,
    ) -> &mut RawTar {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        {
            let old = h.as_old_mut();
            old.name = [0; 100];
            old.name[..name.len()].copy_from_slice(name);
            if let Some(l) = link {
                old.linkname = [0; 100];
                old.linkname[..l.len()].copy_from_slice(l);
            }
        }
        h.set_cksum();
        self.0.extend_from_slice(h.as_bytes());
        self.0.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.0.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut RawTar {
        self.entry(name.as_bytes(), tar::EntryType::Regular, data, None)
    }

    pub fn dir(&mut self, name: &str) -> &mut RawTar {
        self.entry(name.as_bytes(), tar::EntryType::Directory, b"", None)
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut RawTar {
        self.entry(
            name.as_bytes(),
            tar::EntryType::Symlink,
            b"",
            Some(target.as_bytes()),
        )
    }

    pub fn hard_link(&mut self, name: &str, target: &str) -> &mut RawTar {
        self.entry(
            name.as_bytes(),
            tar::EntryType::Link,
            b"",
            Some(target.as_bytes()),
        )
    }

    pub fn finish(&mut self) -> Vec<u8> {
        let mut v = std::mem::take(&mut self.0);
        v.extend_from_slice(&[0u8; 1024]);
        v
    }
}

/// A regular-file header for the `tar` crate with full metadata.
pub fn header(size: u64, mode: u32, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}
