//! The rtnetlink wire: one blocking socket, one request in flight, every request acked.
//!
//! Replies are read as raw attributes rather than through netlink-packet-route's full
//! parsers: a dump covers every link or route in the namespace, and one attribute the
//! crate cannot parse (a newer kernel, an exotic device) must not make berth unable to
//! find its own links. Building requests does use the crate's types.

use std::fmt;
use std::io;

use netlink_packet_core::{
    DoneBuffer, ErrorBuffer, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED,
    NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// `NLMSGERR_ATTR_MSG` (linux/netlink.h): the kernel's human-readable reason for a NACK.
const NLMSGERR_ATTR_MSG: u16 = 1;
/// `NLA_TYPE_MASK` (linux/netlink.h): strips the nested and byte-order bits from a type.
const NLA_TYPE_MASK: u16 = !(1 << 15 | 1 << 14);
/// `sizeof(struct nlmsghdr)`.
const NLMSG_HDRLEN: usize = 16;
/// A dump the kernel flags as interrupted (the table changed under it) is read again, a
/// few times: a namespace whose links churn faster than that has bigger problems.
const DUMP_ATTEMPTS: usize = 5;

/// A failed request, before the caller has said what it was doing.
#[derive(Debug)]
pub(super) struct Failure {
    source: io::Error,
    /// The kernel's extended-ack message, which often says more than the errno
    /// ("Unknown device type" behind EOPNOTSUPP).
    detail: Option<String>,
}

impl From<io::Error> for Failure {
    fn from(source: io::Error) -> Self {
        Failure {
            source,
            detail: None,
        }
    }
}

impl Failure {
    pub(super) fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }

    /// Turns the failure into the io::Error callers see, keeping its kind (so
    /// `AlreadyExists` survives) and the errno as the source.
    pub(super) fn context(self, what: String) -> io::Error {
        let kind = self.source.kind();
        io::Error::new(
            kind,
            Failed {
                what,
                source: self.source,
                detail: self.detail,
            },
        )
    }
}

/// The error payload callers get: what was being done, the errno, and the kernel's reason.
#[derive(Debug)]
struct Failed {
    what: String,
    source: io::Error,
    detail: Option<String>,
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Adds the operation to an error, lazily so the happy path formats nothing.
pub(super) trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> io::Result<T>;
}

impl<T> Context<T> for Result<T, Failure> {
    fn context(self, what: impl FnOnce() -> String) -> io::Result<T> {
        self.map_err(|failure| failure.context(what()))
    }
}

impl<T> Context<T> for io::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> io::Result<T> {
        self.map_err(|source| Failure::from(source).context(what()))
    }
}

/// One data message of a reply: its type (`RTM_NEWLINK`...) and what follows the
/// netlink header.
pub(super) struct Reply {
    pub(super) kind: u16,
    pub(super) payload: Vec<u8>,
}

pub(super) struct Rtnl {
    socket: Socket,
    seq: u32,
}

