#!/usr/bin/env bash
# compose up -d and down of a 5-service stack (no health waits), berth against
# podman-compose (PyPI, driving podman 4 with runc and CNI) in one run, in turns.
#
#   bash bench/compose.sh          # RUNS=10 by default
#
# The stack: two web servers (one with a published loopback port), a worker, a cache
# and a "db", on one project network, two of them sharing a named volume.
# podman's state stays under $W (CONTAINERS_* variables), nothing under /etc or /var/lib.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
W=${W:-/var/tmp/berth-bench-compose}
OUT=$W/results; mkdir -p "$OUT" "$W/conf" "$W/stack"
command -v podman >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman nftables >/dev/null
[[ -x $W/venv/bin/podman-compose ]] || { python3 -m venv "$W/venv" && "$W/venv/bin/pip" install -q podman-compose; }
PODMAN_COMPOSE=$W/venv/bin/podman-compose
cargo build --release --quiet
BERTH=$PWD/target/release/berth
ROOTFS=$W/rootfs
[[ -x $ROOTFS/bin/busybox ]] || scripts/busybox-rootfs "$ROOTFS"
tar -C "$ROOTFS" -cf "$W/rootfs.tar" .

export BERTH_ROOT=$W/state BERTH_CONFIG=$W/berth-config
mkdir -p "$BERTH_CONFIG"; echo '{"dns": ["127.0.0.1"]}' >"$BERTH_CONFIG/config.json"
"$BERTH" import "$W/rootfs.tar" localhost/bench/busybox:latest >/dev/null
trap '"$BERTH" system reset -f >/dev/null 2>&1 || true' EXIT

. bench/podman-env.sh
podman_env "$W"
podman image exists localhost/bench/busybox:latest || podman import -q "$W/rootfs.tar" localhost/bench/busybox:latest >/dev/null

cat >"$W/stack/compose.yaml" <<'YAML'
x-base: &base
  image: localhost/bench/busybox:latest
services:
  web:
    <<: *base
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports: ["127.0.0.1:18931:80"]
  api:
    <<: *base
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    volumes: ["shared:/data"]
  worker:
    <<: *base
    command: ["sleep", "3600"]
    volumes: ["shared:/data"]
    environment:
      QUEUE: jobs
  cache:
    <<: *base
    command: ["sleep", "3600"]
  db:
    <<: *base
    command: ["sleep", "3600"]
volumes:
  shared: {}
YAML

python3 - "$BERTH" "$PODMAN_COMPOSE" "$W/stack" "$RUNS" >"$OUT/compose.txt" <<'PY'
import statistics, subprocess, sys, time
berth, pc, stack, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tools = {
    "berth": ([berth, "compose", "-p", "benchc", "up", "-d"],
              [berth, "compose", "-p", "benchc", "down", "-v", "-t", "0"]),
    "podman-compose": ([pc, "-p", "benchc", "up", "-d"],
                       [pc, "-p", "benchc", "down", "-v", "-t", "0"]),
}
def timed(cmd):
    t = time.monotonic()
    subprocess.run(cmd, cwd=stack, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.monotonic() - t) * 1000
res = {k: ([], []) for k in tools}
for name, (up, down) in tools.items():  # one warmup each
    timed(up); timed(down)
for _ in range(runs):
    for name, (up, down) in tools.items():
        res[name][0].append(timed(up))
        res[name][1].append(timed(down))
print("| 5-service stack | up -d median ms | down median ms |")
print("|---|---:|---:|")
for name, (u, d) in res.items():
    print(f"| {name} | {statistics.median(u):.0f} | {statistics.median(d):.0f} |")
bu, pu = statistics.median(res["berth"][0]), statistics.median(res["podman-compose"][0])
bd, pd = statistics.median(res["berth"][1]), statistics.median(res["podman-compose"][1])
print(f"\npodman-compose / berth: up {pu / bu:.1f}x, down {pd / bd:.1f}x")
PY
cat "$OUT/compose.txt"
