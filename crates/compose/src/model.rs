//! The compose project as berth runs it: typed services, networks, volumes, secrets
//! and configs, every short syntax already turned into its long form, every relative
//! path already made absolute, durations and sizes already parsed. Built from a merged
//! and interpolated tree by `model::parse`; printed by `config` through serde in the
//! compose-spec's own shape. Never reads files or touches containers.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

pub mod parse;
mod ser;

/// A whole project, ready to run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Project {
    pub name: String,
    /// Relative paths in the files are relative to this directory.
    #[serde(skip)]
    pub working_dir: PathBuf,
    pub services: BTreeMap<String, Service>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Network>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    /// Printed without their content, as compose prints secrets.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "ser::secrets"
    )]
    pub secrets: BTreeMap<String, FileObject>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, FileObject>,
}

/// A duration in nanoseconds; serialised as a Go duration string ("1m30s"), as
/// `docker compose config` prints it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Nanos(pub i64);

/// A size in bytes (`64m`, `1g`, `512` parsed); serialised as a decimal string
/// ("67108864"), as `docker compose config --format json` prints sizes.
pub type Bytes = i64;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Service {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// A string command is split with shell-word rules into argv (no `sh -c`), as compose.
    /// Printed as `null` when unset, as compose does (it never omits it).
    pub command: Option<Vec<String>>,
    /// `Some(vec![])` (from `entrypoint: []` or `""`) clears the image's entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// Map and list forms alike; `None` for a bare `NAME` whose variable is unset in the
    /// environment the file was loaded with (compose then leaves it out).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, Option<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_file: Vec<EnvFile>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    /// `"80"`, `"8000-8010"`, `"53/udp"`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<ServiceVolume>,
    /// Container paths, each optionally with `:options` (`/run:size=64m`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    /// Which project networks the service joins (by the key in the top-level
    /// `networks`). A service with neither `networks` nor `network_mode` gets
    /// `default` here (added by the parser). An entry without settings prints as null.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "ser::service_networks"
    )]
    pub networks: BTreeMap<String, ServiceNetwork>,
    /// `none`, `host`, `bridge`, `service:NAME` or `container:NAME`, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, Dependency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    /// `no`, `always`, `on-failure`, `on-failure:N`, `unless-stopped` (validated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// As written (`no-new-privileges:true`, `seccomp=unconfined`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub init: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stdin_open: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tty: bool,
    /// `HOST:CONTAINER:PERMS` (short and long syntax turned into this; a missing
    /// container path is the host path, missing permissions are `rwm`). Printed in
    /// the long form, as compose does.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "ser::devices")]
    pub devices: Vec<String>,
    /// `mem_limit`, or `deploy.resources.limits.memory` when that is set.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser::bytes")]
    pub mem_limit: Option<Bytes>,
    /// -1 for unlimited.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser::bytes")]
    pub memswap_limit: Option<Bytes>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser::bytes")]
    pub mem_reservation: Option<Bytes>,
    /// `cpus`, or `deploy.resources.limits.cpus`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    /// `pids_limit`, or `deploy.resources.limits.pids`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser::bytes")]
    pub shm_size: Option<Bytes>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<Nanos>,
    /// `NAME:IP` (compose's `NAME=IP` and map forms turned into this; IPv6 without
    /// brackets). Printed as sorted `NAME=IP`, as compose prints them.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "ser::extra_hosts"
    )]
    pub extra_hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<FileRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// `scale`, or `deploy.replicas`; `None` means 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// `always`, `never`, `missing` or `build` (validated; `if_not_present` becomes
    /// `missing`, as compose normalises it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Build {
    /// Absolute (a remote context, `https://...` or `git@...`, is kept as written).
    pub context: PathBuf,
    /// `Dockerfile` when not given, as compose fills it in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The Dockerfile's text, instead of a `dockerfile` path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile_inline: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_cache: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pull: bool,
    /// Top-level secrets the build may mount (`RUN --mount=type=secret,id=TARGET`);
    /// the id is the target's name (the source's by default).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileRef>,
    /// Named contexts (`--build-context`): a directory (absolute), a git URL or
    /// `docker-image://REF`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_contexts: BTreeMap<String, String>,
    /// SSH agents for `RUN --mount=type=ssh` (`default`, `ID=SOCKET`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssh: Vec<String>,
    /// `/etc/hosts` lines for RUN steps (`HOST:IP`, as `extra_hosts` of a service).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvFile {
    /// Absolute.
    pub path: PathBuf,
    /// `required: false` files may be missing.
    pub required: bool,
}

