//! Real OCI images built offline, without berth: deterministic layer tars, OCI image
//! layouts (single and multi-platform), `docker save` archives, and skopeo to move them
//! into a local [`crate::registry::Registry`]. Never reaches beyond 127.0.0.1 and never
//! uses berth's own image code, so it can judge that code.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const MT_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MT_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MT_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MT_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MT_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MT_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Every timestamp in what we build, so that equal inputs give equal digests.
const EPOCH: &str = "1970-01-01T00:00:00Z";
const BUSYBOX_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The OCI architecture name of this host (`amd64`, `arm64`, ...).
pub fn host_arch() -> String {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
    .to_string()
}

// ---------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------

/// One layer, before it becomes the uncompressed tar bytes in [`ImageSpec::layers`].
#[derive(Debug, Clone)]
pub enum LayerSpec {
    /// A directory tree, archived with [`tar_dir`].
    Dir(PathBuf),
    /// Entries written verbatim by [`tar_entries`]: hostile names and links allowed.
    Entries(Vec<TarEntry>),
    /// Tar bytes used as they are.
    Tar(Vec<u8>),
}

impl LayerSpec {
    /// The uncompressed tar bytes of this layer.
    pub fn to_tar(&self) -> Vec<u8> {
        match self {
            LayerSpec::Dir(dir) => tar_dir(dir),
            LayerSpec::Entries(entries) => tar_entries(entries),
            LayerSpec::Tar(bytes) => bytes.clone(),
        }
    }
}

/// What a [`TarEntry`] is.
#[derive(Debug, Clone)]
pub enum TarKind {
    File(Vec<u8>),
    Dir,
    Symlink(String),
    /// A hard link to another entry's path (as written in the tar).
    Hardlink(String),
    Fifo,
}

/// One tar entry, written without any path checks: `../x`, `/abs`, links pointing out.
#[derive(Debug, Clone)]
pub struct TarEntry {
    pub path: String,
    pub kind: TarKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

impl TarEntry {
    pub fn file(path: &str, content: impl Into<Vec<u8>>) -> TarEntry {
        TarEntry::new(path, TarKind::File(content.into()), 0o644)
    }

    pub fn dir(path: &str) -> TarEntry {
        TarEntry::new(path, TarKind::Dir, 0o755)
    }

    pub fn symlink(path: &str, target: &str) -> TarEntry {
        TarEntry::new(path, TarKind::Symlink(target.to_string()), 0o777)
    }

    pub fn hardlink(path: &str, target: &str) -> TarEntry {
        TarEntry::new(path, TarKind::Hardlink(target.to_string()), 0o644)
    }

    pub fn fifo(path: &str) -> TarEntry {
        TarEntry::new(path, TarKind::Fifo, 0o644)
    }

    /// A whiteout deleting `path` (`dir/.wh.name`) from lower layers.
    pub fn whiteout(path: &str) -> TarEntry {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let wh = if dir.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{dir}/.wh.{name}")
        };
        TarEntry::file(&wh, Vec::new())
    }

    /// An opaque-directory marker: `dir` hides everything lower layers put in it.
    pub fn opaque(dir: &str) -> TarEntry {
        TarEntry::file(
            &format!("{}/.wh..wh..opq", dir.trim_end_matches('/')),
            Vec::new(),
        )
    }

    pub fn new(path: &str, kind: TarKind, mode: u32) -> TarEntry {
        TarEntry {
            path: path.to_string(),
            kind,
            mode,
            uid: 0,
            gid: 0,
        }
    }

    pub fn mode(mut self, mode: u32) -> TarEntry {
        self.mode = mode;
        self
    }

    pub fn owner(mut self, uid: u64, gid: u64) -> TarEntry {
        self.uid = uid;
        self.gid = gid;
        self
    }
}

