//! `RUN --mount` in `berth build`, as BuildKit documents it: cache mounts that persist
//! between builds and never reach the image, bind mounts from the context and from a
//! stage (read-only, or with writes thrown away) that key the step's cache, tmpfs
//! mounts, secrets that stay out of layers, history, saved archives and cache keys,
//! and the refusals (a required secret missing, ssh). Every test checks that no mount,
//! scratch directory, container or process is left.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;

use testsupport::build::{build, build_ok, context, load_busybox, sh};
use testsupport::{stderr, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

/// Nothing of the builds is left: no scratch directory (views, rw overlays, secret
/// files, private cache copies), no container, no mount or process.
fn assert_clean(b: &Berth) {
    let tmp = b.root().join("store/tmp");
    let left: Vec<_> = fs::read_dir(&tmp)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in {}: {left:?}", tmp.display());
    assert_eq!(b.ok(&["ps", "-a", "-q"]), "");
    b.cleanup();
}

#[test]
fn a_cache_mount_persists_between_builds_but_never_enters_the_image() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\n\
         RUN --mount=type=cache,target=/var/cache/berth-app,mode=0700 \
         sh -c 'ls /var/cache/berth-app > /seen; stat -c %a /var/cache/berth-app > /mode; echo x > /var/cache/berth-app/stamp'\n",
    )]);
    build_ok(&b, ctx.path(), &["-t", "c1"]);
    assert_eq!(sh(&b, "c1", "cat /seen; cat /mode"), "700");
    assert_eq!(
        sh(&b, "c1", "test -e /var/cache/berth-app || echo absent"),
        "absent"
    );
    let mounts = b.root().join("build-cache/mounts");
    assert_eq!(fs::read_dir(&mounts).unwrap().count(), 1);

    // The second build runs the step again and sees what the first one left.
    build_ok(&b, ctx.path(), &["-t", "c2", "--no-cache"]);
    assert_eq!(sh(&b, "c2", "cat /seen"), "stamp");

    // Pruning the builder deletes cache mounts; the next build starts empty.
    let pruned = b.ok(&["builder", "prune", "-f"]);
    assert!(pruned.contains("Deleted cache mounts: 1"), "{pruned}");
    assert_eq!(fs::read_dir(&mounts).unwrap().count(), 0);
    build_ok(&b, ctx.path(), &["-t", "c3", "--no-cache"]);
    assert_eq!(sh(&b, "c3", "cat /seen"), "");
    assert_clean(&b);
}

#[test]
fn bind_mounts_from_the_context_and_a_stage_are_read_only_and_key_the_step() {
    let b = berth();
    load_busybox(&b);
    let dockerfile = "FROM busybox AS tools\n\
        RUN mkdir /out && echo from-stage > /out/made\n\
        FROM busybox\n\
        RUN --mount=source=src,target=/berth-src --mount=from=tools,source=/out,target=/berth-tools \
        sh -c 'cat /berth-src/data.txt /berth-tools/made > /got; \
        (touch /berth-src/x 2>/dev/null && echo writable || echo read-only) >> /got; \
        test -e /berth-src/hidden.key && echo sees-ignored >> /got; true'\n";
    let ctx = context(&[
        ("Dockerfile", dockerfile),
        ("src/data.txt", "v1"),
        ("src/hidden.key", "k"),
        (".dockerignore", "src/*.key\n"),
    ]);
    build_ok(&b, ctx.path(), &["-t", "bound:1"]);
    assert_eq!(sh(&b, "bound:1", "cat /got"), "v1from-stage\nread-only");
    assert_eq!(
        sh(
            &b,
            "bound:1",
            "test -e /berth-src || test -e /berth-tools || echo absent"
        ),
        "absent"
    );

    // Unchanged: every step is a hit. A changed bound file runs the step again.
    let (_, progress) = build_ok(&b, ctx.path(), &["-t", "bound:2"]);
    assert_eq!(progress.matches("CACHED").count(), 2, "{progress}");
    fs::write(ctx.path().join("src/hidden.key"), "ignored, so no new key").unwrap();
    let (_, progress) = build_ok(&b, ctx.path(), &["-t", "bound:2"]);
    assert_eq!(progress.matches("CACHED").count(), 2, "{progress}");
    fs::write(ctx.path().join("src/data.txt"), "v2").unwrap();
    let (_, progress) = build_ok(&b, ctx.path(), &["-t", "bound:3"]);
    assert_eq!(progress.matches("CACHED").count(), 1, "{progress}");
    assert_eq!(sh(&b, "bound:3", "head -c 2 /got"), "v2");
    assert_clean(&b);
}

