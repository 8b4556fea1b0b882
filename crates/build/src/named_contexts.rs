//! `--build-context NAME=VALUE` (compose's `additional_contexts`): more contexts a
//! Dockerfile reaches by name with `COPY --from=NAME`, `RUN --mount=from=NAME` and
//! `FROM NAME`. A value is a local directory (with its own `.dockerignore`), a git
//! repository (checked out like a remote build context) or `docker-image://REF`. Owns
//! reading the values; never copies anything.

use std::collections::BTreeMap;
use std::path::Path;

use store::layout::TempDir;
use store::Store;

use crate::context::Context;
use crate::error::{Error, Result};

pub enum Named {
    /// A directory's files, read as the main context is (`.dockerignore` applies).
    Dir(Context),
    /// An image reference, used wherever the name stands for an image or a stage.
    Image(String),
}

/// The named contexts of a build, by lower-cased name (stage names are matched that
/// way too). Fetched checkouts live as long as this does.
#[derive(Default)]
pub struct NamedContexts {
    by_name: BTreeMap<String, Named>,
    _scratch: Vec<TempDir>,
}

impl NamedContexts {
    pub fn get(&self, name: &str) -> Option<&Named> {
        self.by_name.get(&name.to_ascii_lowercase())
    }

    /// Reads every `NAME=VALUE`; relative directories are taken from the current
    /// directory, as the main context is.
    pub fn load(store: &Store, specs: &[String]) -> Result<NamedContexts> {
        let mut out = NamedContexts::default();
        for spec in specs {
            let bad = |m: String| Error::invalid(format!("--build-context {spec:?}: {m}"));
            let (name, value) = spec
                .split_once('=')
                .filter(|(n, v)| !n.is_empty() && !v.is_empty())
                .ok_or_else(|| {
                    bad("give NAME=DIR, NAME=docker-image://REF or NAME=GIT-URL".into())
                })?;
            let named = if let Some(image) = value.strip_prefix("docker-image://") {
                registry::ImageRef::parse(image).map_err(|e| bad(format!("{image}: {e}")))?;
                Named::Image(image.to_string())
            } else if value.contains("://") && crate::remote::classify(value).is_none() {
                return Err(bad(
                    "berth reads directories, git repositories and docker-image:// references here (not oci-layout:// or target:)".into(),
                ));
            } else {
                let resolved = crate::remote_context::resolve(store, Path::new(value), None)
                    .map_err(|e| bad(e.to_string()))?;
                let context = Context::open(&resolved.dir, None).map_err(|e| bad(e.to_string()))?;
                out._scratch.extend(resolved.scratch);
                Named::Dir(context)
            };
            if out
                .by_name
                .insert(name.to_ascii_lowercase(), named)
                .is_some()
            {
                return Err(bad(format!("the name {name} is given twice")));
            }
        }
        Ok(out)
    }
}
