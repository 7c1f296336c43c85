#!/bin/bash
# Memory per idle connection, SSE beside WebSocket (issue 30: SSE on Netty <= 5 KiB of RSS per
# connection at 15,000), on Netty and on Jetty: N clients (client i on merchant mch_(i mod 1000)),
# subscribed, no event published (load -r 0), as "Netty with the default warm-up" in
# docs/benchmarks.md measured WebSocket. A fresh example server per run (Redis mode, its default
# warm-up before /health/ready) on core 0, the generator on core 1 (default: a worker process per
# 10,000 clients), a private Redis on 6399, the server on 8189.
# usage: fanout-bench/sse-idle.sh CHECKOUT [N]   (N: 15000 by default; CHECKOUT built)
#   also ROUNDS (1), WARMUP (20: seconds the clients stay connected), OUT (/tmp/sse-idle),
#   WORKERS (load's --workers: default one process per 10,000 clients, in load's own below)
#   RUNS (which runs per round: by default "netty-ws netty-sse jetty-ws jetty-sse")
# Per run, over N:
#   rss_kib   = (VmRSS with all connected - VmRSS before the first client) / N: load's own
#               server_rss_kib_per_connection, read right after the last client subscribed
#   live_b    = (live heap with all connected - live heap before) / N, the totals of
#               jmap -histo:live (which collects first), taken before load starts and once it
#               says "connected"
#   rss_gc_kib = (VmRSS after that collection - VmRSS before) / N
# Results: $OUT/results.txt (one line per run) and a table.
HEAD=$(cd "${1:?checkout}" && pwd); N=${2:-15000}; RP=6399; PORT=8189
ROUNDS=${ROUNDS:-1}; WARMUP=${WARMUP:-20}; OUT=${OUT:-/tmp/sse-idle}
mkdir -p "$OUT"; : > "$OUT/results.txt"; : > "$OUT/results.jsonl"
redis-server --port $RP --save "" --appendonly no --daemonize yes --pidfile "$OUT/redis.pid" >/dev/null
sleep 0.5
live() { jmap -histo:live "$1" | awk '/^Total/ {print $3}'; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
run() { # name transport(jetty|netty) clients(websocket|sse)
  local name=$1 tr=$2 cl=$3 log=$OUT/load-$1-$r.log
  redis-cli -p $RP flushall >/dev/null
  taskset -c 0 java -jar "$HEAD/example-server/target/example-server.jar" --host 127.0.0.1 \
    --port $PORT --redis redis://127.0.0.1:$RP --namespace idle --generator off --transport $tr \
    > "$OUT/server-$name-$r.log" 2>&1 &
  local sp=$!
  for i in $(seq 120); do curl -sf http://127.0.0.1:$PORT/health/ready >/dev/null && break; sleep 1; done
  local live0=$(live $sp)
  taskset -c 1 java -jar "$HEAD/fanout-bench/target/fanout-bench.jar" load --transport $cl \
    --url ws://127.0.0.1:$PORT/ws --redis redis://127.0.0.1:$RP --namespace idle \
    -c $N -m 1000 -r 0 --warmup $WARMUP --duration 5 ${WORKERS:+--workers $WORKERS} \
    --server-pid $sp > "$log" 2>&1 &
  local lp=$!
  while kill -0 $lp 2>/dev/null && ! grep -q '^connected:' "$log"; do sleep 0.5; done
  local live1=$(live $sp) rss1=$(rss $sp)
  wait $lp
  local json=$(grep -E '^\{' "$log" | tail -1)
  echo "${json:-{\}}" | jq -c --arg r "$r" --arg name "$name" --arg l0 "${live0:-0}" \
    --arg l1 "${live1:-0}" --arg g "${rss1:-0}" '{round: ($r | tonumber),
      run: $name, live_heap_before_b: ($l0 | tonumber), live_heap_connected_b: ($l1 | tonumber),
      server_rss_after_gc_kib: ($g | tonumber)} + .' >> "$OUT/results.jsonl"
  echo "$r $name live0=$live0 live1=$live1 rss_gc=$rss1 $json" >> "$OUT/results.txt"
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
jq -rs --argjson n $N '
  def r2: . * 100 | round / 100;
  "round run        connected_ms  rss_kib/conn  live_b/conn  rss_gc_kib/conn  lost  closes",
  (.[] | "\(.round)     \(.run + " " * (10 - (.run | length))) \(.connect_all_ms // "-")  "
    + "\(.server_rss_kib_per_connection // "-" | if type == "number" then r2 else . end)  "
    + "\(if .live_heap_connected_b > 0 and .live_heap_before_b > 0
         then (.live_heap_connected_b - .live_heap_before_b) / $n | round else "-" end)  "
    + "\(if .server_rss_after_gc_kib > 0 and .server_rss_before_kib != null
         then (.server_rss_after_gc_kib - .server_rss_before_kib) / $n | r2 else "-" end)  "
    + "\(.lost // "-")  \(.closes // "-")"),
  "(issue 30: SSE on Netty <= 5 KiB of RSS per idle connection at 15,000)"
' "$OUT/results.jsonl" | tee "$OUT/summary.txt"
