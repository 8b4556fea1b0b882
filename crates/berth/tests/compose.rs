//! `berth compose` runs real stacks: projects written into temp directories, on the
//! fixture busybox image, each test in its own state root with its own project names
//! and subnets. What a Docker Compose user relies on: names and labels, `down` leaving
//! nothing, a second `up` recreating only what changed, dependency conditions, the
//! `ps`/`logs`/`exec`/`run`/`port` outputs, secrets, volumes, networks, and errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use testsupport::{stderr, stdout, Berth};

const IMAGE: &str = "localhost/fixtures/busybox:latest";

/// A project in a temp directory, with a state root of its own holding the fixture
/// image.
struct Project {
    b: Berth,
    dir: tempfile::TempDir,
    name: String,
}

fn import_image(b: &Berth) {
    let tar = Command::new("tar")
        .args([
            "-C",
            testsupport::busybox_rootfs().to_str().unwrap(),
            "-c",
            ".",
        ])
        .output()
        .unwrap();
    assert!(tar.status.success());
    let mut child = b
        .cmd()
        .args(["import", "-", IMAGE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
}

impl Project {
    fn new(name: &str, yaml: &str) -> Project {
        let b = Berth::new(env!("CARGO_BIN_EXE_berth"));
        import_image(&b);
        let p = Project {
            b,
            dir: tempfile::tempdir().unwrap(),
            name: name.to_string(),
        };
        p.write("compose.yaml", yaml);
        p
    }

    /// Another project in the same state root.
    fn sibling(&self, name: &str, yaml: &str) -> Sibling<'_> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("compose.yaml"),
            yaml.replace("IMAGE", IMAGE),
        )
        .unwrap();
        Sibling {
            b: &self.b,
            dir,
            name: name.to_string(),
        }
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join(file), text.replace("IMAGE", IMAGE)).unwrap();
    }

    fn compose(&self, args: &[&str]) -> Output {
        compose(&self.b, self.dir.path(), &self.name, args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.compose(args);
        assert!(
            out.status.success(),
            "compose {args:?} failed with {:?}\nstdout: {}\nstderr: {}",
            out.status.code(),
            stdout(&out),
            stderr(&out)
        );
        stdout(&out).trim().to_string()
    }

    /// The id of container `n` of a service.
    fn id(&self, service: &str) -> String {
        self.ok(&["ps", "-a", "-q", service])
    }

    fn inspect(&self, container: &str, format: &str) -> String {
        self.b.ok(&["inspect", "--format", format, container])
    }

    /// Nothing of the project is left in the state root.
    fn assert_gone(&self) {
        assert_eq!(self.b.ok(&["ps", "-a", "-q"]), "");
        let nets = self.b.ok(&["network", "ls", "--format", "{{.Name}}"]);
        assert!(
            !nets.lines().any(|n| n.starts_with(&self.name)),
            "networks left: {nets}"
        );
        let vols = self.b.ok(&["volume", "ls", "--format", "{{.Name}}"]);
        assert!(
            !vols.lines().any(|n| n.starts_with(&self.name)),
            "volumes left: {vols}"
        );
    }
}

struct Sibling<'a> {
    b: &'a Berth,
    dir: tempfile::TempDir,
    name: String,
}

impl Sibling<'_> {
    fn compose(&self, args: &[&str]) -> Output {
        compose(self.b, self.dir.path(), &self.name, args)
    }
}

fn compose(b: &Berth, dir: &Path, name: &str, args: &[&str]) -> Output {
    let mut cmd = b.cmd();
    cmd.current_dir(dir)
        .args(["compose", "--progress", "plain", "-p", name])
        .args(args);
    let out = cmd.output().unwrap();
    b.ok(&["ps", "-a", "-q"]); // lets the leak guard see every container made
    out
}

