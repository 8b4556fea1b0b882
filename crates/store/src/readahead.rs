//! Decompression on its own thread. Unpacking a layer is two kinds of work: inflating
//! the stream (CPU) and creating files (mostly kernel time); running them on two cores
//! makes a pull take about the longer of the two instead of their sum.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver};

/// Bytes handed over at a time, and how many chunks may wait: bounds the memory used
/// to a few MiB whatever the layer size.
const CHUNK: usize = 256 << 10;
const DEPTH: usize = 8;

/// Runs `consume` on a reader fed by a thread that reads `src`. If `consume` returns
/// early (an error), the producer stops at its next chunk.
pub(crate) fn with_readahead<R, T>(src: R, consume: impl FnOnce(&mut dyn Read) -> T) -> T
where
    R: Read + Send,
{
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(DEPTH);
        s.spawn(move || {
            let mut src = src;
            loop {
                let mut buf = vec![0u8; CHUNK];
                let mut n = 0;
                // Fill the chunk, so the consumer's reads are few and large.
                let result = loop {
                    match src.read(&mut buf[n..]) {
                        Ok(0) => break Ok(n),
                        Ok(k) => {
                            n += k;
                            if n == CHUNK {
                                break Ok(n);
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                match result {
                    Ok(0) => return,
                    Ok(k) => {
                        buf.truncate(k);
                        if tx.send(Ok(buf)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        let mut reader = ChannelReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
        };
        consume(&mut reader)
    })
}

struct ChannelReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                // The producer is done: end of stream.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_every_byte_and_errors_through() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let got = with_readahead(&data[..], |r| {
            let mut v = Vec::new();
            r.read_to_end(&mut v).map(|_| v)
        })
        .unwrap();
        assert_eq!(got, data);

        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("boom"))
            }
        }
        let err = with_readahead(Failing, |r| r.read(&mut [0u8; 10])).unwrap_err();
        assert_eq!(err.to_string(), "boom");
        // A consumer that stops early does not hang the producer.
        let n = with_readahead(io::repeat(1), |r| r.read(&mut [0u8; 10]).unwrap());
        assert_eq!(n, 10);
    }
}
