//! Images as the engine sees them: the store under the state root, names resolved the
//! way Docker resolves them (short names, id prefixes, name@digest), and the operations
//! that must consider containers too: removal, pruning, garbage collection, disk usage.
//! Pulling and pushing live in `pull` and `push`; archives in `archives`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use registry::ImageRef;
use store::{Digest, ImageRecord, Store};

use crate::error::{Error, Result};
use crate::state_root::StateRoot;

/// The image store of a state root.
pub fn open_store(root: &StateRoot) -> Result<Store> {
    Ok(Store::open(root.dir().join("store"))?)
}

/// A local image found by name or id.
#[derive(Debug, Clone)]
pub struct Found {
    pub id: Digest,
    pub record: ImageRecord,
    /// The fully qualified name it was found by, if it was found by name.
    pub name: Option<String>,
}

/// Finds a local image the way Docker does: a reference (normalized, so `alpine` means
/// `docker.io/library/alpine:latest`), `repo@digest`, a full id, or an unambiguous id
/// prefix.
pub fn find(store: &Store, name: &str) -> Result<Found> {
    try_find(store, name)?.ok_or_else(|| Error::NoSuchImage(name.to_string()))
}

pub fn try_find(store: &Store, name: &str) -> Result<Option<Found>> {
    let names = store.names()?;
    if let Ok(r) = ImageRef::parse(name) {
        let key = full_name(&r);
        let id = if r.digest.is_some() {
            names.digests.get(&key).or_else(|| {
                // `repo@digest` also matches an image that has that id.
                r.digest
                    .as_deref()
                    .and_then(|d| Digest::parse(d).ok())
                    .and_then(|d| names.digests.values().find(|v| **v == d))
            })
        } else {
            names.tags.get(&key)
        };
        if let Some(id) = id {
            if let Ok(record) = store.image(id) {
                return Ok(Some(Found {
                    id: id.clone(),
                    record,
                    name: Some(key),
                }));
            }
        }
    }
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    if !hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let hex = hex.to_ascii_lowercase();
        let matches: Vec<ImageRecord> = store
            .images()?
            .into_iter()
            .filter(|i| i.id.hex().starts_with(&hex))
            .collect();
        match matches.len() {
            0 => {}
            1 => {
                let record = matches
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::NoSuchImage(name.into()))?;
                return Ok(Some(Found {
                    id: record.id.clone(),
                    record,
                    name: None,
                }));
            }
            _ => {
                return Err(Error::invalid(format!(
                    "image id prefix {name} is ambiguous: give more digits"
                )))
            }
        }
    }
    Ok(None)
}

/// The key a reference is stored under: `registry/repo:tag` or `registry/repo@digest`.
pub fn full_name(r: &ImageRef) -> String {
    match (&r.digest, &r.tag) {
        (Some(d), _) => format!("{}@{d}", r.repo_name()),
        (None, Some(t)) => format!("{}:{t}", r.repo_name()),
        (None, None) => format!("{}:latest", r.repo_name()),
    }
}

/// Docker's short form of a stored name (`alpine:3.20`, `127.0.0.1:5000/team/app:1`).
pub fn familiar(full: &str) -> String {
    ImageRef::parse(full)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| full.to_string())
}

/// Splits a stored name into Docker's REPOSITORY and TAG (or DIGEST) columns.
pub fn split_name(full: &str) -> (String, String) {
    let short = familiar(full);
    if let Some((repo, digest)) = short.split_once('@') {
        return (repo.to_string(), digest.to_string());
    }
    match short.rfind(':') {
        Some(i) if !short[i..].contains('/') => {
            (short[..i].to_string(), short[i + 1..].to_string())
        }
        _ => (short, "latest".into()),
    }
}

/// The layers every container (any state) uses, so garbage collection keeps them.
pub fn pinned_layers(root: &StateRoot, store: &Store) -> Result<HashSet<Digest>> {
    let layers_dir = store.dir().join("layers");
    let mut out = HashSet::new();
    for rec in crate::containers::all_records(root) {
        for l in &rec.rootfs_layers {
            if let Some(d) = layer_of(&layers_dir, l) {
                out.insert(d);
            }
        }
    }
    Ok(out)
}

