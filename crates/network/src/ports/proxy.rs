//! The poll-driven proxy: accepts on the host sockets, connects to the container, moves
//! the bytes. See the module above for what it may and may not do.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, Shutdown, SocketFlags, SocketType};
use rustix::pipe::{PipeFlags, SpliceFlags};

use super::Proto;

/// How long a UDP flow lives without a datagram either way (Docker's proxy uses 90 s;
/// 30 s keeps fewer sockets open and is ample for request/reply protocols such as DNS).
pub const UDP_TIMEOUT: Duration = Duration::from_secs(30);
/// Concurrent TCP connections per proxy. Each one holds six descriptors (two sockets,
/// two pipes), so the monitor's RLIMIT_NOFILE must allow about 6 × this.
pub const MAX_CONNECTIONS: usize = 1024;
/// Concurrent UDP flows per proxy; datagrams from new clients are dropped beyond it.
pub const MAX_FLOWS: usize = 1024;

/// After a failed accept (out of descriptors or memory) the listeners are left alone
/// this long, unless a connection closes first; polling them meanwhile would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(500);
/// Splice rounds per direction per wakeup, so that one fast connection cannot starve
/// the others (and the monitor's own work); poll is level-triggered, the rest follows
/// on the next turn.
const PUMP_ROUNDS: usize = 16;
/// Bytes asked of one splice into a pipe; the kernel stops at what the pipe holds.
const SPLICE_LEN: usize = 1 << 20;
/// Datagrams handled per socket per wakeup, for the same fairness reason.
const UDP_BURST: usize = 64;
/// Big enough for any UDP datagram over IPv4 or IPv6 (without jumbograms).
const DATAGRAM_MAX: usize = 65536;

const POLLIN: i16 = libc::POLLIN;
const POLLOUT: i16 = libc::POLLOUT;
const POLLERR_HUP: i16 = libc::POLLERR | libc::POLLHUP | libc::POLLNVAL;

/// Serves published ports: TCP connections and UDP flows between host sockets bound by
/// [`super::bind`] and a target address in the container.
///
/// Drive it from a poll loop: [`fill_poll`](Proxy::fill_poll), poll with the
/// [`wait_time`](Proxy::wait_time) timeout, then [`after_poll`](Proxy::after_poll),
/// also when poll timed out (that is when idle UDP flows expire).
pub struct Proxy {
    listeners: Vec<Listener>,
    conns: BTreeMap<u64, Conn>,
    flows: BTreeMap<u64, Flow>,
    /// (listener index, client address) → flow id.
    flow_index: BTreeMap<(usize, SocketAddr), u64>,
    next_id: u64,
    /// What each pollfd appended by the last `fill_poll` stands for, in order. The
    /// monitor rebuilds its vector every turn, and entries may close between two turns,
    /// so `after_poll` goes by this, not by position in the proxy's own maps.
    slots: RefCell<Vec<Slot>>,
    /// Counts `after_poll` calls, so a connection whose two sockets are both ready is
    /// pumped once per turn.
    turn: u64,
    max_connections: usize,
    max_flows: usize,
    udp_timeout: Duration,
    accept_paused_until: Option<Instant>,
    /// Shared by every UDP socket; allocated with the first UDP listener so a TCP-only
    /// monitor never touches those pages.
    datagram: Vec<u8>,
}

struct Listener {
    proto: Proto,
    fd: OwnedFd,
    target: SocketAddr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Listener(usize),
    Client(u64),
    Backend(u64),
    Flow(u64),
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    token: Token,
    fd: RawFd,
}

/// One TCP connection: the accepted client socket and the socket to the container.
struct Conn {
    client: Side,
    backend: Side,
    /// The non-blocking connect to the container has not completed yet.
    connecting: bool,
    /// Client → container.
    up: Direction,
    /// Container → client.
    down: Direction,
    turn: u64,
}

struct Side {
    fd: OwnedFd,
    /// poll reported POLLHUP without an error: the socket is shut both ways at the TCP
    /// level and would report POLLHUP forever, so it is only polled while something is
    /// wanted of it.
    hup: bool,
}

