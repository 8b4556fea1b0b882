//! Link and address setup over rtnetlink, in the network namespace a [`Netlink`] socket
//! was opened in: bridges, veth pairs, addresses, the default route, and the lookups
//! that go with them. [`in_netns`] is how a caller reaches the container's side.
//!
//! Synchronous on purpose: the per-container monitor is single-threaded and must stay
//! small, so this is one blocking socket and one acked request at a time, no runtime.
//!
//! What it must never do: run `ip` or any other subprocess (the host need not have one,
//! its output is not an interface, and a fork per step is no way to stay small); decide
//! anything (names, addresses and MTUs all come from the caller); or touch a link it was
//! not named or indexed to act on. Sweeping leftovers stays the caller's decision:
//! [`Netlink::links_with_prefix`] only lists.

mod rtnl;
#[cfg(test)]
mod tests;

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeader, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkExtentMask, LinkFlags, LinkHeader, LinkInfo,
    LinkMessage,
};
use netlink_packet_route::route::{
    RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rustix::fs::{Mode, OFlags};
use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

use rtnl::{attributes, string, u32_value, Context, Failure, Reply, Rtnl};

/// `IFNAMSIZ` counts the terminating NUL.
const MAX_NAME_LEN: usize = 15;
/// What the kernel assumes of an Ethernet link, and Docker's default.
const DEFAULT_MTU: u32 = 1500;

// Reply parsing reads raw attributes (see rtnl); these are their uapi numbers.
const RTM_NEWLINK: u16 = 16;
const RTM_NEWROUTE: u16 = 24;
/// `sizeof(struct ifinfomsg)`.
const IFINFOMSG_LEN: usize = 16;
/// `sizeof(struct rtmsg)`.
const RTMSG_LEN: usize = 12;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const RTA_OIF: u16 = 4;
const RTA_PRIORITY: u16 = 6;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;

/// An rtnetlink socket in the network namespace current when it was opened.
///
/// It stays in that namespace whatever the thread does afterwards, so one opened inside
/// [`in_netns`] can be kept and used from outside.
pub struct Netlink {
    rtnl: Rtnl,
}

/// What berth reads back about a link.
struct Link {
    index: u32,
    name: String,
    mtu: Option<u32>,
}

impl Netlink {
    pub fn open() -> io::Result<Netlink> {
        let rtnl = Rtnl::open().context(|| "opening an rtnetlink socket".into())?;
        Ok(Netlink { rtnl })
    }

    pub fn link_index(&mut self, name: &str) -> io::Result<Option<u32>> {
        let what = || format!("looking up link {name}");
        check_name(name).context(what)?;
        Ok(self
            .link_by_name(name)
            .context(what)?
            .map(|link| link.index))
    }

    /// Creates a bridge and returns its ifindex. An existing link of that name is an
    /// error of kind `AlreadyExists`: whether to reuse it is the caller's call.
    pub fn add_bridge(&mut self, name: &str, mtu: Option<u32>) -> io::Result<u32> {
        let what = || format!("creating bridge {name}");
        check_name(name).context(what)?;
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(name.into()));
        message.attributes.extend(mtu.map(LinkAttribute::Mtu));
        message
            .attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        self.create(message).context(what)?;
        // The kernel only echoes the new link on request, and not on older kernels: ask.
        match self.link_by_name(name).context(what)? {
            Some(link) => Ok(link.index),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "it vanished once created",
            ))
            .context(what),
        }
    }

    /// Creates a veth pair: `host` here, `peer` directly inside the network namespace
    /// `peer_netns` (never passing through this one, so its name cannot clash here), with
    /// the given MTU on both ends. Both ends start down.
    pub fn add_veth(
        &mut self,
        host: &str,
        peer: &str,
        peer_netns: BorrowedFd<'_>,
        mtu: Option<u32>,
    ) -> io::Result<()> {
        let what = || format!("creating veth pair {host} (peer {peer} in another namespace)");
        check_name(host).context(what)?;
        check_name(peer).context(what)?;
        let mut peer_message = LinkMessage::default();
        peer_message
            .attributes
            .push(LinkAttribute::IfName(peer.into()));
        peer_message.attributes.extend(mtu.map(LinkAttribute::Mtu));
        peer_message
            .attributes
            .push(LinkAttribute::NetNsFd(peer_netns.as_raw_fd()));
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(host.into()));
        message.attributes.extend(mtu.map(LinkAttribute::Mtu));
        message.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_message))),
        ]));
        self.create(message).context(what)
    }

    /// Enslaves link `index` to the bridge `master`.
    pub fn set_master(&mut self, index: u32, master: u32) -> io::Result<()> {
        self.set_link(index, |m| {
            m.attributes.push(LinkAttribute::Controller(master))
        })
        .context(|| format!("attaching link {index} to bridge {master}"))
    }

    pub fn set_up(&mut self, index: u32) -> io::Result<()> {
        self.set_link(index, |m| {
            m.header.flags = LinkFlags::Up;
            m.header.change_mask = LinkFlags::Up;
        })
        .context(|| format!("bringing link {index} up"))
    }

    /// Most drivers refuse this on a link that is up: set it before [`Netlink::set_up`].
    pub fn set_mac(&mut self, index: u32, mac: [u8; 6]) -> io::Result<()> {
        self.set_link(index, |m| {
            m.attributes.push(LinkAttribute::Address(mac.to_vec()))
        })
        .context(|| format!("setting the MAC address of link {index}"))
    }

    /// Older kernels refuse (EBUSY) to rename a link that is up: rename before
    /// [`Netlink::set_up`].
    pub fn rename(&mut self, index: u32, name: &str) -> io::Result<()> {
        let what = || format!("renaming link {index} to {name}");
        check_name(name).context(what)?;
        self.set_link(index, |m| {
            m.attributes.push(LinkAttribute::IfName(name.into()))
        })
        .context(what)
    }

    /// Deletes the link named `name`; a missing one is fine, so that teardown can be
    /// repeated after a crash. Deleting either end of a veth pair deletes both.
    pub fn del_link(&mut self, name: &str) -> io::Result<()> {
        let what = || format!("deleting link {name}");
        check_name(name).context(what)?;
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(name.into()));
        match self.rtnl.request(RouteNetlinkMessage::DelLink(message), 0) {
            Err(failure) if failure.errno() == Some(libc::ENODEV) => Ok(()),
            result => result.map(drop).context(what),
        }
    }

    /// Adds `addr/prefix_len` to link `index`. IPv6 addresses skip duplicate address
    /// detection: they come from berth's own allocator for a bridge only berth manages,
    /// and a tentative address would leave the container unable to use it for a second
    /// or two after it starts.
    pub fn add_address(&mut self, index: u32, addr: IpAddr, prefix_len: u8) -> io::Result<()> {
        let what = || format!("adding address {addr}/{prefix_len} to link {index}");
        let max_len = if addr.is_ipv4() { 32 } else { 128 };
        if prefix_len > max_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "prefix length out of range",
            ))
            .context(what);
        }
        let mut message = AddressMessage::default();
        message.header = AddressHeader {
            family: family(addr),
            prefix_len,
            flags: AddressHeaderFlags::empty(),
            scope: AddressScope::Universe,
            index,
        };
        message.attributes.push(AddressAttribute::Local(addr));
        message.attributes.push(AddressAttribute::Address(addr));
        match addr {
            // As `ip addr add ... brd +` would: without it, broadcasts on the subnet
            // (some DHCP-less discovery, ARP-less tools) go nowhere.
            IpAddr::V4(v4) if prefix_len < 31 => {
                let host_bits = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
                let broadcast = Ipv4Addr::from(u32::from(v4) | host_bits);
                message
                    .attributes
                    .push(AddressAttribute::Broadcast(broadcast));
            }
            IpAddr::V4(_) => {}
            IpAddr::V6(_) => {
                message.header.flags = AddressHeaderFlags::Nodad;
                message
                    .attributes
                    .push(AddressAttribute::Flags(AddressFlags::Nodad));
            }
        }
        self.rtnl
            .request(
                RouteNetlinkMessage::NewAddress(message),
                NLM_F_CREATE | NLM_F_EXCL,
            )
            .map(drop)
            .context(what)
    }

    /// Adds the default route of `gateway`'s family via `gateway`, in the main table. The
    /// gateway must already be reachable on a link that is up (an address in its subnet).
    pub fn add_default_route(&mut self, gateway: IpAddr) -> io::Result<()> {
        let mut message = RouteMessage::default();
        message.header = RouteHeader {
            address_family: family(gateway),
            table: RouteHeader::RT_TABLE_MAIN,
            // What `ip route add` records: a route configured by the administrator.
            protocol: RouteProtocol::Boot,
            scope: RouteScope::Universe,
            kind: RouteType::Unicast,
            ..RouteHeader::default()
        };
        message
            .attributes
            .push(RouteAttribute::Gateway(gateway.into()));
        self.rtnl
            .request(
                RouteNetlinkMessage::NewRoute(message),
                NLM_F_CREATE | NLM_F_EXCL,
            )
            .map(drop)
            .context(|| format!("adding the default route via {gateway}"))
    }

    /// The MTU of the link named `name`, `None` if there is no such link.
    pub fn mtu(&mut self, name: &str) -> io::Result<Option<u32>> {
        let what = || format!("reading the MTU of link {name}");
        check_name(name).context(what)?;
        Ok(self
            .link_by_name(name)
            .context(what)?
            .and_then(|link| link.mtu))
    }

    /// The MTU of the link that carries the default IPv4 route (the one with the lowest
    /// metric), or 1500 if there is none: a bridge's veths should not be wider than the
    /// way out.
    pub fn default_route_mtu(&mut self) -> io::Result<u32> {
        let what = || "finding the MTU of the default route".to_string();
        let mut request = RouteMessage::default();
        request.header.address_family = AddressFamily::Inet;
        let replies = self
            .rtnl
            .dump(RouteNetlinkMessage::GetRoute(request))
            .context(what)?;
        let Some(oif) = default_route_oif(&replies) else {
            return Ok(DEFAULT_MTU);
        };
        let link = self.link_by_index(oif).context(what)?;
        Ok(link.and_then(|link| link.mtu).unwrap_or(DEFAULT_MTU))
    }

    /// Names of the links whose name starts with `prefix`, in ifindex order.
    pub fn links_with_prefix(&mut self, prefix: &str) -> io::Result<Vec<String>> {
        let replies = self
            .rtnl
            .dump(RouteNetlinkMessage::GetLink(link_request()))
            .context(|| format!("listing links named {prefix}*"))?;
        let mut links: Vec<Link> = replies.iter().filter_map(parse_link).collect();
        links.sort_by_key(|link| link.index);
        Ok(links
            .into_iter()
            .map(|link| link.name)
            .filter(|name| name.starts_with(prefix))
            .collect())
    }

    fn create(&mut self, message: LinkMessage) -> Result<(), Failure> {
        // EXCL: an existing link of the same name is never silently adopted.
        let flags = NLM_F_CREATE | NLM_F_EXCL;
        self.rtnl
            .request(RouteNetlinkMessage::NewLink(message), flags)
            .map(drop)
    }

    fn set_link(&mut self, index: u32, edit: impl FnOnce(&mut LinkMessage)) -> Result<(), Failure> {
        let mut message = LinkMessage::default();
        message.header.index = index;
        edit(&mut message);
        self.rtnl
            .request(RouteNetlinkMessage::SetLink(message), 0)
            .map(drop)
    }

    fn link_by_name(&mut self, name: &str) -> Result<Option<Link>, Failure> {
        let mut message = link_request();
        message.attributes.push(LinkAttribute::IfName(name.into()));
        self.get_link(message)
    }

    fn link_by_index(&mut self, index: u32) -> Result<Option<Link>, Failure> {
        let mut message = link_request();
        message.header.index = index;
        self.get_link(message)
    }

    fn get_link(&mut self, message: LinkMessage) -> Result<Option<Link>, Failure> {
        match self.rtnl.request(RouteNetlinkMessage::GetLink(message), 0) {
            Ok(replies) => Ok(replies.iter().find_map(parse_link)),
            Err(failure) if failure.errno() == Some(libc::ENODEV) => Ok(None),
            Err(failure) => Err(failure),
        }
    }
}

