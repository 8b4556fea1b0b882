//! Image archives: `load` of docker-archive (`docker save`), OCI archives and OCI layout
//! directories; `save` to docker-archive or oci-archive; `import` of a plain root
//! filesystem tarball. Every archive member is content-checked on the way in (config
//! and blobs against their digests, layers against the config's diff ids) and archive
//! paths are never used as host paths: members are looked up by name in memory.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use registry::ImageRef;
use serde::Deserialize;
use serde_json::json;
use store::{Compression, Limits};
use store::{Digest, ImageConfig, ImageRecord, LayerRef, Store};

use crate::error::{Error, IoContext, Result};
use crate::images::{find, full_name, open_store};
use crate::state_root::StateRoot;

/// What `load` added.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Fully qualified names tagged.
    pub names: Vec<String>,
    /// Ids of images that came without a name.
    pub untagged: Vec<Digest>,
}

fn rejected(msg: impl Into<String>) -> Error {
    Error::Store(store::Error::rejected(msg))
}

/// The members of an archive, unpacked into a temp dir under the store, by name.
struct Members {
    dir: PathBuf,
    files: HashMap<String, PathBuf>,
}

impl Members {
    /// Reads a (possibly compressed) tar of an archive. Only regular files and
    /// symlinks between members are kept; names are normalized and never used as paths.
    fn from_tar(src: impl Read, dir: &Path) -> Result<Members> {
        let mut reader = BufReader::with_capacity(1 << 20, src);
        let head = reader
            .fill_buf()
            .ctx(|| "reading the archive".into())?
            .to_vec();
        let decoded: Box<dyn Read> = match Compression::sniff(&head) {
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
            Compression::Zstd => Box::new(zstd_decoder(reader)?),
            Compression::None => Box::new(reader),
        };
        let mut archive = tar::Archive::new(decoded);
        let mut files = HashMap::new();
        let mut links = Vec::new();
        let mut n = 0u64;
        for entry in archive.entries().ctx(|| "reading the archive".into())? {
            let mut entry =
                entry.map_err(|e| rejected(format!("the archive is not a valid tar file: {e}")))?;
            let name = normalize(&String::from_utf8_lossy(&entry.path_bytes()))?;
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    n += 1;
                    let path = dir.join(format!("m{n}"));
                    let mut f =
                        File::create(&path).ctx(|| format!("creating {}", path.display()))?;
                    io::copy(&mut entry, &mut f)
                        .map_err(|e| rejected(format!("reading archive member {name}: {e}")))?;
                    files.insert(name, path);
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let target = entry
                        .link_name_bytes()
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    let base = if entry.header().entry_type() == tar::EntryType::Symlink {
                        name.rsplit_once('/')
                            .map(|(d, _)| d.to_string())
                            .unwrap_or_default()
                    } else {
                        String::new()
                    };
                    links.push((name, join_member(&base, &target)?));
                }
                _ => {}
            }
        }
        for (name, target) in links {
            if let Some(p) = files.get(&target).cloned() {
                files.insert(name, p);
            }
        }
        Ok(Members {
            dir: dir.to_path_buf(),
            files,
        })
    }

    /// An OCI layout directory, read in place.
    fn from_dir(dir: &Path) -> Members {
        let mut files = HashMap::new();
        for name in ["oci-layout", "index.json", "manifest.json"] {
            files.insert(name.to_string(), dir.join(name));
        }
        Members {
            dir: dir.to_path_buf(),
            files,
        }
    }

    fn path(&self, name: &str) -> Result<PathBuf> {
        let name = normalize(name)?;
        if let Some(p) = self.files.get(&name) {
            return Ok(p.clone());
        }
        // Layout directories: blobs are looked up lazily, by a validated digest path.
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            Digest::from_hex(hex)?;
            let p = self.dir.join(&name);
            if p.is_file() {
                return Ok(p);
            }
        }
        Err(rejected(format!("the archive has no member {name:?}")))
    }

    fn has(&self, name: &str) -> bool {
        self.path(name).map(|p| p.is_file()).unwrap_or(false)
    }

    fn read(&self, name: &str, limit: u64) -> Result<Vec<u8>> {
        let p = self.path(name)?;
        let f = File::open(&p).ctx(|| format!("opening archive member {name}"))?;
        let mut v = Vec::new();
        f.take(limit + 1)
            .read_to_end(&mut v)
            .ctx(|| format!("reading archive member {name}"))?;
        if v.len() as u64 > limit {
            return Err(rejected(format!(
                "archive member {name} is larger than {limit} bytes"
            )));
        }
        Ok(v)
    }

    /// A blob of an OCI layout, verified against its digest.
    fn blob(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>> {
        let bytes = self.read(&format!("blobs/sha256/{}", digest.hex()), limit)?;
        digest.verify(&Digest::of(&bytes), "archive blob")?;
        Ok(bytes)
    }
}