fn layer_of(layers_dir: &Path, lower: &Path) -> Option<Digest> {
    let rel = lower.strip_prefix(layers_dir).ok()?;
    let hex = rel.components().next()?.as_os_str().to_str()?;
    Digest::from_hex(hex).ok()
}

/// Ids of images containers were created from.
pub fn images_in_use(root: &StateRoot) -> Result<HashSet<String>> {
    Ok(crate::containers::all_records(root)
        .into_iter()
        .map(|r| r.image)
        .collect())
}

/// What one `rmi` argument did, in Docker's words.
#[derive(Debug, Default)]
pub struct Removal {
    pub untagged: Vec<String>,
    pub deleted: Vec<String>,
}

/// `berth rmi NAME`: untags NAME; deletes the image once no name and no container
/// refers to it. `force` untags every name of an image given by id and removes it even
/// when stopped containers use it (their layers stay until they are removed).
pub fn remove(root: &StateRoot, name: &str, force: bool) -> Result<Removal> {
    let store = open_store(root)?;
    let mut out = Removal::default();
    // A removal killed half way left its names under `removing`: finish it.
    let pending = {
        let names = store.names()?;
        ImageRef::parse(name)
            .ok()
            .map(|r| full_name(&r))
            .and_then(|k| names.removing.get(&k).cloned().map(|id| (k, id)))
    };
    let (id, by_name) = match pending {
        Some((k, id)) => (id, Some(k)),
        None => {
            let f = find(&store, name)?;
            (f.id, f.name)
        }
    };
    let in_use = crate::containers::all_records(root)
        .into_iter()
        .filter(|r| r.image == id.to_string())
        .collect::<Vec<_>>();
    let mut txn = store.names_txn()?;
    let (tags, digests): (Vec<String>, Vec<String>) = {
        let (t, d) = txn.names.of(&id);
        (
            t.into_iter().map(String::from).collect(),
            d.into_iter().map(String::from).collect(),
        )
    };
    let untag: Vec<String> = match &by_name {
        // One of several tags: only that name goes.
        Some(n) if tags.len() > 1 && tags.contains(n) => vec![n.clone()],
        // The last name: the image's digests go with it, and the image too.
        Some(n) => tags.iter().chain(digests.iter()).cloned().chain([n.clone()]).collect(),
        None if tags.len() > 1 && !force => {
            return Err(Error::conflict(format!(
                "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                id.short()
            )))
        }
        None => tags.iter().chain(digests.iter()).cloned().collect(),
    };
    let mut untag = untag;
    let mut seen = HashSet::new();
    untag.retain(|n| seen.insert(n.clone()));
    let last = tags.iter().chain(digests.iter()).all(|n| untag.contains(n));
    if last && !in_use.is_empty() && !force {
        let c = &in_use[0];
        return Err(Error::conflict(match &by_name {
            Some(_) => format!(
                "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {}",
                &c.id[..12],
                id.short()
            ),
            None => format!(
                "conflict: unable to delete {} (must be forced) - image is being used by container {}",
                id.short(),
                &c.id[..12]
            ),
        }));
    }
    for n in &untag {
        let had = txn.names.tags.remove(n).is_some()
            | txn.names.digests.remove(n).is_some()
            | txn.names.removing.contains_key(n);
        if had {
            txn.names.removing.insert(n.clone(), id.clone());
            out.untagged.push(familiar(n));
        }
    }
    let still_named = txn.names.is_named(&id);
    txn.commit()?;
    // An image containers still use stays (dangling) until they are removed, as in Docker.
    if !still_named && in_use.is_empty() {
        let lock = store.lock_exclusive()?;
        store.remove_image_record(&id)?;
        out.deleted.push(id.to_string());
        let pinned = pinned_layers(root, &store)?;
        store.gc(&lock, &pinned)?;
    }
    let mut txn = store.names_txn()?;
    for n in &untag {
        txn.names.removing.remove(n);
    }
    txn.commit()?;
    Ok(out)
}

