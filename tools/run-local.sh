#!/usr/bin/env bash
# `make run`: the whole platform on this machine, in the foreground.
#
#   embedded Kafka (streamforge-kafka: librdkafka's mock cluster, in memory)
#   queue-manager on PORT (default 8000): API, /docs, /ws/topic, /metrics; SQLite store; local jobs
#   market data: the real Binance when it answers (a 3 s probe); unreachable, or OFFLINE=1: the
#   replay exchange (real captured data) and a sample workflow started by itself; OFFLINE=0 forces
#   the real exchange
#
# Ctrl-C stops everything it started (the manager ends its jobs first). With EXIT_AFTER_SAMPLE=1
# (tests) it stops by itself once the sample workflow has ended, with exit code 0 if it finished.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN="${SF_BIN_DIR:-$ROOT/build/bin}"
RUN="${RUN_DIR:-$ROOT/var/run}"
PORT="${PORT:-8000}"
UI_PORT="${VISUALIZER_PORT:-8001}"
OFFLINE="${OFFLINE:-${STREAMFORGE_OFFLINE:-}}"
if [ -z "$OFFLINE" ]; then
  if curl -fsS -m 3 "${BINANCE_API_URL:-https://api.binance.com}/api/v3/ping" > /dev/null 2>&1; then
    OFFLINE=0
  else
    echo "Binance does not answer from this machine: serving the replay exchange (real captured data) instead (OFFLINE=0 forces the real exchange)."
    OFFLINE=1
  fi
fi
mkdir -p "$RUN"
rm -f "$RUN"/kafka.txt "$RUN"/replay.txt "$RUN"/sessions
pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "stopping: queue-manager (it ends its jobs), then Kafka and the replay exchange"
  # The manager first, so its jobs end while Kafka is still there to take their last events.
  for p in "${pids[@]}"; do
    if [ "$(ps -o comm= -p "$p" 2>/dev/null)" = "queue-manager" ]; then kill -TERM "$p" 2>/dev/null || true; fi
  done
  for _ in $(seq 150); do
    alive=0
    for p in "${pids[@]}"; do
      if [ "$(ps -o comm= -p "$p" 2>/dev/null)" = "queue-manager" ]; then alive=1; fi
    done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "data: $RUN/streamforge.db (SQLite: one table per collection, queue_state for the queues)"
  echo "logs: $RUN/logs/<queue_id>/<job>.log, $RUN/queue-manager.log"
  echo "Kafka was in memory: its topics are gone."
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Each in a session of its own: a Ctrl-C on the terminal reaches this script only, which then stops
# them in order (the manager first, while Kafka still takes its jobs' last events).
setsid "$BIN/streamforge-kafka" --topic queue-control:1 --topic queue-events:1 \
  --bootstrap-file "$RUN/kafka.txt" > "$RUN/kafka.log" 2>&1 &
pids+=($!)
echo $! >> "$RUN/sessions"  # each leads a session (setsid): tests look for anything left in them
if [ "$OFFLINE" = 1 ]; then
  setsid "$BIN/binance-replay" --url-file "$RUN/replay.txt" > "$RUN/replay.log" 2>&1 &
  pids+=($!)
echo $! >> "$RUN/sessions"  # each leads a session (setsid): tests look for anything left in them
fi
for _ in $(seq 100); do
  [ -s "$RUN/kafka.txt" ] && { [ "$OFFLINE" != 1 ] || [ -s "$RUN/replay.txt" ]; } && break
  sleep 0.1
done
[ -s "$RUN/kafka.txt" ] || { echo "embedded Kafka did not start:"; cat "$RUN/kafka.log"; exit 1; }
BOOTSTRAP=$(cat "$RUN/kafka.txt")
if [ "$OFFLINE" = 1 ]; then
  [ -s "$RUN/replay.txt" ] || { echo "replay exchange did not start:"; cat "$RUN/replay.log"; exit 1; }
  # shellcheck disable=SC1090
  source <(sed 's/^/export /' "$RUN/replay.txt")
fi

env KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" PORT="$PORT" HOST=127.0.0.1 \
  STREAMFORGE_DB="$RUN/streamforge.db" LOG_DIR="$RUN/logs" LOG_FORMAT=text \
  TELEMETRY_INTERVAL="${TELEMETRY_INTERVAL:-2}" STOP_GRACE_SECONDS="${STOP_GRACE_SECONDS:-10}" \
  ${BINANCE_API_URL:+BINANCE_API_URL=$BINANCE_API_URL} ${BINANCE_WS_URL:+BINANCE_WS_URL=$BINANCE_WS_URL} \
  ${BINANCE_VISION_URL:+BINANCE_VISION_URL=$BINANCE_VISION_URL} \
  ${API_TOKEN:+API_TOKEN=$API_TOKEN} \
  setsid "$BIN/queue-manager" > "$RUN/queue-manager.log" 2>&1 &
pids+=($!)
echo $! >> "$RUN/sessions"  # each leads a session (setsid): tests look for anything left in them
MANAGER_PID=$!
URL="http://127.0.0.1:$PORT"
export STREAMFORGE_URL="$URL"
for _ in $(seq 150); do
  curl -fsS "$URL/health/ready" > /dev/null 2>&1 && break
  if ! kill -0 "$MANAGER_PID" 2>/dev/null; then
    echo "queue-manager did not start:"; tail -5 "$RUN/queue-manager.log"
    echo "(another program on port $PORT? set PORT=...)"; exit 1
  fi
  sleep 0.1
