#!/usr/bin/env python3
"""bench-shards: a sharded `ferry apply` with 1, 2 and 4 workers against the capacity simulator, with a budget one
worker cannot fill: the aggregate items/s, the share of the budget used, and the busiest second against the budget.

    python3 bench/shards.py [--latency-ms 250] [--seconds 20] [--workers 1 2 4] [--ferry PATH]

On two cores one worker is not limited by CPU against a simulator on the same machine but by the round trip: the
simulator answers every request --latency-ms after it arrives (a network's round trip to DynamoDB), so a worker's
ceiling is its requests in flight over the latency, as across continents. The simulator is one Python process: at
about 12,000 items/s (500 requests/s of 20 KB) it uses a whole core and becomes the limit, so the round trip is long
enough (250 ms) that the budget, 3 x one worker's ceiling, stays well under that. The exports have 64 data files per export,
so every worker has as many files to apply at once (8) as one worker alone, and so the same ceiling. First one worker runs with a budget far
above its ceiling (its ceiling, C1); then the budget is set to 3 x C1 and 1, 2 and 4 workers apply a FULL export
(~800-byte items, 1 WCU each) sized for about --seconds at min(N x C1, budget). The state is shared in a moto S3
bucket; each worker runs in a directory of its own. Goal: with N workers the aggregate reaches >= 95 % of
min(N x C1, budget), and no second (by the time each request was signed) is over the budget.
Changes nothing outside the temporary directory.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FERRY = os.path.join(ROOT, ".build/release/ferry")
CAPSIM = os.path.join(ROOT, "bench/capsim.py")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
ENV.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1",
           AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=ENV,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    import boto3
    for _ in range(300):
        try:
            boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                         aws_secret_access_key="bench").create_bucket(Bucket="bench-state")
            return process, url
        except Exception:
            time.sleep(0.05)
    raise SystemExit("moto did not start")


def generate(directory, items, exportgen):
    subprocess.run([exportgen, "generate", "--out", directory, "--items", str(items), "--windows", "1",
                    "--changes", "1", "--partitions", "64", "--item-bytes", "800"], check=True,
                   stdout=subprocess.DEVNULL, timeout=600)


def run(name, workers, budget, items, latency_ms, moto_url, ferry, tmp):
    work = os.path.join(tmp, name)
    os.makedirs(work)
    generate(os.path.join(work, "chain"), items, os.path.join(os.path.dirname(ferry), "ferry-exportgen"))
    log, signed = os.path.join(work, "cap.jsonl"), os.path.join(work, "signed.json")
    sim = subprocess.Popen([sys.executable, CAPSIM, "--wcu", str(budget), "--rcu", "1000", "--burst-seconds", "0",
                            "--table", "bench", "--hash", "pk:S", "--range", "sk:N", "--no-store",
                            "--latency-ms", str(latency_ms), "--log", log, "--signed-log", signed, "--quiet"],
                           stdout=subprocess.PIPE, text=True, env=ENV)
    endpoint = json.loads(sim.stdout.readline())["endpoint"]
    env = {**ENV, "AWS_ENDPOINT_URL_DYNAMODB": endpoint, "AWS_ENDPOINT_URL_S3": moto_url}
    plan = os.path.join(work, "plan.json")
    subprocess.run([ferry, "plan", "--source", os.path.join(work, "chain", "exports"), "--target-table", "bench",
                    "--write-percent", "100", "--out", plan], env=env, check=True, capture_output=True, timeout=120)
    processes = []
    started = time.monotonic()
    for index in range(workers):
        machine = os.path.join(work, f"machine-{index}")
        os.makedirs(machine)
        shutil.copy(plan, machine)
        processes.append(subprocess.Popen(
            [ferry, "apply", os.path.join(machine, "plan.json"), "--shard", f"{index}/{workers}",
             "--state", f"s3://bench-state/{name}"], env=env, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(machine, "stderr.log"), "w")))
    codes = [p.wait(1800) for p in processes]
    wall = time.monotonic() - started
    sim.send_signal(signal.SIGTERM)
    sim.wait(30)
    if any(codes):
        raise SystemExit(f"{name}: a worker failed {codes}; see {work}")
    seconds = [s for s in map(json.loads, open(log)) if s.get("type") == "second"]
    busy = [s for s in seconds if s["table"]["items"] > 0]
    # Steady seconds: without the first and the last second with writes (partial) and the ramp up to the first
    # second at 80 % of the best one.
    peak = max(s["table"]["items"] for s in busy)
    first = next(i for i, s in enumerate(busy) if s["table"]["items"] >= 0.8 * peak)
    steady = busy[max(1, first):-1] or busy
    items_per_second = sum(s["table"]["items"] for s in steady) / len(steady)
    wcu_per_second = sum(s["table"]["wcu"] for s in steady) / len(steady)
    by_signed = list(json.load(open(signed)).values())
    return {
        "run": name, "workers": workers, "budget": budget, "items": items, "wall_s": round(wall, 1),
        "steady_seconds": len(steady), "items_per_s": round(items_per_second), "wcu_per_s": round(wcu_per_second),
        "share_of_budget": round(wcu_per_second / budget, 4),
        "worst_signed_second_over_budget": round(max(by_signed) / budget, 4),
        "throttled_calls": sum(s["table"]["throttled_calls"] for s in seconds),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=float, default=250.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--ferry", default=FERRY, help="the ferry binary (ferry-exportgen beside it is used too)")
    parser.add_argument("--ceiling", type=int, help="one worker's ceiling in items/s (skips the calibration run)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, plans)")
    parser.add_argument("--calibration-items", type=int, default=60_000, help="items of the one-worker ceiling run")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="ferry-bench-shards-")
    moto, moto_url = start_moto()
    results = []
    try:
        # One worker's ceiling: a budget it cannot reach.
        if args.ceiling:
            ceiling = args.ceiling
        else:
            calibration = run("ceiling", 1, 1_000_000, args.calibration_items, args.latency_ms, moto_url, args.ferry,
                              tmp)
            ceiling = calibration["items_per_s"]
            print(json.dumps(calibration), flush=True)
        budget = int(round(3 * ceiling, -2))
        for workers in args.workers:
            expected = min(workers * ceiling, budget)
            items = int(expected * args.seconds)
            result = run(f"workers-{workers}", workers, budget, items, args.latency_ms, moto_url, args.ferry, tmp)
            result["one_worker_ceiling"] = ceiling
            result["expected_items_per_s"] = expected
            result["reached"] = round(result["items_per_s"] / expected, 4)
            results.append(result)
            print(json.dumps(result), flush=True)
    finally:
        moto.terminate()
        moto.wait(10)
        if args.keep:
            print("kept", tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"one worker's ceiling C1 = {ceiling:,} items/s at {args.latency_ms:g} ms per round trip; "
          f"budget = 3 x C1 = {budget:,} WCU/s (~800-byte items: 1 WCU each)")
    print("| workers | expected min(N x C1, budget) | aggregate items/s | reached | share of budget | "
          "busiest second / budget | throttled |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['workers']} | {r['expected_items_per_s']:,} | {r['items_per_s']:,} | {r['reached'] * 100:.1f} % | "
              f"{r['share_of_budget'] * 100:.1f} % | {r['worst_signed_second_over_budget']:.3f} | "
              f"{r['throttled_calls']} |")


if __name__ == "__main__":
    main()
