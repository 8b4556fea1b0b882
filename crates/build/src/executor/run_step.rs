//! RUN steps of a build: the command line, environment and network a RUN gets, its
//! cache key, and running it through [`crate::run`]. Never touches the context.

use dockerfile::{CommandLine, Instruction};
use store::Digest;

use super::{Builder, Pending, PendingRun, State};
use crate::cache;
use crate::error::{Error, Result};
use crate::metadata;
use crate::options::Event;
use crate::run;

impl Builder<'_, '_> {
    pub(super) fn prepare_run(
        &self,
        state: &State,
        inst: &Instruction,
        r: &dockerfile::Run,
    ) -> Result<(String, Pending)> {
        let line = inst.line;
        if !r.mounts.is_empty() {
            return Err(Error::step(line, "RUN --mount is not supported yet"));
        }
        if r.security == Some(dockerfile::Security::Insecure) {
            return Err(Error::step(
                line,
                "RUN --security=insecure is not supported",
            ));
        }
        let argv = match (&r.command, r.heredocs.as_slice()) {
            (_, []) => metadata::argv(&r.command, &state.run),
            // `RUN <<EOF` alone: the body is the script, run by the stage's shell.
            (CommandLine::Shell(text), [doc]) if dockerfile::heredoc::opening(text.trim()).is_some() => {
                let mut v = metadata::shell(&state.run);
                v.push(doc.content.clone());
                v
            }
            // A heredoc fed to a command (`RUN python3 <<EOF`, `RUN cat <<EOF >f`):
            // as in BuildKit, the line and every body with its delimiter go to the shell
            // as one script, so the shell does the redirection, the `<<-` tab stripping
            // and (for unquoted delimiters) the expansion, with RUN's environment.
            (CommandLine::Shell(text), docs) => {
                let mut script = text.clone();
                for d in docs {
                    script.push('\n');
                    script.push_str(&d.content);
                    if !d.content.is_empty() && !d.content.ends_with('\n') {
                        script.push('\n');
                    }
                    script.push_str(&d.name);
                }
                script.push('\n');
                let mut v = metadata::shell(&state.run);
                v.push(script);
                v
            }
            (CommandLine::Exec(_), _) => {
                return Err(Error::step(
                    line,
                    "RUN in exec form (a JSON array) cannot take a heredoc: write the command in shell form",
                ))
            }
        };
        if argv.is_empty() || matches!(&r.command, CommandLine::Exec(a) if a.is_empty()) {
            return Err(Error::step(line, "RUN needs a command"));
        }
        let mut env = state.run.env.clone().unwrap_or_default();
        env.extend(state.arg_env());
        let network = match r.network {
            Some(dockerfile::Network::None) => "none".to_string(),
            Some(dockerfile::Network::Host) => "host".to_string(),
            Some(dockerfile::Network::Default) | None => self
                .opts
                .network
                .clone()
                .unwrap_or_else(|| engine::networks::DEFAULT_NETWORK.to_string()),
        };
        let argv_json = serde_json::to_string(&argv).unwrap_or_default();
        let env_json = serde_json::to_string(&env).unwrap_or_default();
        let user = state.run.user.clone().unwrap_or_default();
        let workdir = state.run.working_dir.clone().unwrap_or_default();
        let key = cache::key(
            &state.chain,
            &["RUN", &argv_json, &env_json, &user, &workdir],
        );
        Ok((
            key,
            Pending::Run(PendingRun {
                argv,
                env,
                user,
                workdir,
                network,
            }),
        ))
    }

    pub(super) fn do_run(
        &mut self,
        state: &State,
        inst: &Instruction,
        n: usize,
        cmd: PendingRun,
    ) -> Result<Digest> {
        let command = run::Command {
            argv: cmd.argv,
            env: cmd.env,
            user: Some(cmd.user),
            workdir: Some(cmd.workdir),
            network: cmd.network,
            layers: &state.config.rootfs.diff_ids,
            cancel: self.cancel,
        };
        let shown = command.argv.join(" ");
        let report = &mut *self.report;
        let mut on_output = |text: &[u8]| report(Event::Output { n, text });
        let outcome =
            run::run(self.root, self.store, &command, &mut on_output).map_err(|e| match e {
                Error::Engine(e) => Error::step(inst.line, format!("RUN {shown}: {e}")),
                other => other,
            })?;
        match outcome.layer {
            Some(l) if outcome.code == 0 => Ok(l),
            _ => Err(Error::RunFailed {
                line: inst.line,
                command: shown,
                code: outcome.code,
            }),
        }
    }
}
