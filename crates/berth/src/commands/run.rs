//! `berth run` and `berth create`.

use std::path::PathBuf;

use clap::Args;
use engine::containers::{self, CreateOptions};
use engine::{lifecycle, StateRoot};

use crate::terminal;

#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Root filesystem directory to run (never modified: the container writes to its own layer).
    #[arg(long, value_name = "DIR")]
    rootfs: Option<PathBuf>,
    /// Assign a name to the container.
    #[arg(long)]
    name: Option<String>,
    /// Run in the background and print the container id.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    rm: bool,
    /// Keep stdin open.
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Allocate a pseudo-terminal.
    #[arg(short = 't', long)]
    tty: bool,
    /// Set environment variables (K=V, or K to copy from berth's environment).
    #[arg(short = 'e', long = "env", value_name = "K=V")]
    env: Vec<String>,
    /// Read environment variables from a file.
    #[arg(long = "env-file", value_name = "FILE")]
    env_file: Vec<PathBuf>,
    /// Working directory inside the container.
    #[arg(short = 'w', long = "workdir")]
    workdir: Option<String>,
    /// User: name|uid[:group|gid].
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Overwrite the default entrypoint.
    #[arg(long)]
    entrypoint: Option<String>,
    /// Container host name.
    #[arg(short = 'h', long)]
    hostname: Option<String>,
    /// Container NIS domain name.
    #[arg(long)]
    domainname: Option<String>,
    /// Connect to a network: bridge (the default), host, none, a network's name or id,
    /// or name=NET,alias=A,ip=IP; repeatable.
    #[arg(long = "network", alias = "net")]
    network: Vec<String>,
    /// Add a network-scoped alias (user-defined networks).
    #[arg(long = "network-alias", alias = "net-alias")]
    network_alias: Vec<String>,
    /// IPv4 address on the (first) network, e.g. 10.50.0.10.
    #[arg(long)]
    ip: Option<String>,
    /// Publish a port: [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp], ranges allowed.
    #[arg(short = 'p', long = "publish")]
    publish: Vec<String>,
    /// Expose a port or a range of ports (PORT[-PORT][/proto]), for -P.
    #[arg(long)]
    expose: Vec<String>,
    /// Publish every exposed port on an ephemeral host port.
    #[arg(short = 'P', long = "publish-all")]
    publish_all: bool,
    /// DNS server (repeatable).
    #[arg(long)]
    dns: Vec<String>,
    /// DNS search domain (repeatable).
    #[arg(long = "dns-search")]
    dns_search: Vec<String>,
    /// DNS resolver option (repeatable).
    #[arg(long = "dns-option", alias = "dns-opt")]
    dns_option: Vec<String>,
    /// Add a host to /etc/hosts: NAME:IP (IP may be host-gateway).
    #[arg(long = "add-host")]
    add_host: Vec<String>,
    /// Memory limit (e.g. 64m).
    #[arg(short = 'm', long)]
    memory: Option<String>,
    /// Memory plus swap limit; -1 for unlimited swap.
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    memory_swap: Option<String>,
    /// Number of CPUs (e.g. 1.5).
    #[arg(long)]
    cpus: Option<String>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long = "cpu-shares")]
    cpu_shares: Option<i64>,
    /// Maximum number of processes (-1 for unlimited).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pids_limit: Option<i64>,
    /// Run berth's minimal init as PID 1 (forwards signals, reaps zombies).
    #[arg(long)]
    init: bool,
    /// Mount the container's root filesystem read-only.
    #[arg(long = "read-only")]
    read_only: bool,
    /// Mount a tmpfs: PATH[:OPTIONS].
    #[arg(long)]
    tmpfs: Vec<String>,
    /// Bind mount or volume: HOST:CTR[:ro|rw], NAME:CTR, or CTR.
    #[arg(short = 'v', long = "volume")]
    volume: Vec<String>,
    /// Mount: type=bind|volume|tmpfs,source=...,target=...[,readonly].
    #[arg(long)]
    mount: Vec<String>,
    /// Signal to stop the container.
    #[arg(long = "stop-signal")]
    stop_signal: Option<String>,
    /// Seconds to wait for the stop signal before SIGKILL.
    #[arg(long = "stop-timeout", allow_hyphen_values = true)]
    stop_timeout: Option<i64>,
    /// Resource limit: NAME=SOFT[:HARD].
    #[arg(long)]
    ulimit: Vec<String>,
    /// Size of /dev/shm.
    #[arg(long = "shm-size")]
    shm_size: Option<String>,
    /// Set metadata: K=V.
    #[arg(short = 'l', long)]
    label: Vec<String>,
    /// Restart policy: no, always, unless-stopped, on-failure[:MAX_RETRIES].
    #[arg(long, value_name = "POLICY")]
    restart: Option<String>,
    /// Pull the image before running: missing (default), always or never.
    #[arg(long, value_name = "POLICY")]
    pull: Option<String>,
    /// Platform to pull if the image is missing: os/arch[/variant].
    #[arg(long)]
    platform: Option<String>,
    /// Suppress the pull output.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Command to run to check health.
    #[arg(long = "health-cmd", value_name = "CMD")]
    health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h) (default 30s).
    #[arg(
        long = "health-interval",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    health_interval: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 30s).
    #[arg(
        long = "health-timeout",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    health_timeout: Option<String>,
    /// Start period for the container to initialize before starting health-retries
    /// countdown (ms|s|m|h) (default 0s).
    #[arg(
        long = "health-start-period",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    health_start_period: Option<String>,
    /// Time between running the check during the start period (ms|s|m|h) (default 5s).
    #[arg(
        long = "health-start-interval",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    health_start_interval: Option<String>,
    /// Consecutive failures needed to report unhealthy (default 3).
    #[arg(long = "health-retries", value_name = "N", allow_hyphen_values = true)]
    health_retries: Option<i64>,
    /// Disable any container-specified HEALTHCHECK.
    #[arg(long = "no-healthcheck")]
    no_healthcheck: bool,
    /// Add a Linux capability (NAME, CAP_NAME or ALL).
    #[arg(long = "cap-add", value_name = "CAP")]
    cap_add: Vec<String>,
    /// Drop a Linux capability (NAME, CAP_NAME or ALL).
    #[arg(long = "cap-drop", value_name = "CAP")]
    cap_drop: Vec<String>,
    /// Give the container every capability and device, and turn off seccomp, Landlock and
    /// the masked /proc and /sys paths: the explicit, complete opt-out of isolation.
    #[arg(long)]
    privileged: bool,
    /// Security options: seccomp=unconfined|FILE, no-new-privileges[=false],
    /// systempaths=unconfined, landlock=unconfined|FILE, landlock.ro|rw|exec=PATH,
    /// landlock.bind-tcp|connect-tcp=PORT, landlock.scope=signal|abstract-unix-socket.
    #[arg(long = "security-opt", value_name = "OPT")]
    security_opt: Vec<String>,
    /// Namespaced kernel parameter: NAME=VALUE (kernel.msg*, kernel.sem, kernel.shm*,
    /// fs.mqueue.*, net.*).
    #[arg(long, value_name = "NAME=VALUE")]
    sysctl: Vec<String>,
    /// User namespace: only `host` for now (the container's root is the host's root,
    /// confined by capabilities, seccomp and Landlock).
    #[arg(long, value_name = "MODE")]
    userns: Option<String>,
    /// Give the container a host device: HOST[:CONTAINER[:PERMS]] (PERMS from rwm).
    #[arg(long, value_name = "DEVICE")]
    device: Vec<String>,
    /// The image, then the command and its arguments (only the command with --rootfs).
    #[arg(trailing_var_arg = true, value_name = "IMAGE [COMMAND]")]
    command: Vec<String>,
}

