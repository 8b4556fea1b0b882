//! COPY and ADD: where each source lands under the destination (Docker's rules: a
//! directory's contents are copied, not the directory; several sources need a
//! destination ending in `/`; a relative destination is below WORKDIR), a content hash
//! of everything copied for the cache (names, modes, owners and bytes; never mtimes),
//! and the layer tar. ADD unpacks a local tar archive (plain or gzip). Never reads
//! outside the source root and never writes anywhere but the tar it is given.

use std::collections::BTreeSet;
use std::fs::{self, File, Metadata};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::context::Ignore;
use crate::diff::header;
use crate::error::{IoContext, Result};
use crate::pattern::{self, Pattern};
use crate::{layers, sources};

/// What one COPY or ADD copies, with its sources already resolved.
pub struct Spec<'a> {
    pub sources: Vec<Source<'a>>,
    /// The destination, expanded, as written.
    pub dest: &'a str,
    pub workdir: &'a str,
    pub owner: (u32, u32),
    pub chmod: Option<u32>,
    /// `--parents`: each source keeps its path below its root (or below its `/./`
    /// pivot), and the destination is a directory.
    pub parents: bool,
    /// `--exclude` patterns.
    pub excludes: &'a [Pattern],
    /// The stage's layers, topmost first: to see whether the destination is a
    /// directory and to keep the metadata of existing parent directories.
    pub lowers: &'a [PathBuf],
}

/// One source as written, resolved below the root it is read from.
pub struct Source<'a> {
    /// Where it is read from: the context, a `--from` view, or a scratch directory
    /// holding an inline file, a download or a git checkout.
    pub root: PathBuf,
    pub ignore: Option<&'a Ignore>,
    /// The paths it matched, relative to `root`.
    pub matched: Vec<String>,
    pub wildcard: bool,
    /// ADD of a local file: unpack tar archives.
    pub extract: bool,
    /// With `--parents`: how many leading components of each matched path are dropped
    /// (those before a `/./` pivot).
    pub pivot: usize,
}

impl Source<'_> {
    /// One path in a scratch directory the build made (an inline file, a download, a
    /// git checkout): no ignore rules, no wildcard, nothing to unpack.
    pub fn fetched(root: PathBuf, path: String) -> Source<'static> {
        Source {
            root,
            ignore: None,
            matched: vec![path],
            wildcard: false,
            extract: false,
            pivot: 0,
        }
    }
}

enum Item {
    Copy {
        path: PathBuf,
        meta: Metadata,
    },
    /// A directory above what is copied: the existing one's metadata, or a new one.
    Parent(Option<Metadata>),
    Extract(PathBuf),
}

/// The entries of the layer, in tar order, and the cache hash of the content.
pub struct Plan {
    items: Vec<(String, Item)>,
    pub hash: String,
    owner: (u32, u32),
    chmod: Option<u32>,
}

