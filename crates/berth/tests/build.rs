//! `berth build` as Docker builds: Dockerfiles from the busybox fixture and from
//! scratch, run afterwards to check files, environment, user, directory, entrypoint and
//! labels; the layer cache (hits, invalidation, prune); failures that leave nothing
//! behind; and skopeo reading a saved built image.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::time::Instant;

use serde_json::Value;
use testsupport::build::{build, build_ok, context, load_busybox, push_busybox};
use testsupport::oci::{self};
use testsupport::registry::Registry;
use testsupport::{stderr, stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

fn image_config(b: &Berth, name: &str) -> Value {
    serde_json::from_str(&b.ok(&["image", "inspect", "-f", "{{json .Config}}", name])).unwrap()
}

#[test]
fn a_dockerfile_sets_files_env_user_workdir_entrypoint_and_labels() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[
        (
            "Dockerfile",
            r#"FROM busybox
ARG GREETING=hello
ENV APP_HOME=/srv/app MODE=test
WORKDIR $APP_HOME
COPY --chown=app:app --chmod=0640 conf/app.conf ./conf/
COPY bin/ /usr/local/bin/
RUN echo "$GREETING from $MODE" > made.txt && rm /etc/group && id -u > /tmp/run-as
USER app
LABEL org.example.name="demo app" version=1
EXPOSE 8080/tcp
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat made.txt"]
"#,
        ),
        ("conf/app.conf", "key=value\n"),
        ("bin/tool", "#!/bin/sh\necho tool ran\n"),
    ]);
    fs::set_permissions(
        ctx.path().join("bin/tool"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let (id, progress) = build_ok(
        &b,
        ctx.path(),
        &["-t", "demo:1", "-t", "demo:alias", "--network", "none"],
    );
    assert!(id.starts_with("sha256:"), "{id}");
    // WORKDIR counts as a step: it makes its directory, as BuildKit does.
    assert!(progress.contains("#1 [1/5] FROM busybox"), "{progress}");
    assert!(progress.contains("[2/5] WORKDIR $APP_HOME"), "{progress}");
    assert!(progress.contains("[5/5] RUN echo"), "{progress}");

    // CMD through the ENTRYPOINT, in the WORKDIR, as USER.
    assert_eq!(b.ok(&["run", "--rm", "demo:1"]), "hello from test");
    let script = "id -u; pwd; echo $APP_HOME $MODE [$GREETING]; stat -c '%u:%g %a' conf/app.conf; cat conf/app.conf; tool; cat /tmp/run-as; test -e /etc/group || echo no-group";
    assert_eq!(
        b.ok(&["run", "--rm", "demo:alias", script]),
        "1000\n/srv/app\n/srv/app test []\n1000:1000 640\nkey=value\ntool ran\n0\nno-group"
    );
    let config = image_config(&b, "demo:1");
    assert_eq!(config["Labels"]["org.example.name"], "demo app");
    assert_eq!(config["Labels"]["version"], "1");
    assert_eq!(config["User"], "app");
    assert_eq!(config["WorkingDir"], "/srv/app");
    assert!(config["ExposedPorts"]["8080/tcp"].is_object());
    assert_eq!(config["Entrypoint"], serde_json::json!(["/bin/sh", "-c"]));

    // Exec-form RUN, SHELL for shell-form RUN, and the rest of the config.
    let ctx3 = context(&[(
        "Dockerfile",
        "FROM busybox\nRUN [\"/bin/sh\", \"-c\", \"echo exec-form > /exec\"]\n\
         SHELL [\"/bin/sh\", \"-ec\"]\nRUN echo shell-form > /shell\n\
         VOLUME /data\nSTOPSIGNAL SIGTERM\n\
         HEALTHCHECK --interval=5s --retries=2 CMD true\nMAINTAINER someone\n",
    )]);
    build_ok(&b, ctx3.path(), &["-t", "more", "--network", "none"]);
    assert_eq!(
        b.ok(&["run", "--rm", "more", "cat", "/exec", "/shell"]),
        "exec-form\nshell-form"
    );
    let config = image_config(&b, "more");
    assert_eq!(config["Shell"], serde_json::json!(["/bin/sh", "-ec"]));
    assert!(config["Volumes"]["/data"].is_object(), "{config}");
    assert_eq!(config["StopSignal"], "SIGTERM");
    assert_eq!(
        config["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "true"])
    );
    assert_eq!(config["Healthcheck"]["Interval"], 5_000_000_000u64);
    assert_eq!(config["Healthcheck"]["Retries"], 2);
    assert_eq!(
        b.ok(&["image", "inspect", "-f", "{{.Author}}", "more"]),
        "someone"
    );

    // A new ENTRYPOINT drops the CMD inherited from busybox (["sh"]).
    let ctx2 = context(&[(
        "Dockerfile",
        "FROM busybox\nENTRYPOINT [\"echo\", \"only\"]\n",
    )]);
    build_ok(&b, ctx2.path(), &["-q", "-t", "ep", "--label", "extra=yes"]);
    let config = image_config(&b, "ep");
    assert!(config["Cmd"].is_null(), "{config}");
    assert_eq!(config["Labels"]["extra"], "yes");
    assert_eq!(b.ok(&["run", "--rm", "ep"]), "only");
    b.cleanup();
}

#[test]
fn scratch_images_get_files_from_the_context_stages_and_tar_archives() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM busybox AS tools\nRUN mkdir /out && echo from-stage > /out/note\n\
             FROM scratch\nCOPY --from=tools /bin/busybox /bin/busybox\n\
             COPY --from=tools /out/ /data/\nCOPY data/ /data/\nADD files.tar /unpacked/\n\
             ENV PATH=/bin\nENTRYPOINT [\"/bin/busybox\"]\n",
        ),
        ("data/keep.txt", "kept\n"),
        ("data/secret.key", "hidden\n"),
        ("data/logs/a.log", "log\n"),
        ("data/logs/important.log", "important\n"),
        (
            ".dockerignore",
            "**/*.key\ndata/logs\n!data/logs/important.log\n",
        ),
    ]);
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(9);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "inner/file", &b"unpacked\n"[..])
        .unwrap();
    fs::write(ctx.path().join("files.tar"), tar.into_inner().unwrap()).unwrap();

    build_ok(&b, ctx.path(), &["-t", "tiny", "--network", "none"]);
    assert_eq!(
        b.ok(&[
            "run",
            "--rm",
            "tiny",
            "sh",
            "-c",
            "cd /data && find . | sort; cat note keep.txt /unpacked/inner/file"
        ]),
        ".\n./keep.txt\n./logs\n./logs/important.log\n./note\nfrom-stage\nkept\nunpacked"
    );
    // Only the scratch stage's layers: busybox itself, the note, the data, the archive.
    let layers: Vec<Value> =
        serde_json::from_str(&b.ok(&["image", "inspect", "-f", "{{json .RootFS.Layers}}", "tiny"]))
            .unwrap();
    assert_eq!(layers.len(), 4);
    // --target builds the first stage only.
    build_ok(
        &b,
        ctx.path(),
        &["-t", "tools-only", "--target", "tools", "--network", "none"],
    );
    assert_eq!(
        b.ok(&["run", "--rm", "tools-only", "cat", "/out/note"]),
        "from-stage"
    );
    b.cleanup();
}

