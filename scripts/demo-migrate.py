#!/usr/bin/env python3
"""make demo, part 2: `ferry migrate` from a live source table to a table in another account and region.

The source table `orders-live` is in account 111111111111, us-east-1, served by the local export service
(scripts/export-service.py, which writes its exports to moto's S3 in AWS's layout). The target `orders-live-copy` is
in moto's account 123456789012, us-west-2 (signatures and IAM enforced). The source receives a steady stream of
writes for three emulated hours — the service's clock is moved 7.3 s per step, so 15-minute windows pass in a few
seconds — while `ferry migrate` exports, plans and applies, following the source; the operator stops it (SIGINT), the
application stops writing, and the same command with `--until-lag 30m` resumes and cuts over. Then `ferry diff --exit-code` checks the target against the chain, and an independent record of every
write gives the source's state at the last applied window's end, compared with a scan of the target.

Usage: demo-migrate.py MOTO_ENDPOINT ACCESS_KEY SECRET_KEY DEMO_DIR FERRY
"""
import base64
import calendar
import decimal
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import boto3

moto, key, secret, demo, ferry = sys.argv[1:6]
HERE = os.path.dirname(os.path.abspath(__file__))
port_file = os.path.join(demo, "export-service.port")
service = subprocess.Popen(
    [sys.executable, os.path.join(HERE, "export-service.py"), "--port", "0", "--s3-endpoint", moto,
     "--s3-access-key", key, "--s3-secret-key", secret, "--speed", "0", "--start", "2026-01-14T09:00:00Z",
     "--account", "111111111111", "--port-file", port_file], stdout=subprocess.DEVNULL)
