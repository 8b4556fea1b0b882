#!/usr/bin/env bash
# Start+exit latency of `true`, berth against crun and runc on the same busybox rootfs,
# in one run, plus the memory of berth's per-container monitor.
#
#   bash bench/start-exit.sh            # RUNS=30 by default
#
# Installs crun, runc and hyperfine from Debian if missing. crun 1.8.1 refuses this
# host's hybrid cgroup layout, so (as in shared/peers) crun runs inside a private mount
# namespace without /sys/fs/cgroup/unified; berth and runc run on the layout as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
NMEM=${NMEM:-20}
W=${W:-/var/tmp/berth-bench}
OUT=$W/results; mkdir -p "$OUT"

for t in crun runc hyperfine; do
  command -v $t >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq crun runc hyperfine >/dev/null; break; }
done
cargo build --release --quiet
BERTH=$PWD/target/release/berth
ROOTFS=$W/rootfs
[[ -x $ROOTFS/bin/busybox ]] || scripts/busybox-rootfs "$ROOTFS"

# The runtimes' bundles have no network either: berth runs with --network none here
# (bench/network.sh measures networks).

# An OCI bundle on the same rootfs: the runtime's default spec, running `true`.
BUNDLE=$W/bundle
rm -rf "$BUNDLE"; mkdir -p "$BUNDLE"
(cd "$BUNDLE" && crun spec)
python3 - "$BUNDLE/config.json" "$ROOTFS" <<'PY'
import json, sys
p, rootfs = sys.argv[1], sys.argv[2]
c = json.load(open(p))
c["process"]["args"] = ["true"]
c["process"]["terminal"] = False
c["root"] = {"path": rootfs, "readonly": True}
json.dump(c, open(p, "w"), indent=2)
PY

# The same with a user namespace (ids 4000000-4065535): crun maps the rootfs as it is
# (files show as nobody; `true` still runs), berth idmaps it.
BUNDLE_NS=$W/bundle-userns
rm -rf "$BUNDLE_NS"; cp -r "$BUNDLE" "$BUNDLE_NS"
python3 - "$BUNDLE_NS/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["linux"]["namespaces"].append({"type": "user"})
m = [{"containerID": 0, "hostID": 4000000, "size": 65536}]
c["linux"]["uidMappings"] = m
c["linux"]["gidMappings"] = m
c["mounts"] = [x for x in c["mounts"] if x["type"] not in ("cgroup", "sysfs")] + [
    {"destination": "/sys", "type": "bind", "source": "/sys", "options": ["rbind", "ro"]}]
json.dump(c, open(p, "w"), indent=2)
PY
echo "berth:4000000:655360" >"$W/subids"
export BERTH_SUBUID=$W/subids BERTH_SUBGID=$W/subids

export BERTH_ROOT=$W/state
"$BERTH" run --rm --network none --rootfs "$ROOTFS" true   # fail fast if berth cannot run here
# The same rootfs as an image in the store: `run IMAGE` resolves the name, reads the
# image config and mounts the store's layer.
tar -C "$ROOTFS" -c . | "$BERTH" import - localhost/bench/busybox:latest >/dev/null

# The machine's speed drifts (this VM's RCU grace periods, which every cgroup v1 attach
# waits for, range from 3 to 20 ms over an afternoon), so the tools take turns: ROUNDS
# rounds of RUNS/ROUNDS runs each, and the medians are over all rounds.
ROUNDS=${ROUNDS:-4}
PER=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
for r in $(seq "$ROUNDS"); do
  hyperfine -N --warmup "$WARMUP" --runs "$PER" --export-json "$OUT/berth-runc-$r.json" \
    -n berth "$BERTH run --rm --network none --rootfs $ROOTFS true" \
    -n berth-image "$BERTH run --rm --network none localhost/bench/busybox true" \
    -n berth-userns "$BERTH run --rm --network none --userns=auto --rootfs $ROOTFS true" \
    -n runc "runc run --bundle $BUNDLE bench-runc" >"$OUT/berth-runc-$r.txt"
  unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' nounified \
    hyperfine -N --warmup "$WARMUP" --runs "$PER" --export-json "$OUT/crun-$r.json" \
    -n crun "crun run --bundle $BUNDLE bench-crun" \
    -n crun-userns "crun run --bundle $BUNDLE_NS bench-crun-ns" >"$OUT/crun-$r.txt"
done

# Monitor memory: NMEM detached sleepers, RSS and PSS of each monitor.
ids=()
for i in $(seq "$NMEM"); do ids+=("$("$BERTH" run -d --network none --rootfs "$ROOTFS" sleep 600)"); done
python3 - "$BERTH_ROOT" "${ids[@]}" >"$OUT/monitor-mem.txt" <<'PY'
import json, sys
root, ids = sys.argv[1], sys.argv[2:]
rss, pss = [], []
for i in ids:
    st = json.load(open(f"{root}/containers/{i}/state.json"))
    for line in open(f"/proc/{st['MonitorPid']}/smaps_rollup"):
        k, v = line.split(":", 1) if ":" in line else (None, None)
        if k == "Rss": rss.append(int(v.split()[0]))
        if k == "Pss": pss.append(int(v.split()[0]))
print(f"monitors={len(rss)} rss_avg_kib={sum(rss)/len(rss):.0f} pss_avg_kib={sum(pss)/len(pss):.0f} rss_max_kib={max(rss)}")
PY
"$BERTH" rm -f "${ids[@]}" >/dev/null

python3 - "$OUT" "$ROUNDS" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
times = {}
for n in range(1, rounds + 1):
    for f in (f"berth-runc-{n}.json", f"crun-{n}.json"):
        for r in json.load(open(f"{out}/{f}"))["results"]:
            times.setdefault(r["command"], []).extend(r["times"])
res = {k: statistics.median(v) * 1000 for k, v in times.items()}
b = res["berth"]
print(f"| tool | median ms | berth / tool |")
print(f"|---|---:|---:|")
for k in ("berth", "berth-image", "crun", "runc"):
    print(f"| {k} | {res[k]:.1f} | {b / res[k]:.2f} |")
print()
print("With a user namespace:")
print(f"| tool | median ms | berth-userns / tool |")
print(f"|---|---:|---:|")
b = res["berth-userns"]
for k in ("berth-userns", "crun-userns", "berth"):
    print(f"| {k} | {res[k]:.1f} | {b / res[k]:.2f} |")
print()
print(open(f"{out}/monitor-mem.txt").read().strip())
PY