#[test]
fn writes_to_a_rw_bind_mount_are_thrown_away() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM busybox AS tools\n\
             RUN mkdir /out && echo from-stage > /out/made\n\
             FROM busybox\n\
             RUN --mount=type=bind,target=/berth-ctx,rw \
             --mount=source=one.txt,target=/etc/berth-one,rw \
             --mount=from=tools,source=/out,target=/berth-tools,rw \
             sh -c 'echo scribble > /berth-ctx/data.txt; echo new > /berth-ctx/new; \
             echo more >> /etc/berth-one; echo changed > /berth-tools/made; \
             cat /berth-ctx/data.txt /etc/berth-one /berth-tools/made > /seen'\n\
             COPY --from=tools /out/made /stage-made\n",
        ),
        ("data.txt", "orig"),
        ("one.txt", "one\n"),
    ]);
    build_ok(&b, ctx.path(), &["-t", "rw"]);
    assert_eq!(sh(&b, "rw", "cat /seen"), "scribble\none\nmore\nchanged");
    assert_eq!(
        fs::read_to_string(ctx.path().join("data.txt")).unwrap(),
        "orig"
    );
    assert_eq!(
        fs::read_to_string(ctx.path().join("one.txt")).unwrap(),
        "one\n"
    );
    assert!(!ctx.path().join("new").exists());
    assert_eq!(
        sh(
            &b,
            "rw",
            "cat /stage-made; test -e /berth-ctx || test -e /etc/berth-one || echo absent"
        ),
        "from-stage\nabsent"
    );
    assert_clean(&b);
}

#[test]
fn a_tmpfs_mount_is_a_tmpfs_of_its_size_and_leaves_nothing() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\n\
         RUN --mount=type=tmpfs,target=/berth-scratch,size=1m \
         sh -c 'grep \" /berth-scratch \" /proc/mounts > /mounts; echo hi > /berth-scratch/f'\n",
    )]);
    build_ok(&b, ctx.path(), &["-t", "tmp"]);
    let line = sh(&b, "tmp", "cat /mounts");
    assert!(
        line.starts_with("tmpfs /berth-scratch tmpfs") && line.contains("size=1024k"),
        "{line}"
    );
    assert_eq!(
        sh(&b, "tmp", "test -e /berth-scratch || echo absent"),
        "absent"
    );
    assert_clean(&b);
}

#[test]
fn secrets_reach_the_step_but_not_the_image_history_archive_or_cache_key() {
    let b = berth();
    load_busybox(&b);
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("token");
    fs::write(&secret, "s3cret-value-1").unwrap();
    b.set_env("BERTH_TEST_BUILD_TOKEN", "env-s3cret");
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\n\
         RUN --mount=type=secret,id=tok \
         sh -c 'stat -c \"%a %u\" /run/secrets/tok > /mode; wc -c < /run/secrets/tok > /len'\n\
         RUN --mount=type=secret,id=tok,env=TOKEN --mount=type=secret,id=tok,target=/berth-tok,mode=0440 \
         --mount=type=secret,id=etok \
         sh -c 'test \"$TOKEN\" = \"$(cat /berth-tok)\" && test -n \"$(cat /run/secrets/etok)\" && echo env-ok > /env'\n",
    )]);
    let secret_arg = format!("id=tok,src={}", secret.display());
    let args = [
        "-t",
        "sec:1",
        "--secret",
        &secret_arg,
        "--secret",
        "id=etok,env=BERTH_TEST_BUILD_TOKEN",
    ];
    let (id1, _) = build_ok(&b, ctx.path(), &args);
    assert_eq!(sh(&b, "sec:1", "cat /mode /len /env"), "400 0\n14\nenv-ok");
    assert_eq!(
        sh(
            &b,
            "sec:1",
            "test -e /run/secrets || test -e /berth-tok || echo absent"
        ),
        "absent"
    );

    let inspect = b.ok(&["image", "inspect", "sec:1"]);
    assert!(!inspect.contains("s3cret"), "{inspect}");
    // The archive holds the layers and the config with its history (BuildKit's
    // wording: the command, not its mounts): the value is in none of them.
    let archive = dir.path().join("saved.tar");
    b.ok(&["save", "-o", archive.to_str().unwrap(), "sec:1"]);
    let bytes = fs::read(&archive).unwrap();
    let has = |s: &[u8]| bytes.windows(s.len()).any(|w| w == s);
    assert!(has(b"/len' # buildkit"));
    assert!(!has(b"s3cret"));

    // A new value is not a new key: like Docker, the steps are hits.
    fs::write(&secret, "s3cret-value-2-longer").unwrap();
    let (id2, progress) = build_ok(&b, ctx.path(), &args);
    assert_eq!(progress.matches("CACHED").count(), 2, "{progress}");
    assert_eq!(id1, id2);
    assert_clean(&b);
}

