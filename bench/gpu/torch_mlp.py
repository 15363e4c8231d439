#!/usr/bin/env python3
"""PyTorch on the same card as bench/gpu/gpu_bench: the same MLP shapes, the same step.

Configurations (as gpu_bench): the Fashion-MNIST MLP 784-256-128-10 at batch 64 in fp32, and
the wide MLP 784-4096-4096-4096-10 at batch 256 in tf32 and bf16 (autocast, fp32 master
weights). Modes:
  eager  forward + cross-entropy + backward + Adam, op by op
  graph  the whole step (forward, backward, Adam with capturable=True) captured once with
         torch.cuda.graph and replayed
  host   a host shard in the loop: parameters copied up from pinned memory, the graphed
         forward/backward, gradients copied down to pinned memory, Adam on one CPU thread
         (gpu_bench's host mode runs Adam on one core too)
  host_mt  the same with Adam on all of PyTorch's CPU threads (the end-to-end baseline)
Prints one JSON line per configuration and mode (median / p10 / p90 ms per step over
repetitions), fields as gpu_bench's. Validates first: the loss of the fixed batch must fall.

  torch_mlp.py [--quick]
"""
import argparse
import json
import socket
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = [
    ("fmnist_mlp", [784, 256, 128, 10], 64, "fp32"),
    ("wide_mlp", [784, 4096, 4096, 4096, 10], 256, "tf32"),
    ("wide_mlp", [784, 4096, 4096, 4096, 10], 256, "bf16"),
]


def make_model(layers):
    torch.manual_seed(1)
    mods = []
    for i in range(len(layers) - 1):
        lin = nn.Linear(layers[i], layers[i + 1])
        nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        nn.init.zeros_(lin.bias)
        mods.append(lin)
        if i + 2 < len(layers):
            mods.append(nn.ReLU())
    return nn.Sequential(*mods).cuda()


def quantiles(t):
    t = sorted(t)
    at = lambda q: t[int(q * (len(t) - 1) + 0.5)]
    return at(0.5), at(0.1), at(0.9)


def time_gpu(fn, iters, reps):
    out = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(iters):
            fn()
        b.record()
        b.synchronize()
        out.append(a.elapsed_time(b) / iters)
    return quantiles(out)


def time_wall(fn, iters, reps):
    out = []
    for _ in range(reps):
        torch.cuda.synchronize()
        a = time.perf_counter()
        for _ in range(iters):
            fn()
        torch.cuda.synchronize()
        out.append((time.perf_counter() - a) * 1e3 / iters)
    return quantiles(out)


def emit(name, mode, batch, prec, q, reps):
    print(json.dumps({"impl": "torch", "config": name, "mode": mode, "batch": batch,
                      "precision": prec, "median_ms": round(q[0], 4), "p10_ms": round(q[1], 4),
                      "p90_ms": round(q[2], 4), "reps": reps,
                      "gpu": torch.cuda.get_device_name(0), "host": socket.gethostname(),
                      "torch": torch.__version__}), flush=True)


def set_tf32(on):
    """TF32 matmuls on or off: the fp32_precision setting where this PyTorch has it (2.9 on;
    the allow_tf32 flags warn there and are to go), else the flags; never both (PyTorch can
    raise on a mix of the two)."""
    matmul = torch.backends.cuda.matmul
    try:
        matmul.fp32_precision  # older PyTorch: AttributeError or AssertionError
        new_api = True
    except (AttributeError, AssertionError):
        new_api = False
    if new_api:
        matmul.fp32_precision = "tf32" if on else "ieee"
    else:
        matmul.allow_tf32 = on


def run(name, layers, batch, prec, iters, reps):
    set_tf32(prec == "tf32")  # herd: fp32 GEMMs in fp32, tf32 with FAST_TF32 compute
    model = make_model(layers)
    x = torch.randn(batch, layers[0], device="cuda")
    y = torch.randint(0, layers[-1], (batch,), device="cuda")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=True)
    dtype = torch.bfloat16 if prec == "bf16" else None

    def loss_fn():
        if dtype is not None:
            with torch.autocast("cuda", dtype=dtype, cache_enabled=False):  # graph-safe
                return F.cross_entropy(model(x).float(), y)
        return F.cross_entropy(model(x), y)

    def step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss

    first = step().item()
    for _ in range(28):
        step()
    last = step().item()
    if not (last < first):
        sys.exit(f"torch_mlp: {name}: loss did not fall ({first} -> {last})")
    emit(name, "eager", batch, prec, time_gpu(step, iters, reps), reps)

    # Whole-step capture (warm-up on a side stream first, as the PyTorch docs prescribe).
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        step()
    for _ in range(10):
        g.replay()
    emit(name, "graph", batch, prec, time_gpu(g.replay, iters, reps), reps)

    # Host shard: master weights and Adam on the CPU, forward/backward graphed on the GPU.
    params = list(model.parameters())
    master = [p.detach().cpu().pin_memory().requires_grad_() for p in params]
    grads_h = [torch.empty_like(m).pin_memory() for m in master]
    cpu_opt = torch.optim.Adam(master, lr=1e-3, foreach=True)
    for m, gh in zip(master, grads_h):
        m.grad = gh

    def fwd_bwd():
        for p in params:
            p.grad = None if p.grad is None else p.grad.zero_()
        loss_fn().backward()

    s2 = torch.cuda.Stream()
    s2.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s2):
        for _ in range(3):
            fwd_bwd()
    torch.cuda.current_stream().wait_stream(s2)
    g2 = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g2):
        fwd_bwd()

    def host_step():
        with torch.no_grad():
            for p, m in zip(params, master):
                p.copy_(m, non_blocking=True)
        g2.replay()
        for p, gh in zip(params, grads_h):
            gh.copy_(p.grad, non_blocking=True)
        torch.cuda.current_stream().synchronize()
        cpu_opt.step()

    # "host": Adam on one CPU thread, as gpu_bench's host mode (one host shard, one core);
    # "host_mt": on every intra-op thread, the baseline for herd's multi-shard end-to-end job.
    host_iters = max(10, iters // 3)
    threads = torch.get_num_threads()
    for mode, n in (("host", 1), ("host_mt", threads)):
        torch.set_num_threads(n)
        for _ in range(5):
            host_step()
        emit(name, mode, batch, prec, time_wall(host_step, host_iters, reps), reps)
    torch.set_num_threads(threads)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("torch_mlp: no CUDA device")
    for name, layers, batch, prec in CONFIGS:
        small = layers[1] == 256
        iters = 20 if a.quick else (500 if small else 100)
        reps = 3 if a.quick else 7
        run(name, layers, batch, prec, iters, reps)


if __name__ == "__main__":
    main()
