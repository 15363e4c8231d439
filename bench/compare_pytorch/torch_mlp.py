#!/usr/bin/env python3
"""The herd reference job (examples/fashion_mnist.json) in PyTorch: one process, or DDP over gloo.

Same model (MLP 784-256-128-10, ReLU, He-normal weights, zero biases, as herd's mlp::init), same
data (Fashion-MNIST, pixels / 255, standardized with the training set's mean and population
stddev, as docs/data.md), batch 64 per process, Adam lr 1e-3 with herd's cosine schedule
(lr * (1 + cos(pi * t / T)) / 2 per optimizer step t, T = ceil(epochs * 60000 / (64 * procs))),
test accuracy every 500 optimizer steps and at the end.

The training clock stops while the test set is evaluated (herd: "evaluation": "deferred" keeps the
evaluation off its clock too). Prints one JSON line on stdout: samples, train_s, samples_per_s,
time_to_target_s (first evaluation at or above --target), final accuracy and every evaluation.

Thread counts must be fixed before torch is imported (OpenBLAS reads its variable at load time),
so the caller sets OMP_NUM_THREADS, MKL_NUM_THREADS and OPENBLAS_NUM_THREADS; --threads also
calls torch.set_num_threads.
"""
import argparse
import gzip
import json
import math
import os
import socket
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path, magic, dims):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    header = struct.unpack(">" + "I" * (1 + dims), raw[: 4 * (1 + dims)])
    if header[0] != magic:
        sys.exit(f"{path}: expected IDX magic {magic:#010x}, got {header[0]:#010x}")
    shape = header[1:]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 * (1 + dims))
    if data.size != int(np.prod(shape)):
        sys.exit(f"{path}: expected {int(np.prod(shape))} bytes of data, got {data.size}")
    return data.reshape(shape)


def load(data_dir):
    def images(name):
        x = read_idx(os.path.join(data_dir, name), 0x803, 3)
        return x.reshape(x.shape[0], -1).astype(np.float32) / 255.0

    def labels(name):
        return read_idx(os.path.join(data_dir, name), 0x801, 1).astype(np.int64)

    xtr, ytr = images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz")
    xte, yte = images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz")
    # One mean and population stddev over all training features, in double (docs/data.md).
    mean = float(xtr.mean(dtype=np.float64))
    std = float(xtr.std(dtype=np.float64)) or 1.0
    xtr = (xtr - np.float32(mean)) / np.float32(std)
    xte = (xte - np.float32(mean)) / np.float32(std)
    return (torch.from_numpy(xtr), torch.from_numpy(ytr), torch.from_numpy(xte),
            torch.from_numpy(yte))


def make_model(layers, seed):
    torch.manual_seed(seed)
    mods = []
    for i in range(len(layers) - 1):
        lin = nn.Linear(layers[i], layers[i + 1])
        nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")  # N(0, 2 / fan_in)
        nn.init.zeros_(lin.bias)
        mods.append(lin)
        if i + 2 < len(layers):
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def evaluate(model, x, y, dist=None):
    """Correct predictions and summed loss on this process's share of the test set."""
    model.eval()
    with torch.no_grad():
        out = model(x)
        stats = torch.tensor([float((out.argmax(1) == y).sum()),
                              float(F.cross_entropy(out, y, reduction="sum")), float(len(y))],
                             dtype=torch.float64)
    model.train()
    if dist is not None:
        dist.all_reduce(stats)
    return stats[0].item() / stats[2].item(), stats[1].item() / stats[2].item()


