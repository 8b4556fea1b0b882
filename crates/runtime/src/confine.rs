//! Applies a [`Confinement`] to the process about to become the workload, in the order
//! the kernel requires: Landlock first (it may need CAP_SYS_ADMIN when no_new_privs is
//! off), then the user's identity, then seccomp as late as possible so that the filter
//! only ever sees the workload's own system calls. Shared by container start and `exec`.

use std::os::fd::BorrowedFd;

use oci_spec::runtime::Process;

use crate::report::{self, Context};
use crate::{seccomp, Confinement, StartError};

/// Restricts with Landlock and, when no_new_privs is off (so the filter needs
/// CAP_SYS_ADMIN, which is about to be dropped), installs seccomp now. Returns the
/// filter still to install with [`finish`]. Warnings go to the parent over `report`.
pub fn begin<'a>(
    process: &Process,
    confine: &'a Confinement,
    report_pipe: BorrowedFd<'_>,
) -> Result<Option<&'a seccomp::Program>, StartError> {
    let nnp = process.no_new_privileges().unwrap_or(false);
    if let Some(policy) = &confine.landlock {
        for w in crate::landlock::restrict(policy, nnp)? {
            report::warn(report_pipe, &w);
        }
    } else if confine.guard_exec {
        crate::landlock::restrict_exec_to_root(nnp)?;
    }
    match &confine.seccomp {
        Some(filter) if !nnp => {
            seccomp::install(filter).ctx(|| "installing the seccomp filter".into())?;
            Ok(None)
        }
        other => Ok(other.as_ref()),
    }
}

/// Installs the filter [`begin`] left: the last step before exec.
pub fn finish(pending: Option<&seccomp::Program>) -> Result<(), StartError> {
    match pending {
        Some(filter) => seccomp::install(filter).ctx(|| "installing the seccomp filter".into()),
        None => Ok(()),
    }
}
