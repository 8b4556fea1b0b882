//! These run as root against the real kernel, and only ever inside network namespaces
//! they create: every link-touching step happens on a thread that has unshared its own
//! namespace (checked to differ from the process's before anything runs), or inside a
//! namespace created the same way and entered through `in_netns`.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr as IpSocketAddr, UdpSocket};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::panic::{self, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

use netlink_packet_core::Parseable;
use netlink_packet_route::address::AddressMessage;

use super::*;

const IFLA_ADDRESS: u16 = 1;
const IFLA_MASTER: u16 = 10;
const RTA_GATEWAY: u16 = 5;
const RTM_NEWADDR: u16 = 20;

const HOST_GW: Ipv4Addr = Ipv4Addr::new(10, 199, 1, 1);
const CONTAINER_IP: Ipv4Addr = Ipv4Addr::new(10, 199, 1, 2);
/// On the host side only, so the container reaches it through its default route alone.
const BEYOND_GW: Ipv4Addr = Ipv4Addr::new(10, 199, 2, 1);

fn netns_inode() -> u64 {
    fs::metadata("/proc/thread-self/ns/net").unwrap().ino()
}

/// Runs `f` on a new thread that first moves into a new, empty network namespace.
fn in_fresh_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let handle = thread::spawn(move || {
        // /proc/self is the thread group leader, which no test ever moves.
        let process_netns = fs::metadata("/proc/self/ns/net").unwrap().ino();
        // `unshare` is deprecated for CLONE_FILES' sake (descriptors shared across
        // threads); CLONE_NEWNET alone carries no such hazard.
        #[allow(deprecated)]
        rustix::thread::unshare(rustix::thread::UnshareFlags::NEWNET)
            .expect("unshare(CLONE_NEWNET)");
        assert_ne!(
            netns_inode(),
            process_netns,
            "refusing to run in the host's namespace"
        );
        f()
    });
    handle
        .join()
        .unwrap_or_else(|payload| panic::resume_unwind(payload))
}

/// A new network namespace kept alive by a descriptor, the "container" side.
fn fresh_netns() -> OwnedFd {
    in_fresh_netns(|| {
        rustix::fs::open(
            "/proc/thread-self/ns/net",
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap()
    })
}

fn link_reply(nl: &mut Netlink, index: u32) -> Reply {
    let mut message = link_request();
    message.header.index = index;
    let replies = nl
        .rtnl
        .request(RouteNetlinkMessage::GetLink(message), 0)
        .unwrap();
    replies
        .into_iter()
        .find(|reply| reply.kind == RTM_NEWLINK)
        .unwrap()
}

fn link_attribute(nl: &mut Netlink, index: u32, kind: u16) -> Option<Vec<u8>> {
    let reply = link_reply(nl, index);
    let found = attributes(&reply.payload[IFINFOMSG_LEN..]).find(|&(k, _)| k == kind);
    found.map(|(_, value)| value.to_vec())
}

fn is_up(nl: &mut Netlink, index: u32) -> bool {
    let reply = link_reply(nl, index);
    LinkHeader::parse(&reply.payload)
        .unwrap()
        .flags
        .contains(LinkFlags::Up)
}

#[test]
fn link_mac_for_follows_docker() {
    assert_eq!(
        mac_for(Ipv4Addr::new(172, 17, 0, 2)),
        [0x02, 0x42, 172, 17, 0, 2]
    );
}

#[test]
fn link_bad_names_are_refused_before_the_kernel_sees_them() {
    in_fresh_netns(|| {
        let mut nl = Netlink::open().unwrap();
        let long = "sixteen-chars-xx";
        let bad = [long, "", ".", "..", "a/b", "a:b", "a b", "a\0b"];
        let container = fresh_netns();
        for name in bad {
            let errors = [
                nl.add_bridge(name, None).map(drop),
                nl.add_veth("vh-ok", name, container.as_fd(), None),
                nl.add_veth(name, "peer-ok", container.as_fd(), None),
                nl.rename(1, name),
                nl.del_link(name),
                nl.link_index(name).map(drop),
                nl.mtu(name).map(drop),
            ];
            for error in errors {
                let error = error.unwrap_err();
                assert_eq!(
                    error.kind(),
                    io::ErrorKind::InvalidInput,
                    "{name:?}: {error}"
                );
                assert!(
                    error.to_string().contains("invalid interface name"),
                    "{error}"
                );
            }
        }
        // Nothing reached the kernel truncated, nor anything else at all.
        assert_eq!(nl.links_with_prefix("").unwrap(), ["lo"]);
        assert_eq!(nl.link_index(&long[..15]).unwrap(), None);
        let error = nl.add_bridge(long, None).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("creating bridge sixteen-chars-xx: "),
            "{error}"
        );
        // Fifteen bytes is the limit, not one less.
        nl.add_bridge(&long[..15], None).unwrap();
    });
}

