//! Networks: user-defined bridge networks and the default one, addresses, isolation,
//! `--internal`, egress NAT (to an "outside" namespace the test makes), published
//! ports with exact host binding, name resolution through the embedded DNS server,
//! and cleanup. Traffic goes only to loopback and to addresses of containers and
//! namespaces these tests create; each test has its own subnets (10.231.N.0/24).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration;

use testsupport::probe::probe_rootfs;
use testsupport::{sh, stderr, stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

fn ip_on(b: &Berth, ctr: &str, net: &str) -> String {
    b.ok(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
        ctr,
    ])
}

/// A web server container answering "hello from NAME" on port 80.
fn web(b: &Berth, name: &str, opts: &[&str]) -> String {
    let script = format!(
        "mkdir -p /srv && echo hello from {name} > /srv/index.html && exec httpd -f -p 80 -h /srv"
    );
    b.detached(&[&["--name", name], opts].concat(), &["sh", "-c", &script])
}

fn fetch(b: &Berth, opts: &[&str], url: &str) -> (i32, String, String) {
    // Not `exec`ed by sh: as PID 1, wget would ignore timeout's SIGTERM.
    sh(b, opts, &format!("timeout 3 wget -qO- {url}; exit $?"))
}

fn link_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

#[test]
fn network_create_ls_inspect_and_rm() {
    let b = berth();
    let id = b.ok(&[
        "network",
        "create",
        "--subnet",
        "10.231.1.0/24",
        "--label",
        "team=a",
        "n1",
    ]);
    assert_eq!(id.len(), 64);
    let ls = b.ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert!(ls.lines().any(|l| l == "n1 bridge"), "{ls}");
    assert!(ls.lines().any(|l| l == "bridge bridge"), "{ls}");
    let info = b.ok(&[
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}} {{.Internal}} {{index .Labels \"team\"}}",
        "n1",
    ]);
    assert_eq!(info, "10.231.1.0/24 10.231.1.1 false a");
    let bridge = format!("br-{}", &id[..12]);
    assert!(link_exists(&bridge));

    // Bad input is refused, clearly, and leaves nothing.
    for (args, want) in [
        (&["network", "create", "n1"][..], "already exists"),
        (
            &["network", "create", "--subnet", "10.231.1.128/25", "n2"],
            "overlaps",
        ),
        (
            &["network", "create", "--subnet", "10.231.2.1/24", "n2"],
            "host bits",
        ),
        (
            &["network", "create", "--gateway", "10.231.2.1", "n2"],
            "needs --subnet",
        ),
        (
            &[
                "network",
                "create",
                "--subnet",
                "10.231.2.0/24",
                "--gateway",
                "10.231.3.1",
                "n2",
            ],
            "not a host address",
        ),
        (&["network", "create", "-d", "overlay", "n2"], "use bridge"),
        (&["network", "rm", "bridge"], "pre-defined"),
        (&["network", "rm", "nosuch"], "not found"),
    ] {
        let out = b.run(args);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
    assert!(!b.ok(&["network", "ls", "-q"]).contains("n2"));

    b.ok(&["network", "rm", "n1"]);
    assert!(!link_exists(&bridge));
    assert!(b.run(&["network", "inspect", "n1"]).status.code() != Some(0));
}

#[test]
fn containers_on_a_network_reach_each_other_and_resolve_names() {
    let b = berth();
    b.ok(&["network", "create", "--subnet", "10.231.3.0/24", "app"]);
    web(
        &b,
        "web1",
        &["--network", "app", "--network-alias", "frontend"],
    );
    let ip = ip_on(&b, "web1", "app");
    assert!(ip.starts_with("10.231.3."), "{ip}");
    // By address, by name, by alias and by id prefix, through the DNS server.
    let id = b.ok(&["inspect", "-f", "{{.Id}}", "web1"]);
    for target in [ip.as_str(), "web1", "frontend", &id[..12]] {
        let (code, out, err) = fetch(&b, &["--network", "app"], &format!("http://{target}/"));
        assert_eq!(
            (code, out.trim()),
            (0, "hello from web1"),
            "{target}: {err}"
        );
    }
    // Programs that ask the DNS server themselves (nslookup) get the answer too.
    let (code, out, err) = sh(
        &b,
        &["--network", "app"],
        "cat /etc/resolv.conf; nslookup web1",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("nameserver 127.0.0.11"), "{out}");
    assert!(out.contains(&ip), "{out}");
    // A container started later is found, and a restart with a new address is followed.
    web(&b, "web2", &["--network", "app"]);
    let (_, out, _) = fetch(&b, &["--network", "app"], "http://web2/");
    assert_eq!(out.trim(), "hello from web2");
    // A running container's address cannot be taken ...
    let out = b.run_ctr(&["-d", "--network", "app", "--ip", &ip], &["sleep", "60"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("already in use"), "{}", stderr(&out));
    // ... but while web1 is down another container takes its old address.
    b.ok(&["stop", "-t", "0", "web1"]);
    b.detached(
        &["--network", "app", "--ip", &ip, "--name", "squatter"],
        &["sleep", "60"],
    );
    b.ok(&["start", "web1"]);
    let new_ip = ip_on(&b, "web1", "app");
    assert_ne!(new_ip, ip);
    let (_, out, _) = fetch(&b, &["--network", "app"], "http://web1/");
    assert_eq!(out.trim(), "hello from web1");
    // Names of unknown containers fail fast.
    let (code, _, _) = sh(&b, &["--network", "app"], "nslookup nosuchname");
    assert_ne!(code, 0);
    // The default network has no name resolution, like Docker's.
    web(&b, "plain", &[]);
    let (code, _, _) = fetch(&b, &[], "http://plain/");
    assert_ne!(code, 0);
    for c in ["web1", "web2", "squatter", "plain"] {
        b.ok(&["rm", "-f", c]);
    }
    b.ok(&["network", "rm", "app"]);
}

#[test]
fn networks_are_isolated_and_a_dual_homed_container_reaches_both() {
    let b = berth();
    b.ok(&["network", "create", "--subnet", "10.231.4.0/24", "left"]);
    b.ok(&["network", "create", "--subnet", "10.231.5.0/24", "right"]);
    web(&b, "lweb", &["--network", "left"]);
    web(&b, "rweb", &["--network", "right"]);
    let lip = ip_on(&b, "lweb", "left");
    let rip = ip_on(&b, "rweb", "right");
    let (code, _, _) = fetch(&b, &["--network", "left"], &format!("http://{rip}/"));
    assert_ne!(code, 0, "left reached right by address");
    let (code, _, _) = fetch(&b, &["--network", "left"], "http://rweb/");
    assert_ne!(code, 0, "a name on another network resolved");
    let both = ["--network", "left", "--network", "right"];
    for (target, want) in [(&lip, "hello from lweb"), (&rip, "hello from rweb")] {
        let (code, out, err) = fetch(&b, &both, &format!("http://{target}/"));
        assert_eq!((code, out.trim()), (0, want), "{err}");
    }
    for c in ["lweb", "rweb"] {
        b.ok(&["rm", "-f", c]);
    }
    // network rm refuses while a container runs on it, then succeeds.
    b.detached(&["--network", "left", "--name", "holder"], &["sleep", "60"]);
    let out = b.run(&["network", "rm", "left"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("active endpoints") && stderr(&out).contains("holder"),
        "{}",
        stderr(&out)
    );
    b.ok(&["rm", "-f", "holder"]);
    b.ok(&["network", "rm", "left", "right"]);
}

/// A network namespace standing for the outside world: a veth from the host
/// (10.231.9.1) to it (10.231.9.2), where a web server prints the caller's address.
struct Outside {
    name: String,
    dir: tempfile::TempDir,
    server: Option<std::process::Child>,
}

impl Outside {
    fn new(tag: &str) -> Outside {
        let name = format!("berth-out-{tag}");
        let host_if = format!("bo{tag}h");
        let run = |args: &[&str]| {
            let out = Command::new("ip").args(args).output().unwrap();
            assert!(out.status.success(), "ip {args:?}: {}", stderr(&out));
        };
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(&["netns", "add", &name]);
        run(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", "eth0", "netns", &name,
        ]);
        run(&["addr", "add", "10.231.9.1/24", "dev", &host_if]);
        run(&["link", "set", &host_if, "up"]);
        run(&["-n", &name, "addr", "add", "10.231.9.2/24", "dev", "eth0"]);
        run(&["-n", &name, "link", "set", "eth0", "up"]);
        run(&["-n", &name, "link", "set", "lo", "up"]);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("cgi-bin")).unwrap();
        let cgi = dir.path().join("cgi-bin/whoami");
        std::fs::write(
            &cgi,
            "#!/bin/busybox sh\necho Content-Type: text/plain\necho\necho \"$REMOTE_ADDR\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&cgi, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let server = Command::new("ip")
            .args([
                "netns",
                "exec",
                &name,
                "busybox",
                "httpd",
                "-f",
                "-p",
                "10.231.9.2:80",
                "-h",
            ])
            .arg(dir.path())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        Outside {
            name,
            dir,
            server: Some(server),
        }
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        if let Some(mut s) = self.server.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        let _ = &self.dir;
    }
}

#[test]
fn egress_is_masqueraded_and_internal_networks_reach_nothing_outside_the_bridge() {
    let b = berth();
    let _outside = Outside::new("eg");
    b.ok(&["network", "create", "--subnet", "10.231.6.0/24", "open"]);
    b.ok(&[
        "network",
        "create",
        "--subnet",
        "10.231.7.0/24",
        "--internal",
        "sealed",
    ]);
    // Out through NAT: the outside sees the host's address, not the container's.
    let (code, out, err) = fetch(
        &b,
        &["--network", "open"],
        "http://10.231.9.2/cgi-bin/whoami",
    );
    assert_eq!((code, out.trim()), (0, "10.231.9.1"), "{err}");
    let (code, _, _) = fetch(
        &b,
        &["--network", "sealed"],
        "http://10.231.9.2/cgi-bin/whoami",
    );
    assert_ne!(code, 0, "an internal network reached the outside");
    // The host itself: a server on the bridge addresses is reachable from the open
    // network and unreachable (even its own gateway) from the internal one.
    let mut host_servers = Vec::new();
    for gw in ["10.231.6.1", "10.231.7.1"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "host\n").unwrap();
        host_servers.push((
            Command::new("busybox")
                .args(["httpd", "-f", "-p", &format!("{gw}:8088"), "-h"])
                .arg(dir.path())
                .spawn()
                .unwrap(),
            dir,
        ));
    }
    std::thread::sleep(Duration::from_millis(300));
    let (code, out, _) = fetch(&b, &["--network", "open"], "http://10.231.6.1:8088/");
    assert_eq!((code, out.trim()), (0, "host"));
    for url in ["http://10.231.7.1:8088/", "http://10.231.6.1:8088/"] {
        let (code, _, _) = fetch(&b, &["--network", "sealed"], url);
        assert_ne!(code, 0, "internal network reached the host at {url}");
    }
    // Names outside its network get a fast refusal, not a timeout.
    let start = std::time::Instant::now();
    let (code, _, _) = sh(&b, &["--network", "sealed"], "nslookup example.invalid");
    assert_ne!(code, 0);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    for (mut s, _) in host_servers {
        let _ = s.kill();
        let _ = s.wait();
    }
    b.ok(&["network", "rm", "open", "sealed"]);
}

#[test]
fn published_ports_bind_exactly_what_is_given() {
    let b = berth();
    b.ok(&["network", "create", "--subnet", "10.231.8.0/24", "pub"]);
    web(&b, "site", &["--network", "pub", "-p", "127.0.0.16::80"]);
    let port = b.ok(&["port", "site", "80"]);
    assert!(port.starts_with("127.0.0.16:"), "{port}");
    let host_port: u16 = port.rsplit(':').next().unwrap().parse().unwrap();
    let get = |addr: &str| -> std::io::Result<String> {
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
        let mut body = String::new();
        s.read_to_string(&mut body)?;
        Ok(body)
    };
    // (httpd may still be starting: the proxy closes the connection until it listens)
    let ok = b.eventually(10, || {
        get(&format!("127.0.0.16:{host_port}")).is_ok_and(|body| body.contains("hello from site"))
    });
    assert!(ok, "no page through 127.0.0.16:{host_port}");
    // Nothing accepts on another address with that port.
    let e = get(&format!("127.0.0.1:{host_port}")).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!(
        b.ok(&["port", "site"]),
        format!("80/tcp -> 127.0.0.16:{host_port}")
    );

    // A taken port is a clear error and leaves nothing behind.
    let out = b.run_ctr(
        &[
            "-d",
            "--network",
            "pub",
            "-p",
            &format!("127.0.0.16:{host_port}:80"),
        ],
        &["true"],
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains(&format!("127.0.0.16:{host_port}")),
        "{}",
        stderr(&out)
    );

    // UDP, on the default network.
    let rootfs = probe_rootfs().to_string_lossy().into_owned();
    b.ok(&[
        "run",
        "-d",
        "--name",
        "udp",
        "-p",
        "127.0.0.17::5353/udp",
        "--rootfs",
        &rootfs,
        "probe",
        "udp_echo",
        "5353",
    ]);
    let uport = b.ok(&["port", "udp", "5353/udp"]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut got = None;
    for _ in 0..10 {
        sock.send_to(b"ping", &uport).unwrap();
        let mut buf = [0u8; 64];
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            got = Some(String::from_utf8_lossy(&buf[..n]).into_owned());
            break;
        }
    }
    assert_eq!(got.as_deref(), Some("echo:ping"));
    for c in ["site", "udp"] {
        b.ok(&["rm", "-f", c]);
    }
    // The port is free again.
    assert!(get(&format!("127.0.0.16:{host_port}")).is_err());
    b.ok(&["network", "rm", "pub"]);
}

#[test]
fn removal_and_a_killed_monitor_leave_no_links_or_addresses() {
    let b = berth();
    b.ok(&["network", "create", "--subnet", "10.231.10.0/24", "tidy"]);
    let net_id = b.ok(&["network", "inspect", "-f", "{{.Id}}", "tidy"]);
    let id = b.detached(&["--network", "tidy", "--name", "t1"], &["sleep", "60"]);
    let ip = ip_on(&b, "t1", "tidy");
    let veth = format!("vb{}{}", &id[..7], &net_id[..4]);
    assert!(link_exists(&veth));
    b.ok(&["rm", "-f", "t1"]);
    // (the kernel removes the pair with the container's namespace, asynchronously)
    assert!(b.eventually(5, || !link_exists(&veth)));
    // The address is free again: asking for it works.
    let id = b.detached(
        &["--network", "tidy", "--ip", &ip, "--name", "t2"],
        &["sleep", "60"],
    );
    let veth = format!("vb{}{}", &id[..7], &net_id[..4]);
    // Kill its monitor: the next berth command cleans up after it.
    let monitor =
        std::fs::read_to_string(b.root().join("containers").join(&id).join("state.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&monitor).unwrap();
    let mpid = v["MonitorPid"].as_i64().unwrap() as i32;
    unsafe_kill(mpid);
    assert!(b.eventually(5, || b
        .ok(&["ps", "-a", "--format", "{{.Status}}", "-f", "name=t2"])
        .starts_with("Exited")));
    assert!(
        !link_exists(&veth),
        "the veth of a container whose monitor died"
    );
    b.ok(&["network", "rm", "tidy"]);
}

fn unsafe_kill(pid: i32) {
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
}

/// The compose fixture `bottle` without compose: an agent on an internal network whose
/// only way out is a dual-homed sidecar, published on a loopback alias.
#[test]
fn bottle_an_agent_reaches_out_only_through_its_sidecar() {
    let b = berth();
    b.ok(&[
        "network",
        "create",
        "--subnet",
        "10.231.11.0/24",
        "--internal",
        "bottle",
    ]);
    b.ok(&["network", "create", "--subnet", "10.231.12.0/24", "egress"]);
    b.detached(
        &["--name", "upstream", "--network", "egress"],
        &[
            "sh",
            "-c",
            "mkdir -p /www && echo upstream-ok > /www/index.html && exec httpd -f -p 80 -h /www",
        ],
    );
    let fetch_cgi = "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\necho \"Content-Type: text/plain\"\\necho\\ntimeout 3 wget -qO- http://upstream/\\n' > /www/cgi-bin/fetch && chmod +x /www/cgi-bin/fetch && exec httpd -f -p 8080 -h /www";
    b.detached(
        &[
            "--name",
            "sidecar",
            "--network",
            "bottle",
            "--network",
            "egress",
            "-p",
            "127.0.0.16::8080",
        ],
        &["sh", "-c", fetch_cgi],
    );
    b.detached(
        &["--name", "agent", "--network", "bottle"],
        &["sleep", "600"],
    );
    let agent = |cmd: &str| -> (i32, String) {
        let out = b.run(&["exec", "agent", "sh", "-c", cmd]);
        (
            out.status.code().unwrap_or(-1),
            stdout(&out).trim().to_string(),
        )
    };
    assert!(
        b.eventually(15, || agent(
            "timeout 5 wget -qO- http://sidecar:8080/cgi-bin/fetch"
        )
        .1 == "upstream-ok"),
        "the agent does not reach upstream through the sidecar"
    );
    assert_ne!(agent("timeout 3 wget -qO- http://upstream/").0, 0);
    let up_ip = ip_on(&b, "upstream", "egress");
    assert_ne!(agent(&format!("timeout 3 wget -qO- http://{up_ip}/")).0, 0);
    // No host address answers the agent, though a host service listens on all of them.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "host-reached\n").unwrap();
    let mut host = Command::new("busybox")
        .args(["httpd", "-f", "-p", "0.0.0.0:18081", "-h"])
        .arg(dir.path())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let addrs = String::from_utf8_lossy(
        &Command::new("ip")
            .args(["-4", "-o", "addr", "show"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    let mut checked = 0;
    for line in addrs.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.get(1) == Some(&"lo") {
            continue;
        }
        if let Some(addr) = f.get(3).and_then(|a| a.split('/').next()) {
            let (code, out) = agent(&format!("timeout 2 wget -qO- http://{addr}:18081/"));
            assert_ne!(code, 0, "the agent reached the host at {addr}: {out}");
            checked += 1;
        }
    }
    assert!(checked > 0);
    let _ = host.kill();
    let _ = host.wait();
    // The sidecar is published on 127.0.0.16 only.
    let port = b.ok(&["port", "sidecar", "8080"]);
    assert!(port.starts_with("127.0.0.16:"), "{port}");
    let mut s = TcpStream::connect(&port).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /cgi-bin/fetch HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.trim_end().ends_with("upstream-ok"), "{body}");
    let hp = port.rsplit(':').next().unwrap();
    assert!(TcpStream::connect(format!("127.0.0.1:{hp}")).is_err());
    for c in ["agent", "sidecar", "upstream"] {
        b.ok(&["rm", "-f", c]);
    }
    b.ok(&["network", "rm", "bottle", "egress"]);
}

/// A one-shot fake resolver on a loopback address of the host: answers every A query
/// with 10.231.99.99. Returns the names it was asked.
fn fake_resolver(addr: &'static str) -> std::thread::JoinHandle<Vec<String>> {
    let sock = UdpSocket::bind(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    std::thread::spawn(move || {
        let mut asked = Vec::new();
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let q = &buf[..n];
            // The question name, label by label.
            let mut i = 12;
            let mut labels = Vec::new();
            while i < n && q[i] != 0 {
                let len = q[i] as usize;
                labels.push(String::from_utf8_lossy(&q[i + 1..i + 1 + len]).into_owned());
                i += 1 + len;
            }
            let qtype = u16::from_be_bytes([q[i + 1], q[i + 2]]);
            let end = i + 5;
            asked.push(labels.join("."));
            let mut r = q[..end].to_vec();
            r[2] = 0x81;
            r[3] = 0x80;
            if qtype == 1 {
                r[7] = 1; // one answer
                r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 231, 99, 99]);
            }
            let _ = sock.send_to(&r, from);
            if asked.len() > 20 {
                break;
            }
        }
        asked
    })
}

#[test]
fn outside_names_are_forwarded_to_the_configured_resolvers() {
    let b = berth();
    b.ok(&["network", "create", "--subnet", "10.231.13.0/24", "fwd"]);
    let resolver = fake_resolver("127.0.0.42:53");
    let (code, out, err) = sh(
        &b,
        &["--network", "fwd", "--dns", "127.0.0.42"],
        "nslookup outside.example.test",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("10.231.99.99"), "{out}");
    // Our own names never leave: the resolver hears only the outside one.
    web(&b, "inner", &["--network", "fwd", "--dns", "127.0.0.42"]);
    let (code, out, _) = fetch(
        &b,
        &["--network", "fwd", "--dns", "127.0.0.42"],
        "http://inner/",
    );
    assert_eq!((code, out.trim()), (0, "hello from inner"));
    b.ok(&["rm", "-f", "inner"]);
    // Unblock the resolver thread with a last query of our own.
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..21 {
        let _ = s.send_to(
            &[
                0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'e', b'n', b'd', 0, 0, 1, 0, 1,
            ],
            "127.0.0.42:53",
        );
    }
    let asked = resolver.join().unwrap();
    assert!(
        asked.iter().any(|n| n == "outside.example.test"),
        "{asked:?}"
    );
    assert!(!asked.iter().any(|n| n.starts_with("inner")), "{asked:?}");
    b.ok(&["network", "rm", "fwd"]);
}

#[test]
fn connect_and_disconnect_running_and_stopped_containers() {
    let b = berth();
    b.ok(&["network", "create", "--subnet", "10.231.14.0/24", "one"]);
    b.ok(&["network", "create", "--subnet", "10.231.15.0/24", "two"]);
    web(&b, "svc", &["--network", "one"]);
    b.detached(&["--network", "two", "--name", "client"], &["sleep", "600"]);
    let client = |cmd: &str| -> (i32, String) {
        let out = b.run(&["exec", "client", "sh", "-c", cmd]);
        (
            out.status.code().unwrap_or(-1),
            stdout(&out).trim().to_string(),
        )
    };
    let wget = |target: &str| format!("timeout 3 wget -qO- http://{target}/; exit $?");
    assert_ne!(client(&wget("svc")).0, 0, "reached svc before connecting");
    // Connected while running: a new interface at once, and the name resolves.
    b.ok(&["network", "connect", "--alias", "api", "one", "client"]);
    let ip = ip_on(&b, "client", "one");
    assert!(ip.starts_with("10.231.14."), "{ip}");
    assert!(client("ip -o addr show eth1").1.contains(&ip));
    assert_eq!(client(&wget("svc")), (0, "hello from svc".to_string()));
    // svc (on "one") finds the client by its alias there.
    let out = b.run(&["exec", "svc", "nslookup", "api"]);
    assert!(stdout(&out).contains(&ip), "{}", stdout(&out));
    let out = b.run(&["network", "connect", "one", "client"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    // Disconnected: the interface and the address go, the name stops resolving.
    b.ok(&["network", "disconnect", "one", "client"]);
    assert_ne!(client("ip -o addr show eth1").0, 0);
    assert_ne!(client(&wget(&ip_on(&b, "svc", "one"))).0, 0);
    let out = b.run(&["network", "disconnect", "one", "client"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not connected"), "{}", stderr(&out));
    // A stopped container is connected on its next start.
    b.ok(&["stop", "-t", "0", "client"]);
    b.ok(&[
        "network",
        "connect",
        "--ip",
        "10.231.14.77",
        "one",
        "client",
    ]);
    b.ok(&["start", "client"]);
    assert_eq!(ip_on(&b, "client", "one"), "10.231.14.77");
    assert_eq!(client(&wget("svc")), (0, "hello from svc".to_string()));
    for c in ["svc", "client"] {
        b.ok(&["rm", "-f", c]);
    }
    b.ok(&["network", "rm", "one", "two"]);
}

#[test]
fn publish_all_maps_every_exposed_port_to_an_ephemeral_one() {
    let b = berth();
    b.detached(
        &["--name", "multi", "-P", "--expose", "80", "--expose", "8080-8081"],
        &["sh", "-c", "mkdir -p /w && echo p80 > /w/index.html && httpd -p 80 -h /w && httpd -p 8081 -h /w && exec sleep 600"],
    );
    let ports = b.ok(&["port", "multi"]);
    let lines: Vec<&str> = ports.lines().collect();
    assert_eq!(lines.len(), 3, "{ports}");
    for (key, line) in ["80/tcp", "8080/tcp", "8081/tcp"].iter().zip(&lines) {
        assert!(line.starts_with(&format!("{key} -> 0.0.0.0:")), "{ports}");
    }
    let p81 = b.ok(&["port", "multi", "8081"]);
    let port = p81.rsplit(':').next().unwrap();
    let ok = b.eventually(10, || {
        let Ok(mut s) = TcpStream::connect(format!("127.0.0.1:{port}")) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
        let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
        let mut body = String::new();
        let _ = s.read_to_string(&mut body);
        body.contains("p80")
    });
    assert!(ok, "nothing on the published port {p81}");
    let ps = b.ok(&["ps", "--format", "{{.Ports}}", "-f", "name=multi"]);
    assert!(ps.contains("->80/tcp") && ps.contains("->8081/tcp"), "{ps}");
    let bad = b.run_ctr(&["--rm", "--expose", "0"], &["true"]);
    assert_eq!(bad.status.code(), Some(125));
    assert!(stderr(&bad).contains("--expose"), "{}", stderr(&bad));
    b.ok(&["rm", "-f", "multi"]);
}

#[test]
fn concurrent_runs_get_distinct_addresses() {
    let b = berth();
    b.ok(&["network", "create", "--subnet", "10.231.16.0/24", "busy"]);
    let rootfs = b.rootfs();
    let children: Vec<_> = (0..8)
        .map(|i| {
            b.cmd()
                .args([
                    "run",
                    "-d",
                    "--network",
                    "busy",
                    "--name",
                    &format!("c{i}"),
                    "--rootfs",
                    &rootfs,
                    "sleep",
                    "60",
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let mut ips: Vec<String> = (0..8)
        .map(|i| ip_on(&b, &format!("c{i}"), "busy"))
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 8, "{ips:?}");
    for i in 0..8 {
        b.ok(&["rm", "-f", &format!("c{i}")]);
    }
    b.ok(&["network", "rm", "busy"]);
}

#[test]
fn a_port_on_all_addresses_is_reachable_from_another_namespace() {
    let b = berth();
    web(&b, "wide", &["-p", "80"]);
    let port = b.ok(&["port", "wide", "80"]);
    assert!(port.starts_with("0.0.0.0:"), "{port}");
    let hp = port.rsplit(':').next().unwrap().to_string();
    // A namespace of the test's own, linked to the host by a veth (10.231.17.1 <-> .2).
    let ns = "berth-client-ns";
    let run = |args: &[&str]| {
        let out = Command::new("ip").args(args).output().unwrap();
        assert!(out.status.success(), "ip {args:?}: {}", stderr(&out));
    };
    let _ = Command::new("ip").args(["netns", "del", ns]).output();
    run(&["netns", "add", ns]);
    let cleanup = || {
        let _ = Command::new("ip").args(["netns", "del", ns]).output();
    };
    run(&[
        "link", "add", "bclh", "type", "veth", "peer", "name", "eth0", "netns", ns,
    ]);
    run(&["addr", "add", "10.231.17.1/24", "dev", "bclh"]);
    run(&["link", "set", "bclh", "up"]);
    run(&["-n", ns, "addr", "add", "10.231.17.2/24", "dev", "eth0"]);
    run(&["-n", ns, "link", "set", "eth0", "up"]);
    let ok = b.eventually(10, || {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "busybox",
                "wget",
                "-qO-",
                &format!("http://10.231.17.1:{hp}/"),
            ])
            .output()
            .unwrap();
        stdout(&out).contains("hello from wide")
    });
    cleanup();
    assert!(
        ok,
        "the published port is not reachable from another namespace"
    );
    // And from the host itself, on loopback.
    let mut s = TcpStream::connect(format!("127.0.0.1:{hp}")).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.contains("hello from wide"), "{body}");
    b.ok(&["rm", "-f", "wide"]);
}

#[test]
fn resolv_conf_and_hosts_follow_dockers_rules() {
    let b = berth();
    // Default bridge: --dns servers are written directly, with --dns-search/--dns-option.
    let (code, out, err) = sh(
        &b,
        &[
            "--dns",
            "127.0.0.53",
            "--dns-search",
            "corp.test",
            "--dns-option",
            "ndots:2",
            "--add-host",
            "db.test:10.231.18.5",
            "--add-host",
            "host.test:host-gateway",
            "--hostname",
            "box",
        ],
        "cat /etc/resolv.conf /etc/hosts; ip route | grep default",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("nameserver 127.0.0.53\nsearch corp.test\noptions ndots:2\n"),
        "{out}"
    );
    assert!(out.contains("10.231.18.5\tdb.test\n"), "{out}");
    let gw = out
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_string();
    assert!(out.contains(&format!("{gw}\thost.test\n")), "{out}");
    assert!(
        out.lines()
            .any(|l| l.ends_with("\tbox") && !l.starts_with("127.")),
        "{out}"
    );
    // A user-defined network: the embedded server, which forwards to --dns.
    b.ok(&["network", "create", "--subnet", "10.231.19.0/24", "named"]);
    let (_, out, _) = sh(
        &b,
        &[
            "--network",
            "named",
            "--dns",
            "127.0.0.53",
            "--dns-search",
            "corp.test",
        ],
        "cat /etc/resolv.conf",
    );
    assert_eq!(out, "nameserver 127.0.0.11\nsearch corp.test\n");
    // Bad --add-host is refused at create.
    let out = b.run_ctr(&["--rm", "--add-host", "nohost"], &["true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("--add-host"), "{}", stderr(&out));
    b.ok(&["network", "rm", "named"]);
}

#[test]
fn system_reset_takes_every_network_of_the_root_off_the_host() {
    let b = berth();
    b.ok(&["network", "create", "--subnet", "10.231.20.0/24", "gone"]);
    b.detached(
        &["--network", "gone", "--name", "r1", "-v", "rv:/data"],
        &["sleep", "60"],
    );
    b.detached(&["--name", "r2", "-p", "127.0.0.1::80"], &["sleep", "60"]);
    let bridges = b.ok(&[
        "network",
        "inspect",
        "-f",
        "{{index .Options \"com.docker.network.bridge.name\"}}",
        "gone",
        "bridge",
    ]);
    let out = b.run(&["system", "reset"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("add -f"), "{}", stderr(&out));
    b.ok(&["system", "reset", "-f"]);
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
    for br in bridges.lines() {
        assert!(!link_exists(br), "bridge {br} is still there");
    }
    let bridges: Vec<String> = bridges.lines().map(str::to_string).collect();
    assert!(
        b.eventually(5, || b.network_leaks(&bridges).is_empty()),
        "{:?}",
        b.network_leaks(&bridges)
    );
}

#[test]
fn per_network_aliases_and_addresses_take_dockers_advanced_syntax() {
    let b = berth();
    b.ok(&["network", "create", "--subnet", "10.231.40.0/24", "adv-a"]);
    b.ok(&["network", "create", "--subnet", "10.231.41.0/24", "adv-b"]);
    // An alias and an address on each network, the second network included.
    web(
        &b,
        "advweb",
        &[
            "--network",
            "name=adv-a,alias=front,ip=10.231.40.7",
            "--network",
            "name=adv-b,alias=back,alias=back2,ip=10.231.41.9",
        ],
    );
    assert_eq!(ip_on(&b, "advweb", "adv-a"), "10.231.40.7");
    assert_eq!(ip_on(&b, "advweb", "adv-b"), "10.231.41.9");
    for (net, name, ok) in [
        ("adv-a", "front", true),
        ("adv-b", "back2", true),
        // Aliases are per network: `back` is not a name on adv-a.
        ("adv-a", "back", false),
    ] {
        let (code, out, _) = fetch(&b, &["--network", net], &format!("http://{name}/"));
        assert_eq!(code == 0, ok, "{name} on {net}: {out}");
        if ok {
            assert_eq!(out.trim(), "hello from advweb");
        }
    }
    // The legacy flags apply to the first network, and refuse to mix with its own.
    let out = b.run_ctr(
        &["--network", "name=adv-a,alias=x", "--network-alias", "y"],
        &["true"],
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("conflicting options"),
        "{}",
        stderr(&out)
    );
    let out = b.run_ctr(
        &["--network", "name=adv-a,mac-address=02:42:ac:11:00:02"],
        &["true"],
    );
    assert!(stderr(&out).contains("mac-address"), "{}", stderr(&out));
    b.ok(&["rm", "-f", "advweb"]);
}

#[test]
fn network_container_mode_shares_the_other_containers_network_and_names() {
    let b = berth();
    b.detached(
        &["--name", "netowner", "--network", "none"],
        &[
            "sh",
            "-c",
            "echo over-shared-lo > /tmp/x; while true; do nc -l -p 7777 < /tmp/x; done",
        ],
    );
    // Loopback is the owner's: its server answers on 127.0.0.1, and the hostname is its.
    let out = b.run_ctr(
        &["--rm", "--network", "container:netowner"],
        &[
            "sh",
            "-c",
            "hostname; for i in 1 2 3 4 5; do nc 127.0.0.1 7777 && break; sleep 0.2; done",
        ],
    );
    let owner_host = b.ok(&["inspect", "-f", "{{.Config.Hostname}}", "netowner"]);
    assert_eq!(
        stdout(&out),
        format!("{owner_host}\nover-shared-lo\n"),
        "{}",
        stderr(&out)
    );
    for (opts, says) in [
        (&["-p", "8080:80"][..], "port publishing"),
        (&["--hostname", "h"][..], "hostname"),
        (&["--dns", "10.0.0.1"][..], "dns"),
    ] {
        let mut args = vec!["--rm", "--network", "container:netowner"];
        args.extend_from_slice(opts);
        let out = b.run_ctr(&args, &["true"]);
        assert_eq!(out.status.code(), Some(125));
        assert!(stderr(&out).contains(says), "{opts:?}: {}", stderr(&out));
    }
    b.ok(&["stop", "-t", "0", "netowner"]);
    let out = b.run_ctr(&["--rm", "--network", "container:netowner"], &["true"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not running"), "{}", stderr(&out));
    b.ok(&["rm", "-f", "netowner"]);
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    b.assert_no_leaks();
}

#[test]
fn a_default_bridge_container_connected_to_a_user_network_resolves_names_at_once() {
    let b = berth();
    b.ok(&["network", "create", "--subnet", "10.231.31.0/24", "latedns"]);
    web(&b, "latesvc", &["--network", "latedns"]);
    b.detached(&["--name", "latecomer"], &["sleep", "600"]);
    let exec = |cmd: &str| {
        let out = b.run(&["exec", "latecomer", "sh", "-c", cmd]);
        (out.status.code(), stdout(&out).trim().to_string())
    };
    assert!(!exec("cat /etc/resolv.conf").1.contains("127.0.0.11"));
    b.ok(&["network", "connect", "latedns", "latecomer"]);
    // No restart: resolv.conf points at the embedded server, which now answers.
    assert!(exec("cat /etc/resolv.conf")
        .1
        .contains("nameserver 127.0.0.11"));
    let svc_ip = ip_on(&b, "latesvc", "latedns");
    let (code, out) = exec("nslookup latesvc 127.0.0.11");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&svc_ip), "{out}");
    assert_eq!(
        exec("timeout 3 wget -qO- http://latesvc/; exit $?"),
        (Some(0), "hello from latesvc".to_string())
    );
    b.ok(&["rm", "-f", "latecomer", "latesvc"]);
    b.ok(&["network", "rm", "latedns"]);
    b.assert_no_leaks();
}