/// `berth image prune`: removes dangling images (no name), or with `all` every image
/// no container uses; then collects garbage. Returns the removed ids and bytes freed.
pub fn prune(root: &StateRoot, all: bool) -> Result<(Vec<String>, u64)> {
    let store = open_store(root)?;
    let lock = store.lock_exclusive()?;
    let used = images_in_use(root)?;
    let mut removed = Vec::new();
    let mut bytes = 0;
    {
        let mut txn = store.names_txn()?;
        for img in store.images()? {
            if used.contains(&img.id.to_string()) {
                continue;
            }
            if !all && txn.names.is_named(&img.id) {
                continue;
            }
            txn.names.tags.retain(|_, v| *v != img.id);
            txn.names.digests.retain(|_, v| *v != img.id);
            removed.push(img.id.clone());
        }
        txn.commit()?;
    }
    for id in &removed {
        store.remove_image_record(id)?;
    }
    let pinned = pinned_layers(root, &store)?;
    let stats = store.gc(&lock, &pinned)?;
    bytes += stats.bytes;
    bytes += store.clear_downloads(&lock)?;
    Ok((removed.into_iter().map(|d| d.to_string()).collect(), bytes))
}

/// `berth tag SOURCE TARGET`.
pub fn tag(root: &StateRoot, source: &str, target: &str) -> Result<()> {
    let store = open_store(root)?;
    let found = find(&store, source)?;
    let r = ImageRef::parse(target).map_err(Error::from)?;
    if r.digest.is_some() {
        return Err(Error::invalid(format!(
            "refusing to create a tag with a digest reference: {target}"
        )));
    }
    store.tag(&full_name(&r), &found.id)?;
    Ok(())
}

/// One row of `berth images`.
#[derive(Debug, Clone)]
pub struct ImageRow {
    pub id: Digest,
    pub repository: String,
    pub tag: String,
    pub digest: String,
    pub created: String,
    pub size: u64,
    pub containers: usize,
}

/// Rows for `berth images`: one per tag, plus one `<none>` row per dangling image.
pub fn list(root: &StateRoot) -> Result<Vec<ImageRow>> {
    let store = open_store(root)?;
    let names = store.names()?;
    let mut users: BTreeMap<String, usize> = BTreeMap::new();
    for r in crate::containers::all_records(root) {
        *users.entry(r.image).or_default() += 1;
    }
    let mut rows = Vec::new();
    for img in store.images()? {
        let created = store
            .image_config(&img.id)
            .ok()
            .and_then(|(c, _)| c.created)
            .unwrap_or_default();
        let (tags, digests) = names.of(&img.id);
        let digest_of = |repo: &str| {
            digests
                .iter()
                .find_map(|d| {
                    let (r, dg) = split_name(d);
                    (r == repo).then_some(dg)
                })
                .unwrap_or_else(|| "<none>".into())
        };
        let containers = users.get(&img.id.to_string()).copied().unwrap_or(0);
        if tags.is_empty() {
            let (repo, digest) = digests
                .first()
                .map(|d| split_name(d))
                .unwrap_or_else(|| ("<none>".into(), "<none>".into()));
            rows.push(ImageRow {
                id: img.id.clone(),
                repository: repo,
                tag: "<none>".into(),
                digest,
                created: created.clone(),
                size: img.size,
                containers,
            });
        }
        for t in tags {
            let (repo, tag) = split_name(t);
            let digest = digest_of(&repo);
            rows.push(ImageRow {
                id: img.id.clone(),
                repository: repo,
                tag,
                digest,
                created: created.clone(),
                size: img.size,
                containers,
            });
        }
    }
    rows.sort_by(|a, b| {
        b.created
            .cmp(&a.created)
            .then(a.repository.cmp(&b.repository))
            .then(a.tag.cmp(&b.tag))
    });
    Ok(rows)
}

/// `docker image inspect`-shaped JSON for an image.
/// One row of `berth history`: a history entry of the image config, with the size of
/// the layer it made (0 for a config-only entry).
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub created: String,
    pub created_by: String,
    pub comment: String,
    pub size: u64,
}