/// A tar of `entries` in the given order. Names and link targets go in byte for byte
/// (GNU long-name records past 100 bytes), so tests can build archives that a careful
/// writer would refuse to produce.
pub fn tar_entries(entries: &[TarEntry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(e.mode);
        h.set_uid(e.uid);
        h.set_gid(e.gid);
        h.set_mtime(0);
        let (ty, data, link): (tar::EntryType, &[u8], Option<&str>) = match &e.kind {
            TarKind::File(c) => (tar::EntryType::Regular, c, None),
            TarKind::Dir => (tar::EntryType::Directory, &[], None),
            TarKind::Symlink(t) => (tar::EntryType::Symlink, &[], Some(t)),
            TarKind::Hardlink(t) => (tar::EntryType::Link, &[], Some(t)),
            TarKind::Fifo => (tar::EntryType::Fifo, &[], None),
        };
        h.set_entry_type(ty);
        h.set_size(data.len() as u64);
        raw_name(&mut b, &mut h, e.path.as_bytes(), false);
        if let Some(t) = link {
            raw_name(&mut b, &mut h, t.as_bytes(), true);
        }
        h.set_cksum();
        b.append(&h, data).expect("tar append");
    }
    b.into_inner().expect("tar finish")
}

/// Puts `name` into the header's name (or link name) field unchecked, preceded by a GNU
/// long-name record when it does not fit.
fn raw_name(b: &mut tar::Builder<Vec<u8>>, h: &mut tar::Header, name: &[u8], link: bool) {
    let field: &mut [u8; 100] = if link {
        &mut h.as_old_mut().linkname
    } else {
        &mut h.as_old_mut().name
    };
    field.fill(0);
    if name.len() <= field.len() {
        field[..name.len()].copy_from_slice(name);
        return;
    }
    field.copy_from_slice(&name[..100]);
    let mut long = tar::Header::new_gnu();
    long.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
    long.set_entry_type(if link {
        tar::EntryType::GNULongLink
    } else {
        tar::EntryType::GNULongName
    });
    long.set_mode(0o644);
    long.set_mtime(0);
    let mut data = name.to_vec();
    data.push(0);
    long.set_size(data.len() as u64);
    long.set_cksum();
    b.append(&long, data.as_slice()).expect("tar long name");
}

/// A deterministic tar of everything under `dir` (not `dir` itself): entries sorted by
/// path, numeric owners and modes kept, mtimes zeroed, symlinks stored as links, hard
/// links within the tree stored as tar hard links, fifos and device nodes kept.
pub fn tar_dir(dir: &Path) -> Vec<u8> {
    let mut paths = Vec::new();
    walk(dir, Path::new(""), &mut paths);
    paths.sort();
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    let mut seen_inodes: HashMap<(u64, u64), PathBuf> = HashMap::new();
    for rel in paths {
        let full = dir.join(&rel);
        let meta = fs::symlink_metadata(&full).expect("stat for tar");
        let mut h = tar::Header::new_gnu();
        h.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
        h.set_mtime(0);
        let ft = meta.file_type();
        if ft.is_dir() {
            h.set_size(0);
            b.append_data(&mut h, &rel, std::io::empty())
                .expect("tar dir");
        } else if ft.is_symlink() {
            let target = fs::read_link(&full).expect("readlink");
            h.set_size(0);
            b.append_link(&mut h, &rel, &target).expect("tar symlink");
        } else if ft.is_file() {
            if meta.nlink() > 1 {
                if let Some(first) = seen_inodes.get(&(meta.dev(), meta.ino())) {
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_size(0);
                    b.append_link(&mut h, &rel, first).expect("tar hardlink");
                    continue;
                }
                seen_inodes.insert((meta.dev(), meta.ino()), rel.clone());
            }
            let f = fs::File::open(&full).expect("open for tar");
            b.append_data(&mut h, &rel, f).expect("tar file");
        } else {
            if ft.is_char_device() || ft.is_block_device() {
                let dev = meta.rdev();
                let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
                let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
                h.set_device_major(major as u32).expect("dev major");
                h.set_device_minor(minor as u32).expect("dev minor");
            }
            h.set_size(0);
            b.append_data(&mut h, &rel, std::io::empty())
                .expect("tar special file");
        }
    }
    b.into_inner().expect("tar finish")
}

