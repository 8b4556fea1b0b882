//! Name resolution on user-defined networks: the DNS responder that answers at
//! `127.0.0.11` inside a container's network namespace, like Docker's embedded DNS.
//!
//! berth has no daemon, so the server lives in each container's monitor process and is
//! driven by the monitor's single-threaded poll(2) loop through [`DnsServer::fill_poll`],
//! [`DnsServer::wait_time`] and [`DnsServer::after_poll`]. The monitor owns the sockets'
//! creation ([`bind`] while inside the container's namespace, [`upstream_socket`] in the
//! host's); this module owns what happens on them:
//!
//! - names the engine knows (through the [`Names`] callback) are answered here, A/AAAA
//!   (and PTR when the callback offers it), with a short TTL because addresses change
//!   when containers restart;
//! - every other name is relayed verbatim to the host's resolvers under a fresh random
//!   id, and the reply goes back to the client under its own id; silence from upstream
//!   becomes SERVFAIL after a timeout;
//! - with no upstreams (an internal network) other names get REFUSED at once.
//!
//! What it must never do:
//! - block: every socket is non-blocking, each wake-up handles a bounded batch, and TCP
//!   clients, forwarded queries and buffers are all capped, so a noisy container cannot
//!   stall its own monitor (which also copies its output and reaps it);
//! - answer for a name the callback did not give: anything else is forwarded or refused,
//!   never invented (no NXDOMAIN of our own, which would hide the host's names);
//! - forward when no upstreams were given: that is how an internal network stays cut off
//!   from the outside, name resolution included;
//! - panic on what a client or upstream sends: a malformed packet gets FORMERR or is
//!   dropped, and the server goes on answering.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, TcpListener, TcpStream, UdpSocket,
};
use std::ops::Range;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, OpCode, Query, DEFAULT_MAX_PAYLOAD_LEN};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use rustix::net::{AddressFamily, SocketFlags, SocketType};

#[cfg(test)]
mod tests;

/// How long a forwarded query may wait for the upstreams before the client gets
/// SERVFAIL: below what glibc (5 s) and musl (2.5 s) wait before asking again, so that
/// the client hears a clear failure instead of timing out itself.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// TTL of the records we answer: 0, because a container's address may change whenever it
/// restarts and asking us again costs a loopback round trip.
pub const DEFAULT_TTL: u32 = 0;

/// Upper bound of [`DnsServer::with_timeout`].
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// Concurrent TCP clients; more wait in the listen backlog (TCP is the rare fallback).
const MAX_TCP_CLIENTS: usize = 16;
/// Forwarded queries in flight; past this new ones get SERVFAIL rather than growing
/// the monitor's memory without bound.
const MAX_PENDING: usize = 256;
/// A TCP client that neither sends nor waits for an answer this long is dropped.
const TCP_IDLE: Duration = Duration::from_secs(5);
/// Answers queued for a TCP client that does not read them; past this it is dropped.
const MAX_TCP_OUT: usize = 256 * 1024;
/// Datagrams handled per socket per wake-up: poll is level-triggered, so the rest wait
/// for the next turn of the loop instead of starving the monitor's other work.
const BATCH: usize = 64;
/// Reads per TCP client per wake-up, for the same reason.
const TCP_READS: usize = 8;
/// Every upstream reply or UDP query fits here (the largest UDP payload).
const BUF_LEN: usize = 65535;
const HEADER_LEN: usize = 12;

const RCODE_FORMERR: u8 = 1;
const RCODE_SERVFAIL: u8 = 2;
const RCODE_NOTIMP: u8 = 4;
const RCODE_REFUSED: u8 = 5;

/// What the server knows: the engine's view of the names on the container's networks.
pub trait Names {
    /// The addresses of `name` (the whole name asked, search-domain suffix included,
    /// lowercased, without the trailing dot), or `None` if it is not one of ours, in
    /// which case it is forwarded (or refused). `Some(vec![])` means ours but without addresses: the
    /// client gets an empty answer, never a forwarded one.
    fn lookup(&self, name: &str) -> Option<Vec<IpAddr>>;

    /// The name of one of our addresses, for PTR queries (e.g. `web.mynet`); `None`
    /// forwards the query. Off by default.
    fn reverse(&self, addr: IpAddr) -> Option<String> {
        let _ = addr;
        None
    }
}

