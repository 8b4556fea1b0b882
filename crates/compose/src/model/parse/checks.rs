//! Checks that need every service at once: dependency cycles, and whether the
//! implicit `default` network is used.

use std::collections::BTreeMap;

use crate::model::Project;
use crate::value::Span;

use super::read::{error, Res};

/// Fails on the first cycle in `depends_on` (implicit dependencies included), naming
/// every service on it: `a -> b -> a`. `spans` maps a service to its key's span and
/// its `depends_on` node's span.
pub(crate) fn dependency_cycles(
    project: &Project,
    spans: &BTreeMap<String, (Span, Option<Span>)>,
) -> Res<()> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let edges: BTreeMap<&str, Vec<&str>> = project
        .services
        .iter()
        .map(|(k, s)| {
            (
                k.as_str(),
                s.depends_on.keys().map(String::as_str).collect(),
            )
        })
        .collect();
    let mut marks: BTreeMap<&str, Mark> = edges.keys().map(|k| (*k, Mark::New)).collect();
    // Depth-first with an explicit stack (service, next edge), so a long chain cannot
    // overflow the call stack.
    for start in edges.keys() {
        if marks.get(start) != Some(&Mark::New) {
            continue;
        }
        marks.insert(start, Mark::OnPath);
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        while let Some((node, i)) = stack.last_mut() {
            let Some(dep) = edges.get(node).and_then(|d| d.get(*i)).copied() else {
                marks.insert(node, Mark::Done);
                stack.pop();
                continue;
            };
            *i += 1;
            match marks.get(dep).copied() {
                Some(Mark::New) => {
                    marks.insert(dep, Mark::OnPath);
                    stack.push((dep, 0));
                }
                Some(Mark::OnPath) => {
                    let from = stack.iter().position(|(s, _)| *s == dep).unwrap_or(0);
                    let mut cycle: Vec<&str> = stack[from..].iter().map(|(s, _)| *s).collect();
                    cycle.push(dep);
                    let span = spans
                        .get(dep)
                        .map(|(k, d)| d.unwrap_or(*k))
                        .unwrap_or_default();
                    return Err(error(
                        span,
                        &format!("services.{dep}.depends_on"),
                        format!("dependency cycle: {}", cycle.join(" -> ")),
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

pub(crate) fn uses_default_network(project: &Project) -> bool {
    project
        .services
        .values()
        .any(|s| s.networks.contains_key("default"))
}
