//! Owns the bytes of a layer's tar stream: walking it header by header while recording
//! every byte that is not a regular file's payload (the "tar-split"), and replaying that
//! record plus the unpacked files to rebuild the archive byte for byte.
//!
//! While recording it never looks at paths or touches the unpacked tree: it only parses
//! headers and hands entries to `unpack`. While replaying it only opens payload files
//! read-only, beneath the layer directory, never following a symlink.
//!
//! The parser follows Go's `archive/tar` (what Docker and containerd use) wherever
//! formats are ambiguous, so berth accepts and rejects the same layers: header-only
//! entry types (links, directories, devices, FIFOs) carry no payload whatever their size
//! field says, a zero block must be followed by a second one, PAX and GNU extension
//! records are capped at 1 MiB, GNU long names override PAX paths, `g` (global PAX)
//! headers are ignored.
//!
//! # The tar-split file (`layers/<hex>/tar-split`)
//!
//! ```text
//! "BERTHTS\x01"                       8 bytes, magic + format version 1
//! records                             one zstd frame, starting at offset 8
//! table                               one zstd frame, starting at table_offset
//! table_offset: u64 LE, "BERTHTSE"    16-byte trailer
//! ```
//! Records (integers are unsigned LEB128 varints):
//! ```text
//! 0x01 len bytes                      raw archive bytes: headers, PAX/GNU records,
//!                                     sparse maps, padding, end blocks, trailing bytes
//! 0x02 ref size                       a regular file's payload: the `size` bytes of the
//!                                     file at table[ref]
//! 0x03 ref realsize n (off len)*n     a sparse file's payload: those ranges of the file
//!                                     at table[ref] (whose size is realsize), in order
//! 0x00 total sha256[32]               end: the archive's length and digest (diff id)
//! ```
//! The table is `n (len path)*n`: for each payload reference, where its file lives,
//! relative to the layer directory: `root/<path>` normally, `orphans/<ref>` for a file
//! that a later entry of the same archive replaced or removed (unpack moves it aside
//! instead of deleting it, since the archive still contains its bytes).
//!
//! Sparse files: the archive carries only their data segments, so the record keeps the
//! sparse map and replay reads those ranges back from the (sparse) file. For PAX 1.0
//! sparse entries the map text at the start of the payload is recorded as raw bytes.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};

const MAGIC: &[u8; 8] = b"BERTHTS\x01";
const END_MAGIC: &[u8; 8] = b"BERTHTSE";
const TAG_END: u8 = 0;
const TAG_RAW: u8 = 1;
const TAG_FILE: u8 = 2;
const TAG_SPARSE: u8 = 3;
const BLOCK: usize = 512;
/// Largest PAX header, GNU long name or sparse map we accept (Go's limit too).
const MAX_SPECIAL: u64 = 1 << 20;
/// Most sparse map entries per file.
const MAX_SPARSE_ENTRIES: usize = 1 << 20;
const RAW_FLUSH: usize = 64 << 10;
const ZSTD_LEVEL: i32 = 3;

/// What kind of object an entry describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Regular,
    HardLink,
    Symlink,
    Char,
    Block,
    Dir,
    Fifo,
}

/// A sparse file: its real size and the (offset, length) data segments the archive
/// carries, sorted and non-overlapping (checked).
#[derive(Debug, Clone)]
pub(crate) struct Sparse {
    pub realsize: u64,
    pub map: Vec<(u64, u64)>,
}

/// One archive entry with every extension (PAX, GNU long names, sparse maps) merged in.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub kind: Kind,
    pub path: Vec<u8>,
    pub link: Vec<u8>,
    /// Payload bytes in the archive (for sparse entries: the data segments only).
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: (i64, u32),
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    pub sparse: Option<Sparse>,
}

impl Entry {
    /// The file's size once unpacked.
    pub fn real_size(&self) -> u64 {
        self.sparse.as_ref().map_or(self.size, |s| s.realsize)
    }

    /// The data segments to place: the sparse map, or the whole payload at offset 0.
    pub fn segments(&self) -> Vec<(u64, u64)> {
        match &self.sparse {
            Some(s) => s.map.clone(),
            None => vec![(0, self.size)],
        }
    }

    pub fn display(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

/// Marks the error a [`Source`] returns once the uncompressed stream passes the limit.
#[derive(Debug)]
struct LimitExceeded(u64);

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {} bytes", self.0)
    }
}

impl std::error::Error for LimitExceeded {}

/// The uncompressed stream: hashed (the diff id), counted and capped.
struct Source<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    limit: u64,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        if self.count > self.limit {
            return Err(io::Error::other(LimitExceeded(self.limit)));
        }
        Ok(n)
    }
}

/// Builds the limit error the user sees, naming the knob that raises it.
pub(crate) fn limit_error(limit: u64) -> Error {
    Error::rejected(format!(
        "layer unpacks to more than {limit} bytes, the limit for one layer (a decompression \
         bomb or an unusually large layer); set BERTH_MAX_LAYER_SIZE to raise the limit"
    ))
}

