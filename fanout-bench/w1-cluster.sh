#!/bin/bash
# W1 (C=2000 M=20 R=200, 60 s warm-up, 30 s measured) of one node build on one Redis and on a
# cluster of three primaries (16 partitions), Jetty and Netty, one run each, server on core 0 and
# generator on core 1. usage: fanout-bench/w1-cluster.sh CHECKOUT (built: mvn -B -q package
# -DskipTests). Results in /tmp/w1/cl-results.txt.
HEAD=${1:?checkout}; RP=6397; rm -rf /tmp/cl; mkdir -p /tmp/cl /tmp/w1
redis-server --port $RP --save "" --appendonly no --daemonize yes >/dev/null
for p in 7101 7102 7103; do mkdir -p /tmp/cl/$p; redis-server --port $p --cluster-enabled yes --cluster-config-file /tmp/cl/$p/nodes.conf --dir /tmp/cl/$p --save "" --appendonly no --daemonize yes >/dev/null; done
sleep 1
redis-cli --cluster create 127.0.0.1:7101 127.0.0.1:7102 127.0.0.1:7103 --cluster-replicas 0 --cluster-yes >/tmp/cl/create.log 2>&1
for i in $(seq 30); do redis-cli -p 7101 cluster info | grep -q cluster_state:ok && break; sleep 1; done
run() { # name redis-uri transport
  local name=$1 uri=$2 tr=$3
  taskset -c 0 java -jar $HEAD/example-server/target/example-server.jar --host 127.0.0.1 --port 8187 \
    --redis $uri --namespace w1c$RANDOM --generator off --transport $tr > /tmp/w1/cl-server-$name.log 2>&1 &
  local sp=$!
  for i in $(seq 90); do curl -sf http://127.0.0.1:8187/health/ready >/dev/null && break; sleep 1; done
  local nsname=$(tr '\0' ' ' < /proc/$sp/cmdline | grep -o "w1c[0-9]*")
  taskset -c 1 java -jar $HEAD/fanout-bench/target/fanout-bench.jar load --url ws://127.0.0.1:8187/ws \
    --redis $uri --namespace $nsname -c 2000 -m 20 -r 200 --warmup 60 --duration 30 \
    --workers 1 --server-pid $sp $EXTRA > /tmp/w1/cl-load-$name.log 2>&1
  echo "$name load=$(cut -d' ' -f1 /proc/loadavg) $(grep -E '^\{' /tmp/w1/cl-load-$name.log | tail -1)" >> /tmp/w1/cl-results.txt
  kill $sp; wait $sp 2>/dev/null
}
EXTRA="" run one-jetty redis://127.0.0.1:$RP jetty
EXTRA="--partitions 16" run cluster-jetty redis-cluster://127.0.0.1:7101 jetty
EXTRA="" run one-netty redis://127.0.0.1:$RP netty
EXTRA="--partitions 16" run cluster-netty redis-cluster://127.0.0.1:7101 netty
for p in $RP 7101 7102 7103; do redis-cli -p $p shutdown nosave >/dev/null 2>&1; done
echo done >> /tmp/w1/cl-results.txt
