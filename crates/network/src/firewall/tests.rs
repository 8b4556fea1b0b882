//! Tests of the firewall table.
//!
//! The rendering tests are pure. The others need root and a real kernel, and run `nft`
//! and `ip` ONLY inside network namespaces they create: an nftables ruleset belongs to
//! one network namespace, so a test that ran `nft` in the test process's own namespace
//! would rewrite the firewall of the machine running the tests. Every namespace here is
//! made by `unshare(CLONE_NEWNET)` in a throwaway thread and held by a descriptor; all
//! work in it happens in a thread that `setns`es into it and first checks it is not in
//! the original namespace (see [`Netns::run`]). Dropping the descriptor destroys the
//! namespace with its interfaces, so nothing outlives a test, even a failing one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};
use rustix::thread::{LinkNameSpaceType, UnshareFlags};

fn net(bridge: &str, subnet: &str, internal: bool) -> NetworkRules {
    NetworkRules {
        bridge: bridge.into(),
        subnet: subnet.into(),
        internal,
    }
}

// ----------------------------------------------------------------------------------
// Rendering (pure).

const SNAPSHOT: &str = r#"# berth's firewall table, generated from the list of networks and replaced as a whole.
add table inet berth-1a2b3c4d
delete table inet berth-1a2b3c4d
table inet berth-1a2b3c4d {
	set bridges {
		type ifname
		elements = { "berth0", "berth1", "berth2" }
	}

	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		iifname "berth1" oifname != "berth1" drop comment "internal network: no way out"
		oifname "berth1" iifname != "berth1" drop comment "internal network: no way in"
		iifname "berth0" oifname != "berth0" oifname @bridges drop comment "networks are isolated from each other"
		iifname "berth2" oifname != "berth2" oifname @bridges drop comment "networks are isolated from each other"
		iifname "berth0" oifname != "berth0" accept comment "egress"
		oifname "berth0" iifname != "berth0" ct state established,related accept comment "replies to egress"
		oifname "berth0" iifname != "berth0" drop comment "no connection into the network from outside"
		iifname "berth2" oifname != "berth2" accept comment "egress"
		oifname "berth2" iifname != "berth2" ct state established,related accept comment "replies to egress"
		oifname "berth2" iifname != "berth2" drop comment "no connection into the network from outside"
	}

	chain input {
		type filter hook input priority filter - 10; policy accept;
		iifname "berth1" ct state established,related accept comment "replies to connections the host opened"
		iifname "berth1" drop comment "internal network: the host is unreachable"
	}

	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.50.0.0/24 oifname != "berth0" masquerade comment "egress"
		ip6 saddr fd00:50::/64 oifname != "berth0" masquerade comment "egress"
		ip saddr 10.50.2.0/24 oifname != "berth2" masquerade comment "egress"
	}
}
"#;

fn snapshot_networks() -> Vec<NetworkRules> {
    vec![
        net("berth0", "10.50.0.0/24", false),
        net("berth1", "10.50.1.0/24", true),
        net("berth2", "10.50.2.0/24", false),
        // The second half of a dual-stack network.
        net("berth0", "fd00:50::/64", false),
    ]
}

#[test]
fn render_snapshot() {
    let text = render("berth-1a2b3c4d", &snapshot_networks()).unwrap();
    assert_eq!(text, SNAPSHOT, "got:\n{text}");
}

#[test]
fn render_ignores_order_duplicates_and_host_bits() {
    let mut shuffled = snapshot_networks();
    shuffled.reverse();
    shuffled.push(net("berth2", "10.50.2.77/24", false));
    shuffled[0].subnet = "fd00:50::1/64".into();
    assert_eq!(render("berth-1a2b3c4d", &shuffled).unwrap(), SNAPSHOT);
}

#[test]
fn render_empty_list_only_removes_the_table() {
    let text = render("berth-x", &[]).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines,
        ["add table inet berth-x", "delete table inet berth-x"]
    );
}

