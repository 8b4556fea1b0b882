#!/usr/bin/env bash
# Pull + unpack time and on-disk size of pulled images: berth against podman and
# skopeo, on the same images from the same private registry on 127.0.0.1, in one run.
#
#   bash bench/pull.sh                  # RUNS=7 WARMUP=1 STORE_FS=loop by default
#   STORE_FS=host bash bench/pull.sh    # stores on $W's own filesystem (see below)
#
# Fixtures (built once, kept in $W/pull; the registry's storage persists there):
#   - a Debian bookworm minbase rootfs (debootstrap from deb.debian.org, the only
#     non-loopback traffic, first run only), apt caches and lists removed and /dev
#     emptied: berth refuses device nodes in image layers (a container gets /dev from
#     the runtime), so the image ships an empty /dev, as Docker's debian images do;
#   - bench/debian:minbase      one layer (the whole rootfs);
#   - bench/debian:layered      the same files in 4 layers (/usr/share; /usr/lib*;
#                               the rest of /usr; everything else);
#   - bench/shared:{a,b,c}      one squashed layer each: minbase; minbase + /opt/extra
#                               (4 MiB); minbase with 5 files changed. They share most
#                               files but no layer, so only file-level dedup can help.
#   Images are made with buildah (from scratch, add a tarball per layer, commit) and
#   pushed with skopeo; neither uses berth.
# Each run starts docker-registry on a free loopback port (killed at exit), then:
#   1. hyperfine, per image (minbase, layered): berth pull into an empty root, podman pull
#      into a private store, skopeo copy to an OCI dir (download only, no unpack). The
#      --prepare of each empties its destination, then syncs: `rm -rf ROOT` (then
#      `berth images` creates the empty store), `podman rmi -a -f`, `rm -rf OCIDIR`.
#   2. disk: shared:{a,b,c} pulled into a fresh berth root and a fresh podman store;
#      `du -sx --bytes` of berth's ROOT/store and of podman's graphroot.
#
# STORE_FS=loop (default): every store, temp dir and TMPDIR lives on a private ext4
# (mkfs defaults, so with a journal) on a loop device (direct I/O) backed by a file in
# $W. STORE_FS=host puts them on $W's filesystem itself. Why: this machine's / is an
# ext4 *without* a journal, where allocating an inode scans every inode of its group
# freed in the last 60 s (ext4's recently_deleted(); 300 s while the inode table block
# is dirty). Unpacking right after the --prepare deleted the previous unpack, or while
# other work on the machine deletes files (cargo builds, tests), then costs seconds of
# system time and varies from run to run; on a private journaled ext4 it does not happen.
# podman, buildah and skopeo are configured through CONTAINERS_STORAGE_CONF,
# CONTAINERS_CONF and CONTAINERS_REGISTRIES_CONF; nothing under /etc or /var/lib is
# touched. berth uses private --root, BERTH_CONFIG and DOCKER_CONFIG.
# Raw hyperfine JSON and logs go to $OUT (default $W/results/pull-<UTC time>, with
# $W/results/pull-latest pointing at it).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}
STORE_FS=${STORE_FS:-loop}
[[ $STORE_FS == loop || $STORE_FS == host ]] || { echo "STORE_FS must be loop or host" >&2; exit 1; }
WARMUP=${WARMUP:-1}
W=${W:-/var/tmp/berth-bench}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
for t in podman buildah skopeo docker-registry debootstrap hyperfine curl jq; do
  command -v $t >/dev/null || { echo "missing $t (apt-get install podman buildah skopeo docker-registry debootstrap hyperfine curl jq)" >&2; exit 1; }
done
if [[ -z ${BERTH:-} ]]; then    # BERTH=/path/to/berth benchmarks a binary built elsewhere
  cargo build --release --quiet -p berth
  BERTH=$PWD/target/release/berth
