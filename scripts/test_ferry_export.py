"""`ferry export` and `ferry migrate` as processes against the local export service (scripts/export-service.py) and
moto: python3 -m pytest -q scripts/test_ferry_export.py (make test runs it after the Swift tests).

The service's clock runs at --speed 0 and the test moves it, so 15-minute windows pass in milliseconds and nothing
here waits on a real clock for timing; the waits are for processes to make progress, bounded.
"""
import base64
import calendar
import json
import os
import random
import signal
import subprocess
import threading
import time

import boto3
import pytest

from test_export_service import CONFIG, ENV, Env, by_value, env  # noqa: F401 (env: the fixture)

HERE = os.path.dirname(os.path.abspath(__file__))
FERRY = os.path.join(HERE, "..", ".build", "debug", "ferry")
MINUTE_MS = 60_000
assert os.access(FERRY, os.X_OK), "build ferry first (swift build; make test does): " + FERRY


def aws(env):
    """The source side is the export service (DynamoDB) and moto (S3); the target is moto's DynamoDB."""
    return {"AWS_ENDPOINT_URL_DYNAMODB": env.url, "AWS_ENDPOINT_URL_S3": env.moto_url}


def ferry(env, *arguments, timeout=60, check=True):
    run = subprocess.run([FERRY, *arguments], env={**ENV, **aws(env)}, capture_output=True, text=True,
                         timeout=timeout)
    if check:
        assert run.returncode == 0, run.stderr
    return run


def exports_by_window(env, arn):
    """Every export the service made for the table: (kind, from, to) → count."""
    counts = {}
    for summary in env.ddb.list_exports(TableArn=arn)["ExportSummaries"]:
        d = env.ddb.describe_export(ExportArn=summary["ExportArn"])["ExportDescription"]
        spec = d.get("IncrementalExportSpecification")
        key = (d["ExportType"], spec and spec["ExportFromTime"].timestamp(), spec and spec["ExportToTime"].timestamp())
        counts[key] = counts.get(key, 0) + 1
    return counts


def run_advancing(env, arguments, seconds, each=None, stop_after=None, stop=None, environment=None):
    """Runs a ferry process while the service's clock moves `seconds` per step (and `each()` runs, e.g. a write),
    bounded in real time: (exit code, stdout, stderr). `stop` is sent after `stop_after` steps."""
    process = subprocess.Popen(arguments, env=environment or {**ENV, **aws(env)}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines, out = [], []
    readers = [threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True),
               threading.Thread(target=lambda: out.extend(process.stdout), daemon=True)]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + 150
    steps = 0
    while process.poll() is None and time.monotonic() < deadline:
        if each:
            each()
        env.advance(seconds)
        steps += 1
        if stop and steps == stop_after:
            process.send_signal(stop)
        time.sleep(0.01)
    if process.poll() is None:
        process.kill()
        process.wait(10)
        raise AssertionError("ferry did not end: " + "".join(lines[-20:]))
    for reader in readers:
        reader.join(5)
    return process.returncode, "".join(out), "".join(lines)


class Writer:
    """Random puts, updates, deletes and re-inserts of every type, each recorded with the service's time so the
    source's state at any point can be computed independently."""

    def __init__(self, env, seed):
        self.env, self.random, self.history = env, random.Random(seed), []

    def step(self):
        now = self.env.now()
        key = f"k{self.random.randrange(60)}"
        if self.random.random() < 0.2:
            self.env.delete(key)
            self.history.append((now, key, None))
            return
        r = self.random.randrange(10**6)
        item = {"pk": {"S": key}, "n": {"N": f"{r}.{r % 997:03d}E{r % 20 - 10}"}, "big": {"N": "9" * 38},
                "s": {"S": "café" if r % 2 else "cafe\u0301"}, "b": {"B": bytes([r % 256, 0, 255])},
                "ss": {"SS": ["a", str(r % 7)]}, "ns": {"NS": ["1", str(r % 5 + 2)]}, "e": {"S": ""},
                "m": {"M": {"l": {"L": [{"BOOL": r % 3 == 0}, {"NULL": True}]}}}}
        self.env.ddb.put_item(TableName="orders", Item=item)
        self.history.append((now, key, item))

    def state_before(self, end_ms):
        """The table as it was just before `end_ms` (a window's end is exclusive)."""
        state = {}
        for at, key, item in self.history:
            if at < end_ms:
                state[key] = item
        return {k: v for k, v in state.items() if v is not None}


