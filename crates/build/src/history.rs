//! The `created_by` text of an image's history entries, written the way BuildKit's
//! Dockerfile frontend writes it (what `docker history` shows): `RUN /bin/sh -c ...
//! # buildkit`, `COPY a.txt /app/ # buildkit`, `ENV A=b`, `CMD ["sh"]` (Go's `%q` of a
//! list), `EXPOSE map[80/tcp:{}]`. Owns only the wording; never decides what a step
//! does. Instructions BuildKit words from its own structures in ways that do not
//! carry over (HEALTHCHECK) keep their source text.

use dockerfile::{Kind, Source};
use store::config::RunConfig;

use crate::metadata;

/// BuildKit's history comment on every entry its Dockerfile frontend makes.
pub const COMMENT: &str = "buildkit.dockerfile.v0";

/// Appended by BuildKit to the steps that ran in (or wrote) a file system.
const LAYER_SUFFIX: &str = " # buildkit";

/// `RUN` as BuildKit records it: the build args the stage declared (`|N K=V ...`, the
/// value the command sees), then the argv joined with spaces.
pub fn run(argv: &[String], args: &[(String, String)]) -> String {
    let mut words: Vec<String> = Vec::new();
    if !args.is_empty() {
        words.push(format!("|{}", args.len()));
        words.extend(args.iter().map(|(k, v)| format!("{k}={v}")));
    }
    words.extend(argv.iter().cloned());
    format!("RUN {}{LAYER_SUFFIX}", words.join(" "))
}

/// `COPY`/`ADD`: the sources as given (expanded), inline files as `<<NAME`, then the
/// destination; flags are not part of it.
pub fn copy(what: &str, sources: &[Source], dest: &str, expand: &dyn Fn(&str) -> String) -> String {
    let mut out = what.to_string();
    for s in sources {
        match s {
            Source::Path(p) => {
                out.push(' ');
                out.push_str(&expand(p));
            }
            Source::Heredoc(d) => {
                out.push_str(" <<");
                out.push_str(&d.name);
            }
        }
    }
    out.push(' ');
    out.push_str(&expand(dest));
    out.push_str(LAYER_SUFFIX);
    out
}

/// `ARG`: each name, with `=value` when it has one.
pub fn arg(decls: &[(String, Option<String>)]) -> String {
    let words: Vec<String> = decls
        .iter()
        .map(|(n, v)| match v {
            Some(v) => format!("{n}={v}"),
            None => n.clone(),
        })
        .collect();
    format!("ARG {}", words.join(" "))
}

/// A config-only instruction, given the run config after it and a word expander.
pub fn config(
    kind: &Kind,
    source: &str,
    after: &RunConfig,
    expand: &dyn Fn(&str) -> String,
) -> String {
    match kind {
        Kind::Env(pairs) => {
            let words: Vec<String> = pairs
                .iter()
                .map(|kv| {
                    let k = expand(&kv.key);
                    let v = metadata::get_env(after, &k).unwrap_or_default();
                    format!("{k}={v}")
                })
                .collect();
            format!("ENV {}", words.join(" "))
        }
        Kind::Label(pairs) => {
            let words: Vec<String> = pairs
                .iter()
                .map(|kv| {
                    let k = expand(&kv.key);
                    let v = after
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(&k))
                        .cloned()
                        .unwrap_or_default();
                    format!("{k}={v}")
                })
                .collect();
            format!("LABEL {}", words.join(" "))
        }
        Kind::Workdir(_) => format!("WORKDIR {}", after.working_dir.as_deref().unwrap_or("/")),
        Kind::User(_) => format!("USER {}", after.user.as_deref().unwrap_or_default()),
        Kind::Expose(ports) => {
            let mut keys: Vec<String> = Vec::new();
            for p in ports {
                for word in expand(p).split_whitespace() {
                    if let Ok(spec) = dockerfile::PortSpec::parse(word) {
                        for port in spec.start..=spec.end {
                            keys.push(format!("{port}/{}", spec.protocol));
                        }
                    }
                }
            }
            // Go prints a map with its keys sorted as strings.
            keys.sort();
            keys.dedup();
            let entries: Vec<String> = keys.iter().map(|k| format!("{k}:{{}}")).collect();
            format!("EXPOSE map[{}]", entries.join(" "))
        }
        Kind::Volume(vols) => {
            let v: Vec<String> = vols.iter().map(|v| expand(v)).collect();
            format!("VOLUME [{}]", v.join(" "))
        }
        Kind::Shell(sh) => format!("SHELL [{}]", sh.join(" ")),
        Kind::Entrypoint(_) => format!(
            "ENTRYPOINT {}",
            go_quoted_list(after.entrypoint.as_deref().unwrap_or_default())
        ),
        Kind::Cmd(_) => format!(
            "CMD {}",
            go_quoted_list(after.cmd.as_deref().unwrap_or_default())
        ),
        Kind::StopSignal(_) => format!(
            "STOPSIGNAL {}",
            after.stop_signal.as_deref().unwrap_or_default()
        ),
        _ => source.to_string(),
    }
}

