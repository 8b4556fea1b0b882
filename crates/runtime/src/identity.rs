//! The workload's identity and limits, applied last before exec: rlimits, user and
//! groups, capabilities, no_new_privs, working directory, environment and the lookup of
//! the program on the container's PATH. Shared by container start and `exec`.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{PosixRlimitType, Process};

use crate::report::Context;
use crate::{sys, StartError};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn rlimit_resource(t: PosixRlimitType) -> Option<libc::c_int> {
    use PosixRlimitType::*;
    Some(match t {
        RlimitCpu => libc::RLIMIT_CPU as libc::c_int,
        RlimitFsize => libc::RLIMIT_FSIZE as libc::c_int,
        RlimitData => libc::RLIMIT_DATA as libc::c_int,
        RlimitStack => libc::RLIMIT_STACK as libc::c_int,
        RlimitCore => libc::RLIMIT_CORE as libc::c_int,
        RlimitRss => libc::RLIMIT_RSS as libc::c_int,
        RlimitNproc => libc::RLIMIT_NPROC as libc::c_int,
        RlimitNofile => libc::RLIMIT_NOFILE as libc::c_int,
        RlimitMemlock => libc::RLIMIT_MEMLOCK as libc::c_int,
        RlimitAs => libc::RLIMIT_AS as libc::c_int,
        RlimitLocks => libc::RLIMIT_LOCKS as libc::c_int,
        RlimitSigpending => libc::RLIMIT_SIGPENDING as libc::c_int,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE as libc::c_int,
        RlimitNice => libc::RLIMIT_NICE as libc::c_int,
        RlimitRtprio => libc::RLIMIT_RTPRIO as libc::c_int,
        RlimitRttime => libc::RLIMIT_RTTIME as libc::c_int,
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

pub fn apply_rlimits(process: &Process) -> Result<(), StartError> {
    for r in process.rlimits().as_deref().unwrap_or(&[]) {
        let Some(res) = rlimit_resource(r.typ()) else {
            continue;
        };
        if let Err(e) = sys::setrlimit(res, r.soft(), r.hard()) {
            let (_, cur_hard) = sys::getrlimit(res).unwrap_or((0, 0));
            let hint = if e.raw_os_error() == Some(libc::EPERM) && r.hard() > cur_hard {
                format!(
                    " (the hard limit {} is above the current {cur_hard}, and raising it needs CAP_SYS_RESOURCE, which this host does not grant)",
                    r.hard()
                )
            } else {
                String::new()
            };
            return Err(StartError::berth(format!(
                "setting ulimit {:?}: {e}{hint}",
                r.typ()
            )));
        }
    }
    Ok(())
}

fn cap_set(caps: &Option<oci_spec::runtime::Capabilities>) -> caps::CapsHashSet {
    caps.as_ref()
        .map(|set| {
            set.iter()
                .filter_map(|c| format!("CAP_{c}").parse::<caps::Capability>().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Switches to the spec's user and capability sets and sets no_new_privs.
pub fn drop_privileges(process: &Process) -> Result<(), StartError> {
    let capabilities = process.capabilities().clone().unwrap_or_default();
    let bounding = cap_set(capabilities.bounding());
    let full = process.capabilities().is_none();
    if !full {
        for cap in caps::all() {
            if !bounding.contains(&cap) {
                caps::drop(None, caps::CapSet::Bounding, cap).map_err(|e| {
                    StartError::berth(format!("dropping {cap} from the bounding set: {e}"))
                })?;
            }
        }
    }
    let user = process.user();
    sys::prctl(libc::PR_SET_KEEPCAPS, 1).ctx(|| "PR_SET_KEEPCAPS".into())?;
    let groups: Vec<u32> = user.additional_gids().clone().unwrap_or_default();
    sys::setgroups(&groups).ctx(|| "setgroups".into())?;
    sys::setresgid(user.gid()).ctx(|| format!("setting gid {}", user.gid()))?;
    sys::setresuid(user.uid()).ctx(|| format!("setting uid {}", user.uid()))?;
    sys::prctl(libc::PR_SET_KEEPCAPS, 0).ctx(|| "PR_SET_KEEPCAPS".into())?;
    if let Some(mask) = user.umask() {
        sys::umask(mask);
    }
    if !full {
        let set = |which, caps: caps::CapsHashSet, name: &str| {
            caps::set(None, which, &caps)
                .map_err(|e| StartError::berth(format!("setting {name} capabilities: {e}")))
        };
        // Effective must shrink before permitted can.
        set(
            caps::CapSet::Effective,
            cap_set(capabilities.effective()),
            "effective",
        )?;
        set(
            caps::CapSet::Inheritable,
            cap_set(capabilities.inheritable()),
            "inheritable",
        )?;
        set(
            caps::CapSet::Permitted,
            cap_set(capabilities.permitted()),
            "permitted",
        )?;
        caps::clear(None, caps::CapSet::Ambient)
            .map_err(|e| StartError::berth(format!("clearing ambient capabilities: {e}")))?;
        for cap in cap_set(capabilities.ambient()) {
            caps::raise(None, caps::CapSet::Ambient, cap)
                .map_err(|e| StartError::berth(format!("raising ambient {cap}: {e}")))?;
        }
    }
    if process.no_new_privileges().unwrap_or(false) {
        sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1).ctx(|| "PR_SET_NO_NEW_PRIVS".into())?;
    }
    Ok(())
}

/// In a fresh user namespace (its maps written), become its root: until then the
/// process keeps the host's uid 0, which the namespace does not map, so it could not
/// create a file. The capabilities stay (they are the namespace's). A change of
/// credentials resets the parent-death signal and dumpability, so both are set again.
pub fn become_namespace_root() -> Result<(), StartError> {
    sys::setresgid(0).ctx(|| "becoming root of the user namespace (gid)".into())?;
    sys::setresuid(0).ctx(|| "becoming root of the user namespace (uid)".into())?;
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong)
        .ctx(|| "PR_SET_PDEATHSIG".into())?;
    sys::prctl(libc::PR_SET_DUMPABLE, 0).ctx(|| "PR_SET_DUMPABLE".into())?;
    Ok(())
}

/// Creates the working directory if the image lacks it (as Docker does). Run as root,
/// before privileges are dropped.
pub fn make_cwd(process: &Process) -> Result<(), StartError> {
    let cwd = process.cwd();
    if cwd.as_os_str().is_empty() || cwd == Path::new("/") {
        return Ok(());
    }
    match std::fs::create_dir_all(cwd) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(StartError::berth(format!(
            "working directory {} exists in the container but is not a directory",
            cwd.display()
        ))),
        r => r.ctx(|| format!("creating working directory {}", cwd.display())),
    }
}

pub fn enter_cwd(process: &Process) -> Result<(), StartError> {
    let cwd = process.cwd();
    let cwd = if cwd.as_os_str().is_empty() {
        Path::new("/")
    } else {
        cwd.as_path()
    };
    std::env::set_current_dir(cwd)
        .ctx(|| format!("changing to working directory {}", cwd.display()))?;
    // A working directory such as /proc/self/fd/N can name a directory the process
    // still holds from outside the container (runc CVE-2024-21626): refuse any cwd
    // that is not reachable from the container's root.
    sys::getcwd_checked().map_err(|_| StartError {
        exit_code: 125,
        message: format!(
            "working directory {} is outside the container's root filesystem",
            cwd.display()
        ),
    })?;
    Ok(())
}

/// The program, argv and envp ready for execve.
pub struct Command {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    pub name: String,
}

fn cstring(s: &str) -> Result<CString, StartError> {
    CString::new(s)
        .map_err(|_| StartError::berth(format!("argument or variable contains a NUL byte: {s:?}")))
}

/// Resolves argv[0] on the container's PATH (the spec's env, not ours).
pub fn resolve_command(process: &Process) -> Result<Command, StartError> {
    let args = process.args().clone().unwrap_or_default();
    let Some(name) = args.first().cloned() else {
        return Err(StartError {
            exit_code: 125,
            message: "no command specified".into(),
        });
    };
    let env = process.env().clone().unwrap_or_default();
    let path = if name.contains('/') {
        PathBuf::from(&name)
    } else {
        let search = env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH)
            .to_string();
        let mut found = None;
        let mut denied = None;
        for dir in search.split(':').filter(|d| !d.is_empty()) {
            let candidate = Path::new(dir).join(&name);
            if let Ok(meta) = std::fs::metadata(&candidate) {
                if meta.is_file() {
                    if sys::access_x(&candidate) {
                        found = Some(candidate);
                        break;
                    }
                    denied.get_or_insert(candidate);
                }
            }
        }
        match found.or(denied) {
            Some(p) => p,
            None => {
                return Err(StartError {
                    exit_code: 127,
                    message: format!("exec: \"{name}\": executable file not found in $PATH"),
                })
            }
        }
    };
    Ok(Command {
        path: cstring(&path.to_string_lossy())?,
        argv: args.iter().map(|a| cstring(a)).collect::<Result<_, _>>()?,
        envp: env.iter().map(|e| cstring(e)).collect::<Result<_, _>>()?,
        name,
    })
}

/// Replaces this process with the workload. Returns only the error, classified the way
/// Docker reports it.
pub fn exec(cmd: &Command) -> StartError {
    let err = sys::execve(&cmd.path, &cmd.argv, &cmd.envp);
    let (code, what) = match err.raw_os_error() {
        Some(libc::ENOENT) => (127, "no such file or directory".to_string()),
        Some(libc::EACCES) | Some(libc::EPERM) => (126, "permission denied".to_string()),
        Some(libc::ENOEXEC) => (126, "exec format error".to_string()),
        _ => (126, err.to_string()),
    };
    StartError {
        exit_code: code,
        message: format!("exec: \"{}\": {what}", cmd.name),
    }
}