/// One direction of a connection: bytes go from the source socket into the pipe and
/// from the pipe to the destination socket, never through user memory.
///
/// The source is read only when the pipe is empty, so a splice that would block on the
/// source means "no data" and never "pipe full": each direction waits either for its
/// source to be readable (pipe empty) or for its destination to be writable (bytes in
/// the pipe), which is also the backpressure.
struct Direction {
    pipe_r: OwnedFd,
    pipe_w: OwnedFd,
    /// Bytes in the pipe not yet written to the destination.
    pending: usize,
    /// The source reached end of file.
    eof: bool,
    /// The end of file was passed on with shutdown(SHUT_WR) on the destination.
    shut: bool,
}

/// One UDP client of one listener, with its own socket connected to the container so
/// that replies can be told apart per client.
struct Flow {
    listener: usize,
    client: SocketAddr,
    fd: OwnedFd,
    last: Instant,
}

enum Outcome {
    Keep,
    /// Both directions finished: close quietly.
    Done,
    /// An error on either side: reset both, so the peer of the healthy side learns the
    /// connection failed instead of seeing a clean end.
    Abort,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Client,
    Backend,
}

impl Default for Proxy {
    fn default() -> Self {
        Self::new()
    }
}

impl Proxy {
    pub fn new() -> Proxy {
        Proxy {
            listeners: Vec::new(),
            conns: BTreeMap::new(),
            flows: BTreeMap::new(),
            flow_index: BTreeMap::new(),
            next_id: 0,
            slots: RefCell::new(Vec::new()),
            turn: 0,
            max_connections: MAX_CONNECTIONS,
            max_flows: MAX_FLOWS,
            udp_timeout: UDP_TIMEOUT,
            accept_paused_until: None,
            datagram: Vec::new(),
        }
    }

    /// Idle time after which a UDP flow is closed (default [`UDP_TIMEOUT`]).
    pub fn set_udp_timeout(&mut self, timeout: Duration) {
        self.udp_timeout = timeout;
    }

    /// Cap on concurrent TCP connections (default [`MAX_CONNECTIONS`]); at the cap the
    /// listeners are not polled, so new clients wait in the kernel's accept queue.
    pub fn set_max_connections(&mut self, max: usize) {
        self.max_connections = max.max(1);
    }

    /// Cap on concurrent UDP flows (default [`MAX_FLOWS`]).
    pub fn set_max_flows(&mut self, max: usize) {
        self.max_flows = max.max(1);
    }

    /// Serves the already bound socket `listener` (from [`super::bind`]), forwarding
    /// what arrives on it to `target`.
    pub fn add(&mut self, proto: Proto, listener: OwnedFd, target: SocketAddr) {
        // bind() makes it non-blocking already; a socket bound elsewhere and handed in
        // blocking would stall the whole monitor in accept or recvfrom.
        let _ = rustix::io::ioctl_fionbio(&listener, true);
        if proto == Proto::Udp && self.datagram.is_empty() {
            self.datagram = vec![0; DATAGRAM_MAX];
        }
        self.listeners.push(Listener {
            proto,
            fd: listener,
            target,
        });
    }

    /// Points every listener forwarding to `old` at `new` instead, keeping the port (the
    /// container restarted with a new address). Open TCP connections are left to end
    /// on their own; UDP flows to `old` are closed, the next datagram opens one to `new`.
    pub fn retarget(&mut self, old: IpAddr, new: IpAddr) {
        let mut moved = Vec::new();
        for (i, l) in self.listeners.iter_mut().enumerate() {
            if l.target.ip() == old {
                l.target.set_ip(new);
                moved.push(i);
            }
        }
        if moved.is_empty() {
            return;
        }
        let index = &mut self.flow_index;
        self.flows.retain(|_, f| {
            let keep = !moved.contains(&f.listener);
            if !keep {
                index.remove(&(f.listener, f.client));
            }
            keep
        });
    }

    /// Open TCP connections.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Live UDP flows.
    pub fn flows(&self) -> usize {
        self.flows.len()
    }