def normalised(items):
    return sorted((by_value(decode_binary(i)) for i in items), key=lambda i: json.dumps(i, sort_keys=True))


def decode_binary(item):
    """Binary as base64 text, as boto3 hands it back as bytes."""
    return {k: ({"B": base64.b64encode(bytes(v["B"])).decode()} if "B" in v else v) for k, v in item.items()}


def test_export_survives_sigkill_with_no_duplicate_and_no_gap(env, tmp_path):
    arn = env.table()
    writer = Writer(env, 1)
    for _ in range(30):
        writer.step()
    env.advance(600)
    rng = random.Random(7)
    arguments = ["export", "--table", "orders", "--to", "s3://exports/chain", "--poll-interval", "0.05s",
                 "--source-region", "us-east-1"]
    # Kill it at random moments while windows fall due, as an engine restarting a pod would; then run it again.
    for round in range(12):
        for _ in range(5):
            writer.step()
        env.advance(rng.choice([60, 400, 900, 2000]))
        process = subprocess.Popen([FERRY, *arguments], env={**ENV, **aws(env)}, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.6))
        env.advance(rng.choice([0, 30, 130]))  # some exports complete while it runs
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    env.advance(3600)
    code, out, log = run_advancing(env, [FERRY, *arguments, "--until-lag", "15m"], seconds=30)
    assert code == 0 and "caught up" in out, log[-3000:]
    counts = exports_by_window(env, arn)
    assert all(n == 1 for n in counts.values()), f"a window was exported twice: {counts}"
    assert sum(1 for kind, _, _ in counts if kind == "FULL_EXPORT") == 1
    # The chain it leaves plans cleanly: one FULL export and every window, contiguous.
    plan = tmp_path / "plan.json"
    ferry(env, "plan", "--source", "s3://exports/chain", "--target-table", "t", "--source-region", "us-east-1",
          "--target-region", "us-east-1", "--target-endpoint-url", env.moto_url, "--out", str(plan))
    windows = json.loads(plan.read_text())["windows"]
    assert len(windows) == len(counts) >= 8


