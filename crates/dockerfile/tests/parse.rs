//! The parser against Dockerfile snippets: every instruction, its flags, its errors
//! (each on its line), and the line structure around it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use dockerfile::*;

fn parse_ok(src: &str) -> Dockerfile {
    parse(src).unwrap_or_else(|e| panic!("{e}\n--- in ---\n{src}"))
}

/// The instructions after a leading `FROM x`.
fn body(src: &str) -> Vec<Instruction> {
    let mut f = parse_ok(&format!("FROM x\n{src}"));
    f.instructions.remove(0);
    f.instructions
}

fn only(src: &str) -> Kind {
    let mut b = body(src);
    assert_eq!(b.len(), 1, "{b:?}");
    b.remove(0).kind
}

/// The error for `src` (with `FROM x` on line 1), checked to be on `line`.
fn error_at(src: &str, line: usize) -> String {
    let e = parse(&format!("FROM x\n{src}")).unwrap_err();
    assert_eq!(e.line, line, "wrong line for {e}");
    e.message
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn from_with_platform_and_stage_name() {
    let f = parse_ok("from --platform=$BUILDPLATFORM golang:1.22 As Builder\n");
    let Kind::From(from) = &f.instructions[0].kind else {
        panic!()
    };
    assert_eq!(from.platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!(from.image, "golang:1.22");
    assert_eq!(from.name.as_deref(), Some("builder"));
}

#[test]
fn from_errors() {
    assert!(parse("FROM")
        .unwrap_err()
        .message
        .contains("FROM requires an image"));
    assert!(parse("FROM a b")
        .unwrap_err()
        .message
        .contains("IMAGE AS NAME"));
    assert!(parse("FROM a AS 1st")
        .unwrap_err()
        .message
        .contains("invalid stage name \"1st\""));
    assert!(parse("FROM a AS my/stage")
        .unwrap_err()
        .message
        .contains("invalid stage name"));
    let e = parse("FROM --plaform=linux/amd64 a").unwrap_err();
    assert_eq!(e.to_string(), "Dockerfile:1: unknown flag --plaform for FROM (did you mean --platform?) (FROM accepts --platform)");
}

#[test]
fn run_shell_and_exec_forms() {
    let Kind::Run(r) = only("RUN echo \"$HOME\" && ls") else {
        panic!()
    };
    assert_eq!(r.command, CommandLine::Shell("echo \"$HOME\" && ls".into()));
    let Kind::Run(r) = only("RUN [ \"echo\", \"a b\" ]") else {
        panic!()
    };
    assert_eq!(r.command, CommandLine::Exec(strings(&["echo", "a b"])));
    // Not valid JSON: shell form, exactly as Docker.
    let Kind::Run(r) = only("RUN [\"echo\" \"x\"]") else {
        panic!()
    };
    assert_eq!(r.command, CommandLine::Shell("[\"echo\" \"x\"]".into()));
    let Kind::Run(r) = only("RUN ['echo', 'x']") else {
        panic!()
    };
    assert!(matches!(r.command, CommandLine::Shell(_)));
    assert!(error_at("RUN [\"echo\", 1]", 2).contains("every element must be a string"));
    assert!(error_at("RUN", 2).contains("RUN requires a command"));
}

#[test]
fn run_flags() {
    let Kind::Run(r) = only(
        "RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \\\n    --mount=type=secret,id=token,required \\\n    --network=none --security=insecure pip install -r req.txt",
    ) else {
        panic!()
    };
    assert_eq!(r.network, Some(Network::None));
    assert_eq!(r.security, Some(Security::Insecure));
    let [MountFlag::Parsed(cache), MountFlag::Parsed(secret)] = r.mounts.as_slice() else {
        panic!("{:?}", r.mounts)
    };
    assert_eq!(
        (cache.kind, cache.target.as_deref()),
        (MountKind::Cache, Some("/root/.cache/pip"))
    );
    assert_eq!(cache.sharing, Some(Sharing::Locked));
    assert_eq!((secret.kind, secret.required), (MountKind::Secret, true));
    assert_eq!(
        r.command,
        CommandLine::Shell("pip install -r req.txt".into())
    );

    let Kind::Run(r) =
        only("RUN --network=host --mount=type=bind,from=build,source=/out,target=/in true")
    else {
        panic!()
    };
    assert_eq!(r.network, Some(Network::Host));
    assert_eq!(r.mounts[0].from().as_deref(), Some("build"));
}

#[test]
fn run_flag_errors_name_the_flag_and_instruction() {
    let m = error_at("RUN a\nRUN --mnt=type=cache,target=/x make", 3);
    assert_eq!(m, "unknown flag --mnt for RUN (did you mean --mount?) (RUN accepts --mount, --network, --security)");
    assert!(error_at("RUN --network=bridge x", 2).contains("--network=bridge is not supported"));
    assert!(error_at("RUN --security=weird x", 2).contains("--security=weird is not supported"));
    assert!(error_at("RUN --mount=type=cache x", 2)
        .contains("RUN --mount=type=cache: a type=cache mount needs target=PATH"));
    assert!(error_at("RUN --network x", 2).contains("--network needs a value"));
}

#[test]
fn run_heredocs() {
    let b = body("RUN <<EOF\nset -e\necho $HOME\nEOF\nRUN python3 <<'PY' 3<<-X\nprint('hi')\nPY\n\tthree\n\tX\nRUN after");
    let Kind::Run(r) = &b[0].kind else { panic!() };
    assert_eq!(r.command, CommandLine::Shell("<<EOF".into()));
    assert_eq!(r.heredocs[0].content, "set -e\necho $HOME\n");
    assert!(r.heredocs[0].expand);
    assert_eq!((b[0].line, b[0].end_line), (2, 5));
    let Kind::Run(r) = &b[1].kind else { panic!() };
    assert_eq!(r.command, CommandLine::Shell("python3 <<'PY' 3<<-X".into()));
    assert_eq!(
        (r.heredocs[0].name.as_str(), r.heredocs[0].expand),
        ("PY", false)
    );
    assert_eq!(
        (r.heredocs[1].fd, r.heredocs[1].content.as_str()),
        (3, "three\n")
    );
    assert_eq!((b[1].line, b[1].end_line), (6, 10));
    assert_eq!((b[2].line, b[2].source.as_str()), (11, "RUN after"));
}

#[test]
fn unterminated_heredoc_is_reported_on_its_instruction() {
    let m = error_at("RUN true\nRUN cat <<EOF\nhello\nEOF \n", 3);
    assert!(m.contains("unterminated heredoc <<EOF"), "{m}");
}

#[test]
fn copy_flags_sources_and_destination() {
    let Kind::Copy(c) = only(
        "COPY --from=build --chown=app:app --chmod=0644 --link --parents --exclude=*.md --exclude=.git a b/ /dst/",
    ) else {
        panic!()
    };
    assert_eq!(c.from.as_deref(), Some("build"));
    assert!(c.parents);
    let f = &c.files;
    assert_eq!(
        (f.chown.as_deref(), f.chmod.as_deref(), f.link),
        (Some("app:app"), Some("0644"), true)
    );
    assert_eq!(f.excludes, strings(&["*.md", ".git"]));
    assert_eq!(
        f.sources,
        vec![Source::Path("a".into()), Source::Path("b/".into())]
    );
    assert_eq!((f.dest.as_str(), f.json), ("/dst/", false));

    let Kind::Copy(c) = only("COPY [\"my file.txt\", \"other\", \"/dst dir/\"]") else {
        panic!()
    };
    assert!(c.files.json);
    assert_eq!(c.files.sources[0], Source::Path("my file.txt".into()));
    assert_eq!(c.files.dest, "/dst dir/");
}

#[test]
fn copy_and_add_heredoc_sources() {
    let Kind::Copy(c) = only("COPY <<one <<\"two\" /etc/\nfirst $X\none\nsecond $X\ntwo") else {
        panic!()
    };
    let [Source::Heredoc(a), Source::Heredoc(b)] = c.files.sources.as_slice() else {
        panic!()
    };
    assert_eq!(
        (a.name.as_str(), a.content.as_str(), a.expand),
        ("one", "first $X\n", true)
    );
    assert_eq!(
        (b.name.as_str(), b.content.as_str(), b.expand),
        ("two", "second $X\n", false)
    );
    let Kind::Add(a) = only("ADD <<-EOF /x\n\tbody\n\tEOF") else {
        panic!()
    };
    assert!(matches!(&a.files.sources[0], Source::Heredoc(h) if h.content == "body\n" && h.chomp));
    assert!(
        error_at("COPY a <<EOF\nx\nEOF", 2).contains("cannot take a heredoc as its destination")
    );
}

#[test]
fn add_flags_and_flag_sets_differ_from_copy() {
    let Kind::Add(a) = only(
        "ADD --checksum=sha256:abc --keep-git-dir=true --chown=1:2 --exclude=x https://example.com/a.tgz git@github.com:o/r.git /src/",
    ) else {
        panic!()
    };
    assert_eq!(a.checksum.as_deref(), Some("sha256:abc"));
    assert!(a.keep_git_dir);
    assert_eq!(a.files.sources.len(), 2);
    let m = error_at("COPY --checksum=sha256:x a b", 2);
    assert!(m.starts_with("unknown flag --checksum for COPY"), "{m}");
    let m = error_at("ADD --from=x a b", 2);
    assert!(m.starts_with("unknown flag --from for ADD"), "{m}");
    assert!(error_at("ADD --parents a b", 2).contains("unknown flag --parents for ADD"));
    assert!(error_at("COPY onlyone", 2).contains("COPY requires at least two arguments"));
    assert!(error_at("ADD [\"onlyone\"]", 2).contains("ADD requires at least two arguments"));
    assert!(error_at("COPY --link=maybe a b", 2).contains("--link takes true or false"));
}

#[test]
fn env_forms() {
    let Kind::Env(e) = only("ENV A=1 B=\"two words\" C='single $x' D=a\\ b E=") else {
        panic!()
    };
    let pairs: Vec<(&str, &str)> = e
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_str()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("A", "1"),
            ("B", "\"two words\""),
            ("C", "'single $x'"),
            ("D", "a\\ b"),
            ("E", "")
        ]
    );
    // The legacy form: one key, the whole rest is the value.
    let f = parse_ok("FROM x\nENV PATH /usr/local/bin:$PATH  and more\n");
    let Kind::Env(e) = &f.instructions[1].kind else {
        panic!()
    };
    assert_eq!(
        e,
        &vec![KeyValue {
            key: "PATH".into(),
            value: "/usr/local/bin:$PATH  and more".into()
        }]
    );
    assert!(f
        .warnings
        .iter()
        .any(|w| w.line == 2 && w.message.contains("legacy")));
    // After expansion, quotes are gone.
    let v = expand(&pairs_value(&e[0]), &|_| Some("/bin".into()), '\\').unwrap();
    assert_eq!(v, "/usr/local/bin:/bin  and more");
}