/// A plain lookup function is enough when PTR is not wanted.
impl<F: Fn(&str) -> Option<Vec<IpAddr>>> Names for F {
    fn lookup(&self, name: &str) -> Option<Vec<IpAddr>> {
        self(name)
    }
}

/// The embedded DNS server of one container. See the module documentation.
pub struct DnsServer<N: Names> {
    names: N,
    udp: UdpSocket,
    tcp: Option<TcpListener>,
    /// `Some` only with at least one usable upstream: `None` is what makes us refuse.
    upstream: Option<UdpSocket>,
    upstreams: Vec<SocketAddr>,
    timeout: Duration,
    ttl: u32,
    pending: Vec<Pending>,
    conns: Vec<Conn>,
    next_token: u64,
    ids: IdSource,
    buf: Vec<u8>,
}

/// Who asked a forwarded query, to send the reply back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    Udp(SocketAddr),
    /// A TCP connection by token, not by index or fd: it may be gone by the time the
    /// upstream answers, and its fd number may have been reused.
    Tcp(u64),
}

/// A query relayed upstream and not yet answered.
struct Pending {
    /// The id on the wire towards the upstreams (random, unique among pending queries).
    wire_id: u16,
    client_id: u16,
    client: Client,
    /// The query as sent upstream: resent on the next attempt, and its question is what
    /// the reply must echo.
    query: Vec<u8>,
    /// End of the (single) question in `query`.
    qend: usize,
    /// Attempts made; attempt `i` goes to `upstreams[i % upstreams.len()]`.
    tried: usize,
    attempts: usize,
    step: Duration,
    next_try: Instant,
    deadline: Instant,
}

/// One TCP client.
struct Conn {
    stream: TcpStream,
    token: u64,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    /// The client shut down its side: answer what it sent, then close.
    eof: bool,
    failed: bool,
    deadline: Instant,
}

/// Unpredictable 16-bit ids for forwarded queries, so that an off-path host cannot
/// easily spoof an upstream reply: SipHash under the process's random keys over a
/// counter, which needs neither a crate nor unsafe code.
struct IdSource {
    keys: RandomState,
    counter: u64,
}

impl IdSource {
    fn new() -> Self {
        Self {
            keys: RandomState::new(),
            counter: 0,
        }
    }

    fn next(&mut self) -> u16 {
        let mut hasher = self.keys.build_hasher();
        hasher.write_u64(self.counter);
        self.counter = self.counter.wrapping_add(1);
        hasher.finish() as u16
    }
}

impl<N: Names> DnsServer<N> {
    /// `udp` and `tcp` are bound sockets (`tcp` listening) the caller created inside the
    /// container's namespace (see [`bind`]); `upstream` an unbound UDP socket created in
    /// the host's namespace (see [`upstream_socket`]), `None` for no forwarding at all;
    /// `upstreams` the resolvers to forward to, in order of preference. Upstreams of a
    /// family the socket cannot reach are left out; with none left, nothing is forwarded
    /// (REFUSED). Fails only if the sockets cannot be made non-blocking.
    pub fn new(
        names: N,
        udp: OwnedFd,
        tcp: Option<OwnedFd>,
        upstream: Option<OwnedFd>,
        upstreams: Vec<SocketAddr>,
    ) -> io::Result<Self> {
        let udp = UdpSocket::from(udp);
        udp.set_nonblocking(true)?;
        let tcp = match tcp {
            Some(fd) => {
                let listener = TcpListener::from(fd);
                listener.set_nonblocking(true)?;
                Some(listener)
            }
            None => None,
        };
        let (upstream, upstreams) = match upstream {
            Some(fd) => {
                let sock = UdpSocket::from(fd);
                sock.set_nonblocking(true)?;
                let usable = usable_upstreams(&sock, upstreams);
                if usable.is_empty() {
                    (None, usable)
                } else {
                    (Some(sock), usable)
                }
            }
            None => (None, Vec::new()),
        };
        Ok(Self {
            names,
            udp,
            tcp,
            upstream,
            upstreams,
            timeout: DEFAULT_TIMEOUT,
            ttl: DEFAULT_TTL,
            pending: Vec::new(),
            conns: Vec::new(),
            next_token: 0,
            ids: IdSource::new(),
            buf: vec![0; BUF_LEN],
        })
    }