#[test]
fn an_unchanged_rebuild_is_cached_and_a_changed_source_rebuilds_from_its_step() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM busybox\nRUN echo one > /one\nCOPY app.txt /app.txt\nRUN cat /app.txt > /copy.txt\n",
        ),
        ("app.txt", "v1\n"),
    ]);
    // The default network, as Docker's RUN steps get.
    let (first, progress) = build_ok(&b, ctx.path(), &["-t", "cached"]);
    assert!(!progress.contains("CACHED"), "{progress}");

    let started = Instant::now();
    let (second, progress) = build_ok(&b, ctx.path(), &["-t", "cached"]);
    let took = started.elapsed();
    assert_eq!(second, first, "an all-cached build gives the same image");
    assert_eq!(progress.matches("CACHED").count(), 3, "{progress}");
    assert!(took.as_millis() < 1000, "a cached build took {took:?}");

    // Touching a file without changing it is still a hit: mtimes are not in the key.
    fs::write(ctx.path().join("app.txt"), "v1\n").unwrap();
    let (third, _) = build_ok(&b, ctx.path(), &["-t", "cached"]);
    assert_eq!(third, first);

    fs::write(ctx.path().join("app.txt"), "v2\n").unwrap();
    let (changed, progress) = build_ok(&b, ctx.path(), &["-t", "cached"]);
    assert_ne!(changed, first);
    let lines: Vec<&str> = progress.lines().collect();
    let cached_steps: Vec<&str> = lines
        .iter()
        .filter(|l| l.ends_with(" CACHED"))
        .copied()
        .collect();
    assert_eq!(cached_steps, ["#2 CACHED"], "{progress}");
    assert_eq!(
        b.ok(&["run", "--rm", "cached", "cat", "/copy.txt", "/one"]),
        "v2\none"
    );

    // A build arg used by a RUN is part of its key.
    // The platform args are the host's.
    let ctx3 = context(&[(
        "Dockerfile",
        "FROM --platform=$BUILDPLATFORM busybox\nARG TARGETARCH\nRUN echo $TARGETARCH > /arch\n",
    )]);
    build_ok(&b, ctx3.path(), &["-t", "arch"]);
    assert_eq!(
        b.ok(&["run", "--rm", "arch", "cat", "/arch"]),
        oci::host_arch()
    );

    // A global ARG's default reaches a stage that declares the ARG again.
    let ctx2 = context(&[(
        "Dockerfile",
        "ARG V=a\nFROM busybox\nARG V\nRUN echo $V > /v\n",
    )]);
    build_ok(&b, ctx2.path(), &["-t", "args"]);
    assert_eq!(b.ok(&["run", "--rm", "args", "cat", "/v"]), "a");
    let (_, progress) = build_ok(&b, ctx2.path(), &["-t", "args", "--build-arg", "V=b"]);
    assert!(!progress.contains("CACHED"), "{progress}");
    assert_eq!(b.ok(&["run", "--rm", "args", "cat", "/v"]), "b");

    // --no-cache and a pruned cache both run everything again.
    let (_, progress) = build_ok(&b, ctx.path(), &["--no-cache", "-t", "cached"]);
    assert!(!progress.contains("CACHED"), "{progress}");
    assert!(b
        .ok(&["builder", "prune", "-f"])
        .starts_with("Deleted build cache entries: "));
    let (_, progress) = build_ok(&b, ctx.path(), &["-t", "cached"]);
    assert!(!progress.contains("CACHED"), "{progress}");
    b.cleanup();
}