fn pairs_value(kv: &KeyValue) -> String {
    kv.value.clone()
}

#[test]
fn env_errors() {
    assert!(error_at("ENV", 2).contains("ENV requires at least one argument"));
    assert!(error_at("ENV ONLYKEY", 2).contains("has no value"));
    assert!(error_at("ENV A=1 B", 2).contains("can't find = in \"B\""));
    assert!(error_at("ENV =x", 2).contains("names can not be blank"));
    assert!(error_at("ENV --x=1 A=1", 2).contains("unknown flag --x: ENV takes no flags"));
}

#[test]
fn label_pairs_keep_quotes_for_expansion() {
    let Kind::Label(l) =
        only("LABEL org.opencontainers.image.title=\"My App\" \"quoted key\"=v version=1.0")
    else {
        panic!()
    };
    assert_eq!(l.len(), 3);
    assert_eq!(l[0].value, "\"My App\"");
    assert_eq!(l[1].key, "\"quoted key\"");
    assert_eq!(expand(&l[1].key, &|_| None, '\\').unwrap(), "quoted key");
}

#[test]
fn arg_forms() {
    let Kind::Arg(a) = only("ARG VERSION=1.2 DEBUG TAG=\"a b\"") else {
        panic!()
    };
    assert_eq!(
        a,
        vec![
            ArgDecl {
                name: "VERSION".into(),
                default: Some("1.2".into())
            },
            ArgDecl {
                name: "DEBUG".into(),
                default: None
            },
            ArgDecl {
                name: "TAG".into(),
                default: Some("\"a b\"".into())
            },
        ]
    );
    assert!(error_at("ARG", 2).contains("ARG requires at least one argument"));
    assert!(error_at("ARG =v", 2).contains("ARG names can not be blank"));
}

