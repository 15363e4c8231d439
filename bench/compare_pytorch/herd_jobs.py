#!/usr/bin/env python3
"""Writes the herd job files and the loopback topology that bench/compare_pytorch/run.sh runs.

Every job is examples/fashion_mnist.json with the given epochs, evaluation "deferred" (snapshots
are kept and evaluated after training, so metrics.jsonl's train_s is the training clock alone)
and one of these placements:
  herd-1w1s.json       in-process, 1 worker + 1 shard
  herd-2w2s.json       in-process, 2 workers + 2 shards
  herd-2w2s-asp.json   the same under ASP
  herd-2nodes.json     2 node daemons: shard 0 and worker 0 on node a, shard 1 and worker 1 on b
  herd-2nodes-ssp2.json  the same under SSP with staleness 2
  herd-2nodes-asp.json   the same under ASP
  cluster.json         the topology for herd-2nodes.json: a and b on 127.0.0.1, free ports

Usage: herd_jobs.py EXAMPLE_JOB OUT_DIR EPOCHS
"""
import json
import os
import socket
import sys


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    example, out, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(example) as f:
        base = json.load(f)
    base["training"]["epochs"] = epochs
    base["training"]["evaluation"] = "deferred"
    os.makedirs(out, exist_ok=True)

    def write(name, job):
        with open(os.path.join(out, name), "w") as f:
            json.dump(job, f, indent=2)
            f.write("\n")

    local = [{"name": "local", "host": "127.0.0.1", "port": 0}]
    for workers, shards in ((1, 1), (2, 2)):
        job = json.loads(json.dumps(base))
        job["name"] = f"compare_{workers}w{shards}s"
        job["nodes"] = local
        job["shards"] = shards
        job["workers"] = [{"node": "local", "device": "cpu"} for _ in range(workers)]
        job["supervisor"] = {"node": "local", "restart": "on-failure", "max_restarts": 3}
        write(f"herd-{workers}w{shards}s.json", job)
        if workers == 2:
            job["name"] += "_asp"
            job["consistency"] = {"model": "asp"}
            write(f"herd-{workers}w{shards}s-asp.json", job)

    job = json.loads(json.dumps(base))
    job["name"] = "compare_2nodes"
    job["nodes"] = [{"name": "a"}, {"name": "b"}]
    job["shards"] = [{"node": "a"}, {"node": "b"}]
    job["workers"] = [{"node": "a", "device": "cpu"}, {"node": "b", "device": "cpu"}]
    job["supervisor"] = {"node": "a", "restart": "on-failure", "max_restarts": 3}
    write("herd-2nodes.json", job)
    job["name"] = "compare_2nodes_ssp2"
    job["consistency"] = {"model": "ssp", "staleness": 2}
    write("herd-2nodes-ssp2.json", job)
    job["name"] = "compare_2nodes_asp"
    job["consistency"] = {"model": "asp"}
    write("herd-2nodes-asp.json", job)
    pa, pb = free_ports(2)
    write("cluster.json", {"nodes": [{"name": "a", "host": "127.0.0.1", "port": pa},
                                     {"name": "b", "host": "127.0.0.1", "port": pb}],
                           "connect_timeout_s": 30})


if __name__ == "__main__":
    main()