pub fn plan(spec: &Spec<'_>) -> std::result::Result<Plan, String> {
    let full = if spec.dest.starts_with('/') {
        spec.dest.to_string()
    } else {
        format!("{}/{}", spec.workdir, spec.dest)
    };
    let dest = clean_abs(&full);
    let last = spec.dest.rsplit('/').next().unwrap_or("");
    let says_dir = spec.dest.ends_with('/') || last == "." || last == ".." || dest.is_empty();
    let count: usize = spec.sources.iter().map(|s| s.matched.len()).sum();
    let many = spec.sources.len() > 1
        || spec
            .sources
            .iter()
            .any(|s| s.wildcard && s.matched.len() > 1);
    if many && !says_dir && count > 1 {
        return Err(format!(
            "{}: when copying more than one file the destination must be a directory and end with a /",
            spec.dest
        ));
    }
    let dest_is_dir = says_dir
        || many
        || spec.parents
        || layers::stat(spec.lowers, &dest).is_some_and(|m| m.is_dir());

    let excluded = |from_root: &str, from_source: &str| {
        spec.excludes.iter().any(|p| {
            p.matches_or_parent(from_root)
                || (!from_source.is_empty() && p.matches_or_parent(from_source))
        })
    };
    let mut items: Vec<(String, Item)> = Vec::new();
    for src in &spec.sources {
        for rel in &src.matched {
            if !rel.is_empty() && excluded(rel, rel.rsplit('/').next().unwrap_or(rel)) {
                continue;
            }
            let path = src.root.join(rel);
            let meta = fs::symlink_metadata(&path).map_err(|e| format!("{rel}: {e}"))?;
            // Where this source's own path lands: with --parents, its path below the
            // pivot; otherwise nowhere (a directory's contents go into `dest`).
            let kept: Vec<&str> = if spec.parents {
                rel.split('/')
                    .filter(|c| !c.is_empty())
                    .skip(src.pivot)
                    .collect()
            } else {
                Vec::new()
            };
            if spec.parents {
                // The kept parent directories come from the source, with their modes.
                let mut at = rel
                    .split('/')
                    .filter(|c| !c.is_empty())
                    .take(src.pivot)
                    .collect::<Vec<_>>()
                    .join("/");
                for (i, comp) in kept.iter().enumerate() {
                    at = join(&at, comp);
                    if i + 1 == kept.len() {
                        break;
                    }
                    let p = src.root.join(&at);
                    let m = fs::symlink_metadata(&p).map_err(|e| format!("{at}: {e}"))?;
                    items.push((
                        join(&dest, &kept[..=i].join("/")),
                        Item::Copy { path: p, meta: m },
                    ));
                }
            }
            if meta.is_dir() {
                let top = join(&dest, &kept.join("/"));
                if spec.parents && !kept.is_empty() {
                    items.push((
                        top.clone(),
                        Item::Copy {
                            path: path.clone(),
                            meta: meta.clone(),
                        },
                    ));
                } else if !top.is_empty() {
                    // Only the contents are copied: a missing destination directory is
                    // made like any other parent.
                    let existing = layers::stat(spec.lowers, &top).filter(Metadata::is_dir);
                    items.push((top.clone(), Item::Parent(existing)));
                }
                for child in sources::tree(&src.root, rel, src.ignore) {
                    let below = if rel.is_empty() {
                        child.as_str()
                    } else {
                        child.strip_prefix(&format!("{rel}/")).unwrap_or(&child)
                    };
                    if excluded(&child, below) {
                        continue;
                    }
                    let p = src.root.join(&child);
                    let m = fs::symlink_metadata(&p).map_err(|e| format!("{child}: {e}"))?;
                    items.push((join(&top, below), Item::Copy { path: p, meta: m }));
                }
            } else if meta.is_file() && src.extract && archive_kind(&path).is_some() {
                items.push((join(&dest, &kept.join("/")), Item::Extract(path)));
            } else {
                let base = rel.rsplit('/').next().unwrap_or(rel);
                let name = if spec.parents {
                    join(&dest, &kept.join("/"))
                } else if dest_is_dir {
                    join(&dest, base)
                } else {
                    dest.clone()
                };
                if name.is_empty() {
                    return Err(format!("{rel}: cannot replace / with a file"));
                }
                items.push((name, Item::Copy { path, meta }));
            }
        }
    }

    // Every directory above an entry must be in the layer too.
    let present: BTreeSet<String> = items.iter().map(|(n, _)| n.clone()).collect();
    let mut parents: BTreeSet<String> = BTreeSet::new();
    for (name, _) in &items {
        let mut prefix = String::new();
        for comp in name
            .split('/')
            .collect::<Vec<_>>()
            .iter()
            .rev()
            .skip(1)
            .rev()
        {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(comp);
            if !present.contains(&prefix) {
                parents.insert(prefix.clone());
            }
        }
    }
    for p in parents {
        let m = layers::stat(spec.lowers, &p).filter(Metadata::is_dir);
        items.push((p, Item::Parent(m)));
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items.dedup_by(|a, b| a.0 == b.0 && !matches!(a.1, Item::Extract(_)));

    let hash = hash(&items, spec.owner, spec.chmod)?;
    Ok(Plan {
        items,
        hash,
        owner: spec.owner,
        chmod: spec.chmod,
    })
}

fn hash(
    items: &[(String, Item)],
    owner: (u32, u32),
    chmod: Option<u32>,
) -> std::result::Result<String, String> {
    let mut h = Sha256::new();
    h.update(format!("owner {}:{} chmod {chmod:?}\n", owner.0, owner.1));
    for (name, item) in items {
        h.update(name.as_bytes());
        h.update(b"\0");
        match item {
            Item::Parent(_) => h.update(b"parent\n"),
            Item::Copy { path, meta } => {
                h.update(format!("{:o} {}\n", meta.mode(), meta.len()));
                if meta.is_file() {
                    h.update(file_hash(path)?);
                } else if meta.file_type().is_symlink() {
                    let t = fs::read_link(path).map_err(|e| format!("{}: {e}", path.display()))?;
                    h.update(t.as_os_str().as_encoded_bytes());
                } else if !meta.is_dir() {
                    h.update(meta.rdev().to_le_bytes());
                }
            }
            Item::Extract(path) => {
                h.update(b"extract\n");
                h.update(file_hash(path)?);
            }
        }
    }
    Ok(hex::encode(h.finalize()))
}

fn file_hash(path: &Path) -> std::result::Result<[u8; 32], String> {
    let mut f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

/// Writes the planned entries as a layer tar.
pub fn write(plan: &Plan, out: impl Write) -> Result<()> {
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for (name, item) in &plan.items {
        let what = || format!("adding {name} to the layer");
        match item {
            Item::Parent(Some(m)) => {
                let mut h = header(m, tar::EntryType::Directory);
                tar.append_data(&mut h, format!("{name}/"), std::io::empty())
                    .ctx(what)?;
            }
            Item::Parent(None) => {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_uid(u64::from(plan.owner.0));
                h.set_gid(u64::from(plan.owner.1));
                h.set_mtime(now);
                h.set_size(0);
                tar.append_data(&mut h, format!("{name}/"), std::io::empty())
                    .ctx(what)?;
            }
            Item::Copy { path, meta } => {
                let ft = meta.file_type();
                let kind = if ft.is_dir() {
                    tar::EntryType::Directory
                } else if ft.is_symlink() {
                    tar::EntryType::Symlink
                } else if ft.is_file() {
                    tar::EntryType::Regular
                } else {
                    // Devices, fifos and sockets in a context are not copied (Docker
                    // refuses most of them too).
                    continue;
                };
                let mut h = header(meta, kind);
                h.set_uid(u64::from(plan.owner.0));
                h.set_gid(u64::from(plan.owner.1));
                if let (Some(mode), false) = (plan.chmod, ft.is_symlink()) {
                    h.set_mode(mode);
                }
                match kind {
                    tar::EntryType::Directory => tar
                        .append_data(&mut h, format!("{name}/"), std::io::empty())
                        .ctx(what)?,
                    tar::EntryType::Symlink => {
                        let t =
                            fs::read_link(path).ctx(|| format!("reading {}", path.display()))?;
                        tar.append_link(&mut h, name, &t).ctx(what)?
                    }
                    _ => {
                        let f = File::open(path).ctx(|| format!("opening {}", path.display()))?;
                        h.set_size(meta.len());
                        tar.append_data(&mut h, name, f).ctx(what)?
                    }
                }
            }
            Item::Extract(path) => extract_into(&mut tar, path, name)?,
        }
    }
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .ctx(|| "finishing the layer tar".into())
}

#[derive(Clone, Copy)]
enum Archive {
    Tar,
    Gzip,
}

/// Whether ADD should unpack this file: a tar, plain or gzip-compressed.
fn archive_kind(path: &Path) -> Option<Archive> {
    let mut head = [0u8; 512];
    let mut f = File::open(path).ok()?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return None,
        }
    }
    if n >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        return Some(Archive::Gzip);
    }
    if n >= 262 && &head[257..262] == b"ustar" {
        return Some(Archive::Tar);
    }
    None
}

