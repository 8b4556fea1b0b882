//! The typed instructions a Dockerfile is made of. Owns the shapes only: parsing is in
//! [`crate::parse`], flag reading in [`crate::flags`], mounts in [`crate::mounts`].
//!
//! Arguments are kept *as written*: quotes, escapes and `$VARIABLES` are still in them,
//! because Docker expands them at build time with the environment of that moment. The
//! builder passes them through [`crate::expand::expand`] (which also removes the
//! quotes) for the instructions where [`Kind::expands_variables`] is true.

use std::time::Duration;

pub use crate::heredoc::Heredoc;
pub use crate::mounts::{Mount, MountFlag, MountKind, Sharing};

/// One instruction with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line where the instruction starts.
    pub line: usize,
    /// 1-based last line: the end of its continuations and heredoc bodies.
    pub end_line: usize,
    /// The instruction as one logical line (continuations joined, comments inside the
    /// continuation dropped, heredoc bodies not included).
    pub source: String,
    pub kind: Kind,
}

impl Instruction {
    /// The instruction's name in upper case (`"COPY"`).
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    From(From),
    Run(Run),
    Copy(Copy),
    Add(Add),
    /// `ENV K=V ...` or the legacy `ENV K V`.
    Env(Vec<KeyValue>),
    Arg(Vec<ArgDecl>),
    Workdir(String),
    User(String),
    /// Port specs as written (`80`, `53/udp`, `8000-8010/tcp`, `$PORT`).
    Expose(Vec<String>),
    Volume(Vec<String>),
    Label(Vec<KeyValue>),
    Entrypoint(CommandLine),
    Cmd(CommandLine),
    /// SHELL only has the JSON form.
    Shell(Vec<String>),
    Healthcheck(Healthcheck),
    StopSignal(String),
    Onbuild(Onbuild),
    /// Deprecated; kept so old Dockerfiles still parse (the builder sets the author).
    Maintainer(String),
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::From(_) => "FROM",
            Kind::Run(_) => "RUN",
            Kind::Copy(_) => "COPY",
            Kind::Add(_) => "ADD",
            Kind::Env(_) => "ENV",
            Kind::Arg(_) => "ARG",
            Kind::Workdir(_) => "WORKDIR",
            Kind::User(_) => "USER",
            Kind::Expose(_) => "EXPOSE",
            Kind::Volume(_) => "VOLUME",
            Kind::Label(_) => "LABEL",
            Kind::Entrypoint(_) => "ENTRYPOINT",
            Kind::Cmd(_) => "CMD",
            Kind::Shell(_) => "SHELL",
            Kind::Healthcheck(_) => "HEALTHCHECK",
            Kind::StopSignal(_) => "STOPSIGNAL",
            Kind::Onbuild(_) => "ONBUILD",
            Kind::Maintainer(_) => "MAINTAINER",
        }
    }

    /// Whether Docker substitutes variables in this instruction's arguments: ADD, COPY,
    /// ENV, EXPOSE, FROM (global ARGs only), LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR,
    /// and ARG defaults. Never RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK (their text goes
    /// to a shell or is stored as is), nor ONBUILD itself: its trigger is expanded when
    /// it runs in a child image. RUN's `--mount` options are expanded, see
    /// [`MountFlag`].
    pub fn expands_variables(&self) -> bool {
        matches!(
            self,
            Kind::Add(_)
                | Kind::Copy(_)
                | Kind::Env(_)
                | Kind::Expose(_)
                | Kind::From(_)
                | Kind::Label(_)
                | Kind::StopSignal(_)
                | Kind::User(_)
                | Kind::Volume(_)
                | Kind::Workdir(_)
                | Kind::Arg(_)
        )
    }
}

/// `FROM [--platform=P] IMAGE [AS NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    pub platform: Option<String>,
    /// The image or earlier stage, as written (it may hold `$VARIABLES`).
    pub image: String,
    /// The stage name, lower-cased (stage names are case-insensitive).
    pub name: Option<String>,
}

