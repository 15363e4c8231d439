#!/usr/bin/env bash
# Three node daemons, each in its own network namespace with its own address, TLS on, and the
# job and `herd ctl` run from a fourth namespace holding the bridge between them. Checks: the
# job trains across them, ctl status works over TLS, a certificate of another CA and a plain
# client are refused. Exits 77 (reported as skipped by ctest) where namespaces cannot be made.
# Usage: netns_test.sh HERD_BINARY EXAMPLES_DIR CERTS_SCRIPT
set -u
herd=$1 examples=$2 certs_script=$3
tag="h$$"
net=10.213.77
work=$(mktemp -d)
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  for n in a b c hub; do ip netns del "$tag-$n" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do echo "== $f"; tail -20 "$f"; done; exit 1; }

if ! ip netns add "$tag-hub" 2>/dev/null; then
  echo "SKIP: cannot make network namespaces here (needs root and ip netns)"
  exit 77
fi
ip netns exec "$tag-hub" ip link set lo up
ip netns exec "$tag-hub" ip link add br0 type bridge || { echo "SKIP: no bridge"; exit 77; }
ip netns exec "$tag-hub" ip addr add "$net.254/24" dev br0
ip netns exec "$tag-hub" ip link set br0 up
i=1
for n in a b c; do
  ip netns add "$tag-$n"
  ip netns exec "$tag-$n" ip link set lo up
  ip link add "$tag-$n-0" type veth peer name "$tag-$n-1" || { echo "SKIP: no veth"; exit 77; }
  ip link set "$tag-$n-0" netns "$tag-hub"
  ip link set "$tag-$n-1" netns "$tag-$n"
  ip netns exec "$tag-hub" ip link set "$tag-$n-0" master br0 up
  ip netns exec "$tag-$n" ip addr add "$net.$i/24" dev "$tag-$n-1"
  ip netns exec "$tag-$n" ip link set "$tag-$n-1" up
  i=$((i + 1))
done

bash "$certs_script" --ip "$net.1" --ip "$net.2" --ip "$net.3" "$work/certs" a b c client \
  >/dev/null || fail "herd-certs.sh"
bash "$certs_script" "$work/other" client >/dev/null || fail "herd-certs.sh (other CA)"
cat >"$work/cluster.json" <<JSON
{"nodes": [{"name": "a", "host": "$net.1", "port": 7301},
           {"name": "b", "host": "$net.2", "port": 7301},
           {"name": "c", "host": "$net.3", "port": 7301}],
 "tls": {"ca": "certs/ca.pem", "certificate": "certs/{name}.pem", "key": "certs/{name}.key"},
 "connect_timeout_s": 30}
JSON
sed 's|"certs/|"other/|g' "$work/cluster.json" >"$work/other.json"
# The job: the cluster example for 1 epoch.
sed 's/"epochs": 6/"epochs": 1/' "$examples/cluster/fashion_mnist.json" >"$work/job.json"

for n in a b c; do
  ip netns exec "$tag-$n" "$herd" node --topology "$work/cluster.json" --name "$n" \
    >"$work/node-$n.log" 2>&1 &
  pids+=($!)
  disown
done
for n in a b c; do
  for _ in $(seq 100); do grep -q "listening on" "$work/node-$n.log" && break; sleep 0.2; done
  grep -q "listening on $net.* (TLS)" "$work/node-$n.log" || fail "node $n did not listen with TLS"
done

hub() { ip netns exec "$tag-hub" "$@"; }
hub timeout 300 "$herd" run "$work/job.json" --cluster "$work/cluster.json" --output "$work/out" \
  >"$work/run.log" 2>&1 || fail "the job failed"
grep -q "final test accuracy" "$work/run.log" || fail "no final accuracy"
acc=$(sed -n 's/^final test accuracy \([0-9.]*\)%.*/\1/p' "$work/run.log")
awk -v a="$acc" 'BEGIN { exit !(a >= 80.0) }' || fail "accuracy $acc% after 1 epoch (expected >= 80%)"
grep -q "connected to node a at $net.1:7301" "$work/node-b.log" || fail "b did not reach a directly"

hub timeout 60 "$herd" ctl --topology "$work/cluster.json" --connect "$net.2:7301" status \
  >"$work/ctl.log" 2>&1 || fail "ctl status over TLS"
grep -q "node b: no job running, 0 shard(s), 0 worker(s)" "$work/ctl.log" || fail "ctl status answer"

# A client with a certificate of another CA, and a plain client, are refused.
if hub timeout 60 "$herd" ctl --topology "$work/other.json" --connect "$net.2:7301" status \
  >"$work/ctl-other.log" 2>&1; then
  fail "a certificate of another CA was accepted"
fi
grep -q "cannot reach $net.2:7301" "$work/ctl-other.log" || fail "other CA: no clear error"
if hub timeout 60 "$herd" ctl --connect "$net.2:7301" status >"$work/ctl-plain.log" 2>&1; then
  fail "a plain client was accepted"
fi
# The daemons still serve good clients afterwards.
hub timeout 60 "$herd" ctl --topology "$work/cluster.json" --connect "$net.1:7301" status \
  >"$work/ctl2.log" 2>&1 || fail "ctl status after refusals"
echo "ok: job across 3 namespaces with TLS: $acc%; foreign CA and plain clients refused"
