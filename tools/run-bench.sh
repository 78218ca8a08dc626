#!/usr/bin/env bash
# Runs every benchmark and prints its table. Figures are for comparing runs on the same machine;
# read the ratio columns (measured against a baseline in the same run), not the absolute numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
build/bin/codec_bench "${CODEC_N:-200000}"
echo
build/bin/producer_bench "${PRODUCER_N:-300000}"
echo
build/bin/loader_bench "${LOADER_CANDLES:-525600}" "${LOADER_PARALLEL:-4}"
echo
build/bin/archive_bench "${ARCHIVE_TRADES:-1500000}"
echo
build/bin/live_bench "${LIVE_TRADES:-500000}"
echo
build/bin/live_latency_bench "${LATENCY_SECONDS:-10}"
echo
build/bin/connector_bench "${CONNECTOR_DOCS:-1000000}" "${CONNECTOR_ARANGO_DOCS:-200000}"
echo
build/bin/manager_bench "${MANAGER_QUEUES:-10000}" "${MANAGER_EVENTS:-200000}" "${MANAGER_SECONDS:-10}"
echo
build/bin/graph_bench "${GRAPH_TRADES:-1500000}"
[ -x build/bin/gnn_bench ] && { echo; build/bin/gnn_bench "${GNN_THREADS:-2}" "${GNN_BIG:-1}"; }
echo
build/bin/viz_bench "${VIZ_CLIENTS:-100}" "${VIZ_SECONDS:-10}"
