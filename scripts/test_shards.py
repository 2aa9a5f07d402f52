"""A sharded `ferry apply` as an engine runs it: N worker processes of one plan, each with its index in the
environment (JOB_COMPLETION_INDEX, as a Kubernetes Indexed Job sets it), sharing their state in S3 with conditional
writes: python3 -m pytest -q scripts/test_shards.py (make test runs it after the Swift tests).

moto (scripts/moto-fixture.py: SigV4 signatures and IAM enforced) is the target table and the state bucket; the
capacity simulator (bench/capsim.py) is the target where the per-second budget is measured. Every worker runs in a
directory of its own, as on a machine of its own: its plan copy, checkpoint, rejects and journal are its own; only
the bucket is shared. The waits here are for processes to make progress, bounded; nothing is timed by them.
"""
import base64
import calendar
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import boto3
import botocore.config
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
FERRY = os.path.join(ROOT, ".build", "debug", "ferry")
EXPORTGEN = os.path.join(ROOT, ".build", "debug", "ferry-exportgen")
CAPSIM = os.path.join(ROOT, "bench", "capsim.py")
assert os.access(FERRY, os.X_OK), "build ferry first (swift build; make test does): " + FERRY
CONFIG = botocore.config.Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=20)
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "JOB_COMPLETION_INDEX"))}
BASE_ENV.update(AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
BUCKET = "ferry-state"


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


class Moto:
    """moto with signatures and IAM enforced; admin keys for the workers and for the checks here."""

    def __init__(self, tmp):
        self.process = subprocess.Popen([sys.executable, os.path.join(HERE, "moto-fixture.py"), "--timeout", "300"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True, env=BASE_ENV)
        info = json.loads(self.process.stdout.readline())
        self.url, admin = info["endpoint"], info["admin"]
        self.keys = {"AWS_ACCESS_KEY_ID": admin["accessKeyId"], "AWS_SECRET_ACCESS_KEY": admin["secretAccessKey"]}
        session = dict(region_name="us-east-1", config=CONFIG, aws_access_key_id=admin["accessKeyId"],
                       aws_secret_access_key=admin["secretAccessKey"], endpoint_url=self.url)
        self.ddb = boto3.client("dynamodb", **session)
        self.s3 = boto3.client("s3", **session)
        self.s3.create_bucket(Bucket=BUCKET)

    def stop(self):
        self.process.stdin.close()
        self.process.wait(15)

    def create_table(self, name, wcu):
        self.ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}],
            ProvisionedThroughput={"ReadCapacityUnits": wcu, "WriteCapacityUnits": wcu})

    def state_keys(self, prefix):
        # Listed whole and filtered here: moto's signature check trips over boto3's Prefix/EncodingType query.
        keys, token = [], None
        while True:
            page = self.s3.list_objects_v2(Bucket=BUCKET, **({"ContinuationToken": token} if token else {}))
            keys += [o["Key"] for o in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not token:
                return sorted(k[len(prefix) + 1:] for k in keys if k.startswith(prefix + "/"))


@pytest.fixture
def moto(tmp_path):
    server = Moto(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def chain(tmp_path, items=1200, windows=3, changes=200, partitions=8):
    out = tmp_path / "chain"
    subprocess.run([EXPORTGEN, "generate", "--out", str(out), "--items", str(items), "--windows", str(windows),
                    "--changes", str(changes), "--partitions", str(partitions)], check=True,
                   capture_output=True, timeout=120)
    return out


def plan(env, chain_dir, tmp_path, table, percent):
    path = tmp_path / "plan.json"
    subprocess.run([FERRY, "plan", "--source", str(chain_dir / "exports"), "--target-table", table,
                    "--write-percent", str(percent), "--out", str(path)], env=env, check=True, capture_output=True,
                   timeout=60)
    return path


class Worker:
    """One worker as an engine starts it: its own directory (its machine), the index in the environment."""

    def __init__(self, env, plan_path, tmp_path, index, count, state, machine=None, extra=()):
        self.index = index
        self.directory = tmp_path / (machine or f"machine-{index}")
        self.directory.mkdir(exist_ok=True)
        self.plan = self.directory / "plan.json"
        if not self.plan.exists():
            shutil.copy(plan_path, self.plan)
        self.log = open(self.directory / f"stderr-{time.monotonic_ns()}.log", "w+")
        self.process = subprocess.Popen(
            [FERRY, "apply", str(self.plan), "--shards", str(count), "--state", state, *extra],
            env={**env, "JOB_COMPLETION_INDEX": str(index)}, stdout=subprocess.DEVNULL, stderr=self.log,
            cwd=self.directory)

    @property
    def checkpoint(self):
        paths = glob.glob(str(self.directory / "*.checkpoint.json"))
        if not paths:
            return None
        try:
            with open(paths[0]) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None  # being replaced: read it again

    def wait(self, seconds=150):
        try:
            return self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"worker {self.index} did not end: {self.stderr()[-2000:]}")

    def stderr(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()


def b64(value):
    return value if isinstance(value, str) else base64.b64encode(value).decode()


def norm(value):
    (kind, x), = value.items()
    if kind == "B":
        return kind, b64(x)
    if kind == "BS":
        return kind, tuple(sorted(b64(e) for e in x))
    if kind in ("SS", "NS"):
        return kind, tuple(sorted(x))
    if kind == "L":
        return kind, tuple(norm(e) for e in x)
    if kind == "M":
        return kind, tuple(sorted((k, norm(e)) for k, e in x.items()))
    return kind, x


def item(attributes):
    return tuple(sorted((k, norm(v)) for k, v in attributes.items()))


def scan(ddb, table):
    out, start = set(), None
    while True:
        page = ddb.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
        out |= {item(i) for i in page["Items"]}
        start = page.get("LastEvaluatedKey")
        if not start:
            return out


def expected_state(chain_dir):
    last = sorted(glob.glob(str(chain_dir / "expected" / "*.jsonl")))[-1]
    with open(last) as f:
        return {item(json.loads(line)) for line in f}


def windows_of(plan_path):
    with open(plan_path) as f:
        return len(json.load(f)["windows"])


def assert_markers(moto, prefix, windows, count):
    keys = moto.state_keys(prefix)
    for window in range(windows):
        for shard in range(count):
            assert f"windows/{window}/shard-{shard}.json" in keys, keys


def setup(moto, tmp_path, wcu, percent, table="orders", **chain_options):
    moto.create_table(table, wcu)
    env = {**BASE_ENV, **moto.keys, "AWS_ENDPOINT_URL_DYNAMODB": moto.url, "AWS_ENDPOINT_URL_S3": moto.url}
    chain_dir = chain(tmp_path, **chain_options)
    return env, chain_dir, plan(env, chain_dir, tmp_path, table, percent)


def test_four_workers_apply_the_chain_to_the_exact_state(moto, tmp_path):
    env, chain_dir, plan_path = setup(moto, tmp_path, wcu=4000, percent=80)
    state = f"s3://{BUCKET}/orders-run"
    workers = [Worker(env, plan_path, tmp_path, i, 4, state) for i in range(4)]
    codes = [w.wait() for w in workers]
    assert codes == [0, 0, 0, 0], [w.stderr()[-1500:] for w in workers]
    assert scan(moto.ddb, "orders") == expected_state(chain_dir)
    windows = windows_of(plan_path)
    assert_markers(moto, "orders-run", windows, 4)
    # Each worker wrote its own shard only; together, every record of the chain once.
    applied = [w.checkpoint for w in workers]
    assert [c["shard"] for c in applied] == ["0/4", "1/4", "2/4", "3/4"]
    assert all(c["windowsDone"] == windows for c in applied)
    status = subprocess.run([FERRY, "status", str(workers[0].plan), "--state", state, "--json"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["barrierWindowsDone"] == windows and report["shardCount"] == 4, report
    assert [s["windowsDone"] for s in report["shards"]] == [windows] * 4, report
    assert [s["claim"] for s in report["shards"]] == ["released"] * 4, "each worker released its claim at the end"
    assert report["itemsApplied"] == sum(c["itemsApplied"] for c in applied), (report, applied)
    # Another plan, or the same plan with another shard count, is refused by the run record.
    other = Worker(env, plan_path, tmp_path, 0, 3, state, machine="other-count")
    assert other.wait() == 3
    assert "with 4 shards" in other.stderr() and "with 3 shards" in other.stderr(), other.stderr()
    assert f"s3://{BUCKET}/orders-run" in other.stderr(), "names the state: " + other.stderr()


def test_a_worker_killed_mid_window_and_restarted_ends_at_the_exact_state(moto, tmp_path):
    # Slow enough to be caught mid-window: 400 WCU at 100 %, 100 WCU for each of 4 workers.
    env, chain_dir, plan_path = setup(moto, tmp_path, wcu=400, percent=100, items=2400)
    state = f"s3://{BUCKET}/killed"
    lease = ("--shard-lease", "2s", "--barrier-poll", "0.2s")
    workers = [Worker(env, plan_path, tmp_path, i, 4, state, extra=lease) for i in range(4)]
    victim = workers[1]

    def mid_window():
        c = victim.checkpoint
        return c is not None and (c["windowsDone"] >= 1 or c.get("filesDone"))

    wait_for(mid_window, 120, "shard 1 to save a checkpoint inside the run")
    victim.process.send_signal(signal.SIGKILL)
    assert victim.wait() == -signal.SIGKILL
    killed_at = victim.checkpoint
    assert killed_at["windowsDone"] < windows_of(plan_path), "killed before it finished"
    # The engine restarts the failed index on the same machine: it resumes from its checkpoint, once the killed
    # worker's claim has gone 1.5 leases without renewal.
    restarted = Worker(env, plan_path, tmp_path, 1, 4, state, extra=lease)
    codes = [w.wait() for w in [workers[0], workers[2], workers[3], restarted]]
    assert codes == [0, 0, 0, 0], [w.stderr()[-1500:] for w in workers + [restarted]]
    assert scan(moto.ddb, "orders") == expected_state(chain_dir)
    assert_markers(moto, "killed", windows_of(plan_path), 4)
    # It went on from its checkpoint (the items it had applied), not from the start of its shard.
    started = next(json.loads(line) for line in restarted.stderr().splitlines()
                   if line.startswith("{") and json.loads(line)["event"] == "windowStarted")
    assert started["window"] == killed_at["windowsDone"] + 1, (started, killed_at)
    assert started["itemsApplied"] == killed_at["itemsApplied"] > 0, (started, killed_at)
    assert "taken over from" in restarted.stderr(), restarted.stderr()


def test_a_replaced_worker_on_a_new_machine_resumes_from_its_markers(moto, tmp_path):
    env, chain_dir, plan_path = setup(moto, tmp_path, wcu=400, percent=100, items=1600)
    state = f"s3://{BUCKET}/replaced"
    lease = ("--shard-lease", "2s", "--barrier-poll", "0.2s")
    workers = [Worker(env, plan_path, tmp_path, i, 4, state, extra=lease) for i in range(4)]
    victim = workers[2]
    # Finished a window and published its marker (the local checkpoint is saved first: a kill between the two
    # leaves no marker, and the replacement rightly starts over; that is not what this test is about).
    wait_for(lambda: (victim.checkpoint or {}).get("windowsDone", 0) >= 1
             and "windows/0/shard-2.json" in moto.state_keys("replaced"), 120, "shard 2 to finish a window")
    victim.process.send_signal(signal.SIGKILL)
    victim.wait()
    # Its machine is gone: a new one has no checkpoint, only the shared state.
    replacement = Worker(env, plan_path, tmp_path, 2, 4, state, machine="new-machine", extra=lease)
    codes = [w.wait() for w in [workers[0], workers[1], workers[3], replacement]]
    assert codes == [0, 0, 0, 0], [w.stderr()[-1500:] for w in workers + [replacement]]
    assert "resuming after window" in replacement.stderr(), replacement.stderr()
    assert scan(moto.ddb, "orders") == expected_state(chain_dir)


def test_two_workers_given_the_same_index_one_proceeds_the_other_stops(moto, tmp_path):
    env, chain_dir, plan_path = setup(moto, tmp_path, wcu=400, percent=100, items=1600)
    state = f"s3://{BUCKET}/twice"
    lease = ("--shard-lease", "3s", "--barrier-poll", "0.2s")
    workers = [Worker(env, plan_path, tmp_path, i, 4, state, extra=lease) for i in range(4)]
    wait_for(lambda: "shards/0/claim.json" in moto.state_keys("twice"), 60, "shard 0's claim")
    # The engine retries a pod that was only slow: a second process with index 0, on another machine.
    twin = Worker(env, plan_path, tmp_path, 0, 4, state, machine="twin", extra=lease)
    assert twin.wait() == 8, twin.stderr()
    message = twin.stderr()
    assert "shard 0/4 is already being applied by another worker" in message, message
    assert " pid " in message and "s3://ferry-state/twice" in message, "names who holds it, and where: " + message
    assert twin.checkpoint is None or twin.checkpoint["windowsDone"] == 0 and not twin.checkpoint.get("filesDone")
    codes = [w.wait() for w in workers]
    assert codes == [0, 0, 0, 0], [w.stderr()[-1500:] for w in workers]
    assert scan(moto.ddb, "orders") == expected_state(chain_dir)


def test_the_aggregate_never_exceeds_the_budget_in_any_second(moto, tmp_path):
    """4 workers at 60 % of a 1,000-WCU table (the capacity simulator, no burst credit): every second's consumed
    capacity, summed over the workers, stays at or under 600 WCU; the simulator keeps the items, compared exactly."""
    log = tmp_path / "capsim.jsonl"
    sim = subprocess.Popen([sys.executable, CAPSIM, "--wcu", "1000", "--rcu", "1000", "--burst-seconds", "0",
                            "--table", "orders", "--hash", "pk:S", "--range", "sk:N", "--log", str(log), "--quiet",
                            "--signed-log", str(tmp_path / "signed.json")],
                           stdout=subprocess.PIPE, text=True, env=BASE_ENV)
    try:
        endpoint = json.loads(sim.stdout.readline())["endpoint"]
        env = {**BASE_ENV, **moto.keys, "AWS_ENDPOINT_URL_DYNAMODB": endpoint, "AWS_ENDPOINT_URL_S3": moto.url}
        chain_dir = chain(tmp_path, items=3000, windows=2, changes=300)
        plan_path = plan(env, chain_dir, tmp_path, "orders", 60)
        workers = [Worker(env, plan_path, tmp_path, i, 4, f"s3://{BUCKET}/budget") for i in range(4)]
        codes = [w.wait() for w in workers]
        assert codes == [0, 0, 0, 0], [w.stderr()[-1500:] for w in workers]
        items = scan(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", config=CONFIG,
                                  aws_access_key_id="x", aws_secret_access_key="x"), "orders")
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(15)
    assert items == expected_state(chain_dir)
    seconds = [s for s in map(json.loads, open(log)) if s.get("type") == "second"]
    # By the second each request was signed (SigV4's X-Amz-Date, set as the worker sends it): what the workers
    # sent in each second of their own clock. The simulator's own seconds (when it got round to each request) move
    # a little across second boundaries when the machine is loaded; they are shown, not asserted.
    with open(tmp_path / "signed.json") as f:
        signed = json.load(f)
    by_second = list(signed.values())
    received = [s["table"]["wcu"] for s in seconds]
    assert sum(by_second) == sum(received), "every unit counted once, both ways"
    assert len(by_second) >= 5, f"long enough to measure: {signed}"
    assert max(by_second) <= 600, f"over the budget of 600 WCU in a second: {signed} (as received: {received})"
    assert sum(s["table"]["throttled_calls"] for s in seconds) == 0, "60 % of a table is never throttled"
    # And the workers together use the budget (not a quarter of it): the busiest seconds come near it.
    assert max(by_second) >= 0.9 * 600, f"the workers together fill the budget: {signed}"


def test_follow_with_three_workers_announces_new_exports_once_and_closes_for_all(moto, tmp_path):
    """--follow: the last two exports land while three workers wait for more; one announces them, all apply them
    behind the barrier, and the --until-lag cut-over ends every worker."""
    moto.create_table("orders", 4000)
    env = {**BASE_ENV, **moto.keys, "AWS_ENDPOINT_URL_DYNAMODB": moto.url, "AWS_ENDPOINT_URL_S3": moto.url}
    chain_dir = chain(tmp_path, items=600, windows=3, changes=120)
    exports = chain_dir / "exports" / "exports" / "AWSDynamoDB"
    late = sorted(p for p in os.listdir(exports) if p != "data")[-2:]
    for name in late:
        shutil.move(str(exports / name), str(tmp_path / name))
    plan_path = plan(env, chain_dir, tmp_path, "orders", 80)
    planned = windows_of(plan_path)
    with open(plan_path) as f:
        plan_end = json.load(f)["windows"][-1]["to"]
    # Caught up only at the whole chain's end (two 15-minute windows after the plan's), with 5 minutes to spare.
    end = calendar.timegm(time.strptime(plan_end[:19], "%Y-%m-%dT%H:%M:%S")) + 2 * 900
    until = int(time.time() - end) + 300
    state = f"s3://{BUCKET}/follow"
    options = ("--follow", "--poll-interval", "1s", "--until-lag", f"{until}s", "--barrier-poll", "0.2s")
    workers = [Worker(env, plan_path, tmp_path, i, 3, state, extra=options) for i in range(3)]
    wait_for(lambda: all((w.checkpoint or {}).get("windowsDone") == planned for w in workers), 120,
             "every worker to apply the plan")
    time.sleep(2)  # a couple of polls that find nothing: the lag is over --until-lag
    assert all(w.process.poll() is None for w in workers), [w.stderr()[-800:] for w in workers]
    for name in late:
        shutil.move(str(tmp_path / name), str(exports / name))
    codes = [w.wait() for w in workers]
    assert codes == [0, 0, 0], [w.stderr()[-1500:] for w in workers]
    assert scan(moto.ddb, "orders") == expected_state(chain_dir)
    record = json.loads(moto.s3.get_object(Bucket=BUCKET, Key="follow/follow.json")["Body"].read())
    assert [w["exportId"] for w in record["windows"]] == late and record["closedAt"] == 2, record
    announced = [line for w in workers for line in w.stderr().splitlines() if "announced" in line]
    assert sum(int(line.split("announced ")[1].split()[0]) for line in announced) == 2, announced
    assert all(w.checkpoint["windowsDone"] == planned + 2 for w in workers)
    assert_markers(moto, "follow", planned + 2, 3)
    status = subprocess.run([FERRY, "status", str(workers[0].plan), "--state", state, "--json"], env=env,
                            capture_output=True, text=True, timeout=60)
    report = json.loads(status.stdout)
    assert report["windows"] == report["barrierWindowsDone"] == planned + 2, report
