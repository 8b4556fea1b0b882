#!/usr/bin/env bash
# Networking, berth against podman (runc, CNI bridge) in one run:
#   1. start+exit of `true` with no network, on the default bridge, and (berth) on a
#      user-defined network with its DNS server;
#   2. throughput of a published port (berth's userland splice proxy) against the same
#      transfer straight to the container's address, 1 GiB from the host.
#
#   bash bench/network.sh          # RUNS=30 ROUNDS=3 by default
#
# podman's state stays under $W (CONTAINERS_* variables), nothing under /etc or /var/lib.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-30}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-3}
W=${W:-/var/tmp/berth-bench-net}
OUT=$W/results; mkdir -p "$OUT" "$W/conf"
for t in podman hyperfine nft; do
  command -v $t >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman hyperfine nftables >/dev/null; break; }
done
cargo build --release --quiet
BERTH=$PWD/target/release/berth
ROOTFS=$W/rootfs
[[ -x $ROOTFS/bin/busybox ]] || scripts/busybox-rootfs "$ROOTFS"
tar -C "$ROOTFS" -cf "$W/rootfs.tar" .

export BERTH_ROOT=$W/state BERTH_CONFIG=$W/berth-config
mkdir -p "$BERTH_CONFIG"; echo '{"dns": ["127.0.0.1"]}' >"$BERTH_CONFIG/config.json"
"$BERTH" import "$W/rootfs.tar" localhost/bench/busybox:latest >/dev/null
"$BERTH" network inspect benchnet >/dev/null 2>&1 || "$BERTH" network create --subnet 10.231.200.0/24 benchnet >/dev/null

. bench/podman-env.sh
podman_env "$W"
podman image exists localhost/bench/busybox:latest || podman import -q "$W/rootfs.tar" localhost/bench/busybox:latest >/dev/null

PER=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
for r in $(seq "$ROUNDS"); do
  hyperfine -N --warmup "$WARMUP" --runs "$PER" --export-json "$OUT/start-$r.json" \
    -n berth-none "$BERTH run --rm --network none localhost/bench/busybox true" \
    -n berth-bridge "$BERTH run --rm localhost/bench/busybox true" \
    -n berth-usernet "$BERTH run --rm --network benchnet localhost/bench/busybox true" \
    -n podman-none "podman run --rm --network none localhost/bench/busybox true" \
    -n podman-bridge "podman run --rm localhost/bench/busybox true" >"$OUT/start-$r.txt"
done

# Throughput: a sink in the container swallows bytes; the host sends 1 GiB to the
# published port, then straight to the container's address.
SINK=$("$BERTH" run -d --network benchnet -p 127.0.0.1::5001 localhost/bench/busybox \
  sh -c 'while true; do nc -l -p 5001 >/dev/null; done')
# Leave nothing on the host: the bench root's networks (bridges, nftables table) go too.
trap '"$BERTH" system reset -f >/dev/null' EXIT
sleep 0.5
PUB=$("$BERTH" port "$SINK" 5001)
CIP=$("$BERTH" inspect -f '{{.NetworkSettings.IPAddress}}' "$SINK")
python3 - "$PUB" "$CIP:5001" >"$OUT/throughput.txt" <<'PY'
import socket, sys, time
def send(addr, total=1 << 30):
    host, port = addr.rsplit(":", 1)
    buf = b"\0" * (1 << 20)
    best = 0
    for _ in range(3):
        s = socket.create_connection((host, int(port)))
        t = time.monotonic()
        sent = 0
        while sent < total:
            sent += s.send(buf)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)
        s.close()
        best = max(best, total / (time.monotonic() - t) / 1e6)
        time.sleep(0.2)
    return best
pub, direct = send(sys.argv[1]), send(sys.argv[2])
print(f"published port (userland proxy): {pub:.0f} MB/s; direct to the container: {direct:.0f} MB/s; ratio {pub / direct:.2f}")
PY

python3 - "$OUT" "$ROUNDS" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
times = {}
for n in range(1, rounds + 1):
    for r in json.load(open(f"{out}/start-{n}.json"))["results"]:
        times.setdefault(r["command"], []).extend(r["times"])
med = {k: statistics.median(v) * 1000 for k, v in times.items()}
print("| start+exit of `true` | median ms |")
print("|---|---:|")
for k in ("berth-none", "berth-bridge", "berth-usernet", "podman-none", "podman-bridge"):
    print(f"| {k} | {med[k]:.1f} |")
print(f"\npodman-bridge / berth-bridge: {med['podman-bridge'] / med['berth-bridge']:.1f}x")
print(open(f"{out}/throughput.txt").read().strip())
PY