#[test]
fn a_missing_required_secret_and_ssh_mounts_fail_with_their_line() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\n\
         RUN --mount=type=secret,id=absent sh -c 'test ! -e /run/secrets/absent'\n\
         RUN --mount=type=secret,id=needed,required true\n",
    )]);
    let out = build(&b, ctx.path(), &["-t", "req"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Dockerfile:3:") && err.contains("\"needed\" is required"),
        "{err}"
    );

    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\nRUN --mount=type=ssh,required=true true\n",
    )]);
    let out = build(&b, ctx.path(), &["-t", "ssh"]);
    let err = stderr(&out);
    assert!(
        err.contains("Dockerfile:2:") && err.contains("no SSH agent \"default\" was given"),
        "{err}"
    );
    let ctx2 = context(&[(
        "Dockerfile",
        "FROM busybox\nRUN --mount=type=cache,id=c,target=/a,sharing=locked --mount=type=cache,id=c,target=/b true\n",
    )]);
    let out = build(&b, ctx2.path(), &["-t", "twice"]);
    let err = stderr(&out);
    assert!(
        err.contains("Dockerfile:2:") && err.contains("would wait for itself"),
        "{err}"
    );
    let out = build(
        &b,
        ctx.path(),
        &["-t", "x", "--secret", "id=a,src=/nonexistent/s"],
    );
    assert!(
        stderr(&out).contains("reading /nonexistent/s"),
        "{}",
        stderr(&out)
    );
    assert_clean(&b);
}

#[test]
fn an_interrupted_step_leaves_no_mount_scratch_dir_or_lock() {
    let b = berth();
    load_busybox(&b);
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("token");
    fs::write(&secret, "t").unwrap();
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM busybox AS tools\n\
             RUN mkdir /out && echo x > /out/made\n\
             FROM busybox\n\
             RUN --mount=type=cache,target=/berth-cache,sharing=locked \
             --mount=from=tools,source=/out,target=/berth-tools,rw \
             --mount=source=.,target=/berth-ctx --mount=type=secret,id=tok \
             --mount=type=tmpfs,target=/berth-tmp \
             sh -c 'echo started; sleep 60'\n",
        ),
        ("data.txt", "d"),
    ]);
    let secret_arg = format!("id=tok,src={}", secret.display());
    let child = b
        .cmd()
        .args(["build", "--network", "none", "--secret", &secret_arg])
        .arg(ctx.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        b.eventually(20, || !b.ok(&["ps", "-q"]).is_empty()),
        "the RUN container never started"
    );
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("build interrupted"),
        "{}",
        stderr(&out)
    );
    // The locked cache mount is free again: a build that needs it does not wait.
    let quick = context(&[(
        "Dockerfile",
        "FROM busybox\nRUN --mount=type=cache,target=/berth-cache,sharing=locked true\n",
    )]);
    build_ok(&b, quick.path(), &[]);
    assert_clean(&b);
}

#[test]
fn an_ssh_agent_socket_is_forwarded_and_left_out_of_the_layer() {
    let b = berth();
    load_busybox(&b);
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("agent.sock");
    // A stand-in agent: only its being a socket matters here.
    let _agent = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\n\
         RUN --mount=type=ssh sh -c 'test -S \"$SSH_AUTH_SOCK\" && echo \"$SSH_AUTH_SOCK\" > /default'\n\
         RUN --mount=type=ssh,id=deploy,target=/agent.sock,required=true \
         sh -c 'test -S /agent.sock && echo \"$SSH_AUTH_SOCK\" > /deploy'\n\
         RUN --mount=type=ssh,id=nothere sh -c 'echo \"${SSH_AUTH_SOCK:-none}\" > /optional'\n",
    )]);
    let default = format!("default={}", sock.display());
    let deploy = format!("deploy={}", sock.display());
    build_ok(
        &b,
        ctx.path(),
        &["-t", "ssh:1", "--ssh", &default, "--ssh", &deploy],
    );
    assert_eq!(
        sh(
            &b,
            "ssh:1",
            "cat /default /deploy /optional; test -e /run/buildkit || echo no-dir; test -e /agent.sock || echo no-socket"
        ),
        "/run/buildkit/ssh_agent.0\n/agent.sock\nnone\nno-dir\nno-socket"
    );
    // `--ssh default` is $SSH_AUTH_SOCK; a key file is refused with what to do.
    b.set_env("SSH_AUTH_SOCK", sock.to_str().unwrap());
    build_ok(
        &b,
        ctx.path(),
        &[
            "-t",
            "ssh:2",
            "--no-cache",
            "--ssh",
            "default",
            "--ssh",
            &deploy,
        ],
    );
    let key = dir.path().join("id_ed25519");
    fs::write(&key, "not a socket").unwrap();
    let out = build(
        &b,
        ctx.path(),
        &["--ssh", &format!("default={}", key.display())],
    );
    assert!(
        stderr(&out).contains("is not an agent socket"),
        "{}",
        stderr(&out)
    );
    assert_clean(&b);
}
