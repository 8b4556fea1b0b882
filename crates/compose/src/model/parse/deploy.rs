//! How a service runs over time: `restart`, `healthcheck`, `logging`, and the parts of
//! `deploy` that mean something on one machine (replicas, resource limits, restart
//! policy), which are folded into the plain service keys. Every other `deploy` key is
//! Swarm's and is warned about.

use crate::model::{Healthcheck, Logging, Service};
use crate::value::{Node, Value};

use super::read::{self, child, error, Res};
use super::{env, units, Parser};

/// `no`, `always`, `on-failure`, `on-failure:N`, `unless-stopped`.
pub(crate) fn restart(node: &Node, path: &str) -> Res<String> {
    if let Value::Bool(false) = node.value {
        return Err(error(
            node.span,
            path,
            "write `restart: \"no\"` (quoted) to disable restarts",
        ));
    }
    let s = read::string(node, path)?;
    let ok = match s.strip_prefix("on-failure:") {
        Some(n) => n.parse::<u32>().is_ok(),
        None => matches!(
            s.as_str(),
            "no" | "always" | "on-failure" | "unless-stopped"
        ),
    };
    if !ok {
        return Err(error(
            node.span,
            path,
            format!("invalid restart policy {s:?}: use no, always, on-failure, on-failure:N or unless-stopped"),
        ));
    }
    Ok(s)
}

const HEALTH_KEYS: &[&str] = &[
    "test",
    "interval",
    "timeout",
    "retries",
    "start_period",
    "start_interval",
    "disable",
];

/// A string `test` is run by the shell (`["CMD-SHELL", s]`); a list is kept as given
/// and must start with NONE, CMD or CMD-SHELL. `disable: true` and `test: [NONE]`
/// both turn the image's check off.
pub(crate) fn healthcheck(node: &Node, path: &str) -> Res<Healthcheck> {
    let f = read::fields(node, path, HEALTH_KEYS)?;
    let mut h = Healthcheck::default();
    if let Some(t) = f.get("test") {
        let tp = child(path, "test");
        h.test = match &t.value {
            Value::Str(s) if s.is_empty() => {
                return Err(error(t.span, &tp, "the test command is empty"))
            }
            Value::Str(s) => vec!["CMD-SHELL".into(), s.clone()],
            Value::Seq(_) => read::string_list(t, &tp)?,
            _ => return Err(read::expected(t, &tp, "a string or a list")),
        };
        match h.test.first().map(String::as_str) {
            None | Some("NONE") => {}
            Some("CMD" | "CMD-SHELL") if h.test.len() > 1 => {}
            Some("CMD" | "CMD-SHELL") => {
                return Err(error(
                    t.span,
                    &tp,
                    "the test needs a command after CMD or CMD-SHELL",
                ))
            }
            Some(other) => {
                return Err(error(
                    t.span,
                    &tp,
                    format!("a test list starts with NONE, CMD or CMD-SHELL, not {other:?}"),
                ))
            }
        }
    }
    for (key, slot) in [
        ("interval", &mut h.interval),
        ("timeout", &mut h.timeout),
        ("start_period", &mut h.start_period),
        ("start_interval", &mut h.start_interval),
    ] {
        if let Some(n) = f.get(key) {
            *slot = Some(units::duration(n, &child(path, key))?);
        }
    }
    if let Some(n) = f.get("retries") {
        h.retries = Some(read::int_in(
            n,
            &child(path, "retries"),
            0,
            i64::from(i32::MAX),
        )?);
    }
    if let Some(n) = f.get("disable") {
        h.disable = read::boolean(n, &child(path, "disable"))?;
    }
    if h.test.first().map(String::as_str) == Some("NONE") {
        h.disable = true;
    }
    if h.disable {
        if !h.test.is_empty() && h.test[0] != "NONE" {
            return Err(error(
                node.span,
                path,
                "`disable: true` cannot be combined with a test; remove one of them",
            ));
        }
        h.test = vec!["NONE".into()];
    }
    Ok(h)
}

/// `logging: {driver, options}`. Drivers other than json-file, local and none are
/// kept but warned about: berth keeps logs its own way.
pub(crate) fn logging(node: &Node, path: &str, owner: &str, p: &mut Parser) -> Res<Logging> {
    let f = read::fields(node, path, &["driver", "options"])?;
    let mut l = Logging::default();
    if let Some(d) = f.get("driver") {
        let driver = read::string(d, &child(path, "driver"))?;
        if !matches!(driver.as_str(), "json-file" | "local" | "none") {
            p.warn(
                d.span,
                format!("{owner}: logging driver {driver:?} is not supported by berth; logs are kept as with json-file"),
            );
        }
        l.driver = Some(driver);
    }
    if let Some(o) = f.get("options") {
        if !matches!(o.value, Value::Null) {
            l.options = env::options(o, &child(path, "options"))?;
        }
    }
    Ok(l)
}

const DEPLOY_KEYS: &[&str] = &[
    "mode",
    "endpoint_mode",
    "replicas",
    "labels",
    "rollback_config",
    "update_config",
    "resources",
    "restart_policy",
    "placement",
];

