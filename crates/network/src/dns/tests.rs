//! Real sockets on loopback only (127.0.0.0/8, ephemeral ports): the server under test
//! on 127.0.0.11, fake upstreams on 127.0.0.12, clients on 127.0.0.1. The server's poll
//! loop runs in a background thread, the way the monitor would run it.

use super::*;

use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use hickory_proto::op::{MessageType, ResponseCode};
use rustix::event::{PollFd, PollFlags, Timespec};

const SERVER: &str = "127.0.0.11:0";
const UPSTREAM: &str = "127.0.0.12:0";
const CLIENT: &str = "127.0.0.1:0";
/// How often the test loop looks at its stop flag.
const TICK: Duration = Duration::from_millis(20);

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse().unwrap())
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse().unwrap())
}

struct TestNames;

impl Names for TestNames {
    fn lookup(&self, name: &str) -> Option<Vec<IpAddr>> {
        match name {
            "web" => Some(vec![v4("172.18.0.2")]),
            "db" => Some(vec![v4("172.18.0.3"), v4("172.18.0.4")]),
            "dual" => Some(vec![v4("172.18.0.5"), v6("fd00::5")]),
            "many" => Some((0..100).map(|i| v4(&format!("172.18.1.{i}"))).collect()),
            "web.mynet" => Some(vec![v4("172.18.0.2")]),
            _ => None,
        }
    }

    fn reverse(&self, addr: IpAddr) -> Option<String> {
        (addr == v4("172.18.0.2")).then(|| "web.mynet".to_string())
    }
}

impl<N: Names> DnsServer<N> {
    /// The socket behind one of the fds `fill_poll` handed out.
    fn fd_for(&self, fd: RawFd) -> Option<BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        if self.udp.as_raw_fd() == fd {
            return Some(self.udp.as_fd());
        }
        if let Some(up) = self.upstream.as_ref().filter(|u| u.as_raw_fd() == fd) {
            return Some(up.as_fd());
        }
        if let Some(l) = self.tcp.as_ref().filter(|l| l.as_raw_fd() == fd) {
            return Some(l.as_fd());
        }
        self.conns
            .iter()
            .find(|c| c.stream.as_raw_fd() == fd)
            .map(|c| c.stream.as_fd())
    }
}

/// poll(2) on the server's entries, through rustix (no unsafe here either).
fn poll_entries<N: Names>(server: &DnsServer<N>, entries: &mut [libc::pollfd], wait: Duration) {
    let mut pfds: Vec<PollFd<'_>> = entries
        .iter()
        .map(|e| {
            let fd = server
                .fd_for(e.fd)
                .expect("fill_poll handed out a foreign fd");
            PollFd::from_borrowed_fd(fd, PollFlags::from_bits_retain(e.events as u16))
        })
        .collect();
    let ts = Timespec {
        tv_sec: wait.as_secs() as _,
        tv_nsec: wait.subsec_nanos() as _,
    };
    let _ = rustix::event::poll(&mut pfds, Some(&ts));
    for (e, p) in entries.iter_mut().zip(&pfds) {
        e.revents = p.revents().bits() as i16;
    }
}

/// A server running its poll loop in a thread until dropped.
struct Running {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("server thread panicked");
        }
    }
}

