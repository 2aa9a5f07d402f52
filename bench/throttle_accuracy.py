#!/usr/bin/env python3
"""throttle_accuracy: `ferry apply` against the capacity simulator at a given capacity and --write-percent, and how
well the consumed capacity kept to the budget (bench/analyze.py's figures), as one JSON line per run and a table.

    python3 bench/throttle_accuracy.py [--seconds 40] [--only NAME ...] [--svg-dir DIR]

Runs (burst credit 0, so any excess over capacity is throttled, and the simulator's per-second log is exact):
  provisioned 1,000 and 10,000 WCU, --write-percent 50 and 90, with and without a GSI (`by-name`, projection ALL)
  provisioned at half the table's WCU (so the GSI is the limit); an on-demand table with --max-write-units; and
  mixed item sizes (0.3-3.5 KB, 1-4 WCU each) with a sparse GSI that only some items reach (its hash key `segment`
  is an attribute 40 % of the generated items have, unique to each), provisioned at half the table's WCU.
Each run generates a FULL export sized for about --seconds of writing at the budget (~800-byte items, 1 WCU each,
or the mixed sizes), plans it, applies it with `ferry apply` (.build/release/ferry, or --ferry PATH to measure
another build), stops the simulator and analyses its log.
Changes nothing outside .bench-data/ and the temporary directory.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FERRY = os.path.join(ROOT, ".build/release/ferry")
EXPORTGEN = os.path.join(ROOT, ".build/release/ferry-exportgen")
CAPSIM = os.path.join(ROOT, "bench/capsim.py")
ANALYZE = os.path.join(ROOT, "bench/analyze.py")


def runs():
    out = []
    for wcu in (1000, 10000):
        for percent in (50, 90):
            for gsi in (False, True):
                name = f"prov-{wcu}-{percent}{'-gsi' if gsi else ''}"
                out.append(dict(name=name, wcu=wcu, percent=percent, gsi=gsi, on_demand=False, max_units=None))
    out.append(dict(name="ondemand-max2000-90", wcu=0, percent=90, gsi=False, on_demand=True, max_units=2000))
    for wcu in (1000, 10000):
        out.append(dict(name=f"mixed-{wcu}-90-sparse-gsi", wcu=wcu, percent=90, gsi=True, on_demand=False, max_units=None,
                        item_bytes=MIXED_BYTES, gsi_attr=SPARSE_ATTR))
    return out


# Mixed sizes: each item padded to a size drawn from 300...3500 bytes. The sparse GSI's hash key: `segment`, which
# the generator gives SPARSE_PERCENT % of its items (--segment-percent), a distinct value each.
MIXED_BYTES = (300, 3500)
SPARSE_ATTR = "segment"
SPARSE_PERCENT = 40


def mean_units(item_bytes):
    """Mean write units per item: 1 per KB rounded up, over the sizes the generator draws from."""
    low, high = item_bytes
    sizes = range(low, high + 1)
    return sum(max(1, -(-size // 1024)) for size in sizes) / len(sizes)


def budget_of(run):
    if run["on_demand"]:
        return run["max_units"] * run["percent"] / 100, None
    table = run["wcu"] * run["percent"] / 100
    gsi = (run["wcu"] // 2) * run["percent"] / 100 if run["gsi"] else None
    return table, gsi


def export_for(items, item_bytes):
    sizes = ["--item-bytes", "800"] if item_bytes is None else [
        "--item-bytes", str(item_bytes[0]), "--item-bytes-max", str(item_bytes[1]), "--segment-percent", str(SPARSE_PERCENT)]
    path = os.path.join(ROOT, ".bench-data", f"accuracy-{items}" + ("" if item_bytes is None else "-%d-%d" % item_bytes))
    if not os.path.exists(os.path.join(path, "expected", "chain.json")):
        subprocess.run([EXPORTGEN, "generate", "--out", path, "--items", str(items), "--windows", "0", *sizes,
                        "--partitions", "8"], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(path, "exports")


def one(run, seconds, work, svg_dir, ferry):
    table_budget, gsi_budget = budget_of(run)
    item_bytes = run.get("item_bytes")
    if run.get("gsi_attr"):
        # A sparse GSI takes only some items: the table is the limit; size the export by it.
        items = int(table_budget * seconds / mean_units(item_bytes))
    else:
        effective = min(b for b in (table_budget, gsi_budget) if b is not None)
        items = int(effective * seconds / (1 if item_bytes is None else mean_units(item_bytes)))
    exports = export_for(items, item_bytes)
    log = os.path.join(work, run["name"] + ".jsonl")
    cmd = [sys.executable, CAPSIM, "--range", "sk:N", "--table", "bench", "--burst-seconds", "0", "--log", log, "--quiet"]
    if run["on_demand"]:
        cmd += ["--on-demand"]
    else:
        cmd += ["--wcu", str(run["wcu"]), "--rcu", "1000"]
    if run["gsi"]:
        cmd += ["--gsi", f"by-name:{run.get('gsi_attr', 'name')}:S:{run['wcu'] // 2}"]
    sim = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        endpoint = json.loads(sim.stdout.readline())["endpoint"]
        env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1",
                   AWS_EC2_METADATA_DISABLED="true")
        plan = os.path.join(work, run["name"] + ".plan.json")
        subprocess.run([ferry, "plan", "--source", exports, "--target-table", "bench", "--write-percent", str(run["percent"]),
                        "--target-endpoint-url", endpoint, "--out", plan], check=True, env=env, stdout=subprocess.DEVNULL)
        apply = [ferry, "apply", plan]
        if run["max_units"]:
            apply += ["--max-write-units", str(run["max_units"])]
        started = time.monotonic()
        result = subprocess.run(apply, env=env, capture_output=True, text=True, timeout=seconds * 4 + 60)
        elapsed = time.monotonic() - started
        summary = result.stdout.strip().splitlines()[0] if result.stdout.strip() else result.stderr.strip()[-300:]
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
    analyze = [sys.executable, ANALYZE, log, "--json", "--budget-table", str(table_budget)]
    if gsi_budget is not None:
        analyze += ["--budget-gsi", f"by-name={gsi_budget}"]
    if svg_dir:
        os.makedirs(svg_dir, exist_ok=True)
        analyze += ["--svg", os.path.join(svg_dir, run["name"] + ".svg")]
    analysis = json.loads(subprocess.run(analyze, check=True, capture_output=True, text=True).stdout)
    analysis.pop("per_second", None)
    return dict(run=run["name"], items=items, budget_table=table_budget, budget_gsi=gsi_budget, apply_exit=result.returncode,
                apply_seconds=round(elapsed, 1), ferry=summary, analysis=analysis)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=40, help="about how long each run writes (default 40)")
    parser.add_argument("--only", nargs="*", help="run names to run (default: all)")
    parser.add_argument("--svg-dir", help="write one SVG plot per run here")
    parser.add_argument("--ferry", default=FERRY, help="the ferry binary to measure (default .build/release/ferry)")
    opts = parser.parse_args()
    for tool in (opts.ferry, EXPORTGEN):
        if not os.path.exists(tool):
            sys.exit(f"{tool} is missing: run `swift build -c release` first")
    work = tempfile.mkdtemp(prefix="ferry-accuracy-")
    results = []
    try:
        for run in runs():
            if opts.only and run["name"] not in opts.only:
                continue
            result = one(run, opts.seconds, work, opts.svg_dir, opts.ferry)
            print(json.dumps(result), flush=True)
            results.append(result)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print("| run | budget WCU/s (table / GSI) | steady-state share of budget | worst 1-s second / budget | worst 5-s window / budget | throttling | apply |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        a = r["analysis"]
        shares, worst1, worst = [], [], []
        for res in a["resources"]:
            name = res.get("resource") or res.get("name") or "?"
            share = res.get("steady_share")
            shares.append(f"{name} {share * 100:.1f} %" if share is not None else f"{name} n/a")
            worst1.append(f"{name} {res['worst_1s_ratio']:.3f}" if res.get("worst_1s_ratio") is not None else f"{name} n/a")
            worst.append(f"{name} {res['worst_5s_ratio']:.3f}")
        budgets = f"{r['budget_table']:g}" + (f" / {r['budget_gsi']:g}" if r["budget_gsi"] is not None else "")
        print(f"| {r['run']} | {budgets} | {', '.join(shares)} | {', '.join(worst1)} | {', '.join(worst)} | {a['ptee_calls']} PTEE, "
              f"{a['partial_calls']} partial | exit {r['apply_exit']}, {r['apply_seconds']} s |")


if __name__ == "__main__":
    main()
