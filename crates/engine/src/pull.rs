//! `berth pull`: resolve a reference at its registry, download the layers the store
//! lacks (in parallel, each resumable), unpack each into the store as soon as it is
//! verified, then publish the image and its names. A pull killed at any moment leaves
//! partial downloads (resumed next time) and temp dirs (swept), never a visible image
//! that is missing a layer.

use std::collections::VecDeque;
use std::sync::Mutex;

use registry::{Descriptor as RegDescriptor, ImageRef, Platform};
use store::{Compression, Limits};
use store::{Descriptor, Digest, ImageConfig, ImageRecord, LayerRef, Store};

use crate::error::{Error, Result};
use crate::images::{full_name, open_store};
use crate::progress::{LayerEvent, Progress};
use crate::state_root::StateRoot;

/// How many layers download and unpack at once.
const PARALLEL_LAYERS: usize = 3;

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `os/arch[/variant]`; the host's platform when None.
    pub platform: Option<String>,
    pub tls_verify: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Pulled {
    pub id: Digest,
    /// The fully qualified name pulled (`docker.io/library/alpine:3.20`).
    pub name: String,
    pub manifest_digest: String,
    /// False when the store already had this image under this name.
    pub updated: bool,
}

pub fn parse_platform(p: Option<&str>) -> Result<Platform> {
    match p {
        None => Ok(Platform::host()),
        Some(s) => Platform::parse(s).map_err(Error::from),
    }
}

pub fn pull(
    root: &StateRoot,
    reference: &str,
    opts: &PullOptions,
    progress: &dyn Progress,
) -> Result<Pulled> {
    let r = ImageRef::parse(reference)?;
    let platform = parse_platform(opts.platform.as_deref())?;
    let client = crate::registry_config::client(opts.tls_verify)?;
    progress.status(&format!(
        "{}: Pulling from {}",
        r.digest.as_deref().or(r.tag.as_deref()).unwrap_or("latest"),
        r.repository
    ));
    let resolved = client.resolve(&r, &platform)?;

    let store = open_store(root)?;
    // Leftovers of killed commands go when nobody else is working in the store.
    if let Some(lock) = store.try_lock_exclusive()? {
        store.sweep_tmp(&lock)?;
    }
    let _lock = store.lock_shared()?;

    let config_digest = Digest::parse(&resolved.config.digest)?;
    let config_bytes = if store.has_blob(&config_digest) {
        store.read_blob(&config_digest)?
    } else {
        client.fetch_small(&r, &resolved.config)?
    };
    config_digest.verify(&Digest::of(&config_bytes), "image config")?;
    let config = ImageConfig::parse(&config_bytes, &format!("of {r}"))?;
    if config.rootfs.diff_ids.len() != resolved.layers.len() {
        return Err(Error::Store(store::Error::rejected(format!(
            "{r}: the manifest lists {} layers but the config has {} diff ids",
            resolved.layers.len(),
            config.rootfs.diff_ids.len()
        ))));
    }

    let jobs: Vec<(RegDescriptor, Digest)> = resolved
        .layers
        .iter()
        .cloned()
        .zip(config.rootfs.diff_ids.iter().cloned())
        .collect();
    fetch_layers(&store, &client, &r, &jobs, progress)?;

    let manifest_digest = Digest::parse(&resolved.manifest_digest)?;
    let mut size = 0;
    let mut layers = Vec::new();
    for (desc, diff_id) in &jobs {
        size += store.layer_info(diff_id)?.size;
        layers.push(LayerRef {
            diff_id: diff_id.clone(),
            blob: Some(Descriptor {
                media_type: desc.media_type.clone(),
                digest: Digest::parse(&desc.digest)?,
                size: desc.size,
            }),
        });
    }
    let record = ImageRecord {
        id: config_digest.clone(),
        manifest: Some(Descriptor {
            media_type: resolved.manifest_media_type.clone(),
            digest: manifest_digest.clone(),
            size: resolved.manifest_bytes.len() as u64,
        }),
        layers,
        size,
        added: crate::time::now_rfc3339(),
    };
    store.put_image(&record, &config_bytes, Some(&resolved.manifest_bytes))?;

    let name = full_name(&r);
    let mut txn = store.names_txn()?;
    let updated = txn.names.tags.get(&name) != Some(&config_digest);
    if r.digest.is_none() {
        txn.names.tags.insert(name.clone(), config_digest.clone());
        txn.names.removing.remove(&name);
    }
    // The digest name is the one the index was pulled by, like Docker's RepoDigests.
    let repo_digest = resolved
        .index_digest
        .as_deref()
        .unwrap_or(&resolved.manifest_digest);
    txn.names.digests.insert(
        format!("{}@{repo_digest}", r.repo_name()),
        config_digest.clone(),
    );
    txn.commit()?;

    progress.status(&format!("Digest: {repo_digest}"));
    let short = crate::images::familiar(&name);
    progress.status(&if updated {
        format!("Status: Downloaded newer image for {short}")
    } else {
        format!("Status: Image is up to date for {short}")
    });
    Ok(Pulled {
        id: config_digest,
        name,
        manifest_digest: repo_digest.to_string(),
        updated,
    })
}

