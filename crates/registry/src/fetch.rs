//! Owns blob downloads: streaming a blob to a file without holding it in memory,
//! resuming an interrupted download with a Range request, and checking the size and
//! digest of the whole file before saying it is done. Never leaves a file that fails
//! the check; a file cut short by a broken connection is kept, because it is a valid
//! prefix to resume from.
//!
//! These run inside `Client::block_on`, i.e. on the calling thread, not on a runtime
//! worker: the plain blocking file I/O here stalls no one else's transfers.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use futures_util::StreamExt;
use oci_client::client::{BlobResponse, SizedStream};
use oci_client::errors::DigestError;

use crate::digest::Hasher;
use crate::error::{Action, Ctx, Error, Result, Subject};
use crate::manifest::Descriptor;
use crate::reference::ImageRef;
use crate::transport::Transport;

const WRITE_BUFFER: usize = 1 << 20;

/// One download attempt from one source; `Interrupted` (transient) leaves the prefix
/// received so far in `dest` for the next attempt.
pub(crate) async fn download(
    t: &Transport,
    oref: &oci_client::Reference,
    image: &ImageRef,
    desc: &Descriptor,
    dest: &Path,
    progress: &dyn Fn(u64),
) -> Result<()> {
    let ctx = Ctx {
        action: Action::Pull,
        image,
        host: &t.host,
        subject: Subject::Blob(&desc.digest),
    };
    let io_err = |what: &str, e| Error::io(format!("{what} {}", dest.display()), e);
    let mut started_over = false;
    loop {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dest)
            .map_err(|e| io_err("opening", e))?;
        let mut have = file.metadata().map_err(|e| io_err("reading", e))?.len();
        if have > desc.size {
            file.set_len(0).map_err(|e| io_err("truncating", e))?;
            have = 0;
        }
        let mut hasher = new_hasher(&desc.digest)?;
        if have > 0 {
            hash_prefix(&mut file, have, &mut hasher).map_err(|e| io_err("reading", e))?;
        }
        let resumed = have > 0;
        progress(have);

        if have < desc.size {
            let (stream, whole) = if have > 0 {
                match t
                    .oci
                    .pull_blob_stream_partial(oref, desc.digest.as_str(), have, None)
                    .await
                    .map_err(|e| ctx.oci_error(e))?
                {
                    BlobResponse::Partial(s) => (s, false),
                    // The registry ignored the Range header: start from scratch.
                    BlobResponse::Full(s) => (s, true),
                }
            } else {
                let s = t
                    .oci
                    .pull_blob_stream(oref, desc.digest.as_str())
                    .await
                    .map_err(|e| ctx.oci_error(e))?;
                (s, true)
            };
            if whole && have > 0 {
                file.set_len(0).map_err(|e| io_err("truncating", e))?;
                have = 0;
                hasher = new_hasher(&desc.digest)?;
                progress(0);
            }
            file.seek(SeekFrom::Start(have))
                .map_err(|e| io_err("seeking in", e))?;
            copy(
                stream,
                &mut file,
                &mut hasher,
                &mut have,
                desc.size,
                progress,
                &t.host,
                dest,
            )
            .await?;
        }

        let actual = hasher.finish();
        if have == desc.size && actual == desc.digest {
            file.sync_all().map_err(|e| io_err("syncing", e))?;
            return Ok(());
        }
        drop(file);
        std::fs::remove_file(dest).map_err(|e| io_err("removing", e))?;
        // A kept prefix may come from something else entirely (a crash mid-write, a
        // different blob); give the registry one clean try before blaming it.
        if resumed && !started_over {
            started_over = true;
            continue;
        }
        return Err(Error::DigestMismatch {
            expected: desc.digest.clone(),
            actual,
        });
    }
}

/// Reads a small blob into memory, checking its size and digest.
pub(crate) async fn small(
    t: &Transport,
    oref: &oci_client::Reference,
    image: &ImageRef,
    desc: &Descriptor,
) -> Result<Vec<u8>> {
    let ctx = Ctx {
        action: Action::Pull,
        image,
        host: &t.host,
        subject: Subject::Blob(&desc.digest),
    };
    let mut stream = t
        .oci
        .pull_blob_stream(oref, desc.digest.as_str())
        .await
        .map_err(|e| ctx.oci_error(e))?;
    let mut hasher = new_hasher(&desc.digest)?;
    let mut data = Vec::with_capacity(usize::try_from(desc.size).unwrap_or(0));
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => {
                hasher.update(&c);
                data.extend_from_slice(&c);
                if data.len() as u64 > desc.size {
                    break;
                }
            }
            Err(e) if is_digest_error(&e) => break,
            Err(e) => {
                return Err(Error::Interrupted {
                    registry: t.host.clone(),
                    reason: e.to_string(),
                })
            }
        }
    }
    let actual = hasher.finish();
    if data.len() as u64 != desc.size || actual != desc.digest {
        return Err(Error::DigestMismatch {
            expected: desc.digest.clone(),
            actual,
        });
    }
    Ok(data)
}

fn new_hasher(digest: &str) -> Result<Hasher> {
    Hasher::for_digest(digest)
        .ok_or_else(|| Error::Invalid(format!("invalid blob digest {digest:?}")))
}

fn hash_prefix(file: &mut File, len: u64, hasher: &mut Hasher) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; WRITE_BUFFER];
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(())
}

/// Appends the stream to `file`, hashing as it goes. Stops early once more than `size`
/// bytes came (the digest check then fails). What was received is flushed to the file
/// even when the connection breaks, so the next attempt resumes after it.
#[allow(clippy::too_many_arguments)]
async fn copy(
    mut stream: SizedStream,
    file: &mut File,
    hasher: &mut Hasher,
    have: &mut u64,
    size: u64,
    progress: &dyn Fn(u64),
    host: &str,
    dest: &Path,
) -> Result<()> {
    let mut w = BufWriter::with_capacity(WRITE_BUFFER, file);
    let result = loop {
        match stream.next().await {
            None => break Ok(()),
            Some(Ok(chunk)) => {
                if let Err(e) = w.write_all(&chunk) {
                    break Err(Error::io(format!("writing {}", dest.display()), e));
                }
                hasher.update(&chunk);
                *have += chunk.len() as u64;
                progress(*have);
                if *have > size {
                    break Ok(());
                }
            }
            // oci-client's own digest check at the end of a full response; the check
            // of the whole file after this decides.
            Some(Err(e)) if is_digest_error(&e) => break Ok(()),
            Some(Err(e)) => {
                break Err(Error::Interrupted {
                    registry: host.to_string(),
                    reason: e.to_string(),
                })
            }
        }
    };
    let flushed = w
        .flush()
        .map_err(|e| Error::io(format!("writing {}", dest.display()), e));
    result.and(flushed)
}

fn is_digest_error(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<DigestError>())
}