impl RunArgs {
    /// The image (None with --rootfs) and the command.
    fn image_and_command(&self) -> (Option<String>, Vec<String>) {
        if self.rootfs.is_some() {
            return (None, self.command.clone());
        }
        let mut it = self.command.iter().cloned();
        (it.next(), it.collect())
    }

    fn options(&self) -> CreateOptions {
        let (image, command) = self.image_and_command();
        CreateOptions {
            name: self.name.clone(),
            rootfs: self.rootfs.clone(),
            layers: None,
            image,
            command,
            // Docker's `--entrypoint ""` clears the image's entrypoint.
            entrypoint: self.entrypoint.as_ref().map(|e| {
                if e.is_empty() {
                    Vec::new()
                } else {
                    vec![e.clone()]
                }
            }),
            env: self.env.clone(),
            env_files: self.env_file.clone(),
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            hostname: self.hostname.clone(),
            domainname: self.domainname.clone(),
            net: engine::netopts::NetOptions {
                networks: self.network.clone(),
                aliases: self.network_alias.clone(),
                ip: self.ip.clone(),
                publish: self.publish.clone(),
                publish_all: self.publish_all,
                expose: self.expose.clone(),
                dns: self.dns.clone(),
                dns_search: self.dns_search.clone(),
                dns_options: self.dns_option.clone(),
                add_hosts: self.add_host.clone(),
            },
            memory: self.memory.clone(),
            memory_swap: self.memory_swap.clone(),
            cpus: self.cpus.clone(),
            cpu_shares: self.cpu_shares,
            pids_limit: self.pids_limit,
            init: self.init,
            read_only: self.read_only,
            tmpfs: self.tmpfs.clone(),
            volumes: self.volume.clone(),
            mounts: self.mount.clone(),
            mount_points: Vec::new(),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            ulimits: self.ulimit.clone(),
            shm_size: self.shm_size.clone(),
            labels: self.label.clone(),
            restart: self.restart.clone(),
            auto_remove: self.rm,
            tty: self.tty,
            interactive: self.interactive,
            health: engine::health::HealthOptions {
                cmd: self.health_cmd.clone(),
                interval: self.health_interval.clone(),
                timeout: self.health_timeout.clone(),
                start_period: self.health_start_period.clone(),
                start_interval: self.health_start_interval.clone(),
                retries: self.health_retries,
                disabled: self.no_healthcheck,
                test: None,
            },
            security: engine::security::SecurityOptions {
                cap_add: self.cap_add.clone(),
                cap_drop: self.cap_drop.clone(),
                privileged: self.privileged,
                security_opt: self.security_opt.clone(),
                sysctls: self.sysctl.clone(),
                devices: self.device.clone(),
                userns: self.userns.clone(),
            },
        }
    }
}

