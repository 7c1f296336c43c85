#!/bin/bash
# W1 over Server-Sent Events beside WebSocket (issue 30): C=2000 M=20 R=200, 60 s warm-up, 30 s
# measured; per round, interleaved: Netty WS, Netty SSE, Jetty WS, Jetty SSE. A fresh example
# server per run (Redis mode, its default warm-up before /health/ready) on core 0, the generator
# on core 1 (the clients in its own process: --workers 1), a private Redis on 6398, the server
# on 8188.
# usage: fanout-bench/sse-w1.sh ROUNDS CHECKOUT   (CHECKOUT built with mvn -B -q package -DskipTests)
#   smoke: WARMUP=5 DURATION=5 fanout-bench/sse-w1.sh 1 .   (also C, M, R, OUT, and RUNS:
#   which runs per round, by default "netty-ws netty-sse jetty-ws jetty-sse")
# Results: one line per run in $OUT/results.txt (round, run, load average, load's JSON), then a
# summary: server CPU per delivery (µs, total and system), lost, and SSE / WS per transport.
ROUNDS=${1:-3}; HEAD=$(cd "${2:?checkout}" && pwd); RP=6398; PORT=8188
WARMUP=${WARMUP:-60}; DURATION=${DURATION:-30}; C=${C:-2000}; M=${M:-20}; R=${R:-200}
OUT=${OUT:-/tmp/sse-w1}; mkdir -p "$OUT"; RESULTS=$OUT/results.txt; : > "$RESULTS"; : > "$OUT/results.jsonl"
redis-server --port $RP --save "" --appendonly no --daemonize yes --pidfile "$OUT/redis.pid" >/dev/null
sleep 0.5
run() { # name transport(jetty|netty) clients(websocket|sse)
  local name=$1 tr=$2 cl=$3
  redis-cli -p $RP flushall >/dev/null
  taskset -c 0 java -jar "$HEAD/example-server/target/example-server.jar" --host 127.0.0.1 \
    --port $PORT --redis redis://127.0.0.1:$RP --namespace bench --generator off --transport $tr \
    > "$OUT/server-$name-$r.log" 2>&1 &
  local sp=$!
  for i in $(seq 120); do curl -sf http://127.0.0.1:$PORT/health/ready >/dev/null && break; sleep 1; done
  taskset -c 1 java -jar "$HEAD/fanout-bench/target/fanout-bench.jar" load --transport $cl \
    --url ws://127.0.0.1:$PORT/ws --redis redis://127.0.0.1:$RP --namespace bench \
    -c $C -m $M -r $R --warmup $WARMUP --duration $DURATION --workers 1 --server-pid $sp \
    > "$OUT/load-$name-$r.log" 2>&1
  local json=$(grep -E '^\{' "$OUT/load-$name-$r.log" | tail -1) la=$(cut -d' ' -f1 /proc/loadavg)
  echo "$r $name load=$la $json" >> "$RESULTS"
  echo "${json:-{\}}" | jq -c --arg r "$r" --arg n "$name" --arg l "$la" \
    '{round: ($r | tonumber), run: $n, loadavg: $l} + .' >> "$OUT/results.jsonl"
  kill $sp; wait $sp 2>/dev/null
}
RUNS=${RUNS:-netty-ws netty-sse jetty-ws jetty-sse}
for r in $(seq $ROUNDS); do
  for name in $RUNS; do # <transport>-<clients>: netty-ws, netty-sse, jetty-ws, jetty-sse
    cl=${name#*-}; [ "$cl" = ws ] && cl=websocket
    run "$name" "${name%%-*}" "$cl"
  done
done
redis-cli -p $RP shutdown nosave >/dev/null 2>&1
"$HEAD/fanout-bench/sse-w1-summary.sh" "$OUT/results.jsonl" | tee "$OUT/summary.txt"
