//! A build context named by a git URL (`berth build https://host/repo.git#ref:dir`, or
//! compose's `build.context`), as Docker accepts it: the repository is checked out into
//! a scratch directory under the store, which is the context for the whole build and
//! is deleted after it. `-` reads standard input as Docker does: a (gzipped) tar is the
//! context, anything else is the Dockerfile with an empty context. A plain `http(s)://`
//! context (a tarball) is refused. Owns where a fetched context goes and how `-f` is
//! read against it; never parses the Dockerfile.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use store::layout::TempDir;
use store::Store;

use crate::error::{Error, IoContext, Result};
use crate::remote::{self, Remote};

/// The context directory to build from and the Dockerfile path, plus the scratch
/// directory that must outlive the build when the context was fetched.
pub struct Resolved {
    pub dir: PathBuf,
    /// `-f` as given for a local context; below the checkout for a remote one.
    pub dockerfile: Option<PathBuf>,
    /// The Dockerfile's text when standard input was the Dockerfile itself.
    pub dockerfile_text: Option<String>,
    pub scratch: Option<TempDir>,
}

pub fn resolve(store: &Store, context: &Path, dockerfile: Option<&Path>) -> Result<Resolved> {
    let Some(text) = context.to_str() else {
        return Ok(local(context, dockerfile));
    };
    if text == "-" {
        return from_stdin(store, dockerfile);
    }
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
                dockerfile_text: None,
                scratch: Some(scratch),
            })
        }
    }
}

fn local(context: &Path, dockerfile: Option<&Path>) -> Resolved {
    Resolved {
        dir: context.to_path_buf(),
        dockerfile: dockerfile.map(Path::to_path_buf),
        dockerfile_text: None,
        scratch: None,
    }
}

/// `berth build -`: standard input is a tar (plain or gzip) of the context, or the
/// Dockerfile alone.
fn from_stdin(store: &Store, dockerfile: Option<&Path>) -> Result<Resolved> {
    if dockerfile.is_some_and(|d| d.as_os_str() == "-") {
        return Err(Error::invalid(
            "the context and the Dockerfile cannot both come from standard input (-): give one as a path",
        ));
    }
    let scratch = store.temp_dir("context")?;
    let dir = scratch.path().join("context");
    std::fs::create_dir(&dir).ctx(|| format!("creating {}", dir.display()))?;
    let mut input = BufReader::with_capacity(1 << 20, std::io::stdin().lock());
    let head = input
        .fill_buf()
        .ctx(|| "reading the build context from standard input".into())?
        .to_vec();
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    let tar = head.len() >= 262 && &head[257..262] == b"ustar";
    if gzip || tar {
        let reader: Box<dyn Read> = if gzip {
            Box::new(flate2::read::GzDecoder::new(input))
        } else {
            Box::new(input)
        };
        let mut archive = tar::Archive::new(reader);
        archive.set_preserve_ownerships(false);
        archive.unpack(&dir).map_err(|e| {
            Error::invalid(format!(
                "unpacking the build context from standard input: {e} (give a tar or tar.gz of the context, or a Dockerfile)"
            ))
        })?;
        let dockerfile = dockerfile.map(|p| dir.join(p.strip_prefix("/").unwrap_or(p)));
        return Ok(Resolved {
            dir,
            dockerfile,
            dockerfile_text: None,
            scratch: Some(scratch),
        });
    }
    let mut text = String::new();
    input.read_to_string(&mut text).map_err(|e| {
        Error::invalid(format!(
            "reading the Dockerfile from standard input: {e} (give a Dockerfile or a tar of the context)"
        ))
    })?;
    Ok(Resolved {
        dir,
        dockerfile: dockerfile.map(Path::to_path_buf),
        dockerfile_text: Some(text),
        scratch: Some(scratch),
    })
}
