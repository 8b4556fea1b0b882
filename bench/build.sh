#!/usr/bin/env bash
# `berth build` times on a small Dockerfile (busybox base, one COPY, two RUNs):
#   cold    - --no-cache: every step runs (two RUN containers, one COPY layer)
#   cached  - nothing changed: every step is a cache hit
#   copy    - the COPY source changed: the COPY and the RUN after it run again
#
#   bash bench/build.sh                 # RUNS=20 by default
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
W=${W:-/var/tmp/berth-bench-build}
BERTH=${BERTH:-}
if [[ -z $BERTH ]]; then
  cargo build --release --quiet -p berth
  BERTH=${CARGO_TARGET_DIR:-$PWD/target}/release/berth
fi
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
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
B="$BERTH build -q --network none -t bench-build $W/ctx"
# One --prepare per command (a single one would apply to all three).
hyperfine -N --runs "$RUNS" --warmup 2 \
  --prepare true --command-name cold "$B --no-cache" \
  --prepare true --command-name cached "$B" \
  --prepare "sh -c 'date +%s%N > $W/ctx/app.txt'" --command-name copy-changed "$B" \
  --export-markdown "$W/results.md"
cat "$W/results.md"
"$BERTH" system reset -f >/dev/null   # the bench root leaves nothing behind
