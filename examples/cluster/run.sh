#!/usr/bin/env bash
# A 3-node cluster on loopback: starts the daemons of cluster.json, runs the Fashion-MNIST job
# across them, and steers it with `herd ctl` while it trains: status, add-worker, remove-worker.
# Every address comes from cluster.json (ctl takes its first node). A daemon that exits or does
# not listen within 30 s, or a job that ends early, stops the script with its log's last line.
# Usage: examples/cluster/run.sh [HERD_BINARY]   (default: build/herd)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
herd=${1:-$here/../../build/herd}
topology=$here/cluster.json
logs=$(mktemp -d /tmp/herd-cluster.XXXXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; echo "logs in $logs"' EXIT

fail() { # WHAT LOG
  echo "run.sh: $1: $(tail -n 1 "$2" 2>/dev/null)" >&2
  exit 1
}

# Until LOG holds TEXT; fails when process PID (named WHAT) exits first or after LIMIT seconds.
wait_for() { # PID WHAT LOG TEXT LIMIT
  local deadline=$((SECONDS + $5))
  until grep -q "$4" "$3" 2>/dev/null; do
    if ! kill -0 "$1" 2>/dev/null; then
      grep -q "$4" "$3" 2>/dev/null && return
      fail "$2 exited" "$3"
    fi
    ((SECONDS < deadline)) || fail "$2 did not print '$4' within $5 s" "$3"
    sleep 0.2
  done
}

for n in a b c; do
  "$herd" node --topology "$topology" --name "$n" >"$logs/node-$n.log" 2>&1 &
  pids+=($!)
done
i=0
for n in a b c; do
  wait_for "${pids[i]}" "node $n" "$logs/node-$n.log" "listening on" 30
  tail -n 1 "$logs/node-$n.log"
  i=$((i + 1))
done

"$herd" run "$here/fashion_mnist.json" --cluster "$topology" --output "$logs/out" \
  > >(tee "$logs/run.log") 2>&1 &
run=$!
pids+=("$run")
wait_for "$run" "herd run" "$logs/run.log" "step 200 " 600
ctl() { echo "\$ herd ctl --topology $topology $*"; "$herd" ctl --topology "$topology" "$@"; }
ctl status
ctl add-worker --node a
sleep 3
ctl remove-worker 0
sleep 2
ctl status
wait "$run"
