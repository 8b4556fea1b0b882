//! Interpolates one file's tree with the project environment, remembering where each
//! unset variable was first used so that its warning can say so. The `${...}` rules
//! themselves are `crate::interpolate`'s; this module never reads the environment or
//! files itself.

use std::collections::HashSet;

use crate::interpolate::{interpolate_str, InterpolationError, Lookup};
use crate::value::{Node, Span, Value};

/// Unset variables met so far in this load, each once, with where it was first used.
#[derive(Debug, Default, Clone)]
pub(crate) struct Unset {
    seen: HashSet<String>,
    pub first_use: Vec<(Span, String)>,
}

impl Unset {
    /// Compose's own wording, so that scripts and people matching on it still do.
    pub fn message(name: &str) -> String {
        format!("The \"{name}\" variable is not set. Defaulting to a blank string.")
    }
}

/// Interpolates every string value in `node` (never keys; `x-*` fields too, as
/// compose does). Stops at the first error, which carries the failing node's span.
pub(crate) fn interpolate(
    node: &mut Node,
    env: &dyn Lookup,
    unset: &mut Unset,
) -> Result<(), InterpolationError> {
    // A stack rather than recursion, children pushed in reverse: document order for
    // both the first error and the order of warnings.
    let mut stack: Vec<&mut Node> = vec![node];
    while let Some(n) = stack.pop() {
        let span = n.span;
        match &mut n.value {
            Value::Str(s) => {
                if !s.contains('$') {
                    continue;
                }
                let done = interpolate_str(s, env).map_err(|e| InterpolationError {
                    span,
                    message: e.message,
                })?;
                *s = done.value;
                for name in done.unset {
                    if unset.seen.insert(name.clone()) {
                        unset.first_use.push((span, name));
                    }
                }
            }
            Value::Seq(items) => stack.extend(items.iter_mut().rev()),
            Value::Map(entries) => stack.extend(entries.iter_mut().rev().map(|(_, v)| v)),
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn warns_once_per_variable_at_its_first_use() {
        let mut n = crate::yaml::parse("a: ${X}\nb:\n  - $X-${Y:-d}\n  - ${Z}\n", 3).unwrap();
        let env: BTreeMap<String, String> = [("Z".to_string(), "z".to_string())].into();
        let mut unset = Unset::default();
        interpolate(&mut n, &env, &mut unset).unwrap();
        assert_eq!(
            unset.first_use,
            vec![(
                Span {
                    file: 3,
                    line: 1,
                    col: 4
                },
                "X".to_string()
            )]
        );
        assert_eq!(
            n.get("b").unwrap().as_seq().unwrap()[0].as_str(),
            Some("-d")
        );
        assert_eq!(n.get("b").unwrap().as_seq().unwrap()[1].as_str(), Some("z"));
    }

    #[test]
    fn errors_carry_the_span_of_the_string() {
        let mut n = crate::yaml::parse("a:\n  b: ok\n  c: ${NEED:?set NEED}\n", 1).unwrap();
        let env: BTreeMap<String, String> = BTreeMap::new();
        let e = interpolate(&mut n, &env, &mut Unset::default()).unwrap_err();
        assert_eq!((e.span.line, e.span.col), (3, 6));
        assert!(e.message.contains("set NEED"), "{}", e.message);
    }
}