fn walk(base: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(base.join(rel))
        .expect("read dir for tar")
        .map(|e| e.expect("dir entry").file_name())
        .collect();
    entries.sort();
    for name in entries {
        let r = rel.join(&name);
        let is_dir = fs::symlink_metadata(base.join(&r))
            .expect("stat for tar")
            .is_dir();
        out.push(r.clone());
        if is_dir {
            walk(base, &r, out);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerCompression {
    Gzip,
    Zstd,
    None,
}

impl LayerCompression {
    pub fn media_type(self) -> &'static str {
        match self {
            LayerCompression::Gzip => MT_LAYER_GZIP,
            LayerCompression::Zstd => MT_LAYER_ZSTD,
            LayerCompression::None => MT_LAYER_TAR,
        }
    }

    /// Deterministic: gzip with mtime 0 and no name, zstd at a fixed level.
    pub fn compress(self, tar: &[u8]) -> Vec<u8> {
        match self {
            LayerCompression::Gzip => {
                let mut gz = flate2::GzBuilder::new()
                    .mtime(0)
                    .write(Vec::new(), flate2::Compression::fast());
                gz.write_all(tar).expect("gzip");
                gz.finish().expect("gzip finish")
            }
            LayerCompression::Zstd => zstd::encode_all(tar, 3).expect("zstd"),
            LayerCompression::None => tar.to_vec(),
        }
    }
}

/// What an image is made of. `config` is the image config's `config` section
/// (Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts, Healthcheck, StopSignal, Labels...).
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// Uncompressed tar bytes, lowest layer first (see [`LayerSpec::to_tar`]).
    pub layers: Vec<Vec<u8>>,
    pub compression: LayerCompression,
    pub config: Value,
    pub architecture: String,
    pub os: String,
    pub variant: Option<String>,
}

impl Default for ImageSpec {
    fn default() -> ImageSpec {
        ImageSpec {
            layers: Vec::new(),
            compression: LayerCompression::Gzip,
            config: json!({}),
            architecture: host_arch(),
            os: "linux".to_string(),
            variant: None,
        }
    }
}

impl ImageSpec {
    /// A host-platform, gzip image of `layers` with an empty config section.
    pub fn new(layers: &[LayerSpec]) -> ImageSpec {
        ImageSpec {
            layers: layers.iter().map(LayerSpec::to_tar).collect(),
            ..ImageSpec::default()
        }
    }

    /// The OCI platform object of this image.
    pub fn platform(&self) -> Value {
        let mut p = json!({ "architecture": self.architecture, "os": self.os });
        if let Some(v) = &self.variant {
            p["variant"] = json!(v);
        }
        p
    }
}

/// A layer as stored: compressed bytes and their digest, and the diff id of the tar.
#[derive(Debug, Clone)]
pub struct BuiltLayer {
    pub media_type: &'static str,
    pub digest: String,
    pub diff_id: String,
    pub bytes: Vec<u8>,
}

/// Every blob of one image, with digests, ready to be written anywhere.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub manifest: Vec<u8>,
    pub manifest_digest: String,
    pub config: Vec<u8>,
    pub config_digest: String,
    pub layers: Vec<BuiltLayer>,
}

impl BuiltImage {
    /// The manifest's descriptor (for an index), with the image's platform.
    pub fn descriptor(&self, spec: &ImageSpec) -> Value {
        json!({
            "mediaType": MT_MANIFEST,
            "digest": self.manifest_digest,
            "size": self.manifest.len(),
            "platform": spec.platform(),
        })
    }

    fn blobs(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.layers
            .iter()
            .map(|l| (l.digest.as_str(), l.bytes.as_slice()))
            .chain([
                (self.config_digest.as_str(), self.config.as_slice()),
                (self.manifest_digest.as_str(), self.manifest.as_slice()),
            ])
    }
}

/// Builds the config, compressed layers and OCI manifest of `spec`. Same spec, same bytes.
pub fn build_image(spec: &ImageSpec) -> BuiltImage {
    let layers: Vec<BuiltLayer> = spec
        .layers
        .iter()
        .map(|tar| {
            let bytes = spec.compression.compress(tar);
            BuiltLayer {
                media_type: spec.compression.media_type(),
                digest: sha256_digest(&bytes),
                diff_id: sha256_digest(tar),
                bytes,
            }
        })
        .collect();
    let history: Vec<Value> = (0..layers.len())
        .map(|i| json!({ "created": EPOCH, "created_by": format!("berth-testsupport layer {i}") }))
        .collect();
    let mut config = json!({
        "created": EPOCH,
        "architecture": spec.architecture,
        "os": spec.os,
        "config": if spec.config.is_null() { json!({}) } else { spec.config.clone() },
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>(),
        },
        "history": history,
    });
    if let Some(v) = &spec.variant {
        config["variant"] = json!(v);
    }
    let config = serde_json::to_vec(&config).expect("config json");
    let config_digest = sha256_digest(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": { "mediaType": MT_CONFIG, "digest": config_digest, "size": config.len() },
        "layers": layers
            .iter()
            .map(|l| json!({ "mediaType": l.media_type, "digest": l.digest, "size": l.bytes.len() }))
            .collect::<Vec<_>>(),
    }))
    .expect("manifest json");
    BuiltImage {
        manifest_digest: sha256_digest(&manifest),
        manifest,
        config,
        config_digest,
        layers,
    }
}

