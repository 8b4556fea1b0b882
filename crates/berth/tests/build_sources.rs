//! Where COPY and ADD read from, as Docker documents it: `--exclude` patterns on
//! context and `--from` sources, `COPY --parents` (with the `/./` pivot), ADD of
//! http URLs (name, mode 0600, Last-Modified time, no unpacking, `--checksum`, cached by
//! content) and of git repositories (ref, subdirectory, `--keep-git-dir`), heredocs fed
//! to RUN commands and COPY heredocs' expansion. URLs are served by a small HTTP server
//! each test starts on 127.0.0.1; nothing else is contacted. Bad input fails with the
//! line, commits nothing and leaves no scratch directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use testsupport::build::{build, build_ok, context, load_busybox, sh};
use testsupport::{stderr, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

/// A failed build: its error names the line, no image or layer was added, and no
/// scratch directory is left in the store.
fn assert_fails_cleanly(b: &Berth, ctx: &Path, file: &str, wanted: &[&str]) {
    let images = b.ok(&["images", "-q", "--no-trunc"]);
    let layers = count(&b.root().join("store/layers"));
    let f = ctx.join(file);
    let out = build(b, ctx, &["-f", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{file}");
    let err = stderr(&out);
    for w in wanted {
        assert!(err.contains(w), "{file}: wanted {w:?} in {err}");
    }
    assert_eq!(b.ok(&["images", "-q", "--no-trunc"]), images, "{file}");
    assert_eq!(count(&b.root().join("store/layers")), layers, "{file}");
    assert_eq!(
        count(&b.root().join("store/tmp")),
        0,
        "{file}: scratch left"
    );
}

fn count(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |d| d.count())
}

/// Serves the files below a directory over HTTP/1.1 on 127.0.0.1, one request per
/// connection, with a fixed Last-Modified. Stops when dropped.
struct Server {
    port: u16,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What the server sends as Last-Modified, and the same time in seconds.
const LAST_MODIFIED: &str = "Wed, 21 Oct 2015 07:28:00 GMT";
const LAST_MODIFIED_SECS: &str = "1445412480";

impl Server {
    fn start(dir: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    h.fetch_add(1, Ordering::SeqCst);
                    serve(c, &dir);
                }
            }
        });
        Server {
            port,
            hits,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut c: TcpStream, dir: &Path) {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&req);
    let path = text.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split('?').next().unwrap_or("").trim_start_matches('/');
    let file = dir.join(path);
    let reply = match (path.contains(".."), fs::read(&file)) {
        (false, Ok(body)) if file.is_file() => {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: {LAST_MODIFIED}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(&body);
            r
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    };
    let _ = c.write_all(&reply);
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn copy_exclude_drops_matches_from_the_context_and_from_stages_and_is_in_the_key() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM busybox AS src\n\
             RUN mkdir -p /made/keep && echo k > /made/keep/k.txt && echo s > /made/skip.log\n\
             FROM busybox\n\
             COPY --exclude=*.txt hom* /one/\n\
             COPY --exclude=**/*.md --exclude=sub dir /two/\n\
             COPY --from=src --exclude=*.log /made /three/\n",
        ),
        ("home.txt", "t"),
        ("home.md", "m"),
        ("homer.sh", "s"),
        ("dir/a.txt", "a"),
        ("dir/b.md", "b"),
        ("dir/sub/c.txt", "c"),
        ("dir/deep/d.md", "d"),
    ]);
    build_ok(&b, ctx.path(), &["-t", "excl"]);
    assert_eq!(
        sh(&b, "excl", "cd / && find one two three | sort"),
        "one\none/home.md\none/homer.sh\nthree\nthree/keep\nthree/keep/k.txt\ntwo\ntwo/a.txt\ntwo/deep"
    );
    // A new file that an --exclude drops changes nothing: all cached.
    fs::write(ctx.path().join("dir/deep/new.md"), "n").unwrap();
    let (_, progress) = build_ok(&b, ctx.path(), &["-t", "excl"]);
    assert_eq!(progress.matches("CACHED").count(), 4, "{progress}");
    // Dropping an --exclude is a different step.
    let df = fs::read_to_string(ctx.path().join("Dockerfile")).unwrap();
    fs::write(
        ctx.path().join("Dockerfile"),
        df.replace("--exclude=**/*.md ", ""),
    )
    .unwrap();
    let (_, progress) = build_ok(&b, ctx.path(), &["-t", "excl"]);
    assert_eq!(progress.matches("CACHED").count(), 2, "{progress}");
    assert_eq!(
        sh(&b, "excl", "cd /two && find . | sort"),
        ".\n./a.txt\n./b.md\n./deep\n./deep/d.md\n./deep/new.md"
    );
    b.cleanup();
}