fn start<N: Names + Send + 'static>(
    names: N,
    upstreams: Option<Vec<SocketAddr>>,
    timeout: Duration,
) -> Running {
    let (udp, tcp) = bind(SERVER.parse().unwrap()).unwrap();
    let udp = UdpSocket::from(udp);
    let addr = udp.local_addr().unwrap();
    assert!(addr.ip().is_loopback());
    let udp = OwnedFd::from(udp);
    let upstream = upstreams.as_ref().map(|u| upstream_socket(u).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let thread = thread::spawn(move || {
        let mut server = DnsServer::new(
            names,
            udp,
            Some(tcp),
            upstream,
            upstreams.unwrap_or_default(),
        )
        .unwrap()
        .with_timeout(timeout);
        let foreign = libc::pollfd {
            fd: -1,
            events: libc::POLLIN,
            revents: 0,
        };
        let mut fds = Vec::new();
        while !stopped.load(Ordering::Relaxed) {
            // Fresh every turn, with someone else's entries around ours, like the monitor.
            fds.clear();
            fds.push(foreign);
            let range = server.fill_poll(&mut fds);
            fds.push(foreign);
            let wait = server
                .wait_time(Instant::now())
                .map_or(TICK, |w| w.min(TICK));
            poll_entries(&server, &mut fds[range.clone()], wait);
            server.after_poll(&fds, range, Instant::now());
        }
    });
    Running {
        addr,
        stop,
        thread: Some(thread),
    }
}

fn query(id: u16, name: &str, rtype: RecordType) -> Vec<u8> {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    msg.to_vec().unwrap()
}

fn client() -> UdpSocket {
    let sock = UdpSocket::bind(CLIENT).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    sock
}

fn recv(sock: &UdpSocket) -> Message {
    let mut buf = [0u8; 65535];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    Message::from_vec(&buf[..n]).unwrap()
}

fn ask(server: SocketAddr, packet: &[u8]) -> Message {
    let sock = client();
    sock.send_to(packet, server).unwrap();
    recv(&sock)
}

fn ask_tcp(server: SocketAddr, packets: &[Vec<u8>]) -> Vec<Message> {
    let mut stream = TcpStream::connect(server).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // All queries in one write, as glibc sends A and AAAA.
    let mut out = Vec::new();
    for p in packets {
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
    }
    stream.write_all(&out).unwrap();
    let mut replies = Vec::new();
    for _ in packets {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut body).unwrap();
        replies.push(Message::from_vec(&body).unwrap());
    }
    // Then the server closes once everything was answered and we shut down.
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    assert_eq!(stream.read_to_end(&mut rest).unwrap(), 0);
    replies
}

fn addrs(msg: &Message) -> Vec<IpAddr> {
    msg.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

/// The question's name as asked, without the trailing dot a name off the wire has.
fn qname(r: &Message) -> String {
    r.queries[0]
        .name()
        .to_ascii()
        .trim_end_matches('.')
        .to_string()
}

fn no_names(_: &str) -> Option<Vec<IpAddr>> {
    None
}

/// A stand-in resolver: answers `one.example` with 192.0.2.1, `two.example` with
/// 192.0.2.2, anything else with 192.0.2.53 (documentation addresses, only ever data).
/// It waits until it holds `batch` queries and answers them last first, so that
/// several are in flight at the server at once.
struct FakeUpstream {
    addr: SocketAddr,
    ids: Arc<Mutex<Vec<u16>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("upstream thread panicked");
        }
    }
}

fn fake_upstream(batch: usize) -> FakeUpstream {
    let sock = UdpSocket::bind(UPSTREAM).unwrap();
    sock.set_read_timeout(Some(TICK)).unwrap();
    let addr = sock.local_addr().unwrap();
    let ids = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (seen, stopped) = (ids.clone(), stop.clone());
    let thread = thread::spawn(move || {
        let mut held = Vec::new();
        let mut buf = [0u8; 65535];
        while !stopped.load(Ordering::Relaxed) {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let q = Message::from_vec(&buf[..n]).unwrap();
            seen.lock().unwrap().push(q.metadata.id);
            held.push((q, from));
            if held.len() < batch {
                continue;
            }
            while let Some((q, from)) = held.pop() {
                let question = q.queries[0].clone();
                let ip = match question.name().to_ascii().as_str() {
                    "one.example" | "one.example." => "192.0.2.1",
                    "two.example" | "two.example." => "192.0.2.2",
                    _ => "192.0.2.53",
                };
                let mut r = Message::response(q.metadata.id, OpCode::Query);
                r.metadata.recursion_desired = q.metadata.recursion_desired;
                r.metadata.recursion_available = true;
                r.add_query(question.clone());
                r.add_answer(Record::from_rdata(
                    question.name().clone(),
                    300,
                    RData::A(A(ip.parse().unwrap())),
                ));
                sock.send_to(&r.to_vec().unwrap(), from).unwrap();
            }
        }
    });
    FakeUpstream {
        addr,
        ids,
        stop,
        thread: Some(thread),
    }
}

/// An upstream that never answers; kept to count what reached it.
fn silent_upstream() -> UdpSocket {
    UdpSocket::bind(UPSTREAM).unwrap()
}

fn count_datagrams(sock: &UdpSocket) -> usize {
    sock.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 65535];
    let mut n = 0;
    while sock.recv_from(&mut buf).is_ok() {
        n += 1;
    }
    n
}

