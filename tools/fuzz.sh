#!/usr/bin/env bash
# The libFuzzer targets, built with clang (ASan; the parser's also UBSan), each run for
# FUZZ_SECONDS (default 60):
#  - ws_frame_fuzz: the records parser, seeded with the real captures;
#  - ws_wire_fuzz: the WebSocket client's frame reader (WIRE_FUZZ_SECONDS, default 10);
#  - api_fuzz: raw request bytes through the queue-manager's HTTP server and routes (a real
#    manager with SQLite and the in-process Kafka mock), seeded with libs/manager/fuzz/corpus.
# A crash, a 500 or a JSON answer that is not the API's envelope stops it with the input saved.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
out=build/fuzz
mkdir -p "$out/corpus"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -DNDEBUG \
  -Ilibs/records/include -Ilibs/core/include \
  libs/records/fuzz/ws_frame_fuzz.cpp libs/records/src/{decimal,interval,time_range,parser,writer}.cpp \
  -lsimdjson -o "$out/ws_frame_fuzz"
data=../shared/data/binance
if [ -d "$data/ws" ] && [ -z "$(ls -A "$out/corpus")" ]; then
  i=0
  for f in "$data"/ws/*.jsonl; do head -n 20 "$f" | while IFS= read -r line; do
    printf '%s' "$line" > "$out/corpus/$(basename "$f")-$((i++))"; done; done
  cp "$data"/rest/*.json "$out/corpus/" 2>/dev/null || true
fi
"$out/ws_frame_fuzz" -max_total_time="$seconds" -max_len=4096 "$out/corpus"

# The WebSocket wire format as a client reads it (hostile servers), bytes in chunks.
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -DNDEBUG -Ilibs/net/include \
  libs/net/fuzz/ws_wire_fuzz.cpp libs/net/src/ws_wire.cpp -o "$out/ws_wire_fuzz"
mkdir -p "$out/wire-corpus"
"$out/ws_wire_fuzz" -max_total_time="${WIRE_FUZZ_SECONDS:-10}" -max_len=4096 "$out/wire-corpus"

cmake --preset fuzz >/dev/null
cmake --build build/fuzz-api --target api_fuzz -j "${JOBS:-2}"
mkdir -p build/fuzz-api/corpus build/fuzz-api/crashes
# New inputs go to the build's corpus (the first directory); the seeds stay as committed.
build/fuzz-api/bin/api_fuzz -max_total_time="$seconds" -max_len=8192 -timeout=20 \
  -rss_limit_mb=4096 -artifact_prefix=build/fuzz-api/crashes/ \
  build/fuzz-api/corpus libs/manager/fuzz/corpus
