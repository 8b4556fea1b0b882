//! Published ports: parsing `-p`, binding the host sockets, and the userland proxy that
//! moves traffic between those sockets and the container.
//!
//! The proxy runs inside each container's monitor, a single-threaded process driven by
//! poll(2) that must stay small. So this module owns: the host sockets it is handed (one
//! per published port), the TCP connections accepted on them with their connections to
//! the container, and the UDP flows (one connected socket per client address). TCP bytes
//! move with splice(2) through one pipe per direction, never through a user buffer; UDP
//! datagrams go through one shared 64 KiB buffer.
//!
//! It must never block: every descriptor is non-blocking and [`Proxy::after_poll`] only
//! does what poll reported ready. It must never bind an address it was not given: the
//! monitor binds exactly the host address of each [`Binding`] (IPv6 sockets are
//! v6-only, so `[::]` does not also take IPv4), and the proxy binds nothing itself. It
//! starts no threads and knows nothing of containers: the engine hands it sockets and
//! target addresses.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketFlags, SocketType};

mod parse;
mod proxy;
#[cfg(test)]
mod tests;

pub use parse::parse_publish;
pub use proxy::{Proxy, MAX_CONNECTIONS, MAX_FLOWS, UDP_TIMEOUT};

/// Transport protocol of a published port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        })
    }
}

/// One published port: the host side as the user gave it, and the container side.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Binding {
    pub proto: Proto,
    /// The host address to listen on; `0.0.0.0` is every IPv4 address of the host and
    /// `::` every IPv6 one.
    pub host_ip: IpAddr,
    /// 0 asks for an ephemeral port; [`bind`] returns the one the kernel chose.
    pub host_port: u16,
    pub container_port: u16,
}

impl Binding {
    /// The host address and port to bind.
    pub fn host_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host_ip, self.host_port)
    }
}

impl fmt::Display for Binding {
    /// Docker's `ps` form: `127.0.0.1:8080->80/tcp`, `[::1]:8080->80/udp`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}->{}/{}",
            self.host_addr(),
            self.container_port,
            self.proto
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("invalid port publication {spec:?}: {reason}")]
    Spec { spec: String, reason: String },
    #[error(
        "cannot publish {addr}/{proto}: that port is already in use on this host; stop \
         whatever holds it or choose another host port ({hint} lets berth choose a free one)"
    )]
    InUse {
        addr: SocketAddr,
        proto: Proto,
        hint: String,
    },
    #[error("cannot publish {addr}/{proto}: {ip} is not an address of this host", ip = addr.ip())]
    NotLocal { addr: SocketAddr, proto: Proto },
    #[error("cannot publish {addr}/{proto}: {what}: {source}")]
    Io {
        addr: SocketAddr,
        proto: Proto,
        what: &'static str,
        source: io::Error,
    },
}

/// Queue of connections the kernel completes before the proxy accepts them; the kernel
/// clamps it to net.core.somaxconn.
const LISTEN_BACKLOG: i32 = 1024;

/// Binds the host socket for `b`: listening for TCP, ready for datagrams for UDP, both
/// non-blocking and close-on-exec. Returns the socket and the address really bound (the
/// ephemeral port filled in).
///
/// TCP sockets get SO_REUSEADDR so that a restarted container can take its port back
/// while old connections sit in TIME_WAIT; on Linux that still refuses a port another
/// socket listens on, so a taken port is reported as [`PortError::InUse`].
pub fn bind(b: &Binding) -> Result<(OwnedFd, SocketAddr), PortError> {
    // An IPv4-mapped address on a v6-only socket would bind nothing useful: bind the
    // IPv4 address it stands for.
    let ip = match b.host_ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let addr = SocketAddr::new(ip, b.host_port);
    let io_err = |what: &'static str| {
        move |e: Errno| PortError::Io {
            addr,
            proto: b.proto,
            what,
            source: io::Error::from(e),
        }
    };
    let family = if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let kind = match b.proto {
        Proto::Tcp => SocketType::STREAM,
        Proto::Udp => SocketType::DGRAM,
    };
    let fd = rustix::net::socket_with(
        family,
        kind,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )
    .map_err(io_err("creating the socket"))?;
    if addr.is_ipv6() {
        // Linux defaults to dual-stack: `[::]` would also take every IPv4 address, which
        // the user did not ask for (and which would collide with a separate 0.0.0.0
        // publication of the same port).
        rustix::net::sockopt::set_ipv6_v6only(&fd, true).map_err(io_err("setting IPV6_V6ONLY"))?;
    }
    // Not for UDP: there it lets a second socket bind the same port without an error,
    // and the two would split the datagrams between them.
    if b.proto == Proto::Tcp {
        rustix::net::sockopt::set_socket_reuseaddr(&fd, true)
            .map_err(io_err("setting SO_REUSEADDR"))?;
    }
    rustix::net::bind(&fd, &addr).map_err(|e| match e {
        Errno::ADDRINUSE => PortError::InUse {
            addr,
            proto: b.proto,
            hint: ephemeral_hint(b),
        },
        Errno::ADDRNOTAVAIL => PortError::NotLocal {
            addr,
            proto: b.proto,
        },
        e => io_err("binding")(e),
    })?;
    if b.proto == Proto::Tcp {
        rustix::net::listen(&fd, LISTEN_BACKLOG).map_err(|e| match e {
            // Two SO_REUSEADDR sockets may bind the same port; the second listen loses.
            Errno::ADDRINUSE => PortError::InUse {
                addr,
                proto: b.proto,
                hint: ephemeral_hint(b),
            },
            e => io_err("listening")(e),
        })?;
    }
    let local = rustix::net::getsockname(&fd)
        .map_err(io_err("reading the bound address"))
        .and_then(|a| {
            SocketAddr::try_from(a)
                .map_err(|_| io_err("reading the bound address")(Errno::AFNOSUPPORT))
        })?;
    Ok((fd, local))
}

/// The `-p` value that publishes the same container port on an ephemeral host port.
fn ephemeral_hint(b: &Binding) -> String {
    let proto = match b.proto {
        Proto::Tcp => String::new(),
        Proto::Udp => "/udp".into(),
    };
    match b.host_ip {
        IpAddr::V4(ip) if ip.is_unspecified() => format!("-p {}{proto}", b.container_port),
        IpAddr::V4(ip) => format!("-p {ip}::{}{proto}", b.container_port),
        IpAddr::V6(ip) => format!("-p [{ip}]::{}{proto}", b.container_port),
    }
}