#[test]
fn a_failing_run_reports_line_output_and_exit_code_and_leaves_nothing() {
    let b = berth();
    load_busybox(&b);
    let before = b.ok(&["images", "-q", "--no-trunc"]);
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\nRUN echo fine > /fine\nRUN echo to-stdout; echo to-stderr >&2; exit 3\nRUN echo never\n",
    )]);
    let out = build(&b, ctx.path(), &["-t", "broken", "--network", "none"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("to-stdout") && err.contains("to-stderr"),
        "{err}"
    );
    assert!(
        err.contains("Dockerfile:3:") && err.contains("exit code 3"),
        "{err}"
    );
    assert!(!err.contains("never"), "{err}");
    assert!(stdout(&out).is_empty());
    assert_eq!(b.ok(&["images", "-q", "--no-trunc"]), before);
    assert_eq!(b.ok(&["ps", "-a", "-q"]), "");
    // Quiet mode still shows the failing step's output.
    let out = build(&b, ctx.path(), &["-q", "--network", "none"]);
    assert!(stderr(&out).contains("to-stderr"), "{}", stderr(&out));
    assert_eq!(b.ok(&["ps", "-a", "-q"]), "");
    b.cleanup();
}

#[test]
fn bad_dockerfiles_are_errors_with_their_line() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM busybox\nFETCH http://example.invalid/x\n",
        ),
        (
            "Dockerfile.escape",
            "FROM busybox\n\nCOPY ../outside.txt /x\n",
        ),
        ("Dockerfile.missing", "FROM busybox\nCOPY nothing-here /x\n"),
        (
            "Dockerfile.platform",
            "FROM --platform=linux/s390x busybox\n",
        ),
        // Port 1 on loopback: the pull is refused at once, nothing leaves the host.
        ("Dockerfile.nobase", "FROM 127.0.0.1:1/no-such-image:1\n"),
        (
            "Dockerfile.badflag",
            "FROM busybox\nCOPY --chmodd=644 a /a\n",
        ),
        // A misspelt stage is not looked for in a registry.
        (
            "Dockerfile.nostage",
            "FROM busybox AS base\nFROM busybox\nCOPY --from=bsae /x /x\n",
        ),
    ]);
    let cases = [
        (
            "Dockerfile.platform",
            "Dockerfile:1: FROM --platform=linux/s390x: berth builds only for this host's platform",
        ),
        ("Dockerfile", "Dockerfile:2: unknown instruction: FETCH"),
        (
            "Dockerfile.escape",
            "Dockerfile:3: COPY ../outside.txt: the path is outside the build context",
        ),
        (
            "Dockerfile.missing",
            "Dockerfile:2: COPY nothing-here: not found in the build context",
        ),
        (
            "Dockerfile.nobase",
            "Dockerfile:1: FROM 127.0.0.1:1/no-such-image:1: no such image here, and pulling it failed",
        ),
        (
            "Dockerfile.badflag",
            "Dockerfile:2: unknown flag --chmodd for COPY (did you mean --chmod?)",
        ),
        (
            "Dockerfile.nostage",
            "Dockerfile:3: --from=bsae: no stage of that name (did you mean base?)",
        ),
    ];
    for (file, message) in cases {
        let f = ctx.path().join(file);
        let out = build(
            &b,
            ctx.path(),
            &["-f", f.to_str().unwrap(), "--network", "none"],
        );
        assert_eq!(out.status.code(), Some(1), "{file}");
        assert!(stderr(&out).contains(message), "{file}: {}", stderr(&out));
    }
    // A --target that names no stage.
    let f = ctx.path().join("Dockerfile.nostage");
    let out = build(
        &b,
        ctx.path(),
        &[
            "-f",
            f.to_str().unwrap(),
            "--target",
            "nope",
            "--network",
            "none",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("target stage \"nope\" not found"),
        "{}",
        stderr(&out)
    );
    assert_eq!(b.ok(&["ps", "-a", "-q"]), "");
    b.cleanup();
}

