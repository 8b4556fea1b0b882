//! Build stages: the global ARGs before the first FROM, one stage per FROM, what each
//! stage needs from the others (its base, `COPY --from`, `RUN --mount=from=`), and
//! which stages a `--target` build must run. Owns stage naming and reference rules;
//! never pulls an image or runs a step.
//!
//! Rules, as Docker applies them:
//! * Stage names are case-insensitive and must be unique.
//! * `FROM NAME` refers to an *earlier* stage called NAME; anything else is an image
//!   (`scratch` is the empty image). FROM lines are expanded with the global ARGs only
//!   (their defaults, overridden by build args) plus the predefined platform args.
//! * `COPY --from=` and `--mount=from=` take a stage name (earlier or later), a stage
//!   index, or else an image. References must not form a cycle.
//! * Without a target, the last stage is built.

use crate::error::Error;
use crate::expand::expand;
use crate::instruction::{From, Instruction, Kind};
use crate::parse::Dockerfile;

/// Build args that FROM lines may use without an ARG before the first FROM.
const PREDEFINED: &[&str] = &[
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
];

/// A Dockerfile cut into stages.
#[derive(Debug, Clone)]
pub struct Stages<'a> {
    pub global_args: Vec<GlobalArg>,
    pub stages: Vec<Stage<'a>>,
}

/// An ARG before the first FROM, with the value FROM lines see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalArg {
    pub name: String,
    /// The build arg if one was given, else the default expanded; `None` if neither.
    pub value: Option<String>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Stage<'a> {
    pub index: usize,
    /// Lower-cased.
    pub name: Option<String>,
    /// The line of its FROM.
    pub line: usize,
    pub from: &'a From,
    pub base: Base,
    /// The instructions after the FROM, up to the next FROM.
    pub instructions: &'a [Instruction],
    /// Other stages this one reads from, with the line of the instruction that does.
    pub deps: Vec<Dep>,
    /// A `COPY --from=` whose value holds variables: which stage it names is only known
    /// at build time, so [`Stages::needed_for`] keeps every stage when it meets one.
    pub dynamic_from: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Scratch,
    /// An image reference, with FROM's variables expanded.
    Image(String),
    /// An earlier stage.
    Stage(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dep {
    pub stage: usize,
    pub line: usize,
}

impl Dockerfile {
    /// Groups the instructions into stages; see [`stages`].
    pub fn stages(&self, build_args: &dyn Fn(&str) -> Option<String>) -> Result<Stages<'_>, Error> {
        stages(self, build_args)
    }
}

/// Groups a parsed Dockerfile's instructions into stages and resolves the references
/// between them. `build_args` gives the `--build-arg` values.
pub fn stages<'a>(
    file: &'a Dockerfile,
    build_args: &dyn Fn(&str) -> Option<String>,
) -> Result<Stages<'a>, Error> {
    let escape = file.directives.escape;
    let all = &file.instructions;
    let first_from = all
        .iter()
        .position(|i| matches!(i.kind, Kind::From(_)))
        .ok_or_else(|| Error::new(1, "the Dockerfile has no FROM"))?;

    let mut global_args: Vec<GlobalArg> = Vec::new();
    for i in &all[..first_from] {
        let Kind::Arg(decls) = &i.kind else {
            return Err(Error::new(
                i.line,
                format!("{} comes before the first FROM", i.name()),
            ));
        };
        for d in decls {
            let value = match build_args(&d.name) {
                Some(v) => Some(v),
                None => match &d.default {
                    Some(raw) => {
                        let lookup = |n: &str| global_value(&global_args, build_args, n);
                        Some(expand(raw, &lookup, escape).map_err(|e| e.at(i.line))?)
                    }
                    None => None,
                },
            };
            global_args.push(GlobalArg {
                name: d.name.clone(),
                value,
                line: i.line,
            });
        }
    }

    // Stage boundaries: each FROM and the instructions up to the next one.
    let froms: Vec<usize> = (first_from..all.len())
        .filter(|&k| matches!(all[k].kind, Kind::From(_)))
        .collect();
    let mut stages: Vec<Stage<'a>> = Vec::with_capacity(froms.len());
    for (index, &k) in froms.iter().enumerate() {
        let end = froms.get(index + 1).copied().unwrap_or(all.len());
        let Kind::From(from) = &all[k].kind else {
            continue;
        };
        let line = all[k].line;
        if let Some(name) = &from.name {
            if let Some(other) = stages.iter().find(|s| s.name.as_ref() == Some(name)) {
                return Err(Error::new(
                    line,
                    format!(
                        "stage name {name:?} is already used by the stage on line {}: stage names must be unique (they are case-insensitive)",
                        other.line
                    ),
                ));
            }
        }
        let lookup = |n: &str| global_value(&global_args, build_args, n);
        let image = expand(&from.image, &lookup, escape).map_err(|e| e.at(line))?;
        if image.is_empty() {
            return Err(Error::new(
                line,
                format!("FROM {} expands to an empty image name: give the ARG a default or pass --build-arg", from.image),
            ));
        }
        let lower = image.to_ascii_lowercase();
        let base = match stages
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            Some(s) => Base::Stage(s.index),
            None if lower == "scratch" => Base::Scratch,
            None => Base::Image(image),
        };
        stages.push(Stage {
            index,
            name: from.name.clone(),
            line,
            from,
            base,
            instructions: &all[k + 1..end],
            deps: Vec::new(),
            dynamic_from: false,
        });
    }

    // References by name may point forward, so resolve them once every stage is known.
    let count = stages.len();
    let names: Vec<Option<String>> = stages.iter().map(|s| s.name.clone()).collect();
    for stage in &mut stages {
        if let Base::Stage(b) = stage.base {
            stage.deps.push(Dep {
                stage: b,
                line: stage.line,
            });
        }
        for i in stage.instructions {
            let (refs, what): (Vec<String>, &str) = match &i.kind {
                Kind::Copy(c) => (c.from.iter().cloned().collect(), "COPY --from"),
                Kind::Run(r) => (
                    r.mounts.iter().filter_map(|m| m.from()).collect(),
                    "RUN --mount from",
                ),
                _ => continue,
            };
            for r in refs {
                if r.contains('$') {
                    stage.dynamic_from = true;
                    continue;
                }
                if let Some(target) = resolve(&r, &names, count, what, i.line)? {
                    stage.deps.push(Dep {
                        stage: target,
                        line: i.line,
                    });
                }
            }
        }
    }
    check_cycles(&stages)?;
    Ok(Stages {
        global_args,
        stages,
    })
}