#[test]
fn copy_parents_keeps_directories_below_the_root_or_the_pivot() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM busybox AS stage\n\
             RUN mkdir -p /s/deep && echo d > /s/deep/d.txt\n\
             FROM busybox\n\
             COPY --parents ./x/a.txt ./y/a.txt /p1/\n\
             COPY --parents ./x/**/*.txt /p2/\n\
             COPY --parents ./src/./a/b.txt /p3/\n\
             COPY --parents --from=stage /s/deep/d.txt /p4/\n\
             COPY --parents x/sub /p5/\n",
        ),
        ("x/a.txt", "xa"),
        ("x/sub/b.txt", "xb"),
        ("x/sub/c.md", "xc"),
        ("y/a.txt", "ya"),
        ("src/a/b.txt", "sb"),
        (
            "Dockerfile.outside",
            "FROM busybox\nCOPY --parents ../x/a.txt /p/\n",
        ),
        // Port 1 on loopback: nothing is contacted, COPY refuses URLs before that.
        (
            "Dockerfile.url",
            "FROM busybox\nCOPY http://127.0.0.1:1/f /p/\n",
        ),
    ]);
    fs::set_permissions(
        ctx.path().join("x/sub"),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    build_ok(&b, ctx.path(), &["-t", "parents"]);
    assert_eq!(
        sh(
            &b,
            "parents",
            "cd / && find p1 p2 p3 p4 p5 -type f | sort; cat p3/a/b.txt; echo; stat -c %a p5/x/sub"
        ),
        "p1/x/a.txt\np1/y/a.txt\np2/x/a.txt\np2/x/sub/b.txt\np3/a/b.txt\np4/s/deep/d.txt\n\
         p5/x/sub/b.txt\np5/x/sub/c.md\nsb\n700"
    );
    assert_fails_cleanly(
        &b,
        ctx.path(),
        "Dockerfile.outside",
        &["Dockerfile:2: COPY ../x/a.txt: the path is outside the build context"],
    );
    assert_fails_cleanly(
        &b,
        ctx.path(),
        "Dockerfile.url",
        &["Dockerfile:2: COPY http://127.0.0.1:1/f: COPY only reads local files; use ADD"],
    );
    b.cleanup();
}

