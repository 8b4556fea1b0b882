//! Reading an instruction's `--flag` words against the flags that instruction accepts.
//! Owns the generic rules (known names, value or no value, repetition) and the
//! messages; each instruction's meaning of its flags is in [`crate::parse`].

use crate::suggest;

/// What a flag takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// `--link`, `--link=true`, `--link=false`.
    Bool,
    /// `--from=VALUE`, at most once.
    Value,
    /// `--mount=VALUE`, repeatable.
    Values,
}

/// The flags an instruction was given, read against its table.
#[derive(Debug, Default)]
pub struct Flags {
    given: Vec<(&'static str, String)>,
}

impl Flags {
    /// Reads `words` (as split off by [`crate::words::split_command`]) against `table`.
    /// The error names the flag and the instruction, and lists what it accepts.
    pub fn read(
        instruction: &str,
        table: &[(&'static str, Takes)],
        words: &[String],
    ) -> Result<Flags, String> {
        let mut flags = Flags::default();
        for word in words {
            let Some(body) = word.strip_prefix("--") else {
                return Err(format!(
                    "{instruction}: expected a flag starting with --, got {word:?}"
                ));
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(&(known, takes)) = table.iter().find(|(n, _)| *n == name) else {
                return Err(unknown(instruction, name, table));
            };
            if takes != Takes::Values && flags.given.iter().any(|(n, _)| *n == known) {
                return Err(format!(
                    "{instruction}: flag --{known} is given more than once"
                ));
            }
            let value = match (takes, value) {
                (Takes::Bool, None) => "true".to_string(),
                (Takes::Bool, Some(v)) => match v.to_ascii_lowercase().as_str() {
                    "true" => "true".to_string(),
                    "false" => "false".to_string(),
                    _ => {
                        return Err(format!(
                            "{instruction}: flag --{known} takes true or false, not {v:?}"
                        ))
                    }
                },
                (_, None) | (_, Some("")) => {
                    return Err(format!(
                        "{instruction}: flag --{known} needs a value (--{known}=VALUE)"
                    ))
                }
                (_, Some(v)) => v.to_string(),
            };
            flags.given.push((known, value));
        }
        Ok(flags)
    }

    /// A single-valued flag's value.
    pub fn value(&self, name: &str) -> Option<String> {
        self.given
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }

    /// Every value of a repeatable flag, in order.
    pub fn values(&self, name: &str) -> Vec<String> {
        self.given
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A boolean flag: true when given without `=false`.
    pub fn bool(&self, name: &str) -> bool {
        self.value(name).is_some_and(|v| v == "true")
    }

    pub fn is_empty(&self) -> bool {
        self.given.is_empty()
    }
}

fn unknown(instruction: &str, name: &str, table: &[(&'static str, Takes)]) -> String {
    if table.is_empty() {
        return format!("unknown flag --{name}: {instruction} takes no flags");
    }
    let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
    let accepted: Vec<String> = names.iter().map(|n| format!("--{n}")).collect();
    format!(
        "unknown flag --{name} for {instruction}{} ({instruction} accepts {})",
        suggest::closest(name, &names)
            .map(|c| format!(" (did you mean --{c}?)"))
            .unwrap_or_default(),
        accepted.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const COPY: &[(&str, Takes)] = &[
        ("from", Takes::Value),
        ("link", Takes::Bool),
        ("exclude", Takes::Values),
    ];

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_bools_and_repeats_are_read() {
        let f = Flags::read(
            "COPY",
            COPY,
            &words(&["--from=build", "--link=false", "--exclude=a", "--exclude=b"]),
        )
        .unwrap();
        assert_eq!(f.value("from").as_deref(), Some("build"));
        assert!(!f.bool("link"));
        assert_eq!(f.values("exclude"), vec!["a", "b"]);
        assert!(Flags::read("COPY", COPY, &words(&["--link"]))
            .unwrap()
            .bool("link"));
    }

    #[test]
    fn bad_flags_are_refused_with_the_instruction_named() {
        let e = Flags::read("COPY", COPY, &words(&["--form=x"])).unwrap_err();
        assert_eq!(
            e,
            "unknown flag --form for COPY (did you mean --from?) (COPY accepts --from, --link, --exclude)"
        );
        let e = Flags::read("ENV", &[], &words(&["--x"])).unwrap_err();
        assert_eq!(e, "unknown flag --x: ENV takes no flags");
        let e = Flags::read("COPY", COPY, &words(&["--from"])).unwrap_err();
        assert!(e.contains("--from needs a value"), "{e}");
        let e = Flags::read("COPY", COPY, &words(&["--from=a", "--from=b"])).unwrap_err();
        assert!(e.contains("more than once"), "{e}");
        let e = Flags::read("COPY", COPY, &words(&["--link=yes"])).unwrap_err();
        assert!(e.contains("true or false"), "{e}");
    }
}
