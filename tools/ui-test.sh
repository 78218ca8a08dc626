#!/usr/bin/env bash
# The UI in a real browser (ctest UI.Browser): the platform started as `make run OFFLINE=1` starts
# it, left running after its sample workflow, then tools/ui-test.mjs (playwright-core driving
# Debian's chromium); then the platform is stopped with Ctrl-C's signal and nothing may be left.
# Screenshots: build/ui-artifacts/ (UI_ARTIFACTS to change).
set -uo pipefail
cd "$(dirname "$0")/.."
RUN_DIR=$(mktemp -d /tmp/sf-ui-XXXXXX)
# Free ports, below the kernel's ephemeral range (tools/free-port.py says why).
read -r PORT VISUALIZER_PORT <<< "$(/usr/bin/python3 tools/free-port.py 2 | tr '\n' ' ')"
[ -n "${VISUALIZER_PORT:-}" ] || { echo "FAIL: no free ports for the platform"; exit 1; }
export RUN_DIR PORT VISUALIZER_PORT OFFLINE=1 TELEMETRY_INTERVAL=1
setsid bash -c 'echo $$ > "$RUN_DIR/sid"; exec tools/run-local.sh' > "$RUN_DIR/out.txt" 2>&1 &
fail() { echo "FAIL: $*"; tail -30 "$RUN_DIR/out.txt"; stop; exit 1; }
stop() {
  # TERM, not INT: a background job ignores SIGINT, and its shell cannot trap it.
  [ -s "$RUN_DIR/sid" ] && kill -TERM -- "-$(cat "$RUN_DIR/sid")" 2>/dev/null
  # run-local.sh stops the manager (which ends its jobs), then the rest: wait for every session.
  for _ in $(seq 300); do
    alive=0
    for sid in $(cat "$RUN_DIR/sid" "$RUN_DIR/sessions" 2>/dev/null); do
      pgrep -s "$sid" > /dev/null && alive=1
    done
    [ $alive = 0 ] && break
    sleep 0.2
  done
}
for _ in $(seq 600); do
  grep -q "documents in btc_graph_2024_06" "$RUN_DIR/out.txt" && break
  grep -q "did not start" "$RUN_DIR/out.txt" && fail "the platform did not start"
  sleep 0.5
done
grep -q "documents in btc_graph_2024_06: 8641" "$RUN_DIR/out.txt" || fail "the sample workflow did not build its graph"
sleep 1
UI_URL="http://127.0.0.1:$VISUALIZER_PORT" ARTIFACTS="${UI_ARTIFACTS:-build/ui-artifacts}" \
  node tools/ui-test.mjs
code=$?
stop
for sid in $(cat "$RUN_DIR/sid" "$RUN_DIR/sessions" 2>/dev/null); do
  left=$(pgrep -s "$sid" || true)
  [ -z "$left" ] || { echo "FAIL: processes left behind: $left"; code=1; }
done
[ $code = 0 ] && rm -rf "$RUN_DIR"
exit $code