#[test]
fn add_downloads_a_url_with_docker_mode_time_and_checksum_and_caches_by_content() {
    let b = berth();
    load_busybox(&b);
    let files = tempfile::tempdir().unwrap();
    fs::create_dir_all(files.path().join("files")).unwrap();
    fs::write(files.path().join("files/hello.txt"), "hello v1\n").unwrap();
    // A gzip tar: ADD of a URL must not unpack it.
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "inner", &b"inner\n"[..]).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    let archive = gz.finish().unwrap();
    fs::write(files.path().join("files/a.tar.gz"), &archive).unwrap();
    let server = Server::start(files.path().to_path_buf());

    let hello = server.url("files/hello.txt");
    let tgz = server.url("files/a.tar.gz");
    let ctx = context(&[
        (
            "Dockerfile",
            &format!(
                "FROM busybox\nADD {hello} /dl/\n\
                 ADD --chmod=0644 --chown=1:2 {hello} /dl/renamed.txt\n\
                 ADD --checksum=sha256:{} {tgz} /dl/\n",
                sha256(&archive)
            ),
        ),
        (
            "Dockerfile.mismatch",
            &format!(
                "FROM busybox\nADD --checksum=sha256:{} {hello} /x/\n",
                "0".repeat(64)
            ),
        ),
        (
            "Dockerfile.badsum",
            &format!("FROM busybox\nADD --checksum=md5:abc {hello} /x/\n"),
        ),
        (
            "Dockerfile.404",
            &format!(
                "FROM busybox\nENV X=1\nADD {} /x/\n",
                server.url("files/nope.txt")
            ),
        ),
        (
            "Dockerfile.refused",
            &format!(
                "FROM busybox\nADD http://127.0.0.1:{}/f /x/\n",
                closed_port()
            ),
        ),
    ]);
    build_ok(&b, ctx.path(), &["-t", "dl"]);
    assert_eq!(
        sh(
            &b,
            "dl",
            "cd /dl && stat -c '%n %a %u:%g %Y' hello.txt renamed.txt; cat hello.txt; ls; \
             stat -c %s a.tar.gz"
        ),
        format!(
            "hello.txt 600 0:0 {LAST_MODIFIED_SECS}\nrenamed.txt 644 1:2 {LAST_MODIFIED_SECS}\n\
             hello v1\na.tar.gz\nhello.txt\nrenamed.txt\n{}",
            archive.len()
        )
    );

    // Unchanged content: downloaded again, then every step is a hit.
    let before = server.hits();
    let (_, progress) = build_ok(&b, ctx.path(), &["-t", "dl"]);
    assert_eq!(progress.matches("CACHED").count(), 3, "{progress}");
    assert_eq!(server.hits(), before + 3);
    // Changed content behind the same URL: the steps that fetch it run again.
    fs::write(files.path().join("files/hello.txt"), "hello v2\n").unwrap();
    let (_, progress) = build_ok(&b, ctx.path(), &["-t", "dl"]);
    assert_eq!(progress.matches("CACHED").count(), 0, "{progress}");
    assert_eq!(sh(&b, "dl", "cat /dl/renamed.txt"), "hello v2");

    assert_fails_cleanly(
        &b,
        ctx.path(),
        "Dockerfile.mismatch",
        &["Dockerfile:2: ADD ", "checksum mismatch"],
    );
    assert_fails_cleanly(
        &b,
        ctx.path(),
        "Dockerfile.badsum",
        &["Dockerfile:2: ADD --checksum=md5:abc: give a digest like sha256:"],
    );
    assert_fails_cleanly(
        &b,
        ctx.path(),
        "Dockerfile.404",
        &["Dockerfile:3: ADD downloading ", "404 Not Found"],
    );
    assert_fails_cleanly(
        &b,
        ctx.path(),
        "Dockerfile.refused",
        &["Dockerfile:2: ADD downloading ", "cannot connect"],
    );
    drop(server);
    b.cleanup();
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t.invalid")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

