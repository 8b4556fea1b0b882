#!/usr/bin/env bash
# What the seccomp filter costs a syscall-heavy workload, berth against crun on the same
# busybox rootfs, in one run:
#   berth (its default profile, a binary search over syscall ranges),
#   berth with Docker's default profile (podman's copy, /usr/share/containers/seccomp.json,
#     compiled by berth), berth unconfined,
#   crun with the same Docker profile (converted to the OCI form for the default
#     capabilities; libseccomp compiles it), crun without seccomp.
# Workloads: `dd bs=1` (2 M read/write calls) and `find` over /bin (stat and getdents).
#
#   bash bench/seccomp.sh        # RUNS=10 by default
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
W=${W:-/var/tmp/berth-bench}
PROFILE=${PROFILE:-/usr/share/containers/seccomp.json}
mkdir -p "$W"
for t in crun hyperfine; do
  command -v $t >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq crun hyperfine >/dev/null; break; }
done
[[ -f $PROFILE ]] || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-github-containers-common >/dev/null; }
cargo build --release --quiet
BERTH=$PWD/target/release/berth
ROOTFS=$W/rootfs
[[ -x $ROOTFS/bin/busybox ]] || scripts/busybox-rootfs "$ROOTFS"
export BERTH_ROOT=$W/state-seccomp

DD='dd if=/dev/zero of=/dev/null bs=1 count=1000000'
FIND='for i in 1 2 3 4 5 6 7 8 9 10; do find /bin /etc /sys/devices >/dev/null 2>&1; done; true'

# crun bundles: with Docker's profile in OCI form, and without seccomp.
mk_bundle() { # DIR WITH_SECCOMP SCRIPT
  rm -rf "$1"; mkdir -p "$1"
  (cd "$1" && crun spec)
  python3 - "$1/config.json" "$ROOTFS" "$2" "$PROFILE" "$3" <<'PY'
import json, sys
p, rootfs, with_seccomp, profile, script = sys.argv[1:6]
c = json.load(open(p))
c["process"]["args"] = ["sh", "-c", script]
c["process"]["terminal"] = False
c["root"] = {"path": rootfs, "readonly": True}
caps = set(c["process"]["capabilities"]["bounding"])
if with_seccomp == "1":
    d = json.load(open(profile))
    rules = []
    for r in d["syscalls"]:
        inc, exc = r.get("includes", {}), r.get("excludes", {})
        if inc.get("caps") and not set(inc["caps"]) <= caps: continue
        if inc.get("arches") and not {"amd64", "x86_64"} & set(inc["arches"]): continue
        if exc.get("caps") and set(exc["caps"]) & caps: continue
        if exc.get("arches") and {"amd64", "x86_64"} & set(exc["arches"]): continue
        o = {"names": r["names"], "action": r["action"]}
        if r.get("args"): o["args"] = r["args"]
        if "errnoRet" in r: o["errnoRet"] = r["errnoRet"]
        rules.append(o)
    s = {"defaultAction": d["defaultAction"], "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": rules}
    if "defaultErrnoRet" in d: s["defaultErrnoRet"] = d["defaultErrnoRet"]
    c["linux"]["seccomp"] = s
json.dump(c, open(p, "w"), indent=2)
PY
}
# crun 1.8.1 refuses this host's hybrid cgroup layout (see shared/peers): run it in a
# private mount namespace without /sys/fs/cgroup/unified.
CRUN=$W/crun-run.sh
cat > "$CRUN" <<'SH'
#!/bin/sh
# crun-run.sh BUNDLE: crun in a private mount namespace without cgroup2's hybrid mount.
exec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun run -b "$0" "bench-$$"' "$1"
SH
chmod +x "$CRUN"

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$W/results/seccomp-$STAMP; mkdir -p "$OUT"
{
  echo "date: $(date -u +%FT%TZ)  kernel: $(uname -r)  cpus: $(nproc)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "berth: $($BERTH --version)  ($(git rev-parse --short HEAD))  crun: $(crun --version | head -1)"
  echo "Docker profile: $PROFILE"
} | tee "$OUT/machine.txt"

for name in dd find; do
  if [[ $name == dd ]]; then S=$DD; else S=$FIND; fi
  mk_bundle "$W/bundle-sc-on" 1 "$S"
  mk_bundle "$W/bundle-sc-off" 0 "$S"
  hyperfine -N -w 2 -r "$RUNS" --export-json "$OUT/$name.json" \
    -n berth-default "$BERTH run --rm --rootfs $ROOTFS sh -c '$S'" \
    -n berth-docker-profile "$BERTH run --rm --security-opt seccomp=$PROFILE --rootfs $ROOTFS sh -c '$S'" \
    -n berth-unconfined "$BERTH run --rm --security-opt seccomp=unconfined --rootfs $ROOTFS sh -c '$S'" \
    -n crun-docker-profile "$CRUN $W/bundle-sc-on" \
    -n crun-no-seccomp "$CRUN $W/bundle-sc-off" | tee "$OUT/$name.txt"
done
python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
print("\n| workload | " + " | ".join(["berth default", "berth + Docker profile", "berth unconfined", "crun + Docker profile", "crun no seccomp"]) + " |")
print("|---|" + "---:|" * 5)
for w in ["dd", "find"]:
    r = {x["command"]: x["median"] for x in json.load(open(os.path.join(out, w + ".json")))["results"]}
    print(f"| {w} | " + " | ".join(f"{r[k]*1000:.0f} ms" for k in ["berth-default", "berth-docker-profile", "berth-unconfined", "crun-docker-profile", "crun-no-seccomp"]) + " |")
PY
echo "== results in $OUT"
