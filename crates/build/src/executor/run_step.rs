//! RUN steps of a build: the command line, environment, network and mounts a RUN gets,
//! its cache key, and running it through [`crate::run`] with its mounts set up around
//! it. Never writes to the context.

use std::os::fd::AsFd;

use dockerfile::{CommandLine, Instruction};
use store::Digest;

use super::{Builder, Pending, PendingRun, State};
use crate::cache;
use crate::error::{Error, Result};
use crate::metadata;
use crate::mounts::{self, Plan};
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
        let mounts = self.plan_mounts(state, line, &r.mounts)?;
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
        let mut parts = vec!["RUN", &argv_json, &env_json, &user, &workdir];
        // Without mounts the key is what it always was, so old cache entries still hit.
        let mount_keys: Vec<String> = mounts.iter().map(Plan::key).collect();
        parts.extend(mount_keys.iter().map(String::as_str));
        let key = cache::key(&state.chain, &parts);
        Ok((
            key,
            Pending::Run(PendingRun {
                argv,
                env,
                user,
                workdir,
                network,
                mounts,
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
        let shown = cmd.argv.join(" ");
        // Ctrl-C while mounts are set up must not leave them behind: the signals wait
        // (blocked) until everything is undone; `run` takes them while the step runs.
        let signals = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];
        let old_mask = runtime::sys::block_signals(&signals).ok();
        let outcome = self.run_mounted(state, inst, n, cmd);
        if let Some(mask) = old_mask {
            let _ = runtime::sys::set_sigmask(&mask);
        }
        let outcome = outcome.map_err(|e| match e {
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

    /// Sets the step's mounts up, runs it, and undoes the mounts (whatever happened).
    fn run_mounted(
        &mut self,
        state: &State,
        inst: &Instruction,
        n: usize,
        cmd: PendingRun,
    ) -> Result<run::Outcome> {
        let lowers = state.lowers(self.store);
        let pending = runtime::sys::signalfd(&[libc::SIGINT, libc::SIGTERM, libc::SIGHUP]).ok();
        let taken = std::cell::Cell::new(None);
        let stop = || {
            if taken.get().is_none() {
                let sig = pending
                    .as_ref()
                    .and_then(|fd| runtime::sys::read_signalfd(fd.as_fd()).ok().flatten());
                taken.set(sig);
            }
            // The build is stopping (another stage failed, or the scheduler saw a signal).
            taken.get().is_some() || self.cancel.load(std::sync::atomic::Ordering::SeqCst)
        };
        let env = mounts::Env {
            state_root: self.root.dir(),
            store: self.store,
            context: self.context,
            named: self.named,
            secrets: self.secrets,
            lowers: &lowers,
            line: inst.line,
            stop: &stop,
        };
        let active = mounts::activate(&cmd.mounts, &env)?;
        if stop() {
            return Err(Error::Interrupted(
                taken.get().unwrap_or(libc::SIGKILL as u32),
            ));
        }
        drop(pending);
        let mut run_env = cmd.env;
        run_env.extend(active.env.iter().cloned());
        let command = run::Command {
            argv: cmd.argv,
            env: run_env,
            user: Some(cmd.user),
            workdir: Some(cmd.workdir),
            network: cmd.network,
            add_hosts: self.opts.add_hosts.clone(),
            layers: &state.config.rootfs.diff_ids,
            cancel: self.cancel,
            mounts: active.points.clone(),
            mount_points_made: active.made.clone(),
        };
        let report = &mut *self.report;
        let mut on_output = |text: &[u8]| report(Event::Output { n, text });
        let outcome = run::run(self.root, self.store, &command, &mut on_output);
        drop(active);
        outcome
    }
}
