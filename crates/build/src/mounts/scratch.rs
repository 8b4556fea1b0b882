//! Throw-away writable copies for `RUN --mount=type=bind,rw`: a directory source gets
//! an overlay (the source as its only lower layer, upper and work dirs in a scratch
//! directory), a file source a copy. What the step writes lands in the scratch
//! directory and is deleted with it. Never mounts anything writable over a source.

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};

use rustix::mount::{MountFlags, UnmountFlags};
use store::layout::TempDir;

use crate::error::{Error, IoContext, Result};

/// A writable stand-in for a source; unmounted and deleted when dropped.
pub struct Scratch {
    path: PathBuf,
    mounted: bool,
    // Dropped after the unmount (fields drop in order), so the overlay's dirs go last.
    _dir: TempDir,
}

impl Scratch {
    /// `dir` is an empty scratch directory that the `Scratch` takes over.
    pub fn writable(src: &Path, dir: TempDir) -> Result<Scratch> {
        if !fs::metadata(src)
            .ctx(|| format!("reading {}", src.display()))?
            .is_dir()
        {
            let path = dir.path().join("file");
            fs::copy(src, &path).ctx(|| format!("copying {}", src.display()))?;
            return Ok(Scratch {
                path,
                mounted: false,
                _dir: dir,
            });
        }
        let (upper, work, merged) = (
            dir.path().join("upper"),
            dir.path().join("work"),
            dir.path().join("merged"),
        );
        for d in [&upper, &work, &merged] {
            fs::create_dir(d).ctx(|| format!("creating {}", d.display()))?;
        }
        let data = format!(
            "lowerdir={},upperdir={},workdir={}",
            escape(src),
            escape(&upper),
            escape(&work)
        );
        let data = CString::new(data).map_err(|_| Error::invalid("a path holds a NUL byte"))?;
        rustix::mount::mount(
            "overlay",
            &merged,
            "overlay",
            MountFlags::empty(),
            data.as_c_str(),
        )
        .map_err(|e| {
            Error::invalid(format!(
                "mounting a writable overlay of {} for a rw bind mount: {e}",
                src.display()
            ))
        })?;
        Ok(Scratch {
            path: merged,
            mounted: true,
            _dir: dir,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.mounted {
            let _ = rustix::mount::unmount(&self.path, UnmountFlags::DETACH);
        }
    }
}

/// Overlay options separate paths with `:` and options with `,`; both are escaped.
fn escape(p: &Path) -> String {
    let mut out = String::new();
    for c in p.to_string_lossy().chars() {
        if matches!(c, '\\' | ':' | ',') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