impl Rtnl {
    pub(super) fn open() -> io::Result<Rtnl> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        // Connected to the kernel so nothing but the kernel's replies reach this socket.
        socket.connect(&SocketAddr::new(0, 0))?;
        // Both only make errors better (the kernel's reason; no echo of the whole
        // request), so a kernel refusing them is no reason to fail.
        let _ = socket.set_ext_ack(true);
        let _ = socket.set_cap_ack(true);
        Ok(Rtnl { socket, seq: 0 })
    }

    /// Sends a request and waits for its ack; returns what came before the ack (the
    /// object a GET asked for; nothing for a change).
    pub(super) fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<Reply>, Failure> {
        self.exchange(message, flags).map(|(replies, _)| replies)
    }

    /// Dumps a table; the result is consistent (not interrupted by a concurrent change).
    pub(super) fn dump(&mut self, message: RouteNetlinkMessage) -> Result<Vec<Reply>, Failure> {
        for _ in 0..DUMP_ATTEMPTS {
            let (replies, interrupted) = self.exchange(message.clone(), NLM_F_DUMP)?;
            if !interrupted {
                return Ok(replies);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::Interrupted,
            "the table kept changing while it was being dumped",
        )
        .into())
    }

    fn exchange(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<(Vec<Reply>, bool), Failure> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        packet.finalize();
        let mut buf = vec![0; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.send(&buf)?;

        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut replies = Vec::new();
        let mut interrupted = false;
        loop {
            let datagram = self.recv()?;
            let mut rest = &datagram[..];
            while !rest.is_empty() {
                let reply = NetlinkBuffer::new_checked(rest).map_err(invalid)?;
                let length = reply.length() as usize;
                let payload = reply.payload();
                // Replies to an earlier request abandoned half-read (its caller got an
                // error) can still be queued: they are not ours.
                if reply.sequence_number() == seq {
                    match reply.message_type() {
                        NLMSG_NOOP => {}
                        NLMSG_ERROR => {
                            let error = ErrorBuffer::new_checked(payload).map_err(invalid)?;
                            return match error.code() {
                                None => Ok((replies, interrupted)),
                                Some(code) => Err(nack(
                                    code.get(),
                                    acked_tlvs(reply.flags(), error.payload()),
                                )),
                            };
                        }
                        // A dump ends with DONE, not an ack; its code reports a failure
                        // met halfway through.
                        NLMSG_DONE if dump => {
                            if let Ok(done) = DoneBuffer::new_checked(payload) {
                                if done.code() < 0 {
                                    let tlvs = if reply.flags() & NLM_F_ACK_TLVS != 0 {
                                        done.extended_ack()
                                    } else {
                                        &[]
                                    };
                                    return Err(nack(done.code(), tlvs));
                                }
                            }
                            return Ok((replies, interrupted));
                        }
                        NLMSG_DONE => {}
                        NLMSG_OVERRUN => {
                            return Err(invalid("the kernel reported a netlink overrun").into());
                        }
                        kind => {
                            interrupted |= reply.flags() & NLM_F_DUMP_INTR != 0;
                            replies.push(Reply {
                                kind,
                                payload: payload.to_vec(),
                            });
                        }
                    }
                }
                rest = rest.get(align(length)..).unwrap_or_default();
            }
        }
    }

    fn send(&self, buf: &[u8]) -> io::Result<()> {
        loop {
            match self.socket.send(buf, 0) {
                Ok(sent) if sent == buf.len() => return Ok(()),
                Ok(_) => return Err(invalid("short write on the netlink socket")),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn recv(&self) -> io::Result<Vec<u8>> {
        loop {
            match self.socket.recv_from_full() {
                Ok((buf, _)) => return Ok(buf),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

fn nack(code: i32, tlvs: &[u8]) -> Failure {
    let detail = attributes(tlvs)
        .find(|&(kind, _)| kind == NLMSGERR_ATTR_MSG)
        .map(|(_, value)| string(value))
        .filter(|message| !message.is_empty());
    Failure {
        source: io::Error::from_raw_os_error(code.saturating_neg()),
        detail,
    }
}

/// The extended-ack attributes of an NLMSG_ERROR payload (after its code): they follow
/// the echoed request, which is just its header when the ack was capped.
fn acked_tlvs(flags: u16, echoed: &[u8]) -> &[u8] {
    if flags & NLM_F_ACK_TLVS == 0 {
        return &[];
    }
    let skip = if flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        NetlinkBuffer::new_checked(echoed).map_or(echoed.len(), |m| align(m.length() as usize))
    };
    echoed.get(skip..).unwrap_or_default()
}

fn invalid(error: impl fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed netlink reply: {error}"),
    )
}

fn align(length: usize) -> usize {
    length.saturating_add(3) & !3
}

/// The attributes in `buf` as (type, value); stops at the first malformed one rather
/// than trusting a length that runs past the buffer.
pub(super) fn attributes(buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        let length = usize::from(u16::from_ne_bytes(rest.get(0..2)?.try_into().ok()?));
        let kind = u16::from_ne_bytes(rest.get(2..4)?.try_into().ok()?) & NLA_TYPE_MASK;
        let value = rest.get(4..length)?;
        rest = rest.get(align(length)..).unwrap_or_default();
        Some((kind, value))
    })
}

pub(super) fn u32_value(value: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(value.get(..4)?.try_into().ok()?))
}

/// A NUL-terminated attribute string (names, messages), lossily: names the kernel hands
/// back are bytes, and a non-UTF-8 one is simply not one of berth's.
pub(super) fn string(value: &[u8]) -> String {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    String::from_utf8_lossy(&value[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_attributes_walk_stops_at_truncation() {
        // IFLA_IFNAME "eth0\0" (padded to 12), then an attribute claiming 32 bytes in 8.
        let mut buf = vec![9, 0, 3, 0, b'e', b't', b'h', b'0', 0, 0, 0, 0];
        buf.extend_from_slice(&[32, 0, 4, 0, 0xdc, 5, 0, 0]);
        let found: Vec<_> = attributes(&buf).collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 3);
        assert_eq!(string(found[0].1), "eth0");
    }

    #[test]
    fn link_failure_keeps_kind_and_errno() {
        let failure = nack(-libc::EEXIST, &[]);
        assert_eq!(failure.errno(), Some(libc::EEXIST));
        let error = failure.context("creating bridge br-abc".into());
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert!(
            error
                .to_string()
                .starts_with("creating bridge br-abc: File exists"),
            "{error}"
        );
        let source = std::error::Error::source(error.get_ref().unwrap()).unwrap();
        let errno = source.downcast_ref::<io::Error>().unwrap().raw_os_error();
        assert_eq!(errno, Some(libc::EEXIST));
    }

    #[test]
    fn link_extended_ack_message_is_reported() {
        // A capped ack: the echoed request header, then NLMSGERR_ATTR_MSG "Unknown device type".
        let mut echoed = vec![0u8; NLMSG_HDRLEN];
        let message = b"Unknown device type\0";
        echoed.extend_from_slice(&((4 + message.len()) as u16).to_ne_bytes());
        echoed.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        echoed.extend_from_slice(message);
        let tlvs = acked_tlvs(NLM_F_CAPPED | NLM_F_ACK_TLVS, &echoed);
        let error = nack(-libc::EOPNOTSUPP, tlvs).context("creating veth pair a/b".into());
        assert!(
            error.to_string().ends_with("(Unknown device type)"),
            "{error}"
        );
    }
}