#[test]
fn link_bridge_create_exists_delete() {
    in_fresh_netns(|| {
        let mut nl = Netlink::open().unwrap();
        let index = nl.add_bridge("br-t0", Some(1400)).unwrap();
        assert_eq!(nl.link_index("br-t0").unwrap(), Some(index));
        assert_eq!(nl.mtu("br-t0").unwrap(), Some(1400));

        let error = nl.add_bridge("br-t0", None).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert!(
            error
                .to_string()
                .starts_with("creating bridge br-t0: File exists"),
            "{error}"
        );

        let plain = nl.add_bridge("br-t1", None).unwrap();
        assert_ne!(plain, index);
        assert_eq!(nl.mtu("br-t1").unwrap(), Some(1500));

        nl.del_link("br-t0").unwrap();
        assert_eq!(nl.link_index("br-t0").unwrap(), None);
        assert_eq!(nl.mtu("br-t0").unwrap(), None);
        nl.del_link("br-t0").unwrap();
        nl.del_link("never-was").unwrap();
        assert_eq!(nl.link_index("br-t1").unwrap(), Some(plain));
    });
}

#[test]
fn link_links_with_prefix_lists_only_matches() {
    let container = fresh_netns();
    in_fresh_netns(move || {
        let mut nl = Netlink::open().unwrap();
        nl.add_bridge("sweep-b", None).unwrap();
        nl.add_bridge("other0", None).unwrap();
        nl.add_bridge("sweep-a", None).unwrap();
        nl.add_veth("sweep-v", "peer-sweep", container.as_fd(), None)
            .unwrap();
        assert_eq!(
            nl.links_with_prefix("sweep-").unwrap(),
            ["sweep-b", "sweep-a", "sweep-v"]
        );
        assert_eq!(nl.links_with_prefix("").unwrap().len(), 5);
        assert!(nl.links_with_prefix("nothing").unwrap().is_empty());

        let peers = in_netns(container.as_fd(), || {
            Netlink::open().unwrap().links_with_prefix("peer-").unwrap()
        });
        assert_eq!(peers.unwrap(), ["peer-sweep"]);

        // Deleting the host end takes the container end with it.
        nl.del_link("sweep-v").unwrap();
        let peer = in_netns(container.as_fd(), || {
            Netlink::open().unwrap().link_index("peer-sweep").unwrap()
        });
        assert_eq!(peer.unwrap(), None);
        assert_eq!(
            nl.links_with_prefix("sweep-").unwrap(),
            ["sweep-b", "sweep-a"]
        );
    });
}

