#!/usr/bin/env python3
"""Prints bench/gpu/run.sh's one table from its JSON lines (gpu_bench, torch_mlp.py, jobs).

  report.py RESULTS.jsonl
Rows: the [cuda] tests; Fashion-MNIST accuracy of the GPU and mixed jobs; per configuration and
mode, herd vs PyTorch ms/step and the ratio herd/PyTorch (< 1: herd faster), plus herd's
compute step against PyTorch's graphed step; the end-to-end wide job in samples/s against
PyTorch's host-shard step.
"""
import json
import sys


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
    bench = {}
    other = []
    for r in rows:
        if r.get("impl") in ("herd", "torch"):
            bench[(r["impl"], r["config"], r["precision"], r["mode"])] = r
        else:
            other.append(r)
    gpu = next((r["gpu"] for r in rows if "gpu" in r), "unknown GPU")
    print(f"\n## herd on {gpu}\n")
    print("| what | herd | PyTorch | herd/PyTorch |")
    print("|---|---|---|---|")
    for r in other:
        if r.get("kind") == "tests":
            print(f"| [cuda] tests | {r['summary']} | | {'ok' if r['ok'] else 'FAILED'} |")
        elif r.get("kind") == "accuracy":
            ok = r["accuracy"] is not None and r["accuracy"] >= 88.0
            acc = "n/a" if r["accuracy"] is None else f"{r['accuracy']:.2f}%"
            print(f"| {r['job']}: final test accuracy (>= 88%) | {acc} | | "
                  f"{'ok' if ok else 'FAILED'} |")
    keys = sorted({(c, p, m) for (_, c, p, m) in bench})
    for c, p, m in keys:
        h, t = bench.get(("herd", c, p, m)), bench.get(("torch", c, p, m))
        hs = f"{h['median_ms']:.3f} ms" if h else "-"
        ts = f"{t['median_ms']:.3f} ms" if t else "-"
        ratio = f"{h['median_ms'] / t['median_ms']:.2f}" if h and t else "-"
        print(f"| {c} b{(h or t)['batch']} {p}, {m} step | {hs} | {ts} | {ratio} |")
    for c, p in sorted({(c, p) for (_, c, p, _) in bench}):
        h, t = bench.get(("herd", c, p, "eager")), bench.get(("torch", c, p, "graph"))
        hg = bench.get(("herd", c, p, "graph"))
        if h and t:
            print(f"| {c} {p}: herd eager step vs PyTorch graphed step | {h['median_ms']:.3f} ms"
                  f" | {t['median_ms']:.3f} ms | {h['median_ms'] / t['median_ms']:.2f} |")
        if hg and t:
            print(f"| {c} {p}: herd graphed step vs PyTorch graphed step | "
                  f"{hg['median_ms']:.3f} ms | {t['median_ms']:.3f} ms | "
                  f"{hg['median_ms'] / t['median_ms']:.2f} |")
    for r in other:
        if r.get("kind") == "e2e":
            t = (bench.get(("torch", "wide_mlp", "tf32", "host_mt"))
                 or bench.get(("torch", "wide_mlp", "tf32", "host")))
            tsps = 256 / t["median_ms"] * 1e3 if t else None
            h = r["samples_per_s"]
            hs = "n/a" if h is None else f"{h:.0f} samples/s"
            ts = "-" if tsps is None else f"{tsps:.0f} samples/s (host Adam, {t['mode']})"
            ratio = f"{h / tsps:.2f}" if h and tsps else "-"
            print(f"| wide MLP end to end: {r.get('shards', '?')} host shards, fp16 pulls, "
                  f"top-k pushes | {hs} | {ts}"
                  f" | {ratio} (throughput) |")


if __name__ == "__main__":
    main()
