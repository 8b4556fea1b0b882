//! The container log: one record per line of output, in the CRI text format
//! (`<RFC 3339 nanos> <stdout|stderr> <F|P> <text>`, F for a full line, P for a partial
//! one), written by the monitor and read by `berth logs`. Appending plain text lines keeps
//! the monitor small and the file readable with ordinary tools.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Longest line kept whole; longer output is split into partial records.
const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Buffers output per stream and appends complete lines to the log file.
pub struct LogWriter {
    file: File,
    pending: [Vec<u8>; 2],
}

impl LogWriter {
    pub fn new(file: File) -> LogWriter {
        LogWriter {
            file,
            pending: [Vec::new(), Vec::new()],
        }
    }

    pub fn write(&mut self, stream: Stream, data: &[u8]) -> io::Result<()> {
        let idx = stream as usize;
        self.pending[idx].extend_from_slice(data);
        let mut out = Vec::new();
        let mut ts = Vec::with_capacity(30);
        crate::time::push_rfc3339_nanos(&mut ts, std::time::SystemTime::now());
        let buf = &mut self.pending[idx];
        let mut start = 0;
        while let Some(pos) = buf[start..].iter().position(|b| *b == b'\n') {
            record(&mut out, &ts, stream, 'F', &buf[start..start + pos]);
            start += pos + 1;
        }
        while buf.len() - start > MAX_LINE {
            record(&mut out, &ts, stream, 'P', &buf[start..start + MAX_LINE]);
            start += MAX_LINE;
        }
        buf.drain(..start);
        if !out.is_empty() {
            self.file.write_all(&out)?;
        }
        Ok(())
    }

    /// Writes out what is left without a trailing newline (at the end of output).
    pub fn flush_partial(&mut self) -> io::Result<()> {
        let mut ts = Vec::with_capacity(30);
        crate::time::push_rfc3339_nanos(&mut ts, std::time::SystemTime::now());
        let mut out = Vec::new();
        for (i, stream) in [Stream::Stdout, Stream::Stderr].into_iter().enumerate() {
            if !self.pending[i].is_empty() {
                record(&mut out, &ts, stream, 'P', &self.pending[i]);
                self.pending[i].clear();
            }
        }
        self.file.write_all(&out)
    }
}

fn record(out: &mut Vec<u8>, ts: &[u8], stream: Stream, tag: char, text: &[u8]) {
    out.extend_from_slice(ts);
    out.push(b' ');
    out.extend_from_slice(stream.as_str().as_bytes());
    out.push(b' ');
    out.push(tag as u8);
    out.push(b' ');
    out.extend_from_slice(text);
    out.push(b'\n');
}

/// One parsed log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub time: String,
    pub stream: Stream,
    /// The text, with its newline when the record was a full line.
    pub text: Vec<u8>,
}

pub fn parse_line(line: &[u8]) -> Option<Entry> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = std::str::from_utf8(parts.next()?).ok()?.to_string();
    let stream = match parts.next()? {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return None,
    };
    let full = parts.next()? == b"F";
    let mut text = parts.next().unwrap_or(b"").to_vec();
    if full {
        text.push(b'\n');
    }
    Some(Entry { time, stream, text })
}

/// Reads every entry in the log, and the byte offset where reading stopped.
pub fn read_all(path: &Path) -> io::Result<(Vec<Entry>, u64)> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    read_from(f, 0)
}

/// Reads complete entries from `offset` on; returns them and the new offset (a line still
/// being written is left for the next call).
pub fn read_from(mut f: File, offset: u64) -> io::Result<(Vec<Entry>, u64)> {
    f.seek(SeekFrom::Start(offset))?;
    let mut reader = BufReader::new(Read::by_ref(&mut f));
    let mut entries = Vec::new();
    let mut pos = offset;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        pos += n as u64;
        if let Some(e) = parse_line(&line) {
            entries.push(e);
        }
    }
    Ok((entries, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_with_partials() {
        let t = tempfile::NamedTempFile::new().unwrap();
        let mut w = LogWriter::new(t.reopen().unwrap());
        w.write(Stream::Stdout, b"hello\nwor").unwrap();
        w.write(Stream::Stderr, b"oops\n").unwrap();
        w.write(Stream::Stdout, b"ld\nno newline").unwrap();
        w.flush_partial().unwrap();
        let (entries, _) = read_all(t.path()).unwrap();
        let texts: Vec<(Stream, String)> = entries
            .iter()
            .map(|e| (e.stream, String::from_utf8(e.text.clone()).unwrap()))
            .collect();
        assert_eq!(
            texts,
            vec![
                (Stream::Stdout, "hello\n".into()),
                (Stream::Stderr, "oops\n".into()),
                (Stream::Stdout, "world\n".into()),
                (Stream::Stdout, "no newline".into()),
            ]
        );
        assert!(entries[0].time.ends_with('Z'));
    }

    #[test]
    fn long_lines_are_split_but_rejoin() {
        let t = tempfile::NamedTempFile::new().unwrap();
        let mut w = LogWriter::new(t.reopen().unwrap());
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        w.write(Stream::Stdout, &long).unwrap();
        w.write(Stream::Stdout, b"\n").unwrap();
        let (entries, _) = read_all(t.path()).unwrap();
        let joined: Vec<u8> = entries.iter().flat_map(|e| e.text.clone()).collect();
        assert_eq!(joined.len(), long.len() + 1);
    }
}