/// Walks a tar stream entry by entry, writing the tar-split record as it goes.
///
/// Protocol: call [`TarReader::next_entry`]; for a regular file whose payload the caller
/// stores as a file, call [`TarReader::claim_payload`] and then read the whole payload
/// with [`TarReader::read_payload`]; for anything else do nothing and the payload (if
/// any) is recorded raw when the next entry is read.
pub(crate) struct TarReader<R: Read> {
    src: BufReader<Source<R>>,
    rec: Recorder,
    /// Label of the compression for messages ("gzip", ...).
    what: &'static str,
    /// Bytes of the archive consumed so far.
    pos: u64,
    /// Where the header being parsed starts.
    header_at: u64,
    remaining: u64,
    padding: u64,
    claimed: bool,
    refs: usize,
    done: bool,
    current: String,
}

impl<R: Read> TarReader<R> {
    /// Reads the uncompressed archive from `src` and records into `record` (a new file).
    pub fn new(src: R, what: &'static str, limit: u64, record: File) -> Result<TarReader<R>> {
        let source = Source {
            inner: src,
            hasher: Sha256::new(),
            count: 0,
            limit,
        };
        Ok(TarReader {
            src: BufReader::with_capacity(128 << 10, source),
            rec: Recorder::new(record)?,
            what,
            pos: 0,
            header_at: 0,
            remaining: 0,
            padding: 0,
            claimed: false,
            refs: 0,
            done: false,
            current: String::new(),
        })
    }

    fn src_err(&self, e: io::Error) -> Error {
        if let Some(LimitExceeded(limit)) =
            e.get_ref().and_then(|r| r.downcast_ref::<LimitExceeded>())
        {
            return limit_error(*limit);
        }
        if self.what == "tar" {
            Error::rejected(format!("reading the layer failed: {e}"))
        } else {
            Error::rejected(format!(
                "layer is truncated or corrupt: decompressing {} failed: {e}",
                self.what
            ))
        }
    }

    fn truncated(&self, inside: &str) -> Error {
        Error::rejected(format!(
            "layer is truncated: the archive ends inside {inside} (offset {})",
            self.pos
        ))
    }

    fn corrupt(&self, msg: impl std::fmt::Display) -> Error {
        Error::rejected(format!(
            "layer is corrupt: {msg} (in the header at archive offset {})",
            self.header_at
        ))
    }

