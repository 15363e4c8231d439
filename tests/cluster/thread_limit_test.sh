#!/usr/bin/env bash
# Jobs that need more threads than the system allows (each worker is a detached actor with its
# own thread). Run as user nobody under `ulimit -u`, which binds only for non-root users:
# 1. `herd run` refuses, before any data is read, a local job whose workers do not fit: one
#    line naming the limit, exit 2;
# 2. a node daemon given more workers than it can start refuses that job with one line (exit 1)
#    and stays up: the next job on it trains; `herd ctl add-worker` beyond the limit is refused
#    (the worker's spawn fails: the node says so instead of dying) and the job still ends; the
#    daemon ends at once on SIGTERM. A daemon that cannot even start CAF's threads says so in one
#    line (the terminate handler, apps/fatal.hpp).
# CAF 0.17 would otherwise wait for ever for the thread that did not start
# (actors/thread_limits.hpp). Exits 77 (skipped) where it cannot switch to user nobody.
# Usage: thread_limit_test.sh HERD_BINARY
set -u
herd=$1
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do echo "== $f"; tail -20 "$f"; done; exit 1; }
# ulimit -u counts every task of the user: NPROC more than nobody runs already. Call it in a
# subshell: it execs (run in the background, $! is then herd's own pid).
as_nobody() { # NPROC COMMAND...
  local n=$(($1 + $(ps -u 65534 -L --no-headers | wc -l))); shift
  exec setpriv --reuid=65534 --regid=65534 --clear-groups bash -c "ulimit -u $n && exec \"\$@\"" - "$@"
}
if [ "$(id -u)" != 0 ] || ! (as_nobody 64 true) 2>/dev/null; then
  echo "SKIP: needs root and setpriv to run herd as user nobody"
  exit 77
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/topology.json" <<EOF
{"nodes": [{"name": "a", "host": "127.0.0.1", "port": $port}], "connect_timeout_s": 10}
EOF
job() { # NAME WORKERS EPOCHS
  local list
  list=$(printf '{"node": "a"},%.0s' $(seq "$2"))
  cat > "$work/$1.json" <<EOF
{"name": "$1", "model": {"layers": [784, 10]}, "data": {"train_limit": 2000, "test_limit": 500},
 "training": {"batch_size": 16, "epochs": $3, "eval_every": 0, "chunk_batches": 1},
 "nodes": [{"name": "a"}], "shards": [{"node": "a"}], "workers": [${list%,}]}
EOF
}
cat > "$work/local.json" <<EOF
{"name": "local", "model": {"layers": [784, 10]}, "data": {"train_limit": 2000},
 "training": {"batch_size": 16, "epochs": 1}, "workers": 100}
EOF
job many 60 1
job few 2 1
job long 2 5000
chmod 644 "$work"/*.json

# 1. The local job is refused up front.
(as_nobody 60 "$herd" run "$work/local.json" --output "$work/out-local") > "$work/local.log" 2>&1
rc=$?
[ $rc = 2 ] || fail "local: exit $rc, expected 2"
[ "$(wc -l < "$work/local.log")" = 1 ] || fail "local: expected one line"
grep -q '/workers: 100 workers need 101 threads.*(ulimit -u [0-9]*)' "$work/local.log" \
  || fail "local: the line does not name the workers and the limit"
[ ! -e "$work/out-local" ] || fail "local: the output directory was made"

# A daemon that cannot start CAF's own threads says so in one line (no std::terminate text).
(as_nobody 4 "$herd" node --topology "$work/topology.json" --name a) > "$work/tiny.log" 2>&1
rc=$?
[ $rc = 1 ] || fail "daemon without threads: exit $rc, expected 1"
[ "$(wc -l < "$work/tiny.log")" = 1 ] && grep -q '^herd: no new thread could be started' \
  "$work/tiny.log" || fail "daemon without threads: expected one herd: line"

# 2. A daemon with room for about 40 threads.
as_nobody 50 "$herd" node --topology "$work/topology.json" --name a > "$work/node.log" 2>&1 &
pids+=($!)
node=$!
for _ in $(seq 100); do grep -q listening "$work/node.log" && break; sleep 0.1; done
timeout 120 "$herd" run "$work/many.json" --cluster "$work/topology.json" --output "$work/o1" \
  > "$work/many.log" 2>&1
rc=$?
[ $rc = 1 ] || fail "many: exit $rc, expected 1 (124: it hung)"
grep -q 'job failed: node a cannot run 60 workers: they need 60 threads.*(ulimit -u [0-9]*)' \
  "$work/many.log" || fail "many: no line naming the thread limit"
timeout 120 "$herd" run "$work/few.json" --cluster "$work/topology.json" --output "$work/o2" \
  > "$work/few.log" 2>&1 || fail "few: exit $?, expected 0 on the same daemon"
grep -q 'final test accuracy' "$work/few.log" || fail "few: no summary"

# add-worker beyond the limit: refused, and the job ends when told to stop.
timeout 300 "$herd" run "$work/long.json" --cluster "$work/topology.json" --output "$work/o3" \
  > "$work/long.log" 2>&1 &
run=$!
pids+=($run)
for _ in $(seq 100); do grep -q 'job started' "$work/long.log" && break; sleep 0.1; done
refused=0
for _ in $(seq 60); do
  timeout 30 "$herd" ctl --connect "127.0.0.1:$port" add-worker --node a > "$work/add.log" 2>&1 \
    && continue
  grep -q 'no new thread could be started' "$work/add.log" && refused=1
  break
done
[ $refused = 1 ] || fail "add-worker was never refused for want of threads"
timeout 30 "$herd" ctl --connect "127.0.0.1:$port" stop > "$work/stop.log" 2>&1 \
  || fail "ctl stop: exit $?"
wait $run
rc=$?
[ $rc = 0 ] || fail "long: exit $rc after stop, expected 0"
grep -q 'final test accuracy' "$work/long.log" || fail "long: no summary"

kill -TERM $node
for _ in $(seq 50); do kill -0 $node 2>/dev/null || break; sleep 0.1; done
kill -0 $node 2>/dev/null && fail "the daemon did not end on SIGTERM"
echo "ok"