// ---------------------------------------------------------------------------------------
// OCI image layout
// ---------------------------------------------------------------------------------------

fn write_blob(layout: &Path, digest: &str, bytes: &[u8]) {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    let path = layout.join("blobs/sha256").join(hex);
    if !path.exists() {
        fs::write(&path, bytes).expect("write blob");
    }
}

fn start_layout(dest: &Path) {
    fs::create_dir_all(dest.join("blobs/sha256")).expect("layout dir");
    fs::write(
        dest.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");
}

fn write_index_json(dest: &Path, manifests: Vec<Value>) {
    let index = json!({ "schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests });
    fs::write(
        dest.join("index.json"),
        serde_json::to_vec(&index).expect("index json"),
    )
    .expect("index.json");
}

/// Writes an OCI image layout at `dest` (created if missing; an existing index.json is
/// replaced) holding each image under its ref name (`oci:DEST:NAME` in skopeo terms).
/// Returns the manifest digests, in order.
pub fn write_oci_layout(dest: &Path, images: &[(ImageSpec, &str)]) -> Vec<String> {
    start_layout(dest);
    let mut descriptors = Vec::new();
    let mut digests = Vec::new();
    for (spec, name) in images {
        let built = build_image(spec);
        for (d, bytes) in built.blobs() {
            write_blob(dest, d, bytes);
        }
        let mut desc = built.descriptor(spec);
        desc["annotations"] = json!({ ANNOTATION_REF_NAME: name });
        descriptors.push(desc);
        digests.push(built.manifest_digest);
    }
    write_index_json(dest, descriptors);
    digests
}

/// The image index over `per_platform` (each spec sets its own architecture/variant),
/// as bytes, with every blob it needs.
pub fn build_index(per_platform: &[ImageSpec]) -> (Vec<u8>, Vec<BuiltImage>) {
    let built: Vec<BuiltImage> = per_platform.iter().map(build_image).collect();
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MT_INDEX,
        "manifests": built
            .iter()
            .zip(per_platform)
            .map(|(b, s)| b.descriptor(s))
            .collect::<Vec<_>>(),
    }))
    .expect("index json");
    (index, built)
}

/// Writes an OCI layout at `dest` whose `ref_name` is one image index with a manifest per
/// platform. Returns the index digest.
pub fn write_oci_layout_multiarch(
    dest: &Path,
    per_platform: &[ImageSpec],
    ref_name: &str,
) -> String {
    start_layout(dest);
    let (index, built) = build_index(per_platform);
    for b in &built {
        for (d, bytes) in b.blobs() {
            write_blob(dest, d, bytes);
        }
    }
    let digest = sha256_digest(&index);
    write_blob(dest, &digest, &index);
    write_index_json(
        dest,
        vec![json!({
            "mediaType": MT_INDEX,
            "digest": digest,
            "size": index.len(),
            "annotations": { ANNOTATION_REF_NAME: ref_name },
        })],
    );
    digest
}

// ---------------------------------------------------------------------------------------
// docker save archives
// ---------------------------------------------------------------------------------------

fn tar_add(b: &mut tar::Builder<fs::File>, path: &str, bytes: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_size(bytes.len() as u64);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, path, bytes).expect("archive entry");
}

fn tar_add_dir(b: &mut tar::Builder<fs::File>, path: &str) {
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o755);
    h.set_mtime(0);
    h.set_size(0);
    h.set_entry_type(tar::EntryType::Directory);
    b.append_data(&mut h, path, std::io::empty())
        .expect("archive dir");
}