fn extract_into<W: Write>(tar: &mut tar::Builder<W>, path: &Path, dest: &str) -> Result<()> {
    let f = File::open(path).ctx(|| format!("opening {}", path.display()))?;
    let reader: Box<dyn Read> = match archive_kind(path) {
        Some(Archive::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(f)),
        _ => Box::new(f),
    };
    let mut archive = tar::Archive::new(reader);
    let what = || format!("unpacking {}", path.display());
    for entry in archive.entries().ctx(what)? {
        let mut entry = entry.ctx(what)?;
        let inner = entry.path().ctx(what)?.to_string_lossy().into_owned();
        let Some(parts) = pattern::clean(&inner) else {
            // An entry that climbs out of the destination is dropped, as Docker does.
            continue;
        };
        if parts.is_empty() {
            continue;
        }
        let name = join(dest, &parts.join("/"));
        let mut h = entry.header().clone();
        match h.entry_type() {
            tar::EntryType::Directory => tar
                .append_data(&mut h, format!("{name}/"), std::io::empty())
                .ctx(what)?,
            tar::EntryType::Symlink => {
                let t = entry
                    .link_name()
                    .ctx(what)?
                    .unwrap_or_default()
                    .into_owned();
                tar.append_link(&mut h, &name, t).ctx(what)?
            }
            tar::EntryType::Link => {
                let t = entry.link_name().ctx(what)?.unwrap_or_default();
                let Some(tp) = pattern::clean(&t.to_string_lossy()) else {
                    continue;
                };
                tar.append_link(&mut h, &name, join(dest, &tp.join("/")))
                    .ctx(what)?
            }
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => continue,
            _ => tar.append_data(&mut h, &name, &mut entry).ctx(what)?,
        }
    }
    Ok(())
}

