//! Dockerfile syntax end to end: parser directives (`# syntax`, `# escape`), Docker's
//! substitution operators in the instructions that expand them, `COPY --link`,
//! `RUN --network`, a shell-form health check through the image's SHELL, and the
//! `--add-host`/`--cache-from` flags; each built from the busybox fixture and checked
//! in the result.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;

use serde_json::Value;
use testsupport::build::{build_ok, context, load_busybox, sh};
use testsupport::{stderr, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

#[test]
fn directives_choose_the_escape_character_and_count_only_at_the_top() {
    let b = berth();
    load_busybox(&b);
    // With `# escape=`` the backslash is an ordinary character and a backtick continues.
    let ctx = context(&[(
        "Dockerfile",
        "# syntax=docker/dockerfile:1\n# escape=`\nFROM busybox\nRUN echo one `\n  two > /joined && printf 'a\\\\b' > /backslash\n# escape=\\\nRUN echo late `\n  tail > /late\n",
    )]);
    build_ok(&b, ctx.path(), &["-t", "escaped", "--network", "none"]);
    assert_eq!(sh(&b, "escaped", "cat /joined").trim(), "one two");
    assert_eq!(sh(&b, "escaped", "cat /backslash"), "a\\b");
    // A directive after the first instruction is a comment: the backtick still escapes.
    assert_eq!(sh(&b, "escaped", "cat /late"), "late tail");
    b.cleanup();
}

#[test]
fn substitution_operators_work_as_docker_documents_them() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[
        ("src/app.conf", "conf\n"),
        (
            "Dockerfile",
            "FROM busybox\n\
             ARG UNSET\n\
             ARG EMPTY=\n\
             ARG NAME=app.conf\n\
             ENV DEFAULTED=${UNSET:-fallback} \\\n    \
                 ALT=${NAME:+present} \\\n    \
                 NOALT=${UNSET:+never} \\\n    \
                 KEPT=${EMPTY-unset-only} \\\n    \
                 STEM=${NAME%.conf} \\\n    \
                 EXT=${NAME##*.} \\\n    \
                 SWAPPED=${NAME/conf/yaml} \\\n    \
                 LITERAL=\\$NAME\n\
             WORKDIR /srv/${NAME%.conf}\n\
             COPY src/${NAME} ./${NAME:-x}\n\
             LABEL which=${NAME}\n",
        ),
    ]);
    build_ok(&b, ctx.path(), &["-t", "subst", "--network", "none"]);
    let env = sh(&b, "subst", "env | sort");
    for want in [
        "DEFAULTED=fallback",
        "ALT=present",
        "NOALT=",
        "KEPT=",
        "STEM=app",
        "EXT=conf",
        "SWAPPED=app.yaml",
        "LITERAL=$NAME",
    ] {
        assert!(env.lines().any(|l| l == want), "{want} not in\n{env}");
    }
    assert_eq!(sh(&b, "subst", "pwd; cat app.conf"), "/srv/app\nconf");
    let labels: Value = serde_json::from_str(&b.ok(&[
        "image",
        "inspect",
        "-f",
        "{{json .Config.Labels}}",
        "subst",
    ]))
    .unwrap();
    assert_eq!(labels["which"], "app.conf");

    // `${VAR:?message}` stops the build at its line with the message.
    let bad = context(&[(
        "Dockerfile",
        "FROM busybox\nARG REQUIRED\nENV X=${REQUIRED:?needs-a-build-arg}\n",
    )]);
    let out = b.run(&["build", "--network", "none", bad.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("Dockerfile:3") && err.contains("needs-a-build-arg"),
        "{err}"
    );
    build_ok(
        &b,
        bad.path(),
        &[
            "--network",
            "none",
            "--build-arg",
            "REQUIRED=1",
            "-t",
            "given",
        ],
    );
    assert!(sh(&b, "given", "env").lines().any(|l| l == "X=1"));
    b.cleanup();
}