/// Docker's `--pull`: fetch the image first when it is missing (or always).
fn ensure_image(root: &StateRoot, args: &RunArgs) -> engine::Result<()> {
    let (Some(image), _) = args.image_and_command() else {
        return Ok(());
    };
    let policy = args.pull.as_deref().unwrap_or("missing");
    let present = || -> engine::Result<bool> {
        let store = engine::images::open_store(root)?;
        Ok(engine::images::try_find(&store, &image)?.is_some())
    };
    let fetch = match policy {
        "always" => true,
        "missing" => !present()?,
        "never" => false,
        other => {
            return Err(engine::Error::invalid(format!(
                "invalid pull policy {other:?}: use missing, always or never"
            )))
        }
    };
    if fetch {
        if policy == "missing" {
            eprintln!("Unable to find image '{image}' locally");
        }
        let progress = crate::progress::Reporter::new(args.quiet, crate::progress::Sink::Stderr);
        let opts = engine::pull::PullOptions {
            platform: args.platform.clone(),
            tls_verify: None,
        };
        engine::pull::pull(root, &image, &opts, &progress)?;
    }
    Ok(())
}

pub fn create(root: &StateRoot, args: RunArgs) -> engine::Result<i32> {
    ensure_image(root, &args)?;
    let record = containers::create(root, &args.options())?;
    println!("{}", record.id);
    Ok(0)
}

pub fn run(root: &StateRoot, args: RunArgs) -> engine::Result<i32> {
    // Bad or conflicting restart policies fail before anything is pulled.
    let policy = engine::restart::Policy::parse(args.restart.as_deref().unwrap_or(""))?;
    if args.rm && policy.restarts() {
        return Err(engine::restart::conflicts_with_rm());
    }
    ensure_image(root, &args)?;
    let record = containers::create(root, &args.options())?;
    let id = record.id.clone();
    if args.detach {
        let started = match lifecycle::start(root, &id, false) {
            Ok(s) => s,
            Err(e) => return Err(cleanup_failed(root, &id, args.rm, e)),
        };
        print_warnings(&started.warnings);
        println!("{id}");
        return Ok(0);
    }
    // Attached: raw terminal for -t, signals proxied to the container otherwise.
    let raw = if args.tty && args.interactive {
        terminal::RawMode::enter()
    } else {
        None
    };
    let started = match lifecycle::start(root, &id, true) {
        Ok(s) => s,
        Err(e) => {
            drop(raw);
            return Err(cleanup_failed(root, &id, args.rm, e));
        }
    };
    print_warnings(&started.warnings);
    let code = terminal::wait_attached(root, started, args.tty)?;
    drop(raw);
    Ok(code)
}

/// A container that failed to start stays in "created" state like Docker's, except
/// under --rm, where nothing may be left.
fn cleanup_failed(
    root: &StateRoot,
    id: &str,
    auto_remove: bool,
    e: engine::Error,
) -> engine::Error {
    if auto_remove {
        let _ = lifecycle::remove(root, id, true, true);
    }
    e
}

pub fn print_warnings(w: &[String]) {
    for w in w {
        eprintln!("WARNING: {w}");
    }
}