/// The image's history, newest first, as `docker history` lists it. Entries that made
/// a layer take the image's layers in order; an image without history (some imports)
/// gets one row per layer.
pub fn history(root: &StateRoot, name: &str) -> Result<(Digest, Vec<HistoryRow>)> {
    let store = open_store(root)?;
    let found = find(&store, name)?;
    let (config, _) = store.image_config(&found.id)?;
    let mut layers = config.rootfs.diff_ids.iter();
    let mut size_of_next = || -> Result<u64> {
        Ok(match layers.next() {
            Some(d) => store.layer_info(d)?.size,
            None => 0,
        })
    };
    let mut rows = Vec::new();
    if config.history.is_empty() {
        for _ in 0..config.rootfs.diff_ids.len() {
            rows.push(HistoryRow {
                created: config.created.clone().unwrap_or_default(),
                created_by: String::new(),
                comment: String::new(),
                size: size_of_next()?,
            });
        }
    }
    for h in &config.history {
        rows.push(HistoryRow {
            created: h.created.clone().unwrap_or_default(),
            created_by: h.created_by.clone().unwrap_or_default(),
            comment: h.comment.clone().unwrap_or_default(),
            size: if h.empty_layer { 0 } else { size_of_next()? },
        });
    }
    rows.reverse();
    Ok((found.id, rows))
}

pub fn inspect(root: &StateRoot, name: &str) -> Result<serde_json::Value> {
    let store = open_store(root)?;
    let found = find(&store, name)?;
    let names = store.names()?;
    let (tags, digests) = names.of(&found.id);
    let (config, _) = store.image_config(&found.id)?;
    let c = config.config.clone().unwrap_or_default();
    let tags: Vec<String> = tags.iter().map(|t| familiar(t)).collect();
    let digests: Vec<String> = digests.iter().map(|d| familiar(d)).collect();
    Ok(serde_json::json!({
        "Id": found.id.to_string(),
        "RepoTags": tags,
        "RepoDigests": digests,
        "Parent": "",
        "Comment": config.history.last().and_then(|h| h.comment.clone()).unwrap_or_default(),
        "Created": config.created.clone().unwrap_or_default(),
        "Author": config.author.clone().unwrap_or_default(),
        "Config": {
            "User": c.user.clone().unwrap_or_default(),
            "ExposedPorts": c.exposed_ports,
            "Env": c.env.clone().unwrap_or_default(),
            "Entrypoint": c.entrypoint,
            "Cmd": c.cmd,
            "Volumes": c.volumes,
            "WorkingDir": c.working_dir.clone().unwrap_or_default(),
            "Labels": c.labels,
            "StopSignal": c.stop_signal,
            "Healthcheck": c.healthcheck,
            "OnBuild": c.on_build,
            "Shell": c.shell,
        },
        "Architecture": config.architecture,
        "Variant": config.variant,
        "Os": config.os,
        "Size": found.record.size,
        "RootFS": {
            "Type": "layers",
            "Layers": found.record.layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>(),
        },
        "Metadata": { "LastTagTime": found.record.added },
        "Descriptor": found.record.manifest,
    }))
}

/// What `berth system df` reports.
#[derive(Debug, Default)]
pub struct DiskUsage {
    pub images: Vec<ImageUsage>,
    /// Sum of every image's size as if nothing were shared.
    pub images_logical: u64,
    /// What the store really occupies (distinct inodes of every layer, plus blobs).
    pub images_real: u64,
    pub images_active: usize,
    /// Bytes no container uses (reclaimable by `image prune -a`).
    pub images_reclaimable: u64,
    pub containers: usize,
    pub containers_running: usize,
    pub containers_size: u64,
    pub volumes: usize,
    pub volumes_active: usize,
    pub volumes_size: u64,
    /// Layers the build cache keeps (store GC roots), and their bytes.
    pub build_cache_layers: usize,
    pub build_cache_size: u64,
    /// Bytes `builder prune` would free: kept layers no image uses.
    pub build_cache_reclaimable: u64,
}

#[derive(Debug, Clone)]
pub struct ImageUsage {
    pub repository: String,
    pub tag: String,
    pub id: Digest,
    pub created: String,
    pub size: u64,
    /// On-disk bytes also used by another image.
    pub shared: u64,
    /// On-disk bytes only this image uses.
    pub unique: u64,
    pub containers: usize,
}