/// A bare repository `repo.git` under `served`, ready for dumb HTTP: commit "one" of
/// `v1` (path, content) tagged `v1`, then commit "two" changing `v2_change`.
fn served_repo(served: &Path, v1: &[(&str, &str)], v2_change: (&str, &str)) {
    let work = served.join("work");
    for (path, content) in v1 {
        let p = work.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
    git(&work, &["init", "-q"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "one"]);
    git(&work, &["tag", "v1"]);
    fs::write(work.join(v2_change.0), v2_change.1).unwrap();
    git(&work, &["commit", "-q", "-am", "two"]);
    git(served, &["clone", "-q", "--bare", "work", "repo.git"]);
    git(&served.join("repo.git"), &["update-server-info"]);
}

#[test]
fn add_checks_out_a_git_ref_and_subdirectory_over_dumb_http() {
    let b = berth();
    load_busybox(&b);
    let served = tempfile::tempdir().unwrap();
    served_repo(
        served.path(),
        &[
            ("README", "readme\n"),
            ("docs/guide.txt", "guide v1\n"),
            ("docs/sub/x.txt", "x\n"),
        ],
        ("docs/guide.txt", "guide v2\n"),
    );
    let server = Server::start(served.path().to_path_buf());
    let repo = server.url("repo.git");
    let ctx = context(&[
        (
            "Dockerfile",
            &format!("FROM busybox\nADD {repo}#v1:docs /g1/\nADD --keep-git-dir {repo} /g2/\n"),
        ),
        (
            "Dockerfile.noref",
            &format!("FROM busybox\nADD {repo}#nope /g/\n"),
        ),
        (
            "Dockerfile.nodir",
            &format!("FROM busybox\nADD {repo}#v1:missing /g/\n"),
        ),
    ]);
    build_ok(&b, ctx.path(), &["-t", "gitadd"]);
    assert_eq!(
        sh(
            &b,
            "gitadd",
            "cd /g1 && find . | sort; cat guide.txt /g2/docs/guide.txt /g2/README; \
             test -d /g2/.git && echo has-git"
        ),
        ".\n./guide.txt\n./sub\n./sub/x.txt\nguide v1\nguide v2\nreadme\nhas-git"
    );
    assert_fails_cleanly(
        &b,
        ctx.path(),
        "Dockerfile.noref",
        &["Dockerfile:2: ADD ", "no branch, tag or commit \"nope\""],
    );
    assert_fails_cleanly(
        &b,
        ctx.path(),
        "Dockerfile.nodir",
        &[
            "Dockerfile:2: ADD ",
            "no directory missing in the repository",
        ],
    );
    drop(server);
    b.cleanup();
}

#[test]
fn a_git_repository_is_a_build_context_with_its_ref_and_directory() {
    let b = berth();
    load_busybox(&b);
    let served = tempfile::tempdir().unwrap();
    served_repo(
        served.path(),
        &[
            (
                "app/Dockerfile",
                "FROM busybox\nCOPY note.txt /note.txt\nCMD [\"cat\", \"/note.txt\"]\n",
            ),
            (
                "app/Dockerfile.other",
                "FROM busybox\nCOPY note.txt /other.txt\nCMD [\"cat\", \"/other.txt\"]\n",
            ),
            ("app/note.txt", "from git v1\n"),
        ],
        ("app/note.txt", "from git v2\n"),
    );
    let server = Server::start(served.path().to_path_buf());
    let repo = server.url("repo.git");

    let run = |args: &[&str]| {
        let mut a = vec!["build", "--network", "none"];
        a.extend_from_slice(args);
        b.run(&a)
    };
    let out = run(&["-t", "fromgit:1", &format!("{repo}#v1:app")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        b.ok(&["run", "--rm", "--network", "none", "fromgit:1"]),
        "from git v1"
    );
    // -f is read inside the repository's context directory.
    let out = run(&[
        "-t",
        "fromgit:2",
        "-f",
        "Dockerfile.other",
        &format!("{repo}#:app"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        b.ok(&["run", "--rm", "--network", "none", "fromgit:2"]),
        "from git v2"
    );
    for (context, says) in [
        (format!("{repo}#v1:nothere"), "no directory \"nothere\""),
        (format!("{repo}#v9:app"), "no branch, tag or commit \"v9\""),
        (server.url("plain.tar"), "only git repositories"),
    ] {
        let out = run(&["-t", "never", &context]);
        assert!(!out.status.success(), "{context}");
        assert!(stderr(&out).contains(says), "{context}: {}", stderr(&out));
    }
    // The checkouts are gone with their builds.
    let scratch = b.root().join("store").join("tmp");
    assert_eq!(count(&scratch), 0, "left in {}", scratch.display());
    drop(server);
    b.cleanup();
}

#[test]
fn heredocs_feed_run_commands_and_copy_heredocs_expand_unless_quoted() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM busybox\nARG NAME=world\n\
             RUN cat <<EOF > /greeting\nhello $NAME\nEOF\n\
             RUN cat <<'RAW' > /raw\n$NAME stays\nRAW\n\
             RUN cat <<-EOT > /tabbed\n\t\tindented\n\tEOT\n\
             RUN cat <<A > /a && cat <<B > /b\nfirst\nA\nsecond\nB\n\
             RUN sh <<EOF\necho from-stdin > /stdin\nEOF\n\
             COPY <<EOF /expanded\nname=$NAME \"quoted\" \\$NAME\nEOF\n\
             COPY <<\"EOF\" /literal\nname=$NAME\nEOF\n\
             COPY <<inline.txt ctx.txt /mixed/\ninline\ninline.txt\n",
        ),
        ("ctx.txt", "from context\n"),
    ]);
    build_ok(&b, ctx.path(), &["-t", "hd"]);
    assert_eq!(
        sh(
            &b,
            "hd",
            "cat /greeting /raw /tabbed /a /b /stdin /expanded /literal /mixed/inline.txt /mixed/ctx.txt"
        ),
        "hello world\n$NAME stays\nindented\nfirst\nsecond\nfrom-stdin\n\
         name=world \"quoted\" $NAME\nname=$NAME\ninline\nfrom context"
    );
    b.cleanup();
}