    /// Appends the descriptors to wait on, events set, to `fds` and returns their index
    /// range, to be handed back to [`after_poll`](Proxy::after_poll) with the same vector.
    pub fn fill_poll(&self, fds: &mut Vec<libc::pollfd>) -> Range<usize> {
        let start = fds.len();
        let mut slots = self.slots.borrow_mut();
        slots.clear();
        let mut push = |fd: &OwnedFd, events: i16, token: Token| {
            let raw = fd.as_raw_fd();
            fds.push(libc::pollfd {
                fd: raw,
                events,
                revents: 0,
            });
            slots.push(Slot { token, fd: raw });
        };
        let accepting =
            self.conns.len() < self.max_connections && self.accept_paused_until.is_none();
        for (i, l) in self.listeners.iter().enumerate() {
            // A UDP listener stays polled: known flows still need their datagrams.
            if l.proto == Proto::Udp || accepting {
                push(&l.fd, POLLIN, Token::Listener(i));
            }
        }
        for (&id, c) in &self.conns {
            let (client, backend) = c.interest();
            // With no events asked, poll still reports errors and hang-ups, which is how
            // a reset arrives while the other side is the one being waited on.
            if client != 0 || !c.client.hup {
                push(&c.client.fd, client, Token::Client(id));
            }
            if backend != 0 || !c.backend.hup {
                push(&c.backend.fd, backend, Token::Backend(id));
            }
        }
        for (&id, f) in &self.flows {
            push(&f.fd, POLLIN, Token::Flow(id));
        }
        start..fds.len()
    }

    /// How long until [`after_poll`](Proxy::after_poll) has timed work to do (a UDP
    /// flow to expire, accepting to resume), if anything.
    pub fn wait_time(&self, now: Instant) -> Option<Duration> {
        let flows = self
            .flows
            .values()
            .map(|f| (f.last + self.udp_timeout).saturating_duration_since(now));
        let accept = self
            .accept_paused_until
            .map(|t| t.saturating_duration_since(now));
        flows.chain(accept).min()
    }

    /// Does whatever `fds[range]` (filled by the last [`fill_poll`](Proxy::fill_poll),
    /// revents set by poll) is ready for, and expires idle UDP flows. Never blocks.
    pub fn after_poll(&mut self, fds: &[libc::pollfd], range: Range<usize>, now: Instant) {
        self.turn = self.turn.wrapping_add(1);
        if self.accept_paused_until.is_some_and(|t| now >= t) {
            self.accept_paused_until = None;
        }
        let slots = std::mem::take(self.slots.get_mut());
        let ready = fds.get(range).unwrap_or(&[]);
        for (slot, pfd) in slots.iter().zip(ready) {
            // A vector that does not line up with what fill_poll handed out (the caller
            // changed it) must not make the proxy act on somebody else's descriptor.
            if pfd.fd != slot.fd || pfd.revents == 0 {
                continue;
            }
            match slot.token {
                Token::Listener(i) => match self.listeners.get(i).map(|l| l.proto) {
                    Some(Proto::Tcp) => self.accept(i, now),
                    Some(Proto::Udp) => self.listener_datagrams(i, now),
                    None => {}
                },
                Token::Client(id) => self.conn_event(id, Which::Client, pfd.revents),
                Token::Backend(id) => self.conn_event(id, Which::Backend, pfd.revents),
                Token::Flow(id) => self.flow_datagrams(id, now),
            }
        }
        // Hand the allocation back for the next fill_poll, emptied: a second after_poll
        // without a fill_poll in between must find nothing to act on.
        let mut slots = slots;
        slots.clear();
        *self.slots.get_mut() = slots;
        self.expire(now);
    }

