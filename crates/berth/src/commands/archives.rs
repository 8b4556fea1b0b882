//! `berth save`, `berth load` and `berth import`.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use engine::archives::{self, LoadSource, SaveFormat, Selection};
use engine::StateRoot;

#[derive(Args, Debug)]
pub struct SaveArgs {
    /// Write to a file instead of stdout.
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
    /// Archive format: docker-archive (default, like `docker save`), oci-archive, or oci-dir (an OCI layout directory; needs -o DIR).
    #[arg(long, default_value = "docker-archive")]
    format: String,
    #[arg(required = true, value_name = "IMAGE")]
    names: Vec<String>,
}

pub fn save(root: &StateRoot, a: SaveArgs) -> engine::Result<i32> {
    if a.format == "oci-dir" {
        return save_dir(root, &a);
    }
    let format = match a.format.as_str() {
        "docker-archive" | "docker" => SaveFormat::DockerArchive,
        "oci-archive" | "oci" => SaveFormat::OciArchive,
        other => {
            return Err(engine::Error::invalid(format!(
                "unknown archive format {other:?}: use docker-archive, oci-archive or oci-dir"
            )))
        }
    };
    match &a.output {
        Some(path) => archives::save_to_file(root, Selection::Names(&a.names), format, path)?,
        None => {
            if std::io::stdout().is_terminal() {
                return Err(engine::Error::invalid(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect",
                ));
            }
            let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            archives::save(root, Selection::Names(&a.names), format, &mut out)?;
            out.flush()
                .map_err(|e| engine::Error::invalid(format!("writing stdout: {e}")))?;
        }
    }
    Ok(0)
}

/// An OCI layout directory: the oci-archive stream unpacked as it is written, into a
/// temp dir renamed into place at the end.
fn save_dir(root: &StateRoot, a: &SaveArgs) -> engine::Result<i32> {
    let dir = a
        .output
        .clone()
        .ok_or_else(|| engine::Error::invalid("--format oci-dir needs -o DIR"))?;
    if dir.exists() {
        return Err(engine::Error::invalid(format!(
            "{} already exists: give a new directory to -o",
            dir.display()
        )));
    }
    let tmp = dir.with_file_name(format!(
        ".{}.berth-tmp",
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let fail =
        |e: std::io::Error| engine::Error::invalid(format!("writing {}: {e}", dir.display()));
    std::fs::create_dir(&tmp).map_err(fail)?;
    let result = (|| {
        let (reader, mut writer) = std::io::pipe().map_err(fail)?;
        let target = tmp.clone();
        let unpacker = std::thread::spawn(move || tar::Archive::new(reader).unpack(&target));
        let saved = archives::save(
            root,
            Selection::Names(&a.names),
            SaveFormat::OciArchive,
            &mut writer,
        );
        drop(writer);
        let unpacked = unpacker
            .join()
            .map_err(|_| engine::Error::invalid("writing the layout failed"))?;
        saved?;
        unpacked.map_err(fail)?;
        std::fs::rename(&tmp, &dir).map_err(fail)
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result.map(|_| 0)
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Read from a tar archive file (docker-archive or oci-archive, optionally compressed) or an OCI layout directory, instead of stdin.
    #[arg(short = 'i', long)]
    input: Option<PathBuf>,
    /// Suppress the load output.
    #[arg(short = 'q', long)]
    quiet: bool,
}

pub fn load(root: &StateRoot, a: LoadArgs) -> engine::Result<i32> {
    let src =
        match &a.input {
            Some(p) if p.is_dir() => LoadSource::Dir(p.clone()),
            Some(p) => LoadSource::Reader(Box::new(File::open(p).map_err(|e| {
                engine::Error::invalid(format!("cannot read {}: {e}", p.display()))
            })?)),
            None => {
                if std::io::stdin().is_terminal() {
                    return Err(engine::Error::invalid(
                        "requested load from stdin, but stdin is empty: use -i FILE or redirect",
                    ));
                }
                LoadSource::Reader(Box::new(std::io::stdin()))
            }
        };
    let loaded = archives::load(root, src)?;
    if !a.quiet {
        for n in &loaded.names {
            println!("Loaded image: {}", engine::images::familiar(n));
        }
        for id in &loaded.untagged {
            println!("Loaded image ID: {id}");
        }
    }
    Ok(0)
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Apply a Dockerfile instruction to the image (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL).
    #[arg(short = 'c', long = "change")]
    change: Vec<String>,
    /// Commit message.
    #[arg(short = 'm', long)]
    message: Option<String>,
    /// Platform of the image (only the host's is supported).
    #[arg(long)]
    platform: Option<String>,
    /// A tarball of a root filesystem, or - for stdin.
    #[arg(value_name = "file|-")]
    file: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    name: Option<String>,
}

pub fn import(root: &StateRoot, a: ImportArgs) -> engine::Result<i32> {
    let _ = a.platform;
    let id = if a.file == "-" {
        archives::import(
            root,
            std::io::stdin(),
            a.name.as_deref(),
            &a.change,
            a.message.as_deref(),
        )?
    } else {
        if a.file.contains("://") {
            return Err(engine::Error::invalid(
                "importing from a URL is not supported: download the file and import it",
            ));
        }
        let f = File::open(&a.file)
            .map_err(|e| engine::Error::invalid(format!("cannot read {}: {e}", a.file)))?;
        archives::import(root, f, a.name.as_deref(), &a.change, a.message.as_deref())?
    };
    println!("{id}");
    Ok(0)
}
