//! Profiles: which services a load keeps. A service without `profiles` is always
//! active; one with profiles is active when one of them is in the active set
//! (`--profile`, else `COMPOSE_PROFILES`; `*` activates all), or when the command names
//! it (then with what it depends on, as compose does). Inactive services leave
//! the project. An active service that requires a disabled one is an error; an
//! optional dependency on a disabled service is dropped, so nothing waits for a
//! service that will not exist. Works on the parsed project; reads nothing.

use std::collections::BTreeSet;

use super::env::Env;
use super::sources::Sources;
use super::LoadError;
use crate::model::Project;
use crate::value::{Node, Span, Value};

/// `--profile` values, else `COMPOSE_PROFILES` split on commas; blanks trimmed and
/// empty names dropped.
pub(crate) fn active(flags: &[String], env: &Env) -> Vec<String> {
    let list: Vec<String> = if flags.is_empty() {
        env.get("COMPOSE_PROFILES")
            .map(|v| v.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    } else {
        flags.to_vec()
    };
    list.iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Removes the services no active profile enables; returns their names (sorted).
/// Services in `enable` (named on the command line) stay whatever their profiles, with
/// everything they depend on, as compose enables them. `tree` and `sources` only serve
/// to say where a bad dependency is written.
pub(crate) fn apply(
    project: &mut Project,
    active: &[String],
    enable: &[String],
    tree: &Node,
    sources: &Sources,
) -> Result<Vec<String>, LoadError> {
    let all = active.iter().any(|p| p == "*");
    let mut named: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<&str> = enable.iter().map(String::as_str).collect();
    while let Some(n) = todo.pop() {
        if let Some(svc) = project.services.get(n) {
            if named.insert(n.to_string()) {
                todo.extend(svc.depends_on.keys().map(String::as_str));
            }
        }
    }
    let disabled: BTreeSet<String> = project
        .services
        .iter()
        .filter(|(n, s)| {
            !(s.profiles.is_empty()
                || all
                || named.contains(*n)
                || s.profiles.iter().any(|p| active.contains(p)))
        })
        .map(|(n, _)| n.clone())
        .collect();
    for name in &disabled {
        project.services.remove(name);
    }
    for (name, svc) in project.services.iter_mut() {
        for (dep, d) in &svc.depends_on {
            if d.required && disabled.contains(dep) {
                let msg = format!(
                    "service {name:?} depends on service {dep:?}, which is disabled: none of its profiles is active; activate one with --profile or COMPOSE_PROFILES, or make the dependency `required: false`"
                );
                return Err(match dependency_span(tree, name, dep) {
                    Some(span) => sources.error(span, msg),
                    None => LoadError(msg),
                });
            }
        }
        svc.depends_on.retain(|dep, _| !disabled.contains(dep));
    }
    Ok(disabled.into_iter().collect())
}

/// Where `services.NAME.depends_on` names `dep`.
fn dependency_span(tree: &Node, name: &str, dep: &str) -> Option<Span> {
    let deps = tree.get("services")?.get(name)?.get("depends_on")?;
    match &deps.value {
        Value::Map(m) => m.iter().find(|(k, _)| k.name == dep).map(|(k, _)| k.span),
        Value::Seq(items) => items
            .iter()
            .find(|i| i.as_str() == Some(dep))
            .map(|i| i.span),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dependency, Service};
    use std::path::PathBuf;

    fn svc(profiles: &[&str], deps: &[(&str, bool)]) -> Service {
        Service {
            profiles: profiles.iter().map(|p| p.to_string()).collect(),
            depends_on: deps
                .iter()
                .map(|(d, required)| {
                    (
                        d.to_string(),
                        Dependency {
                            required: *required,
                            ..Dependency::default()
                        },
                    )
                })
                .collect(),
            ..Service::default()
        }
    }

    fn project(services: Vec<(&str, Service)>) -> Project {
        Project {
            services: services
                .into_iter()
                .map(|(n, s)| (n.to_string(), s))
                .collect(),
            ..Project::default()
        }
    }

    fn run(p: &mut Project, active: &[&str]) -> Result<Vec<String>, LoadError> {
        run_enabling(p, active, &[])
    }

    fn run_enabling(
        p: &mut Project,
        active: &[&str],
        enable: &[&str],
    ) -> Result<Vec<String>, LoadError> {
        let mut sources = Sources::new(&PathBuf::from("/w"));
        sources.add("compose.yaml".into(), "/w".into());
        let tree = crate::yaml::parse(
            "services:\n  web:\n    depends_on:\n      db: {}\n  app:\n    depends_on: [cache]\n",
            0,
        )
        .unwrap();
        let active: Vec<String> = active.iter().map(|s| s.to_string()).collect();
        let enable: Vec<String> = enable.iter().map(|s| s.to_string()).collect();
        apply(p, &active, &enable, &tree, &sources)
    }

    #[test]
    fn services_without_profiles_stay_and_others_need_an_active_one() {
        let mut p = project(vec![
            ("web", svc(&[], &[])),
            ("debug", svc(&["debug"], &[])),
            ("tools", svc(&["tools", "ops"], &[])),
        ]);
        assert_eq!(run(&mut p, &["ops"]).unwrap(), vec!["debug".to_string()]);
        assert_eq!(p.services.keys().collect::<Vec<_>>(), vec!["tools", "web"]);
    }

    #[test]
    fn star_activates_every_profile() {
        let mut p = project(vec![("a", svc(&["x"], &[])), ("b", svc(&["y"], &[]))]);
        assert!(run(&mut p, &["*"]).unwrap().is_empty());
        assert_eq!(p.services.len(), 2);
    }

    #[test]
    fn requiring_a_disabled_service_is_an_error_naming_both() {
        let mut p = project(vec![
            ("web", svc(&[], &[("db", true)])),
            ("db", svc(&["data"], &[])),
        ]);
        let e = run(&mut p, &[]).unwrap_err().0;
        assert!(e.starts_with("compose.yaml:4:7: "), "{e}");
        assert!(e.contains("\"web\" depends on service \"db\""), "{e}");
        assert!(e.contains("--profile"), "{e}");
    }

    #[test]
    fn an_optional_dependency_on_a_disabled_service_is_dropped() {
        let mut p = project(vec![
            ("app", svc(&[], &[("cache", false), ("web", true)])),
            ("cache", svc(&["perf"], &[])),
            ("web", svc(&[], &[])),
        ]);
        assert_eq!(run(&mut p, &[]).unwrap(), vec!["cache".to_string()]);
        let deps: Vec<&String> = p.services["app"].depends_on.keys().collect();
        assert_eq!(deps, vec!["web"]);
    }

    #[test]
    fn a_service_named_on_the_command_line_is_enabled_with_its_dependencies() {
        let mut p = project(vec![
            ("web", svc(&[], &[])),
            ("migrate", svc(&["tools"], &[("db", true)])),
            ("db", svc(&["data"], &[])),
            ("debug", svc(&["debug"], &[])),
        ]);
        assert_eq!(
            run_enabling(&mut p, &[], &["migrate"]).unwrap(),
            vec!["debug".to_string()]
        );
        assert_eq!(
            p.services.keys().collect::<Vec<_>>(),
            vec!["db", "migrate", "web"]
        );
    }

    #[test]
    fn active_set_comes_from_flags_else_compose_profiles() {
        let env: Env = [("COMPOSE_PROFILES".to_string(), " a, ,b ".to_string())].into();
        assert_eq!(active(&[], &env), vec!["a", "b"]);
        assert_eq!(active(&["c".to_string()], &env), vec!["c"]);
        assert!(active(&[], &Env::new()).is_empty());
    }
}