    /// Fills as much of `buf` as the stream has; returns how much.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match self.src.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.src_err(e)),
            }
        }
        self.pos += n as u64;
        Ok(n)
    }

    /// Reads exactly `buf.len()` bytes, recording them raw.
    fn read_raw(&mut self, buf: &mut [u8], inside: &str) -> Result<()> {
        let n = self.fill(buf)?;
        if n < buf.len() {
            return Err(self.truncated(inside));
        }
        self.rec.raw(buf)
    }

    /// Reads `n` bytes (a payload and its padding) into a vector, recording them raw.
    fn read_special(&mut self, size: u64, inside: &str) -> Result<Vec<u8>> {
        if size > MAX_SPECIAL {
            return Err(self.corrupt(format!(
                "{inside} of {size} bytes (at most {MAX_SPECIAL} allowed)"
            )));
        }
        let mut data = vec![0u8; size as usize];
        self.read_raw(&mut data, inside)?;
        let mut pad = vec![0u8; padding(size) as usize];
        self.read_raw(&mut pad, inside)?;
        Ok(data)
    }

    /// Reads and records `n` bytes without keeping them.
    fn skip_raw(&mut self, mut n: u64, inside: &str) -> Result<()> {
        let mut buf = vec![0u8; 64 << 10];
        while n > 0 {
            let k = n.min(buf.len() as u64) as usize;
            self.read_raw(&mut buf[..k], inside)?;
            n -= k as u64;
        }
        Ok(())
    }

    /// The next entry, or None at the end of the archive (after reading the stream to
    /// its end, so the diff id covers every byte).
    pub fn next_entry(&mut self) -> Result<Option<Entry>> {
        if self.done {
            return Ok(None);
        }
        if self.remaining > 0 {
            if self.claimed {
                return Err(Error::invalid(format!(
                    "internal error: payload of '{}' was not read to its end",
                    self.current
                )));
            }
            let inside = format!("the data of '{}'", self.current);
            self.skip_raw(self.remaining, &inside)?;
            self.remaining = 0;
        }
        if self.padding > 0 {
            let inside = format!("the padding after '{}'", self.current);
            self.skip_raw(self.padding, &inside)?;
            self.padding = 0;
        }
        self.claimed = false;

        let mut pending = Pending::default();
        loop {
            let mut block = [0u8; BLOCK];
            self.header_at = self.pos;
            let n = self.fill(&mut block)?;
            if n == 0 {
                // No end-of-archive marker: accepted, like Go's archive/tar.
                return self.end();
            }
            if n < BLOCK {
                return Err(self.truncated("a header"));
            }
            self.rec.raw(&block)?;
            if block.iter().all(|&b| b == 0) {
                let mut second = [0u8; BLOCK];
                let n = self.fill(&mut second)?;
                if n > 0 && n < BLOCK {
                    return Err(self.truncated("the end-of-archive marker"));
                }
                self.rec.raw(&second[..n])?;
                if n == BLOCK && second.iter().any(|&b| b != 0) {
                    return Err(self.corrupt("a header follows a single zero block"));
                }
                return self.end();
            }
            if let Err(m) = check_checksum(&block) {
                let hint = match (self.header_at, self.what) {
                    (0, "tar") if block.starts_with(&[0x1f, 0x8b]) => "; it looks gzip-compressed",
                    (0, "tar") if block.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) => {
                        "; it looks zstd-compressed"
                    }
                    _ => "",
                };
                return Err(self.corrupt(format!("{m}{hint}")));
            }
            let typeflag = block[156];
            let size = parse_numeric(&block[124..136])
                .and_then(|v| u64::try_from(v).ok())
                .ok_or_else(|| self.corrupt("invalid size field in a header"))?;
            match typeflag {
                b'x' => {
                    pending.pax = parse_pax(&self.read_special(size, "a PAX header")?)
                        .map_err(|m| self.corrupt(m))?
                }
                b'g' => {
                    // Global PAX headers are ignored, as Docker does; still validated.
                    parse_pax(&self.read_special(size, "a global PAX header")?)
                        .map_err(|m| self.corrupt(m))?;
                }
                b'L' => {
                    pending.long_name =
                        Some(cut_nul(&self.read_special(size, "a GNU long name")?).to_vec())
                }
                b'K' => {
                    pending.long_link =
                        Some(cut_nul(&self.read_special(size, "a GNU long link name")?).to_vec())
                }
                _ => {
                    let entry = self.build_entry(&block, size, pending)?;
                    return Ok(Some(entry));
                }
            }
        }
    }

    fn end(&mut self) -> Result<Option<Entry>> {
        // Whatever follows the end marker (GNU tar pads to 10 KiB records) is part of
        // the diff id and of the record.
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = self.fill(&mut buf)?;
            if n == 0 {
                break;
            }
            self.rec.raw(&buf[..n])?;
        }
        self.done = true;
        Ok(None)
    }

    fn build_entry(&mut self, h: &[u8; BLOCK], size: u64, pending: Pending) -> Result<Entry> {
        let ustar = &h[257..263] == b"ustar\0";
        let mut path = cut_nul(&h[0..100]).to_vec();
        if ustar {
            let prefix = cut_nul(&h[345..500]);
            if !prefix.is_empty() {
                let mut p = prefix.to_vec();
                p.push(b'/');
                p.extend_from_slice(&path);
                path = p;
            }
        }
        let mut link = cut_nul(&h[157..257]).to_vec();
        let field = |r: std::ops::Range<usize>, what: &str| {
            parse_numeric(&h[r]).ok_or_else(|| {
                format!(
                    "invalid {what} field in the header of '{}'",
                    String::from_utf8_lossy(&path)
                )
            })
        };
        let mode = field(100..108, "mode").map_err(|m| self.corrupt(m))?;
        let uid = field(108..116, "uid").map_err(|m| self.corrupt(m))?;
        let gid = field(116..124, "gid").map_err(|m| self.corrupt(m))?;
        let mtime = field(136..148, "mtime").map_err(|m| self.corrupt(m))?;
        let mut e = Entry {
            kind: Kind::Regular,
            path: Vec::new(),
            link: Vec::new(),
            size,
            mode: (mode & 0o7777) as u32,
            uid: 0,
            gid: 0,
            mtime: (
                i64::try_from(mtime).map_err(|_| self.corrupt("mtime out of range"))?,
                0,
            ),
            xattrs: Vec::new(),
            sparse: None,
        };
        let mut uid = uid;
        let mut gid = gid;

        // PAX records, then GNU long names (which win, as in Go).
        let mut sp = PaxSparse::default();
        for (k, v) in &pending.pax {
            let bad = || self.corrupt(format!("invalid PAX record {}", String::from_utf8_lossy(k)));
            match k.as_slice() {
                b"path" if !v.is_empty() => path = v.clone(),
                b"linkpath" if !v.is_empty() => link = v.clone(),
                b"size" => e.size = parse_dec(v).ok_or_else(bad)?,
                b"uid" => uid = i128::from(parse_dec(v).ok_or_else(bad)?),
                b"gid" => gid = i128::from(parse_dec(v).ok_or_else(bad)?),
                b"mtime" => e.mtime = parse_pax_time(v).ok_or_else(bad)?,
                b"GNU.sparse.major" => sp.major = Some(v.clone()),
                b"GNU.sparse.minor" => sp.minor = Some(v.clone()),
                b"GNU.sparse.name" => sp.name = Some(v.clone()),
                b"GNU.sparse.realsize" | b"GNU.sparse.size" => {
                    sp.realsize = Some(parse_dec(v).ok_or_else(bad)?)
                }
                b"GNU.sparse.map" => sp.map = Some(v.clone()),
                b"GNU.sparse.offset" => sp.offsets.push(parse_dec(v).ok_or_else(bad)?),
                b"GNU.sparse.numbytes" => sp.numbytes.push(parse_dec(v).ok_or_else(bad)?),
                _ => {
                    if let Some(name) = k.strip_prefix(b"SCHILY.xattr.") {
                        if name.is_empty() || name.contains(&0) {
                            return Err(bad());
                        }
                        e.xattrs.push((name.to_vec(), v.clone()));
                    }
                }
            }
        }
        if let Some(n) = pending.long_name {
            path = n;
        }
        if let Some(l) = pending.long_link {
            link = l;
        }
        e.uid = u32::try_from(uid)
            .ok()
            .filter(|&u| u != u32::MAX)
            .ok_or_else(|| self.corrupt("uid out of range"))?;
        e.gid = u32::try_from(gid)
            .ok()
            .filter(|&g| g != u32::MAX)
            .ok_or_else(|| self.corrupt("gid out of range"))?;
        self.current = String::from_utf8_lossy(&path).into_owned();

        let typeflag = h[156];
        e.kind = match typeflag {
            b'0' | b'7' | b'S' => Kind::Regular,
            0 if path.ends_with(b"/") => Kind::Dir,
            0 => Kind::Regular,
            b'1' => Kind::HardLink,
            b'2' => Kind::Symlink,
            b'3' => Kind::Char,
            b'4' => Kind::Block,
            b'5' => Kind::Dir,
            b'6' => Kind::Fifo,
            other => {
                return Err(Error::rejected(format!(
                    "layer entry '{}': unsupported tar entry type {:?}",
                    self.current,
                    char::from(other)
                )))
            }
        };
        // Header-only types carry no payload whatever their size says (as in Go).
        let payload = match (e.kind, typeflag) {
            (Kind::Regular, _) => e.size,
            (Kind::Dir, 0) => e.size,
            _ => 0,
        };
        e.size = payload;
        e.path = path;
        e.link = link;
        self.remaining = payload;
        self.padding = padding(payload);

        if typeflag == b'S' {
            let realsize = parse_numeric(&h[483..495])
                .and_then(|v| u64::try_from(v).ok())
                .ok_or_else(|| {
                    self.corrupt(format!("invalid sparse size of '{}'", self.current))
                })?;
            let mut map = Vec::new();
            read_old_gnu_map(&h[386..482], &mut map).map_err(|m| self.corrupt(m))?;
            let mut extended = h[482] != 0;
            while extended {
                let mut ext = [0u8; BLOCK];
                self.read_raw(&mut ext, "a GNU sparse map")?;
                read_old_gnu_map(&ext[..504], &mut map).map_err(|m| self.corrupt(m))?;
                if map.len() > MAX_SPARSE_ENTRIES {
                    return Err(self.corrupt("sparse map too large"));
                }
                extended = ext[504] != 0;
            }
            e.sparse = Some(self.check_sparse(realsize, map, payload)?);
        } else if sp.major.as_deref() == Some(b"1") && sp.minor.as_deref() == Some(b"0") {
            if let Some(n) = sp.name.take() {
                e.path = n;
                self.current = e.display();
            }
            let realsize = sp
                .realsize
                .ok_or_else(|| self.corrupt("PAX sparse entry without a real size"))?;
            let (map, used) = self.read_map_1_0(payload)?;
            self.remaining = payload - used;
            e.size = self.remaining;
            e.sparse = Some(self.check_sparse(realsize, map, self.remaining)?);
        } else if sp.map.is_some() || !sp.offsets.is_empty() {
            if let Some(n) = sp.name.take() {
                e.path = n;
                self.current = e.display();
            }
            let realsize = sp
                .realsize
                .ok_or_else(|| self.corrupt("PAX sparse entry without a real size"))?;
            let map = match &sp.map {
                Some(text) => {
                    parse_map_0_1(text).ok_or_else(|| self.corrupt("invalid GNU.sparse.map"))?
                }
                None => {
                    if sp.offsets.len() != sp.numbytes.len() {
                        return Err(self.corrupt("unbalanced GNU.sparse.offset/numbytes records"));
                    }
                    sp.offsets
                        .iter()
                        .copied()
                        .zip(sp.numbytes.iter().copied())
                        .collect()
                }
            };
            e.sparse = Some(self.check_sparse(realsize, map, payload)?);
        }
        if e.sparse.is_some() && e.kind != Kind::Regular {
            return Err(self.corrupt(format!(
                "'{}': a sparse map on a non-regular entry",
                self.current
            )));
        }
        Ok(e)
    }

    /// PAX sparse 1.0: the map is decimal text at the start of the payload, padded to a
    /// block. Returns it and the bytes it took (recorded raw).
    fn read_map_1_0(&mut self, payload: u64) -> Result<(Vec<(u64, u64)>, u64)> {
        let mut text = Vec::new();
        let mut numbers: Vec<u64> = Vec::new();
        let mut used = 0u64;
        let mut start = 0;
        let mut want: Option<usize> = None;
        loop {
            if used + BLOCK as u64 > payload || used >= MAX_SPECIAL {
                return Err(self.corrupt(format!("invalid sparse map of '{}'", self.current)));
            }
            let mut block = [0u8; BLOCK];
            self.read_raw(&mut block, "a sparse map")?;
            used += BLOCK as u64;
            text.extend_from_slice(&block);
            while let Some(nl) = text[start..].iter().position(|&b| b == b'\n') {
                let n = parse_dec(&text[start..start + nl]).ok_or_else(|| {
                    self.corrupt(format!("invalid sparse map of '{}'", self.current))
                })?;
                start += nl + 1;
                if want.is_none() {
                    let count = usize::try_from(n).ok().filter(|&c| c <= MAX_SPARSE_ENTRIES);
                    want = Some(count.ok_or_else(|| self.corrupt("sparse map too large"))? * 2);
                } else {
                    numbers.push(n);
                }
                if want == Some(numbers.len()) {
                    let map = numbers.chunks_exact(2).map(|c| (c[0], c[1])).collect();
                    return Ok((map, used));
                }
            }
        }
    }

    fn check_sparse(&self, realsize: u64, map: Vec<(u64, u64)>, data: u64) -> Result<Sparse> {
        let mut end = 0u64;
        let mut total = 0u64;
        for &(off, len) in &map {
            let stop = off
                .checked_add(len)
                .filter(|&s| s <= realsize && off >= end);
            let Some(stop) = stop else {
                return Err(self.corrupt(format!("invalid sparse map of '{}'", self.current)));
            };
            end = stop;
            total += len;
        }
        if total != data {
            return Err(self.corrupt(format!(
                "sparse map of '{}' describes {total} bytes of data but the entry holds {data}",
                self.current
            )));
        }
        Ok(Sparse { realsize, map })
    }

    /// Claims the current entry's payload as a file the caller stores: the record gets a
    /// reference instead of the bytes. Returns the reference number (0, 1, 2, ...).
    pub fn claim_payload(&mut self, e: &Entry) -> Result<usize> {
        let r = self.refs;
        self.refs += 1;
        self.claimed = true;
        match &e.sparse {
            None => self.rec.file_ref(r, e.size)?,
            Some(s) => self.rec.sparse_ref(r, s)?,
        }
        Ok(r)
    }

    /// Reads the next bytes of a claimed payload (not recorded); 0 once it is all read.
    pub fn read_payload(&mut self, buf: &mut [u8]) -> Result<usize> {
        let k = (self.remaining.min(buf.len() as u64)) as usize;
        if k == 0 {
            return Ok(0);
        }
        let n = self.fill(&mut buf[..k])?;
        if n == 0 {
            let inside = format!("the data of '{}'", self.current);
            return Err(self.truncated(&inside));
        }
        self.remaining -= n as u64;
        Ok(n)
    }

    /// Ends the record; `locations` maps each payload reference to its file. Returns
    /// the diff id and the archive's length.
    pub fn finish(self, locations: &[Vec<u8>]) -> Result<(Digest, u64)> {
        if !self.done {
            return Err(Error::invalid(
                "internal error: archive not read to its end",
            ));
        }
        if locations.len() != self.refs {
            return Err(Error::invalid(
                "internal error: payload references without a location",
            ));
        }
        let source = self.src.into_inner();
        let raw: [u8; 32] = source.hasher.finalize().into();
        let digest = Digest::from_hex(&hex::encode(raw))?;
        self.rec.finish(source.count, &raw, locations)?;
        Ok((digest, source.count))
    }
}

