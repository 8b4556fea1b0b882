//! Stages: grouping, references between stages, `--target`, and a realistic
//! multi-stage Dockerfile read end to end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use dockerfile::*;

const REALISTIC: &str = r#"# syntax=docker/dockerfile:1.7
# check=error=true

ARG GO_VERSION=1.22
ARG BASE=golang:${GO_VERSION}-alpine
ARG RUNTIME

FROM --platform=$BUILDPLATFORM ${BASE} AS deps
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

FROM deps AS build
ARG TARGETOS TARGETARCH
ENV CGO_ENABLED=0 \
    GOOS=$TARGETOS GOARCH=$TARGETARCH
RUN --mount=type=bind,target=. \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=cache,target=/go/pkg/mod,from=deps,source=/go/pkg/mod \
    go build -o /out/app ./cmd/app

FROM build AS test
RUN go test ./...

FROM alpine:3.20 AS certs
RUN apk add --no-cache ca-certificates

FROM ${RUNTIME:-scratch}
LABEL org.opencontainers.image.title="app" \
      org.opencontainers.image.source="https://example.com/app"
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build --chmod=0755 /out/app /app
COPY <<EOF /etc/app.conf
listen = ":8080"
EOF
USER 65532:65532
EXPOSE 8080/tcp
HEALTHCHECK --interval=10s --timeout=2s CMD ["/app", "health"]
ENTRYPOINT ["/app"]
CMD ["serve"]
"#;

fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn realistic_multi_stage_dockerfile() {
    let file = parse(REALISTIC).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        file.directives.syntax.as_deref(),
        Some("docker/dockerfile:1.7")
    );
    assert_eq!(file.directives.check.as_deref(), Some("error=true"));
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);

    let build_args = args(&[("BUILDPLATFORM", "linux/amd64")]);
    let st = file
        .stages(&|n| build_args.get(n).cloned())
        .unwrap_or_else(|e| panic!("{e}"));

    let globals: Vec<(&str, Option<&str>)> = st
        .global_args
        .iter()
        .map(|a| (a.name.as_str(), a.value.as_deref()))
        .collect();
    assert_eq!(
        globals,
        vec![
            ("GO_VERSION", Some("1.22")),
            ("BASE", Some("golang:1.22-alpine")),
            ("RUNTIME", None)
        ]
    );

    let names: Vec<Option<&str>> = st.stages.iter().map(|s| s.name.as_deref()).collect();
    assert_eq!(
        names,
        vec![
            Some("deps"),
            Some("build"),
            Some("test"),
            Some("certs"),
            None
        ]
    );
    let bases: Vec<&Base> = st.stages.iter().map(|s| &s.base).collect();
    assert_eq!(
        bases,
        vec![
            &Base::Image("golang:1.22-alpine".into()),
            &Base::Stage(0),
            &Base::Stage(1),
            &Base::Image("alpine:3.20".into()),
            &Base::Scratch,
        ]
    );
    assert_eq!(
        st.stages[0].from.platform.as_deref(),
        Some("$BUILDPLATFORM")
    );
    assert_eq!(st.stages[0].line, 8);
    assert_eq!(st.stages[1].instructions.len(), 3);
    assert_eq!(st.stages[4].instructions.len(), 9);

    // The final stage needs certs and build (and build needs deps), not test.
    assert_eq!(st.needed_for(None).unwrap(), vec![0, 1, 3, 4]);
    assert_eq!(st.needed_for(Some("TEST")).unwrap(), vec![0, 1, 2]);
    assert_eq!(st.needed_for(Some("certs")).unwrap(), vec![3]);
    let deps: Vec<(usize, usize)> = st.stages[4]
        .deps
        .iter()
        .map(|d| (d.stage, d.line))
        .collect();
    assert_eq!(deps, vec![(3, 32), (1, 33)]);

    // The final stage's contents, typed.
    let last = st.stages[4].instructions;
    let Kind::Copy(c) = &last[3].kind else {
        panic!("{:?}", last[3])
    };
    assert!(
        matches!(&c.files.sources[0], Source::Heredoc(h) if h.content == "listen = \":8080\"\n")
    );
    assert_eq!((last[3].line, last[3].end_line), (34, 36));
    let Kind::Healthcheck(Healthcheck::Check(h)) = &last[6].kind else {
        panic!()
    };
    assert_eq!(h.test_vec(), vec!["CMD", "/app", "health"]);
    assert_eq!(
        last[8].kind,
        Kind::Cmd(CommandLine::Exec(vec!["serve".into()]))
    );

    // A build arg replaces a global default and changes the base.
    let build_args = args(&[
        ("RUNTIME", "gcr.io/distroless/static"),
        ("GO_VERSION", "1.23"),
    ]);
    let st = file.stages(&|n| build_args.get(n).cloned()).unwrap();
    assert_eq!(
        st.stages[4].base,
        Base::Image("gcr.io/distroless/static".into())
    );
    assert_eq!(st.stages[0].base, Base::Image("golang:1.23-alpine".into()));
}

