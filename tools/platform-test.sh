#!/usr/bin/env bash
# CI's end-to-end test of the local platform, offline: `make run`'s script with the replay
# exchange, the sample workflow to `finished`, its documents in the store, then the stop, and no
# process of it left behind. Run by ctest (Platform.OfflineEndToEnd).
set -uo pipefail
cd "$(dirname "$0")/.."
RUN_DIR=$(mktemp -d /tmp/sf-platform-XXXXXX)
export RUN_DIR OFFLINE=1 EXIT_AFTER_SAMPLE=1
# Free ports, below the kernel's ephemeral range (tools/free-port.py says why).
read -r PORT VISUALIZER_PORT <<< "$(/usr/bin/python3 tools/free-port.py 2 | tr '\n' ' ')"
[ -n "${VISUALIZER_PORT:-}" ] || { echo "FAIL: no free ports for the platform"; exit 1; }
export PORT VISUALIZER_PORT
# Its own session, and each program it starts leads one (listed in sessions), so every process of
# the platform can be looked for afterwards.
setsid bash -c 'echo $$ > "$RUN_DIR/sid"; exec tools/run-local.sh' > "$RUN_DIR/out.txt" 2>&1
code=$?
cat "$RUN_DIR/out.txt"
fail() { echo "FAIL: $*"; exit 1; }
[ $code = 0 ] || fail "run-local.sh exited $code"
grep -q "finished records=8640" "$RUN_DIR/out.txt" || fail "the sample workflow did not finish with the seed month's 8640 candles"
grep -q "documents in btc_candles_5m_2024_06: 8640" "$RUN_DIR/out.txt" || fail "the store does not hold the 8640 candles"
grep -q "documents in btc_graph_2024_06: 8641" "$RUN_DIR/out.txt" || fail "the graph does not hold 8640 nodes and its meta"
if [ -x "${SF_BIN_DIR:-build/bin}/gnn-trainer" ]; then
  grep -q "model card: On [0-9]* test bars" "$RUN_DIR/out.txt" || fail "no model card"
fi
sleep 0.5
[ "$(wc -l < "$RUN_DIR/sessions")" -ge 4 ] || fail "expected Kafka, the replay exchange, the manager and the visualizer in $RUN_DIR/sessions"
head -3 "$RUN_DIR/out.txt" | grep -q "^UI: http://127.0.0.1:$VISUALIZER_PORT/" || fail "the UI's URL is not printed first"
for sid in $(cat "$RUN_DIR/sid" "$RUN_DIR/sessions"); do
  left=$(pgrep -s "$sid" || true)
  [ -z "$left" ] || fail "processes left behind: $(ps -o pid,sid,comm -p "$(echo $left | tr ' ' ,)")"
done
echo "PASS: sample workflow finished (candles, graph, model), nothing left running"
rm -rf "$RUN_DIR"