#[test]
fn link_default_route_mtu() {
    in_fresh_netns(|| {
        let mut nl = Netlink::open().unwrap();
        assert_eq!(nl.default_route_mtu().unwrap(), 1500);
        let index = nl.add_bridge("br-up", Some(1400)).unwrap();
        nl.add_address(index, Ipv4Addr::new(10, 199, 3, 1).into(), 24)
            .unwrap();
        nl.set_up(index).unwrap();
        assert_eq!(nl.default_route_mtu().unwrap(), 1500);
        nl.add_default_route(Ipv4Addr::new(10, 199, 3, 254).into())
            .unwrap();
        assert_eq!(nl.default_route_mtu().unwrap(), 1400);

        let error = nl
            .add_default_route(Ipv4Addr::new(10, 199, 3, 253).into())
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists, "{error}");
        assert!(error
            .to_string()
            .starts_with("adding the default route via 10.199.3.253: "));
    });
}

#[test]
fn link_in_netns_returns_to_the_original_namespace() {
    in_fresh_netns(|| {
        let before = netns_inode();
        let other = fresh_netns();
        let other_inode = rustix::fs::fstat(&other).unwrap().st_ino;
        assert_ne!(other_inode, before);

        assert_eq!(in_netns(other.as_fd(), netns_inode).unwrap(), other_inode);
        assert_eq!(netns_inode(), before);

        let unwound = panic::catch_unwind(AssertUnwindSafe(|| {
            in_netns(other.as_fd(), || panic!("inside the other namespace"))
        }));
        assert!(unwound.is_err());
        assert_eq!(netns_inode(), before);

        // Not a namespace: nothing moves, and the error says what failed.
        let not_netns = fs::File::open("/proc/self/status").unwrap();
        let error = in_netns(not_netns.as_fd(), || ()).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("entering a network namespace: "),
            "{error}"
        );
        assert_eq!(netns_inode(), before);

        // A socket keeps the namespace it was opened in.
        let mut there = in_netns(other.as_fd(), Netlink::open).unwrap().unwrap();
        there.add_bridge("br-there", None).unwrap();
        let mut here = Netlink::open().unwrap();
        assert_eq!(here.link_index("br-there").unwrap(), None);
    });
}