#[test]
fn render_single_network_has_no_isolation_set() {
    let text = render("t", &[net("br0", "10.50.0.0/24", false)]).unwrap();
    assert!(!text.contains("@bridges"), "{text}");
    assert!(!text.contains("set bridges"), "{text}");
    assert!(!text.contains("chain input"), "{text}");
    assert!(text.contains("ip saddr 10.50.0.0/24 oifname != \"br0\" masquerade"));

    // Internal only: no NAT at all, but the input chain.
    let text = render("t", &[net("br0", "10.50.0.0/24", true)]).unwrap();
    assert!(!text.contains("masquerade"), "{text}");
    assert!(!text.contains("chain postrouting"), "{text}");
    assert!(text.contains("iifname \"br0\" drop"), "{text}");
}

#[test]
fn render_internal_ipv6_lets_neighbour_discovery_in() {
    let text = render("t", &[net("br6", "fd00:7::/64", true)]).unwrap();
    let rules: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("iifname \"br6\""))
        .collect();
    // The forward drop, then in the input chain: replies, neighbour discovery, and
    // the drop, in that order.
    assert_eq!(rules.len(), 4, "{text}");
    assert!(rules[1].contains("ct state established,related accept"));
    assert!(rules[2].contains("icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept"));
    assert!(rules[3].starts_with("iifname \"br6\" drop"));
}

#[test]
fn render_rejects_what_could_change_the_script() {
    let ok = net("br0", "10.50.0.0/24", false);
    for table in [
        "",
        "1abc",
        "a b",
        "a;b",
        "a\"b",
        "a}b",
        "a*",
        &"a".repeat(256),
    ] {
        let err = render(table, std::slice::from_ref(&ok)).unwrap_err();
        assert!(
            matches!(err, FirewallError::Invalid { .. }),
            "{table:?}: {err}"
        );
    }
    for bridge in [
        "",
        "br\"0",
        "br*",
        "br 0",
        "br;0",
        "br}0",
        ".",
        "..",
        "a/b",
        "abcdefghijklmnop",
    ] {
        let err = render("t", &[net(bridge, "10.50.0.0/24", false)]).unwrap_err();
        assert!(
            matches!(err, FirewallError::Invalid { .. }),
            "{bridge:?}: {err}"
        );
        assert!(err.to_string().contains("table t"), "{err}");
    }
    for subnet in [
        "10.50.0.0",
        "10.50.0.0/33",
        "fd00::/129",
        "x/24",
        "10.50.0.0/x",
        "",
    ] {
        let err = render("t", &[net("br0", subnet, false)]).unwrap_err();
        assert!(
            matches!(err, FirewallError::Invalid { .. }),
            "{subnet:?}: {err}"
        );
    }
    let err = render(
        "t",
        &[
            net("br0", "10.50.0.0/24", false),
            net("br0", "fd00::/64", true),
        ],
    )
    .unwrap_err();
    assert!(err.to_string().contains("internal"), "{err}");
}

#[test]
fn subnet_masks_host_bits() {
    let s = |t: &str| Subnet::parse(t).unwrap().to_string();
    assert_eq!(s("10.50.3.7/24"), "10.50.3.0/24");
    assert_eq!(s("10.50.3.7/0"), "0.0.0.0/0");
    assert_eq!(s("10.50.3.7/32"), "10.50.3.7/32");
    assert_eq!(s("fd00:50::9/64"), "fd00:50::/64");
    assert_eq!(s("fd00:50::9/128"), "fd00:50::9/128");
    assert_eq!(s("fd00:50::9/0"), "::/0");
}

// ----------------------------------------------------------------------------------
// Namespaces for the kernel tests.

/// A network namespace of the test's own, held by a descriptor.
struct Netns {
    fd: OwnedFd,
}

/// The inode of a network namespace link, which identifies the namespace.
fn netns_inode(path: &str) -> u64 {
    rustix::fs::stat(path).unwrap().st_ino
}