/// A PAX record: key, value.
type Record = (Vec<u8>, Vec<u8>);

#[derive(Default)]
struct Pending {
    pax: Vec<Record>,
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
}

#[derive(Default)]
struct PaxSparse {
    major: Option<Vec<u8>>,
    minor: Option<Vec<u8>>,
    name: Option<Vec<u8>>,
    realsize: Option<u64>,
    map: Option<Vec<u8>>,
    offsets: Vec<u64>,
    numbytes: Vec<u64>,
}

fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn cut_nul(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// A numeric header field: octal text (space/NUL padded) or GNU base-256.
fn parse_numeric(f: &[u8]) -> Option<i128> {
    if let Some(&first) = f.first() {
        if first & 0x80 != 0 {
            // Base-256 two's complement (as Go's archive/tar reads it).
            let inv: u8 = if first & 0x40 != 0 { 0xff } else { 0 };
            let mut x: u64 = 0;
            for (i, &b) in f.iter().enumerate() {
                let mut c = b ^ inv;
                if i == 0 {
                    c &= 0x7f;
                }
                if x >> 56 != 0 {
                    return None;
                }
                x = (x << 8) | u64::from(c);
            }
            if x >> 63 != 0 {
                return None;
            }
            let v = i128::from(x);
            return Some(if inv == 0xff { -v - 1 } else { v });
        }
    }
    let s = f
        .iter()
        .position(|&b| b != b' ' && b != 0)
        .map_or(&f[0..0], |start| &f[start..]);
    let s = match s.iter().position(|&b| b == b' ' || b == 0) {
        Some(i) => &s[..i],
        None => s,
    };
    let mut v: i128 = 0;
    for &b in s {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(i128::from(b - b'0'))?;
    }
    Some(v)
}

fn parse_dec(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// A PAX time: `[-]seconds[.fraction]`.
fn parse_pax_time(v: &[u8]) -> Option<(i64, u32)> {
    let (neg, v) = match v.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let (int, frac) = match v.iter().position(|&b| b == b'.') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &v[0..0]),
    };
    if !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let secs = i64::try_from(parse_dec(int)?).ok()?;
    let mut nsec: u32 = 0;
    for i in 0..9 {
        nsec = nsec * 10 + frac.get(i).map_or(0, |d| u32::from(d - b'0'));
    }
    if neg {
        if nsec > 0 {
            Some((-secs - 1, 1_000_000_000 - nsec))
        } else {
            Some((-secs, 0))
        }
    } else {
        Some((secs, nsec))
    }
}