#[test]
fn skopeo_reads_the_config_of_a_saved_built_image() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\nRUN echo x > /x\nENV GREETING=hi\nLABEL tier=test\nCMD [\"cat\", \"/x\"]\n",
    )]);
    build_ok(&b, ctx.path(), &["-t", "saved:1", "--network", "none"]);
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("saved.tar");
    b.ok(&["save", "-o", archive.to_str().unwrap(), "saved:1"]);
    let out = oci::skopeo(&[
        "inspect",
        "--config",
        &format!("docker-archive:{}", archive.display()),
    ]);
    assert!(out.status.success(), "skopeo: {}", stderr(&out));
    let config: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(config["config"]["Labels"]["tier"], "test");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["cat", "/x"]));
    assert!(config["config"]["Env"]
        .as_array()
        .unwrap()
        .contains(&Value::from("GREETING=hi")));
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    let history = config["history"].as_array().unwrap();
    // The built steps are worded as BuildKit words them, after busybox's own entry.
    let built: Vec<(String, bool)> = history[1..]
        .iter()
        .map(|h| {
            assert_eq!(h["comment"], "buildkit.dockerfile.v0", "{h}");
            (
                h["created_by"].as_str().unwrap().to_string(),
                h["empty_layer"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    let expected: Vec<(String, bool)> = [
        ("RUN /bin/sh -c echo x > /x # buildkit", false),
        ("ENV GREETING=hi", true),
        ("LABEL tier=test", true),
        ("CMD [\"cat\" \"/x\"]", true),
    ]
    .iter()
    .map(|(c, e)| (c.to_string(), *e))
    .collect();
    assert_eq!(built, expected);
    b.cleanup();
}

#[test]
fn heredoc_scripts_and_inline_files_and_unused_build_args_are_warned() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\nARG USED=yes\nRUN <<EOF\necho script-out\necho \"$USED\" > /used\nEOF\nCOPY <<greeting.txt <<other /inline/\nline one\ngreeting.txt\nsecond file\nother\n",
    )]);
    let (_, progress) = build_ok(
        &b,
        ctx.path(),
        &[
            "-t",
            "hd",
            "--network",
            "none",
            "--build-arg",
            "NOT_DECLARED=1",
        ],
    );
    assert!(progress.contains("#2 script-out"), "{progress}");
    assert!(
        progress.contains("build args not used by any ARG: NOT_DECLARED"),
        "{progress}"
    );
    assert_eq!(b.ok(&["run", "--rm", "hd", "cat", "/used"]), "yes");
    assert_eq!(
        b.ok(&[
            "run",
            "--rm",
            "hd",
            "sh",
            "-c",
            "cat /inline/greeting.txt /inline/other; stat -c %a /inline/other"
        ]),
        "line one\nsecond file\n644"
    );
    b.cleanup();
}

