#!/bin/bash
# W1 A/B: C=2000 M=20 R=200, 60 s warm-up, 30 s measured, beside the Go reference; a fresh server
# per run on core 0, the generator on core 1, a private Redis on 6396, rounds interleaved.
# usage: fanout-bench/w1-ab.sh ROUNDS HEAD_CHECKOUT BASE_CHECKOUT GO_SEED_BINARY
#   (each checkout built with mvn -B -q package -DskipTests; the Go reference: its README)
# Results: one line per run in /tmp/w1/results.txt (round, server, load average, load's JSON).
ROUNDS=${1:-2}; RP=6396
HEAD=${2:?head checkout}; BASE=${3:?base checkout}; GO=${4:?go-seed binary}
mkdir -p /tmp/w1
redis-server --port $RP --save "" --appendonly no --daemonize yes --pidfile /tmp/w1/redis.pid >/dev/null
sleep 0.5
run() { # name url-port server-cmd... ; extra generator args in GEN
  local name=$1 port=$2; shift 2
  redis-cli -p $RP flushall >/dev/null
  taskset -c 0 "$@" > /tmp/w1/server-$name-$r.log 2>&1 &
  local sp=$!
  for i in $(seq 90); do
    if [ "$name" = go ]; then (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    else curl -sf http://127.0.0.1:$port/health/ready >/dev/null && break; fi; sleep 1; done
  taskset -c 1 java -jar $HEAD/fanout-bench/target/fanout-bench.jar load --url ws://127.0.0.1:$port/ws \
    --redis redis://127.0.0.1:$RP --namespace bench -c 2000 -m 20 -r 200 --warmup 60 --duration 30 \
    --workers 1 --server-pid $sp $GEN > /tmp/w1/load-$name-$r.log 2>&1
  local json=$(grep -E '^\{' /tmp/w1/load-$name-$r.log | tail -1)
  echo "$r $name load=$(cut -d' ' -f1 /proc/loadavg) $json" >> /tmp/w1/results.txt
  kill $sp; wait $sp 2>/dev/null
}
for r in $(seq $ROUNDS); do
  GEN="--plain --publish-channel payment:events" run go 18091 $GO -addr 127.0.0.1:18091 -redis 127.0.0.1:$RP -channel payment:events
  GEN="" run base-jetty 8186 java -jar $BASE/example-server/target/example-server.jar --host 127.0.0.1 --port 8186 --redis redis://127.0.0.1:$RP --namespace bench --generator off
  GEN="" run head-jetty 8186 java -jar $HEAD/example-server/target/example-server.jar --host 127.0.0.1 --port 8186 --redis redis://127.0.0.1:$RP --namespace bench --generator off
  GEN="" run base-netty 8186 java -jar $BASE/example-server/target/example-server.jar --host 127.0.0.1 --port 8186 --redis redis://127.0.0.1:$RP --namespace bench --generator off --transport netty
  GEN="" run head-netty 8186 java -jar $HEAD/example-server/target/example-server.jar --host 127.0.0.1 --port 8186 --redis redis://127.0.0.1:$RP --namespace bench --generator off --transport netty
done
redis-cli -p $RP shutdown nosave >/dev/null 2>&1
echo done >> /tmp/w1/results.txt