/// PAX records: `"<len> <key>=<value>\n"`, in order.
fn parse_pax(data: &[u8]) -> std::result::Result<Vec<Record>, String> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        // Some writers pad the extended header with NULs.
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        let sp = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or("malformed PAX record")?;
        let len = parse_dec(&rest[..sp]).ok_or("malformed PAX record length")?;
        let len = usize::try_from(len).map_err(|_| "malformed PAX record length")?;
        if len <= sp + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err("malformed PAX record".into());
        }
        let rec = &rest[sp + 1..len - 1];
        let eq = rec
            .iter()
            .position(|&b| b == b'=')
            .ok_or("malformed PAX record (no '=')")?;
        let key = &rec[..eq];
        if key.is_empty() || key.contains(&0) {
            return Err("malformed PAX record key".into());
        }
        out.push((key.to_vec(), rec[eq + 1..].to_vec()));
        rest = &rest[len..];
    }
    Ok(out)
}

/// Old GNU sparse map entries (24 bytes each: offset, numbytes); an entry whose offset
/// field starts with NUL ends the list.
fn read_old_gnu_map(area: &[u8], map: &mut Vec<(u64, u64)>) -> std::result::Result<(), String> {
    for ent in area.chunks_exact(24) {
        if ent[0] == 0 {
            break;
        }
        let off = parse_numeric(&ent[..12]).and_then(|v| u64::try_from(v).ok());
        let len = parse_numeric(&ent[12..]).and_then(|v| u64::try_from(v).ok());
        match (off, len) {
            (Some(o), Some(l)) => map.push((o, l)),
            _ => return Err("invalid GNU sparse map entry".into()),
        }
    }
    Ok(())
}