#[test]
fn single_argument_instructions() {
    assert_eq!(
        only("WORKDIR /app/$NAME"),
        Kind::Workdir("/app/$NAME".into())
    );
    assert_eq!(only("USER app:app"), Kind::User("app:app".into()));
    assert_eq!(
        only("STOPSIGNAL SIGTERM"),
        Kind::StopSignal("SIGTERM".into())
    );
    for name in ["WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER"] {
        assert_eq!(
            error_at(name, 2),
            format!("{name} requires exactly one argument")
        );
    }
    let f = parse_ok("FROM x\nMAINTAINER Jane <jane@example.com>\n");
    assert_eq!(
        f.instructions[1].kind,
        Kind::Maintainer("Jane <jane@example.com>".into())
    );
    assert!(f
        .warnings
        .iter()
        .any(|w| w.message.contains("MAINTAINER is deprecated")));
}

#[test]
fn expose_ports() {
    assert_eq!(
        only("EXPOSE 80 53/udp 8000-8010/tcp $PORT"),
        Kind::Expose(strings(&["80", "53/udp", "8000-8010/tcp", "$PORT"]))
    );
    assert!(error_at("EXPOSE 80/http", 2).contains("invalid port \"80/http\""));
    assert!(error_at("EXPOSE 70000", 2).contains("invalid port"));
    assert!(error_at("EXPOSE 90-80", 2).contains("invalid port"));
    assert!(error_at("EXPOSE", 2).contains("at least one"));
    assert_eq!(
        PortSpec::parse("53/UDP").unwrap(),
        PortSpec {
            start: 53,
            end: 53,
            protocol: "udp".into()
        }
    );
}