    /// Accepts until the queue is empty or the connection cap is reached.
    fn accept(&mut self, i: usize, now: Instant) {
        let Some(l) = self.listeners.get(i) else {
            return;
        };
        let target = l.target;
        while self.conns.len() < self.max_connections {
            let Some(l) = self.listeners.get(i) else {
                return;
            };
            match rustix::net::accept_with(&l.fd, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC) {
                Ok(client) => {
                    if let Err(e) = self.open(client, target) {
                        if out_of_resources(e) {
                            self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
                            return;
                        }
                    }
                }
                Err(Errno::AGAIN) => return,
                // The client gave up before we got to it, or a signal: try the next one.
                Err(Errno::CONNABORTED | Errno::INTR | Errno::PROTO) => {}
                // Out of descriptors or memory, or a listener in a state it should not
                // be in: stop polling the listeners for a while instead of spinning.
                Err(_) => {
                    self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }

    /// Starts the connection to the container for an accepted client. On failure the
    /// client is reset (and so learns at once that there is nothing behind the port).
    fn open(&mut self, client: OwnedFd, target: SocketAddr) -> Result<(), Errno> {
        let started = (|| {
            // Clients and servers chose their own write sizes; Nagle here would add a
            // delayed-ACK wait to every small write that crosses the proxy.
            rustix::net::sockopt::set_tcp_nodelay(&client, true)?;
            let backend = rustix::net::socket_with(
                family(&target),
                SocketType::STREAM,
                SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
                None,
            )?;
            rustix::net::sockopt::set_tcp_nodelay(&backend, true)?;
            let connecting = match rustix::net::connect(&backend, &target) {
                Ok(()) => false,
                Err(Errno::INPROGRESS) => true,
                Err(e) => return Err(e),
            };
            Ok((backend, connecting, Direction::new()?, Direction::new()?))
        })();
        match started {
            Ok((backend, connecting, up, down)) => {
                let id = self.next_id;
                self.next_id += 1;
                self.conns.insert(
                    id,
                    Conn {
                        client: Side::new(client),
                        backend: Side::new(backend),
                        connecting,
                        up,
                        down,
                        turn: 0,
                    },
                );
                Ok(())
            }
            Err(e) => {
                reset(&client);
                Err(e)
            }
        }
    }

    fn conn_event(&mut self, id: u64, which: Which, revents: i16) {
        let turn = self.turn;
        let Some(conn) = self.conns.get_mut(&id) else {
            // Closed earlier in this turn through its other socket.
            return;
        };
        match conn.on_event(which, revents, turn) {
            Outcome::Keep => {}
            Outcome::Done => {
                self.conns.remove(&id);
                // Room again: a pause for lack of descriptors may be over.
                self.accept_paused_until = None;
            }
            Outcome::Abort => {
                if let Some(c) = self.conns.remove(&id) {
                    reset(&c.client.fd);
                    reset(&c.backend.fd);
                }
                self.accept_paused_until = None;
            }
        }
    }

    /// Datagrams from clients on a UDP listener: each goes out on its client's flow.
    fn listener_datagrams(&mut self, i: usize, now: Instant) {
        let Proxy {
            listeners,
            flows,
            flow_index,
            next_id,
            max_flows,
            datagram,
            ..
        } = self;
        let Some(l) = listeners.get(i) else {
            return;
        };
        for _ in 0..UDP_BURST {
            let (n, from) =
                match rustix::net::recvfrom(&l.fd, &mut datagram[..], RecvFlags::empty()) {
                    Ok((n, _, Some(from))) => (n, from),
                    Ok((_, _, None)) => continue,
                    Err(Errno::INTR) => continue,
                    // EAGAIN, or an error with nothing to do about it: stop until next poll.
                    Err(_) => return,
                };
            let Ok(client) = SocketAddr::try_from(from) else {
                continue;
            };
            let data = datagram.get(..n).unwrap_or(&[]);
            let id = match flow_index.get(&(i, client)) {
                Some(&id) => id,
                None => {
                    if flows.len() >= *max_flows {
                        // UDP may drop; a full table must not grow without bound.
                        continue;
                    }
                    let Ok(fd) = connected_udp(&l.target) else {
                        continue;
                    };
                    let id = *next_id;
                    *next_id += 1;
                    flow_index.insert((i, client), id);
                    flows.insert(
                        id,
                        Flow {
                            listener: i,
                            client,
                            fd,
                            last: now,
                        },
                    );
                    id
                }
            };
            let Some(flow) = flows.get_mut(&id) else {
                continue;
            };
            flow.last = now;
            // An earlier datagram refused by the container (ICMP port unreachable) is
            // reported by the next send, which then does not send: try once more, so
            // a service that has come up since gets this one. Any other failure drops
            // the datagram, which UDP allows.
            if let Err(Errno::CONNREFUSED) = rustix::net::send(&flow.fd, data, SendFlags::empty()) {
                let _ = rustix::net::send(&flow.fd, data, SendFlags::empty());
            }
        }
    }

    /// Replies from the container on a flow: back to its client from the listener, so
    /// they come from the address the client sent to.
    fn flow_datagrams(&mut self, id: u64, now: Instant) {
        let Proxy {
            listeners,
            flows,
            datagram,
            ..
        } = self;
        let Some(flow) = flows.get_mut(&id) else {
            return;
        };
        let Some(l) = listeners.get(flow.listener) else {
            return;
        };
        for _ in 0..UDP_BURST {
            match rustix::net::recv(&flow.fd, &mut datagram[..], RecvFlags::empty()) {
                Ok((n, _)) => {
                    flow.last = now;
                    let data = datagram.get(..n).unwrap_or(&[]);
                    // A full send buffer or an unreachable client drops the reply.
                    let _ = rustix::net::sendto(&l.fd, data, SendFlags::empty(), &flow.client);
                }
                // The container refused an earlier datagram; nothing to relay for it.
                Err(Errno::CONNREFUSED | Errno::INTR) => {}
                Err(_) => return,
            }
        }
    }

    fn expire(&mut self, now: Instant) {
        let timeout = self.udp_timeout;
        let index = &mut self.flow_index;
        self.flows.retain(|_, f| {
            let keep = now.saturating_duration_since(f.last) < timeout;
            if !keep {
                index.remove(&(f.listener, f.client));
            }
            keep
        });
    }

    /// The descriptor behind slot `k` of the last `fill_poll`, for the tests' poll loop
    /// (which, having no `unsafe`, polls borrowed descriptors rather than raw numbers).
    #[cfg(test)]
    pub(super) fn slot_fd(&self, k: usize) -> Option<BorrowedFd<'_>> {
        let slot = *self.slots.borrow().get(k)?;
        let fd = match slot.token {
            Token::Listener(i) => self.listeners.get(i)?.fd.as_fd(),
            Token::Client(id) => self.conns.get(&id)?.client.fd.as_fd(),
            Token::Backend(id) => self.conns.get(&id)?.backend.fd.as_fd(),
            Token::Flow(id) => self.flows.get(&id)?.fd.as_fd(),
        };
        Some(fd)
    }
}

impl Conn {
    /// Events wanted on (client, backend).
    fn interest(&self) -> (i16, i16) {
        if self.connecting {
            return (0, POLLOUT);
        }
        let mut client = 0;
        let mut backend = 0;
        if self.up.wants_source() {
            client |= POLLIN;
        }
        if self.up.pending > 0 {
            backend |= POLLOUT;
        }
        if self.down.wants_source() {
            backend |= POLLIN;
        }
        if self.down.pending > 0 {
            client |= POLLOUT;
        }
        (client, backend)
    }

    fn on_event(&mut self, which: Which, revents: i16, turn: u64) -> Outcome {
        if self.connecting && which == Which::Backend {
            // POLLOUT or POLLERR on a connecting socket: SO_ERROR says which.
            match rustix::net::sockopt::socket_error(&self.backend.fd) {
                Ok(Ok(())) => self.connecting = false,
                _ => return Outcome::Abort,
            }
        } else if revents & POLLERR_HUP != 0 {
            let side = match which {
                Which::Client => &mut self.client,
                Which::Backend => &mut self.backend,
            };
            match rustix::net::sockopt::socket_error(&side.fd) {
                Ok(Ok(())) => side.hup = true,
                _ => return Outcome::Abort,
            }
        }
        if self.connecting || self.turn == turn {
            return Outcome::Keep;
        }
        self.turn = turn;
        let client = self.client.fd.as_fd();
        let backend = self.backend.fd.as_fd();
        if self.up.pump(client, backend, PUMP_ROUNDS).is_err()
            || self.down.pump(backend, client, PUMP_ROUNDS).is_err()
        {
            return Outcome::Abort;
        }
        debug_assert!(self.up.waits_on_something() && self.down.waits_on_something());
        if self.up.shut && self.down.shut {
            Outcome::Done
        } else {
            Outcome::Keep
        }
    }
}

impl Side {
    fn new(fd: OwnedFd) -> Side {
        Side { fd, hup: false }
    }
}

impl Direction {
    fn new() -> Result<Direction, Errno> {
        let (pipe_r, pipe_w) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        Ok(Direction {
            pipe_r,
            pipe_w,
            pending: 0,
            eof: false,
            shut: false,
        })
    }

    fn wants_source(&self) -> bool {
        !self.eof && self.pending == 0
    }

    /// Either poll will bring this direction back (it wants its source or its
    /// destination), or it is finished. Anything else would hang the connection.
    fn waits_on_something(&self) -> bool {
        self.wants_source() || self.pending > 0 || self.shut
    }

    /// Moves what can move now from `src` to `dst`, in at most `rounds` splices; returns
    /// an error only for a failed connection (reset, broken pipe), never for "would
    /// block".
    ///
    /// On return the direction waits on something ([`Direction::waits_on_something`]):
    /// the destination (bytes in the pipe), the source (pipe empty, no end of file yet),
    /// or nothing more because it is finished.
    fn pump(
        &mut self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        rounds: usize,
    ) -> Result<(), Errno> {
        let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
        for _ in 0..rounds {
            if self.pending > 0 {
                match rustix::pipe::splice(&self.pipe_r, None, dst, None, self.pending, flags) {
                    // 0 cannot happen with bytes in the pipe; wait rather than spin.
                    Ok(0) => return Ok(()),
                    Ok(n) => self.pending = self.pending.saturating_sub(n),
                    Err(Errno::AGAIN) => return Ok(()),
                    Err(Errno::INTR) => {}
                    Err(e) => return Err(e),
                }
                continue;
            }
            if self.eof {
                break;
            }
            match rustix::pipe::splice(src, None, &self.pipe_w, None, SPLICE_LEN, flags) {
                Ok(0) => self.eof = true,
                Ok(n) => self.pending = n,
                Err(Errno::AGAIN) => return Ok(()),
                Err(Errno::INTR) => {}
                Err(e) => return Err(e),
            }
        }
        // Outside the loop, so that an end of file met on the last round is passed on
        // too: a direction at end of file with an empty pipe waits on nothing, and
        // nothing would bring it back here.
        if self.eof && self.pending == 0 && !self.shut {
            self.shut = true;
            // Half-close: the destination's peer sees end of file and may still answer.
            // ENOTCONN means it is gone already, which the other direction finds out
            // on its own.
            match rustix::net::shutdown(dst, Shutdown::Write) {
                Ok(()) | Err(Errno::NOTCONN) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn family(addr: &SocketAddr) -> AddressFamily {
    if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    }
}

/// A non-blocking UDP socket connected to `target`: the kernel then delivers only the
/// container's replies to it, and routes it from the right local address.
fn connected_udp(target: &SocketAddr) -> Result<OwnedFd, Errno> {
    let fd = rustix::net::socket_with(
        family(target),
        SocketType::DGRAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    rustix::net::connect(&fd, target)?;
    Ok(fd)
}

/// Makes the coming close send a reset instead of a FIN.
fn reset(fd: &OwnedFd) {
    let _ = rustix::net::sockopt::set_socket_linger(fd, Some(Duration::ZERO));
}

fn out_of_resources(e: Errno) -> bool {
    matches!(
        e,
        Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM
    )
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};

    use super::*;

    fn tcp_pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (b, _) = l.accept().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    /// Pumping one splice at a time, so that the end of file is always met on a last
    /// round: it must still reach the destination, and between calls the direction
    /// must always wait on something.
    #[test]
    fn end_of_file_met_on_the_last_round_is_passed_on() {
        let (mut writer, src) = tcp_pair();
        let (dst, mut reader) = tcp_pair();
        writer.write_all(b"hello").unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
        let mut d = Direction::new().unwrap();
        for _ in 0..1000 {
            d.pump(src.as_fd(), dst.as_fd(), 1).unwrap();
            assert!(
                d.waits_on_something(),
                "eof {} pending {}",
                d.eof,
                d.pending
            );
            if d.shut {
                break;
            }
            thread_sleep();
        }
        assert!(d.shut);
        reader.set_nonblocking(false).unwrap();
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"hello");
    }

    /// One turn in which poll reported only the listeners readable.
    fn listeners_turn(p: &mut Proxy) {
        let mut fds = Vec::new();
        let range = p.fill_poll(&mut fds);
        for (k, slot) in p.slots.borrow().iter().enumerate() {
            if matches!(slot.token, Token::Listener(_)) {
                fds[range.start + k].revents = POLLIN;
            }
        }
        p.after_poll(&fds, range, Instant::now());
    }

    /// A refusal still pending on a flow (its POLLERR not handled yet) must not cost
    /// the next datagram, which Linux would otherwise fail with ECONNREFUSED unsent.
    #[test]
    fn pending_udp_refusal_does_not_eat_the_next_datagram() {
        let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let target = dead.local_addr().unwrap();
        drop(dead);
        let (fd, addr) = super::super::bind(&super::super::Binding {
            proto: Proto::Udp,
            host_ip: target.ip(),
            host_port: 0,
            container_port: target.port(),
        })
        .unwrap();
        let mut p = Proxy::new();
        p.add(Proto::Udp, fd, target);
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        client.send_to(b"first", addr).unwrap();
        listeners_turn(&mut p);
        assert_eq!(p.flows(), 1);
        // Loopback has delivered the ICMP error to the flow socket by now.
        thread_sleep();
        let server = std::net::UdpSocket::bind(target).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        client.send_to(b"second", addr).unwrap();
        listeners_turn(&mut p);
        let mut buf = [0u8; 16];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"second");
    }

    fn thread_sleep() {
        std::thread::sleep(Duration::from_millis(1));
    }
}
