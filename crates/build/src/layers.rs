//! Reading an image's or stage's file system from its unpacked layers (topmost first),
//! without a container: looking one path up through the layers, and a read-only
//! merged view for `COPY --from`. Never writes to a layer.

use std::ffi::CString;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use rustix::mount::{MountFlags, UnmountFlags};

use crate::error::{Error, IoContext, Result};

/// Metadata of `rel` as the merged file system shows it, `None` when absent (never
/// present, or deleted by an upper layer's whiteout).
pub fn stat(layers: &[PathBuf], rel: &str) -> Option<fs::Metadata> {
    for layer in layers {
        if let Ok(m) = fs::symlink_metadata(layer.join(rel)) {
            if is_whiteout(&m) {
                return None;
            }
            return Some(m);
        }
    }
    None
}

/// An overlay whiteout: a character device 0:0.
pub fn is_whiteout(m: &fs::Metadata) -> bool {
    m.file_type().is_char_device() && m.rdev() == 0
}

/// A read-only view of layers merged: the layer itself when there is one, an overlay
/// mount of them when there are several, an empty directory when there are none.
/// The mount is undone when the view is dropped.
pub struct View {
    path: PathBuf,
    mounted: bool,
    owned: bool,
}

impl View {
    pub fn open(layers: &[PathBuf], scratch_dir: &Path) -> Result<View> {
        match layers {
            [one] => Ok(View {
                path: one.clone(),
                mounted: false,
                owned: false,
            }),
            [] => {
                fs::create_dir_all(scratch_dir)
                    .ctx(|| format!("creating {}", scratch_dir.display()))?;
                Ok(View {
                    path: scratch_dir.to_path_buf(),
                    mounted: false,
                    owned: true,
                })
            }
            many => {
                fs::create_dir_all(scratch_dir)
                    .ctx(|| format!("creating {}", scratch_dir.display()))?;
                let lowers: Vec<String> = many.iter().map(|l| l.display().to_string()).collect();
                let data = CString::new(format!("lowerdir={}", lowers.join(":")))
                    .map_err(|_| Error::invalid("a layer path holds a NUL byte"))?;
                rustix::mount::mount(
                    "overlay",
                    scratch_dir,
                    "overlay",
                    MountFlags::RDONLY,
                    data.as_c_str(),
                )
                .map_err(|e| {
                    Error::invalid(format!(
                        "mounting the layers of a --from source at {}: {e}",
                        scratch_dir.display()
                    ))
                })?;
                Ok(View {
                    path: scratch_dir.to_path_buf(),
                    mounted: true,
                    owned: true,
                })
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for View {
    fn drop(&mut self) {
        if self.mounted {
            let _ = rustix::mount::unmount(&self.path, UnmountFlags::DETACH);
        }
        if self.owned {
            let _ = fs::remove_dir(&self.path);
        }
    }
}