#[test]
fn volume_forms() {
    assert_eq!(
        only("VOLUME /data /logs"),
        Kind::Volume(strings(&["/data", "/logs"]))
    );
    assert_eq!(
        only("VOLUME [\"/a b\", \"/c\"]"),
        Kind::Volume(strings(&["/a b", "/c"]))
    );
    assert!(error_at("VOLUME [\"\"]", 2).contains("empty string"));
    assert!(error_at("VOLUME", 2).contains("at least one"));
}

#[test]
fn cmd_entrypoint_and_shell() {
    assert_eq!(
        only("CMD [\"nginx\", \"-g\", \"daemon off;\"]"),
        Kind::Cmd(CommandLine::Exec(strings(&["nginx", "-g", "daemon off;"])))
    );
    assert_eq!(only("CMD []"), Kind::Cmd(CommandLine::Exec(vec![])));
    assert_eq!(
        only("entrypoint exec app --flag"),
        Kind::Entrypoint(CommandLine::Shell("exec app --flag".into()))
    );
    assert!(error_at("CMD", 2).contains("CMD requires a command"));
    assert!(error_at("ENTRYPOINT [\"a\", null]", 2).contains("every element must be a string"));
    assert_eq!(
        only("SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]"),
        Kind::Shell(strings(&["/bin/bash", "-o", "pipefail", "-c"]))
    );
    assert!(error_at("SHELL /bin/bash -c", 2).contains("SHELL requires the JSON form"));
    assert!(error_at("SHELL []", 2).contains("at least one"));
}

