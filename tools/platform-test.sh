#!/usr/bin/env bash
# CI's end-to-end test of the local platform, offline: `make run`'s script with the replay
# exchange, the sample workflow to `finished`, its documents in the store, then the stop, and no
# process of it left behind. Run by ctest (Platform.OfflineEndToEnd).
set -uo pipefail
cd "$(dirname "$0")/.."
RUN_DIR=$(mktemp -d /tmp/sf-platform-XXXXXX)
export RUN_DIR OFFLINE=1 EXIT_AFTER_SAMPLE=1
# A free port, from the kernel.
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export PORT
# Its own session, and each program it starts leads one (listed in sessions), so every process of
# the platform can be looked for afterwards.
setsid bash -c 'echo $$ > "$RUN_DIR/sid"; exec tools/run-local.sh' > "$RUN_DIR/out.txt" 2>&1
code=$?
cat "$RUN_DIR/out.txt"
fail() { echo "FAIL: $*"; exit 1; }
[ $code = 0 ] || fail "run-local.sh exited $code"
grep -q "finished records=2880" "$RUN_DIR/out.txt" || fail "the sample workflow did not finish with 2880 records"
grep -q "documents in ada_candles_1m_2021_11: 2880" "$RUN_DIR/out.txt" || fail "the store does not hold the 2880 candles"
sleep 0.5
[ "$(wc -l < "$RUN_DIR/sessions")" -ge 3 ] || fail "expected Kafka, the replay exchange and the manager in $RUN_DIR/sessions"
for sid in $(cat "$RUN_DIR/sid" "$RUN_DIR/sessions"); do
  left=$(pgrep -s "$sid" || true)
  [ -z "$left" ] || fail "processes left behind: $(ps -o pid,sid,comm -p "$(echo $left | tr ' ' ,)")"
done
echo "PASS: sample workflow finished, 2880 documents stored, nothing left running"
rm -rf "$RUN_DIR"
