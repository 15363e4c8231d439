#!/usr/bin/env python3
"""Writes the job files bench/gpu/run.sh runs, with the data paths of this machine.

  jobs.py DATA_DIR OUT_DIR
    fmnist_gpu.json     examples/fashion_mnist.json with its one worker on cuda:0
    fmnist_mixed.json   the same job with one worker on cuda:0 and one on the CPU
    wide_e2e.json       the wide MLP 784-4096-4096-4096-10, batch 256, host shards (half the
                        cores, 2 to 8), one cuda:0 worker, fp16 pulls and top-k (1%, error
                        feedback) pushes, 200 steps
"""
import json
import os
import sys


def base(data):
    return {
        "model": {"layers": [784, 256, 128, 10], "init_seed": 1},
        "data": {
            "train_images": os.path.join(data, "train-images-idx3-ubyte.gz"),
            "train_labels": os.path.join(data, "train-labels-idx1-ubyte.gz"),
            "test_images": os.path.join(data, "t10k-images-idx3-ubyte.gz"),
            "test_labels": os.path.join(data, "t10k-labels-idx1-ubyte.gz"),
            "normalize": "standardize",
        },
        "optimizer": {"type": "adam", "lr": 0.001, "schedule": "cosine"},
        "training": {"batch_size": 64, "epochs": 10, "chunk_batches": 8, "seed": 42,
                     "eval_every": 500, "log_every": 500, "target_accuracy": 0.88},
        "consistency": {"model": "bsp"},
        "shards": 2,
    }


def main():
    data, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    gpu = base(data)
    gpu["name"] = "fmnist_gpu"
    gpu["workers"] = [{"device": "cuda:0"}]
    mixed = base(data)
    mixed["name"] = "fmnist_mixed"
    mixed["workers"] = [{"device": "cuda:0"}, {"device": "cpu"}]
    wide = base(data)
    wide["name"] = "wide_e2e"
    wide["model"]["layers"] = [784, 4096, 4096, 4096, 10]
    wide["training"] = {"batch_size": 256, "max_steps": 200, "epochs": 0, "seed": 42,
                        "log_every": 50, "eval_every": 0}
    wide["data"]["test_limit"] = 1000
    wide["compression"] = {"codec": "topk", "density": 0.01, "error_feedback": True,
                           "pull": "fp16"}
    wide["workers"] = [{"device": "cuda:0"}]
    # Each shard runs Adam over its slice every step (about 1.2 ns and 28 bytes per parameter
    # on one core): 18.9M parameters on 2 shards are about 11 ms a step, so the shards spread
    # over the cores as a user would spread them (the GPU machine has 16).
    wide["shards"] = max(2, min(8, (os.cpu_count() or 4) // 2))
    for name, job in [("fmnist_gpu", gpu), ("fmnist_mixed", mixed), ("wide_e2e", wide)]:
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(job, f, indent=2)


if __name__ == "__main__":
    main()
