#!/usr/bin/env bash
# `make run` until the queue-manager exists: the embedded Kafka and the replay exchange on loopback,
# then two historical loads of real sample data through loader-producer, then what arrived.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/bin
RUN=var/run
mkdir -p "$RUN"
rm -f "$RUN"/*.txt
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

QID="wf-bulk-load-$(date -u +%Y%m%d)-$(printf '%06x' $((RANDOM * RANDOM % 16777216)))"
CANDLES_TOPIC="$QID-api_candles_1m"
TRADES_TOPIC="$QID-api_trades"
LIVE_TOPIC="$QID-ws_trades"

"$BIN/streamforge-kafka" --topic queue-control:1 --topic queue-events:1 \
  --topic "$CANDLES_TOPIC:1" --topic "$TRADES_TOPIC:1" --topic "$LIVE_TOPIC:1" --bootstrap-file "$RUN/kafka.txt" \
  > "$RUN/kafka.log" 2>&1 &
pids+=($!)
"$BIN/binance-replay" --url-file "$RUN/replay.txt" > "$RUN/replay.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$RUN/kafka.txt" ] && [ -s "$RUN/replay.txt" ] && break; sleep 0.1; done
[ -s "$RUN/kafka.txt" ] || { echo "embedded Kafka did not start:"; cat "$RUN/kafka.log"; exit 1; }
[ -s "$RUN/replay.txt" ] || { echo "replay exchange did not start:"; cat "$RUN/replay.log"; exit 1; }
BOOTSTRAP=$(cat "$RUN/kafka.txt")
# shellcheck disable=SC1090
source <(sed 's/^/export /' "$RUN/replay.txt")

echo "embedded Kafka:   $BOOTSTRAP (librdkafka mock cluster, in memory)"
echo "replay exchange:  $BINANCE_API_URL  $BINANCE_WS_URL  ($(grep -o 'serving [^(]*' "$RUN/replay.log" | head -1))"
echo

load() {  # SYMBOL TYPE TIME_RANGE TOPIC
  echo "== loader-producer SYMBOL=$1 TYPE=$2 TIME_RANGE=$3 -> $4"
  env QUEUE_ID="$QID" SYMBOL="$1" TYPE="$2" TIME_RANGE="$3" KAFKA_TOPIC="$4" \
    TELEMETRY_PRODUCER_ID="loader-producer__${QID: -6}" KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" \
    TELEMETRY_INTERVAL=1 LOG_FORMAT=text "$BIN/loader-producer"
}
load ADABTC api_candles_1m 2021-11-27:2021-11-28 "$CANDLES_TOPIC"
load BTCUSDT api_trades 2024-08-09:2024-08-09 "$TRADES_TOPIC"
echo "== loader-ws-trades SYMBOL=ETHUSDT (live stream from the replay exchange, stopped with SIGTERM after 3 s)"
env QUEUE_ID="$QID" SYMBOL=ETHUSDT TYPE=ws_trades KAFKA_TOPIC="$LIVE_TOPIC" \
  TELEMETRY_PRODUCER_ID="loader-ws-trades__${QID: -6}" KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" \
  TELEMETRY_INTERVAL=1 LOG_FORMAT=text timeout -s TERM 3 "$BIN/loader-ws-trades" || true

echo
echo "== what arrived in Kafka"
"$BIN/streamforge-tail" --bootstrap "$BOOTSTRAP" --topic "$CANDLES_TOPIC" --idle-ms 1500
"$BIN/streamforge-tail" --bootstrap "$BOOTSTRAP" --topic "$TRADES_TOPIC" --idle-ms 1500
"$BIN/streamforge-tail" --bootstrap "$BOOTSTRAP" --topic "$LIVE_TOPIC" --idle-ms 1500
echo
echo "== telemetry on queue-events"
"$BIN/streamforge-tail" --bootstrap "$BOOTSTRAP" --topic queue-events --all --idle-ms 1500 |
  sed -E 's/.*"type":"([^"]*)","status":"([^"]*)","message":"([^"]*)".*/  \1 \2: \3/'