/// The `repositories` file: `{"repo": {"tag": "<top layer id>"}}`.
fn repositories(repo_tags: &[&str], top_layer: &str) -> Vec<u8> {
    let mut repos = serde_json::Map::new();
    for rt in repo_tags {
        let slash = rt.rfind('/').map_or(0, |i| i + 1);
        let (repo, tag) = match rt[slash..].rfind(':') {
            Some(i) => (&rt[..slash + i], &rt[slash + i + 1..]),
            None => (*rt, "latest"),
        };
        let entry = repos.entry(repo.to_string()).or_insert_with(|| json!({}));
        entry[tag] = json!(top_layer);
    }
    serde_json::to_vec(&Value::Object(repos)).expect("repositories json")
}

/// Writes `spec` as classic `docker save` output (Docker < 25): `manifest.json`,
/// `<config hex>.json`, `<diff id hex>/layer.tar` (+ `VERSION`, `json`) per layer, and
/// `repositories`. Layers are stored uncompressed, as docker does, whatever
/// `spec.compression` says.
pub fn write_docker_archive(dest_tar: &Path, spec: &ImageSpec, repo_tags: &[&str]) {
    let plain = ImageSpec {
        compression: LayerCompression::None,
        ..spec.clone()
    };
    let built = build_image(&plain);
    let mut b = tar::Builder::new(fs::File::create(dest_tar).expect("create docker archive"));
    let config_name = format!("{}.json", hex_of(&built.config_digest));
    tar_add(&mut b, &config_name, &built.config);
    let mut layer_paths = Vec::new();
    let mut parent: Option<String> = None;
    for l in &built.layers {
        let id = hex_of(&l.diff_id).to_string();
        tar_add_dir(&mut b, &format!("{id}/"));
        tar_add(&mut b, &format!("{id}/VERSION"), b"1.0");
        let mut v1 = json!({ "id": id, "created": EPOCH });
        if let Some(p) = &parent {
            v1["parent"] = json!(p);
        }
        tar_add(
            &mut b,
            &format!("{id}/json"),
            &serde_json::to_vec(&v1).expect("v1 json"),
        );
        tar_add(&mut b, &format!("{id}/layer.tar"), &l.bytes);
        layer_paths.push(format!("{id}/layer.tar"));
        parent = Some(id);
    }
    let manifest = json!([{ "Config": config_name, "RepoTags": repo_tags, "Layers": layer_paths }]);
    tar_add(
        &mut b,
        "manifest.json",
        &serde_json::to_vec(&manifest).expect("manifest.json"),
    );
    if let (false, Some(top)) = (repo_tags.is_empty(), &parent) {
        tar_add(&mut b, "repositories", &repositories(repo_tags, top));
    }
    b.into_inner()
        .expect("finish docker archive")
        .sync_all()
        .expect("sync docker archive");
}