/// One published port, long syntax. A short `"127.0.0.1:8000-8001:80-81"` range
/// becomes one entry per port.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Port {
    pub target: u16,
    /// The host port or range (`"8080"`, `"8080-8090"`); `None`: an ephemeral port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    /// `tcp` or `udp`.
    pub protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// `ingress` unless the long syntax says `host` (the parser fills it in, as
    /// compose does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeKind {
    /// `source` is a key of the project's top-level `volumes`, or `None` for an
    /// anonymous volume.
    Volume,
    /// `source` is an absolute host path.
    Bind,
    Tmpfs,
}

/// One entry of a service's `volumes`, long syntax. Serialised in compose's nesting
/// (`bind: {...}`, `volume: {...}`, `tmpfs: {...}`), see `ser`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceVolume {
    pub kind: VolumeKind,
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    /// Bind: create the host path when missing (true for the short syntax, as compose).
    pub create_host_path: Option<bool>,
    /// Bind propagation (`rprivate`, ...), or the SELinux `z`/`Z` flags, kept as given
    /// (never both: the parser rejects that).
    pub propagation: Option<String>,
    /// Volume: `nocopy`.
    pub nocopy: bool,
    /// Volume: `subpath`.
    pub subpath: Option<String>,
    /// Tmpfs: size in bytes.
    pub tmpfs_size: Option<Bytes>,
    /// Tmpfs: mode bits.
    pub tmpfs_mode: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServiceNetwork {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    #[default]
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Dependency {
    pub condition: Condition,
    /// Restart this service when the dependency is restarted by compose.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub restart: bool,
    /// `required: false`: a missing or disabled dependency is only a warning.
    pub required: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Healthcheck {
    /// Docker's form: `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`; a string
    /// `test` becomes `["CMD-SHELL", s]`. Empty: inherit the image's test.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Nanos>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Nanos>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<Nanos>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<Nanos>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disable: bool,
}

/// Printed as one number when soft and hard agree, as compose prints `nofile: 1024`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
}

/// A service's reference to a top-level secret or config, long syntax.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileRef {
    pub source: String,
    /// Absolute in the container; defaults filled in (`/run/secrets/NAME` for a
    /// secret, `/NAME` for a config).
    pub target: String,
    /// Printed as strings, as compose does.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser::id")]
    pub uid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser::id")]
    pub gid: Option<u32>,
    /// Printed as an octal string ("0440"), as compose does.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser::octal")]
    pub mode: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Logging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// A top-level network.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Network {
    /// The real network's name: `name:` when given, else `PROJECT_KEY`; for an
    /// external network, `name:` or the key itself.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub attachable: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enable_ipv6: bool,
    /// Printed as compose's `ipam: {config: [...]}` (always present, `{}` when empty).
    #[serde(serialize_with = "ser::ipam")]
    pub ipam: Vec<IpamConfig>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IpamConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
}

/// A top-level volume.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Volume {
    /// The real volume's name: `name:` when given, else `PROJECT_KEY`; for an external
    /// volume, `name:` or the key itself.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// Where a top-level secret's or config's content comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileSource {
    /// An absolute host path.
    File(PathBuf),
    /// The value of this variable in the environment the project was loaded with
    /// (already looked up: the content itself).
    Environment { name: String, value: String },
    /// `content:` (configs only in the spec; berth accepts it for secrets too).
    Content(String),
}

/// A top-level secret or config. Printed as compose prints it: `file`, the variable's
/// name for `environment` (never its value), and `content` only for configs.
#[derive(Debug, Clone, PartialEq)]
pub struct FileObject {
    pub name: String,
    pub source: FileSource,
    pub external: bool,
}

impl Serialize for Nanos {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&go_duration(self.0))
    }
}

/// Formats nanoseconds as Go's `time.Duration.String()` does ("1m30s", "500ms", "0s").
pub fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let mut n = nanos.unsigned_abs();
    let mut out = String::new();
    if n < 1_000_000_000 {
        // Below a second Go uses the largest unit that keeps an integer part.
        let (unit, div) = if n < 1_000 {
            ("ns", 1)
        } else if n < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&fraction(n, div));
        out.push_str(unit);
    } else {
        let h = n / 3_600_000_000_000;
        n %= 3_600_000_000_000;
        let m = n / 60_000_000_000;
        n %= 60_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&fraction(n, 1_000_000_000));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

fn fraction(n: u64, div: u64) -> String {
    let whole = n / div;
    let rest = n % div;
    if rest == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let frac = format!("{rest:0width$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_print_like_go() {
        for (n, s) in [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (500_000_000, "500ms"),
            (1_000_000_000, "1s"),
            (1_500_000_000, "1.5s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (-2_000_000_000, "-2s"),
        ] {
            assert_eq!(go_duration(n), s, "{n}");
        }
    }
}