/// Folds `deploy` into the service. Values set directly on the service win over
/// `deploy.resources`; `replicas` must agree with `scale`.
pub(crate) fn deploy(
    node: &Node,
    path: &str,
    owner: &str,
    svc: &mut Service,
    p: &mut Parser,
) -> Res<()> {
    if matches!(node.value, Value::Null) {
        return Ok(());
    }
    let f = read::fields(node, path, DEPLOY_KEYS)?;
    for k in f.present(&[
        "endpoint_mode",
        "labels",
        "rollback_config",
        "update_config",
        "placement",
    ]) {
        p.unsupported(owner, &child(path, &k.name), k.span);
    }
    if let Some(m) = f.get("mode") {
        let mp = child(path, "mode");
        if read::string(m, &mp)? != "replicated" {
            p.unsupported(owner, &mp, m.span);
        }
    }
    if let Some(r) = f.get("replicas") {
        let rp = child(path, "replicas");
        let n = read::int_in(r, &rp, 0, i64::from(u32::MAX))? as u32;
        match svc.scale {
            Some(s) if s != n => {
                return Err(error(
                    r.span,
                    &rp,
                    format!("replicas {n} contradicts scale {s}; set only one of them"),
                ))
            }
            _ => svc.scale = Some(n),
        }
    }
    if let Some(r) = f.get("resources") {
        resources(r, &child(path, "resources"), owner, svc, p)?;
    }
    if let Some(r) = f.get("restart_policy") {
        restart_policy(r, &child(path, "restart_policy"), owner, svc, p)?;
    }
    Ok(())
}

fn resources(node: &Node, path: &str, owner: &str, svc: &mut Service, p: &mut Parser) -> Res<()> {
    let f = read::fields(node, path, &["limits", "reservations"])?;
    if let Some(l) = f.get("limits") {
        let lp = child(path, "limits");
        let lf = read::fields(l, &lp, &["cpus", "memory", "pids"])?;
        if let Some(n) = lf.get("memory") {
            let v = units::size_limit(n, &child(&lp, "memory"), false)?;
            set_unless(&mut svc.mem_limit, v, "mem_limit", n.span, &lp, p);
        }
        if let Some(n) = lf.get("cpus") {
            let v = cpus(n, &child(&lp, "cpus"))?;
            set_unless(&mut svc.cpus, v, "cpus", n.span, &lp, p);
        }
        if let Some(n) = lf.get("pids") {
            let v = read::int(n, &child(&lp, "pids"))?;
            set_unless(&mut svc.pids_limit, v, "pids_limit", n.span, &lp, p);
        }
    }
    if let Some(r) = f.get("reservations") {
        let rp = child(path, "reservations");
        let rf = read::fields(r, &rp, &["cpus", "memory", "generic_resources", "devices"])?;
        if let Some(n) = rf.get("memory") {
            let v = units::size_limit(n, &child(&rp, "memory"), false)?;
            set_unless(
                &mut svc.mem_reservation,
                v,
                "mem_reservation",
                n.span,
                &rp,
                p,
            );
        }
        for k in rf.present(&["cpus", "generic_resources", "devices"]) {
            p.unsupported(owner, &child(&rp, &k.name), k.span);
        }
    }
    Ok(())
}

/// Sets `slot` from `deploy.resources` unless the service set it directly, in which
/// case a different value is warned about (the direct one wins).
fn set_unless<T: PartialEq + Copy>(
    slot: &mut Option<T>,
    v: T,
    direct: &str,
    span: crate::value::Span,
    path: &str,
    p: &mut Parser,
) {
    match slot {
        None => *slot = Some(v),
        Some(cur) if *cur == v => {}
        Some(_) => p.warn(
            span,
            format!("{path}: differs from the service's `{direct}`, which is used"),
        ),
    }
}

fn restart_policy(
    node: &Node,
    path: &str,
    owner: &str,
    svc: &mut Service,
    p: &mut Parser,
) -> Res<()> {
    let f = read::fields(
        node,
        path,
        &["condition", "delay", "max_attempts", "window"],
    )?;
    for k in f.present(&["delay", "window"]) {
        p.unsupported(owner, &child(path, &k.name), k.span);
    }
    let condition = match f.get("condition") {
        Some(c) => {
            let cp = child(path, "condition");
            let s = read::string(c, &cp)?;
            if !matches!(s.as_str(), "none" | "on-failure" | "any") {
                return Err(error(
                    c.span,
                    &cp,
                    format!("unknown condition {s:?}; use none, on-failure or any"),
                ));
            }
            s
        }
        None => "any".to_string(),
    };
    let attempts = match f.get("max_attempts") {
        Some(n) => Some(read::int_in(
            n,
            &child(path, "max_attempts"),
            0,
            i64::from(u32::MAX),
        )?),
        None => None,
    };
    let policy = match (condition.as_str(), attempts) {
        ("none", _) => "no".to_string(),
        ("on-failure", Some(n)) if n > 0 => format!("on-failure:{n}"),
        ("on-failure", _) => "on-failure".to_string(),
        _ => "always".to_string(),
    };
    if svc.restart.is_none() {
        svc.restart = Some(policy);
    } else if svc.restart.as_deref() != Some(policy.as_str()) {
        p.warn(
            node.span,
            format!("{path}: ignored because the service sets `restart`"),
        );
    }
    Ok(())
}

/// `cpus: 0.5` or `"1.5"`; not negative.
pub(crate) fn cpus(node: &Node, path: &str) -> Res<f64> {
    let v = read::float(node, path)?;
    if v < 0.0 {
        return Err(error(node.span, path, "cpus must not be negative"));
    }
    Ok(v)
}
