//! Publishing what a build made: a layer tar becomes an unpacked store layer, and a
//! finished image config becomes a config blob, an image record and its tags. Never
//! decides what goes into a layer or a config; callers hold the shared store lock.

use std::fs::File;
use std::path::Path;

use engine::StateRoot;
use store::config::ImageConfig;
use store::{Compression, Digest, ImageRecord, LayerRef, Limits, Store};

use crate::error::{Error, IoContext, Result};

/// Unpacks the layer tar at `tar` into the store; returns its diff id.
pub fn layer_from_tar(store: &Store, tar: &Path) -> Result<Digest> {
    let f = File::open(tar).ctx(|| format!("opening {}", tar.display()))?;
    let info = store.unpack_layer(f, Compression::None, None, &Limits::from_env()?)?;
    Ok(info.diff_id)
}

/// The config blob of `config`, as stored (its digest is the image id).
pub fn config_bytes(config: &ImageConfig) -> Result<Vec<u8>> {
    serde_json::to_vec(config)
        .map_err(|e| Error::invalid(format!("encoding the image config: {e}")))
}

/// Publishes an image whose layers (`config.rootfs.diff_ids`) are all in the store.
/// Returns its id and whether it was already there.
pub fn put_image(store: &Store, config: &ImageConfig) -> Result<(Digest, bool)> {
    let bytes = config_bytes(config)?;
    let id = Digest::of(&bytes);
    if store.has_image(&id) {
        return Ok((id, true));
    }
    let mut size = 0;
    let mut layers = Vec::new();
    for d in &config.rootfs.diff_ids {
        size += store.layer_info(d)?.size;
        layers.push(LayerRef {
            diff_id: d.clone(),
            blob: None,
        });
    }
    let record = ImageRecord {
        id: id.clone(),
        manifest: None,
        layers,
        size,
        added: engine::time::now_rfc3339(),
    };
    store.put_image(&record, &bytes, None)?;
    Ok((id, false))
}

/// Names the image `id` with every tag in `tags` (`name[:tag]`, `:latest` implied).
pub fn tag(root: &StateRoot, id: &Digest, tags: &[String]) -> Result<()> {
    for t in tags {
        engine::images::tag(root, &id.to_string(), t)?;
    }
    Ok(())
}