fn global_value(
    globals: &[GlobalArg],
    build_args: &dyn Fn(&str) -> Option<String>,
    name: &str,
) -> Option<String> {
    match globals.iter().rev().find(|a| a.name == name) {
        Some(a) => a.value.clone(),
        None if PREDEFINED.contains(&name) => build_args(name),
        None => None,
    }
}

/// A `--from` value as a stage index, or `None` when it names an image.
fn resolve(
    r: &str,
    names: &[Option<String>],
    count: usize,
    what: &str,
    line: usize,
) -> Result<Option<usize>, Error> {
    if !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()) {
        return match r.parse::<usize>() {
            Ok(n) if n < count => Ok(Some(n)),
            _ => Err(Error::new(
                line,
                format!("{what}={r}: there is no stage {r} (stages are numbered from 0 and this file has {count})"),
            )),
        };
    }
    let lower = r.to_ascii_lowercase();
    Ok(names
        .iter()
        .position(|n| n.as_deref() == Some(lower.as_str())))
}

fn check_cycles(stages: &[Stage<'_>]) -> Result<(), Error> {
    // 0 = not seen, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; stages.len()];
    fn visit(
        s: usize,
        stages: &[Stage<'_>],
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Dep> {
        state[s] = 1;
        path.push(s);
        for d in &stages[s].deps {
            if state[d.stage] == 1 {
                path.push(d.stage);
                return Some(*d);
            }
            if state[d.stage] == 0 {
                if let Some(found) = visit(d.stage, stages, state, path) {
                    return Some(found);
                }
            }
        }
        path.pop();
        state[s] = 2;
        None
    }
    for s in 0..stages.len() {
        if state[s] != 0 {
            continue;
        }
        let mut path = Vec::new();
        if let Some(dep) = visit(s, stages, &mut state, &mut path) {
            let start = path.iter().position(|&p| p == dep.stage).unwrap_or(0);
            let chain: Vec<String> = path[start..].iter().map(|&p| label(&stages[p])).collect();
            return Err(Error::new(
                dep.line,
                format!("circular dependency between stages: {}", chain.join(" -> ")),
            ));
        }
    }
    Ok(())
}

fn label(s: &Stage<'_>) -> String {
    match &s.name {
        Some(n) => n.clone(),
        None => format!("stage {}", s.index),
    }
}

impl Stages<'_> {
    /// The stage with this name (case-insensitive).
    pub fn find(&self, name: &str) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        self.stages
            .iter()
            .position(|s| s.name.as_deref() == Some(lower.as_str()))
    }

    /// The stage a build produces: `--target`, or the last stage.
    pub fn target(&self, target: Option<&str>) -> Result<usize, Error> {
        match target {
            None => Ok(self.stages.len().saturating_sub(1)),
            Some(t) => self.find(t).ok_or_else(|| {
                let names: Vec<&str> = self
                    .stages
                    .iter()
                    .filter_map(|s| s.name.as_deref())
                    .collect();
                let known = if names.is_empty() {
                    "this Dockerfile names no stages (FROM IMAGE AS NAME)".to_string()
                } else {
                    format!("the stages are {}", names.join(", "))
                };
                Error::new(0, format!("target stage {t:?} not found: {known}"))
            }),
        }
    }

    /// The stages a build of `target` must run, in file order.
    pub fn needed_for(&self, target: Option<&str>) -> Result<Vec<usize>, Error> {
        let t = self.target(target)?;
        let mut needed = vec![false; self.stages.len()];
        let mut todo = vec![t];
        while let Some(s) = todo.pop() {
            if needed[s] {
                continue;
            }
            needed[s] = true;
            if self.stages[s].dynamic_from {
                // Cannot tell which stage a `--from=$X` names: keep them all.
                return Ok((0..self.stages.len()).collect());
            }
            todo.extend(self.stages[s].deps.iter().map(|d| d.stage));
        }
        Ok((0..self.stages.len()).filter(|&s| needed[s]).collect())
    }
}