#[test]
fn a_for_a_known_name_any_case_with_or_without_dot() {
    let server = start(TestNames, None, DEFAULT_TIMEOUT);
    for (id, name) in [(1, "web"), (2, "WeB."), (3, "web."), (4, "WEB.MyNet")] {
        let r = ask(server.addr, &query(id, name, RecordType::A));
        assert_eq!(r.metadata.id, id);
        assert_eq!(r.metadata.message_type, MessageType::Response);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert!(r.metadata.authoritative);
        assert!(r.metadata.recursion_desired);
        assert!(!r.metadata.recursion_available, "nothing to recurse to");
        assert_eq!(addrs(&r), vec![v4("172.18.0.2")]);
        assert_eq!(r.answers[0].ttl, DEFAULT_TTL);
        // The question comes back as asked, case included.
        assert_eq!(r.queries.len(), 1);
        assert_eq!(qname(&r), name.trim_end_matches('.'));
        assert_eq!(r.answers[0].name, *r.queries[0].name());
    }
}

#[test]
fn several_addresses_and_aaaa() {
    let server = start(TestNames, None, DEFAULT_TIMEOUT);
    let r = ask(server.addr, &query(7, "db", RecordType::A));
    assert_eq!(addrs(&r), vec![v4("172.18.0.3"), v4("172.18.0.4")]);

    let r = ask(server.addr, &query(8, "dual", RecordType::AAAA));
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert_eq!(addrs(&r), vec![v6("fd00::5")]);
    let r = ask(server.addr, &query(9, "dual", RecordType::A));
    assert_eq!(addrs(&r), vec![v4("172.18.0.5")]);
    let r = ask(server.addr, &query(10, "dual", RecordType::ANY));
    assert_eq!(addrs(&r), vec![v4("172.18.0.5"), v6("fd00::5")]);
}

#[test]
fn known_name_without_the_type_is_nodata_not_nxdomain() {
    let server = start(TestNames, None, DEFAULT_TIMEOUT);
    for rtype in [RecordType::AAAA, RecordType::MX, RecordType::TXT] {
        let r = ask(server.addr, &query(11, "web", rtype));
        assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{rtype}");
        assert!(r.answers.is_empty(), "{rtype}");
        assert!(r.metadata.authoritative);
    }
}

#[test]
fn edns_query_gets_edns_and_big_answers_truncate_over_udp_only() {
    let server = start(TestNames, None, DEFAULT_TIMEOUT);
    // 100 A records do not fit in 512 bytes: TC, no answers, so the client uses TCP.
    let r = ask(server.addr, &query(12, "many", RecordType::A));
    assert!(r.metadata.truncation);
    assert!(r.answers.is_empty());
    let r = &ask_tcp(server.addr, &[query(13, "many", RecordType::A)])[0];
    assert!(!r.metadata.truncation);
    assert_eq!(addrs(r).len(), 100);
    // With a large EDNS payload they fit in a datagram, and the reply carries OPT.
    let mut msg = Message::new(14, MessageType::Query, OpCode::Query);
    msg.add_query(Query::query(
        Name::from_ascii("many").unwrap(),
        RecordType::A,
    ));
    let mut edns = Edns::new();
    edns.set_max_payload(4096);
    msg.set_edns(edns);
    let r = ask(server.addr, &msg.to_vec().unwrap());
    assert!(!r.metadata.truncation);
    assert_eq!(addrs(&r).len(), 100);
    assert!(r.edns.is_some());
}

#[test]
fn unknown_name_without_upstreams_is_refused_at_once() {
    let server = start(TestNames, None, DEFAULT_TIMEOUT);
    // A search-domain suffix does not make a name ours: the callback decides.
    for name in ["example.com", "web.example.com", "webx"] {
        let began = Instant::now();
        let r = ask(server.addr, &query(21, name, RecordType::A));
        assert!(
            began.elapsed() < Duration::from_millis(100),
            "{:?}",
            began.elapsed()
        );
        assert_eq!(r.metadata.id, 21);
        assert_eq!(r.metadata.response_code, ResponseCode::Refused);
        assert!(r.answers.is_empty());
        // glibc ignores a reply whose question is not its own.
        assert_eq!(qname(&r), name);
        assert_eq!(r.queries[0].query_type(), RecordType::A);
    }
}

