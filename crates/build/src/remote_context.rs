//! A build context named by a git URL (`berth build https://host/repo.git#ref:dir`, or
//! compose's `build.context`), as Docker accepts it: the repository is checked out into
//! a scratch directory under the store, which is the context for the whole build and
//! is deleted after it. A plain `http(s)://` context (a tarball) is refused. Owns where
//! the checkout goes and how `-f` is read against it; never reads the Dockerfile.

use std::path::{Path, PathBuf};

use store::layout::TempDir;
use store::Store;

use crate::error::{Error, Result};
use crate::remote::{self, Remote};

/// The context directory to build from and the Dockerfile path, plus the scratch
/// directory that must outlive the build when the context was fetched.
pub struct Resolved {
    pub dir: PathBuf,
    /// `-f` as given for a local context; below the checkout for a remote one.
    pub dockerfile: Option<PathBuf>,
    pub scratch: Option<TempDir>,
}

pub fn resolve(store: &Store, context: &Path, dockerfile: Option<&Path>) -> Result<Resolved> {
    let Some(text) = context.to_str() else {
        return Ok(local(context, dockerfile));
    };
    match remote::classify(text) {
        None => Ok(local(context, dockerfile)),
        Some(Remote::Http(url)) => Err(Error::invalid(format!(
            "build context {url}: only git repositories can be remote contexts (a URL ending in .git, git@..., git:// or ssh://); download a tarball and build from its directory"
        ))),
        Some(Remote::Git(git)) => {
            let scratch = store.temp_dir("context")?;
            crate::git_source::checkout(&git, scratch.path(), false)
                .map_err(|e| Error::invalid(format!("build context: {e}")))?;
            let mut dir = scratch.path().to_path_buf();
            if let Some(sub) = &git.subdir {
                let below = crate::pattern::clean(sub).ok_or_else(|| {
                    Error::invalid(format!(
                        "build context {text}: the directory {sub:?} climbs out of the repository"
                    ))
                })?;
                dir = dir.join(below.join("/"));
                if !dir.is_dir() {
                    return Err(Error::invalid(format!(
                        "build context {text}: no directory {sub:?} in the repository"
                    )));
                }
            }
            // `-f` names a file in the repository, relative to the context.
            let dockerfile = match dockerfile {
                Some(p) if p.as_os_str() == "-" => Some(p.to_path_buf()),
                Some(p) => Some(dir.join(p.strip_prefix("/").unwrap_or(p))),
                None => None,
            };
            Ok(Resolved {
                dir,
                dockerfile,
                scratch: Some(scratch),
            })
        }
    }
}

fn local(context: &Path, dockerfile: Option<&Path>) -> Resolved {
    Resolved {
        dir: context.to_path_buf(),
        dockerfile: dockerfile.map(Path::to_path_buf),
        scratch: None,
    }
}