/// Writes `spec` as Docker 25+ `docker save` output: an OCI layout (`oci-layout`,
/// `index.json`, `blobs/sha256/*`) plus `manifest.json` pointing into `blobs/` and
/// `repositories`. Layers use `spec.compression` (docker itself writes `None`).
pub fn write_docker_archive_oci(dest_tar: &Path, spec: &ImageSpec, repo_tags: &[&str]) {
    let built = build_image(spec);
    let mut b = tar::Builder::new(fs::File::create(dest_tar).expect("create docker archive"));
    tar_add(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    tar_add_dir(&mut b, "blobs/");
    tar_add_dir(&mut b, "blobs/sha256/");
    for (d, bytes) in built.blobs() {
        tar_add(&mut b, &format!("blobs/sha256/{}", hex_of(d)), bytes);
    }
    let descriptors: Vec<Value> = if repo_tags.is_empty() {
        vec![built.descriptor(spec)]
    } else {
        repo_tags
            .iter()
            .map(|rt| {
                let mut d = built.descriptor(spec);
                let tag = rt.rsplit_once(':').map_or("latest", |(_, t)| t);
                d["annotations"] = json!({
                    "io.containerd.image.name": rt,
                    ANNOTATION_REF_NAME: tag,
                });
                d
            })
            .collect()
    };
    let index = json!({ "schemaVersion": 2, "mediaType": MT_INDEX, "manifests": descriptors });
    tar_add(
        &mut b,
        "index.json",
        &serde_json::to_vec(&index).expect("index json"),
    );
    let layer_paths: Vec<String> = built
        .layers
        .iter()
        .map(|l| format!("blobs/sha256/{}", hex_of(&l.digest)))
        .collect();
    let manifest = json!([{
        "Config": format!("blobs/sha256/{}", hex_of(&built.config_digest)),
        "RepoTags": repo_tags,
        "Layers": layer_paths,
    }]);
    tar_add(
        &mut b,
        "manifest.json",
        &serde_json::to_vec(&manifest).expect("manifest.json"),
    );
    if let (false, Some(top)) = (repo_tags.is_empty(), built.layers.last()) {
        tar_add(
            &mut b,
            "repositories",
            &repositories(repo_tags, hex_of(&top.digest)),
        );
    }
    b.into_inner()
        .expect("finish docker archive")
        .sync_all()
        .expect("sync docker archive");
}

fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

// ---------------------------------------------------------------------------------------
// skopeo
// ---------------------------------------------------------------------------------------

/// Runs `skopeo --insecure-policy --tmpdir T ARGS` and returns its output, whatever the
/// exit code. No policy.json or registries.conf is needed, and no credentials of the host
/// are used: the auth file is pointed at a path that does not exist.
pub fn skopeo(args: &[&str]) -> Output {
    let tmp = std::env::temp_dir();
    Command::new("skopeo")
        .arg("--insecure-policy")
        .arg("--tmpdir")
        .arg(&tmp)
        .args(args)
        .env("TMPDIR", &tmp)
        .env(
            "REGISTRY_AUTH_FILE",
            tmp.join("berth-test-no-such-auth.json"),
        )
        .stdin(Stdio::null())
        .output()
        .expect("running skopeo (apt-get install skopeo)")
}

fn skopeo_ok(args: &[&str]) -> Output {
    let out = skopeo(args);
    assert!(
        out.status.success(),
        "skopeo {args:?} failed with {:?}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `skopeo copy` with TLS verification off and `-q`, then `args` (extra flags, SRC, DST),
/// returning the output whatever the exit code: for copies that should fail.
pub fn try_skopeo_copy_args(args: &[&str]) -> Output {
    let mut all = vec![
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "-q",
    ];
    all.extend_from_slice(args);
    skopeo(&all)
}

/// Like [`try_skopeo_copy_args`], panicking with skopeo's stderr on failure.
/// E.g. `skopeo_copy_args(&["--all", "--dest-creds", "u:p", src, dst])`.
pub fn skopeo_copy_args(args: &[&str]) {
    let out = try_skopeo_copy_args(args);
    assert!(
        out.status.success(),
        "skopeo copy {args:?} failed with {:?}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `skopeo copy SRC DST` (e.g. `oci:DIR:latest` → `docker://127.0.0.1:PORT/a/b:1`).
pub fn skopeo_copy(src: &str, dst: &str) {
    skopeo_copy_args(&[src, dst]);
}

/// The manifest (or index) of `image` exactly as its source serves it; `extra` goes
/// before the image (e.g. `["--creds", "u:p"]`).
pub fn skopeo_inspect_raw(extra: &[&str], image: &str) -> Vec<u8> {
    let mut args = vec!["inspect", "--tls-verify=false", "--raw"];
    args.extend_from_slice(extra);
    args.push(image);
    skopeo_ok(&args).stdout
}

/// The digest of `image`'s top-level manifest or index (sha256 of the raw bytes, so a
/// multi-platform index is not resolved to the host's platform).
pub fn skopeo_inspect_digest(image: &str) -> String {
    sha256_digest(&skopeo_inspect_raw(&[], image))
}

// ---------------------------------------------------------------------------------------
// Fixture images
// ---------------------------------------------------------------------------------------

/// The uncompressed tar of [`crate::busybox_rootfs`], made once per test process.
pub fn busybox_layer() -> &'static [u8] {
    static TAR: OnceLock<Vec<u8>> = OnceLock::new();
    TAR.get_or_init(|| tar_dir(crate::busybox_rootfs()))
}

/// A one-layer image of the busybox fixture rootfs: `Cmd ["sh"]`, a standard PATH.
pub fn busybox_image(compression: LayerCompression) -> ImageSpec {
    ImageSpec {
        layers: vec![busybox_layer().to_vec()],
        compression,
        config: json!({ "Cmd": ["sh"], "Env": [BUSYBOX_PATH] }),
        ..ImageSpec::default()
    }
}