#[test]
fn link_veth_into_container_carries_traffic() {
    let container = fresh_netns();
    in_fresh_netns(move || {
        let mut host = Netlink::open().unwrap();
        let bridge = host.add_bridge("br-t2", Some(1450)).unwrap();
        host.add_address(bridge, HOST_GW.into(), 24).unwrap();
        host.add_address(bridge, BEYOND_GW.into(), 24).unwrap();
        let error = host.add_address(bridge, HOST_GW.into(), 24).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists, "{error}");
        host.set_up(bridge).unwrap();

        // The peer is created in the container directly: a same-named link here is no clash.
        host.add_bridge("tmp-t2", None).unwrap();
        host.add_veth("vh-t2", "tmp-t2", container.as_fd(), Some(1450))
            .unwrap();
        let error = host
            .add_veth("vh-t2", "tmp-t3", container.as_fd(), None)
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists, "{error}");
        assert!(
            error.to_string().starts_with("creating veth pair vh-t2 "),
            "{error}"
        );
        host.del_link("tmp-t2").unwrap();

        let veth = host.link_index("vh-t2").unwrap().unwrap();
        assert_eq!(host.mtu("vh-t2").unwrap(), Some(1450));
        assert_eq!(host.link_index("tmp-t2").unwrap(), None);
        host.set_master(veth, bridge).unwrap();
        assert_eq!(
            link_attribute(&mut host, veth, IFLA_MASTER),
            Some(bridge.to_ne_bytes().to_vec())
        );
        assert!(!is_up(&mut host, veth));
        host.set_up(veth).unwrap();
        assert!(is_up(&mut host, veth));

        let mac = mac_for(CONTAINER_IP);
        let (mut inside, eth0, sock) = in_netns(container.as_fd(), || {
            let mut nl = Netlink::open().unwrap();
            let eth0 = nl
                .link_index("tmp-t2")
                .unwrap()
                .expect("the peer is in the container");
            assert_eq!(nl.mtu("tmp-t2").unwrap(), Some(1450));
            nl.rename(eth0, "eth0").unwrap();
            assert_eq!(nl.link_index("tmp-t2").unwrap(), None);
            assert_eq!(nl.link_index("eth0").unwrap(), Some(eth0));
            nl.set_mac(eth0, mac).unwrap();
            nl.add_address(eth0, CONTAINER_IP.into(), 24).unwrap();
            nl.set_up(eth0).unwrap();
            let lo = nl.link_index("lo").unwrap().unwrap();
            nl.set_up(lo).unwrap();
            nl.add_default_route(HOST_GW.into()).unwrap();
            // Opened here, so bound to the container's namespace wherever it is used.
            let sock = UdpSocket::bind((CONTAINER_IP, 0)).unwrap();
            (nl, eth0, sock)
        })
        .unwrap();
        assert_eq!(
            link_attribute(&mut inside, eth0, IFLA_ADDRESS),
            Some(mac.to_vec())
        );
        let error = inside.rename(eth0, "lo").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists, "{error}");
        assert!(error
            .to_string()
            .starts_with(&format!("renaming link {eth0} to lo: ")));

        // What the kernel now holds in the container.
        let mut request = AddressMessage::default();
        request.header.family = AddressFamily::Inet;
        let replies = inside
            .rtnl
            .dump(RouteNetlinkMessage::GetAddress(request))
            .unwrap();
        let addresses: Vec<_> = replies
            .iter()
            .filter(|reply| reply.kind == RTM_NEWADDR)
            .map(|reply| AddressMessage::parse(&reply.payload).unwrap())
            .filter(|message| message.header.index == eth0)
            .collect();
        assert_eq!(addresses.len(), 1);
        assert_eq!(addresses[0].header.prefix_len, 24);
        assert!(addresses[0]
            .attributes
            .contains(&AddressAttribute::Local(CONTAINER_IP.into())));
        let broadcast = AddressAttribute::Broadcast(Ipv4Addr::new(10, 199, 1, 255));
        assert!(addresses[0].attributes.contains(&broadcast));

        let mut request = RouteMessage::default();
        request.header.address_family = AddressFamily::Inet;
        let routes = inside
            .rtnl
            .dump(RouteNetlinkMessage::GetRoute(request))
            .unwrap();
        assert_eq!(default_route_oif(&routes), Some(eth0));
        let gateway = routes.iter().find_map(|reply| {
            let header = RouteHeader::parse(&reply.payload).ok()?;
            (header.destination_prefix_length == 0).then_some(())?;
            attributes(&reply.payload[RTMSG_LEN..])
                .find(|&(kind, _)| kind == RTA_GATEWAY)
                .map(|(_, value)| value.to_vec())
        });
        assert_eq!(gateway, Some(HOST_GW.octets().to_vec()));
        assert_eq!(inside.default_route_mtu().unwrap(), 1450);

        // Container to BEYOND_GW only works through the default route; the reply comes
        // back across the bridge.
        let outside = UdpSocket::bind((BEYOND_GW, 0)).unwrap();
        let target = outside.local_addr().unwrap();
        outside
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut buf = [0; 16];
        let deadline = Instant::now() + Duration::from_secs(10);
        let from: IpSocketAddr = loop {
            assert!(Instant::now() < deadline, "no datagram crossed the veth");
            // Resent until the bridge port forwards and ARP has resolved.
            sock.send_to(b"ping", target).unwrap();
            if let Ok((n, from)) = outside.recv_from(&mut buf) {
                assert_eq!(&buf[..n], b"ping");
                break from;
            }
        };
        assert_eq!(from, sock.local_addr().unwrap());
        outside.send_to(b"pong", from).unwrap();
        let (n, _) = sock.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"pong");

        // Teardown from the host side, twice.
        host.del_link("vh-t2").unwrap();
        host.del_link("vh-t2").unwrap();
        assert_eq!(inside.link_index("eth0").unwrap(), None);
    });
}
