#!/usr/bin/env python3
"""Rows and the table of bench/compare_pytorch/run.sh.

  report.py herd-row LABEL RUN_DIR      one JSON row from a herd run's summary.json + metrics.jsonl
  report.py brief                       one line per JSON row on stdin (progress while running)
  report.py tag KEY=VALUE...            adds fields to the JSON row on stdin (numbers stay numbers)
  report.py table ROWS.jsonl OUT_DIR    the table (Markdown, on stdout and in OUT_DIR/table.md)
                                        and the raw rows as OUT_DIR/rows.csv

A row: system, samples, train_s, samples_per_s, time_to_target_s (None: not reached),
final_accuracy. Ratios are herd/PyTorch of the means: samples/s (above 1: herd is faster) and
time to 88% (below 1: herd gets there sooner).
"""
import csv
import json
import os
import statistics
import sys

TARGET = 0.88
BASELINES = ("pytorch", "pytorch-ddp2")


def herd_row(label, run_dir):
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    evals = []
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            if line.strip():
                evals.append(json.loads(line))
    # The first evaluation at or above the target, on the training clock (deferred evaluation:
    # snapshots taken while training, evaluated after it).
    reached = [e["train_s"] for e in evals if e["test_accuracy"] >= TARGET]
    return {"system": label, "samples": summary["samples"], "train_s": summary["train_s"],
            "samples_per_s": summary["samples_per_s"],
            "time_to_target_s": reached[0] if reached else None,
            "final_accuracy": summary["final"]["test_accuracy"], "steps": summary["steps"],
            "evals": evals}


def stats(values):
    """Mean and spread (half the range, max - min over 2) of the values present."""
    v = [x for x in values if x is not None]
    if not v:
        return None, None
    return statistics.fmean(v), (max(v) - min(v)) / 2


def fmt(mean, spread, digits):
    if mean is None:
        return "not reached"
    return f"{mean:,.{digits}f} ± {spread:,.{digits}f}"


def table(rows_path, out_dir):
    rows = []
    with open(rows_path) as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    if not rows:
        sys.exit(f"{rows_path}: no rows")
    systems = list(dict.fromkeys(r["system"] for r in rows))
    agg = {}
    for s in systems:
        mine = [r for r in rows if r["system"] == s]
        sps = stats([r["samples_per_s"] for r in mine])
        t88 = stats([r["time_to_target_s"] for r in mine])
        reached = sum(r["time_to_target_s"] is not None for r in mine)
        acc = stats([r["final_accuracy"] for r in mine])
        agg[s] = {"runs": len(mine), "sps": sps, "t88": t88, "reached": reached, "acc": acc}

    def ratio(a, b):
        return f"{a / b:.2f}" if a is not None and b else "–"

    head = ["system", "runs", "samples/s", "time to 88% (s)", "final acc"]
    present = [key for key in BASELINES if key in agg]
    for key in present:
        head += [f"samples/s ÷ {key}", f"time to 88% ÷ {key}"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for s in systems:
        a = agg[s]
        t88 = fmt(*a["t88"], 1)
        if a["t88"][0] is not None and a["reached"] < a["runs"]:
            t88 += f" ({a['reached']}/{a['runs']} runs)"
        acc = f"{100 * a['acc'][0]:.2f}%" if a["acc"][0] is not None else "–"
        cells = [s, str(a["runs"]), fmt(*a["sps"], 0), t88, acc]
        for key in present:
            b = agg[key]
            cells += [ratio(a["sps"][0], b["sps"][0]), ratio(a["t88"][0], b["t88"][0])]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "table.md"), "w") as f:
        f.write(text)
    fields = ["system", "repeat", "samples", "steps", "train_s", "samples_per_s",
              "time_to_target_s", "final_accuracy", "threads", "load1"]
    with open(os.path.join(out_dir, "rows.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in fields})
    sys.stdout.write(text)


def tag(pairs):
    row = json.loads(sys.stdin.read().strip().splitlines()[-1])
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            row[key] = json.loads(value)
        except ValueError:
            row[key] = value
    print(json.dumps(row))


def brief():
    for line in sys.stdin:
        r = json.loads(line)
        t = r["time_to_target_s"]
        reached = f"{t:6.1f} s" if t is not None else "not reached"
        print(f"  {r['system']:13} {r['samples_per_s']:8.0f} samples/s   88% after {reached}"
              f"   final {100 * r['final_accuracy']:.2f}%   load {r.get('load1', '?')}")


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "brief":
        brief()
    elif len(sys.argv) >= 2 and sys.argv[1] == "tag":
        tag(sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "herd-row":
        print(json.dumps(herd_row(sys.argv[2], sys.argv[3])))
    elif len(sys.argv) == 4 and sys.argv[1] == "table":
        table(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__.strip().split("\n\n")[1])


if __name__ == "__main__":
    main()