#[test]
fn copy_link_gives_the_same_files_as_a_plain_copy() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[
        ("a/one.txt", "1\n"),
        ("a/sub/two.txt", "2\n"),
        (
            "Dockerfile",
            "FROM busybox\nCOPY --link --chmod=0640 a/ /linked/\nCOPY a/ /plain/\n",
        ),
    ]);
    build_ok(&b, ctx.path(), &["-t", "linked", "--network", "none"]);
    let listing = sh(
        &b,
        "linked",
        "cat /linked/one.txt /linked/sub/two.txt /plain/sub/two.txt; stat -c %a /linked/one.txt",
    );
    assert_eq!(listing, "1\n2\n2\n640");
    b.cleanup();
}

#[test]
fn run_network_none_and_host_choose_the_step_network() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\n\
         RUN --network=none ls /sys/class/net > /none.txt\n\
         RUN --network=host ls /sys/class/net > /host.txt\n",
    )]);
    // The build's own --network is none: the step flag overrides it for the second RUN.
    build_ok(&b, ctx.path(), &["-t", "nets", "--network", "none"]);
    assert_eq!(sh(&b, "nets", "cat /none.txt"), "lo");
    let host = sh(&b, "nets", "cat /host.txt");
    let host_ifaces: Vec<String> = fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(host.lines().count() > 1, "{host}");
    // Every interface the step saw was the host's (veths of parallel tests may come
    // and go, so the host's list is not compared whole).
    let physical = host_ifaces
        .iter()
        .find(|i| *i != "lo" && !i.starts_with("veth") && !i.starts_with("bv"))
        .cloned();
    if let Some(p) = physical {
        assert!(host.lines().any(|l| l == p), "{p} missing from\n{host}");
    }
    b.cleanup();
}

#[test]
fn a_shell_form_health_check_runs_through_the_images_shell() {
    let b = berth();
    load_busybox(&b);
    // This SHELL logs each command it is given, then runs it.
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\n\
         SHELL [\"/bin/sh\", \"-c\", \"echo \\\"$0\\\" >> /tmp/via-shell; eval \\\"$0\\\"\"]\n\
         HEALTHCHECK --interval=1s CMD test -d /tmp\n\
         CMD [\"sleep\", \"60\"]\n",
    )]);
    build_ok(&b, ctx.path(), &["-t", "shelled", "--network", "none"]);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "shelled-c",
        "--network",
        "none",
        "shelled",
    ]);
    assert!(
        b.eventually(20, || b
            .ok(&["inspect", "-f", "{{.State.Health.Status}}", "shelled-c"])
            .trim()
            == "healthy"),
        "never healthy"
    );
    let log = b.ok(&["exec", "shelled-c", "cat", "/tmp/via-shell"]);
    assert!(log.lines().any(|l| l == "test -d /tmp"), "{log}");
    b.ok(&["rm", "-f", "shelled-c"]);
    b.cleanup();
}

#[test]
fn add_host_lines_reach_run_steps_and_cache_flags_are_accepted() {
    let b = berth();
    load_busybox(&b);
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\nRUN grep db.internal /etc/hosts > /hosts-line\n",
    )]);
    let out = b.run(&[
        "build",
        "--network",
        "none",
        "--add-host",
        "db.internal:10.1.2.3",
        "--cache-from",
        "type=registry,ref=127.0.0.1:1/cache",
        "-t",
        "hosted",
        ctx.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("--cache-from and --cache-to are ignored"));
    let line = sh(&b, "hosted", "cat /hosts-line");
    assert!(
        line.contains("10.1.2.3") && line.contains("db.internal"),
        "{line}"
    );
    // The image's own /etc/hosts is not changed by the build's.
    assert!(!sh(&b, "hosted", "cat /etc/hosts").contains("db.internal"));
    let out = b.run(&[
        "build",
        "--add-host",
        "no-address-here",
        ctx.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no-address-here"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("#2"), "a step ran: {}", stderr(&out));
    b.cleanup();
}