fn zstd_decoder<R: BufRead>(r: R) -> Result<zstd::stream::read::Decoder<'static, R>> {
    zstd::stream::read::Decoder::with_buffer(r).ctx(|| "starting zstd decompression".into())
}

/// Archive member names: relative, `/`-separated, no `.`/`..` tricks.
fn normalize(name: &str) -> Result<String> {
    let mut parts = Vec::new();
    for p in name.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                return Err(rejected(format!(
                    "archive member {name:?} escapes the archive"
                )))
            }
            p => parts.push(p),
        }
    }
    if name.starts_with('/') {
        return Err(rejected(format!(
            "archive member {name:?} has an absolute path"
        )));
    }
    Ok(parts.join("/"))
}

fn join_member(base: &str, target: &str) -> Result<String> {
    if target.starts_with('/') {
        return Err(rejected(format!(
            "archive link to {target:?} leaves the archive"
        )));
    }
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(rejected(format!(
                        "archive link to {target:?} leaves the archive"
                    )));
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

const SMALL: u64 = store::blobs::MAX_SMALL_BLOB;

/// `berth load`: a docker-archive or OCI archive from `src`, or an OCI layout directory.
pub fn load(root: &StateRoot, src: LoadSource) -> Result<Loaded> {
    let store = open_store(root)?;
    if let Some(lock) = store.try_lock_exclusive()? {
        store.sweep_tmp(&lock)?;
    }
    let _lock = store.lock_shared()?;
    let tmp = store.temp_dir("load")?;
    let members = match src {
        LoadSource::Dir(d) => Members::from_dir(&d),
        LoadSource::Reader(r) => Members::from_tar(r, tmp.path())?,
    };
    let limits = Limits::from_env()?;
    let mut loaded = Loaded::default();
    if members.has("manifest.json") && !members.has("index.json") {
        load_docker(&store, &members, &limits, &mut loaded)?;
    } else if members.has("index.json") {
        load_oci(&store, &members, &limits, &mut loaded)?;
    } else {
        return Err(rejected(
            "not an image archive: no manifest.json (docker-archive) or index.json (OCI) in it",
        ));
    }
    Ok(loaded)
}

pub enum LoadSource {
    Reader(Box<dyn Read + Send>),
    Dir(PathBuf),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn load_docker(store: &Store, m: &Members, limits: &Limits, out: &mut Loaded) -> Result<()> {
    let manifest: Vec<DockerManifestEntry> =
        serde_json::from_slice(&m.read("manifest.json", SMALL)?)
            .map_err(|e| rejected(format!("malformed manifest.json in the archive: {e}")))?;
    for entry in manifest {
        let config_bytes = m.read(&entry.config, SMALL)?;
        let id = Digest::of(&config_bytes);
        let config = ImageConfig::parse(&config_bytes, &entry.config)?;
        if config.rootfs.diff_ids.len() != entry.layers.len() {
            return Err(rejected(format!(
                "archive image {}: {} layers but {} diff ids in its config",
                entry.config,
                entry.layers.len(),
                config.rootfs.diff_ids.len()
            )));
        }
        let mut layers = Vec::new();
        let mut size = 0;
        for (name, diff_id) in entry.layers.iter().zip(&config.rootfs.diff_ids) {
            if !store.has_layer(diff_id) {
                let f =
                    File::open(m.path(name)?).ctx(|| format!("opening archive member {name}"))?;
                unpack_sniffed(store, f, Some(diff_id), limits)?;
            }
            size += store.layer_info(diff_id)?.size;
            layers.push(LayerRef {
                diff_id: diff_id.clone(),
                blob: None,
            });
        }
        let record = ImageRecord {
            id: id.clone(),
            manifest: None,
            layers,
            size,
            added: crate::time::now_rfc3339(),
        };
        store.put_image(&record, &config_bytes, None)?;
        let tags = entry.repo_tags.unwrap_or_default();
        if tags.is_empty() {
            out.untagged.push(id.clone());
        }
        for t in tags {
            let r = ImageRef::parse(&t)?;
            let name = full_name(&r);
            store.tag(&name, &id)?;
            out.names.push(name);
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct OciDescriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: Digest,
    size: u64,
    #[serde(default)]
    annotations: HashMap<String, String>,
    #[serde(default)]
    platform: Option<OciPlatform>,
}

#[derive(Deserialize)]
struct OciPlatform {
    architecture: String,
    os: String,
}

#[derive(Deserialize)]
struct OciIndex {
    manifests: Vec<OciDescriptor>,
}

#[derive(Deserialize)]
struct OciManifest {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    config: OciDescriptor,
    layers: Vec<OciDescriptor>,
}

fn is_index(media_type: &str) -> bool {
    media_type.contains("image.index") || media_type.contains("manifest.list")
}

/// The image manifest `desc` names: itself, or the host platform's entry of an index.
/// Returns (digest, media type) of the manifest and its verified bytes.
fn pick_manifest(
    m: &Members,
    desc: &OciDescriptor,
    host: &registry::Platform,
) -> Result<((Digest, String), Vec<u8>)> {
    let bytes = m.blob(&desc.digest, SMALL)?;
    if !is_index(&desc.media_type) {
        return Ok(((desc.digest.clone(), desc.media_type.clone()), bytes));
    }
    let index: OciIndex = serde_json::from_slice(&bytes)
        .map_err(|e| rejected(format!("malformed image index {}: {e}", desc.digest)))?;
    let chosen = index
        .manifests
        .into_iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| host.matches(&p.os, &p.architecture, None))
        })
        .ok_or_else(|| {
            rejected(format!(
                "image index {} has no manifest for {host}",
                desc.digest
            ))
        })?;
    let bytes = m.blob(&chosen.digest, SMALL)?;
    Ok(((chosen.digest, chosen.media_type), bytes))
}

fn load_oci(store: &Store, m: &Members, limits: &Limits, out: &mut Loaded) -> Result<()> {
    let index: OciIndex = serde_json::from_slice(&m.read("index.json", SMALL)?)
        .map_err(|e| rejected(format!("malformed index.json in the archive: {e}")))?;
    let host = registry::Platform::host();
    for desc in &index.manifests {
        let name = desc
            .annotations
            .get("io.containerd.image.name")
            .or_else(|| desc.annotations.get("org.opencontainers.image.ref.name"))
            .cloned();
        let ((manifest_digest, manifest_type), bytes) = pick_manifest(m, desc, &host)?;
        let manifest: OciManifest = serde_json::from_slice(&bytes)
            .map_err(|e| rejected(format!("malformed image manifest {}: {e}", manifest_digest)))?;
        let config_bytes = m.blob(&manifest.config.digest, SMALL)?;
        let config = ImageConfig::parse(&config_bytes, &manifest.config.digest.to_string())?;
        if config.rootfs.diff_ids.len() != manifest.layers.len() {
            return Err(rejected(format!(
                "archive image {}: {} layers but {} diff ids in its config",
                manifest_digest,
                manifest.layers.len(),
                config.rootfs.diff_ids.len()
            )));
        }
        let mut layers = Vec::new();
        let mut size = 0;
        for (l, diff_id) in manifest.layers.iter().zip(&config.rootfs.diff_ids) {
            if !store.has_layer(diff_id) {
                let path = m.path(&format!("blobs/sha256/{}", l.digest.hex()))?;
                let f = File::open(&path).ctx(|| format!("opening blob {}", l.digest))?;
                let mut hashing = store::digest::HashingReader::new(f);
                unpack_sniffed(store, &mut hashing, Some(diff_id), limits)?;
                // The unpack read to the end of the tar; the rest of the blob counts too.
                io::copy(&mut hashing, &mut io::sink())
                    .ctx(|| format!("reading blob {}", l.digest))?;
                let (got, _, _) = hashing.finish();
                if got != l.digest {
                    let _ = store.remove_layer(diff_id);
                    l.digest.verify(&got, "archive layer blob")?;
                }
            }
            size += store.layer_info(diff_id)?.size;
            layers.push(LayerRef {
                diff_id: diff_id.clone(),
                blob: Some(store::Descriptor {
                    media_type: l.media_type.clone(),
                    digest: l.digest.clone(),
                    size: l.size,
                }),
            });
        }
        let record = ImageRecord {
            id: manifest.config.digest.clone(),
            manifest: Some(store::Descriptor {
                media_type: manifest
                    .media_type
                    .clone()
                    .unwrap_or_else(|| manifest_type.clone()),
                digest: manifest_digest.clone(),
                size: bytes.len() as u64,
            }),
            layers,
            size,
            added: crate::time::now_rfc3339(),
        };
        store.put_image(&record, &config_bytes, Some(&bytes))?;
        // A bare tag ("latest") in ref.name names no repository: the image stays unnamed.
        match name
            .filter(|n| n.contains('/') || n.contains(':') && !n.starts_with(':'))
            .map(|n| ImageRef::parse(&n))
        {
            Some(Ok(r)) => {
                let full = full_name(&r);
                store.tag(&full, &record.id)?;
                out.names.push(full);
            }
            _ => out.untagged.push(record.id.clone()),
        }
    }
    Ok(())
}

/// Unpacks a layer whose compression is found from its first bytes.
fn unpack_sniffed(
    store: &Store,
    src: impl Read + Send,
    diff_id: Option<&Digest>,
    limits: &Limits,
) -> Result<store::LayerInfo> {
    let mut r = BufReader::with_capacity(1 << 20, src);
    let head = r.fill_buf().ctx(|| "reading a layer".into())?.to_vec();
    Ok(store.unpack_layer(r, Compression::sniff(&head), diff_id, limits)?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveFormat {
    DockerArchive,
    OciArchive,
}

/// Which images an archive holds.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// Images found by name or id, as `berth save` is given them.
    Names(&'a [String]),
    /// One image by id, written under `names` whether or not the store has them
    /// (a build's `--output` names its result without tagging it here); no name
    /// writes it untagged.
    Id { id: &'a Digest, names: &'a [String] },
}

/// `berth save`: writes the selected images to `out` as one archive.
pub fn save(
    root: &StateRoot,
    selection: Selection<'_>,
    format: SaveFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let store = open_store(root)?;
    let _lock = store.lock_shared()?;
    let mut images = Vec::new();
    match selection {
        Selection::Names(names) => {
            for n in names {
                let f = find(&store, n)?;
                images.push((n.clone(), f));
            }
        }
        Selection::Id { id, names } => {
            let record = store.image(id)?;
            if names.is_empty() {
                images.push((
                    id.to_string(),
                    crate::images::Found {
                        id: id.clone(),
                        record: record.clone(),
                        name: None,
                    },
                ));
            }
            for n in names {
                let r = ImageRef::parse(n)
                    .map_err(|e| Error::invalid(format!("invalid image name {n:?}: {e}")))?;
                let name = Some(full_name(&r));
                images.push((
                    n.clone(),
                    crate::images::Found {
                        id: id.clone(),
                        record: record.clone(),
                        name,
                    },
                ));
            }
        }
    }
    let mut tar = tar::Builder::new(out);
    tar.mode(tar::HeaderMode::Deterministic);
    let mut written = std::collections::HashSet::new();
    match format {
        SaveFormat::DockerArchive => {
            let mut manifest = Vec::new();
            let mut repositories: HashMap<String, HashMap<String, String>> = HashMap::new();
            for (given, f) in &images {
                let (_, config) = store.image_config(&f.id)?;
                let config_name = format!("{}.json", f.id.hex());
                if written.insert(config_name.clone()) {
                    append_bytes(&mut tar, &config_name, &config)?;
                }
                let mut layers = Vec::new();
                for l in &f.record.layers {
                    let name = format!("{}/layer.tar", l.diff_id.hex());
                    if written.insert(name.clone()) {
                        append_layer(&mut tar, &store, &l.diff_id, &name)?;
                    }
                    layers.push(name);
                }
                let tags: Vec<String> = match &f.name {
                    Some(n) if !n.contains('@') => vec![crate::images::familiar(n)],
                    _ => {
                        let _ = given;
                        Vec::new()
                    }
                };
                for t in &tags {
                    let (repo, tag) = crate::images::split_name(
                        &ImageRef::parse(t)
                            .map(|r| full_name(&r))
                            .unwrap_or_default(),
                    );
                    repositories
                        .entry(repo)
                        .or_default()
                        .insert(tag, f.id.hex().to_string());
                }
                manifest.push(json!({ "Config": config_name, "RepoTags": tags, "Layers": layers }));
            }
            append_bytes(&mut tar, "manifest.json", &to_json(&manifest)?)?;
            append_bytes(&mut tar, "repositories", &to_json(&repositories)?)?;
        }
        SaveFormat::OciArchive => {
            append_bytes(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
            let mut index = Vec::new();
            for (_, f) in &images {
                let (_, config) = store.image_config(&f.id)?;
                let blob = |d: &Digest| format!("blobs/sha256/{}", d.hex());
                if written.insert(blob(&f.id)) {
                    append_bytes(&mut tar, &blob(&f.id), &config)?;
                }
                let mut layers = Vec::new();
                for l in &f.record.layers {
                    // Uncompressed layers: their digest is the diff id, so no second pass.
                    let size = store.layer_info(&l.diff_id)?.size;
                    if written.insert(blob(&l.diff_id)) {
                        append_layer(&mut tar, &store, &l.diff_id, &blob(&l.diff_id))?;
                    }
                    layers.push(json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": l.diff_id.to_string(), "size": size}));
                }
                let manifest = to_json(&json!({
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f.id.to_string(), "size": config.len()},
                    "layers": layers,
                }))?;
                let md = Digest::of(&manifest);
                if written.insert(blob(&md)) {
                    append_bytes(&mut tar, &blob(&md), &manifest)?;
                }
                let mut desc = json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md.to_string(), "size": manifest.len()});
                if let Some(n) = f.name.as_ref().filter(|n| !n.contains('@')) {
                    desc["annotations"] = json!({
                        "io.containerd.image.name": n,
                        "org.opencontainers.image.ref.name": n.rsplit_once(':').map(|(_, t)| t).unwrap_or("latest"),
                    });
                }
                index.push(desc);
            }
            append_bytes(
                &mut tar,
                "index.json",
                &to_json(
                    &json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index}),
                )?,
            )?;
        }
    }
    tar.finish().ctx(|| "writing the archive".into())?;
    Ok(())
}