/// Go's `fmt.Sprintf("%q", []string{...})`: `["a" "b c"]`.
pub fn go_quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

/// Go's `strconv.Quote` for the characters Dockerfiles hold.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(line: &str) -> (Kind, String) {
        let f = dockerfile::parse(&format!("FROM scratch\n{line}\n")).unwrap();
        let i = f.instructions.into_iter().nth(1).unwrap();
        (i.kind, i.source)
    }

    fn words(line: &str, after: &RunConfig) -> String {
        let (k, source) = kind(line);
        config(&k, &source, after, &|w: &str| w.to_string())
    }

    #[test]
    fn run_and_copy_carry_buildkits_suffix_and_declared_args() {
        let argv = ["/bin/sh", "-c", "echo hi"].map(String::from);
        assert_eq!(run(&argv, &[]), "RUN /bin/sh -c echo hi # buildkit");
        assert_eq!(
            run(
                &argv,
                &[("V".into(), "a".into()), ("W".into(), String::new())]
            ),
            "RUN |2 V=a W= /bin/sh -c echo hi # buildkit"
        );
        let (k, _) = kind("COPY --chown=1:1 a.txt b.txt /app/");
        let Kind::Copy(c) = k else { panic!() };
        assert_eq!(
            copy("COPY", &c.files.sources, &c.files.dest, &|w: &str| w
                .to_string()),
            "COPY a.txt b.txt /app/ # buildkit"
        );
        assert_eq!(
            arg(&[("A".into(), Some("1".into())), ("B".into(), None)]),
            "ARG A=1 B"
        );
    }

    #[test]
    fn config_steps_read_like_buildkits() {
        let mut after = RunConfig {
            cmd: Some(vec!["sh".into()]),
            entrypoint: Some(vec!["/bin/sh".into(), "-c".into(), "echo \"x\"".into()]),
            working_dir: Some("/app".into()),
            ..Default::default()
        };
        metadata::set_env(&mut after, "A", "b");
        after.labels = Some([("k".to_string(), "v".to_string())].into());
        assert_eq!(words("ENV A=b", &after), "ENV A=b");
        assert_eq!(words("ENV A b", &after), "ENV A=b");
        assert_eq!(words("CMD sh", &after), "CMD [\"sh\"]");
        assert_eq!(
            words("ENTRYPOINT echo \"x\"", &after),
            "ENTRYPOINT [\"/bin/sh\" \"-c\" \"echo \\\"x\\\"\"]"
        );
        assert_eq!(words("WORKDIR app", &after), "WORKDIR /app");
        assert_eq!(words("LABEL k=\"v\"", &after), "LABEL k=v");
        assert_eq!(words("EXPOSE 80", &after), "EXPOSE map[80/tcp:{}]");
        assert_eq!(
            words("EXPOSE 8080 443/tcp 53/udp", &after),
            "EXPOSE map[443/tcp:{} 53/udp:{} 8080/tcp:{}]"
        );
        assert_eq!(words("VOLUME /a /b", &after), "VOLUME [/a /b]");
        assert_eq!(
            words("SHELL [\"/bin/bash\", \"-c\"]", &after),
            "SHELL [/bin/bash -c]"
        );
    }
}