#[test]
fn healthcheck_forms() {
    assert_eq!(
        only("HEALTHCHECK none"),
        Kind::Healthcheck(Healthcheck::None)
    );
    let Kind::Healthcheck(Healthcheck::Check(h)) = only(
        "HEALTHCHECK --interval=30s --timeout=1m30s --start-period=500ms --start-interval=1.5s --retries=3 CMD curl -f http://localhost/ || exit 1",
    ) else {
        panic!()
    };
    assert_eq!(h.interval, Some(Duration::from_secs(30)));
    assert_eq!(h.timeout, Some(Duration::from_secs(90)));
    assert_eq!(h.start_period, Some(Duration::from_millis(500)));
    assert_eq!(h.start_interval, Some(Duration::from_millis(1500)));
    assert_eq!(h.retries, Some(3));
    assert_eq!(
        h.test_vec(),
        strings(&["CMD-SHELL", "curl -f http://localhost/ || exit 1"])
    );
    let Kind::Healthcheck(Healthcheck::Check(h)) =
        only("HEALTHCHECK --interval=0s CMD [\"/bin/check\", \"-q\"]")
    else {
        panic!()
    };
    assert_eq!(h.interval, None);
    assert_eq!(h.test_vec(), strings(&["CMD", "/bin/check", "-q"]));
}

#[test]
fn healthcheck_errors() {
    assert!(error_at("HEALTHCHECK NONE extra", 2).contains("NONE takes no arguments"));
    assert!(error_at("HEALTHCHECK --retries=2 NONE", 2).contains("NONE takes no flags"));
    assert!(error_at("HEALTHCHECK CMD", 2).contains("CMD requires a command"));
    assert!(error_at("HEALTHCHECK PING x", 2).contains("unknown HEALTHCHECK type \"PING\""));
    assert!(error_at("HEALTHCHECK --interval=soon CMD x", 2)
        .contains("--interval=soon is not a duration"));
    assert!(error_at("HEALTHCHECK --timeout=10us CMD x", 2).contains("cannot be less than 1ms"));
    assert!(error_at("HEALTHCHECK --retries=-1 CMD x", 2)
        .contains("--retries=-1 must be a whole number"));
    assert!(error_at("HEALTHCHECK --intervall=1s CMD x", 2).contains("did you mean --interval?"));
    assert!(error_at("HEALTHCHECK", 2).contains("requires CMD"));
}

#[test]
fn onbuild_wraps_an_instruction() {
    let b = body("ONBUILD COPY . /app/src\nONBUILD RUN <<EOF\nmake\nEOF\n");
    let Kind::Onbuild(o) = &b[0].kind else {
        panic!()
    };
    assert_eq!(o.expression, "COPY . /app/src");
    assert!(matches!(o.instruction.kind, Kind::Copy(_)));
    let Kind::Onbuild(o) = &b[1].kind else {
        panic!()
    };
    assert_eq!(o.expression, "RUN <<EOF\nmake\nEOF");
    assert_eq!((o.instruction.line, o.instruction.end_line), (3, 5));
    let Kind::Run(r) = &o.instruction.kind else {
        panic!()
    };
    assert_eq!(r.heredocs[0].content, "make\n");
}

#[test]
fn onbuild_refusals() {
    assert!(error_at("ONBUILD ONBUILD RUN x", 2).contains("ONBUILD ONBUILD isn't allowed"));
    assert!(error_at("ONBUILD from alpine", 2).contains("FROM isn't allowed as an ONBUILD trigger"));
    assert!(error_at("ONBUILD MAINTAINER me", 2).contains("MAINTAINER isn't allowed"));
    assert!(error_at("ONBUILD", 2).contains("ONBUILD requires an instruction"));
    assert!(error_at("ONBUILD RUN --bogus x", 2).contains("unknown flag --bogus for RUN"));
    assert!(error_at("ONBUILD RUNN x", 2).contains("unknown instruction: RUNN (did you mean RUN?)"));
}

#[test]
fn unknown_instructions_get_a_hint() {
    let e = parse("FROM x\n\nRUN a \\\n  b\nCOPPY a b\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Dockerfile:5: unknown instruction: COPPY (did you mean COPY?)"
    );
    assert_eq!(
        error_at("form y", 2),
        "unknown instruction: form (did you mean FROM?)"
    );
    assert_eq!(error_at("FETCH url", 2), "unknown instruction: FETCH");
}