    /// How long upstreams get before the client is told SERVFAIL (default
    /// [`DEFAULT_TIMEOUT`]). With several upstreams, or a single one, the time is split
    /// into attempts, one per upstream and at least two, so that one lost datagram or
    /// one dead resolver does not fail the query.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        // Bounded so that deadlines never overflow an Instant.
        self.timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// TTL of our own answers (default [`DEFAULT_TTL`]).
    pub fn with_ttl(mut self, ttl: u32) -> Self {
        self.ttl = ttl;
        self
    }

    /// Whether names that are not ours are forwarded (false: they are refused).
    pub fn forwards(&self) -> bool {
        self.upstream.is_some()
    }

    /// Appends this server's entries to the monitor's poll set and returns where they
    /// are. [`after_poll`](Self::after_poll) finds its entries by file descriptor within
    /// that range, so the order and the monitor's own entries around them do not matter.
    pub fn fill_poll(&self, fds: &mut Vec<libc::pollfd>) -> Range<usize> {
        let start = fds.len();
        let entry = |fd: RawFd, events: i16| libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        fds.push(entry(self.udp.as_raw_fd(), libc::POLLIN));
        if let Some(up) = &self.upstream {
            fds.push(entry(up.as_raw_fd(), libc::POLLIN));
        }
        if let Some(listener) = &self.tcp {
            // At the cap the listener is left out: new clients wait in the backlog
            // until a slot frees, instead of being accepted and dropped.
            if self.conns.len() < MAX_TCP_CLIENTS {
                fds.push(entry(listener.as_raw_fd(), libc::POLLIN));
            }
        }
        for conn in &self.conns {
            let mut events = 0;
            if !conn.eof {
                events |= libc::POLLIN;
            }
            if !conn.outbuf.is_empty() {
                events |= libc::POLLOUT;
            }
            fds.push(entry(conn.stream.as_raw_fd(), events));
        }
        start..fds.len()
    }

    /// How long the monitor may sleep before [`after_poll`](Self::after_poll) has
    /// timers to run (a resend, a SERVFAIL, an idle TCP client); `None`: no timer.
    pub fn wait_time(&self, now: Instant) -> Option<Duration> {
        let pending = self.pending.iter().map(|p| {
            if p.tried < p.attempts {
                p.next_try.min(p.deadline)
            } else {
                p.deadline
            }
        });
        let conns = self.conns.iter().map(|c| c.deadline);
        pending
            .chain(conns)
            .min()
            .map(|at| at.saturating_duration_since(now))
    }

    /// Handles what poll reported in `fds[range]` (the range [`fill_poll`](Self::fill_poll)
    /// returned) and runs the timers due at `now`. Never blocks. Entries it does not
    /// recognise are ignored, and a range out of bounds only means nothing is ready.
    pub fn after_poll(&mut self, fds: &[libc::pollfd], range: Range<usize>, now: Instant) {
        let ours = fds.get(range).unwrap_or(&[]);
        let revents = |fd: RawFd| -> i16 {
            ours.iter()
                .filter(|p| p.fd == fd)
                .fold(0, |acc, p| acc | p.revents)
        };
        let any = libc::POLLIN | libc::POLLERR | libc::POLLHUP;

        if revents(self.udp.as_raw_fd()) & any != 0 {
            self.read_udp(now);
        }
        if let Some(fd) = self.upstream.as_ref().map(|u| u.as_raw_fd()) {
            if revents(fd) & any != 0 {
                self.read_upstream();
            }
        }
        if let Some(fd) = self.tcp.as_ref().map(|l| l.as_raw_fd()) {
            if revents(fd) & any != 0 {
                self.accept(now);
            }
        }
        // Taken out while serving them, because answering a query needs `&mut self`.
        let mut conns = std::mem::take(&mut self.conns);
        for conn in &mut conns {
            let ev = revents(conn.stream.as_raw_fd());
            if ev & (any | libc::POLLOUT) != 0 {
                self.serve_conn(conn, ev, now);
            }
        }
        // Connections accepted above are already in `conns`; keep any added meanwhile.
        conns.append(&mut self.conns);
        self.conns = conns;
        self.run_timers(now);
        self.sweep_conns(now);
    }

