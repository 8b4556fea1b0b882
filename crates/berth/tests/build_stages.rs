//! Multi-stage builds run their independent stages at the same time, as BuildKit does:
//! two stages that can only finish together (each waits for the other through a shared
//! cache mount) both finish; a stage that fails stops the others' running steps at once
//! and leaves no container, mount or image behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::time::{Duration, Instant};

use testsupport::build::{build, load_busybox};
use testsupport::{stderr, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

/// A RUN that marks `me` in the shared cache mount, then waits up to 30 s for `other`.
fn meet(me: &str, other: &str) -> String {
    format!(
        "RUN --mount=type=cache,id=rendezvous,target=/r \
         touch /r/{me}; i=0; while [ ! -e /r/{other} ]; do \
         i=$((i+1)); [ $i -gt 300 ] && exit 9; sleep 0.1; done; echo {me} > /{me}\n"
    )
}

#[test]
fn independent_stages_build_at_the_same_time() {
    let b = berth();
    load_busybox(&b);
    let ctx = tempfile::tempdir().unwrap();
    fs::write(
        ctx.path().join("Dockerfile"),
        format!(
            "FROM busybox AS left\n{}FROM busybox AS right\n{}FROM busybox\n\
             COPY --from=left /left /\nCOPY --from=right /right /\n",
            meet("left", "right"),
            meet("right", "left")
        ),
    )
    .unwrap();
    // One stage at a time, the first RUN would wait 30 s and fail with exit code 9.
    let out = build(&b, ctx.path(), &["-t", "met"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        b.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "met",
            "cat",
            "/left",
            "/right"
        ]),
        "left\nright"
    );
    b.cleanup();
}

#[test]
fn a_failing_stage_stops_the_others_and_leaves_nothing() {
    let b = berth();
    load_busybox(&b);
    let ctx = tempfile::tempdir().unwrap();
    fs::write(
        ctx.path().join("Dockerfile"),
        "FROM busybox AS slow\nRUN sleep 60\n\
         FROM busybox AS broken\nRUN sleep 0.5; exit 3\n\
         FROM busybox\nCOPY --from=slow /etc/hostname /a\nCOPY --from=broken /etc/hostname /b\n",
    )
    .unwrap();
    let started = Instant::now();
    let out = build(&b, ctx.path(), &["-t", "never"]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the slow stage was not stopped"
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    // The error is the failing step's, not the stopped one's.
    assert!(
        err.contains("Dockerfile:4") && err.contains("exit code 3"),
        "{err}"
    );
    assert_eq!(b.ok(&["ps", "-a", "-q"]), "");
    assert!(!b.ok(&["images"]).contains("never"));
    b.cleanup();
}