#[test]
fn ptr_for_our_addresses() {
    let server = start(TestNames, None, DEFAULT_TIMEOUT);
    let r = ask(
        server.addr,
        &query(22, "2.0.18.172.in-addr.arpa", RecordType::PTR),
    );
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    match &r.answers[..] {
        [rec] => match &rec.data {
            RData::PTR(ptr) => assert_eq!(ptr.0.to_ascii(), "web.mynet."),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    // Not one of ours: forwarded, here refused.
    let r = ask(
        server.addr,
        &query(23, "9.0.18.172.in-addr.arpa", RecordType::PTR),
    );
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
}

#[test]
fn forwards_and_gives_each_client_its_own_reply_and_id() {
    let upstream = fake_upstream(2);
    let server = start(no_names, Some(vec![upstream.addr]), DEFAULT_TIMEOUT);
    let (a, b) = (client(), client());
    a.send_to(&query(0x1234, "one.example", RecordType::A), server.addr)
        .unwrap();
    b.send_to(&query(0x1234, "two.example", RecordType::A), server.addr)
        .unwrap();
    let (ra, rb) = (recv(&a), recv(&b));
    for (r, name, ip) in [
        (&ra, "one.example", "192.0.2.1"),
        (&rb, "two.example", "192.0.2.2"),
    ] {
        assert_eq!(r.metadata.id, 0x1234);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert_eq!(qname(r), name);
        assert_eq!(addrs(r), vec![v4(ip)]);
        assert_eq!(r.answers[0].ttl, 300, "relayed as the upstream said");
    }
    // Both were in flight at once, under distinct ids on the upstream side.
    let ids = upstream.ids.lock().unwrap().clone();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn forwards_tcp_queries_too() {
    let upstream = fake_upstream(1);
    let server = start(TestNames, Some(vec![upstream.addr]), DEFAULT_TIMEOUT);
    let replies = ask_tcp(
        server.addr,
        &[
            query(31, "one.example", RecordType::A),
            query(32, "web", RecordType::A),
        ],
    );
    let (fwd, ours) = match replies[0].metadata.id {
        31 => (&replies[0], &replies[1]),
        _ => (&replies[1], &replies[0]),
    };
    assert_eq!(fwd.metadata.id, 31);
    assert_eq!(addrs(fwd), vec![v4("192.0.2.1")]);
    assert_eq!(ours.metadata.id, 32);
    assert_eq!(addrs(ours), vec![v4("172.18.0.2")]);
    assert!(ours.metadata.recursion_available);
}

#[test]
fn silent_upstream_gives_servfail_after_the_timeout() {
    let silent = silent_upstream();
    let timeout = Duration::from_millis(300);
    let server = start(no_names, Some(vec![silent.local_addr().unwrap()]), timeout);
    let began = Instant::now();
    let r = ask(server.addr, &query(41, "example.org", RecordType::A));
    let took = began.elapsed();
    assert_eq!(r.metadata.id, 41);
    assert_eq!(r.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(qname(&r), "example.org");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(2),
        "{took:?}"
    );
    // A lone upstream is asked twice, in case a datagram was lost.
    assert_eq!(count_datagrams(&silent), 2);
}

#[test]
fn a_dead_upstream_fails_over_to_the_next() {
    let silent = silent_upstream();
    let upstream = fake_upstream(1);
    let server = start(
        no_names,
        Some(vec![silent.local_addr().unwrap(), upstream.addr]),
        Duration::from_secs(1),
    );
    let began = Instant::now();
    let r = ask(server.addr, &query(42, "two.example", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert_eq!(addrs(&r), vec![v4("192.0.2.2")]);
    assert!(began.elapsed() < Duration::from_secs(1));
    assert_eq!(count_datagrams(&silent), 1);
}

#[test]
fn malformed_packets_are_survived() {
    let upstream = fake_upstream(1);
    let server = start(TestNames, Some(vec![upstream.addr]), DEFAULT_TIMEOUT);
    let junk = client();
    junk.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 65535];

    // Too short for a header, or a response: no reply at all.
    let mut response = query(51, "web", RecordType::A);
    response[2] |= 0x80;
    for p in [vec![], vec![1, 2, 3], vec![0; 11], response] {
        junk.send_to(&p, server.addr).unwrap();
    }
    assert!(junk.recv_from(&mut buf).is_err(), "nothing to answer");

    // A header promising questions that are not there, random bytes, a label running
    // off the end, a compression loop: FORMERR with the id, or silence.
    let mut loop_ptr = query(52, "web", RecordType::A);
    loop_ptr.truncate(12);
    loop_ptr.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    let garbage: Vec<u8> = (0..700u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 & 0x7f)
        .collect();
    for p in [
        vec![0, 53, 1, 0, 0, 5, 0, 0, 0, 0, 0, 0],
        vec![0, 53, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63, b'a'],
        loop_ptr,
        garbage,
    ] {
        junk.send_to(&p, server.addr).unwrap();
    }
    while let Ok((n, _)) = junk.recv_from(&mut buf) {
        let r = Message::from_vec(&buf[..n]).unwrap();
        assert_ne!(r.metadata.response_code, ResponseCode::NoError);
    }

    // Half a TCP frame then a hang-up, and an empty frame.
    for bytes in [vec![0, 40, 1, 2, 3], vec![0, 0]] {
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.write_all(&bytes).unwrap();
    }

    // Still answering, both ways.
    let r = ask(server.addr, &query(53, "web", RecordType::A));
    assert_eq!(addrs(&r), vec![v4("172.18.0.2")]);
    let r = ask(server.addr, &query(54, "one.example", RecordType::A));
    assert_eq!(addrs(&r), vec![v4("192.0.2.1")]);
}

#[test]
fn formerr_and_notimp_keep_the_id() {
    let server = start(TestNames, None, DEFAULT_TIMEOUT);
    let r = ask(server.addr, &[0, 61, 1, 0, 0, 5, 0, 0, 0, 0, 0, 0]);
    assert_eq!(r.metadata.id, 61);
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);

    let mut msg = Message::new(62, MessageType::Query, OpCode::Status);
    msg.add_query(Query::query(
        Name::from_ascii("web").unwrap(),
        RecordType::A,
    ));
    let r = ask(server.addr, &msg.to_vec().unwrap());
    assert_eq!(r.metadata.id, 62);
    assert_eq!(r.metadata.response_code, ResponseCode::NotImp);

    // Two questions in one query.
    let mut msg = Message::new(63, MessageType::Query, OpCode::Query);
    msg.add_query(Query::query(
        Name::from_ascii("web").unwrap(),
        RecordType::A,
    ));
    msg.add_query(Query::query(Name::from_ascii("db").unwrap(), RecordType::A));
    let r = ask(server.addr, &msg.to_vec().unwrap());
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
}

#[test]
fn tcp_for_our_names_several_queries_per_connection() {
    let server = start(TestNames, None, DEFAULT_TIMEOUT);
    let replies = ask_tcp(
        server.addr,
        &[
            query(71, "web", RecordType::A),
            query(72, "web", RecordType::AAAA),
        ],
    );
    assert_eq!(replies[0].metadata.id, 71);
    assert_eq!(addrs(&replies[0]), vec![v4("172.18.0.2")]);
    assert_eq!(replies[1].metadata.id, 72);
    assert_eq!(replies[1].metadata.response_code, ResponseCode::NoError);
    assert!(replies[1].answers.is_empty());
    // An unknown name over TCP without upstreams is refused there too.
    let r = &ask_tcp(server.addr, &[query(73, "example.com", RecordType::A)])[0];
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
}

#[test]
fn idle_server_has_no_timer_and_uses_its_fds_only() {
    let (udp, tcp) = bind(SERVER.parse().unwrap()).unwrap();
    let server = DnsServer::new(
        no_names,
        udp,
        Some(tcp),
        None,
        vec!["192.0.2.1:53".parse().unwrap()],
    )
    .unwrap();
    assert!(!server.forwards(), "no upstream socket, no forwarding");
    assert_eq!(server.wait_time(Instant::now()), None);
    let mut fds = vec![libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: libc::POLLIN,
    }];
    let range = server.fill_poll(&mut fds);
    assert_eq!(range, 1..3);
    // Ready entries that are not ours, and a range past the end, are harmless.
    let mut server = server;
    server.after_poll(&fds, 0..1, Instant::now());
    server.after_poll(&fds, 2..9, Instant::now());
}

#[test]
fn upstreams_of_the_wrong_family_are_left_out() {
    let (udp, _) = bind(SERVER.parse().unwrap()).unwrap();
    let v4_only: Vec<SocketAddr> = vec!["192.0.2.1:53".parse().unwrap()];
    let up = upstream_socket(&v4_only).unwrap();
    let ups = vec![
        "[2001:db8::1]:53".parse().unwrap(),
        "192.0.2.1:53".parse().unwrap(),
        "[::ffff:192.0.2.1]:53".parse().unwrap(),
    ];
    let server = DnsServer::new(no_names, udp, None, Some(up), ups).unwrap();
    assert!(server.forwards());
    assert_eq!(
        server.upstreams,
        vec!["192.0.2.1:53".parse::<SocketAddr>().unwrap()]
    );
}

#[test]
fn resolv_conf_upstreams() {
    let text = "\
# generated by NetworkManager
; another comment
search example.com corp.example
nameserver 192.0.2.1
nameserver 127.0.0.53
nameserver   2001:db8::53   # trailing comment
nameserver ::1
nameserver 0.0.0.0
#nameserver 192.0.2.9
  nameserver 192.0.2.2
nameserver fe80::1%eth0
nameserver fe80::2%3
nameserver ::ffff:192.0.2.3
nameserver 192.0.2.1
nameserver not-an-address
nameserver
options ndots:2 timeout:1 attempts:3 rotate
domain example.com
";
    let got = upstreams_from_resolv_conf(text);
    let want: Vec<SocketAddr> = vec![
        "192.0.2.1:53".parse().unwrap(),
        "[2001:db8::53]:53".parse().unwrap(),
        "192.0.2.2:53".parse().unwrap(),
        SocketAddr::V6(SocketAddrV6::new("fe80::2".parse().unwrap(), 53, 0, 3)),
        "192.0.2.3:53".parse().unwrap(),
    ];
    assert_eq!(got, want);
    assert!(
        upstreams_from_resolv_conf("nameserver 127.0.0.53\noptions edns0 trust-ad\n").is_empty()
    );
    assert!(upstreams_from_resolv_conf("").is_empty());
}

#[test]
fn names_as_the_callback_sees_them() {
    let name = |s: &str| plain_name(&Name::from_ascii(s).unwrap());
    assert_eq!(name("Web.MyNet.").as_deref(), Some("web.mynet"));
    assert_eq!(name("web").as_deref(), Some("web"));
    assert_eq!(name("my_app-1").as_deref(), Some("my_app-1"));
    assert_eq!(name("."), None);
    let odd = Name::from_labels(vec![&b"a.b"[..], &b"c"[..]]).unwrap();
    assert_eq!(
        plain_name(&odd),
        None,
        "a dot inside a label is not a container name"
    );
    let odd = Name::from_labels(vec![&b"a b"[..]]).unwrap();
    assert_eq!(plain_name(&odd), None);
}

#[test]
fn reverse_names() {
    assert_eq!(
        reverse_addr("2.0.18.172.in-addr.arpa"),
        Some(v4("172.18.0.2"))
    );
    assert_eq!(reverse_addr("0.18.172.in-addr.arpa"), None);
    assert_eq!(reverse_addr("1.2.0.18.172.in-addr.arpa"), None);
    assert_eq!(reverse_addr("256.0.18.172.in-addr.arpa"), None);
    assert_eq!(reverse_addr("+2.0.18.172.in-addr.arpa"), None);
    let nibbles = "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa";
    assert_eq!(reverse_addr(nibbles), Some(v6("fd00::5")));
    assert_eq!(reverse_addr("5.0.d.f.ip6.arpa"), None);
    assert_eq!(reverse_addr(&format!("0.{nibbles}")), None);
    assert_eq!(reverse_addr("web"), None);
}

#[test]
fn error_replies_from_raw_bytes() {
    let q = query(0xbeef, "Example.COM", RecordType::AAAA);
    let qend = question_end(&q).unwrap();
    assert_eq!(qend, q.len());
    let r = Message::from_vec(&raw_reply(&q, qend, 0x0102, RCODE_SERVFAIL, true)).unwrap();
    assert_eq!(r.metadata.id, 0x0102);
    assert_eq!(r.metadata.message_type, MessageType::Response);
    assert_eq!(r.metadata.response_code, ResponseCode::ServFail);
    assert!(r.metadata.recursion_desired && r.metadata.recursion_available);
    assert_eq!(qname(&r), "Example.COM");
    assert_eq!(r.queries[0].query_type(), RecordType::AAAA);
    // Header only, however short the input.
    assert_eq!(
        raw_reply(&[1], HEADER_LEN, 7, RCODE_FORMERR, false).len(),
        HEADER_LEN
    );
    assert_eq!(question_end(&q[..q.len() - 1]), None);
    assert_eq!(question_end(&q[..5]), None);
}