fn lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn up_names_and_labels_everything_and_down_leaves_nothing() {
    let p = Project::new(
        "labels",
        r#"
services:
  web:
    image: IMAGE
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    volumes: ["data:/data"]
  worker:
    image: IMAGE
    command: ["sleep", "300"]
    depends_on: [web]
volumes:
  data: {}
"#,
    );
    let out = p.compose(&["up", "-d"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    for line in [
        "Network labels_default  Created",
        "Volume labels_data  Created",
        "Container labels-web-1  Started",
        "Container labels-worker-1  Started",
    ] {
        assert!(err.contains(line), "{line:?} not in\n{err}");
    }
    // The dependency started first.
    assert!(
        err.find("Container labels-web-1  Started")
            < err.find("Container labels-worker-1  Starting"),
        "{err}"
    );
    assert_eq!(
        lines(&p.b.ok(&["ps", "--format", "{{.Names}}"])),
        ["labels-web-1", "labels-worker-1"]
    );

    let l: Value =
        serde_json::from_str(&p.inspect("labels-worker-1", "{{json .Config.Labels}}")).unwrap();
    let dir = p.dir.path().to_str().unwrap();
    assert_eq!(l["com.docker.compose.project"], "labels");
    assert_eq!(l["com.docker.compose.service"], "worker");
    assert_eq!(l["com.docker.compose.container-number"], "1");
    assert_eq!(l["com.docker.compose.oneoff"], "False");
    assert_eq!(l["com.docker.compose.project.working_dir"], dir);
    assert_eq!(
        l["com.docker.compose.project.config_files"],
        format!("{dir}/compose.yaml")
    );
    assert_eq!(
        l["com.docker.compose.depends_on"],
        "web:service_started:false"
    );
    assert_eq!(
        l["com.docker.compose.config-hash"].as_str().unwrap().len(),
        64
    );
    assert!(l["com.docker.compose.image"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert!(l["com.docker.compose.version"].is_string());

    let nl: Value = serde_json::from_str(&p.b.ok(&[
        "network",
        "inspect",
        "--format",
        "{{json .Labels}}",
        "labels_default",
    ]))
    .unwrap();
    assert_eq!(nl["com.docker.compose.network"], "default");
    assert_eq!(nl["com.docker.compose.project"], "labels");
    let vl: Value = serde_json::from_str(&p.b.ok(&[
        "volume",
        "inspect",
        "--format",
        "{{json .Labels}}",
        "labels_data",
    ]))
    .unwrap();
    assert_eq!(vl["com.docker.compose.volume"], "data");
    assert_eq!(vl["com.docker.compose.project"], "labels");

    // The service name is an alias on the network: DNS finds it, and the container name.
    let aliases = p.inspect(
        "labels-web-1",
        "{{json .NetworkSettings.Networks.labels_default.Aliases}}",
    );
    assert!(aliases.contains("\"web\""), "{aliases}");
    for host in ["web", "labels-web-1"] {
        let got = p.ok(&[
            "exec",
            "-T",
            "worker",
            "wget",
            "-qO-",
            &format!("http://{host}/"),
        ]);
        assert_eq!(got, "hello from the image", "{host}");
    }

    // Without -v the named volume outlives the containers; with it, nothing is left.
    p.ok(&["down", "-t", "1"]);
    assert_eq!(p.b.ok(&["ps", "-a", "-q"]), "");
    assert!(p.b.ok(&["volume", "ls", "-q"]).contains("labels_data"));
    p.ok(&["up", "-d"]);
    let out = p.compose(&["down", "-v", "-t", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Volume labels_data  Removed"),
        "{}",
        stderr(&out)
    );
    p.assert_gone();
}

#[test]
fn a_second_up_recreates_only_the_services_that_changed() {
    let yaml = |greeting: &str| {
        format!(
            r#"
services:
  keep:
    image: IMAGE
    command: ["sleep", "300"]
  change:
    image: IMAGE
    command: ["sleep", "300"]
    environment:
      GREETING: {greeting}
"#
        )
    };
    let p = Project::new("reup", &yaml("hello"));
    p.ok(&["up", "-d"]);
    let (keep, change) = (p.id("keep"), p.id("change"));

    let out = p.compose(&["up", "-d"]);
    assert!(
        stderr(&out).contains("Container reup-keep-1  Running"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        (p.id("keep"), p.id("change")),
        (keep.clone(), change.clone())
    );

    p.write("compose.yaml", &yaml("bonjour"));
    let out = p.compose(&["up", "-d", "-t", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Container reup-change-1  Recreated"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.id("keep"), keep);
    let changed = p.id("change");
    assert_ne!(changed, change);
    assert_eq!(
        p.ok(&["exec", "-T", "change", "sh", "-c", "echo $GREETING"]),
        "bonjour"
    );

    // A stopped, unchanged container is started again, not replaced.
    p.b.ok(&["stop", "-t", "1", &keep]);
    p.ok(&["up", "-d"]);
    assert_eq!(p.id("keep"), keep);
    assert_eq!(p.inspect(&keep, "{{.State.Status}}"), "running");

    p.write("compose.yaml", &yaml("hola"));
    p.ok(&["up", "-d", "--no-recreate"]);
    assert_eq!(p.id("change"), changed);
    p.ok(&["up", "-d", "--force-recreate", "-t", "1", "keep"]);
    assert_ne!(p.id("keep"), keep);
    assert_eq!(p.id("change"), changed);
    p.ok(&["down", "-t", "1"]);
    p.assert_gone();
}

#[test]
fn dependencies_start_in_order_and_wait_for_their_conditions() {
    let p = Project::new(
        "order",
        r#"
services:
  db:
    image: IMAGE
    command: ["sh", "-c", "sleep 1; touch /state/db /tmp/ready; exec sleep 300"]
    volumes: ["state:/state"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 200ms
      retries: 50
  migrate:
    image: IMAGE
    command: ["sh", "-c", "sleep 0.5; touch /state/migrate"]
    volumes: ["state:/state"]
  app:
    image: IMAGE
    command: ["sh", "-c", "ls /state > /tmp/saw; exec sleep 300"]
    volumes: ["state:/state"]
    depends_on:
      db:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
volumes:
  state: {}
"#,
    );
    let out = p.compose(&["up", "-d"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("Container order-db-1  Healthy"), "{err}");
    assert!(err.contains("Container order-migrate-1  Exited"), "{err}");
    // What app found when it started: both dependencies had done their part.
    assert_eq!(
        p.ok(&["exec", "-T", "app", "cat", "/tmp/saw"]),
        "db\nmigrate"
    );
    assert_eq!(
        p.ok(&[
            "ps",
            "-a",
            "--format",
            "{{.State}} {{.ExitCode}}",
            "migrate"
        ]),
        "exited 0"
    );
    // --wait counts a completed dependency as done.
    p.ok(&["up", "-d", "--wait"]);
    p.ok(&["down", "-v", "-t", "1"]);
    p.assert_gone();
}

#[test]
fn a_failed_dependency_fails_up_and_names_it() {
    let p = Project::new(
        "failing",
        r#"
services:
  migrate:
    image: IMAGE
    command: ["sh", "-c", "exit 3"]
  app:
    image: IMAGE
    command: ["sleep", "300"]
    depends_on:
      migrate:
        condition: service_completed_successfully
"#,
    );
    let out = p.compose(&["up", "-d"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(r#"service "migrate" didn't complete successfully: exit 3"#),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.ok(&["ps", "-a", "-q", "app"]), "", "app was created");

    let sick = p.sibling(
        "sick",
        r#"
services:
  db:
    image: IMAGE
    command: ["sleep", "300"]
    healthcheck:
      test: ["CMD-SHELL", "exit 1"]
      interval: 200ms
      retries: 2
  app:
    image: IMAGE
    command: ["sleep", "300"]
    depends_on:
      db:
        condition: service_healthy
"#,
    );
    let out = sick.compose(&["up", "-d"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("dependency failed to start: container sick-db-1 is unhealthy"),
        "{}",
        stderr(&out)
    );
    assert!(sick.compose(&["down", "-t", "1"]).status.success());
    p.ok(&["down", "-t", "1"]);
    p.assert_gone();
}

#[test]
fn ps_lists_containers_as_compose_does() {
    let p = Project::new(
        "psproj",
        r#"
services:
  web:
    image: IMAGE
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports: ["127.0.0.1::80"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 200ms
  job:
    image: IMAGE
    command: ["true"]
"#,
    );
    p.ok(&["up", "-d", "--wait", "web"]);
    p.ok(&["up", "-d", "job"]);
    assert!(p
        .b
        .eventually(10, || p.ok(&["ps", "-q"]).lines().count() == 1));

    let table = p.ok(&["ps"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
    );
    assert_eq!(table.lines().count(), 2, "{table}");
    assert!(
        table.contains("psproj-web-1") && table.contains("(healthy)"),
        "{table}"
    );

    let web = p.ok(&["ps", "-q"]);
    assert_eq!(web.len(), 64);
    assert_eq!(p.ok(&["ps", "-a", "-q"]).lines().count(), 2);
    assert_eq!(p.ok(&["ps", "--services"]), "web");
    assert_eq!(
        p.ok(&[
            "ps",
            "--status",
            "exited",
            "--format",
            "{{.Service}} {{.ExitCode}}"
        ]),
        "job 0"
    );

    let json = p.ok(&["ps", "--format", "json"]);
    assert_eq!(json.lines().count(), 1);
    let row: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(row["ID"], web.as_str());
    assert_eq!(row["Name"], "psproj-web-1");
    assert_eq!(row["Service"], "web");
    assert_eq!(row["Project"], "psproj");
    assert_eq!(row["State"], "running");
    assert_eq!(row["Health"], "healthy");
    assert_eq!(row["ExitCode"], 0);
    assert!(row["Status"].as_str().unwrap().starts_with("Up "));
    assert!(row["Labels"]
        .as_str()
        .unwrap()
        .contains("com.docker.compose.project=psproj"));
    let publ = &row["Publishers"][0];
    assert_eq!(publ["URL"], "127.0.0.1");
    assert_eq!(publ["TargetPort"], 80);
    assert_eq!(publ["Protocol"], "tcp");
    let port = publ["PublishedPort"].as_u64().unwrap();
    assert!(port > 0);
    assert_eq!(p.ok(&["port", "web", "80"]), format!("127.0.0.1:{port}"));
    let page = Command::new("curl")
        .args([
            "-fsS",
            "--max-time",
            "5",
            &format!("http://127.0.0.1:{port}/"),
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&page), "hello from the image\n");

    let bad = p.compose(&["ps", "--status", "sleeping"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("invalid --status"),
        "{}",
        stderr(&bad)
    );
    let bad = p.compose(&["port", "web", "81"]);
    assert_eq!(bad.status.code(), Some(1));
    p.ok(&["down", "-t", "1"]);
    p.assert_gone();
}

#[test]
fn logs_are_prefixed_with_the_container_and_attached_up_follows_them() {
    let p = Project::new(
        "logs",
        r#"
services:
  one:
    image: IMAGE
    command: ["sh", "-c", "echo one-a; echo one-b >&2"]
  two:
    image: IMAGE
    command: ["sh", "-c", "sleep 0.3; echo two-a"]
"#,
    );
    // Attached: every line behind its prefix, the exits, and back once all exited.
    let out = p.compose(&["up", "--no-color"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "Attaching to one-1, two-1",
        "one-1 | one-a",
        "one-1 | one-b",
        "two-1 | two-a",
        "one-1 exited with code 0",
        "two-1 exited with code 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
    }

    assert_eq!(
        p.ok(&["logs", "--no-color"]),
        "one-1 | one-a\none-1 | one-b\ntwo-1 | two-a"
    );
    assert_eq!(p.ok(&["logs", "--no-log-prefix", "one"]), "one-a\none-b");
    assert_eq!(p.ok(&["logs", "--tail", "1", "one"]), "one-1 | one-b");
    // -f ends when the containers have stopped.
    assert_eq!(p.ok(&["logs", "-f", "two"]), "two-1 | two-a");
    // Attached with an exit code taken from a service.
    p.write(
        "compose.yaml",
        r#"
services:
  quick:
    image: IMAGE
    command: ["sh", "-c", "exit 4"]
  long:
    image: IMAGE
    command: ["sleep", "300"]
"#,
    );
    let out = p.compose(&[
        "up",
        "--exit-code-from",
        "quick",
        "-t",
        "1",
        "--remove-orphans",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stdout(&out).contains("Aborting on container exit..."));
    assert_eq!(p.ok(&["ps", "-q"]), "", "the abort stopped the stack");
    p.ok(&["down"]);
    p.assert_gone();
}

#[test]
fn exec_and_run_reach_the_service_containers() {
    let p = Project::new(
        "execrun",
        r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "300"]
    environment:
      FOO: bar
    working_dir: /www
"#,
    );
    p.ok(&["up", "-d"]);
    assert_eq!(
        p.ok(&["exec", "-T", "web", "sh", "-c", "echo $FOO $(pwd)"]),
        "bar /www"
    );
    assert_eq!(
        p.ok(&[
            "exec",
            "-T",
            "-e",
            "X=1",
            "-w",
            "/tmp",
            "web",
            "sh",
            "-c",
            "echo $X $(pwd)"
        ]),
        "1 /tmp"
    );
    assert_eq!(
        p.ok(&["exec", "-T", "-u", "1000", "web", "id", "-u"]),
        "1000"
    );
    let out = p.compose(&["exec", "-T", "web", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    let out = p.compose(&["exec", "-T", "nope", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no such service: nope"),
        "{}",
        stderr(&out)
    );

    // run: the service's settings, a command of its own, gone afterwards with --rm.
    assert_eq!(
        p.ok(&["run", "--rm", "-T", "web", "sh", "-c", "echo $FOO"]),
        "bar"
    );
    assert_eq!(
        p.ok(&[
            "run",
            "--rm",
            "-T",
            "-e",
            "FOO=baz",
            "web",
            "sh",
            "-c",
            "echo $FOO"
        ]),
        "baz"
    );
    let out = p.compose(&["run", "--rm", "-T", "web", "sh", "-c", "exit 5"]);
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(
        p.ok(&["ps", "-a", "-q"]).lines().count(),
        1,
        "a --rm container is left"
    );
    let name = p.ok(&[
        "run",
        "-d",
        "--name",
        "execrun-oneoff",
        "web",
        "sleep",
        "300",
    ]);
    assert_eq!(name, "execrun-oneoff");
    assert_eq!(
        p.inspect(
            "execrun-oneoff",
            "{{index .Config.Labels \"com.docker.compose.oneoff\"}}"
        ),
        "True"
    );
    // One-off containers are not listed without -a, and `down` removes them.
    assert_eq!(p.ok(&["ps", "-q"]).lines().count(), 1);
    assert_eq!(p.ok(&["ps", "-a", "-q"]).lines().count(), 2);
    p.ok(&["down", "-t", "1"]);
    p.assert_gone();
}

#[test]
fn stop_start_restart_kill_and_rm_act_on_the_services() {
    let p = Project::new(
        "ops",
        r#"
services:
  a:
    image: IMAGE
    command: ["sleep", "300"]
    init: true
  b:
    image: IMAGE
    command: ["sleep", "300"]
    depends_on: [a]
"#,
    );
    p.ok(&["up", "-d"]);
    let (a, b) = (p.id("a"), p.id("b"));
    let status = |id: &str| p.inspect(id, "{{.State.Status}}");
    p.ok(&["stop", "-t", "1", "b"]);
    assert_eq!(
        (status(&a), status(&b)),
        ("running".into(), "exited".into())
    );
    p.ok(&["start", "b"]);
    assert_eq!(status(&b), "running");
    let started = p.inspect(&a, "{{.State.StartedAt}}");
    p.ok(&["restart", "-t", "1", "a"]);
    assert_eq!(status(&a), "running");
    assert_ne!(p.inspect(&a, "{{.State.StartedAt}}"), started);
    p.ok(&["kill", "b"]);
    assert_eq!(status(&b), "exited");
    assert_eq!(p.inspect(&b, "{{.State.ExitCode}}"), "137");
    p.ok(&["kill", "-s", "TERM", "a"]);
    assert!(p.b.eventually(5, || status(&a) == "exited"));
    // rm without -f asks, and without a terminal the answer is no.
    p.ok(&["rm", "b"]);
    assert_eq!(p.ok(&["ps", "-a", "-q"]).lines().count(), 2);
    p.ok(&["rm", "-f", "b"]);
    assert_eq!(p.ok(&["ps", "-a", "-q"]), a);
    p.ok(&["start"]);
    let out = p.compose(&["rm", "-f"]);
    assert!(
        stderr(&out).contains("No stopped containers"),
        "{}",
        stderr(&out)
    );
    p.ok(&["rm", "-f", "-s"]);
    assert_eq!(p.ok(&["ps", "-a", "-q"]), "");
    p.ok(&["down"]);
    p.assert_gone();
}

#[test]
fn config_prints_the_loaded_model() {
    let p = Project::new(
        "cfg",
        r#"
services:
  web:
    image: IMAGE
    environment:
      GREETING: ${GREETING:-hi}
    ports: ["127.0.0.1:8080:80"]
  db:
    image: IMAGE
    volumes: ["data:/data"]
volumes:
  data: {}
"#,
    );
    let json: Value = serde_json::from_str(&p.ok(&["config", "--format", "json"])).unwrap();
    assert_eq!(json["name"], "cfg");
    assert_eq!(json["services"]["web"]["environment"]["GREETING"], "hi");
    assert_eq!(json["services"]["web"]["ports"][0]["published"], "8080");
    let yaml = p.ok(&["config"]);
    assert!(yaml.starts_with("name: cfg\nservices:\n"), "{yaml}");
    assert!(yaml.contains("      GREETING: hi\n"), "{yaml}");
    assert_eq!(p.ok(&["config", "--services"]), "db\nweb");
    assert_eq!(p.ok(&["config", "--volumes"]), "data");
    assert_eq!(p.ok(&["config", "-q"]), "");
    p.write("compose.yaml", "services:\n  web:\n    image: [\n");
    let out = p.compose(&["config"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("compose.yaml:"), "{}", stderr(&out));
}

#[test]
fn scaled_services_get_numbered_containers_behind_one_name() {
    let p = Project::new(
        "scale",
        r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "300"]
    scale: 2
  client:
    image: IMAGE
    command: ["sleep", "300"]
"#,
    );
    p.ok(&["up", "-d"]);
    assert_eq!(
        lines(&p.b.ok(&["ps", "--format", "{{.Names}}"])),
        ["scale-client-1", "scale-web-1", "scale-web-2"]
    );
    let second = p.ok(&["exec", "-T", "--index", "2", "web", "hostname"]);
    assert!(p.id("web").contains(&second), "{second}");
    // The service name answers with every container's address.
    let addrs: Vec<String> = ["scale-web-1", "scale-web-2"]
        .iter()
        .map(|c| {
            p.inspect(
                c,
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            )
        })
        .collect();
    let looked_up = p.ok(&["exec", "-T", "client", "nslookup", "web"]);
    for a in &addrs {
        assert!(looked_up.contains(a.as_str()), "{a} not in {looked_up}");
    }
    p.ok(&["up", "-d", "--scale", "web=1", "-t", "1"]);
    assert_eq!(p.ok(&["ps", "-q", "web"]).lines().count(), 1);
    assert_eq!(p.ok(&["ps", "--format", "{{.Name}}", "web"]), "scale-web-1");
    p.ok(&["up", "-d", "--scale", "web=3"]);
    assert_eq!(p.ok(&["ps", "-q", "web"]).lines().count(), 3);
    p.ok(&["down", "-t", "1"]);
    p.assert_gone();
}

#[test]
fn secrets_and_configs_are_read_only_files_with_their_modes() {
    let p = Project::new(
        "secrets",
        r#"
services:
  app:
    image: IMAGE
    command: ["sleep", "300"]
    secrets:
      - token
      - source: apikey
        target: api
        mode: 0400
        uid: "1000"
        gid: "1000"
    configs:
      - source: conf
        target: /etc/app.conf
secrets:
  token:
    file: ./token.txt
  apikey:
    environment: API_KEY
configs:
  conf:
    content: "a=1"
"#,
    );
    p.write("token.txt", "t0ken\n");
    p.b.set_env("API_KEY", "s3cret");
    p.ok(&["up", "-d"]);
    let run = |cmd: &str| p.ok(&["exec", "-T", "app", "sh", "-c", cmd]);
    assert_eq!(run("cat /run/secrets/token"), "t0ken");
    assert_eq!(run("cat /run/secrets/api"), "s3cret");
    assert_eq!(run("stat -c '%a %u:%g' /run/secrets/api"), "400 1000:1000");
    assert_eq!(run("cat /etc/app.conf"), "a=1");
    assert_eq!(run("stat -c %a /etc/app.conf"), "444");
    let out = p.compose(&[
        "exec",
        "-T",
        "app",
        "sh",
        "-c",
        "echo x > /run/secrets/token",
    ]);
    assert_ne!(out.status.code(), Some(0), "a secret was writable");
    let written = p.b.root().join("compose/secrets");
    assert!(written.is_dir());
    p.ok(&["down", "-t", "1"]);
    assert!(!written.exists(), "down left the written secrets");
    assert_eq!(
        std::fs::read_to_string(p.dir.path().join("token.txt")).unwrap(),
        "t0ken\n"
    );
    p.assert_gone();
}

#[test]
fn internal_networks_isolate_and_addresses_come_from_the_model() {
    let p = Project::new(
        "nets",
        r#"
services:
  api:
    image: IMAGE
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    networks:
      back:
        ipv4_address: 10.232.1.10
        aliases: [backend]
      front: {}
  worker:
    image: IMAGE
    command: ["sleep", "300"]
    networks: [back]
  web:
    image: IMAGE
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    networks: [front]
networks:
  back:
    internal: true
    ipam:
      config:
        - subnet: 10.232.1.0/24
  front:
    ipam:
      config:
        - subnet: 10.232.2.0/24
"#,
    );
    p.ok(&["up", "-d"]);
    assert_eq!(
        p.b.ok(&[
            "network",
            "inspect",
            "--format",
            "{{.Internal}}",
            "nets_back"
        ]),
        "true"
    );
    assert_eq!(
        p.inspect(
            "nets-api-1",
            "{{.NetworkSettings.Networks.nets_back.IPAddress}}"
        ),
        "10.232.1.10"
    );
    let fetch =
        |svc: &str, url: &str| p.compose(&["exec", "-T", svc, "timeout", "3", "wget", "-qO-", url]);
    for url in ["http://api/", "http://backend/", "http://10.232.1.10/"] {
        let out = fetch("worker", url);
        assert_eq!(
            stdout(&out),
            "hello from the image\n",
            "{url}: {}",
            stderr(&out)
        );
    }
    let web = p.inspect(
        "nets-web-1",
        "{{.NetworkSettings.Networks.nets_front.IPAddress}}",
    );
    assert_ne!(
        fetch("worker", &format!("http://{web}/")).status.code(),
        Some(0)
    );
    assert_ne!(fetch("worker", "http://web/").status.code(), Some(0));
    assert_eq!(
        stdout(&fetch("api", "http://web/")),
        "hello from the image\n"
    );
    p.ok(&["down", "-t", "1"]);
    p.assert_gone();
}

#[test]
fn orphans_are_reported_and_removed_on_request() {
    let p = Project::new(
        "orphans",
        r#"
services:
  a:
    image: IMAGE
    command: ["sleep", "300"]
  b:
    image: IMAGE
    command: ["sleep", "300"]
"#,
    );
    p.ok(&["up", "-d"]);
    p.write(
        "compose.yaml",
        "services:\n  a:\n    image: IMAGE\n    command: [\"sleep\", \"300\"]\n",
    );
    let out = p.compose(&["up", "-d"]);
    assert!(
        stderr(&out).contains("Found orphan containers ([orphans-b-1])"),
        "{}",
        stderr(&out)
    );
    // Like compose's `ps --orphans` (its default), ps still shows them.
    assert_eq!(p.ok(&["ps", "-a", "-q"]).lines().count(), 2);
    assert_eq!(p.b.ok(&["ps", "-q"]).lines().count(), 2);
    p.ok(&["up", "-d", "--remove-orphans", "-t", "1"]);
    assert_eq!(
        p.b.ok(&["ps", "-a", "--format", "{{.Names}}"]),
        "orphans-a-1"
    );
    p.ok(&["down", "-t", "1"]);
    p.assert_gone();
}

#[test]
fn bad_input_gets_clear_errors_and_creates_nothing() {
    let p = Project::new(
        "bad",
        r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "300"]
    networks: [outside]
  built:
    build: .
    profiles: [build]
networks:
  outside:
    external: true
    name: bad-ext-net
"#,
    );
    let cases: &[(&[&str], &str)] = &[
        (&["up", "-d", "nope"], "no such service: nope"),
        (
            &["up", "-d", "web"],
            "network bad-ext-net declared as external, but could not be found",
        ),
        (
            &["--profile", "build", "up", "-d", "built"],
            "service \"built\": building bad-built: ",
        ),
        (&["--profile", "build", "build"], "reading the Dockerfile"),
        (
            &["up", "-d", "--force-recreate", "--no-recreate"],
            "--force-recreate and --no-recreate are incompatible",
        ),
        (&["up", "--scale", "web"], "invalid --scale"),
        (&["logs", "nope"], "no such service: nope"),
    ];
    for (args, says) in cases {
        let out = p.compose(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    p.assert_gone();
    // With the network there, the same file runs.
    p.b.ok(&["network", "create", "bad-ext-net"]);
    p.ok(&["up", "-d", "web"]);
    p.ok(&["down", "-t", "1"]);
    assert!(p
        .b
        .ok(&["network", "ls", "--format", "{{.Name}}"])
        .contains("bad-ext-net"));
    p.b.ok(&["network", "rm", "bad-ext-net"]);
    p.assert_gone();
}

#[test]
fn down_without_the_files_works_from_the_labels() {
    let p = Project::new(
        "nofiles",
        "services:\n  a:\n    image: IMAGE\n    command: [\"sleep\", \"300\"]\n",
    );
    p.ok(&["up", "-d"]);
    let elsewhere = tempfile::tempdir().unwrap();
    let out = compose(
        &p.b,
        elsewhere.path(),
        "nofiles",
        &["ps", "--format", "{{.Name}}"],
    );
    assert_eq!(stdout(&out).trim(), "nofiles-a-1", "{}", stderr(&out));
    let out = compose(&p.b, elsewhere.path(), "nofiles", &["down", "-t", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    p.assert_gone();
}

#[test]
fn missing_images_are_pulled_and_down_rmi_removes_them() {
    let reg = testsupport::registry::Registry::start();
    let image = format!("{}/fixtures/busybox:1", reg.addr());
    let p = Project::new(
        "pulls",
        &format!("services:\n  a:\n    image: {image}\n    command: [\"sleep\", \"300\"]\n"),
    );
    p.b.ok(&["tag", IMAGE, &image]);
    p.b.ok(&["push", &image]);
    p.b.ok(&["rmi", &image]);
    let out = p.compose(&["up", "-d"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("Image {image}  Pulled")),
        "{}",
        stderr(&out)
    );
    let out = p.compose(&["down", "-t", "1", "--rmi", "all"]);
    assert!(
        stderr(&out).contains(&format!("Image {image}  Removed")),
        "{}",
        stderr(&out)
    );
    assert!(!p
        .b
        .ok(&["images", "--format", "{{.Repository}}"])
        .contains(&reg.addr()));
    p.ok(&["pull", "-q"]);
    assert!(p
        .b
        .ok(&["images", "--format", "{{.Repository}}"])
        .contains(&reg.addr()));
    p.assert_gone();
}

#[test]
fn build_services_are_built_by_berth_build_and_rebuilt_with_dash_dash_build() {
    let p = Project::new(
        "built",
        r#"
services:
  app:
    build:
      context: ./app
      args:
        GREETING: hello-from-build-arg
    command: ["sleep", "300"]
"#,
    );
    std::fs::create_dir_all(p.dir.path().join("app")).unwrap();
    p.write(
        "app/Dockerfile",
        "FROM IMAGE\nARG GREETING\nRUN echo $GREETING > /greeting\nCOPY note.txt /note.txt\n",
    );
    p.write("app/note.txt", "one\n");
    p.ok(&["up", "-d"]);
    assert_eq!(
        p.ok(&["exec", "-T", "app", "cat", "/greeting"]),
        "hello-from-build-arg"
    );
    assert_eq!(p.ok(&["exec", "-T", "app", "cat", "/note.txt"]), "one");
    // compose names a built image PROJECT-SERVICE.
    assert!(p
        .b
        .ok(&["images", "--format", "{{.Repository}}"])
        .contains("built-app"));
    // A changed context is only picked up with --build; the container is recreated.
    p.write("app/note.txt", "two\n");
    p.ok(&["up", "-d"]);
    assert_eq!(p.ok(&["exec", "-T", "app", "cat", "/note.txt"]), "one");
    p.ok(&["up", "-d", "--build", "-t", "1"]);
    assert_eq!(p.ok(&["exec", "-T", "app", "cat", "/note.txt"]), "two");
    p.ok(&["down", "-t", "1", "--rmi", "local"]);
    p.assert_gone();
}

#[test]
fn compose_build_takes_inline_dockerfiles_no_cache_and_build_args() {
    let p = Project::new(
        "inline",
        r#"
services:
  app:
    build:
      context: .
      dockerfile_inline: |
        FROM IMAGE
        ARG FLAVOUR=plain
        RUN echo "$$FLAVOUR $$(cat /proc/sys/kernel/random/uuid)" > /made
      no_cache: true
    command: ["sleep", "300"]
"#,
    );
    // `$$` is compose's escape: the Dockerfile sees `$FLAVOUR`.
    p.ok(&["build"]);
    let made = |p: &Project| {
        p.b.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "inline-app",
            "cat",
            "/made",
        ])
    };
    let first = made(&p);
    assert!(first.starts_with("plain "), "{first}");
    // no_cache: true runs the step again, so the random part changes.
    p.ok(&["build"]);
    let second = made(&p);
    assert!(
        second.starts_with("plain ") && second != first,
        "{first} / {second}"
    );
    // --build-arg reaches the Dockerfile's ARG.
    p.ok(&["build", "--build-arg", "FLAVOUR=spicy"]);
    assert!(made(&p).starts_with("spicy "));
    // The inline text is checked like a file: its errors carry its line.
    p.write(
        "compose.yaml",
        "services:\n  app:\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM IMAGE\n        BOGUS x\n",
    );
    let out = p.compose(&["build"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Dockerfile:2"), "{}", stderr(&out));
    // Both a path and inline text is an error that says so.
    p.write(
        "compose.yaml",
        "services:\n  app:\n    build:\n      context: .\n      dockerfile: Dockerfile\n      dockerfile_inline: FROM IMAGE\n",
    );
    let out = p.compose(&["build"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot both be set"),
        "{}",
        stderr(&out)
    );
    p.b.ok(&["rmi", "inline-app"]);
    p.assert_gone();
}

#[test]
fn env_file_references_resolve_against_the_dot_env_file_too() {
    let p = Project::new(
        "envref",
        r#"
services:
  app:
    image: IMAGE
    env_file: app.env
    command: ["sh", "-c", "echo $$GREETING; sleep 300"]
"#,
    );
    p.write(".env", "FROM_DOTENV=from-the-dot-env\n");
    p.write("app.env", "GREETING=${FROM_DOTENV:-unset}\n");
    p.ok(&["up", "-d"]);
    assert_eq!(
        p.ok(&["exec", "-T", "app", "sh", "-c", "echo $GREETING"]),
        "from-the-dot-env"
    );
    p.ok(&["down", "-t", "0"]);
    p.assert_gone();
}

#[test]
fn build_secrets_extra_hosts_and_additional_contexts_reach_the_build() {
    let p = Project::new(
        "bsec",
        r#"
services:
  app:
    build:
      context: .
      secrets:
        - token
        - source: cert
          target: tls
      extra_hosts:
        - "db.internal=10.9.8.7"
      additional_contexts:
        assets: ./assets
    command: ["sleep", "300"]
secrets:
  token:
    file: ./token.txt
  cert:
    environment: BERTH_TEST_BUILD_CERT
"#,
    );
    p.write("token.txt", "file-secret-value");
    std::fs::create_dir_all(p.dir.path().join("assets")).unwrap();
    p.write("assets/a.txt", "from-assets");
    p.write(
        "Dockerfile",
        "FROM IMAGE\n\
         RUN --mount=type=secret,id=token --mount=type=secret,id=tls,required=true \
         sh -c 'wc -c < /run/secrets/token > /token-len; cat /run/secrets/tls > /dev/null && echo ok > /tls-seen'\n\
         RUN grep -c '10.9.8.7.*db.internal' /etc/hosts > /hosts-count\n\
         COPY --from=assets a.txt /a.txt\n",
    );
    let out =
        p.b.cmd()
            .current_dir(p.dir.path())
            .env("BERTH_TEST_BUILD_CERT", "env-secret-value")
            .args(["compose", "-p", "bsec", "build"])
            .output()
            .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let run = |cmd: &str| {
        p.b.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "bsec-app",
            "sh",
            "-c",
            cmd,
        ])
    };
    assert_eq!(
        run("cat /token-len /tls-seen /hosts-count /a.txt"),
        "17\nok\n1\nfrom-assets"
    );
    assert!(!p
        .b
        .ok(&["image", "inspect", "bsec-app"])
        .contains("secret-value"));
    p.b.ok(&["rmi", "bsec-app"]);
    p.assert_gone();
}

#[test]
fn a_recreated_container_keeps_its_anonymous_volumes_unless_renewed() {
    let yaml = |greeting: &str| {
        format!(
            r#"
services:
  db:
    build:
      context: .
      dockerfile_inline: |
        FROM IMAGE
        VOLUME /data
    volumes:
      - /cache
    environment:
      GREETING: {greeting}
    command: ["sleep", "300"]
"#
        )
    };
    let p = Project::new("anon", &yaml("one"));
    p.ok(&["up", "-d"]);
    p.ok(&[
        "exec",
        "-T",
        "db",
        "sh",
        "-c",
        "echo kept > /data/x; echo kept > /cache/y",
    ]);
    let volumes = |p: &Project| {
        let mut v: Vec<String> =
            p.b.ok(&["volume", "ls", "-q"])
                .lines()
                .map(String::from)
                .collect();
        v.sort();
        v
    };
    let before = volumes(&p);
    assert_eq!(before.len(), 2, "{before:?}");
    // A config change recreates the container; its data stays, in the same volumes.
    p.write("compose.yaml", &yaml("two"));
    let old_id = p.id("db");
    p.ok(&["up", "-d", "-t", "0"]);
    assert_ne!(p.id("db"), old_id, "not recreated");
    assert_eq!(
        p.ok(&[
            "exec",
            "-T",
            "db",
            "sh",
            "-c",
            "cat /data/x /cache/y; echo $GREETING"
        ]),
        "kept\nkept\ntwo"
    );
    assert_eq!(volumes(&p), before);
    // -V starts over with new anonymous volumes, and the old ones go.
    p.ok(&["up", "-d", "-t", "0", "--force-recreate", "-V"]);
    assert_eq!(
        p.ok(&[
            "exec",
            "-T",
            "db",
            "sh",
            "-c",
            "test ! -e /data/x && test ! -e /cache/y && echo fresh"
        ]),
        "fresh"
    );
    let renewed = volumes(&p);
    assert_eq!(renewed.len(), 2, "{renewed:?}");
    assert!(renewed.iter().all(|v| !before.contains(v)), "{renewed:?}");
    p.ok(&["down", "-t", "0", "-v", "--rmi", "local"]);
    assert_eq!(volumes(&p), Vec::<String>::new());
    p.assert_gone();
}

#[test]
fn a_service_named_on_the_command_line_runs_whatever_its_profile() {
    let p = Project::new(
        "named",
        r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "300"]
  migrate:
    image: IMAGE
    profiles: [tools]
    depends_on: [db]
    command: ["sleep", "300"]
  db:
    image: IMAGE
    profiles: [data]
    command: ["sleep", "300"]
"#,
    );
    // Without naming it, the tools profile stays off.
    p.ok(&["up", "-d"]);
    assert_eq!(p.ok(&["ps", "--format", "{{.Service}}"]), "web");
    // Named, it starts, with the service it depends on.
    p.ok(&["up", "-d", "migrate"]);
    let mut running: Vec<String> = p
        .ok(&["ps", "--format", "{{.Service}}"])
        .lines()
        .map(String::from)
        .collect();
    running.sort();
    assert_eq!(running, ["db", "migrate", "web"]);
    // compose run works the same way.
    assert_eq!(
        p.ok(&["run", "--rm", "-T", "migrate", "echo", "ran"]),
        "ran"
    );
    p.ok(&["--profile", "*", "down", "-t", "0"]);
    p.assert_gone();
}

#[test]
fn depends_on_restart_restarts_dependents_when_the_dependency_is_recreated_or_restarted() {
    let yaml = |version: &str| {
        format!(
            r#"
services:
  db:
    image: IMAGE
    environment:
      VERSION: "{version}"
    command: ["sleep", "300"]
  app:
    image: IMAGE
    depends_on:
      db:
        condition: service_started
        restart: true
    command: ["sleep", "300"]
  other:
    image: IMAGE
    depends_on: [db]
    command: ["sleep", "300"]
"#
        )
    };
    let p = Project::new("deprestart", &yaml("1"));
    p.ok(&["up", "-d"]);
    let started = |c: &str| p.inspect(c, "{{.State.StartedAt}}");
    let (app0, other0) = (started("deprestart-app-1"), started("deprestart-other-1"));
    let app_id = p.id("app");
    // db changes and is recreated: app (restart: true) restarts, other does not.
    p.write("compose.yaml", &yaml("2"));
    p.ok(&["up", "-d", "-t", "0"]);
    assert_eq!(p.id("app"), app_id, "app was recreated, not restarted");
    assert_ne!(started("deprestart-app-1"), app0);
    assert_eq!(started("deprestart-other-1"), other0);
    // `compose restart db` takes app along.
    let app1 = started("deprestart-app-1");
    p.ok(&["restart", "-t", "0", "db"]);
    assert_ne!(started("deprestart-app-1"), app1);
    assert_eq!(started("deprestart-other-1"), other0);
    p.ok(&["down", "-t", "0"]);
    p.assert_gone();
}

#[test]
fn a_volume_subpath_mounts_part_of_a_named_volume() {
    let p = Project::new(
        "subp",
        r#"
services:
  writer:
    image: IMAGE
    volumes:
      - shared:/all
    command: ["sh", "-c", "mkdir -p /all/site && echo page > /all/site/index.html && sleep 300"]
  reader:
    image: IMAGE
    depends_on:
      writer:
        condition: service_started
    volumes:
      - type: volume
        source: shared
        target: /srv
        volume:
          subpath: site
    command: ["sleep", "300"]
volumes:
  shared: {}
"#,
    );
    // The subpath must exist before the reader starts: the writer makes it first.
    p.ok(&["up", "-d", "writer"]);
    assert!(p.b.eventually(10, || p
        .compose(&["exec", "-T", "writer", "cat", "/all/site/index.html"])
        .status
        .success()));
    p.ok(&["up", "-d", "reader"]);
    assert_eq!(p.ok(&["exec", "-T", "reader", "ls", "/srv"]), "index.html");
    p.ok(&["down", "-t", "0", "-v"]);
    p.assert_gone();
}

#[test]
fn network_mode_service_joins_the_services_network_and_follows_its_recreation() {
    let yaml = |v: &str| {
        format!(
            r#"
services:
  db:
    image: IMAGE
    environment:
      V: "{v}"
    command: ["sh", "-c", "echo db-$$V > /tmp/x; while true; do nc -l -p 7777 < /tmp/x; done"]
  sidecar:
    image: IMAGE
    network_mode: "service:db"
    command: ["sleep", "300"]
"#
        )
    };
    let p = Project::new("netsvc", &yaml("1"));
    p.ok(&["up", "-d"]);
    let ask = |p: &Project| {
        p.ok(&[
            "exec",
            "-T",
            "sidecar",
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8 9 10; do nc 127.0.0.1 7777 && break; sleep 0.2; done",
        ])
    };
    assert_eq!(ask(&p), "db-1");
    // db is recreated: sidecar is made again inside the new db's network.
    let sidecar = p.id("sidecar");
    p.write("compose.yaml", &yaml("2"));
    p.ok(&["up", "-d", "-t", "0"]);
    assert_ne!(p.id("sidecar"), sidecar);
    assert_eq!(ask(&p), "db-2");
    p.ok(&["down", "-t", "0"]);
    p.assert_gone();
}

#[test]
fn ctrl_c_during_an_attached_up_start_up_stops_the_stack_once_it_is_up() {
    let p = Project::new(
        "earlyint",
        r#"
services:
  db:
    image: IMAGE
    command: ["sh", "-c", "sleep 2; touch /tmp/ready; sleep 300"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      start_interval: 200ms
      start_period: 30s
  app:
    image: IMAGE
    depends_on:
      db:
        condition: service_healthy
    command: ["sleep", "300"]
"#,
    );
    let child =
        p.b.cmd()
            .current_dir(p.dir.path())
            .args([
                "compose",
                "--progress",
                "plain",
                "-p",
                "earlyint",
                "up",
                "-t",
                "0",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
    // db runs, app waits for it to be healthy: start-up is not over.
    assert!(p.b.eventually(10, || !p.ok(&["ps", "-q", "db"]).is_empty()));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Stopping once the containers are started"),
        "{}",
        stderr(&out)
    );
    // Start-up finished (app was made), then everything was stopped.
    assert_eq!(p.ok(&["ps", "-q"]), "");
    assert_eq!(p.ok(&["ps", "-a", "-q"]).lines().count(), 2);
    p.ok(&["down", "-t", "0"]);
    p.assert_gone();
}
