#!/bin/bash
# The summary of sse-w1.sh's runs (its results.jsonl): per run, server CPU per delivery, lost,
# duplicates / order violations and p99; then SSE / WS per transport, per round and of the
# medians (the lower middle one for an even count). usage: sse-w1-summary.sh RESULTS.jsonl
jq -rs '
  def r3: . * 1000 | round / 1000;
  def median: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
  def ratio($sse; $ws): if ($ws | type) == "number" and ($sse | type) == "number" and $ws > 0
    then "\($sse | r3) / \($ws | r3) µs = \($sse / $ws | r3)x" else "n/a" end;
  . as $all
  | "round run        cpu µs/delivery (system)  lost  dup/order  p99 ms",
    ($all[] | "\(.round)     \(.run + " " * (10 - (.run | length))) "
      + "\(.server_cpu_us_per_delivery // "-" | if type == "number" then r3 else . end) "
      + "(\(.server_sys_us_per_delivery // "-" | if type == "number" then r3 else . end))  "
      + "\(.lost // "-")  \(.duplicates // "-")/\(.order_violations // "-")  \(.p99_ms // "-")"),
    "",
    "SSE / WS, server CPU per delivery:",
    ($all | group_by(.round)[] as $g | ("netty", "jetty") as $t
     | "  round \($g[0].round) \($t): " + ratio(
         ($g | map(select(.run == $t + "-sse"))[0].server_cpu_us_per_delivery);
         ($g | map(select(.run == $t + "-ws"))[0].server_cpu_us_per_delivery))),
    (("netty", "jetty") as $t
     | "  median \($t): " + ratio(
         ($all | map(select(.run == $t + "-sse") | .server_cpu_us_per_delivery | numbers)
           | median);
         ($all | map(select(.run == $t + "-ws") | .server_cpu_us_per_delivery | numbers)
           | median))
       + (if $t == "netty" then "  (issue 30: within 10 %)" else "" end)),
    "lost, all runs: \($all | map(.lost // 0) | add)   runs without a result: \($all | map(select(.lost == null)) | length)"
' "${1:?results.jsonl}"
