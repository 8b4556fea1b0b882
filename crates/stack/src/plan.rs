//! Which services a command acts on and in what order: the services named on the
//! command line (checked against the project), with their dependencies when asked,
//! and the dependency levels that `up` starts from the bottom and `down` and `stop`
//! tear down from the top. Pure functions of the model.

use std::collections::{BTreeMap, BTreeSet};

use compose::model::{Dependency, Project};

use crate::{Error, Result};

/// Checks that every name is a service of the project.
pub fn check_services(project: &Project, names: &[String]) -> Result<()> {
    for n in names {
        if !project.services.contains_key(n) {
            return Err(Error::invalid(format!("no such service: {n}")));
        }
    }
    Ok(())
}

/// The named services (all when none is named), with everything they depend on when
/// `with_deps`.
pub fn select(project: &Project, names: &[String], with_deps: bool) -> Result<BTreeSet<String>> {
    check_services(project, names)?;
    let mut out: BTreeSet<String> = if names.is_empty() {
        project.services.keys().cloned().collect()
    } else {
        names.iter().cloned().collect()
    };
    if with_deps {
        let mut todo: Vec<String> = out.iter().cloned().collect();
        while let Some(s) = todo.pop() {
            for (dep, _) in dependencies(project, &s)? {
                if out.insert(dep.to_string()) {
                    todo.push(dep.to_string());
                }
            }
        }
    }
    Ok(out)
}

/// The dependencies of `service` that the project has. One the project lacks (left out
/// by its profiles) is an error when required; an optional one is skipped, and
/// [`missing_optional`] names it for a warning.
pub fn dependencies<'p>(
    project: &'p Project,
    service: &str,
) -> Result<Vec<(&'p str, &'p Dependency)>> {
    let Some(svc) = project.services.get(service) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (name, dep) in &svc.depends_on {
        if project.services.contains_key(name) {
            out.push((name.as_str(), dep));
        } else if dep.required {
            return Err(Error::invalid(format!(
                "service {service:?} depends on service {name:?}, which is not enabled: activate its profile with --profile"
            )));
        }
    }
    Ok(out)
}

/// The optional dependencies of `service` that the project lacks.
pub fn missing_optional(project: &Project, service: &str) -> Vec<String> {
    project.services.get(service).map_or_else(Vec::new, |svc| {
        svc.depends_on
            .iter()
            .filter(|(n, d)| !d.required && !project.services.contains_key(*n))
            .map(|(n, _)| n.clone())
            .collect()
    })
}

/// The selected services in levels: each level depends only on earlier ones; names
/// sorted within a level. Dependencies outside `selected` are ignored. The parser has
/// refused cycles; should one get here anyway, its services end up in a last level.
pub fn levels(project: &Project, selected: &BTreeSet<String>) -> Vec<Vec<String>> {
    let deps: BTreeMap<&str, Vec<&str>> = selected
        .iter()
        .map(|s| {
            let d = project
                .services
                .get(s)
                .map(|svc| {
                    svc.depends_on
                        .keys()
                        .filter(|d| selected.contains(*d) && *d != s)
                        .map(String::as_str)
                        .collect()
                })
                .unwrap_or_default();
            (s.as_str(), d)
        })
        .collect();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    while placed.len() < deps.len() {
        let level: Vec<&str> = deps
            .iter()
            .filter(|(s, d)| !placed.contains(*s) && d.iter().all(|x| placed.contains(x)))
            .map(|(s, _)| *s)
            .collect();
        if level.is_empty() {
            let rest: Vec<String> = deps
                .keys()
                .filter(|s| !placed.contains(*s))
                .map(|s| s.to_string())
                .collect();
            out.push(rest);
            break;
        }
        placed.extend(level.iter().copied());
        out.push(level.into_iter().map(str::to_string).collect());
    }
    out
}

/// The selected services, every one after its dependencies.
pub fn start_order(project: &Project, selected: &BTreeSet<String>) -> Vec<String> {
    levels(project, selected).into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use compose::model::Service;

    fn project(edges: &[(&str, &[&str])]) -> Project {
        let mut p = Project {
            name: "p".into(),
            ..Default::default()
        };
        for (s, deps) in edges {
            let mut svc = Service::default();
            for d in *deps {
                svc.depends_on.insert(
                    d.to_string(),
                    Dependency {
                        required: true,
                        ..Default::default()
                    },
                );
            }
            p.services.insert(s.to_string(), svc);
        }
        p
    }

    #[test]
    fn levels_put_dependencies_first_and_independent_services_together() {
        let p = project(&[
            ("app", &["db", "migrate"]),
            ("migrate", &["db"]),
            ("db", &[]),
            ("cache", &[]),
        ]);
        let all = select(&p, &[], false).unwrap();
        assert_eq!(
            levels(&p, &all),
            vec![vec!["cache", "db"], vec!["migrate"], vec!["app"]]
        );
        let app = select(&p, &["app".into()], true).unwrap();
        assert_eq!(start_order(&p, &app), vec!["db", "migrate", "app"]);
        let alone = select(&p, &["app".into()], false).unwrap();
        assert_eq!(start_order(&p, &alone), vec!["app"]);
    }

    #[test]
    fn unknown_services_and_missing_dependencies_are_clear_errors() {
        let p = project(&[("app", &["db"])]);
        let err = select(&p, &["web".into()], true).unwrap_err();
        assert_eq!(err.to_string(), "no such service: web");
        let err = select(&p, &["app".into()], true).unwrap_err();
        assert!(
            err.to_string().contains("depends on service \"db\""),
            "{err}"
        );
        let mut p = p;
        if let Some(app) = p.services.get_mut("app") {
            if let Some(d) = app.depends_on.get_mut("db") {
                d.required = false;
            }
        }
        assert_eq!(select(&p, &["app".into()], true).unwrap().len(), 1);
        assert_eq!(missing_optional(&p, "app"), vec!["db"]);
    }
}
