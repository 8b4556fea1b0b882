//! Where a finished build goes: `--output`/`-o` read the way Docker's buildx reads it
//! (`type=image|registry|docker|oci,KEY=VALUE...`), and the export itself: the local
//! store (tags, optionally pushed) or an archive file. Never builds anything; the image
//! is already published in the store when [`export`] runs.

use std::path::PathBuf;

use engine::archives::{SaveFormat, Selection};
use engine::StateRoot;
use store::{Digest, Store};

use crate::error::{Error, Result};

/// One `--output`, as parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// The local store (the default): the image is tagged with `-t` and `name=`, and
    /// with `push` each name is pushed to its registry.
    Image { names: Vec<String>, push: bool },
    /// An archive file (`docker` is `docker load`'s format, `oci` an OCI image layout
    /// tarball). Like buildx, the image is not kept in the store: `-t` and `name=`
    /// only name it inside the archive.
    Archive {
        format: SaveFormat,
        dest: Dest,
        names: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    Stdout,
    File(PathBuf),
}

impl Output {
    /// Reads one `--output` value.
    pub fn parse(spec: &str) -> Result<Output> {
        let bad = |what: String| Error::invalid(format!("--output {spec:?}: {what}"));
        if spec == "-" || !spec.contains('=') {
            // buildx's short forms: `-` (a tar of the files) and `DIR` (the files).
            return Err(bad(
                "exporting the image's files (type=local or type=tar) is not supported; use type=oci,dest=FILE or type=docker,dest=FILE".into(),
            ));
        }
        let mut kind = None;
        let mut dest = None;
        let mut names = Vec::new();
        let mut push = None;
        for field in spec.split(',') {
            let (k, v) = field
                .split_once('=')
                .ok_or_else(|| bad(format!("{field:?} is not KEY=VALUE")))?;
            match k.trim().to_ascii_lowercase().as_str() {
                "type" => kind = Some(v.trim().to_ascii_lowercase()),
                "dest" => dest = Some(v.to_string()),
                "name" => names.extend(v.split(' ').filter(|n| !n.is_empty()).map(String::from)),
                "push" => {
                    push = Some(parse_bool(v).ok_or_else(|| bad(format!("push={v}: use true or false")))?)
                }
                "tar" if parse_bool(v) == Some(true) => {}
                "tar" => {
                    return Err(bad(
                        "tar=false (an unpacked OCI layout) is not supported here; write the tarball and `berth save --format oci-dir` from a tagged build".into(),
                    ))
                }
                other => {
                    return Err(bad(format!(
                        "unknown option {other:?} (berth knows type, dest, name, push and tar)"
                    )))
                }
            }
        }
        let kind =
            kind.ok_or_else(|| bad("give a type: type=image, registry, docker or oci".into()))?;
        let archive = |format| -> Result<Output> {
            if push.is_some() {
                return Err(bad("push applies to type=image only".into()));
            }
            let dest = match dest.as_deref() {
                None | Some("") => {
                    return Err(bad(
                        "give the archive's file with dest=FILE (dest=- writes to stdout)".into(),
                    ))
                }
                Some("-") => Dest::Stdout,
                Some(p) => Dest::File(PathBuf::from(p)),
            };
            Ok(Output::Archive {
                format,
                dest,
                names: names.clone(),
            })
        };
        match kind.as_str() {
            "docker" => archive(SaveFormat::DockerArchive),
            "oci" => archive(SaveFormat::OciArchive),
            "image" | "registry" => {
                if dest.is_some() {
                    return Err(bad(format!("type={kind} takes no dest")));
                }
                Ok(Output::Image {
                    names,
                    push: push.unwrap_or(kind == "registry"),
                })
            }
            "local" | "tar" => Err(bad(format!(
                "type={kind} (the image's files) is not supported; use type=oci or type=docker"
            ))),
            other => Err(bad(format!(
                "unknown type {other:?}: use image, registry, docker or oci"
            ))),
        }
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Sends the built image `id` where `output` says. `tags` are `-t`'s names. `existed`
/// says whether the image record was in the store before this build: an archive-only
/// build removes a record it made (its layers stay, for the cache).
pub fn export(
    root: &StateRoot,
    store: &Store,
    id: &Digest,
    existed: bool,
    tags: &[String],
    output: &Output,
) -> Result<()> {
    match output {
        Output::Image { names, push } => {
            let all: Vec<String> = tags.iter().chain(names).cloned().collect();
            crate::commit::tag(root, id, &all)?;
            if *push {
                if all.is_empty() {
                    return Err(Error::invalid(
                        "push=true needs a name: give -t REGISTRY/NAME:TAG",
                    ));
                }
                for n in &all {
                    engine::push::push(root, n, None, &engine::progress::Silent)?;
                }
            }
            Ok(())
        }
        Output::Archive {
            format,
            dest,
            names,
        } => {
            let all: Vec<String> = tags.iter().chain(names).cloned().collect();
            let selection = Selection::Id { id, names: &all };
            let written = match dest {
                Dest::File(path) => engine::archives::save_to_file(root, selection, *format, path),
                Dest::Stdout => {
                    let mut out =
                        std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
                    engine::archives::save(root, selection, *format, &mut out).and_then(|_| {
                        std::io::Write::flush(&mut out)
                            .map_err(|e| engine::Error::invalid(format!("writing stdout: {e}")))
                    })
                }
            };
            if !existed && !store.names()?.is_named(id) {
                let _ = store.remove_image_record(id);
            }
            Ok(written?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_need_a_dest_and_take_names() {
        assert_eq!(
            Output::parse("type=oci,dest=out.tar,name=app:1").unwrap(),
            Output::Archive {
                format: SaveFormat::OciArchive,
                dest: Dest::File("out.tar".into()),
                names: vec!["app:1".into()],
            }
        );
        assert_eq!(
            Output::parse("type=docker,dest=-").unwrap(),
            Output::Archive {
                format: SaveFormat::DockerArchive,
                dest: Dest::Stdout,
                names: vec![],
            }
        );
        let e = Output::parse("type=oci").unwrap_err().to_string();
        assert!(e.contains("dest=FILE"), "{e}");
    }

    #[test]
    fn image_and_registry() {
        assert_eq!(
            Output::parse("type=registry").unwrap(),
            Output::Image {
                names: vec![],
                push: true
            }
        );
        assert_eq!(
            Output::parse("type=image,name=a:1,push=false").unwrap(),
            Output::Image {
                names: vec!["a:1".into()],
                push: false
            }
        );
        assert!(Output::parse("type=image,dest=x").is_err());
    }

    #[test]
    fn refusals_say_what_works() {
        for spec in ["-", "outdir", "type=local,dest=d", "type=tar,dest=f"] {
            let e = Output::parse(spec).unwrap_err().to_string();
            assert!(e.contains("type=oci"), "{spec}: {e}");
        }
        let e = Output::parse("type=oci,dest=f,compression=zstd")
            .unwrap_err()
            .to_string();
        assert!(e.contains("compression"), "{e}");
        let e = Output::parse("type=zip,dest=f").unwrap_err().to_string();
        assert!(e.contains("unknown type"), "{e}");
        assert!(Output::parse("type=oci,dest=f,tar=false").is_err());
        assert!(Output::parse("type=oci,dest=f,push=true").is_err());
    }
}