/// PAX sparse 0.1: `GNU.sparse.map=off,len,off,len,...`.
fn parse_map_0_1(text: &[u8]) -> Option<Vec<(u64, u64)>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    let nums: Option<Vec<u64>> = text.split(|&b| b == b',').map(parse_dec).collect();
    let nums = nums?;
    if nums.len() % 2 != 0 || nums.len() / 2 > MAX_SPARSE_ENTRIES {
        return None;
    }
    Some(nums.chunks_exact(2).map(|c| (c[0], c[1])).collect())
}

fn check_checksum(h: &[u8; BLOCK]) -> std::result::Result<(), String> {
    let bad = "bad header checksum (not a tar archive, or a damaged one)";
    let stored = parse_numeric(&h[148..156]).ok_or(bad)?;
    let mut unsigned: i128 = 0;
    let mut signed: i128 = 0;
    for (i, &b) in h.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += i128::from(b);
        signed += i128::from(b as i8);
    }
    if stored == unsigned || stored == signed {
        Ok(())
    } else {
        Err(bad.into())
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn get_varint(r: &mut impl Read) -> io::Result<u64> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let mut b = [0u8];
        r.read_exact(&mut b)?;
        v |= u64::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "varint too long",
    ))
}

/// Writes the record file.
struct Recorder {
    enc: zstd::stream::write::Encoder<'static, BufWriter<File>>,
    raw: Vec<u8>,
}

impl Recorder {
    fn new(mut file: File) -> Result<Recorder> {
        file.write_all(MAGIC)
            .ctx(|| "writing the tar-split record".into())?;
        let enc = zstd::stream::write::Encoder::new(BufWriter::new(file), ZSTD_LEVEL)
            .ctx(|| "starting the tar-split record".into())?;
        Ok(Recorder {
            enc,
            raw: Vec::with_capacity(RAW_FLUSH),
        })
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.raw.extend_from_slice(bytes);
        if self.raw.len() >= RAW_FLUSH {
            self.flush_raw()?;
        }
        Ok(())
    }

    fn flush_raw(&mut self) -> Result<()> {
        if self.raw.is_empty() {
            return Ok(());
        }
        let mut head = vec![TAG_RAW];
        put_varint(&mut head, self.raw.len() as u64);
        self.enc
            .write_all(&head)
            .ctx(|| "writing the tar-split record".into())?;
        self.enc
            .write_all(&self.raw)
            .ctx(|| "writing the tar-split record".into())?;
        self.raw.clear();
        Ok(())
    }

    fn put(&mut self, rec: &[u8]) -> Result<()> {
        self.flush_raw()?;
        self.enc
            .write_all(rec)
            .ctx(|| "writing the tar-split record".into())
    }