fi
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$W/results/pull-$STAMP}
F=$W/pull                        # persistent fixtures
mkdir -p "$F" "$OUT"
[[ $OUT == "$W/results/pull-$STAMP" ]] && ln -sfn "pull-$STAMP" "$W/results/pull-latest"
T=$(mktemp -d -p "$F" run.XXXXXX) # everything transient: configs, and in $S the stores
S=$T/fs
log() { printf '== %s\n' "$*" >&2; }

# --- private configuration and store filesystem -------------------------------------------
REG_PID=
cleanup() {
  set +e
  [[ -n $REG_PID ]] && { kill "$REG_PID"; wait "$REG_PID"; } 2>/dev/null
  for c in "$T"/conf/storage-*.conf; do
    [[ -f $c ]] && CONTAINERS_STORAGE_CONF=$c podman rmi -a -f >/dev/null 2>&1
  done
  # containers-storage may leave mounts; drop any under $T (the loop fs last; its loop
  # device was set to detach itself when unmounted).
  awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount "$m" || umount -l "$m"; done
  rm -rf "$T"
  [[ $STORE_FS == host ]] && date +%s >"$F/last-delete"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$T"/{conf,berth-config,docker-config} "$S"
if [[ $STORE_FS == loop ]]; then
  truncate -s "${FS_SIZE:-4G}" "$T/fs.img"
  mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$T/fs.img"
  LOOP=$(losetup --find --show --direct-io=on "$T/fs.img")
  mount "$LOOP" "$S" || { losetup -d "$LOOP"; exit 1; }
  losetup -d "$LOOP"      # autoclear: the device goes away when $S is unmounted
  FSNOTE="private ext4 on $LOOP (direct I/O) backed by $T/fs.img, $(findmnt -no OPTIONS "$S")"
else
  FSNOTE="$(findmnt -no SOURCE,FSTYPE,OPTIONS -T "$S")"
  # Our previous run's deletions would slow this one (see STORE_FS above).
  if [[ -f $F/last-delete ]]; then
    wait_s=$(($(cat "$F/last-delete") + 65 - $(date +%s)))
    ((wait_s > 0)) && { log "waiting ${wait_s}s for ext4 to forget the previous run's deleted inodes"; sleep "$wait_s"; }
  fi
fi
export TMPDIR=$S/tmp; mkdir -p "$TMPDIR"   # podman and skopeo stage blobs in TMPDIR
export BERTH_CONFIG=$T/berth-config DOCKER_CONFIG=$T/docker-config
echo '{"auths": {}}' >"$DOCKER_CONFIG/config.json"   # buildah/podman/skopeo read it too
storage_conf() {  # storage_conf NAME GRAPHROOT: a containers-storage config of its own
  cat >"$T/conf/storage-$1.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$2"
runroot = "$S/run-$1"
EOF
  echo "$T/conf/storage-$1.conf"
}
BUILD_STORE=$(storage_conf build "$S/containers-build")   # fixture building (buildah)
BENCH_STORE=$(storage_conf bench "$S/containers-bench")   # podman pull timing
DF_STORE=$(storage_conf df "$S/containers-df")            # podman disk usage
export CONTAINERS_STORAGE_CONF=$BENCH_STORE
export CONTAINERS_CONF=$T/conf/containers.conf
export CONTAINERS_REGISTRIES_CONF=$T/conf/registries.conf
cat >"$CONTAINERS_CONF" <<EOF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/podman-events.log"
runtime = "runc"
tmp_dir = "$S/libpod-tmp"
EOF

# --- registry on a free loopback port -----------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT
printf 'unqualified-search-registries = []\n[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REG" \
  >"$CONTAINERS_REGISTRIES_CONF"
mkdir -p "$F/registry"
cat >"$T/conf/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $F/registry
http:
  addr: $REG
EOF
docker-registry serve "$T/conf/registry.yml" >"$OUT/registry.log" 2>&1 </dev/null &
REG_PID=$!
for _ in $(seq 100); do curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://$REG/v2/" >/dev/null
log "registry on $REG (pid $REG_PID), storage $F/registry"

# --- fixtures --------------------------------------------------------------------------------
MB=$F/rootfs/minbase
if [[ ! -x $MB/bin/bash ]]; then
  log "debootstrap --variant=minbase bookworm $MB (from $MIRROR)"
  mkdir -p "$F/rootfs"; rm -rf "$MB.tmp"
  timeout 900 debootstrap --variant=minbase bookworm "$MB.tmp" "$MIRROR" >"$F/debootstrap.log" 2>&1 ||
    { echo "debootstrap failed, see $F/debootstrap.log" >&2; exit 1; }
  rm -rf "$MB.tmp"/var/cache/apt/archives/*.deb "$MB.tmp"/var/lib/apt/lists/*
  find "$MB.tmp/dev" -mindepth 1 -delete        # no device nodes in image layers
  mv "$MB.tmp" "$MB"
fi
if [[ -n $(find "$MB" -xdev \( -type b -o -type c \) -print -quit) ]]; then
  echo "device nodes left in $MB" >&2; exit 1
fi

in_registry() { skopeo inspect --raw --tls-verify=false "docker://$REG/$1" >/dev/null 2>&1; }
TARS=$S/tars; mkdir -p "$TARS"
mktar() {  # mktar OUT DIR [tar args...]: numeric owners, xattrs, sorted names
  local out=$1 dir=$2; shift 2
  tar --numeric-owner --xattrs --sort=name -C "$dir" -cf "$out" "$@"
}
build_push() {  # build_push REPO:TAG TAR...: one layer per tarball, then push
  local ref=$1 ctr img=; shift
  in_registry "$ref" && { log "$REG/$ref already in the registry"; return; }
  log "building $ref from $# layer(s) and pushing it"
  for tar in "$@"; do
    ctr=$(CONTAINERS_STORAGE_CONF=$BUILD_STORE buildah from ${img:-scratch})
    CONTAINERS_STORAGE_CONF=$BUILD_STORE buildah add --quiet "$ctr" "$tar" / >/dev/null
    CONTAINERS_STORAGE_CONF=$BUILD_STORE buildah config \
      --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --cmd /bin/bash --created-by "bench/pull.sh: $(basename "$tar")" "$ctr"
    img=localhost/build-${ref//[:\/]/-}-$(basename "$tar" .tar)
    CONTAINERS_STORAGE_CONF=$BUILD_STORE buildah commit --quiet --format oci --rm "$ctr" "$img" >/dev/null
  done
  CONTAINERS_STORAGE_CONF=$BUILD_STORE skopeo copy --quiet --dest-tls-verify=false \
    "containers-storage:$img" "docker://$REG/$ref"
}

if ! in_registry bench/debian:minbase || ! in_registry bench/shared:a; then
  mktar "$TARS/minbase.tar" "$MB" .
fi
build_push bench/debian:minbase "$TARS/minbase.tar"
if ! in_registry bench/debian:layered; then
  # Each layer carries the directory entries above its files, so no layer relies on a
  # parent created implicitly.
  mktar "$TARS/1-usr-share.tar" "$MB" --no-recursion ./usr --recursion ./usr/share
  mktar "$TARS/2-usr-lib.tar" "$MB" --no-recursion ./usr --recursion ./usr/lib ./usr/lib64 ./usr/libexec
  mktar "$TARS/3-usr-rest.tar" "$MB" --no-recursion ./usr --recursion \
    --exclude=./usr/share --exclude=./usr/lib --exclude=./usr/lib64 --exclude=./usr/libexec ./usr
  mktar "$TARS/4-rest.tar" "$MB" --exclude='./usr/*' .
  build_push bench/debian:layered "$TARS"/{1-usr-share,2-usr-lib,3-usr-rest,4-rest}.tar
fi
build_push bench/shared:a "$TARS/minbase.tar"
if ! in_registry bench/shared:b; then
  cp -a "$MB" "$S/shared-b"
  mkdir -p "$S/shared-b/opt/extra"
  for i in 1 2 3 4 5 6 7 8; do head -c 524288 /dev/urandom >"$S/shared-b/opt/extra/blob$i"; done
  mktar "$TARS/shared-b.tar" "$S/shared-b" .
  build_push bench/shared:b "$TARS/shared-b.tar"
fi
if ! in_registry bench/shared:c; then
  cp -a "$MB" "$S/shared-c"
  for f in etc/motd etc/issue etc/debian_version usr/lib/os-release usr/share/common-licenses/GPL-3; do
    echo "# changed by bench/pull.sh" >>"$S/shared-c/$f"
  done
  mktar "$TARS/shared-c.tar" "$S/shared-c" .
  build_push bench/shared:c "$TARS/shared-c.tar"
fi
rm -rf "$TARS" "$S/shared-b" "$S/shared-c"

# --- machine facts ---------------------------------------------------------------------------------
{
  echo "date: $(date -u +%FT%TZ)"
  echo "kernel: $(uname -r), cpus: $(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "fs of $W: $(findmnt -no SOURCE,FSTYPE,OPTIONS -T "$W")"
  echo "stores (STORE_FS=$STORE_FS): $FSNOTE"
  echo "berth: $BERTH ($("$BERTH" --version)); this checkout: $(git rev-parse --short HEAD)$([[ -z $(git status --porcelain -- crates Cargo.toml Cargo.lock) ]] || echo ' + uncommitted changes')"
  echo "podman: $(podman --version)"; echo "skopeo: $(skopeo --version)"
  echo "hyperfine: $(hyperfine --version)"; echo "registry: $(docker-registry --version)"
  for ref in debian:minbase debian:layered shared:a shared:b shared:c; do
    skopeo inspect --raw --tls-verify=false "docker://$REG/bench/$ref" |
      jq -r --arg r "$ref" '"image \($r): \(.layers | length) layer(s), compressed \([.layers[].size] | add) bytes"'
  done
} >"$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

# --- 1. pull + unpack time --------------------------------------------------------------------
BROOT=$S/berth-root
OCI=$S/oci
"$BERTH" --root "$BROOT" pull -q "$REG/bench/debian:minbase" >/dev/null   # fail fast
PREP_BERTH="rm -rf $BROOT; $BERTH --root $BROOT images >/dev/null; sync"
PREP_PODMAN="podman rmi -a -f >/dev/null 2>&1; sync"
PREP_SKOPEO="rm -rf $OCI; sync"
{ echo "berth prepare: $PREP_BERTH"; echo "podman prepare: $PREP_PODMAN"
  echo "skopeo prepare: $PREP_SKOPEO"; } >>"$OUT/machine.txt"
for img in minbase layered; do
  ref=$REG/bench/debian:$img
  log "hyperfine: pull $ref (warmup $WARMUP, runs $RUNS, stores on $STORE_FS fs)"
  hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT/pull-$img.json" \
    --prepare "sh -c '$PREP_BERTH'" \
    -n berth "$BERTH --root $BROOT pull -q $ref" \
    --prepare "sh -c '$PREP_PODMAN'" \
    -n podman "podman pull -q --tls-verify=false $ref" \
    --prepare "sh -c '$PREP_SKOPEO'" \
    -n skopeo "skopeo copy -q --src-tls-verify=false docker://$ref oci:$OCI:$img" \
    | tee "$OUT/pull-$img.txt" >&2
done
podman rmi -a -f >/dev/null 2>&1 || true
rm -rf "$BROOT" "$OCI"

# --- 2. disk used by three images that share files, not layers ----------------------------------
DROOT=$S/berth-df
DGRAPH=$S/containers-df
sync
for tag in a b c; do
  s=$(date +%s%N)
  "$BERTH" --root "$DROOT" pull -q "$REG/bench/shared:$tag" >/dev/null
  m=$(date +%s%N)
  CONTAINERS_STORAGE_CONF=$DF_STORE podman pull -q --tls-verify=false "$REG/bench/shared:$tag" >/dev/null
  e=$(date +%s%N)
  echo "pull_ms_$tag berth=$(((m - s) / 1000000)) podman=$(((e - m) / 1000000))"
done >"$OUT/disk.txt"
sync
{
  echo "berth_store_bytes $(du -sx --bytes "$DROOT/store" | cut -f1)"
  echo "podman_graphroot_bytes $(du -sx --bytes "$DGRAPH" | cut -f1)"
  echo "berth_store_alloc_bytes $(du -sx -B1 "$DROOT/store" | cut -f1)"       # allocated blocks
  echo "podman_graphroot_alloc_bytes $(du -sx -B1 "$DGRAPH" | cut -f1)"
  echo "registry_compressed_bytes $(for t in a b c; do skopeo inspect --raw --tls-verify=false \
    "docker://$REG/bench/shared:$t" | jq '[.layers[].size] | add'; done | awk '{ s += $1 } END { print s }')"
} >>"$OUT/disk.txt"
"$BERTH" --root "$DROOT" system df -v >"$OUT/berth-system-df.txt"
"$BERTH" --root "$DROOT" images >"$OUT/berth-images.txt"
CONTAINERS_STORAGE_CONF=$DF_STORE podman images >"$OUT/podman-images.txt"
(cd "$DGRAPH" && du -sx --bytes -- * | sort -k2) >"$OUT/podman-graphroot-du.txt"
(cd "$DROOT/store" && du -sx --bytes -- * | sort -k2) >"$OUT/berth-store-du.txt"

# --- summary ---------------------------------------------------------------------------------------
echo; grep -h '^stores' "$OUT/machine.txt"
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
print()
print("| image | berth median s | podman median s | skopeo (no unpack) median s | berth / podman | berth / skopeo |")
print("|---|---:|---:|---:|---:|---:|")
for img in ("minbase", "layered"):
    m = {r["command"]: r for r in json.load(open(f"{out}/pull-{img}.json"))["results"]}
    b, p, s = (m[k]["median"] for k in ("berth", "podman", "skopeo"))
    print(f"| debian:{img} | {b:.2f} | {p:.2f} | {s:.2f} | {b / p:.2f} | {b / s:.2f} |")
print()
print("runs (s):")
for img in ("minbase", "layered"):
    for r in json.load(open(f"{out}/pull-{img}.json"))["results"]:
        print(f"  {img:8} {r['command']:7} " + " ".join(f"{t:.2f}" for t in r["times"]))
d = {}
for line in open(f"{out}/disk.txt"):
    k, *v = line.split()
    d[k] = v
b, p = int(d["berth_store_bytes"][0]), int(d["podman_graphroot_bytes"][0])
ba, pa = int(d["berth_store_alloc_bytes"][0]), int(d["podman_graphroot_alloc_bytes"][0])
reg = int(d["registry_compressed_bytes"][0])
print()
print("disk after pulling shared:a, shared:b, shared:c (du -sx: --bytes = apparent, -B1 = allocated):")
print("| | du --bytes | MB | du -B1 (allocated) | MB |")
print("|---|---:|---:|---:|---:|")
print(f"| berth ROOT/store | {b} | {b / 1e6:.1f} | {ba} | {ba / 1e6:.1f} |")
print(f"| podman graphroot | {p} | {p / 1e6:.1f} | {pa} | {pa / 1e6:.1f} |")
print(f"| berth / podman | {b / p:.2f} | | {ba / pa:.2f} | |")
print(f"(registry: the 3 gzip layers are {reg} bytes, {reg / 1e6:.1f} MB)")
print("pull times (ms): " + "; ".join(f"{k[8:]}: {' '.join(v)}" for k, v in d.items() if k.startswith("pull_ms_")))
print()
print(open(f"{out}/berth-system-df.txt").read().rstrip())
PY
log "results in $OUT"