/// Runs `f` with the calling thread in the network namespace `netns`, then moves the
/// thread back to the one it was in. Network namespaces are per thread, so other threads
/// never see the switch.
///
/// If `f` panics the thread is still moved back while unwinding. If moving back fails the
/// error says so and the thread is left in `netns`: the caller must not carry on there.
pub fn in_netns<T>(netns: BorrowedFd<'_>, f: impl FnOnce() -> T) -> io::Result<T> {
    let original = rustix::fs::open(
        "/proc/thread-self/ns/net",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io::Error::from)
    .context(|| "opening the current network namespace".into())?;
    move_into_link_name_space(netns, Some(LinkNameSpaceType::Network))
        .map_err(io::Error::from)
        .context(|| "entering a network namespace".into())?;
    let mut guard = Return(Some(original));
    let value = f();
    guard
        .now()
        .context(|| "returning to the original network namespace".into())?;
    Ok(value)
}

/// Moves the thread back to its namespace, on the normal path through [`Return::now`]
/// (which can report failure) and on a panic through Drop (which cannot).
struct Return(Option<OwnedFd>);

impl Return {
    fn now(&mut self) -> io::Result<()> {
        match self.0.take() {
            Some(fd) => Ok(move_into_link_name_space(
                fd.as_fd(),
                Some(LinkNameSpaceType::Network),
            )?),
            None => Ok(()),
        }
    }
}