    fn file_ref(&mut self, r: usize, size: u64) -> Result<()> {
        let mut rec = vec![TAG_FILE];
        put_varint(&mut rec, r as u64);
        put_varint(&mut rec, size);
        self.put(&rec)
    }

    fn sparse_ref(&mut self, r: usize, s: &Sparse) -> Result<()> {
        let mut rec = vec![TAG_SPARSE];
        put_varint(&mut rec, r as u64);
        put_varint(&mut rec, s.realsize);
        put_varint(&mut rec, s.map.len() as u64);
        for &(off, len) in &s.map {
            put_varint(&mut rec, off);
            put_varint(&mut rec, len);
        }
        self.put(&rec)
    }

    fn finish(mut self, total: u64, digest: &[u8; 32], locations: &[Vec<u8>]) -> Result<()> {
        let mut rec = vec![TAG_END];
        put_varint(&mut rec, total);
        rec.extend_from_slice(digest);
        self.put(&rec)?;
        let ctx = || "writing the tar-split record".to_string();
        let mut w = self.enc.finish().ctx(ctx)?;
        w.flush().ctx(ctx)?;
        let mut file = w.into_inner().map_err(|e| e.into_error()).ctx(ctx)?;
        let table_offset = file.stream_position().ctx(ctx)?;
        let mut table = Vec::new();
        put_varint(&mut table, locations.len() as u64);
        for loc in locations {
            put_varint(&mut table, loc.len() as u64);
            table.extend_from_slice(loc);
        }
        let table = zstd::bulk::compress(&table, ZSTD_LEVEL).ctx(ctx)?;
        file.write_all(&table).ctx(ctx)?;
        file.write_all(&table_offset.to_le_bytes()).ctx(ctx)?;
        file.write_all(END_MAGIC).ctx(ctx)?;
        Ok(())
    }
}

/// Opens `path` beneath `dir`, refusing symlinks anywhere and `..` escapes.
pub(crate) fn open_beneath(dir: BorrowedFd<'_>, path: &[u8], flags: OFlags) -> io::Result<OwnedFd> {
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    let mut tries = 0;
    loop {
        match rustix::fs::openat2(
            dir,
            path,
            flags | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
            resolve,
        ) {
            // EAGAIN: a concurrent rename somewhere in the filesystem; retry.
            Err(rustix::io::Errno::AGAIN) if tries < 16 => tries += 1,
            r => return r.map_err(io::Error::from),
        }
    }
}

/// Rebuilds the archive of the layer in `layer_dir` into `out`; returns its length.
/// A file that no longer matches its record yields [`Error::Invalid`] starting with
/// "damaged:".
pub(crate) fn replay(layer_dir: BorrowedFd<'_>, out: &mut dyn Write) -> Result<u64> {
    let damaged = |msg: String| Error::invalid(format!("damaged: {msg}"));
    let ctx = || "reading the tar-split record".to_string();
    let mut file = File::from(open_beneath(layer_dir, b"tar-split", OFlags::RDONLY).ctx(ctx)?);
    let len = file.seek(SeekFrom::End(0)).ctx(ctx)?;
    if len < 24 {
        return Err(damaged("the tar-split record is too short".into()));
    }
    let mut trailer = [0u8; 16];
    file.seek(SeekFrom::Start(len - 16)).ctx(ctx)?;
    file.read_exact(&mut trailer).ctx(ctx)?;
    let mut head = [0u8; 8];
    file.seek(SeekFrom::Start(0)).ctx(ctx)?;
    file.read_exact(&mut head).ctx(ctx)?;
    let mut off = [0u8; 8];
    off.copy_from_slice(&trailer[..8]);
    let table_offset = u64::from_le_bytes(off);
    if &head != MAGIC || &trailer[8..] != END_MAGIC || table_offset < 8 || table_offset > len - 16 {
        return Err(damaged("the tar-split record has an unknown format".into()));
    }

    file.seek(SeekFrom::Start(table_offset)).ctx(ctx)?;
    let mut table_z = Vec::new();
    (&mut file)
        .take(len - 16 - table_offset)
        .read_to_end(&mut table_z)
        .ctx(ctx)?;
    let table = zstd::stream::decode_all(&table_z[..])
        .map_err(|e| damaged(format!("tar-split table: {e}")))?;
    let locations = parse_table(&table).map_err(|e| damaged(format!("tar-split table: {e}")))?;

    file.seek(SeekFrom::Start(8)).ctx(ctx)?;
    let records = (&mut file).take(table_offset - 8);
    let mut rd = BufReader::new(zstd::stream::read::Decoder::new(records).ctx(ctx)?);
    let bad = |e: io::Error| damaged(format!("tar-split record: {e}"));
    let werr = |e: io::Error| Error::Io {
        context: "writing the layer archive".into(),
        source: e,
    };
    let mut written = 0u64;
    let mut buf = vec![0u8; 128 << 10];
    loop {
        let mut tag = [0u8];
        rd.read_exact(&mut tag).map_err(bad)?;
        match tag[0] {
            TAG_RAW => {
                let n = get_varint(&mut rd).map_err(bad)?;
                let copied = io::copy(&mut (&mut rd).take(n), out).map_err(werr)?;
                if copied != n {
                    return Err(damaged("tar-split record ends early".into()));
                }
                written += n;
            }
            TAG_FILE | TAG_SPARSE => {
                let r = get_varint(&mut rd).map_err(bad)?;
                let loc = usize::try_from(r)
                    .ok()
                    .and_then(|r| locations.get(r))
                    .ok_or_else(|| damaged(format!("tar-split reference {r} has no file")))?;
                let (size, segments) = if tag[0] == TAG_FILE {
                    let size = get_varint(&mut rd).map_err(bad)?;
                    (size, vec![(0, size)])
                } else {
                    let realsize = get_varint(&mut rd).map_err(bad)?;
                    let n = get_varint(&mut rd).map_err(bad)?;
                    let mut segs = Vec::new();
                    for _ in 0..n {
                        segs.push((
                            get_varint(&mut rd).map_err(bad)?,
                            get_varint(&mut rd).map_err(bad)?,
                        ));
                    }
                    (realsize, segs)
                };
                written += copy_payload(layer_dir, loc, size, &segments, out, &mut buf)?;
            }
            TAG_END => {
                let total = get_varint(&mut rd).map_err(bad)?;
                if total != written {
                    return Err(damaged(format!(
                        "rebuilt {written} bytes, the layer had {total}"
                    )));
                }
                return Ok(written);
            }
            t => return Err(damaged(format!("unknown tar-split record tag {t}"))),
        }
    }
}