#[test]
fn onbuild_triggers_run_in_child_builds_and_are_not_inherited() {
    let b = berth();
    load_busybox(&b);
    let base = context(&[(
        "Dockerfile",
        "FROM busybox\nONBUILD COPY marker.txt /from-trigger.txt\nONBUILD RUN echo triggered > /t\n",
    )]);
    build_ok(&b, base.path(), &["-t", "ob-base", "--network", "none"]);
    let config = image_config(&b, "ob-base");
    assert_eq!(config["OnBuild"].as_array().unwrap().len(), 2, "{config}");

    // The child's context is the one the triggers read; `COPY . /app` copies contents
    // into a new 0755 directory even from a 0700 context.
    let child = context(&[
        ("Dockerfile", "FROM ob-base\nCOPY . /app\n"),
        ("marker.txt", "child marker\n"),
    ]);
    fs::set_permissions(
        child.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let (_, progress) = build_ok(&b, child.path(), &["-t", "ob-child", "--network", "none"]);
    assert!(progress.contains("[1/4] FROM ob-base"), "{progress}");
    assert!(progress.contains("[4/4] COPY . /app"), "{progress}");
    assert_eq!(
        b.ok(&[
            "run",
            "--rm",
            "ob-child",
            "sh",
            "-c",
            "cat /t /from-trigger.txt; stat -c %a /app; ls /app"
        ]),
        "triggered\nchild marker\n755\nDockerfile\nmarker.txt"
    );
    assert!(image_config(&b, "ob-child")["OnBuild"].is_null());
    b.cleanup();
}

#[test]
fn a_missing_base_image_is_pulled_as_docker_does() {
    let reg = Registry::start();
    let b = berth();
    let base = push_busybox(&reg, "fixtures/busybox:1");
    let ctx = context(&[(
        "Dockerfile",
        &format!(
            "FROM {base}\nRUN echo pulled-base > /p\nCOPY --from={base} /bin/busybox /copied\n"
        ),
    )]);
    build_ok(
        &b,
        ctx.path(),
        &["-t", "from-registry", "--network", "none"],
    );
    assert_eq!(
        b.ok(&[
            "run",
            "--rm",
            "from-registry",
            "sh",
            "-c",
            "cat /p; test -x /copied && echo copied"
        ]),
        "pulled-base\ncopied"
    );
    assert!(b
        .ok(&["images", "--format", "{{.Repository}}"])
        .contains("fixtures/busybox"));
    b.cleanup();
}

#[test]
fn a_dockerfile_from_stdin_and_a_dockerfile_specific_ignore_file() {
    use std::io::Write;
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[
        ("a.txt", "a\n"),
        ("b.txt", "b\n"),
        (".dockerignore", "a.txt\n"),
        ("custom.Dockerfile", "FROM busybox\nCOPY *.txt /t/\n"),
        ("custom.Dockerfile.dockerignore", "b.txt\n"),
    ]);
    // The Dockerfile's own ignore file wins over .dockerignore.
    let f = ctx.path().join("custom.Dockerfile");
    build_ok(
        &b,
        ctx.path(),
        &["-f", f.to_str().unwrap(), "-t", "own-ignore"],
    );
    assert_eq!(b.ok(&["run", "--rm", "own-ignore", "ls", "/t"]), "a.txt");

    let mut child = b
        .cmd()
        .args(["build", "-q", "-f", "-", "-t", "stdin-file"])
        .arg(ctx.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"FROM busybox\nCOPY *.txt /t/\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("sha256:"), "{}", stdout(&out));
    assert_eq!(b.ok(&["run", "--rm", "stdin-file", "ls", "/t"]), "b.txt");
    b.cleanup();
}

#[test]
fn an_interrupted_build_stops_and_removes_its_step_container() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[("Dockerfile", "FROM busybox\nRUN echo started; sleep 60\n")]);
    let child = b
        .cmd()
        .args(["build", "--network", "none", "-t", "never"])
        .arg(ctx.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        b.eventually(10, || !b.ok(&["ps", "-q"]).is_empty()),
        "the RUN container never started"
    );
    let started = Instant::now();
    // kill(1) delivers SIGINT as a terminal would.
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed().as_secs() < 20, "the build did not stop");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("build interrupted"),
        "{}",
        stderr(&out)
    );
    assert_eq!(b.ok(&["ps", "-a", "-q"]), "");
    assert!(!b.ok(&["images"]).contains("never"));
    b.cleanup();
}

