//! Owns blob uploads: streaming a file to the registry in one monolithic PUT (POST to
//! open the upload, then PUT with the file as a streamed body and its length), reading
//! the file in chunks so it is never held in memory whole. Never re-reads the file to
//! hash it: the registry checks the digest it is told and refuses a mismatch.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::stream::{self, Stream};
use tokio::io::AsyncReadExt;

use crate::error::{Action, Ctx, Error, Result, Subject};
use crate::reference::ImageRef;
use crate::transport::Transport;

const CHUNK: usize = 256 << 10;
/// How often upload progress is reported: the stream runs on a runtime worker and
/// cannot call the caller's (non-`Send`) callback itself.
const PROGRESS_TICK: Duration = Duration::from_millis(200);

type ChunkResult = oci_client::errors::Result<bytes::Bytes>;

pub(crate) async fn upload(
    t: &Transport,
    image: &ImageRef,
    path: &Path,
    digest: &str,
    size: u64,
    progress: &dyn Fn(u64),
) -> Result<()> {
    let ctx = Ctx {
        action: Action::Push,
        image,
        host: &t.host,
        subject: Subject::Blob(digest),
    };
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let sent = Arc::new(AtomicU64::new(0));
    let body = file_stream(file, sent.clone());
    let oref = image.to_oci();
    let push = std::pin::pin!(t.oci.push_blob_stream(&oref, body, digest, Some(size)));
    let ticker = std::pin::pin!(async {
        loop {
            tokio::time::sleep(PROGRESS_TICK).await;
            progress(sent.load(Ordering::Relaxed));
        }
    });
    let result = match select(push, ticker).await {
        Either::Left((r, _)) => r,
        // The ticker never ends; should it, the push still runs to completion.
        Either::Right(((), push)) => push.await,
    };
    result.map_err(|e| ctx.oci_error(e))?;
    progress(size);
    Ok(())
}

/// The file as a stream of chunks, counting the bytes read into `sent`.
fn file_stream(
    file: tokio::fs::File,
    sent: Arc<AtomicU64>,
) -> impl Stream<Item = ChunkResult> + Send + 'static {
    stream::unfold(Some(file), move |state| {
        let sent = sent.clone();
        async move {
            let mut file = state?;
            let mut buf = vec![0u8; CHUNK];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    sent.fetch_add(n as u64, Ordering::Relaxed);
                    Some((Ok(bytes::Bytes::from(buf)), Some(file)))
                }
                // End the stream after the error: the upload fails and is retried.
                Err(e) => Some((Err(e.into()), None)),
            }
        }
    })
}