    fn read_udp(&mut self, now: Instant) {
        for _ in 0..BATCH {
            let (len, from) = match self.udp.recv_from(&mut self.buf) {
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let packet = self.buf[..len].to_vec();
            if let Some(reply) = self.handle_query(&packet, Client::Udp(from), now) {
                // UDP is lossy anyway: a full send buffer drops the reply and the
                // client asks again.
                let _ = self.udp.send_to(&reply, from);
            }
        }
    }

    /// Answers one query from a client: `Some` is the reply to send now, `None` means
    /// nothing to send (dropped, or forwarded and answered later).
    fn handle_query(&mut self, packet: &[u8], client: Client, now: Instant) -> Option<Vec<u8>> {
        if packet.len() < HEADER_LEN {
            return None;
        }
        // A response sent to us is never answered, so that two servers can never keep
        // bouncing errors at each other.
        if packet[2] & 0x80 != 0 {
            return None;
        }
        let id = u16::from_be_bytes([packet[0], packet[1]]);
        let Ok(msg) = Message::from_vec(packet) else {
            return Some(raw_reply(
                packet,
                HEADER_LEN,
                id,
                RCODE_FORMERR,
                self.forwards(),
            ));
        };
        if msg.metadata.op_code != OpCode::Query {
            return Some(raw_reply(
                packet,
                HEADER_LEN,
                id,
                RCODE_NOTIMP,
                self.forwards(),
            ));
        }
        // One question per query is what every resolver sends and what the reply
        // matching below relies on.
        let (Some(query), 1, Some(qend)) =
            (msg.queries.first(), msg.queries.len(), question_end(packet))
        else {
            return Some(raw_reply(
                packet,
                HEADER_LEN,
                id,
                RCODE_FORMERR,
                self.forwards(),
            ));
        };
        if let Some(records) = self.ours(query) {
            let tcp = matches!(client, Client::Tcp(_));
            return Some(self.answer(&msg, query, records, tcp, packet, qend));
        }
        self.forward(packet, qend, client, now)
    }

    /// The records for `query` if its name is ours (possibly none: NODATA), `None` if it
    /// is not and must go upstream.
    fn ours(&self, query: &Query) -> Option<Vec<RData>> {
        if !matches!(query.query_class(), DNSClass::IN | DNSClass::ANY) {
            return None;
        }
        let name = plain_name(query.name())?;
        let qtype = query.query_type();
        if let Some(addrs) = self.names.lookup(&name) {
            let records = addrs
                .into_iter()
                .filter_map(|addr| match (addr, qtype) {
                    (IpAddr::V4(v4), RecordType::A | RecordType::ANY) => Some(RData::A(A(v4))),
                    (IpAddr::V6(v6), RecordType::AAAA | RecordType::ANY) => {
                        Some(RData::AAAA(AAAA(v6)))
                    }
                    _ => None,
                })
                .collect();
            return Some(records);
        }
        if !matches!(qtype, RecordType::PTR | RecordType::ANY) {
            return None;
        }
        let host = self.names.reverse(reverse_addr(&name)?)?;
        let mut target = Name::from_ascii(&host).ok()?;
        target.set_fqdn(true);
        Some(vec![RData::PTR(PTR(target))])
    }

    /// Our own answer (authoritative, short TTL), truncated over UDP past the client's
    /// payload size so that it retries over TCP.
    fn answer(
        &self,
        msg: &Message,
        query: &Query,
        records: Vec<RData>,
        tcp: bool,
        packet: &[u8],
        qend: usize,
    ) -> Vec<u8> {
        let id = msg.metadata.id;
        let mut resp = Message::response(id, OpCode::Query);
        resp.metadata.authoritative = true;
        resp.metadata.recursion_desired = msg.metadata.recursion_desired;
        resp.metadata.recursion_available = self.forwards();
        resp.metadata.checking_disabled = msg.metadata.checking_disabled;
        // The question as asked, case included: clients using 0x20 randomisation check it.
        resp.add_query(query.clone());
        for rdata in records {
            resp.add_answer(Record::from_rdata(query.name().clone(), self.ttl, rdata));
        }
        if msg.edns.is_some() {
            // RFC 6891: a query with OPT gets a response with OPT.
            let mut edns = Edns::new();
            edns.set_max_payload(DEFAULT_MAX_PAYLOAD_LEN);
            resp.set_edns(edns);
        }
        let limit = if tcp {
            usize::from(u16::MAX)
        } else {
            usize::from(msg.max_payload())
        };
        match resp.to_vec() {
            Ok(bytes) if bytes.len() <= limit => return bytes,
            _ => {}
        }
        resp.answers.clear();
        resp.metadata.truncation = !tcp;
        match resp.to_vec() {
            Ok(bytes) if !tcp => bytes,
            // Even empty it does not encode, or TCP cannot carry it: a name that is ours
            // is still never forwarded.
            _ => raw_reply(packet, qend, id, RCODE_SERVFAIL, self.forwards()),
        }
    }

    /// Relays a query that is not ours to the upstreams, or refuses it without any.
    fn forward(
        &mut self,
        packet: &[u8],
        qend: usize,
        client: Client,
        now: Instant,
    ) -> Option<Vec<u8>> {
        let id = u16::from_be_bytes([packet[0], packet[1]]);
        let Some(sock) = &self.upstream else {
            return Some(raw_reply(packet, qend, id, RCODE_REFUSED, false));
        };
        if self.pending.len() >= MAX_PENDING || self.upstreams.is_empty() {
            return Some(raw_reply(packet, qend, id, RCODE_SERVFAIL, true));
        }
        let in_use = |id: u16| self.pending.iter().any(|p| p.wire_id == id);
        // A few random draws find a free id (at most MAX_PENDING of 65536 are taken);
        // the scan only bounds the work, it is never expected to run.
        let Some(wire_id) = (0..16)
            .map(|_| self.ids.next())
            .find(|id| !in_use(*id))
            .or_else(|| (0..=u16::MAX).find(|id| !in_use(*id)))
        else {
            return Some(raw_reply(packet, qend, id, RCODE_SERVFAIL, true));
        };
        let mut query = packet.to_vec();
        query[..2].copy_from_slice(&wire_id.to_be_bytes());
        let attempts = self.upstreams.len().max(2);
        let step = self.timeout / u32::try_from(attempts).unwrap_or(u32::MAX);
        let mut pending = Pending {
            wire_id,
            client_id: id,
            client,
            query,
            qend,
            tried: 0,
            attempts,
            step,
            next_try: now,
            deadline: now + self.timeout,
        };
        send_attempt(sock, &self.upstreams, &mut pending, now);
        self.pending.push(pending);
        None
    }

    fn read_upstream(&mut self) {
        let Some(sock) = &self.upstream else {
            return;
        };
        for _ in 0..BATCH {
            let (len, from) = match sock.recv_from(&mut self.buf) {
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let reply = &self.buf[..len];
            let Some(i) = self
                .pending
                .iter()
                .position(|p| reply_matches(p, reply, from, &self.upstreams))
            else {
                // Late (already answered or timed out), duplicate or forged: dropped.
                continue;
            };
            let p = self.pending.swap_remove(i);
            let mut out = reply.to_vec();
            out[..2].copy_from_slice(&p.client_id.to_be_bytes());
            deliver(&self.udp, &mut self.conns, p.client, &out);
        }
    }

    fn accept(&mut self, now: Instant) {
        let Some(listener) = &self.tcp else {
            return;
        };
        while self.conns.len() < MAX_TCP_CLIENTS {
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            // A blocking client socket would stall the whole monitor: refuse it.
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            self.next_token += 1;
            self.conns.push(Conn {
                stream,
                token: self.next_token,
                inbuf: Vec::new(),
                outbuf: Vec::new(),
                eof: false,
                failed: false,
                deadline: now + TCP_IDLE,
            });
        }
    }

    /// Reads what a TCP client sent, answers every complete query (length-prefixed,
    /// several per connection: glibc sends A and AAAA on one), writes what it can.
    fn serve_conn(&mut self, conn: &mut Conn, revents: i16, now: Instant) {
        if revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0 && !conn.eof {
            let mut chunk = [0u8; 4096];
            for _ in 0..TCP_READS {
                match conn.stream.read(&mut chunk) {
                    Ok(0) => {
                        conn.eof = true;
                        break;
                    }
                    Ok(n) => {
                        conn.inbuf.extend_from_slice(&chunk[..n]);
                        conn.deadline = now + TCP_IDLE;
                        self.answer_frames(conn, now);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        conn.failed = true;
                        break;
                    }
                }
            }
        }
        flush(conn, now);
        // Hung up both ways or reset: nothing sent from now on can arrive, and a dead
        // socket kept in the poll set would report itself ready on every turn.
        if revents & (libc::POLLERR | libc::POLLHUP) != 0 {
            conn.failed = true;
        }
    }

    fn answer_frames(&mut self, conn: &mut Conn, now: Instant) {
        loop {
            let Some(&[hi, lo]) = conn.inbuf.get(..2) else {
                return;
            };
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            let Some(frame) = conn.inbuf.get(2..2 + len) else {
                return;
            };
            let frame = frame.to_vec();
            conn.inbuf.drain(..2 + len);
            if let Some(reply) = self.handle_query(&frame, Client::Tcp(conn.token), now) {
                push_frame(conn, &reply);
            }
        }
    }

    fn run_timers(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.pending.len() {
            let p = &mut self.pending[i];
            if now >= p.deadline {
                let p = self.pending.swap_remove(i);
                let reply = raw_reply(&p.query, p.qend, p.client_id, RCODE_SERVFAIL, true);
                deliver(&self.udp, &mut self.conns, p.client, &reply);
                continue;
            }
            if p.tried < p.attempts && now >= p.next_try {
                if let Some(sock) = &self.upstream {
                    send_attempt(sock, &self.upstreams, p, now);
                }
            }
            i += 1;
        }
    }

    fn sweep_conns(&mut self, now: Instant) {
        let pending = &self.pending;
        self.conns.retain_mut(|conn| {
            let waiting = pending.iter().any(|p| p.client == Client::Tcp(conn.token));
            if waiting {
                // An answer is on its way (or SERVFAIL at the pending deadline).
                conn.deadline = conn.deadline.max(now + TCP_IDLE);
            }
            let done = conn.eof && !waiting && conn.outbuf.is_empty();
            !(conn.failed || done || now >= conn.deadline || conn.outbuf.len() > MAX_TCP_OUT)
        });
    }
}

/// Sends the next attempt of a forwarded query, round-robin over the upstreams.
fn send_attempt(sock: &UdpSocket, upstreams: &[SocketAddr], p: &mut Pending, now: Instant) {
    if let Some(to) = upstreams.get(p.tried % upstreams.len().max(1)) {
        // A failed send is like a lost datagram: the next attempt or the deadline
        // deals with it.
        let _ = sock.send_to(&p.query, to);
    }
    p.tried += 1;
    p.next_try = now + p.step;
}

/// Whether `reply` from `from` answers pending query `p`: same id, from an upstream it
/// was sent to, a response, echoing the question (case aside, for 0x20 servers).
fn reply_matches(p: &Pending, reply: &[u8], from: SocketAddr, upstreams: &[SocketAddr]) -> bool {
    if reply.len() < HEADER_LEN || u16::from_be_bytes([reply[0], reply[1]]) != p.wire_id {
        return false;
    }
    if !upstreams
        .iter()
        .take(p.tried)
        .any(|u| same_endpoint(*u, from))
    {
        return false;
    }
    if reply[2] & 0x80 == 0 {
        return false;
    }
    let qdcount = u16::from_be_bytes([reply[4], reply[5]]);
    if qdcount == 0 {
        // Some servers drop the question from errors (FORMERR, REFUSED): acceptable
        // only for an error.
        return reply[3] & 0x0f != 0;
    }
    let (Some(got), Some(sent)) = (
        reply.get(HEADER_LEN..p.qend),
        p.query.get(HEADER_LEN..p.qend),
    ) else {
        return false;
    };
    // The name, then type and class: only the name is case-insensitive.
    let split = sent.len().saturating_sub(4);
    qdcount == 1
        && got[..split].eq_ignore_ascii_case(&sent[..split])
        && got[split..] == sent[split..]
}

/// Sends a reply to whoever asked: a datagram, or a frame queued on a TCP client that
/// is still there.
fn deliver(udp: &UdpSocket, conns: &mut [Conn], client: Client, reply: &[u8]) {
    match client {
        Client::Udp(addr) => {
            let _ = udp.send_to(reply, addr);
        }
        Client::Tcp(token) => {
            if let Some(conn) = conns.iter_mut().find(|c| c.token == token) {
                push_frame(conn, reply);
                flush(conn, Instant::now());
            }
        }
    }
}

fn push_frame(conn: &mut Conn, reply: &[u8]) {
    let Ok(len) = u16::try_from(reply.len()) else {
        return;
    };
    conn.outbuf.extend_from_slice(&len.to_be_bytes());
    conn.outbuf.extend_from_slice(reply);
}

/// Writes what the socket takes now; the rest waits for POLLOUT.
fn flush(conn: &mut Conn, now: Instant) {
    while !conn.outbuf.is_empty() {
        match conn.stream.write(&conn.outbuf) {
            Ok(0) => {
                conn.failed = true;
                return;
            }
            Ok(n) => {
                conn.outbuf.drain(..n);
                conn.deadline = now + TCP_IDLE;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(_) => {
                conn.failed = true;
                return;
            }
        }
    }
}

/// A reply with no answers built from the query's own bytes: its header (id replaced,
/// opcode, RD and CD kept) and, when `qend` goes past the header, its question. Used for
/// errors, so that it never depends on re-encoding what a client sent, and so that the
/// question glibc checks is exactly the one it asked.
fn raw_reply(query: &[u8], qend: usize, id: u16, rcode: u8, recursion: bool) -> Vec<u8> {
    let end = qend.clamp(HEADER_LEN, query.len().max(HEADER_LEN));
    let mut out = vec![0u8; HEADER_LEN];
    if let Some(question) = query.get(HEADER_LEN..end) {
        out.extend_from_slice(question);
    }
    out[..2].copy_from_slice(&id.to_be_bytes());
    let flags = query.get(2).copied().unwrap_or(0);
    let flags2 = query.get(3).copied().unwrap_or(0);
    // QR, the opcode and RD from the query; AA and TC clear.
    out[2] = 0x80 | (flags & 0x79);
    out[3] = if recursion { 0x80 } else { 0 } | (flags2 & 0x10) | (rcode & 0x0f);
    if out.len() > HEADER_LEN {
        out[5] = 1;
    }
    out
}

/// End offset of the first question of `packet` (a query has no reason to compress its
/// only question, so a pointer there is treated as malformed).
fn question_end(packet: &[u8]) -> Option<usize> {
    let mut pos = HEADER_LEN;
    loop {
        let len = usize::from(*packet.get(pos)?);
        if len == 0 {
            pos += 1;
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        pos += 1 + len;
    }
    let end = pos + 4;
    (end <= packet.len()).then_some(end)
}

/// The name as the callback sees it: lowercase, labels joined by dots, no trailing
/// dot. `None` for the root and for labels with bytes no container name can have (dots
/// inside a label, controls, spaces, non-ASCII): such a name can only be forwarded.
fn plain_name(name: &Name) -> Option<String> {
    let mut out = String::new();
    for label in name.iter() {
        if label.is_empty() || !label.iter().all(|b| b.is_ascii_graphic() && *b != b'.') {
            return None;
        }
        if !out.is_empty() {
            out.push('.');
        }
        out.extend(label.iter().map(|b| char::from(b.to_ascii_lowercase())));
    }
    (!out.is_empty()).then_some(out)
}

/// The address a reverse name stands for (`4.3.2.1.in-addr.arpa`, 32 nibbles under
/// `ip6.arpa`); `None` for partial or malformed reverse names.
fn reverse_addr(name: &str) -> Option<IpAddr> {
    if let Some(rest) = name.strip_suffix(".in-addr.arpa") {
        let mut octets = [0u8; 4];
        let mut parts = rest.split('.');
        for slot in octets.iter_mut().rev() {
            let part = parts.next()?;
            if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            *slot = part.parse().ok()?;
        }
        return parts
            .next()
            .is_none()
            .then(|| IpAddr::V4(Ipv4Addr::from(octets)));
    }
    let rest = name.strip_suffix(".ip6.arpa")?;
    let mut bits: u128 = 0;
    let mut count = 0;
    for (i, part) in rest.split('.').enumerate() {
        let nibble = match part.as_bytes() {
            [b] => char::from(*b).to_digit(16)?,
            _ => return None,
        };
        if i >= 32 {
            return None;
        }
        bits |= u128::from(nibble) << (4 * i);
        count += 1;
    }
    (count == 32).then(|| IpAddr::V6(Ipv6Addr::from(bits)))
}

/// Binds the UDP socket and the listening TCP socket at `addr` (127.0.0.11:53 inside the
/// container's namespace; the sockets stay in the namespace they were created in). Both
/// are close-on-exec. With port 0 both get the same ephemeral port.
pub fn bind(addr: SocketAddr) -> io::Result<(OwnedFd, OwnedFd)> {
    if addr.port() != 0 {
        let udp = UdpSocket::bind(addr)?;
        let tcp = TcpListener::bind(addr)?;
        return Ok((udp.into(), tcp.into()));
    }
    // The UDP port picked for us may be taken for TCP: try a few.
    let mut last = io::Error::from(io::ErrorKind::AddrInUse);
    for _ in 0..16 {
        let udp = UdpSocket::bind(addr)?;
        let at = SocketAddr::new(addr.ip(), udp.local_addr()?.port());
        match TcpListener::bind(at) {
            Ok(tcp) => return Ok((udp.into(), tcp.into())),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// An unbound, close-on-exec UDP socket for forwarding, to create in the host's
/// namespace. Dual-stack IPv6 when some upstream is IPv6 and the host has IPv6, so that
/// one socket reaches every upstream; IPv4 otherwise.
pub fn upstream_socket(upstreams: &[SocketAddr]) -> io::Result<OwnedFd> {
    if upstreams.iter().any(|a| canonical_ip(a.ip()).is_ipv6()) {
        if let Ok(fd) = rustix::net::socket_with(
            AddressFamily::INET6,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC,
            None,
        ) {
            if rustix::net::sockopt::set_ipv6_v6only(&fd, false).is_ok() {
                return Ok(fd);
            }
        }
    }
    Ok(rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )?)
}

/// The upstreams `sock` can send to: on an IPv4 socket the IPv4 ones, on an IPv6 one
/// all of them, IPv4 as mapped addresses. Duplicates go.
fn usable_upstreams(sock: &UdpSocket, upstreams: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let v6 = sock.local_addr().is_ok_and(|a| a.is_ipv6());
    let mut out: Vec<SocketAddr> = Vec::new();
    for addr in upstreams {
        let addr = match (canonical_ip(addr.ip()), v6) {
            (IpAddr::V4(v4), false) => SocketAddr::new(IpAddr::V4(v4), addr.port()),
            (IpAddr::V6(_), false) => continue,
            (IpAddr::V4(v4), true) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), addr.port()),
            (IpAddr::V6(_), true) => addr,
        };
        if !out.iter().any(|known| same_endpoint(*known, addr)) {
            out.push(addr);
        }
    }
    out
}

/// Address and port equality, v4-mapped IPv6 and IPv4 alike (scope and flow aside).
fn same_endpoint(a: SocketAddr, b: SocketAddr) -> bool {
    canonical_ip(a.ip()) == canonical_ip(b.ip()) && a.port() == b.port()
}

fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The nameservers of a resolv.conf text, as SocketAddrs on port 53, in order, without
/// duplicates. Skipped: loopback and unspecified ones (a local stub such as
/// systemd-resolved's 127.0.0.53 is the host's own; on such hosts the real upstreams are
/// in /run/systemd/resolve/resolv.conf), and IPv6 link-local ones with a named zone
/// (`fe80::1%eth0`: naming the interface would take a lookup; a numeric zone is kept as
/// the scope id). Comments and other lines
/// (`search`, `options`, ...) are ignored.
pub fn upstreams_from_resolv_conf(text: &str) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        let Some(addr) = words.next().and_then(parse_nameserver) else {
            continue;
        };
        let ip = canonical_ip(addr.ip());
        if ip.is_loopback() || ip.is_unspecified() {
            continue;
        }
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    out
}

fn parse_nameserver(word: &str) -> Option<SocketAddr> {
    let (ip, zone) = match word.split_once('%') {
        Some((ip, zone)) => (ip, Some(zone)),
        None => (word, None),
    };
    match (ip.parse::<IpAddr>().ok()?, zone) {
        (IpAddr::V4(v4), None) => Some(SocketAddr::new(IpAddr::V4(v4), 53)),
        (IpAddr::V6(v6), None) => Some(match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), 53),
            None => SocketAddr::new(IpAddr::V6(v6), 53),
        }),
        (IpAddr::V6(v6), Some(zone)) => {
            let scope = zone.parse().ok()?;
            Some(SocketAddr::V6(SocketAddrV6::new(v6, 53, 0, scope)))
        }
        (IpAddr::V4(_), Some(_)) => None,
    }
}