/// The image's history as (created_by, empty_layer), after the base image's entries.
fn built_history(b: &Berth, name: &str, base_entries: usize) -> Vec<(String, bool)> {
    let out = b.ok(&["image", "inspect", "-f", "{{json .Id}}", name]);
    let id: String = serde_json::from_str(&out).unwrap();
    let blob = b
        .root()
        .join("store/blobs/sha256")
        .join(id.trim_start_matches("sha256:"));
    let config: Value = serde_json::from_slice(&fs::read(blob).unwrap()).unwrap();
    config["history"].as_array().unwrap()[base_entries..]
        .iter()
        .map(|h| {
            (
                h["created_by"].as_str().unwrap().to_string(),
                h["empty_layer"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[test]
fn workdir_makes_its_directory_owned_by_the_user_in_a_layer() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\nWORKDIR /app\nRUN pwd > here\nUSER 1000:1001\nWORKDIR /home/u/work\nRUN touch mine\nWORKDIR /tmp\nARG V=1\nEXPOSE 80 53/udp\n",
    )]);
    let (_, progress) = build_ok(&b, ctx.path(), &["-t", "wd", "--network", "none"]);
    assert!(progress.contains("[2/6] WORKDIR /app"), "{progress}");
    assert_eq!(b.ok(&["run", "--rm", "wd", "pwd"]), "/tmp");
    assert_eq!(
        b.ok(&["run", "--rm", "-w", "/app", "wd", "cat", "here"]),
        "/app"
    );
    assert_eq!(
        b.ok(&[
            "run",
            "--rm",
            "wd",
            "stat",
            "-c",
            "%u:%g %a",
            "/app",
            "/home/u",
            "/home/u/work",
            "/home/u/work/mine"
        ]),
        "0:0 755\n1000:1001 755\n1000:1001 755\n1000:1001 644"
    );
    // A directory that exists makes no layer; one that does not is a layer of its own.
    let expected: Vec<(String, bool)> = [
        ("WORKDIR /app", false),
        ("RUN /bin/sh -c pwd > here # buildkit", false),
        ("USER 1000:1001", true),
        ("WORKDIR /home/u/work", false),
        ("RUN /bin/sh -c touch mine # buildkit", false),
        ("WORKDIR /tmp", true),
        ("ARG V=1", true),
        ("EXPOSE map[53/udp:{} 80/tcp:{}]", true),
    ]
    .iter()
    .map(|(c, e)| (c.to_string(), *e))
    .collect();
    assert_eq!(built_history(&b, "wd", 1), expected);
    // A rebuild finds every step, WORKDIR included, in the cache: same image.
    let first = b.ok(&["image", "inspect", "-f", "{{.Id}}", "wd"]);
    let (_, progress) = build_ok(&b, ctx.path(), &["-t", "wd", "--network", "none"]);
    assert_eq!(progress.matches("CACHED").count(), 5, "{progress}");
    assert_eq!(b.ok(&["image", "inspect", "-f", "{{.Id}}", "wd"]), first);
    // A path through a file is an error naming it.
    let bad = context(&[("Dockerfile", "FROM busybox\nWORKDIR /etc/passwd/x\n")]);
    let out = build(&b, bad.path(), &["--network", "none"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/etc/passwd exists and is not a directory"),
        "{}",
        stderr(&out)
    );
    b.cleanup();
}

#[test]
fn concurrent_builds_sharing_a_base_and_a_run_leave_no_stray_images() {
    let b = berth();
    load_busybox(&b);
    let shared = "FROM busybox\nRUN sleep 1; echo shared > /shared\n";
    let ctx_a = context(&[("Dockerfile", &format!("{shared}RUN echo a > /which\n"))]);
    let ctx_b = context(&[("Dockerfile", &format!("{shared}RUN echo b > /which\n"))]);
    let spawn = |ctx: &Path, tag: &str| {
        b.cmd()
            .args(["build", "--network", "none", "-t", tag])
            .arg(ctx)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let images = || b.ok(&["images", "-a", "--format", "{{.Repository}}:{{.Tag}}"]);
    let before = images();
    let one = spawn(ctx_a.path(), "conc-a");
    let two = spawn(ctx_b.path(), "conc-b");
    // While the steps run, `images -a` shows nothing new: no throw-away records.
    let mut seen_running = false;
    for _ in 0..40 {
        if !b.ok(&["ps", "-q"]).is_empty() {
            seen_running = true;
            assert_eq!(images(), before, "a build step showed up as an image");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(seen_running, "the build steps never ran");
    for child in [one, two] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "build failed: {}", stderr(&out));
    }
    let mut after: Vec<String> = images().lines().map(String::from).collect();
    after.sort();
    let mut expected: Vec<String> = before
        .lines()
        .map(String::from)
        .chain(["conc-a:latest".to_string(), "conc-b:latest".to_string()])
        .collect();
    expected.sort();
    assert_eq!(after, expected);
    assert_eq!(
        b.ok(&["run", "--rm", "conc-a", "cat", "/shared", "/which"]),
        "shared\na"
    );
    assert_eq!(
        b.ok(&["run", "--rm", "conc-b", "cat", "/shared", "/which"]),
        "shared\nb"
    );
    assert_eq!(b.ok(&["ps", "-a", "-q"]), "");
    b.cleanup();
}

#[test]
fn image_gc_keeps_the_build_cache_until_builder_prune() {
    let b = berth();
    load_busybox(&b);
    // A container keeps the base image through `image prune -a`.
    let keeper = b.ok(&["create", "busybox", "true"]);
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM busybox\nRUN head -c 300000 /dev/urandom > /blob\nCOPY a.txt /a.txt\nWORKDIR /made\n",
        ),
        ("a.txt", "a\n"),
    ]);
    let (first, _) = build_ok(&b, ctx.path(), &["-t", "gc-kept", "--network", "none"]);
    b.ok(&["rmi", "gc-kept"]);
    b.ok(&["image", "prune", "-a", "-f"]);
    assert!(!b.ok(&["images"]).contains("gc-kept"));
    let (again, progress) = build_ok(&b, ctx.path(), &["-t", "gc-kept", "--network", "none"]);
    assert_eq!(progress.matches("CACHED").count(), 3, "{progress}");
    assert_eq!(again, first, "the cache rebuilt the same image");

    // builder prune drops the cache and the layers only it kept (the image is gone).
    b.ok(&["rmi", "gc-kept"]);
    // system df shows them as build cache, reclaimable by builder prune only.
    let cache_row = |b: &Berth| -> Value {
        b.ok(&["system", "df", "--format", "json"])
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|r| r["Type"] == "Build Cache")
            .unwrap()
    };
    let row = cache_row(&b);
    assert_eq!(row["TotalCount"], "3", "{row}");
    assert!(row["Reclaimable"].as_str().unwrap().contains("kB"), "{row}");
    let out = b.ok(&["builder", "prune", "-f"]);
    assert!(out.contains("Deleted build cache entries: "), "{out}");
    let reclaimed = out
        .lines()
        .find_map(|l| l.strip_prefix("Total reclaimed space: "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        reclaimed.ends_with("kB") || reclaimed.ends_with("MB"),
        "{out}"
    );
    assert_eq!(cache_row(&b)["TotalCount"], "0");
    let (_, progress) = build_ok(&b, ctx.path(), &["-t", "gc-kept", "--network", "none"]);
    assert!(!progress.contains("CACHED"), "{progress}");
    b.ok(&["rm", &keeper]);
    b.cleanup();
}