def train(args, rank=0, world=1, dist=None):
    torch.set_num_threads(args.threads)
    xtr, ytr, xte, yte = load(args.data)
    if args.train_limit:
        xtr, ytr = xtr[: args.train_limit], ytr[: args.train_limit]
    layers = [xtr.shape[1], 256, 128, 10]
    model = make_model(layers, args.init_seed)
    net = model
    if dist is not None:
        net = torch.nn.parallel.DistributedDataParallel(model)
        # Each process evaluates its half of the test set; the counts are summed.
        xte, yte = xte[rank::world], yte[rank::world]
    # foreach: one multi-tensor kernel per Adam operation instead of one per parameter tensor.
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, foreach=args.foreach)
    horizon = math.ceil(args.epochs * len(xtr) / (args.batch * world))
    if args.max_steps:
        horizon = args.max_steps
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: 0.5 * (1.0 + math.cos(math.pi * min(1.0, t / horizon))))

    if dist is not None:
        sampler = torch.utils.data.DistributedSampler(range(len(xtr)), num_replicas=world,
                                                      rank=rank, shuffle=True, seed=args.seed)
    evals, step, samples, train_s = [], 0, 0, 0.0
    target_s = None

    def eval_point():
        nonlocal target_s
        acc, loss = evaluate(net, xte, yte, dist)
        evals.append({"clock": step, "samples": samples, "train_s": train_s,
                      "test_accuracy": acc, "test_loss": loss})
        if target_s is None and args.target > 0 and acc >= args.target:
            target_s = train_s

    if dist is not None:
        dist.barrier()
    done = False
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        if dist is not None:
            sampler.set_epoch(epoch)
            order = torch.tensor(list(iter(sampler)), dtype=torch.int64)
        else:
            g = torch.Generator().manual_seed(args.seed * 1000003 + epoch)
            order = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(order), args.batch):
            idx = order[i: i + args.batch]
            xb, yb = xtr[idx], ytr[idx]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            samples += len(idx) * world  # DistributedSampler pads so every rank has equal batches
            if args.eval_every and step % args.eval_every == 0:
                train_s += time.perf_counter() - t0
                eval_point()
                if dist is not None:
                    dist.barrier()
                t0 = time.perf_counter()
            if args.max_steps and step >= args.max_steps:
                done = True
                break
        if done:
            break
    train_s += time.perf_counter() - t0
    if not evals or evals[-1]["clock"] != step:
        if not args.no_final_eval:
            eval_point()
    final = evals[-1] if evals else {"test_accuracy": None, "test_loss": None}
    return {"system": args.label, "procs": world, "threads": args.threads,
            "foreach": args.foreach,
            "env_threads": {k: os.environ.get(k) for k in
                            ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
            "torch": torch.__version__, "steps": step, "samples": samples,
            "train_s": train_s, "samples_per_s": samples / train_s if train_s > 0 else 0.0,
            "time_to_target_s": target_s, "final_accuracy": final["test_accuracy"],
            "final_loss": final["test_loss"], "evals": evals}


def ddp_main(rank, args, port):
    import torch.distributed as dist
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=args.procs)
    try:
        result = train(args, rank, args.procs, dist)
        if rank == 0:
            print(json.dumps(result), flush=True)
    finally:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--procs", type=int, default=1, help="1: one process; N > 1: DDP over gloo")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads per process")
    p.add_argument("--foreach", action="store_true", help="multi-tensor Adam (foreach=True)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--max-steps", type=int, default=0, help="stop after N optimizer steps")
    p.add_argument("--batch", type=int, default=64, help="per process")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--eval-every", type=int, default=500, help="optimizer steps; 0: at the end")
    p.add_argument("--no-final-eval", action="store_true")
    p.add_argument("--target", type=float, default=0.88)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--init-seed", type=int, default=1)
    p.add_argument("--train-limit", type=int, default=0)
    p.add_argument("--data", default=DATA)
    p.add_argument("--label", default="")
    args = p.parse_args()
    if not args.label:
        args.label = "pytorch" if args.procs == 1 else f"pytorch-ddp{args.procs}"
    if args.procs == 1:
        print(json.dumps(train(args)), flush=True)
    else:
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
        torch.multiprocessing.spawn(ddp_main, args=(args, free_port()), nprocs=args.procs)


if __name__ == "__main__":
    main()