impl Drop for Return {
    fn drop(&mut self) {
        let _ = self.now();
    }
}

/// A MAC address derived from an IPv4 address as Docker does (02:42:a.b.c.d): locally
/// administered, unicast, and stable across restarts of the same container address.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let [a, b, c, d] = ip.octets();
    [0x02, 0x42, a, b, c, d]
}

/// The kernel's own rules for interface names (`dev_valid_name`), checked here so a bad
/// name is reported as such rather than as a bare EINVAL, and so a long name is never
/// silently truncated somewhere along the way.
fn check_name(name: &str) -> io::Result<()> {
    let problem = if name.is_empty() {
        "the name is empty"
    } else if name.len() > MAX_NAME_LEN {
        "the name is longer than 15 bytes"
    } else if name == "." || name == ".." {
        "the name is . or .."
    } else if name
        .bytes()
        .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace())
    {
        "the name contains '/', ':', a NUL or whitespace"
    } else {
        return Ok(());
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("invalid interface name {name:?}: {problem}"),
    ))
}

fn family(addr: IpAddr) -> AddressFamily {
    match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// A link GET or dump without statistics, which berth never reads and which make up most
/// of each reply.
fn link_request() -> LinkMessage {
    let mut message = LinkMessage::default();
    message
        .attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    message
}

fn parse_link(reply: &Reply) -> Option<Link> {
    if reply.kind != RTM_NEWLINK {
        return None;
    }
    let header = LinkHeader::parse(&reply.payload).ok()?;
    let mut name = None;
    let mut mtu = None;
    for (kind, value) in attributes(reply.payload.get(IFINFOMSG_LEN..)?) {
        match kind {
            IFLA_IFNAME => name = Some(string(value)),
            IFLA_MTU => mtu = u32_value(value),
            _ => {}
        }
    }
    Some(Link {
        index: header.index,
        name: name?,
        mtu,
    })
}

/// The output interface of the main table's IPv4 default route with the lowest metric.
fn default_route_oif(replies: &[Reply]) -> Option<u32> {
    let mut best: Option<(u32, u32)> = None;
    for reply in replies.iter().filter(|reply| reply.kind == RTM_NEWROUTE) {
        let Ok(header) = RouteHeader::parse(&reply.payload) else {
            continue;
        };
        if header.address_family != AddressFamily::Inet
            || header.destination_prefix_length != 0
            || header.kind != RouteType::Unicast
        {
            continue;
        }
        let mut table = u32::from(header.table);
        let mut oif = None;
        let mut priority = 0;
        let Some(attrs) = reply.payload.get(RTMSG_LEN..) else {
            continue;
        };
        for (kind, value) in attributes(attrs) {
            match kind {
                // The header's table is a u8; tables past 255 are only in RTA_TABLE.
                RTA_TABLE => table = u32_value(value).unwrap_or(table),
                RTA_OIF => oif = u32_value(value),
                RTA_PRIORITY => priority = u32_value(value).unwrap_or(0),
                // struct rtnexthop { u16 len; u8 flags; u8 hops; int ifindex; }: the
                // first hop stands for an ECMP default route.
                RTA_MULTIPATH if oif.is_none() => oif = value.get(4..8).and_then(u32_value),
                _ => {}
            }
        }
        if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
            continue;
        }
        if let Some(oif) = oif.filter(|&oif| oif != 0) {
            if best.is_none_or(|(_, best_priority)| priority < best_priority) {
                best = Some((oif, priority));
            }
        }
    }
    best.map(|(oif, _)| oif)
}
