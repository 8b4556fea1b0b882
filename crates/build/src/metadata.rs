//! The instructions that only change the image config (ENV, WORKDIR, USER, LABEL,
//! EXPOSE, VOLUME, ENTRYPOINT, CMD, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD,
//! MAINTAINER), applied as Docker applies them. Owns those rules; never touches a
//! layer. Arguments arrive already expanded where Docker expands them.

use std::collections::BTreeMap;
use std::time::Duration;

use dockerfile::{CommandLine, Healthcheck, Kind, PortSpec};
use store::config::{self, RunConfig};

/// Docker's default SHELL.
pub const DEFAULT_SHELL: &[&str] = &["/bin/sh", "-c"];

/// What a stage's config-only instructions change besides the run config.
#[derive(Debug, Default)]
pub struct Effects {
    /// CMD was set in this stage: a later ENTRYPOINT keeps it.
    pub cmd_set: bool,
    pub author: Option<String>,
}

/// The shell a stage runs shell-form commands with.
pub fn shell(run: &RunConfig) -> Vec<String> {
    run.shell
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_SHELL.iter().map(|s| s.to_string()).collect())
}

/// `CommandLine` as the argv it stands for.
pub fn argv(cmd: &CommandLine, run: &RunConfig) -> Vec<String> {
    match cmd {
        CommandLine::Exec(args) => args.clone(),
        CommandLine::Shell(text) => {
            let mut v = shell(run);
            v.push(text.clone());
            v
        }
    }
}

/// Applies one config-only instruction. `expand` substitutes variables in a word (for
/// the instructions Docker expands); its error is the message to show.
pub fn apply(
    kind: &Kind,
    run: &mut RunConfig,
    effects: &mut Effects,
    expand: &dyn Fn(&str) -> Result<String, String>,
) -> Result<(), String> {
    match kind {
        Kind::Env(pairs) => {
            for kv in pairs {
                let key = expand(&kv.key)?;
                let value = expand(&kv.value)?;
                set_env(run, &key, &value);
            }
        }
        Kind::Workdir(dir) => {
            let dir = expand(dir)?;
            let joined = if dir.starts_with('/') {
                dir
            } else {
                let base = run.working_dir.clone().unwrap_or_else(|| "/".into());
                format!("{}/{dir}", base.trim_end_matches('/'))
            };
            run.working_dir = Some(format!("/{}", crate::copy::clean_abs(&joined)));
        }
        Kind::User(u) => run.user = Some(expand(u)?),
        Kind::Label(pairs) => {
            let labels = run.labels.get_or_insert_with(BTreeMap::new);
            for kv in pairs {
                labels.insert(expand(&kv.key)?, expand(&kv.value)?);
            }
        }
        Kind::Expose(ports) => {
            let exposed = run.exposed_ports.get_or_insert_with(BTreeMap::new);
            for p in ports {
                for word in expand(p)?.split_whitespace() {
                    let spec = PortSpec::parse(word)?;
                    for port in spec.start..=spec.end {
                        exposed.insert(format!("{port}/{}", spec.protocol), serde_json::json!({}));
                    }
                }
            }
        }
        Kind::Volume(vols) => {
            let volumes = run.volumes.get_or_insert_with(BTreeMap::new);
            for v in vols {
                let v = expand(v)?;
                if v.is_empty() {
                    return Err("VOLUME needs a path".into());
                }
                volumes.insert(v, serde_json::json!({}));
            }
        }
        Kind::Entrypoint(cmd) => {
            run.entrypoint = Some(argv(cmd, run));
            // An inherited CMD is meant for the old entrypoint: Docker drops it.
            if !effects.cmd_set {
                run.cmd = None;
            }
        }
        Kind::Cmd(cmd) => {
            run.cmd = Some(argv(cmd, run));
            effects.cmd_set = true;
        }
        Kind::Shell(sh) => run.shell = Some(sh.clone()),
        Kind::StopSignal(s) => run.stop_signal = Some(expand(s)?),
        Kind::Healthcheck(Healthcheck::None) => {
            run.healthcheck = Some(config::Healthcheck {
                test: Some(vec!["NONE".into()]),
                ..Default::default()
            })
        }
        Kind::Healthcheck(Healthcheck::Check(c)) => {
            let ns =
                |d: Option<Duration>| d.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
            run.healthcheck = Some(config::Healthcheck {
                test: Some(c.test_vec()),
                interval: ns(c.interval),
                timeout: ns(c.timeout),
                start_period: ns(c.start_period),
                start_interval: ns(c.start_interval),
                retries: c.retries.map(i64::from),
            });
        }
        Kind::Onbuild(o) => run
            .on_build
            .get_or_insert_with(Vec::new)
            .push(o.expression.clone()),
        Kind::Maintainer(m) => effects.author = Some(m.clone()),
        other => return Err(format!("{} is not a config instruction", other.name())),
    }
    Ok(())
}

/// Sets `key=value` in the config's environment, replacing an earlier value in place.
pub fn set_env(run: &mut RunConfig, key: &str, value: &str) {
    let env = run.env.get_or_insert_with(Vec::new);
    let entry = format!("{key}={value}");
    match env
        .iter_mut()
        .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
    {
        Some(e) => *e = entry,
        None => env.push(entry),
    }
}

/// The value of `key` in the config's environment.
pub fn get_env(run: &RunConfig, key: &str) -> Option<String> {
    run.env.as_ref()?.iter().find_map(|e| {
        let (k, v) = e.split_once('=')?;
        (k == key).then(|| v.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_kind(line: &str) -> Kind {
        let f = dockerfile::parse(&format!("FROM scratch\n{line}\n")).unwrap();
        f.instructions[1].kind.clone()
    }

    fn apply_all(run: &mut RunConfig, lines: &[&str]) {
        let mut fx = Effects::default();
        let id = |s: &str| -> Result<String, String> {
            dockerfile::expand(s, &|_| None, '\\').map_err(|e| e.to_string())
        };
        for l in lines {
            apply(&parse_kind(l), run, &mut fx, &id).unwrap();
        }
    }

    #[test]
    fn a_new_entrypoint_drops_an_inherited_cmd_but_not_a_new_one() {
        let mut run = RunConfig {
            cmd: Some(vec!["sh".into()]),
            ..Default::default()
        };
        apply_all(&mut run, &["ENTRYPOINT [\"/bin/app\"]"]);
        assert_eq!(run.cmd, None);
        apply_all(&mut run, &["CMD [\"--x\"]", "ENTRYPOINT [\"/bin/other\"]"]);
        assert_eq!(run.cmd, Some(vec!["--x".to_string()]));
    }

    #[test]
    fn shell_forms_use_the_stage_shell_and_workdirs_join() {
        let mut run = RunConfig::default();
        apply_all(
            &mut run,
            &[
                "SHELL [\"/bin/ash\", \"-eo\"]",
                "CMD echo hi",
                "WORKDIR /a",
                "WORKDIR b/../c",
                "EXPOSE 80 53/udp 7-8",
            ],
        );
        assert_eq!(
            run.cmd,
            Some(vec!["/bin/ash".into(), "-eo".into(), "echo hi".into()])
        );
        assert_eq!(run.working_dir.as_deref(), Some("/a/c"));
        let ports: Vec<&String> = run.exposed_ports.as_ref().unwrap().keys().collect();
        assert_eq!(ports, ["53/udp", "7/tcp", "8/tcp", "80/tcp"]);
    }
}