/// Exec form (a JSON array) or shell form (the text, run by the SHELL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    Exec(Vec<String>),
    Shell(String),
}

/// `RUN [--mount=...]... [--network=...] [--security=...] COMMAND`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub mounts: Vec<MountFlag>,
    pub network: Option<Network>,
    pub security: Option<Security>,
    pub command: CommandLine,
    /// Heredoc bodies opened on the line (shell form only). `RUN <<EOF` makes the first
    /// one the script; `RUN python3 <<EOF` feeds it to the command's stdin (or to the
    /// fd written before `<<`).
    pub heredocs: Vec<Heredoc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Default,
    None,
    Host,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Sandbox,
    Insecure,
}

/// A COPY or ADD source: a path (glob, URL or git reference for ADD) as written, or an
/// inline file from a heredoc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Path(String),
    Heredoc(Heredoc),
}

/// What COPY and ADD share: where from, where to, and the file attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    pub sources: Vec<Source>,
    pub dest: String,
    /// Written in the JSON form (`COPY ["a b", "/dst/"]`).
    pub json: bool,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub excludes: Vec<String>,
}

/// `COPY [--from=...] [--chown=...] [--chmod=...] [--link] [--parents] [--exclude=...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// A stage name, a stage index or an image reference.
    pub from: Option<String>,
    pub parents: bool,
    pub files: Files,
}

/// `ADD [--checksum=...] [--keep-git-dir] [--chown=...] [--chmod=...] [--link] [--exclude=...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    pub checksum: Option<String>,
    pub keep_git_dir: bool,
    pub files: Files,
}

/// One `KEY=VALUE` of ENV or LABEL. Both are as written: `"v 2"` still has its quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// One name of an ARG line, with its default as written if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: turn off a check inherited from the base image.
    None,
    Check(HealthCheck),
}

/// `HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D]
/// [--retries=N] CMD ...`. Durations left out are `None` (the engine's defaults apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub test: CommandLine,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub retries: Option<u32>,
}

impl HealthCheck {
    /// The check as an image config stores it: `["CMD", args...]` for the exec form,
    /// `["CMD-SHELL", "command"]` for the shell form.
    pub fn test_vec(&self) -> Vec<String> {
        match &self.test {
            CommandLine::Exec(args) => std::iter::once("CMD".to_string())
                .chain(args.iter().cloned())
                .collect(),
            CommandLine::Shell(cmd) => vec!["CMD-SHELL".to_string(), cmd.clone()],
        }
    }
}

/// `ONBUILD INSTRUCTION`: a trigger stored in the image for its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onbuild {
    /// The trigger as the image config stores it: the text after `ONBUILD`, followed
    /// by its heredoc bodies and delimiters.
    pub expression: String,
    /// The trigger, parsed (so errors show up now, not in a child build).
    pub instruction: Box<Instruction>,
}

/// One EXPOSE entry read: `80`, `53/udp`, `8000-8010/tcp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub start: u16,
    pub end: u16,
    /// `tcp` (the default), `udp` or `sctp`, lower-cased.
    pub protocol: String,
}

impl PortSpec {
    /// Reads an EXPOSE entry (after expansion, if it had variables).
    pub fn parse(spec: &str) -> Result<PortSpec, String> {
        let bad = || {
            format!("invalid port {spec:?} for EXPOSE: use PORT, PORT/PROTOCOL or START-END/PROTOCOL (tcp, udp or sctp)")
        };
        let (ports, protocol) = match spec.split_once('/') {
            Some((p, proto)) => (p, proto.to_ascii_lowercase()),
            None => (spec, "tcp".to_string()),
        };
        if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
            return Err(bad());
        }
        let number = |s: &str| -> Result<u16, String> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse().map_err(|_| bad())
        };
        let (start, end) = match ports.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => {
                let p = number(ports)?;
                (p, p)
            }
        };
        if end < start {
            return Err(bad());
        }
        Ok(PortSpec {
            start,
            end,
            protocol,
        })
    }
}