fn copy_payload(
    layer_dir: BorrowedFd<'_>,
    loc: &[u8],
    size: u64,
    segments: &[(u64, u64)],
    out: &mut dyn Write,
    buf: &mut [u8],
) -> Result<u64> {
    let name = String::from_utf8_lossy(loc);
    let damaged = |msg: String| Error::invalid(format!("damaged: {name}: {msg}"));
    let fd = match open_beneath(layer_dir, loc, OFlags::RDONLY) {
        Ok(fd) => fd,
        Err(e) => return Err(damaged(format!("cannot open it: {e}"))),
    };
    let st = rustix::fs::fstat(fd.as_fd()).ctx(|| format!("inspecting {name}"))?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(damaged("not a regular file".into()));
    }
    if u64::try_from(st.st_size).ok() != Some(size) {
        return Err(damaged(format!(
            "{} bytes, its archive entry has {size}",
            st.st_size
        )));
    }
    let mut file = File::from(fd);
    let mut total = 0;
    for &(off, len) in segments {
        file.seek(SeekFrom::Start(off))
            .ctx(|| format!("reading {name}"))?;
        let mut left = len;
        while left > 0 {
            let k = left.min(buf.len() as u64) as usize;
            let n = file.read(&mut buf[..k]).ctx(|| format!("reading {name}"))?;
            if n == 0 {
                return Err(damaged("shorter than its archive entry".into()));
            }
            out.write_all(&buf[..n]).map_err(|e| Error::Io {
                context: "writing the layer archive".into(),
                source: e,
            })?;
            left -= n as u64;
            total += n as u64;
        }
    }
    Ok(total)
}

fn parse_table(t: &[u8]) -> io::Result<Vec<Vec<u8>>> {
    let mut r = t;
    let n = get_varint(&mut r)?;
    let mut out = Vec::new();
    for _ in 0..n {
        let len =
            usize::try_from(get_varint(&mut r)?).map_err(|_| io::Error::other("bad length"))?;
        if len > r.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "table truncated",
            ));
        }
        out.push(r[..len].to_vec());
        r = &r[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_fields() {
        assert_eq!(parse_numeric(b"0000644\0"), Some(0o644));
        assert_eq!(parse_numeric(b"   17 \0"), Some(0o17));
        assert_eq!(parse_numeric(b"\0\0\0\0"), Some(0));
        assert_eq!(
            parse_numeric(&[0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]),
            Some(1 << 32)
        );
        assert_eq!(parse_numeric(&[0xff; 8]), Some(-1));
        assert_eq!(parse_numeric(b"0009"), None);
    }

    #[test]
    fn pax_times() {
        assert_eq!(
            parse_pax_time(b"1700000000.5"),
            Some((1_700_000_000, 500_000_000))
        );
        assert_eq!(
            parse_pax_time(b"1700000000.123456789123"),
            Some((1_700_000_000, 123_456_789))
        );
        assert_eq!(parse_pax_time(b"12"), Some((12, 0)));
        assert_eq!(parse_pax_time(b"-1.5"), Some((-2, 500_000_000)));
        assert_eq!(parse_pax_time(b"1.x"), None);
    }

    #[test]
    fn pax_records() {
        let recs = parse_pax(b"12 path=abc\n19 SCHILY.xattr.a=\n").unwrap_or_default();
        assert_eq!(recs.len(), 2);
        assert!(parse_pax(b"99 path=abc\n").is_err());
        assert!(parse_pax(b"5 a=b\n").is_err());
    }

    #[test]
    fn varints_round_trip() {
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(get_varint(&mut &b[..]).ok(), Some(v));
        }
    }
}