fn join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (_, true) => dir.to_string(),
        _ => format!("{dir}/{name}"),
    }
}

/// An absolute path cleaned to its components below `/`, joined with `/` (`..` at the
/// root stays at the root).
pub fn clean_abs(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(root: &Path, matched: Vec<String>, wildcard: bool) -> Source<'static> {
        Source {
            root: root.to_path_buf(),
            ignore: None,
            matched,
            wildcard,
            extract: false,
            pivot: 0,
        }
    }

    fn names(spec: &Spec<'_>) -> Vec<String> {
        plan(spec)
            .unwrap()
            .items
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    #[test]
    fn files_and_directories_land_as_docker_places_them() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("dir/sub")).unwrap();
        fs::write(d.path().join("dir/sub/f"), "f").unwrap();
        fs::write(d.path().join("a.txt"), "a").unwrap();
        let base = |sources: Vec<(Vec<String>, bool)>, dest: &'static str| Spec {
            sources: sources
                .into_iter()
                .map(|(matched, wildcard)| source(d.path(), matched, wildcard))
                .collect(),
            dest,
            workdir: "/w",
            owner: (0, 0),
            chmod: None,
            parents: false,
            excludes: &[],
            lowers: &[],
        };
        assert_eq!(
            names(&base(vec![(vec!["a.txt".into()], false)], "/x/b.txt")),
            ["x", "x/b.txt"]
        );
        assert_eq!(
            names(&base(vec![(vec!["a.txt".into()], false)], "rel/")),
            ["w", "w/rel", "w/rel/a.txt"]
        );
        assert_eq!(
            names(&base(vec![(vec!["dir".into()], false)], "/app")),
            ["app", "app/sub", "app/sub/f"]
        );
        let two = base(
            vec![(vec!["a.txt".into()], false), (vec!["dir".into()], false)],
            "/one",
        );
        assert!(plan(&two).err().unwrap().contains("end with a /"));
    }

    #[test]
    fn the_hash_follows_content_not_mtimes() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("a"), "1").unwrap();
        let spec = Spec {
            sources: vec![source(d.path(), vec!["a".into()], false)],
            dest: "/a",
            workdir: "/",
            owner: (0, 0),
            chmod: None,
            parents: false,
            excludes: &[],
            lowers: &[],
        };
        let first = plan(&spec).unwrap().hash;
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(d.path().join("a"), "1").unwrap();
        assert_eq!(plan(&spec).unwrap().hash, first);
        fs::write(d.path().join("a"), "2").unwrap();
        assert_ne!(plan(&spec).unwrap().hash, first);
    }

    #[test]
    fn parents_keep_paths_below_the_pivot_and_excludes_drop_matches() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("src/a/deep")).unwrap();
        fs::write(d.path().join("src/a/b.txt"), "b").unwrap();
        fs::write(d.path().join("src/a/deep/c.md"), "c").unwrap();
        let excludes = [Pattern::new("**/*.md").unwrap()];
        let mut spec = Spec {
            sources: vec![source(d.path(), vec!["src/a/b.txt".into()], false)],
            dest: "/dst",
            workdir: "/",
            owner: (0, 0),
            chmod: None,
            parents: true,
            excludes: &[],
            lowers: &[],
        };
        assert_eq!(
            names(&spec),
            ["dst", "dst/src", "dst/src/a", "dst/src/a/b.txt"]
        );
        spec.sources[0].pivot = 1;
        assert_eq!(names(&spec), ["dst", "dst/a", "dst/a/b.txt"]);
        spec.sources = vec![source(d.path(), vec!["src".into()], false)];
        spec.parents = false;
        spec.excludes = &excludes;
        assert_eq!(names(&spec), ["dst", "dst/a", "dst/a/b.txt", "dst/a/deep"]);
    }
}