#[test]
fn only_arg_may_come_before_from() {
    let f = parse_ok("# comment\nARG BASE=alpine\nARG A B=2\nFROM $BASE\n");
    assert_eq!(f.instructions.len(), 3);
    let e = parse("ARG A\n\nRUN echo\nFROM x\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.message.contains("RUN comes before the first FROM"), "{e}");
    let e = parse("ARG A\nARG B\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("no FROM"), "{e}");
}

#[test]
fn empty_files_are_refused() {
    for src in [
        "",
        "\n\n",
        "# only a comment\n\n# another\n",
        "# syntax=docker/dockerfile:1\n",
    ] {
        let e = parse(src).unwrap_err();
        assert!(e.message.contains("no instructions"), "{src:?}: {e}");
    }
}

#[test]
fn instruction_names_are_case_insensitive() {
    let f = parse_ok("from a\nRun x\ncOpY a b\nWorkDir /w\n");
    let names: Vec<&str> = f.instructions.iter().map(Instruction::name).collect();
    assert_eq!(names, vec!["FROM", "RUN", "COPY", "WORKDIR"]);
}

#[test]
fn line_numbers_survive_comments_continuations_and_heredocs() {
    let src = "\
# syntax=docker/dockerfile:1

FROM alpine
# a comment
RUN apk add \\
    # comment inside a continuation
    curl \\

    jq
COPY <<EOF /etc/motd
hello
EOF
   USER nobody
";
    let f = parse_ok(src);
    let spans: Vec<(&str, usize, usize)> = f
        .instructions
        .iter()
        .map(|i| (i.name(), i.line, i.end_line))
        .collect();
    assert_eq!(
        spans,
        vec![
            ("FROM", 3, 3),
            ("RUN", 5, 9),
            ("COPY", 10, 12),
            ("USER", 13, 13)
        ]
    );
    assert_eq!(f.instructions[1].source, "RUN apk add     curl     jq");
    assert_eq!(f.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(
        f.warnings
            .iter()
            .filter(|w| w.message.contains("empty continuation"))
            .count(),
        1
    );
}

#[test]
fn backtick_escape_for_windows_style_files() {
    let src = "# escape=`\nFROM x\nENV P=C:\\Program` Files\\app Q=\"a`\"b\"\nRUN dir C:\\ `\n  && echo done\nWORKDIR C:\\app\n";
    let f = parse_ok(src);
    let Kind::Env(e) = &f.instructions[1].kind else {
        panic!()
    };
    assert_eq!(e.len(), 2);
    assert_eq!(
        expand(&e[0].value, &|_| None, '`').unwrap(),
        "C:\\Program Files\\app"
    );
    assert_eq!(expand(&e[1].value, &|_| None, '`').unwrap(), "a\"b");
    assert_eq!(
        f.instructions[2].kind,
        Kind::Run(Run {
            mounts: vec![],
            network: None,
            security: None,
            command: CommandLine::Shell("dir C:\\   && echo done".into()),
            heredocs: vec![],
        })
    );
    assert_eq!(f.instructions[3].kind, Kind::Workdir("C:\\app".into()));
}

#[test]
fn directive_errors_carry_their_line() {
    let e = parse("# escape=\\\n# ESCAPE=`\nFROM x").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Dockerfile:2: only one escape parser directive can be used"
    );
    let e = parse("# escape=|\nFROM x").unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.message.contains("must be \\ or `"), "{e}");
}

#[test]
fn which_instructions_expand_variables() {
    let f = parse_ok("FROM x\nRUN a\nCMD a\nENTRYPOINT a\nSHELL [\"a\"]\nHEALTHCHECK NONE\nONBUILD WORKDIR /x\nWORKDIR /x\nCOPY a b\nENV A=1\nARG B\n");
    let expands: Vec<(&str, bool)> = f
        .instructions
        .iter()
        .map(|i| (i.name(), i.kind.expands_variables()))
        .collect();
    assert_eq!(
        expands,
        vec![
            ("FROM", true),
            ("RUN", false),
            ("CMD", false),
            ("ENTRYPOINT", false),
            ("SHELL", false),
            ("HEALTHCHECK", false),
            ("ONBUILD", false),
            ("WORKDIR", true),
            ("COPY", true),
            ("ENV", true),
            ("ARG", true),
        ]
    );
}