try:
    for _ in range(150):
        if os.path.exists(port_file) and open(port_file).read().strip():
            break
        time.sleep(0.1)
    service_url = f"http://127.0.0.1:{open(port_file).read().strip()}"

    def advance(seconds):
        request = urllib.request.Request(f"{service_url}/_control/advance?seconds={seconds}", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())["now"]

    source = boto3.client("dynamodb", endpoint_url=service_url, region_name="us-east-1",
                          aws_access_key_id="source", aws_secret_access_key="source")
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1",
                      aws_access_key_id=key, aws_secret_access_key=secret)
    target = boto3.client("dynamodb", endpoint_url=moto, region_name="us-west-2",
                          aws_access_key_id=key, aws_secret_access_key=secret)
    s3.create_bucket(Bucket="orders-exports")
    schema = dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                  AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    source.create_table(TableName="orders-live", BillingMode="PAY_PER_REQUEST", **schema)
    target.create_table(TableName="orders-live-copy", ProvisionedThroughput={
        "ReadCapacityUnits": 2000, "WriteCapacityUnits": 2000}, **schema)
    print("source orders-live (account 111111111111, us-east-1, local export service); target orders-live-copy "
          "(account 123456789012, us-west-2, moto); exports to s3://orders-exports/chain", flush=True)

    rng = random.Random(2026)
    history = []  # (service time ms, key, item or None): the source's every write, kept independently of Ferry

    def write():
        now = advance(0)
        key = f"order#{rng.randrange(400):04d}"
        if rng.random() < 0.15:
            source.delete_item(TableName="orders-live", Key={"pk": {"S": key}})
            history.append((now, key, None))
            return
        r = rng.randrange(10**9)
        item = {"pk": {"S": key}, "total": {"N": f"{r // 100}.{r % 100:02d}"}, "qty": {"N": str(r % 17)},
                "precise": {"N": "1234567890123456789012345678.9012345678"},
                "customer": {"S": rng.choice(["café", "cafe\u0301", "Zoë", ""])},
                "tags": {"SS": sorted({rng.choice("abcdef") for _ in range(3)})},
                "blob": {"B": bytes([r % 256, 0, 255])}, "lines": {"L": [{"M": {"sku": {"S": f"s{r % 9}"}}}]}}
        source.put_item(TableName="orders-live", Item=item)
        history.append((now, key, item))

    # Settings a restore does not carry over, for the report's drift section to catch.
    source.update_time_to_live(TableName="orders-live", TimeToLiveSpecification={"Enabled": True,
                                                                                 "AttributeName": "expires"})
    source.tag_resource(ResourceArn="arn:aws:dynamodb:us-east-1:111111111111:table/orders-live",
                        Tags=[{"Key": "team", "Value": "orders"}])
    source.update_continuous_backups(TableName="orders-live", PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True})
    for _ in range(600):
        write()
    advance(600)

    plan = os.path.join(demo, "live-plan.json")
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": service_url, "AWS_ENDPOINT_URL_S3": moto}
    command = [ferry, "migrate", "--table", "orders-live", "--to", "s3://orders-exports/chain",
               "--bucket-owner", "123456789012", "--target-table", "orders-live-copy", "--plan", plan, "--write-percent", "50",
               "--poll-interval", "0.1s", "--source-region", "us-east-1", "--target-region", "us-west-2",
               "--target-endpoint-url", moto]
    def run(arguments, steps, writing, interrupt):
        """Runs ferry migrate while the service's clock moves 7.3 s per step (and, `writing`, the source changes);
        after `steps` steps, SIGINT when `interrupt`. Bounded in real time."""
        shown_command = [os.path.basename(c) if c == ferry else c for c in arguments]
        print("$ " + " ".join(shown_command), flush=True)
        process = subprocess.Popen(arguments, env=env, stderr=subprocess.PIPE, text=True)
        shown = []

        def relay():
            # The run's progress, trimmed to what tells the story: the steps, windows applied, the outcome.
            for line in process.stderr:
                shown.append(line)
                if line.startswith(("==", "error", "notice", "SIGINT")) or '"windowDone"' in line:
                    if '"windowDone"' in line:
                        event = json.loads(line)
                        line = f"window {event['window']}/{event['windows']} applied ({event['itemsTotal']} items)\n"
                    sys.stdout.write("   " + line)
                    sys.stdout.flush()

        relay_thread = threading.Thread(target=relay, daemon=True)
        relay_thread.start()
        deadline = time.monotonic() + 300
        done = 0
        while process.poll() is None and time.monotonic() < deadline:
            if writing:
                write()
            advance(7.3)
            done += 1
            if interrupt and done == steps:
                process.send_signal(signal.SIGINT)
            time.sleep(0.01)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(60)
            sys.exit("ferry migrate did not end in 300 s:\n" + "".join(shown[-20:]))
        relay_thread.join(5)
        return process.returncode, shown

    # While the application writes (three hours of the source's time), ferry follows; the operator stops it.
    code, shown = run(command, 1500, writing=True, interrupt=True)
    if code != 5:
        sys.exit(f"ferry migrate exited {code} (5 expected: interrupted, resumable):\n" + "".join(shown[-20:]))
    print("-- the application stops writing to the source (the cut-over begins); the same command, with --until-lag, "
          "resumes and ends once the target is within 30 minutes of the source", flush=True)
    code, shown = run(command + ["--until-lag", "30m"], 0, writing=False, interrupt=False)
    if code != 0:
        sys.exit(f"ferry migrate exited {code}:\n" + "".join(shown[-20:]))

    checkpoint = json.load(open(os.path.join(demo, "live-plan.checkpoint.json")))
    through = checkpoint["appliedThrough"]
    end = calendar.timegm(time.strptime(through[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(through[20:23])
    writes_after = sum(1 for at, _, _ in history if at >= end)
    print(f"cut over: {checkpoint['windowsDone']} windows applied through {through}; {len(history)} writes to the "
          f"source, {writes_after} after that point (the lag at cut-over)", flush=True)

    diff = subprocess.run([ferry, "diff", plan, "--at-checkpoint", "--exit-code", "--limit", "0",
                           "--source-region", "us-east-1", "--target-region", "us-west-2",
                           "--target-endpoint-url", moto], env=env, capture_output=True, text=True)
    print("$ ferry diff live-plan.json --at-checkpoint --exit-code\n   " + diff.stdout.strip().replace("\n", "\n   "))
    if diff.returncode != 0:
        sys.exit(f"ferry diff exited {diff.returncode}: {diff.stderr}")

    report = subprocess.run([ferry, "report", plan, "--compare-settings", "--json", "--source-region", "us-east-1",
                             "--target-region", "us-west-2", "--target-endpoint-url", moto],
                            env=env, capture_output=True, text=True)
    if report.returncode != 0:
        sys.exit(f"ferry report exited {report.returncode}: {report.stderr}")
    settings = json.loads(report.stdout)["settings"]
    print("$ ferry report live-plan.json --compare-settings: "
          f"{len(settings['differences'])} of {len(settings['compared'])} settings differ between source and target")
    for d in settings["differences"]:
        print(f"   {d['setting']}: source {d.get('source', '(none)')}; target {d.get('target', '(none)')}")

    def value(v):
        (t, x), = v.items()
        if t == "B":
            return t, base64.b64encode(bytes(x)).decode()
        if t == "N":
            return t, str(decimal.Decimal(x).normalize())
        if t in ("SS", "NS"):
            return t, tuple(sorted(x))
        if t == "L":
            return t, tuple(value(e) for e in x)
        if t == "M":
            return t, tuple(sorted((k, value(e)) for k, e in x.items()))
        return t, x

    def row(item):
        return tuple(sorted((k, value(v)) for k, v in item.items()))

    state = {}
    for at, key, item in history:
        if at < end:  # a window's end is exclusive
            state[key] = item
    expected = {row(i) for i in state.values() if i is not None}
    actual = set()
    for page in target.get_paginator("scan").paginate(TableName="orders-live-copy"):
        actual |= {row(i) for i in page["Items"]}
    verdict = "IDENTICAL" if actual == expected else \
        f"DIFFERENT ({len(actual - expected)} unexpected, {len(expected - actual)} missing)"
    print(f"orders-live-copy: {len(actual)} items; the source at {through} (from its own write record): "
          f"{len(expected)} items: {verdict}")
    if actual != expected:
        sys.exit(1)
finally:
    service.terminate()
    service.wait(10)