/// `berth build ARGS` on a pseudo-terminal (util-linux `script`): (exit code, screen).
fn build_on_tty(b: &Berth, ctx: &Path, args: &[&str]) -> (i32, String) {
    let mut line = format!("{} build", env!("CARGO_BIN_EXE_berth"));
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    line.push_str(&format!(" '{}'", ctx.display()));
    let template = b.cmd();
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &line, "/dev/null"]);
    for (k, v) in template.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let out = script.stdin(std::process::Stdio::null()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn tty_progress_draws_steps_in_place_and_passes_the_exit_code_through() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM busybox\nRUN echo first-line; sleep 0.3; echo second-line\nCOPY a.txt /a.txt\n",
        ),
        ("a.txt", "a\n"),
    ]);
    let (code, screen) = build_on_tty(
        &b,
        ctx.path(),
        &["--progress", "tty", "-t", "tty-img", "--network", "none"],
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("[+] Building"), "{screen}");
    assert!(screen.contains("FINISHED"), "{screen}");
    assert!(
        screen.contains("\x1b[2K"),
        "the screen is not redrawn in place: {screen:?}"
    );
    assert!(screen.contains(" => [2/3] RUN echo first-line"), "{screen}");
    assert!(screen.contains(" => => # first-line"), "{screen}");
    assert!(screen.contains(" => [3/3] COPY a.txt /a.txt"), "{screen}");
    assert!(
        !screen.contains("#2 DONE"),
        "plain lines in tty mode: {screen}"
    );

    // Rebuilt: the steps are CACHED; auto on a terminal is tty too (BUILDKIT_PROGRESS).
    b.set_env("BUILDKIT_PROGRESS", "auto");
    let (code, screen) = build_on_tty(&b, ctx.path(), &["-t", "tty-img", "--network", "none"]);
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains(" => CACHED [2/3] RUN echo first-line"),
        "{screen}"
    );
    assert!(
        screen.contains(" => CACHED [3/3] COPY a.txt /a.txt"),
        "{screen}"
    );

    // A failing step: its whole output and exit code after the last screen, and the
    // build's exit code through the terminal.
    let bad = context(&[(
        "Dockerfile",
        "FROM busybox\nRUN echo out-1; echo out-2 >&2; exit 7\n",
    )]);
    let (code, screen) = build_on_tty(&b, bad.path(), &["--progress=tty", "--network", "none"]);
    assert_eq!(code, 1, "{screen}");
    assert!(
        screen.contains(" => ERROR [2/2] RUN echo out-1"),
        "{screen}"
    );
    let after = &screen[screen.rfind("FINISHED").unwrap()..];
    assert!(
        after.contains("out-1") && after.contains("out-2"),
        "{screen}"
    );
    assert!(after.contains("exit code 7"), "{screen}");

    // Off a terminal, auto is plain.
    let out = build(&b, ctx.path(), &["-t", "tty-img", "--network", "none"]);
    assert!(stderr(&out).contains("#2 CACHED"), "{}", stderr(&out));
    b.set_env("BUILDKIT_PROGRESS", "fancy");
    let out = build(&b, ctx.path(), &["--network", "none"]);
    assert!(
        stderr(&out).contains("BUILDKIT_PROGRESS=\"fancy\": use auto, plain, tty or quiet"),
        "{}",
        stderr(&out)
    );
    b.cleanup();
}