impl Netns {
    fn new() -> Netns {
        let fd = std::thread::spawn(|| {
            // `unshare` is deprecated for `unshare_unsafe` because of CLONE_FILES;
            // CLONE_NEWNET in a thread of its own is safe, and `unsafe` is denied here.
            #[allow(deprecated)]
            rustix::thread::unshare(UnshareFlags::NEWNET)
                .expect("unshare(CLONE_NEWNET): these tests need root");
            rustix::fs::open(
                "/proc/thread-self/ns/net",
                OFlags::RDONLY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .unwrap()
        })
        .join()
        .unwrap();
        let ns = Netns { fd };
        ns.sh("ip link set lo up");
        ns
    }

    /// A path to the namespace that other processes (`ip ... netns PATH`) can open.
    fn path(&self) -> String {
        format!("/proc/{}/fd/{}", std::process::id(), self.fd.as_raw_fd())
    }

    /// Runs `f` on a thread inside the namespace; processes it spawns are inside too,
    /// and sockets it creates stay in the namespace wherever they are used later.
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    rustix::thread::move_into_link_name_space(
                        self.fd.as_fd(),
                        Some(LinkNameSpaceType::Network),
                    )
                    .unwrap();
                    // The guard everything else relies on: never act in the namespace
                    // the test process started in (`/proc/self` is the main thread's).
                    let here = netns_inode("/proc/thread-self/ns/net");
                    assert_ne!(here, netns_inode("/proc/self/ns/net"));
                    assert_eq!(here, rustix::fs::fstat(&self.fd).unwrap().st_ino);
                    f()
                })
                .join()
                // Re-raise a failure in the namespace thread with its own message.
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Runs a shell script inside the namespace; it must succeed.
    fn sh(&self, script: &str) -> String {
        self.run(|| {
            let out = Command::new("sh").args(["-ec", script]).output().unwrap();
            assert!(
                out.status.success(),
                "{script}: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        })
    }

    fn nft_list_tables(&self) -> Vec<String> {
        self.sh("nft list tables")
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

// ----------------------------------------------------------------------------------
// nft in a namespace of the test's own.

#[test]
fn apply_is_idempotent_and_empty_removes() {
    let ns = Netns::new();
    let table = "berth-1a2b3c4d";
    let mut networks = snapshot_networks();
    networks.push(net("berth6", "fd00:6::/64", true));

    ns.run(|| apply(table, &networks)).unwrap();
    let first = ns.sh(&format!("nft list table inet {table}"));
    assert!(first.contains("masquerade"), "{first}");
    assert!(first.contains("nd-neighbor-solicit"), "{first}");

    // Again, and in another order: the same table, and still one of it.
    networks.reverse();
    ns.run(|| apply(table, &networks)).unwrap();
    assert_eq!(ns.sh(&format!("nft list table inet {table}")), first);
    assert_eq!(ns.nft_list_tables(), [format!("table inet {table}")]);

    // An empty list removes it; so does `remove`, which tolerates its absence.
    ns.run(|| apply(table, &[])).unwrap();
    assert!(ns.nft_list_tables().is_empty());
    ns.run(|| remove(table)).unwrap();
    ns.run(|| apply(table, &networks)).unwrap();
    ns.run(|| remove(table)).unwrap();
    assert!(ns.nft_list_tables().is_empty());
}

#[test]
fn leaves_other_tables_alone() {
    let ns = Netns::new();
    // Another program's tables, one of them with berth-like chain names and hooks, and
    // the table of berth under another state root.
    ns.sh(r#"nft -f - <<'EOF'
table inet other {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ip saddr 192.0.2.1 drop
	}
}
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth9" masquerade
	}
}
EOF"#);
    ns.run(|| apply("berth-bbbbbbbb", &[net("br9", "10.198.9.0/24", false)]))
        .unwrap();
    let before = ns.sh("nft list ruleset");

    let ours = "berth-aaaaaaaa";
    ns.run(|| apply(ours, &snapshot_networks())).unwrap();
    ns.run(|| apply(ours, &snapshot_networks())).unwrap();
    assert_eq!(ns.nft_list_tables().len(), 4);
    ns.run(|| apply(ours, &[])).unwrap();
    assert_eq!(ns.sh("nft list ruleset"), before);
    ns.run(|| apply(ours, &snapshot_networks())).unwrap();
    ns.run(|| remove(ours)).unwrap();
    assert_eq!(ns.sh("nft list ruleset"), before);
}

#[test]
fn nft_errors_carry_stderr_and_table() {
    let ns = Netns::new();
    let err = ns
        .run(|| run_nft("berth-x", "table inet berth-x { this is not nft }\n"))
        .unwrap_err();
    match &err {
        FirewallError::Nft { table, stderr, .. } => {
            assert_eq!(table, "berth-x");
            assert!(stderr.contains("syntax error"), "{stderr}");
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("berth-x"), "{err}");
    // A refused transaction changed nothing.
    assert!(ns.nft_list_tables().is_empty());
}

#[test]
fn enable_forwarding_in_a_test_namespace() {
    let original = std::fs::read_to_string(IP_FORWARD).unwrap();
    let ns = Netns::new();
    // A marker interface proves that /proc/sys/net, as this thread sees it, belongs to
    // the test namespace before anything is written there.
    ns.sh("ip link add berthfwtest0 type bridge");
    let (changed, again, now) = ns.run(|| {
        assert!(std::path::Path::new("/proc/sys/net/ipv4/conf/berthfwtest0").exists());
        // A new namespace copies the host's value (on once berth ran there): start off.
        std::fs::write(IP_FORWARD, "0").unwrap();
        assert_eq!(std::fs::read_to_string(IP_FORWARD).unwrap(), "0\n");
        let changed = enable_forwarding().unwrap();
        let again = enable_forwarding().unwrap();
        (changed, again, std::fs::read_to_string(IP_FORWARD).unwrap())
    });
    assert!(changed);
    assert!(!again);
    assert_eq!(now, "1\n");
    assert_eq!(std::fs::read_to_string(IP_FORWARD).unwrap(), original);
}

// ----------------------------------------------------------------------------------
// Real traffic.

/// How long a connection that should fail is given: on veths it would take well under
/// a millisecond to succeed.
const BLOCKED_AFTER: Duration = Duration::from_millis(400);
/// How long a connection that should succeed is given.
const PATIENCE: Duration = Duration::from_secs(3);

/// A TCP listener in a namespace, on any port.
fn listen(ns: &Netns, ip: &str) -> (TcpListener, u16) {
    let listener = ns.run(|| TcpListener::bind((ip, 0))).unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

fn sockaddr(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), port)
}

fn connect(ns: &Netns, to: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    ns.run(|| TcpStream::connect_timeout(&to, timeout))
}

/// Connects, and returns the source address the listener saw.
fn reach(from: &Netns, listener: &TcpListener, to: SocketAddr, what: &str) -> IpAddr {
    let stream = connect(from, to, PATIENCE).unwrap_or_else(|e| panic!("{what}: {e}"));
    let (accepted, peer) = listener.accept().unwrap();
    drop((stream, accepted));
    peer.ip()
}

/// Tries all the connections at once (to keep the test short) and checks that each
/// one timed out. A timeout, and not a refusal or "unreachable": those would mean the
/// packets went somewhere.
fn all_blocked(cases: &[(&str, &Netns, SocketAddr)]) {
    let results: Vec<(String, io::Result<TcpStream>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(what, ns, to)| {
                scope.spawn(move || (what.to_string(), connect(ns, *to, BLOCKED_AFTER)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (what, result) in results {
        match result {
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
            Err(e) => panic!("{what}: expected a timeout, got {e}"),
            Ok(_) => panic!("{what}: connected, but should be blocked"),
        }
    }
}

static CONTAINERS: AtomicUsize = AtomicUsize::new(0);

/// A "container": a namespace with `eth0` (address `ip`/24, default route via
/// `gateway`) whose other end is a port of `bridge` in `host`.
fn container(host: &Netns, bridge: &str, ip: &str, gateway: &str) -> Netns {
    let ns = Netns::new();
    let n = CONTAINERS.fetch_add(1, Ordering::Relaxed);
    host.sh(&format!(
        "ip link add veth{n} type veth peer name eth0 netns {path}
         ip link set veth{n} master {bridge} up",
        path = ns.path()
    ));
    ns.sh(&format!(
        "ip addr add {ip}/24 dev eth0
         ip link set eth0 up
         ip route add default via {gateway}"
    ));
    ns
}

/// Topology, every part of it in a namespace of this test:
///
/// ```text
///  A 10.198.1.2 ─┐                          ┌─ host ─────────────────────┐
///                ├─ bext  10.198.1.1/24 ───┤                             │
///  C 10.198.3.2 ─── bext2 10.198.3.1/24 ───┤  out0 10.197.0.1 ─── out1 10.197.0.2  outside
///  B 10.198.2.2 ─┬─ bint  10.198.2.1/24 ───┤  (internal)        │
///  B2 10.198.2.3 ┘                          └─────────────────────┘
/// ```
///
/// The outside has a route back to 10.198.0.0/16 through the host, so that every
/// path works before berth's rules go in: each failure afterwards is the rules' doing.
#[test]
fn traffic() {
    let started = Instant::now();
    let host = Netns::new();
    let outside = Netns::new();
    host.sh(&format!(
        "for b in bext:1 bint:2 bext2:3; do
             ip link add ${{b%:*}} type bridge
             ip addr add 10.198.${{b#*:}}.1/24 dev ${{b%:*}}
             ip link set ${{b%:*}} up
         done
         ip link add out0 type veth peer name out1 netns {}
         ip addr add 10.197.0.1/24 dev out0
         ip link set out0 up",
        outside.path()
    ));
    outside.sh("ip addr add 10.197.0.2/24 dev out1
         ip link set out1 up
         ip route add 10.198.0.0/16 via 10.197.0.1");
    let a = container(&host, "bext", "10.198.1.2", "10.198.1.1");
    let b = container(&host, "bint", "10.198.2.2", "10.198.2.1");
    let b2 = container(&host, "bint", "10.198.2.3", "10.198.2.1");
    let c = container(&host, "bext2", "10.198.3.2", "10.198.3.1");

    // Forwarding, in the host namespace only: the bridge in /proc/sys/net/ipv4/conf
    // shows that this thread's /proc/sys/net is that namespace's.
    let changed = host.run(|| {
        assert!(std::path::Path::new("/proc/sys/net/ipv4/conf/bint").exists());
        // A new namespace copies the host's value (on once berth ran there): start off.
        std::fs::write(IP_FORWARD, "0").unwrap();
        enable_forwarding().unwrap()
    });
    assert!(changed, "a new namespace starts with forwarding off");

    let (out_l, out_p) = listen(&outside, "10.197.0.2");
    let (host_l, host_p) = listen(&host, "0.0.0.0");
    let (a_l, a_p) = listen(&a, "10.198.1.2");
    let (b_l, b_p) = listen(&b, "10.198.2.2");
    let (b2_l, b2_p) = listen(&b2, "10.198.2.3");
    let (c_l, c_p) = listen(&c, "10.198.3.2");
    let outside_addr = sockaddr("10.197.0.2", out_p);

    // Before: everything reaches everything, without NAT.
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    assert_eq!(
        reach(&a, &out_l, outside_addr, "A to outside"),
        ip("10.198.1.2")
    );
    assert_eq!(
        reach(&b, &out_l, outside_addr, "B to outside"),
        ip("10.198.2.2")
    );
    for host_ip in ["10.198.2.1", "10.198.1.1", "10.197.0.1"] {
        reach(&b, &host_l, sockaddr(host_ip, host_p), "B to host");
    }
    reach(&a, &b_l, sockaddr("10.198.2.2", b_p), "A to B");
    reach(&b, &a_l, sockaddr("10.198.1.2", a_p), "B to A");
    reach(&a, &c_l, sockaddr("10.198.3.2", c_p), "A to C");
    reach(&c, &a_l, sockaddr("10.198.1.2", a_p), "C to A");
    reach(&outside, &a_l, sockaddr("10.198.1.2", a_p), "outside to A");

    let table = "berth-fwtest";
    let networks = [
        net("bext", "10.198.1.0/24", false),
        net("bint", "10.198.2.0/24", true),
        net("bext2", "10.198.3.0/24", false),
    ];
    host.run(|| apply(table, &networks)).unwrap();

    // A non-internal container reaches the outside, masqueraded as the host's
    // outside address.
    assert_eq!(
        reach(&a, &out_l, outside_addr, "A to outside"),
        ip("10.197.0.1")
    );
    assert_eq!(
        reach(&c, &out_l, outside_addr, "C to outside"),
        ip("10.197.0.1")
    );
    // Within one bridge, nothing changes, internal or not (br_netfilter, if loaded,
    // shows this traffic to the forward hook).
    assert_eq!(
        reach(&b, &b2_l, sockaddr("10.198.2.3", b2_p), "B to B2"),
        ip("10.198.2.2")
    );
    // A non-internal container still reaches the host.
    reach(&a, &host_l, sockaddr("10.198.1.1", host_p), "A to host");

    // The host opens a connection into the internal network and gets replies.
    let mut to_b = connect(&host, sockaddr("10.198.2.2", b_p), PATIENCE).expect("host to B");
    let (mut at_b, peer) = b_l.accept().unwrap();
    assert_eq!(peer.ip(), ip("10.198.2.1"));
    to_b.set_read_timeout(Some(PATIENCE)).unwrap();
    at_b.set_read_timeout(Some(PATIENCE)).unwrap();
    to_b.write_all(b"ping").unwrap();
    let mut buf = [0; 4];
    at_b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    at_b.write_all(b"pong").unwrap();
    to_b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"pong");
    drop((to_b, at_b));

    all_blocked(&[
        // Internal: no way out, not even to the host.
        ("B to outside", &b, outside_addr),
        (
            "B to host on its bridge",
            &b,
            sockaddr("10.198.2.1", host_p),
        ),
        ("B to host on bext", &b, sockaddr("10.198.1.1", host_p)),
        ("B to host outside", &b, sockaddr("10.197.0.1", host_p)),
        // Networks are isolated, internal or not.
        ("A to B", &a, sockaddr("10.198.2.2", b_p)),
        ("B to A", &b, sockaddr("10.198.1.2", a_p)),
        ("A to C", &a, sockaddr("10.198.3.2", c_p)),
        ("C to A", &c, sockaddr("10.198.1.2", a_p)),
        // Nothing outside opens a connection into a network.
        ("outside to A", &outside, sockaddr("10.198.1.2", a_p)),
        ("outside to B", &outside, sockaddr("10.198.2.2", b_p)),
    ]);

    // Applying the same networks again changes nothing that works.
    host.run(|| apply(table, &networks)).unwrap();
    reach(&a, &out_l, outside_addr, "A to outside, again");

    // Removing the table gives everything back.
    host.run(|| remove(table)).unwrap();
    reach(
        &b,
        &host_l,
        sockaddr("10.198.2.1", host_p),
        "B to host, after remove",
    );
    reach(
        &a,
        &c_l,
        sockaddr("10.198.3.2", c_p),
        "A to C, after remove",
    );

    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}
