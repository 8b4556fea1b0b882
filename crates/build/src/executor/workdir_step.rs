//! WORKDIR steps of a build: the new working directory goes into the config and, as
//! BuildKit does, the directory is made in a layer when the stage lacks it (owned by
//! the stage's USER), so a RUN or the final image finds it. Never runs a container.

use std::fs::File;
use std::io::BufWriter;

use dockerfile::Instruction;
use store::Digest;

use super::{Builder, Pending, State};
use crate::cache;
use crate::error::{Error, IoContext, Result};
use crate::metadata;

impl Builder<'_, '_> {
    /// Applies WORKDIR to the stage's config and plans the directories to make.
    pub(super) fn prepare_workdir(
        &self,
        state: &mut State,
        inst: &Instruction,
    ) -> Result<(String, Pending)> {
        let line = inst.line;
        let escape = self.escape;
        let mut run = state.run.clone();
        let mut effects = metadata::Effects::default();
        {
            let expand = |w: &str| state.expand(w, escape);
            metadata::apply(&inst.kind, &mut run, &mut effects, &expand)
                .map_err(|m| Error::step(line, m))?;
        }
        state.run = run;
        let dir = state.run.working_dir.clone().unwrap_or_else(|| "/".into());
        let lowers = state.lowers(self.store);
        let dirs = crate::workdir::missing(&lowers, &dir).map_err(|m| Error::step(line, m))?;
        let user = state.run.user.clone().unwrap_or_default();
        let owner = if dirs.is_empty() || user.is_empty() {
            (0, 0)
        } else {
            let u = engine::user::resolve(&user, &lowers).map_err(|e| {
                Error::step(
                    line,
                    format!("WORKDIR {dir}: the directory's owner, USER {user}: {e}"),
                )
            })?;
            (u.uid, u.gid)
        };
        let snapshot = serde_json::to_string(&state.run).unwrap_or_default();
        let key = cache::key(
            &state.chain,
            &[
                "WORKDIR",
                &dir,
                &dirs.join("\n"),
                &format!("{}:{}", owner.0, owner.1),
                &snapshot,
            ],
        );
        Ok((key, Pending::Workdir(dirs, owner)))
    }

    /// The layer holding the new directories; none when there are none to make.
    pub(super) fn make_workdir(
        &self,
        dirs: &[String],
        owner: (u32, u32),
    ) -> Result<Option<Digest>> {
        if dirs.is_empty() {
            return Ok(None);
        }
        let work = self.store.temp_dir("build")?;
        let tar_path = work.path().join("layer.tar");
        let f = File::create(&tar_path).ctx(|| format!("creating {}", tar_path.display()))?;
        crate::workdir::write(dirs, owner, BufWriter::new(f))?;
        Ok(Some(crate::commit::layer_from_tar(self.store, &tar_path)?))
    }
}
