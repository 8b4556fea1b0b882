//! From logical lines to typed instructions: each instruction's arguments and flags
//! read and checked as Docker's frontend does, with the error on the instruction's
//! line. Owns the per-instruction rules; never expands variables (values stay as
//! written, see [`crate::instruction`]) and never resolves stages ([`crate::stages`]).

use std::time::Duration;

use crate::error::{Error, Warning};
use crate::flags::{Flags, Takes};
use crate::heredoc::{self, Heredoc};
use crate::instruction::*;
use crate::lexer::{lex, Directives, LogicalLine};
use crate::suggest;
use crate::words::{json_array, plain_words, quoted_words, split_command, Json};

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub directives: Directives,
    pub instructions: Vec<Instruction>,
    pub warnings: Vec<Warning>,
}

const INSTRUCTIONS: &[&str] = &[
    "FROM",
    "RUN",
    "COPY",
    "ADD",
    "ENV",
    "ARG",
    "WORKDIR",
    "USER",
    "EXPOSE",
    "VOLUME",
    "LABEL",
    "ENTRYPOINT",
    "CMD",
    "SHELL",
    "HEALTHCHECK",
    "STOPSIGNAL",
    "ONBUILD",
    "MAINTAINER",
];

const NOT_STRINGS: &str =
    "when using the JSON array form, every element must be a string (quote numbers too)";

/// Parses Dockerfile text. It needs at least one FROM, and nothing but ARG before the
/// first one.
pub fn parse(text: &str) -> Result<Dockerfile, Error> {
    let lexed = lex(text)?;
    let mut warnings = lexed.warnings;
    let escape = lexed.directives.escape;
    let mut instructions = Vec::with_capacity(lexed.lines.len());
    for line in &lexed.lines {
        instructions.push(instruction(line, escape, &mut warnings)?);
    }

    let Some(first) = instructions
        .iter()
        .find(|i| !matches!(i.kind, Kind::Arg(_)))
    else {
        let line = instructions
            .last()
            .map_or(text.lines().count().max(1), |i| i.line);
        let message = if instructions.is_empty() {
            "the Dockerfile has no instructions: it needs at least FROM IMAGE"
        } else {
            "the Dockerfile has no FROM: add FROM IMAGE after the ARG lines"
        };
        return Err(Error::new(line, message));
    };
    if !matches!(first.kind, Kind::From(_)) {
        return Err(Error::new(
            first.line,
            format!(
                "{} comes before the first FROM: only ARG may come before FROM (start the stage with FROM IMAGE)",
                first.name()
            ),
        ));
    }
    Ok(Dockerfile {
        directives: lexed.directives,
        instructions,
        warnings,
    })
}

fn instruction(
    line: &LogicalLine,
    escape: char,
    warnings: &mut Vec<Warning>,
) -> Result<Instruction, Error> {
    let (cmd, flags, rest) = split_command(&line.text);
    let mut kind = kind(
        &cmd,
        &flags,
        &rest,
        &line.heredocs,
        escape,
        line.start,
        warnings,
    )
    .map_err(|m| Error::new(line.start, m))?;
    if let Kind::Onbuild(o) = &mut kind {
        o.instruction.end_line = line.end;
    }
    Ok(Instruction {
        line: line.start,
        end_line: line.end,
        source: line.text.clone(),
        kind,
    })
}