/// Downloads and unpacks every layer the store lacks, `PARALLEL_LAYERS` at a time. The
/// first failure stops the others from starting new layers and is returned.
fn fetch_layers(
    store: &Store,
    client: &registry::Client,
    r: &ImageRef,
    jobs: &[(RegDescriptor, Digest)],
    progress: &dyn Progress,
) -> Result<()> {
    let limits = Limits::from_env()?;
    let mut queue = VecDeque::new();
    for (i, (desc, diff_id)) in jobs.iter().enumerate() {
        let id = short_id(&desc.digest);
        // The same layer twice in one image is fetched once.
        if store.has_layer(diff_id) || jobs[..i].iter().any(|(_, d)| d == diff_id) {
            progress.layer(&id, LayerEvent::AlreadyExists);
        } else {
            progress.layer(&id, LayerEvent::Waiting);
            queue.push_back((desc, diff_id));
        }
    }
    let queue = Mutex::new(queue);
    let failed: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..PARALLEL_LAYERS.min(jobs.len()) {
            s.spawn(|| loop {
                if failed.lock().map(|f| f.is_some()).unwrap_or(true) {
                    return;
                }
                let Some((desc, diff_id)) = queue.lock().ok().and_then(|mut q| q.pop_front())
                else {
                    return;
                };
                if let Err(e) = fetch_one(store, client, r, desc, diff_id, &limits, progress) {
                    if let Ok(mut f) = failed.lock() {
                        f.get_or_insert(e);
                    }
                    return;
                }
            });
        }
    });
    match failed.into_inner() {
        Ok(Some(e)) => Err(e),
        _ => Ok(()),
    }
}

fn fetch_one(
    store: &Store,
    client: &registry::Client,
    r: &ImageRef,
    desc: &RegDescriptor,
    diff_id: &Digest,
    limits: &Limits,
    progress: &dyn Progress,
) -> Result<()> {
    let id = short_id(&desc.digest);
    let blob = Digest::parse(&desc.digest)?;
    let path = store.download_path(&blob);
    let total = desc.size;
    client.fetch_blob(r, desc, &path, &|done| {
        progress.layer(&id, LayerEvent::Downloading { done, total })
    })?;
    progress.layer(&id, LayerEvent::Extracting);
    let file = std::fs::File::open(&path).map_err(|e| Error::Io {
        context: format!("opening {}", path.display()),
        source: e,
    })?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    // The media type names the compression; unknown or lying ones are caught by sniffing.
    let head = std::io::BufRead::fill_buf(&mut reader).map_err(|e| Error::Io {
        context: format!("reading {}", path.display()),
        source: e,
    })?;
    let compression = match Compression::sniff(head) {
        Compression::None => {
            Compression::from_media_type(&desc.media_type).unwrap_or(Compression::None)
        }
        c => c,
    };
    store.unpack_layer(reader, compression, Some(diff_id), limits)?;
    let _ = std::fs::remove_file(&path);
    progress.layer(&id, LayerEvent::PullComplete);
    Ok(())
}

/// Docker's 12-digit layer id.
pub fn short_id(digest: &str) -> String {
    let hex = digest.split_once(':').map(|(_, h)| h).unwrap_or(digest);
    hex.chars().take(12).collect()
}