pub fn disk_usage(root: &StateRoot) -> Result<DiskUsage> {
    let store = open_store(root)?;
    let usage = store.usage()?;
    let images = store.images()?;
    let records = crate::containers::all_records(root);
    let mut du = DiskUsage::default();
    let rows = list(root)?;
    let mut active_layers: HashSet<Digest> = HashSet::new();
    for img in &images {
        let layers: Vec<&Digest> = img.layers.iter().map(|l| &l.diff_id).collect();
        let own: HashMap<(u64, u64), u64> = inodes_of(&usage, &layers);
        let mut others: HashSet<(u64, u64)> = HashSet::new();
        for other in images.iter().filter(|o| o.id != img.id) {
            let ol: Vec<&Digest> = other.layers.iter().map(|l| &l.diff_id).collect();
            others.extend(inodes_of(&usage, &ol).into_keys());
        }
        let shared: u64 = own
            .iter()
            .filter(|(k, _)| others.contains(k))
            .map(|(_, b)| b)
            .sum();
        let total: u64 = own.values().sum();
        let containers = records
            .iter()
            .filter(|r| r.image == img.id.to_string())
            .count();
        if containers > 0 {
            du.images_active += 1;
            active_layers.extend(img.layers.iter().map(|l| l.diff_id.clone()));
        }
        let row = rows.iter().find(|r| r.id == img.id);
        du.images.push(ImageUsage {
            repository: row
                .map(|r| r.repository.clone())
                .unwrap_or_else(|| "<none>".into()),
            tag: row
                .map(|r| r.tag.clone())
                .unwrap_or_else(|| "<none>".into()),
            id: img.id.clone(),
            created: row.map(|r| r.created.clone()).unwrap_or_default(),
            size: total,
            shared,
            unique: total - shared,
            containers,
        });
        du.images_logical += img.size;
    }
    du.images_real = usage.total();
    // Layers the build cache keeps survive `image prune -a` too: not reclaimable there.
    let kept = store.roots()?;
    du.images_reclaimable = du
        .images_real
        .saturating_sub(usage.bytes_of(active_layers.iter().chain(kept.iter())));
    let image_layers: HashSet<&Digest> = images
        .iter()
        .flat_map(|i| i.layers.iter().map(|l| &l.diff_id))
        .collect();
    du.build_cache_layers = kept.len();
    du.build_cache_size = usage.bytes_of(kept.iter());
    du.build_cache_reclaimable = usage.bytes_of(kept.iter().filter(|d| !image_layers.contains(d)));
    for (rec, state) in crate::containers::list(root) {
        du.containers += 1;
        if state.status == crate::record::Status::Running {
            du.containers_running += 1;
        }
        let mut inodes = HashMap::new();
        store::usage::walk(
            &crate::spec::rootfs_dirs(&root.container(&rec.id)).upper,
            &mut inodes,
        );
        du.containers_size += inodes.values().sum::<u64>();
    }
    let in_use: HashSet<String> = records
        .iter()
        .flat_map(|r| r.host_config.mounts.iter())
        .filter(|m| m.kind == crate::record::MountType::Volume)
        .map(|m| m.source.clone())
        .collect();
    if let Ok(entries) = std::fs::read_dir(root.dir().join("volumes")) {
        for e in entries.flatten() {
            du.volumes += 1;
            if in_use.contains(&e.file_name().to_string_lossy().into_owned()) {
                du.volumes_active += 1;
            }
            let mut inodes = HashMap::new();
            store::usage::walk(&e.path(), &mut inodes);
            du.volumes_size += inodes.values().sum::<u64>();
        }
    }
    Ok(du)
}

fn inodes_of(usage: &store::usage::Usage, layers: &[&Digest]) -> HashMap<(u64, u64), u64> {
    let mut out = HashMap::new();
    for l in layers {
        if let Some(i) = usage.layers.get(*l) {
            out.extend(i.iter().map(|(k, v)| (*k, *v)));
        }
    }
    out
}

/// `berth storage check`, with temp leftovers swept first when nobody else is working.
pub fn check(root: &StateRoot) -> Result<store::check::CheckReport> {
    let store = open_store(root)?;
    if let Some(lock) = store.try_lock_exclusive()? {
        store.sweep_tmp(&lock)?;
    }
    let _lock = store.lock_shared()?;
    Ok(store.check()?)
}