#[test]
fn named_build_contexts_feed_copy_from_run_mounts_and_from() {
    let b = berth();
    load_busybox(&b);
    let assets = context(&[
        ("x.txt", "asset x\n"),
        ("sub/y.txt", "asset y\n"),
        ("private.key", "do not copy\n"),
        (".dockerignore", "private.key\n"),
    ]);
    let ctx = context(&[(
        "Dockerfile",
        "FROM base\n\
         COPY --from=assets . /assets/\n\
         RUN --mount=from=assets,target=/a cat /a/sub/y.txt > /via-mount\n",
    )]);
    let named = format!("assets={}", assets.path().display());
    let args = [
        "-t",
        "named:1",
        "--build-context",
        &named,
        "--build-context",
        "base=docker-image://busybox",
    ];
    build_ok(&b, ctx.path(), &args);
    assert_eq!(
        sh(
            &b,
            "named:1",
            "cd /assets && find . -type f | sort; cat /via-mount"
        ),
        "./.dockerignore\n./sub/y.txt\n./x.txt\nasset y"
    );
    // The named context's files are in the key: a change runs the steps again.
    let (_, progress) = build_ok(&b, ctx.path(), &args);
    assert_eq!(progress.matches("CACHED").count(), 2, "{progress}");
    fs::write(assets.path().join("sub/y.txt"), "asset y2\n").unwrap();
    let (_, progress) = build_ok(&b, ctx.path(), &args);
    assert_eq!(progress.matches("CACHED").count(), 0, "{progress}");
    assert_eq!(sh(&b, "named:1", "cat /via-mount"), "asset y2");

    for (spec, says) in [
        ("nothing".to_string(), "give NAME=DIR"),
        ("x=oci-layout:///tmp/l".to_string(), "not oci-layout"),
        ("x=/nonexistent/dir".to_string(), "/nonexistent/dir"),
        (
            format!("base={}", assets.path().display()),
            "FROM needs an image",
        ),
    ] {
        let out = build(
            &b,
            ctx.path(),
            &["--build-context", &spec, "--build-context", &named],
        );
        assert!(!out.status.success(), "{spec}");
        assert!(stderr(&out).contains(says), "{spec}: {}", stderr(&out));
    }
    b.cleanup();
}

/// `berth build ARGS -` with `input` on standard input.
fn build_stdin(b: &Berth, args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = b
        .cmd()
        .arg("build")
        .args(["--network", "none"])
        .args(args)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn standard_input_is_a_dockerfile_or_a_tar_of_the_context() {
    let b = berth();
    load_busybox(&b);
    // A Dockerfile alone: there is no context to copy from.
    let out = build_stdin(
        &b,
        &["-t", "stdin:1"],
        b"FROM busybox\nRUN echo piped > /p\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sh(&b, "stdin:1", "cat /p"), "piped");
    let out = build_stdin(&b, &[], b"FROM busybox\nCOPY x /x\n");
    assert!(
        stderr(&out).contains("COPY x: not found in the build context"),
        "{}",
        stderr(&out)
    );
    // A tar, plain and gzipped, is the context; -f is read inside it.
    let ctx = context(&[
        ("Dockerfile", "FROM busybox\nCOPY a.txt /a.txt\n"),
        ("sub/Alt", "FROM busybox\nCOPY a.txt /alt.txt\n"),
        ("a.txt", "from the tar\n"),
    ]);
    let mut tar = tar::Builder::new(Vec::new());
    tar.append_dir_all(".", ctx.path()).unwrap();
    let plain = tar.into_inner().unwrap();
    let out = build_stdin(&b, &["-t", "stdin:2"], &plain);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sh(&b, "stdin:2", "cat /a.txt"), "from the tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &plain).unwrap();
    let out = build_stdin(
        &b,
        &["-t", "stdin:3", "-f", "sub/Alt"],
        &gz.finish().unwrap(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sh(&b, "stdin:3", "cat /alt.txt"), "from the tar");
    let out = build_stdin(&b, &["-f", "-"], b"FROM busybox\n");
    assert!(
        stderr(&out).contains("cannot both come from standard input"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count(&b.root().join("store/tmp")), 0);
    b.cleanup();
}
