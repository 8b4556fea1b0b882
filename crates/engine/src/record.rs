//! A container's records: `Record` (what it is, fixed at create) and `State` (what it is
//! doing), shaped like `docker inspect` so that inspect and `--format` templates work the
//! way Docker users expect. Owns loading and saving them; never decides lifecycle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::state_root::{read_json, write_json, StateRoot};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Config {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub tty: bool,
    pub open_stdin: bool,
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub entrypoint: Vec<String>,
    pub image: String,
    pub working_dir: String,
    pub labels: BTreeMap<String, String>,
    pub stop_signal: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<store::config::Healthcheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    /// The image's SHELL: what a `CMD-SHELL` health check runs through (Docker's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Ulimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    #[default]
    Bind,
    Volume,
    Tmpfs,
}

/// One mount as the user asked for it (`-v`, `--mount`, `--tmpfs`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    #[serde(rename = "Type")]
    pub kind: MountType,
    /// Host path for binds, volume name for volumes, empty for tmpfs.
    pub source: String,
    pub target: String,
    pub read_only: bool,
    /// Extra mount options (tmpfs size/mode, bind propagation...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// An anonymous volume, removed with the container under `--rm`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestartPolicy {
    pub name: String,
    pub maximum_retry_count: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    pub network_mode: String,
    pub restart_policy: RestartPolicy,
    pub auto_remove: bool,
    pub privileged: bool,
    pub readonly_rootfs: bool,
    pub init: bool,
    pub memory: i64,
    pub memory_swap: i64,
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    pub pids_limit: Option<i64>,
    pub shm_size: i64,
    pub ulimits: Vec<Ulimit>,
    pub mounts: Vec<MountPoint>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<String>,
    /// `--sysctl`: namespaced kernel parameters.
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
    /// `--device`: host devices given to the container.
    #[serde(default)]
    pub devices: Vec<DeviceMapping>,
    /// `--userns`: "" (the host's) or `auto`.
    #[serde(default)]
    pub userns_mode: String,
    /// `-p`: "80/tcp" -> host addresses as asked (HostPort "" = ephemeral).
    #[serde(default)]
    pub port_bindings: BTreeMap<String, Vec<PortBinding>>,
    /// `-P`: publish every exposed port on an ephemeral host port.
    #[serde(default)]
    pub publish_all_ports: bool,
    #[serde(default)]
    pub dns: Vec<String>,
    #[serde(default)]
    pub dns_search: Vec<String>,
    #[serde(default)]
    pub dns_options: Vec<String>,
    /// `--add-host NAME:IP` (IP may be `host-gateway`).
    #[serde(default)]
    pub extra_hosts: Vec<String>,
}

/// One `--device HOST[:CONTAINER[:PERMS]]`, as Docker records it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceMapping {
    pub path_on_host: String,
    pub path_in_container: String,
    pub cgroup_permissions: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GraphDriver {
    pub name: String,
    pub data: BTreeMap<String, String>,
}

/// What a container is. Written once by `create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    pub id: String,
    pub created: String,
    pub path: String,
    pub args: Vec<String>,
    /// Docker prefixes names with "/".
    pub name: String,
    pub image: String,
    pub config: Config,
    pub host_config: HostConfig,
    pub graph_driver: GraphDriver,
    pub log_path: String,
    pub hostname_path: String,
    pub hosts_path: String,
    pub resolv_conf_path: String,
    /// Read-only lower directories of the root filesystem, topmost first.
    pub rootfs_layers: Vec<PathBuf>,
    /// The effective security settings (berth's; Docker spreads them over HostConfig).
    #[serde(default)]
    pub security: crate::security::Security,
    /// The networks to join at start, keyed by network name (Docker's shape).
    #[serde(default)]
    pub networking_config: NetworkingConfig,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkingConfig {
    pub endpoints_config: BTreeMap<String, EndpointConfig>,
}

/// How a container joins one network, as asked at create (or `network connect`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointConfig {
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    pub aliases: Vec<String>,
    /// `--ip`: the address asked for.
    #[serde(
        rename = "IPv4Address",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4_address: Option<std::net::Ipv4Addr>,
}

/// One published port: Docker's `{"HostIp": "127.0.0.1", "HostPort": "8080"}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: String,
}

/// Where a running container is attached (Docker's NetworkSettings).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkSettings {
    pub networks: BTreeMap<String, AttachedEndpoint>,
    /// "80/tcp" -> the host addresses really bound.
    pub ports: BTreeMap<String, Vec<PortBinding>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedEndpoint {
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub gateway: String,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: u8,
    pub mac_address: String,
    pub aliases: Vec<String>,
    #[serde(rename = "DNSNames")]
    pub dns_names: Vec<String>,
}

impl Record {
    /// The name without Docker's leading slash.
    pub fn short_name(&self) -> &str {
        self.name.trim_start_matches('/')
    }

    pub fn load(root: &StateRoot, id: &str) -> Result<Record> {
        read_json(&root.container(id).join("record.json"))
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Restarting,
    Exited,
    Removing,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Restarting => "restarting",
            Status::Exited => "exited",
            Status::Removing => "removing",
            Status::Dead => "dead",
        }
    }
}

/// What a container is doing. Replaced atomically under the container's lock.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct State {
    pub status: Status,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: i32,
    pub exit_code: i32,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    /// Present when the container has a health check (`health` owns it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// berth's own bookkeeping: the container's monitor and the start times that make
    /// (pid, start) pairs safe against pid reuse.
    #[serde(default)]
    pub monitor_pid: i32,
    #[serde(default)]
    pub monitor_start: u64,
    #[serde(default)]
    pub pid_start: u64,
    /// Addresses and ports of the current run (empty when not running).
    #[serde(default)]
    pub network_settings: NetworkSettings,
    /// Restarts the restart policy made since the user last started the container
    /// (Docker keeps `RestartCount` beside the state; inspect shows it there).
    #[serde(default)]
    pub restart_count: u32,
    /// A user's `stop` or `kill` reached the container since it was last started
    /// (Docker's HasBeenManuallyStopped): `unless-stopped` no longer restarts it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manually_stopped: bool,
    /// The user stopped it (Docker's ExitOnNext): no policy restarts it until it is
    /// started again. The monitor reads it under the lock before every restart.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restart_cancelled: bool,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    #[default]
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Starting => "starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// Docker's `State.Health`: the current verdict, the run of failures behind it and the
/// last few probe results (oldest first).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    pub status: HealthStatus,
    pub failing_streak: i64,
    #[serde(default)]
    pub log: Vec<HealthResult>,
}

/// One probe run, as Docker records it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HealthResult {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl State {
    pub fn new() -> State {
        State {
            started_at: ZERO_TIME.into(),
            finished_at: ZERO_TIME.into(),
            ..Default::default()
        }
    }

    pub fn load(root: &StateRoot, id: &str) -> Result<State> {
        read_json(&root.container(id).join("state.json"))
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        write_json(&dir.join("state.json"), self)
    }

    /// Sets the status and the flags Docker derives from it. A container waiting to be
    /// restarted counts as running, as in Docker: `ps` lists it, `rm` needs `-f`.
    pub fn set_status(&mut self, status: Status) {
        self.status = status;
        self.running = matches!(status, Status::Running | Status::Restarting);
        self.restarting = status == Status::Restarting;
        self.dead = status == Status::Dead;
    }
}