done

# The visualizer: the platform's dashboard, on UI_PORT (VISUALIZER_PORT, default 8001), once the
# manager is ready (it made the store).
env KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" PORT="$UI_PORT" HOST=127.0.0.1 \
  STREAMFORGE_DB="$RUN/streamforge.db" QUEUE_MANAGER_URL="$URL" LOG_FORMAT=text \
  ${API_TOKEN:+API_TOKEN=$API_TOKEN} \
  setsid "$BIN/visualizer" > "$RUN/visualizer.log" 2>&1 &
pids+=($!)
echo $! >> "$RUN/sessions"
UI="http://127.0.0.1:$UI_PORT"
for _ in $(seq 100); do
  curl -fsS "$UI/health" > /dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$UI/health" > /dev/null 2>&1 || { echo "visualizer did not start:"; tail -5 "$RUN/visualizer.log"; echo "(another program on port $UI_PORT? set VISUALIZER_PORT=...)"; exit 1; }

echo "UI: $UI/"
cat <<EOF

StreamForge is running.
  UI           $UI/   <- open this
  API          $URL/queues            (Swagger UI: $URL/docs, OpenAPI: $URL/openapi.json)
  WebSocket    ws://127.0.0.1:$PORT/ws/topic  (every state change)
  metrics      $URL/metrics
  Kafka        $BOOTSTRAP  (embedded: librdkafka's in-memory mock; read topics with kcat -b $BOOTSTRAP)
  market data  ${BINANCE_API_URL:-https://api.binance.com (real Binance)}${OFFLINE:+$( [ "$OFFLINE" = 1 ] && echo " (replay exchange, real captured data)")}
  store        $RUN/streamforge.db (SQLite)

Try:
  curl -XPOST $URL/queues/start -H 'Content-Type: application/json' -d '{"symbol":"BTCUSDT","type":"api_candles_1m","time_range":"2024-08-08:2024-08-09"}'
  $BIN/streamforge list          $BIN/streamforge watch
Ctrl-C stops everything.

EOF

if [ "$OFFLINE" = 1 ]; then
  # The seeds' historical workflow shape on the seed month (8,640 real 5m candles of June 2024;
  # the captures hold no June trades): loader -> Kafka -> connector -> SQLite -> graph-builder ->
  # gnn-trainer (when this build has libtorch), ending with a model card.
  TRAINER=""
  if [ -x "$BIN/gnn-trainer" ]; then
    TRAINER=',
    {"target":"gnn-trainer","type":"gnn_train","graph_collection":"btc_graph_2024_06","model_output":"gnn_model_btc_2024_06"}'
  fi
  echo "== sample workflow (real captured data): BTCUSDT 5m candles of June 2024 -> Kafka -> SQLite -> graph${TRAINER:+ -> GNN model}"
  SAMPLE='{"symbol":"BTCUSDT","time_range":"2024-06-01:2024-06-30","requests":[
    {"target":"loader-producer","type":"api_candles_5m","interval":"5m"},
    {"target":"arango-connector","type":"api_candles_5m"},
    {"target":"graph-builder","type":"gnn_graph","collection_inputs":["btc_candles_5m_2024_06"],"collection_output":"btc_graph_2024_06"}'"$TRAINER"']}'
  # The CLI reads API_TOKEN from its environment: never on a command line (ps shows those).
  if [ -n "${API_TOKEN:-}" ]; then export API_TOKEN; fi
  QID=$(echo "$SAMPLE" | "$BIN/streamforge" --json start --file - |
        sed -E 's/.*"queue_id":"([^"]*)".*/\1/')
  echo "queue $QID  (watch it: $UI/#/queues)"
  status=0
  "$BIN/streamforge" wait "$QID" --timeout 600 || status=$?
  "$BIN/streamforge" get "$QID"
  for c in btc_candles_5m_2024_06 btc_graph_2024_06 ${TRAINER:+gnn_model_btc_2024_06}; do
    echo "documents in $c: $("$BIN/streamforge-store" --db "$RUN/streamforge.db" count "$c")"
  done
  if [ -n "$TRAINER" ]; then
    echo "model card: $("$BIN/streamforge-store" --db "$RUN/streamforge.db" get gnn_model_btc_2024_06 model 2>/dev/null |
      sed -E 's/.*"summary":"([^"]*)".*/\1/')"
    echo "  see it: $UI/#/gnn?model=gnn_model_btc_2024_06    the graph: $UI/#/graph?collection=btc_graph_2024_06"
  fi
  if [ "${EXIT_AFTER_SAMPLE:-0}" = 1 ]; then exit $status; fi
fi
echo "(running; UI at $UI/ ; Ctrl-C to stop)"
last_summary=""
while kill -0 "$MANAGER_PID" 2>/dev/null; do
  # A short live summary: the newest queues and their status.
  summary=$("$BIN/streamforge" list 2>/dev/null | head -3 | tr '\n' ' ' || true)
  if [ -n "$summary" ] && [ "$summary" != "$last_summary" ]; then
    echo "[$(date +%H:%M:%S)] $summary  (UI $UI/)"
    last_summary=$summary
  fi
  sleep 5
done
echo "queue-manager exited:"; tail -5 "$RUN/queue-manager.log"
exit 1