/// A stage as these tests look at it: name, base, the stages it reads from.
type Summary = (Option<String>, Base, Vec<usize>);

fn stages_of(src: &str) -> Result<Vec<Summary>, Error> {
    let file = parse(src)?;
    let st = file.stages(&|_| None)?;
    Ok(st
        .stages
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.base.clone(),
                s.deps.iter().map(|d| d.stage).collect(),
            )
        })
        .collect())
}

#[test]
fn from_a_stage_only_refers_backwards() {
    // `later` is not defined yet on line 1, so it is an image there.
    let s = stages_of("FROM later AS first\nFROM alpine AS later\nFROM LATER\n").unwrap();
    assert_eq!(s[0].1, Base::Image("later".into()));
    assert_eq!(s[2].1, Base::Stage(1));
}

#[test]
fn copy_from_takes_names_indexes_forward_refs_and_images() {
    let src = "FROM a AS one\nFROM b\nCOPY --from=0 /x /x\nCOPY --from=ONE /y /y\nCOPY --from=three /z /z\nCOPY --from=nginx:latest /n /n\nFROM c AS three\n";
    let s = stages_of(src).unwrap();
    assert_eq!(s[1].2, vec![0, 0, 2]);
}

#[test]
fn duplicate_stage_names_are_refused_case_insensitively() {
    let e = stages_of("FROM a AS build\nRUN x\nFROM b AS Build\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(
        e.message
            .contains("stage name \"build\" is already used by the stage on line 1"),
        "{e}"
    );
}

#[test]
fn bad_stage_index_is_refused() {
    let e = stages_of("FROM a\nFROM b\nCOPY --from=2 /x /x\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.message.contains("there is no stage 2"), "{e}");
    let e = stages_of("FROM a\nRUN --mount=from=5,target=/m true\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("RUN --mount from=5"), "{e}");
}

#[test]
fn circular_references_are_refused() {
    let e = stages_of("FROM busybox AS stage0\nCOPY --from=stage0 f /f\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(
        e.message
            .contains("circular dependency between stages: stage0 -> stage0"),
        "{e}"
    );
    let e = stages_of(
        "FROM busybox AS a\nCOPY --from=c f /f\nFROM busybox AS b\nCOPY --from=a f /f\nFROM busybox AS c\nCOPY --from=b f /f\n",
    )
    .unwrap_err();
    assert!(e.message.contains("a -> c -> b -> a"), "{e}");
    assert_eq!(e.line, 4);
}

#[test]
fn unknown_target_lists_the_stages() {
    let file = parse("FROM a AS one\nFROM b AS two\n").unwrap();
    let st = file.stages(&|_| None).unwrap();
    let e = st.needed_for(Some("three")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Dockerfile: target stage \"three\" not found: the stages are one, two"
    );
    assert_eq!(st.target(Some("TWO")).unwrap(), 1);
    assert_eq!(st.target(None).unwrap(), 1);
}

#[test]
fn from_uses_only_global_args_and_predefined_platform_args() {
    // TAG is declared inside a stage, so FROM cannot see it; TARGETARCH is predefined.
    let src =
        "ARG IMG=alpine\nFROM $IMG AS a\nARG TAG=1\nFROM busybox:${TAG:-latest}-$TARGETARCH\n";
    let file = parse(src).unwrap();
    let st = file
        .stages(&|n| (n == "TARGETARCH" || n == "TAG").then(|| "x".to_string()))
        .unwrap();
    assert_eq!(st.stages[0].base, Base::Image("alpine".into()));
    assert_eq!(st.stages[1].base, Base::Image("busybox:latest-x".into()));
}

#[test]
fn from_expanding_to_nothing_or_badly_is_an_error() {
    let e = stages_of("ARG BASE\nFROM $BASE\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("expands to an empty image name"), "{e}");
    let e = stages_of("ARG BASE\n\nFROM ${BASE:?needed}\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Dockerfile:3: BASE: needed in \"${BASE:?needed}\""
    );
}

#[test]
fn a_from_with_variables_in_copy_keeps_every_stage() {
    let src = "FROM a AS one\nFROM b AS two\nFROM c\nARG SRC=one\nCOPY --from=$SRC /x /x\n";
    let file = parse(src).unwrap();
    let st = file.stages(&|_| None).unwrap();
    assert!(st.stages[2].dynamic_from);
    assert_eq!(st.needed_for(None).unwrap(), vec![0, 1, 2]);
    assert_eq!(st.needed_for(Some("one")).unwrap(), vec![0]);
}

#[test]
fn mounts_with_variables_still_record_their_stage() {
    let src = "FROM a AS tools\nFROM b\nRUN --mount=from=tools,target=$DIR,source=/bin make\n";
    let file = parse(src).unwrap();
    let st = file.stages(&|_| None).unwrap();
    assert_eq!(
        st.stages[1]
            .deps
            .iter()
            .map(|d| d.stage)
            .collect::<Vec<_>>(),
        vec![0]
    );
}
