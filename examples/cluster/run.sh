#!/usr/bin/env bash
# A 3-node cluster on loopback: starts the daemons of cluster.json, runs the Fashion-MNIST job
# across them, and steers it with `herd ctl` while it trains: status, add-worker, remove-worker.
# Usage: examples/cluster/run.sh [HERD_BINARY]   (default: build/herd)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
herd=${1:-$here/../../build/herd}
logs=$(mktemp -d /tmp/herd-cluster.XXXXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; echo "logs in $logs"' EXIT

for n in a b c; do
  "$herd" node --topology "$here/cluster.json" --name "$n" >"$logs/node-$n.log" 2>&1 &
  pids+=($!)
done
for n in a b c; do
  until grep -q "listening on" "$logs/node-$n.log"; do sleep 0.2; done
  tail -1 "$logs/node-$n.log"
done

"$herd" run "$here/fashion_mnist.json" --cluster "$here/cluster.json" --output "$logs/out" \
  | tee "$logs/run.log" &
run=$!
until grep -q "step 200 " "$logs/run.log" 2>/dev/null; do sleep 0.5; done
ctl() { echo "\$ herd ctl --connect 127.0.0.1:7302 $*"; "$herd" ctl --connect 127.0.0.1:7302 "$@"; }
ctl status
ctl add-worker --node a
sleep 3
ctl remove-worker 0
sleep 2
ctl status
wait "$run"
