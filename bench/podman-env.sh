# Sourced by the bench scripts that run podman, buildah or podman-compose: keeps their
# state under $W (CONTAINERS_* variables), nothing under /etc or /var/lib.
#   podman_env DIR
podman_env() {
  local w=$1 nofile nproc
  mkdir -p "$w/conf"
  cat >"$w/conf/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$w/containers"
runroot = "$w/run"
CONF
  # This host's root lacks CAP_SYS_RESOURCE: podman's default nofile and nproc limits
  # are above what it may set, so pin both to reachable values (as shared/peers does).
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [[ $nofile == unlimited || $nofile -gt 1048576 ]] && nofile=1048576
  [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
  cat >"$w/conf/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$w/podman-events.log"
runtime = "runc"
CONF
  export CONTAINERS_STORAGE_CONF=$w/conf/storage.conf CONTAINERS_CONF=$w/conf/containers.conf
}
