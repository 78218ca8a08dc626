#!/usr/bin/env bash
# Builds the records parser's libFuzzer target with clang (ASan + UBSan) and runs it for
# FUZZ_SECONDS (default 60) with the real captures as seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
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
"$out/ws_frame_fuzz" -max_total_time="${FUZZ_SECONDS:-60}" -max_len=4096 "$out/corpus"