def interrupt_while_waiting(env, arguments, seconds=10):
    """Starts ferry, lets it request the FULL export and wait for it (the service's clock does not move), then sends
    SIGTERM: (exit code, stderr, seconds from the signal to the exit)."""
    process = subprocess.Popen([FERRY, *arguments], env={**ENV, **aws(env)}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + 30
    while not any("waiting" in line for line in lines) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "".join(lines)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("ferry did not stop on SIGTERM: " + "".join(lines[-20:]))
    reader.join(5)
    return code, "".join(lines), time.monotonic() - signalled


def test_sigterm_while_waiting_for_exports_exits_5_and_records_the_interruption(env, tmp_path):
    arn = env.table()
    env.advance(600)
    journal = tmp_path / "export.journal.jsonl"
    code, log, took = interrupt_while_waiting(env, ["export", "--table", "orders", "--to", "s3://exports/chain",
                                                    "--poll-interval", "0.05s", "--source-region", "us-east-1",
                                                    "--journal", str(journal)])
    assert code == 5, log
    assert "SIGTERM: stopping" in log and "interrupted: the exports already requested go on" in log, log
    assert took < 5, took
    ended = [json.loads(line) for line in journal.read_text().splitlines() if '"runEnded"' in line]
    assert [e["outcome"] for e in ended] == ["interrupted"], ended
    # The export it requested goes on (and completes while nothing runs); the next run continues the chain (no
    # second FULL export) and records the FULL export's completion, which it never saw running.
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    (full,) = [e["export"]["exportArn"] for e in entries if e.get("export", {}).get("event") == "requested"]
    env.advance(3600)
    code, out, log = run_advancing(env, [FERRY, "export", "--table", "orders", "--to", "s3://exports/chain",
                                         "--poll-interval", "0.05s", "--source-region", "us-east-1",
                                         "--until-lag", "15m", "--journal", str(journal)], seconds=30)
    assert code == 0, log[-3000:]
    assert sum(1 for kind, _, _ in exports_by_window(env, arn) if kind == "FULL_EXPORT") == 1
    completed = [e["export"] for e in map(json.loads, journal.read_text().splitlines())
                 if e.get("export", {}).get("event") == "completed" and e["export"]["exportArn"] == full]
    assert len(completed) == 1 and completed[0]["seconds"] > 0, completed

    # migrate, stopped while it waits for its FULL export: the same exit and message; no plan is written yet.
    plan = tmp_path / "plan.json"
    code, log, took = interrupt_while_waiting(env, ["migrate", "--table", "orders", "--to", "s3://exports/other",
                                                    "--target-table", "copy", "--plan", str(plan),
                                                    "--poll-interval", "0.05s", "--source-region", "us-east-1",
                                                    "--target-region", "us-west-2",
                                                    "--target-endpoint-url", env.moto_url])
    assert code == 5, log
    assert "interrupted: the exports already requested go on" in log and took < 5, log
    assert not plan.exists()


def test_export_stops_on_pitr_off_a_pitr_gap_and_a_failed_export(env):
    env.table(pitr=False)
    arguments = ["export", "--table", "orders", "--to", "s3://exports/chain", "--poll-interval", "0.05s",
                 "--source-region", "us-east-1", "--once"]
    off = ferry(env, *arguments, check=False)
    assert off.returncode == 3 and "update-continuous-backups --table-name orders" in off.stderr
    enabled = ferry(env, *arguments, "--enable-pitr")
    assert "requested what was due" in enabled.stdout
    env.advance(1800)
    ferry(env, *arguments)  # the FULL export completes; the first window is requested
    env.control("fail-next-export", code="S3AccessDenied", message="Access%20Denied")
    env.advance(900)
    ferry(env, *arguments)
    env.advance(300)
    failed = ferry(env, *arguments, check=False)
    assert failed.returncode == 3, failed.stderr
    assert "S3AccessDenied: Access Denied" in failed.stderr and "--retry-failed" in failed.stderr
    ferry(env, *arguments, "--retry-failed")
    env.advance(300)
    ferry(env, *arguments)
    # PITR off and on again: the chain's end is before the new PITR window.
    env.enable_pitr("orders", enabled=False)
    env.advance(60)
    env.enable_pitr("orders")
    env.advance(3600)
    gap = ferry(env, *arguments, check=False)
    assert gap.returncode == 3 and "A new FULL export is needed" in gap.stderr, gap.stderr


def test_migrate_follows_a_table_written_to_continuously_and_ends_exact(env, tmp_path):
    env.table()
    writer = Writer(env, 2)
    for _ in range(80):
        writer.step()
    target = boto3.client("dynamodb", endpoint_url=env.moto_url, region_name="us-west-2", config=CONFIG,
                          aws_access_key_id="test", aws_secret_access_key="test")
    target.create_table(TableName="orders-copy", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    env.advance(600)
    plan = tmp_path / "plan.json"
    command = [FERRY, "migrate", "--table", "orders", "--to", "s3://exports/chain", "--target-table", "orders-copy",
               "--plan", str(plan), "--poll-interval", "0.05s", "--max-write-units", "5000",
               "--source-region", "us-east-1", "--target-region", "us-west-2", "--target-endpoint-url", env.moto_url]

    # Three emulated hours of writes (7.3 s steps of the service's clock, so no write falls on a window's edge)
    # while it follows, then a stop (SIGTERM: batches finish, checkpoint, exit 5).
    code, _, log = run_advancing(env, command, 7.3, each=writer.step, stop_after=1500, stop=signal.SIGTERM)
    assert code == 5, log[-3000:]
    first = json.loads((tmp_path / "plan.checkpoint.json").read_text())
    assert first["windowsDone"] >= 4, "windows were made and applied while writes went on"
    # Two more hours of writes while it is stopped; the same command again resumes from the plan and checkpoint,
    # catches up and ends at the cut-over lag.
    for _ in range(40):
        writer.step()
        env.advance(181.3)
    code, _, log = run_advancing(env, command + ["--until-lag", "30m"], 7.3)
    assert code == 0, log[-3000:]
    assert "resuming with the plan" in log
    checkpoint = json.loads((tmp_path / "plan.checkpoint.json").read_text())
    assert checkpoint["windowsDone"] >= first["windowsDone"] + 6, "the two hours were exported and applied"
    through = checkpoint["appliedThrough"]
    end_ms = calendar.timegm(time.strptime(through[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(through[20:23])
    # At the cut-over the target is the source as of the last window's end (the writes after it are the lag).
    assert writer.history[0][0] < end_ms and any(at >= end_ms - 30 * MINUTE_MS for at, _, _ in writer.history)
    items = []
    for page in target.get_paginator("scan").paginate(TableName="orders-copy"):
        items += page["Items"]
    assert normalised(items) == normalised(writer.state_before(end_ms).values())
    # ferry diff agrees (the plan holds every window applied: migrate's follow recorded them in the checkpoint).
    diff = ferry(env, "diff", str(plan), "--exit-code", "--at-checkpoint", "--max-read-units", "5000", "--target-region", "us-west-2",
                 "--target-endpoint-url", env.moto_url, "--source-region", "us-east-1", check=False)
    assert diff.returncode == 0, diff.stdout + diff.stderr

    # The report from the plan's run record: the exports migrate made (requested and completed, with the service's
    # times) beside the apply's runs, the lag over the run, each data file's timings.
    report = json.loads(ferry(env, "report", str(plan), "--json").stdout)
    commands = [run["command"] for run in report["runs"]]
    assert commands.count("export") == 4 and commands.count("apply") == 2 and commands.count("diff") == 1, commands
    # Each migrate: its FULL export step completes; the export beside the apply is stopped with the apply (by the
    # SIGTERM, then at the cut-over lag).
    assert [r["outcome"] for r in report["runs"] if r["command"] == "export"] == \
        ["completed", "interrupted", "completed", "interrupted"], report["runs"]
    exports = {row["exportArn"]: row for row in report["exports"]}
    applied = [w["exportArn"] for w in json.loads(plan.read_text())["windows"]] + \
        [w["exportArn"] for w in checkpoint.get("followWindows", [])]
    assert set(applied) <= set(exports), "every window applied was recorded made"
    # Each was seen complete with the service's times — those still running at the SIGTERM too: they finished while
    # nothing ran, and the next run reported them once it saw them complete.
    for arn in applied:
        row = exports[arn]
        assert row["applied"], row
        assert "completedAt" in row, row
        assert row["completedAt"] >= row["requestedAt"] and row["seconds"] >= 0 and row["itemCount"] >= 0, row
    assert report["exports"][0]["kind"] == "FULL_EXPORT"
    assert report["rto"]["firstStartAt"] == next(r["startedAt"] for r in report["runs"] if r["command"] == "apply")
    # The FULL export migrate requested first: the recovery counted from it is longer by the time it took.
    rto = report["rto"]
    assert rto["fullExportRequestedAt"] == report["exports"][0]["requestedAt"] <= rto["firstStartAt"], rto
    before = (rto["firstStartAt"] - rto["fullExportRequestedAt"]) / 1000
    assert abs(rto["wallSecondsFromFullExport"] - (rto["wallSeconds"] + before)) < 1e-6, rto
    assert report["lag"] and report["files"], "the lag and the files were recorded"
    assert sum(f["puts"] + f["deletes"] for f in report["files"]) == report["totals"]["itemsApplied"]


# A bucket in another account: the table is in SOURCE (the export service's account); the bucket `dr-exports` is
# created by moto's admin, in TARGET. The exporting identity is a user in SOURCE whose policy allows writing under
# `chain/` and nothing else; the target account reads its bucket with a list-and-read-only user. moto-fixture.py
# enforces signatures and IAM, and `x-amz-expected-bucket-owner` as S3 does.
SOURCE_ACCOUNT, TARGET_ACCOUNT = "111111111111", "123456789012"
EXPORTER_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl", "s3:GetObject"],
     "Resource": "arn:aws:s3:::dr-exports/chain/*"},
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::dr-exports"}]})
READER_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::dr-exports/chain/*"},
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::dr-exports"}]})


@pytest.fixture
def cross(tmp_path):
    environment = Env(tmp_path, users=[f"exporter@{SOURCE_ACCOUNT}={EXPORTER_POLICY}",
                                       f"reader@{TARGET_ACCOUNT}={READER_POLICY}"], s3_writer="exporter")
    try:
        environment.s3.create_bucket(Bucket="dr-exports")
        credentials = tmp_path / "credentials"
        users = {**environment.fixture["users"], "admin": environment.fixture["admin"]}
        credentials.write_text("".join(
            f"[{name}]\naws_access_key_id = {u['accessKeyId']}\naws_secret_access_key = {u['secretAccessKey']}\n"
            for name, u in users.items()))
        (tmp_path / "config").write_text("")
        environment.profiles = {k: v for k, v in ENV.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        environment.profiles.update(AWS_SHARED_CREDENTIALS_FILE=str(credentials), AWS_CONFIG_FILE=str(tmp_path / "config"),
                                    **aws(environment))
        yield environment
    finally:
        environment.stop()


def test_export_to_a_bucket_in_another_account_with_iam_enforced(cross, tmp_path):
    env = cross
    arn = env.table()
    writer = Writer(env, 3)
    for _ in range(40):
        writer.step()
    env.advance(600)

    def run(*arguments, profile="exporter"):
        return subprocess.run([FERRY, *arguments, "--source-profile", profile], env=env.profiles,
                              capture_output=True, text=True, timeout=60)

    export = ["export", "--table", "orders", "--to", "s3://dr-exports/chain", "--poll-interval", "0.05s",
              "--source-region", "us-east-1"]
    # Without --bucket-owner the bucket must be the table's account's: refused before anything is requested.
    missing = run(*export, "--once")
    assert missing.returncode == 4, missing.stderr
    assert "s3://dr-exports/chain/.ferry-write-check (AccessDenied, HTTP 403)" in missing.stderr
    assert "account 111111111111, the table's" in missing.stderr and "--bucket-owner ACCOUNT" in missing.stderr
    wrong = run(*export, "--once", "--bucket-owner", "999999999999")
    assert wrong.returncode == 4 and "account 999999999999 (--bucket-owner)" in wrong.stderr, wrong.stderr
    # The exporter may write under chain/ only: IAM refuses another prefix.
    elsewhere = run(*export[:4], "s3://dr-exports/elsewhere", *export[5:], "--once", "--bucket-owner", TARGET_ACCOUNT)
    assert elsewhere.returncode == 4 and "AccessDenied" in elsewhere.stderr, elsewhere.stderr
    assert exports_by_window(env, arn) == {}, "nothing was requested"
    assert "aws_secret_access_key" not in missing.stderr + wrong.stderr + elsewhere.stderr
    for user in env.fixture["users"].values():
        assert user["secretAccessKey"] not in missing.stderr + wrong.stderr + elsewhere.stderr

    # With the bucket's owner named: the FULL export, then windows, each written by the exporter into the other
    # account's bucket with S3BucketOwner (the service writes with ExpectedBucketOwner, checked by the fixture).
    owned = [*export, "--bucket-owner", TARGET_ACCOUNT]
    first = run(*owned, "--once")
    assert first.returncode == 0 and "1 export requested" in first.stdout, first.stderr
    for _ in range(30):
        writer.step()
        env.advance(181.3)
    code, out, log = run_advancing(env, [FERRY, *owned, "--until-lag", "15m", "--source-profile", "exporter"],
                                   seconds=30, environment=env.profiles)
    assert code == 0 and "caught up" in out, log[-3000:]
    described = [env.ddb.describe_export(ExportArn=s["ExportArn"])["ExportDescription"]
                 for s in env.ddb.list_exports(TableArn=arn)["ExportSummaries"]]
    assert all(d["ExportStatus"] == "COMPLETED" and d["S3BucketOwner"] == TARGET_ACCOUNT for d in described)
    counts = exports_by_window(env, arn)
    assert all(n == 1 for n in counts.values()) and len(counts) >= 5, counts

    # The target account plans from its own bucket with the read-only user and applies into its table.
    target = boto3.client("dynamodb", endpoint_url=env.moto_url, region_name="us-west-2", config=CONFIG,
                          aws_access_key_id=env.fixture["admin"]["accessKeyId"],
                          aws_secret_access_key=env.fixture["admin"]["secretAccessKey"])
    target.create_table(TableName="orders-copy", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    plan = tmp_path / "plan.json"
    sides = ["--source-region", "us-east-1", "--target-region", "us-west-2", "--target-endpoint-url", env.moto_url,
             "--target-profile", "admin"]
    planned = run("plan", "--source", "s3://dr-exports/chain", "--target-table", "orders-copy", *sides, "--out",
                  str(plan), profile="reader")
    assert planned.returncode == 0, planned.stderr
    windows = json.loads(plan.read_text())["windows"]
    assert len(windows) == len(counts)
    applied = run("apply", str(plan), "--max-write-units", "5000", *sides, profile="reader")
    assert applied.returncode == 0, applied.stderr
    through = json.loads((tmp_path / "plan.checkpoint.json").read_text())["appliedThrough"]
    end_ms = calendar.timegm(time.strptime(through[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(through[20:23])
    items = []
    for page in target.get_paginator("scan").paginate(TableName="orders-copy"):
        items += page["Items"]
    assert normalised(items) == normalised(writer.state_before(end_ms).values())
    # The reader may not write: its keys cannot be used to export into the bucket.
    refused = run(*owned, "--once", profile="reader")
    assert refused.returncode == 4 and "AccessDenied" in refused.stderr, refused.stderr
