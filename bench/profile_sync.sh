#!/bin/bash
# Profile the pipeline's stages during a sync: runs `topolog bench sync --pods $PODS --json`
# and, once the processor has been busy for 3 s (the sync is on), records each of the
# processor, gateway and projector with py-spy for $DUR seconds (raw folded stacks).
#
#   PODS=100000 DUR=60 OUT=/tmp/prof [NATIVE=1] bench/profile_sync.sh
# (NATIVE=1: py-spy --native, which names the frames of compiled modules; it pauses
# the process for each sample, so the run is slower)
#
# Writes $OUT/sync.json (the bench's figures) and $OUT/{processor,gateway,projector}.raw
# (`py-spy record --format raw`: one "frame;frame;... count" line per stack).
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${PODS:-100000}; DUR=${DUR:-60}; OUT=${OUT:-/tmp/topolog-profile}
mkdir -p "$OUT"
.venv/bin/topolog bench sync --pods "$PODS" --json > "$OUT/sync.json" 2> "$OUT/sync.err" &
bench=$!
pid_of() { pgrep -f "topolog.* $1" | head -1 || true; }
for _ in $(seq 1 600); do
  P=$(pid_of "processor "); G=$(pid_of gateway); J=$(pid_of projector)
  [ -n "$P" ] && [ -n "$G" ] && [ -n "$J" ] && break
  sleep 0.5
done
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
prev=$(cpu "$P"); busy=0
while sleep 0.5; do
  now=$(cpu "$P"); d=$((now - prev)); prev=$now
  if [ "$d" -ge 35 ]; then busy=$((busy + 1)); else busy=0; fi
  [ "$busy" -ge 6 ] && break
done
mode=--nonblocking; [ -n "${NATIVE:-}" ] && mode=--native
echo "sync on at $(date +%T); recording ${DUR}s"
for x in "processor:$P" "gateway:$G" "projector:$J"; do
  .venv/bin/py-spy record $mode --rate 40 --format raw -d "$DUR" \
    -o "$OUT/${x%%:*}.raw" -p "${x##*:}" > /dev/null 2>&1 &
done
wait "$bench"
cat "$OUT/sync.json"