/// [`save`] to a file, written beside it and renamed into place, so a failed or
/// interrupted save never leaves a half archive under the name asked for.
pub fn save_to_file(
    root: &StateRoot,
    selection: Selection<'_>,
    format: SaveFormat,
    path: &Path,
) -> Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.berth-tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let fail =
        |e: &dyn std::fmt::Display| Error::invalid(format!("writing {}: {e}", path.display()));
    let result = (|| {
        let f = File::create(&tmp)
            .map_err(|e| Error::invalid(format!("cannot write {}: {e}", path.display())))?;
        let mut w = io::BufWriter::with_capacity(1 << 20, f);
        save(root, selection, format, &mut w)?;
        let f = w.into_inner().map_err(|e| fail(e.error()))?;
        f.sync_all().map_err(|e| fail(&e))?;
        std::fs::rename(&tmp, path).map_err(|e| fail(&e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn to_json(v: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Error::invalid(format!("encoding JSON: {e}")))
}

fn header(name: &str, size: u64) -> Result<tar::Header> {
    let mut h = tar::Header::new_ustar();
    h.set_path(name)
        .ctx(|| format!("archive member name {name}"))?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    Ok(h)
}

fn append_bytes(tar: &mut tar::Builder<&mut dyn Write>, name: &str, bytes: &[u8]) -> Result<()> {
    let h = header(name, bytes.len() as u64)?;
    tar.append(&h, bytes)
        .ctx(|| format!("writing {name} to the archive"))
}

/// Streams a layer's regenerated tar into the archive without a temp copy: the size is
/// known from the layer record, and the bytes are checked to match it.
fn append_layer(
    tar: &mut tar::Builder<&mut dyn Write>,
    store: &Store,
    diff_id: &Digest,
    name: &str,
) -> Result<()> {
    let size = store.layer_info(diff_id)?.size;
    let h = header(name, size)?;
    let w = tar.get_mut();
    w.write_all(h.as_bytes())
        .ctx(|| format!("writing {name} to the archive"))?;
    let n = store.write_layer_tar(diff_id, &mut *w)?;
    if n != size {
        return Err(Error::invalid(format!(
            "layer {diff_id} regenerated {n} bytes, expected {size}; run `berth storage check`"
        )));
    }
    let pad = (512 - size % 512) % 512;
    w.write_all(&vec![0u8; pad as usize])
        .ctx(|| format!("writing {name} to the archive"))?;
    Ok(())
}

/// `berth import`: one layer from a root filesystem tarball, with `changes`
/// (Dockerfile-style CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR,
/// STOPSIGNAL) applied to the config. Returns the new image id.
pub fn import(
    root: &StateRoot,
    src: impl Read + Send,
    name: Option<&str>,
    changes: &[String],
    message: Option<&str>,
) -> Result<Digest> {
    let mut run = store::config::RunConfig::default();
    for c in changes {
        apply_change(&mut run, c)?;
    }
    let target = name.map(ImageRef::parse).transpose()?;
    let store = open_store(root)?;
    if let Some(lock) = store.try_lock_exclusive()? {
        store.sweep_tmp(&lock)?;
    }
    let _lock = store.lock_shared()?;
    let info = unpack_sniffed(&store, src, None, &Limits::from_env()?)?;
    let now = crate::time::now_rfc3339();
    let host = registry::Platform::host();
    let config = json!({
        "architecture": host.architecture,
        "os": host.os,
        "created": now,
        "config": run,
        "rootfs": {"type": "layers", "diff_ids": [info.diff_id.to_string()]},
        "history": [{"created": now, "created_by": "berth import", "comment": message.unwrap_or("Imported from tarball")}],
    });
    let bytes = to_json(&config)?;
    let id = Digest::of(&bytes);
    let record = ImageRecord {
        id: id.clone(),
        manifest: None,
        layers: vec![LayerRef {
            diff_id: info.diff_id.clone(),
            blob: None,
        }],
        size: info.size,
        added: now,
    };
    store.put_image(&record, &bytes, None)?;
    if let Some(r) = target {
        store.tag(&full_name(&r), &id)?;
    }
    Ok(id)
}

fn apply_change(run: &mut store::config::RunConfig, change: &str) -> Result<()> {
    let (inst, rest) = change
        .trim()
        .split_once(char::is_whitespace)
        .unwrap_or((change.trim(), ""));
    let rest = rest.trim();
    let list = |s: &str| -> Vec<String> {
        serde_json::from_str::<Vec<String>>(s)
            .unwrap_or_else(|_| vec!["/bin/sh".into(), "-c".into(), s.to_string()])
    };
    match inst.to_ascii_uppercase().as_str() {
        "CMD" => run.cmd = Some(list(rest)),
        "ENTRYPOINT" => run.entrypoint = Some(list(rest)),
        "ENV" => {
            let kv = match rest.split_once('=') {
                Some((k, v)) if !k.contains(char::is_whitespace) => format!("{k}={}", v.trim_matches('"')),
                _ => match rest.split_once(char::is_whitespace) {
                    Some((k, v)) => format!("{k}={}", v.trim()),
                    None => return Err(Error::invalid(format!("ENV {rest:?} needs a value"))),
                },
            };
            run.env.get_or_insert_with(Vec::new).push(kv);
        }
        "EXPOSE" => {
            for p in rest.split_whitespace() {
                let p = if p.contains('/') { p.to_string() } else { format!("{p}/tcp") };
                run.exposed_ports.get_or_insert_with(Default::default).insert(p, json!({}));
            }
        }
        "LABEL" => {
            let (k, v) = rest.split_once('=').ok_or_else(|| Error::invalid(format!("LABEL {rest:?}: use KEY=VALUE")))?;
            run.labels.get_or_insert_with(Default::default).insert(k.to_string(), v.trim_matches('"').to_string());
        }
        "USER" => run.user = Some(rest.to_string()),
        "WORKDIR" => run.working_dir = Some(rest.to_string()),
        "STOPSIGNAL" => run.stop_signal = Some(rest.to_string()),
        "VOLUME" => {
            let vols = serde_json::from_str::<Vec<String>>(rest).unwrap_or_else(|_| rest.split_whitespace().map(String::from).collect());
            for v in vols {
                run.volumes.get_or_insert_with(Default::default).insert(v, json!({}));
            }
        }
        other => {
            return Err(Error::invalid(format!(
                "{other} is not a valid change command: use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR or STOPSIGNAL"
            )))
        }
    }
    Ok(())
}