fn kind(
    cmd: &str,
    flag_words: &[String],
    rest: &str,
    heredocs: &[Heredoc],
    escape: char,
    line: usize,
    warnings: &mut Vec<Warning>,
) -> Result<Kind, String> {
    let upper = cmd.to_ascii_uppercase();
    let name = upper.as_str();
    let flags = |table: &[(&'static str, Takes)]| Flags::read(name, table, flag_words);
    match name {
        "FROM" => {
            let f = flags(&[("platform", Takes::Value)])?;
            from(rest, f.value("platform")).map(Kind::From)
        }
        "RUN" => {
            let f = flags(&[
                ("mount", Takes::Values),
                ("network", Takes::Value),
                ("security", Takes::Value),
            ])?;
            run(&f, rest, heredocs).map(Kind::Run)
        }
        "COPY" => {
            let f = flags(&[
                ("from", Takes::Value),
                ("chown", Takes::Value),
                ("chmod", Takes::Value),
                ("link", Takes::Bool),
                ("parents", Takes::Bool),
                ("exclude", Takes::Values),
            ])?;
            Ok(Kind::Copy(Copy {
                from: f.value("from"),
                parents: f.bool("parents"),
                files: files(name, &f, rest, heredocs)?,
            }))
        }
        "ADD" => {
            let f = flags(&[
                ("chown", Takes::Value),
                ("chmod", Takes::Value),
                ("link", Takes::Bool),
                ("exclude", Takes::Values),
                ("checksum", Takes::Value),
                ("keep-git-dir", Takes::Bool),
            ])?;
            Ok(Kind::Add(Add {
                checksum: f.value("checksum"),
                keep_git_dir: f.bool("keep-git-dir"),
                files: files(name, &f, rest, heredocs)?,
            }))
        }
        "ENV" | "LABEL" => {
            flags(&[])?;
            let (pairs, legacy) = key_values(name, rest, escape)?;
            if legacy {
                warnings.push(Warning {
                    line,
                    message: format!(
                        "\"{name} key value\" is the legacy form: write {name} key=value"
                    ),
                });
            }
            Ok(if name == "ENV" {
                Kind::Env(pairs)
            } else {
                Kind::Label(pairs)
            })
        }
        "ARG" => {
            flags(&[])?;
            arg(rest, escape).map(Kind::Arg)
        }
        "WORKDIR" | "USER" | "STOPSIGNAL" | "MAINTAINER" => {
            flags(&[])?;
            if rest.is_empty() {
                return Err(format!("{name} requires exactly one argument"));
            }
            let value = rest.to_string();
            Ok(match name {
                "WORKDIR" => Kind::Workdir(value),
                "USER" => Kind::User(value),
                "STOPSIGNAL" => Kind::StopSignal(value),
                _ => {
                    warnings.push(Warning {
                        line,
                        message: "MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors=...".into(),
                    });
                    Kind::Maintainer(value)
                }
            })
        }
        "EXPOSE" => {
            flags(&[])?;
            let ports = plain_words(rest);
            if ports.is_empty() {
                return Err("EXPOSE requires at least one argument".into());
            }
            for p in ports.iter().filter(|p| !p.contains('$')) {
                PortSpec::parse(p)?;
            }
            Ok(Kind::Expose(ports))
        }
        "VOLUME" => {
            flags(&[])?;
            let volumes = match json_array(rest) {
                Json::Array(v) => v,
                Json::NotStrings => return Err(NOT_STRINGS.into()),
                Json::NotJson => plain_words(rest),
            };
            if volumes.is_empty() {
                return Err("VOLUME requires at least one argument".into());
            }
            if volumes.iter().any(|v| v.trim().is_empty()) {
                return Err("VOLUME cannot be an empty string".into());
            }
            Ok(Kind::Volume(volumes))
        }
        "ENTRYPOINT" | "CMD" => {
            flags(&[])?;
            if rest.is_empty() {
                return Err(format!(
                    "{name} requires a command (write {name} [] for none)"
                ));
            }
            let c = command_line(rest)?;
            Ok(if name == "CMD" {
                Kind::Cmd(c)
            } else {
                Kind::Entrypoint(c)
            })
        }
        "SHELL" => {
            flags(&[])?;
            match json_array(rest) {
                Json::Array(v) if !v.is_empty() => Ok(Kind::Shell(v)),
                Json::Array(_) => Err("SHELL requires at least one argument".into()),
                Json::NotStrings => Err(NOT_STRINGS.into()),
                Json::NotJson => Err(format!(
                    "SHELL requires the JSON form, like SHELL [\"/bin/sh\", \"-c\"], not {rest:?}"
                )),
            }
        }
        "HEALTHCHECK" => {
            let f = flags(&[
                ("interval", Takes::Value),
                ("timeout", Takes::Value),
                ("start-period", Takes::Value),
                ("start-interval", Takes::Value),
                ("retries", Takes::Value),
            ])?;
            healthcheck(&f, rest).map(Kind::Healthcheck)
        }
        "ONBUILD" => {
            flags(&[])?;
            onbuild(rest, heredocs, escape, line, warnings).map(Kind::Onbuild)
        }
        _ => Err(format!(
            "unknown instruction: {cmd}{}",
            suggest::hint(cmd, INSTRUCTIONS)
        )),
    }
}

fn from(rest: &str, platform: Option<String>) -> Result<From, String> {
    let words = plain_words(rest);
    let name = match words.as_slice() {
        [_] => None,
        [_, as_, name] if as_.eq_ignore_ascii_case("as") => {
            let lower = name.to_ascii_lowercase();
            let mut chars = lower.chars();
            let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
            if !valid {
                return Err(format!(
                    "invalid stage name {name:?}: it must start with a letter and hold only letters, digits, '-', '_' and '.'"
                ));
            }
            Some(lower)
        }
        [] => return Err("FROM requires an image (FROM IMAGE [AS NAME])".into()),
        _ => return Err(format!("FROM takes IMAGE or IMAGE AS NAME, not {rest:?}")),
    };
    Ok(From {
        platform,
        image: words[0].clone(),
        name,
    })
}

fn command_line(rest: &str) -> Result<CommandLine, String> {
    match json_array(rest) {
        Json::Array(v) => Ok(CommandLine::Exec(v)),
        Json::NotStrings => Err(NOT_STRINGS.into()),
        Json::NotJson => Ok(CommandLine::Shell(rest.to_string())),
    }
}

fn run(f: &Flags, rest: &str, heredocs: &[Heredoc]) -> Result<Run, String> {
    let network = match f.value("network").as_deref() {
        None => None,
        Some("default") => Some(Network::Default),
        Some("none") => Some(Network::None),
        Some("host") => Some(Network::Host),
        Some(other) => {
            return Err(format!(
                "RUN --network={other} is not supported: use default, none or host"
            ))
        }
    };
    let security = match f.value("security").as_deref() {
        None => None,
        Some("sandbox") => Some(Security::Sandbox),
        Some("insecure") => Some(Security::Insecure),
        Some(other) => {
            return Err(format!(
                "RUN --security={other} is not supported: use sandbox or insecure"
            ))
        }
    };
    let mut mounts = Vec::new();
    for spec in f.values("mount") {
        mounts.push(MountFlag::read(&spec).map_err(|e| format!("RUN --mount={spec}: {e}"))?);
    }
    if rest.is_empty() {
        return Err("RUN requires a command".into());
    }
    Ok(Run {
        mounts,
        network,
        security,
        command: command_line(rest)?,
        heredocs: heredocs.to_vec(),
    })
}

fn files(name: &str, f: &Flags, rest: &str, heredocs: &[Heredoc]) -> Result<Files, String> {
    let (mut words, json) = match json_array(rest) {
        Json::Array(v) => (v, true),
        Json::NotStrings => return Err(NOT_STRINGS.into()),
        Json::NotJson => (plain_words(rest), false),
    };
    if words.len() < 2 {
        return Err(format!(
            "{name} requires at least two arguments, one or more sources and a destination ({name} SRC... DEST)"
        ));
    }
    let dest = words.pop().unwrap_or_default();
    if !json && heredoc::opening(&dest).is_some() {
        return Err(format!("{name} cannot take a heredoc as its destination"));
    }
    let sources = words
        .into_iter()
        .map(|w| {
            let doc = (!json)
                .then(|| heredoc::opening(&w))
                .flatten()
                .and_then(|o| heredocs.iter().find(|h| h.name == o.name));
            match doc {
                Some(h) => Source::Heredoc(h.clone()),
                None => Source::Path(w),
            }
        })
        .collect();
    Ok(Files {
        sources,
        dest,
        json,
        chown: f.value("chown"),
        chmod: f.value("chmod"),
        link: f.bool("link"),
        excludes: f.values("exclude"),
    })
}

/// ENV and LABEL pairs, and whether the legacy `KEY VALUE` form was used.
fn key_values(name: &str, rest: &str, escape: char) -> Result<(Vec<KeyValue>, bool), String> {
    let words = quoted_words(rest, escape);
    let Some(first) = words.first() else {
        return Err(format!("{name} requires at least one argument"));
    };
    if !first.contains('=') {
        // Legacy form: the first word is the key, everything after it the value.
        let split = rest.find([' ', '\t', '\u{b}', '\u{c}', '\r']);
        let Some(i) = split else {
            return Err(format!(
                "{name} {rest} has no value: write {name} {rest}=VALUE"
            ));
        };
        let value = rest[i..].trim_start_matches([' ', '\t', '\u{b}', '\u{c}', '\r']);
        return Ok((
            vec![KeyValue {
                key: rest[..i].to_string(),
                value: value.to_string(),
            }],
            true,
        ));
    }
    let mut pairs = Vec::with_capacity(words.len());
    for w in words {
        let Some((key, value)) = w.split_once('=') else {
            return Err(format!(
                "{name}: can't find = in {w:?}; every item must be KEY=VALUE (quote values with spaces)"
            ));
        };
        if key.is_empty() {
            return Err(format!("{name} names can not be blank ({w:?})"));
        }
        pairs.push(KeyValue {
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    Ok((pairs, false))
}

fn arg(rest: &str, escape: char) -> Result<Vec<ArgDecl>, String> {
    let words = quoted_words(rest, escape);
    if words.is_empty() {
        return Err("ARG requires at least one argument (ARG NAME or ARG NAME=DEFAULT)".into());
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some(("", _)) => Err(format!("ARG names can not be blank ({w:?})")),
            Some((n, v)) => Ok(ArgDecl {
                name: n.to_string(),
                default: Some(v.to_string()),
            }),
            None => Ok(ArgDecl {
                name: w,
                default: None,
            }),
        })
        .collect()
}

fn healthcheck(f: &Flags, rest: &str) -> Result<Healthcheck, String> {
    let (typ, cmd) = match rest.split_once(char::is_whitespace) {
        Some((t, c)) => (t, c.trim_start()),
        None => (rest, ""),
    };
    match typ.to_ascii_uppercase().as_str() {
        "" => Err("HEALTHCHECK requires CMD COMMAND or NONE".into()),
        "NONE" => {
            if !cmd.is_empty() {
                return Err("HEALTHCHECK NONE takes no arguments".into());
            }
            if !f.is_empty() {
                return Err("HEALTHCHECK NONE takes no flags".into());
            }
            Ok(Healthcheck::None)
        }
        "CMD" => {
            if cmd.is_empty() || cmd == "[]" {
                return Err("HEALTHCHECK CMD requires a command".into());
            }
            let retries = match f.value("retries") {
                None => None,
                Some(r) => Some(r.parse::<u32>().map_err(|_| {
                    format!("HEALTHCHECK --retries={r} must be a whole number, 0 or more")
                })?),
            };
            Ok(Healthcheck::Check(HealthCheck {
                test: command_line(cmd)?,
                interval: duration_flag(f, "interval")?,
                timeout: duration_flag(f, "timeout")?,
                start_period: duration_flag(f, "start-period")?,
                start_interval: duration_flag(f, "start-interval")?,
                retries,
            }))
        }
        _ => Err(format!("unknown HEALTHCHECK type {typ:?}: use CMD or NONE")),
    }
}

/// A duration flag; 0 means "the default", like leaving it out.
fn duration_flag(f: &Flags, name: &str) -> Result<Option<Duration>, String> {
    let Some(text) = f.value(name) else {
        return Ok(None);
    };
    let d = go_duration(&text).ok_or_else(|| {
        format!("HEALTHCHECK --{name}={text} is not a duration (like 30s, 1m30s or 500ms)")
    })?;
    if d.is_zero() {
        return Ok(None);
    }
    if d < Duration::from_millis(1) {
        return Err(format!("HEALTHCHECK --{name} cannot be less than 1ms"));
    }
    Ok(Some(d))
}

/// A duration in Go's notation (`1h2m3.5s`, `300ms`, `2us`); negatives are refused.
fn go_duration(s: &str) -> Option<Duration> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() {
        return None;
    }
    let mut nanos = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        if num.is_empty() || num == "." {
            return None;
        }
        let n: f64 = num.parse().ok()?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        nanos += n * scale;
        rest = after;
    }
    (nanos.is_finite() && nanos < u64::MAX as f64).then(|| Duration::from_nanos(nanos as u64))
}

fn onbuild(
    rest: &str,
    heredocs: &[Heredoc],
    escape: char,
    line: usize,
    warnings: &mut Vec<Warning>,
) -> Result<Onbuild, String> {
    let (cmd, flags, inner_rest) = split_command(rest);
    match cmd.to_ascii_uppercase().as_str() {
        "" => return Err("ONBUILD requires an instruction to run in child images".into()),
        "ONBUILD" => return Err("chaining ONBUILD via ONBUILD ONBUILD isn't allowed".into()),
        t @ ("FROM" | "MAINTAINER") => {
            return Err(format!("{t} isn't allowed as an ONBUILD trigger"))
        }
        _ => {}
    }
    let inner = kind(&cmd, &flags, &inner_rest, heredocs, escape, line, warnings)
        .map_err(|e| format!("ONBUILD {e}"))?;
    let mut expression = rest.to_string();
    for h in heredocs {
        expression.push('\n');
        expression.push_str(&h.content);
        expression.push_str(&h.name);
    }
    Ok(Onbuild {
        expression,
        instruction: Box::new(Instruction {
            line,
            end_line: line,
            source: rest.to_string(),
            kind: inner,
        }),
    })
}
