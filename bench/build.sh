#!/usr/bin/env bash
# `berth build` against `buildah bud --layers` (Debian's buildah, runc) on a small
# Dockerfile (busybox base, one COPY, two RUNs), in one run:
#   cold    - --no-cache: every step runs (two RUN containers, one COPY layer)
#   cached  - nothing changed: every step is a cache hit
#   copy    - the COPY source changed: the COPY and the RUN after it run again
#   stages  - --no-cache of a three-stage Dockerfile whose two first stages are
#             independent (each RUN sleeps 0.3 s): berth builds them at the same time;
#             buildah with --jobs 2 (parallel stages) and with its default (one at a time)
#
#   bash bench/build.sh                 # RUNS=20 by default
# buildah's state stays under $W (CONTAINERS_* variables), nothing under /etc or /var/lib.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
W=${W:-/var/tmp/berth-bench-build}
BERTH=${BERTH:-}
if [[ -z $BERTH ]]; then
  cargo build --release --quiet -p berth
  BERTH=${CARGO_TARGET_DIR:-$PWD/target}/release/berth
fi
for t in hyperfine buildah podman; do
  command -v $t >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine buildah podman >/dev/null; break; }
done
grep -o " $W[^ ]*" /proc/mounts | sort -r | xargs -r umount 2>/dev/null || true
rm -rf "$W"; mkdir -p "$W/ctx"
ROOTFS=$W/rootfs
scripts/busybox-rootfs "$ROOTFS" >/dev/null
export BERTH_ROOT=$W/root
tar -C "$ROOTFS" -cf "$W/busybox.tar" .
"$BERTH" import "$W/busybox.tar" bench-busybox -c 'CMD ["sh"]' \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' >/dev/null
cat > "$W/ctx/Dockerfile" <<'DOCKERFILE'
FROM bench-busybox
RUN echo one > /one
COPY app.txt /app/
RUN cat /app/app.txt > /copy.txt
DOCKERFILE
echo v0 > "$W/ctx/app.txt"
cat > "$W/ctx/Dockerfile.stages" <<'DOCKERFILE'
FROM bench-busybox AS left
RUN sleep 0.3 && echo left > /left
FROM bench-busybox AS right
RUN sleep 0.3 && echo right > /right
FROM bench-busybox
COPY --from=left /left /
COPY --from=right /right /
DOCKERFILE
B="$BERTH build -q --network none -t bench-build $W/ctx"
BS="$BERTH build -q --no-cache --network none -f $W/ctx/Dockerfile.stages -t bench-stages $W/ctx"

. bench/podman-env.sh
podman_env "$W"
podman import -q -c 'CMD ["sh"]' \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  "$W/busybox.tar" localhost/bench-busybox:latest >/dev/null
sed 's|^FROM bench-busybox|FROM localhost/bench-busybox:latest|' "$W/ctx/Dockerfile" >"$W/ctx/Containerfile.buildah"
sed 's|^FROM bench-busybox|FROM localhost/bench-busybox:latest|' "$W/ctx/Dockerfile.stages" >"$W/ctx/Containerfile.stages"
# buildah takes no flags after the context.
BB="buildah bud -q --layers --network none -f $W/ctx/Containerfile.buildah -t bench-build"
BBS="buildah bud -q --layers --no-cache --network none -f $W/ctx/Containerfile.stages -t bench-stages"

# One --prepare per command (a single one would apply to all of them).
hyperfine -N --runs "$RUNS" --warmup 2 \
  --prepare true --command-name berth-cold "$B --no-cache" \
  --prepare true --command-name buildah-cold "$BB --no-cache $W/ctx" \
  --prepare true --command-name berth-cached "$B" \
  --prepare true --command-name buildah-cached "$BB $W/ctx" \
  --prepare "sh -c 'date +%s%N > $W/ctx/app.txt'" --command-name berth-copy-changed "$B" \
  --prepare "sh -c 'date +%s%N > $W/ctx/app.txt'" --command-name buildah-copy-changed "$BB $W/ctx" \
  --prepare true --command-name berth-stages "$BS" \
  --prepare true --command-name buildah-stages-jobs2 "$BBS --jobs 2 $W/ctx" \
  --prepare true --command-name buildah-stages-jobs1 "$BBS $W/ctx" \
  --export-markdown "$W/results.md"
cat "$W/results.md"
"$BERTH" system reset -f >/dev/null   # the bench root leaves nothing behind
# buildah's store under $W: its images and any mount it left (the next run deletes $W).
buildah rm --all >/dev/null 2>&1 || true
podman rmi -a -f >/dev/null 2>&1 || true
grep -o " $W[^ ]*" /proc/mounts | sort -r | xargs -r umount 2>/dev/null || true
