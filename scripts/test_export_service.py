"""Tests of scripts/export-service.py against a real moto_server: python3 -m pytest -q scripts/test_export_service.py

Each test gets its own moto_server and export service (emulated clock at --speed 0, moved with /_control/advance),
both stopped at the end; the service must exit 0 on SIGTERM. When a built ferry binary exists (.build/debug/ferry,
never built here), `ferry plan` and `ferry apply` read a chain the service wrote.
"""
import base64
import decimal
import gzip
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib

import boto3
import botocore.config
import botocore.exceptions
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = os.path.join(HERE, "export-service.py")
FERRY = os.path.join(HERE, "..", ".build", "debug", "ferry")
START_MS = 1_768_384_800_000  # 2026-01-14T10:00:00Z, the service's --start below
MINUTE = 60
EMPTY_GZIP = bytes.fromhex("1f8b08000000000000ff03000000000000000000")  # AWS's 20-byte empty partition file
ENV = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
ENV.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
           AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
CONFIG = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=20)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class Env:
    """A moto_server (the S3 the exports go to) and the export service, with clients for both."""

    def __init__(self, tmp_path, users=None, s3_writer=None):
        """`users` (NAME@ACCOUNT=POLICY specs): moto runs as scripts/moto-fixture.py, signatures and IAM enforced,
        with those users (in `self.fixture["users"]`); the service writes to S3 as the user named `s3_writer`."""
        self.tmp = tmp_path
        self.service, self.fixture = None, None
        s3_keys = []
        if users is None:
            moto_port = free_port()
            self.moto_url = f"http://127.0.0.1:{moto_port}"
            self.moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                                          str(moto_port)], env=ENV, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            wait_for(lambda: listening(moto_port), 15, "moto_server")
            key = secret = "test"
        else:
            self.moto = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "moto-fixture.py"), "--timeout", "600",
                 *[a for spec in users for a in ("--user", spec)]],
                env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            self.fixture = json.loads(self.moto.stdout.readline())
            self.moto_url = self.fixture["endpoint"]
            key, secret = self.fixture["admin"]["accessKeyId"], self.fixture["admin"]["secretAccessKey"]
            writer = self.fixture["users"][s3_writer]
            s3_keys = ["--s3-access-key", writer["accessKeyId"], "--s3-secret-key", writer["secretAccessKey"]]
        port_file = tmp_path / "port"
        self.service = subprocess.Popen(
            [sys.executable, SERVICE, "--port", "0", "--s3-endpoint", self.moto_url, "--speed", "0",
             "--start", "2026-01-14T10:00:00Z", "--account", "111111111111", "--port-file", str(port_file),
             *s3_keys],
            env=ENV, stdout=subprocess.PIPE, text=True)
        wait_for(port_file.exists, 15, "the export service's port file")
        self.url = f"http://127.0.0.1:{port_file.read_text()}"
        assert self.service.stdout.readline().strip() == f"listening on {self.url}"
        self.s3 = boto3.client("s3", endpoint_url=self.moto_url, region_name="us-east-1", config=CONFIG,
                               aws_access_key_id=key, aws_secret_access_key=secret)
        self.ddb = boto3.client("dynamodb", endpoint_url=self.url, region_name="us-east-1", config=CONFIG,
                                aws_access_key_id="test", aws_secret_access_key="test")

    def stop(self):
        if self.service:
            self.service.terminate()
            assert self.service.wait(10) == 0, "the service did not stop cleanly on SIGTERM"
            self.service.stdout.close()
        if self.fixture:
            self.moto.stdin.close()  # moto-fixture.py stops when its standard input closes
            self.moto.stdout.close()
        else:
            self.moto.terminate()
        self.moto.wait(20)

    def control(self, action, method="POST", **query):
        url = f"{self.url}/_control/{action}?" + "&".join(f"{k}={v}" for k, v in query.items())
        with urllib.request.urlopen(urllib.request.Request(url, method=method, data=b"" if method == "POST"
                                                           else None), timeout=10) as response:
            return json.loads(response.read())

    def advance(self, seconds):
        return self.control("advance", seconds=seconds)["now"]

    def now(self):
        return self.control("now", method="GET")["now"]

    def table(self, name="orders", sort_key=False, pitr=True):
        keys = [("pk", "S", "HASH")] + ([("sk", "N", "RANGE")] if sort_key else [])
        arn = self.ddb.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": n, "KeyType": k} for n, _, k in keys],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t, _ in keys],
        )["TableDescription"]["TableArn"]
        if pitr:
            self.enable_pitr(name)
        return arn

    def enable_pitr(self, name, enabled=True, **spec):
        return self.ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": enabled, **spec})["ContinuousBackupsDescription"]

    def put(self, pk, **attributes):
        self.ddb.put_item(TableName="orders", Item={"pk": {"S": pk}, **attributes})

    def delete(self, pk):
        self.ddb.delete_item(TableName="orders", Key={"pk": {"S": pk}})

    def export(self, arn, bucket="exports", prefix="chain", **kwargs):
        return self.ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket=bucket, S3Prefix=prefix,
                                                      **kwargs)["ExportDescription"]

    def incremental(self, arn, from_ms, to_ms, view="NEW_AND_OLD_IMAGES", **kwargs):
        return self.export(arn, ExportType="INCREMENTAL_EXPORT", IncrementalExportSpecification={
            "ExportFromTime": from_ms / 1000, "ExportToTime": to_ms / 1000, "ExportViewType": view}, **kwargs)

    def describe(self, export):
        return self.ddb.describe_export(ExportArn=export["ExportArn"])["ExportDescription"]

    def get(self, key, bucket="exports"):
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def keys(self, bucket="exports"):
        return {o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])}

    def read_export(self, description, bucket="exports"):
        """The summary, the manifest entries and the data lines of a completed export; checks every checksum,
        ETag and item count on the way."""
        summary_key = description["ExportManifest"]
        summary_bytes = self.get(summary_key, bucket)
        assert self.get(summary_key[:-len(".json")] + ".md5", bucket).decode() == b64md5(summary_bytes)
        summary = json.loads(summary_bytes)
        manifest_bytes = self.get(summary["manifestFilesS3Key"], bucket)
        assert self.get(summary["manifestFilesS3Key"][:-len(".json")] + ".md5", bucket).decode() == \
            b64md5(manifest_bytes)
        assert manifest_bytes.endswith(b"\n")
        entries = [json.loads(line) for line in manifest_bytes.decode().splitlines()]
        lines = []
        for entry in entries:
            assert list(entry) == ["itemCount", "md5Checksum", "etag", "dataFileS3Key"]
            body = self.get(entry["dataFileS3Key"], bucket)
            assert entry["md5Checksum"] == b64md5(body)
            assert entry["etag"] == hashlib.md5(hashlib.md5(body).digest()).hexdigest() + "-1"
            # Uploaded as AWS does (one-part multipart), so S3's own ETag is the manifest's.
            head = self.s3.head_object(Bucket=bucket, Key=entry["dataFileS3Key"])
            assert head["ETag"].strip('"') == entry["etag"]
            text = gzip.decompress(body).decode()
            assert text == "" or text.endswith("\n")
            file_lines = text.splitlines()
            assert len(file_lines) == entry["itemCount"]
            if not file_lines:
                assert body == EMPTY_GZIP
            lines += file_lines
        assert len(entries) == 4
        assert summary["itemCount"] == len(lines) == description["ItemCount"]
        return summary, entries, lines


def b64md5(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def error_code(call):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


@pytest.fixture
def env(tmp_path):
    environment = Env(tmp_path)
    try:
        environment.s3.create_bucket(Bucket="exports")
        yield environment
    finally:
        environment.stop()


def test_full_export_is_the_state_at_export_time(env):
    arn = env.table()
    values = {f"p{i}": {"pk": {"S": f"p{i}"}, "n": {"N": "12345678901234567890123456789012345678"},
                        "ss": {"SS": ["a", "b"]}, "b": {"B": "AAEC"}, "m": {"M": {"e": {"S": ""}}}} for i in range(10)}
    for item in values.values():  # as wire JSON: boto3 would base64 the binary itself
        assert raw_call(env, "PutItem", {"TableName": "orders", "Item": item})[0] == 200
    export_time = env.advance(60)
    env.advance(1)
    env.put("p0", v={"N": "2"})  # after the export time: none of these may show
    env.delete("p1")
    env.put("p10")
    env.advance(10 * MINUTE)

    started = env.export(arn, ExportTime=export_time / 1000)
    assert started["ExportStatus"] == "IN_PROGRESS" and "EndTime" not in started
    export_id = started["ExportArn"].rsplit("/", 1)[1]
    assert re.fullmatch(r"%014d-[0-9a-f]{8}" % env.now(), export_id)
    assert started["ExportArn"] == f"{arn}/export/{export_id}"
    assert arn == "arn:aws:dynamodb:us-east-1:111111111111:table/orders"
    assert int(started["ExportTime"].timestamp() * 1000) == export_time
    folder = f"chain/AWSDynamoDB/{export_id}/"
    assert env.keys() == {folder + "_started"}  # written at the start, and nothing else yet
    assert env.get(folder + "_started") == b""

    env.advance(119)
    assert env.describe(started)["ExportStatus"] == "IN_PROGRESS"
    assert not any(k.endswith("manifest-summary.json") for k in env.keys())
    env.advance(1)
    done = env.describe(started)
    assert done["ExportStatus"] == "COMPLETED"
    assert (done["EndTime"] - done["StartTime"]).total_seconds() == 120
    assert done["ExportManifest"] == folder + "manifest-summary.json"

    summary, entries, lines = env.read_export(done)
    assert list(summary) == ["version", "exportArn", "startTime", "endTime", "tableArn", "tableId", "exportTime",
                             "s3Bucket", "s3Prefix", "s3SseAlgorithm", "s3SseKmsKeyId", "manifestFilesS3Key",
                             "billedSizeBytes", "itemCount", "outputFormat"]
    assert summary["version"] == "2020-06-30"
    assert summary["exportArn"] == done["ExportArn"] and summary["tableId"] == done["TableId"]
    assert summary["exportTime"] == iso(export_time) and summary["startTime"] == iso(env.now() - 120_000)
    assert (summary["s3Bucket"], summary["s3Prefix"], summary["s3SseAlgorithm"]) == ("exports", "chain", "AES256")
    assert summary["manifestFilesS3Key"] == folder + "manifest-files.json"
    assert summary["outputFormat"] == "DYNAMODB_JSON"
    for entry in entries:
        assert re.fullmatch(re.escape(folder) + r"data/[a-z2-7]{26}\.json\.gz", entry["dataFileS3Key"])
    items = {json.loads(line)["Item"]["pk"]["S"]: json.loads(line)["Item"] for line in lines}
    assert items == values  # verbatim: 38-digit numbers, sets, binary, empty strings


def test_incremental_window_compacts_each_key_to_its_final_state(env):
    arn = env.table()
    env.put("A", v={"N": "1"})
    env.put("B", v={"N": "1"})
    env.put("C", x={"S": "x"})
    env.put("G", v={"N": "1"})
    start = env.advance(60)  # the window [start, start + 15 min)
    env.advance(1)
    env.put("A", v={"N": "2"})
    last_a = env.advance(1)
    env.put("A", v={"N": "3"})
    env.delete("B")
    env.ddb.update_item(TableName="orders", Key={"pk": {"S": "C"}}, UpdateExpression="SET #y = :y REMOVE x",
                        ExpressionAttributeNames={"#y": "y"}, ExpressionAttributeValues={":y": {"BOOL": True}})
    env.put("D", v={"N": "1"})
    env.put("E")
    env.delete("E")  # inserted and deleted inside the window
    env.delete("Z")  # deleting a missing key changes nothing: no record
    env.put("G", v={"N": "1"})  # an identical put changes nothing: no record
    end = env.advance(15 * MINUTE - 2)
    assert end == start + 15 * MINUTE * 1000
    env.put("A", v={"N": "4"})  # at the window's (exclusive) end: not in it
    env.advance(25 * MINUTE)

    both = env.incremental(arn, start, end)
    new_only = env.incremental(arn, start, end, view="NEW_IMAGE")
    empty = env.incremental(arn, end + MINUTE * 1000, end + 16 * MINUTE * 1000)
    assert both["ExportStatus"] == "IN_PROGRESS" and both["ExportArn"] != new_only["ExportArn"]
    assert both["ExportArn"].rsplit("/", 1)[1][:14].endswith("000")  # incremental jobs start on a whole second
    env.advance(120)

    def records(export):
        description = env.describe(export)
        summary, entries, lines = env.read_export(description)
        for entry in entries:
            assert re.fullmatch(r"chain/AWSDynamoDB/data/[a-z2-7]{26}\.json\.gz", entry["dataFileS3Key"])
        return summary, {json.loads(line)["Keys"]["pk"]["S"]: json.loads(line) for line in lines}

    summary, got = records(both)
    assert list(summary) == ["version", "exportArn", "startTime", "endTime", "tableArn", "tableId",
                             "exportFromTime", "exportToTime", "s3Bucket", "s3Prefix", "s3SseAlgorithm",
                             "s3SseKmsKeyId", "manifestFilesS3Key", "billedSizeBytes", "itemCount", "outputFormat",
                             "outputView", "exportType"]
    assert (summary["version"], summary["exportFromTime"], summary["exportToTime"]) == \
        ("2023-08-01", iso(start), iso(end))
    assert (summary["outputView"], summary["exportType"], summary["billedSizeBytes"]) == \
        ("NEW_AND_OLD_IMAGES", "INCREMENTAL_EXPORT", 10_000_000)
    assert sorted(got) == ["A", "B", "C", "D", "E"]
    assert got["A"] == {"Metadata": {"WriteTimestampMicros": {"N": str(last_a * 1000)}}, "Keys": {"pk": {"S": "A"}},
                        "OldImage": {"pk": {"S": "A"}, "v": {"N": "1"}},
                        "NewImage": {"pk": {"S": "A"}, "v": {"N": "3"}}}
    assert list(got["A"]) == ["Metadata", "Keys", "OldImage", "NewImage"]  # the real files' order
    assert {k: v for k, v in got["B"].items() if k != "Metadata"} == \
        {"Keys": {"pk": {"S": "B"}}, "OldImage": {"pk": {"S": "B"}, "v": {"N": "1"}}}
    assert (got["C"]["OldImage"], got["C"]["NewImage"]) == \
        ({"pk": {"S": "C"}, "x": {"S": "x"}}, {"pk": {"S": "C"}, "y": {"BOOL": True}})
    assert "OldImage" not in got["D"] and got["D"]["NewImage"] == {"pk": {"S": "D"}, "v": {"N": "1"}}
    assert set(got["E"]) == {"Metadata", "Keys"}

    summary, got = records(new_only)
    assert summary["outputView"] == "NEW_IMAGE"
    assert not any("OldImage" in record for record in got.values())
    assert set(got["B"]) == {"Metadata", "Keys"} and got["A"]["NewImage"]["v"] == {"N": "3"}

    summary, got = records(empty)
    assert summary["itemCount"] == 0 and got == {}  # four empty files, each AWS's 20-byte gzip


def test_ion_format(env):
    arn = env.table()
    item = {"pk": {"S": 'a"b'}, "n": {"N": "600"}, "f": {"N": "1.5E+3"}, "d": {"N": "-0.25"}, "b": {"B": "aGk="},
            "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "20"]}, "bs": {"BS": ["aGk="]},
            "l": {"L": [{"N": "103"}, {"NULL": True}]}, "m": {"M": {"a-b": {"BOOL": False}, "null": {"S": "\n"}}}}
    assert raw_call(env, "PutItem", {"TableName": "orders", "Item": item})[0] == 200
    at = env.advance(60)
    written = env.advance(1)
    env.put("q")
    env.advance(20 * MINUTE)
    full = env.export(arn, ExportTime=at / 1000, ExportFormat="ION")
    change = env.incremental(arn, at, at + 15 * MINUTE * 1000, ExportFormat="ION")
    env.advance(120)

    summary, entries, lines = env.read_export(env.describe(full))
    assert summary["outputFormat"] == "ION" and all(e["dataFileS3Key"].endswith(".ion.gz") for e in entries)
    assert lines == ['$ion_1_0 {Item:{pk:"a\\"b",n:6d2,f:1.5d3,d:-0.25,b:{{aGk=}},ss:$dynamodb_SS::["x","y"],'
                     'ns:$dynamodb_NS::[1.,2d1],bs:$dynamodb_BS::[{{aGk=}}],l:[103.,null],'
                     "m:{'a-b':false,'null':\"\\n\"}}}"]
    _, _, lines = env.read_export(env.describe(change))
    assert lines == ['$ion_1_0 {Metadata:{WriteTimestampMicros:%d},Keys:{pk:"q"},NewImage:{pk:"q"}}' % (written * 1000)]


def test_client_token_is_idempotent_and_refuses_other_parameters(env):
    arn = env.table()
    env.advance(10 * MINUTE)
    first = env.export(arn, ClientToken="token-1")
    again = env.export(arn, ClientToken="token-1")
    assert again["ExportArn"] == first["ExportArn"]
    code, message = error_code(lambda: env.export(arn, prefix="elsewhere", ClientToken="token-1"))
    assert code == "ImportConflictException" and "token-1" in message
    env.advance(120)
    assert env.export(arn, ClientToken="token-1")["ExportStatus"] == "COMPLETED"  # the same export, as it is now
    assert len(env.ddb.list_exports(TableArn=arn)["ExportSummaries"]) == 1
    env.advance(8 * 3600 + 1)  # tokens are remembered 8 hours after their export finished
    assert env.export(arn, prefix="elsewhere", ClientToken="token-1")["ExportArn"] != first["ExportArn"]


def test_pitr_window_and_export_time_validation(env):
    arn = env.table(pitr=False)
    backups = env.ddb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"]
    assert backups == {"ContinuousBackupsStatus": "ENABLED",
                       "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}}
    assert error_code(lambda: env.export(arn))[0] == "PointInTimeRecoveryUnavailableException"

    enabled = env.advance(60)
    pitr = env.enable_pitr("orders")["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED" and pitr["RecoveryPeriodInDays"] == 35
    assert pitr["EarliestRestorableDateTime"].timestamp() * 1000 == enabled
    assert pitr["LatestRestorableDateTime"].timestamp() * 1000 == enabled  # never before the earliest
    now = env.advance(3600)
    # Raw JSON: the times are epoch seconds as numbers.
    raw = raw_call(env, "DescribeContinuousBackups", {"TableName": "orders"})[2]["ContinuousBackupsDescription"]
    assert raw["PointInTimeRecoveryDescription"]["EarliestRestorableDateTime"] == enabled / 1000
    assert raw["PointInTimeRecoveryDescription"]["LatestRestorableDateTime"] == (now - 5 * MINUTE * 1000) / 1000

    # As Ferry's Swift client sends it: epoch seconds with a millisecond fraction, kept exactly.
    status, _, body = raw_call(env, "ExportTableToPointInTime", {
        "TableArn": arn, "S3Bucket": "exports", "ExportType": "FULL_EXPORT", "ExportTime": (enabled + 123) / 1000,
        "ClientToken": "fraction"})
    assert status == 200 and body["ExportDescription"]["ExportTime"] == (enabled + 123) / 1000

    invalid_time = "InvalidExportTimeException"
    assert error_code(lambda: env.export(arn, ExportTime=(now - 60_000) / 1000))[0] == invalid_time  # after latest
    assert error_code(lambda: env.export(arn, ExportTime=(enabled - 1) / 1000))[0] == invalid_time
    assert error_code(lambda: env.incremental(arn, enabled - 1000, enabled + 15 * 60_000))[0] == invalid_time
    assert error_code(lambda: env.incremental(arn, enabled, enabled + 14 * 60_000))[0] == invalid_time  # < 15 min
    assert error_code(lambda: env.incremental(arn, enabled, now))[0] == invalid_time  # ends after latest
    assert error_code(lambda: env.export(arn, ExportType="INCREMENTAL_EXPORT"))[0] == "ValidationException"
    assert error_code(lambda: env.export(arn, ExportFormat="CSV"))[0] == "ValidationException"
    env.advance(25 * 3600)
    assert error_code(lambda: env.incremental(arn, enabled, enabled + 24 * 3600_000 + 1000))[0] == invalid_time
    assert env.incremental(arn, enabled, enabled + 24 * 3600_000)["ExportStatus"] == "IN_PROGRESS"

    env.enable_pitr("orders", enabled=False)
    assert error_code(lambda: env.export(arn))[0] == "PointInTimeRecoveryUnavailableException"
    reenabled = env.advance(60)
    pitr = env.enable_pitr("orders", RecoveryPeriodInDays=1)["PointInTimeRecoveryDescription"]
    assert pitr["EarliestRestorableDateTime"].timestamp() * 1000 == reenabled  # the old window is gone
    env.advance(3600)
    assert error_code(lambda: env.incremental(arn, enabled, enabled + 15 * 60_000))[0] == invalid_time
    now = env.advance(2 * 86400)
    pitr = env.ddb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["EarliestRestorableDateTime"].timestamp() * 1000 == \
        now - 86400_000  # RecoveryPeriodInDays bounds it


def test_failed_exports(env):
    arn = env.table()
    env.advance(10 * MINUTE)
    env.control("fail-next-export", code="S3AccessDenied", message="Access%20Denied%20for%20test")
    armed = env.export(arn)
    assert armed["ExportStatus"] == "IN_PROGRESS"
    env.advance(120)
    failed = env.describe(armed)
    assert (failed["ExportStatus"], failed["FailureCode"], failed["FailureMessage"]) == \
        ("FAILED", "S3AccessDenied", "Access Denied for test")
    assert "EndTime" in failed and "ExportManifest" not in failed
    export_id = armed["ExportArn"].rsplit("/", 1)[1]
    assert env.keys() == {f"chain/AWSDynamoDB/{export_id}/_started"}  # started, then nothing

    assert env.describe(ok := env.export(arn))["ExportStatus"] == "IN_PROGRESS"  # armed once only
    env.advance(120)
    assert env.describe(ok)["ExportStatus"] == "COMPLETED"

    missing = env.export(arn, bucket="no-such-bucket")
    assert missing["ExportStatus"] == "IN_PROGRESS"  # the call succeeds; the job fails, as on AWS
    failed = env.describe(missing)
    assert (failed["ExportStatus"], failed["FailureCode"]) == ("FAILED", "S3NoSuchBucket")
    statuses = [s["ExportStatus"] for s in env.ddb.list_exports(TableArn=arn)["ExportSummaries"]]
    assert statuses == ["FAILED", "COMPLETED", "FAILED"]


def raw_call(env, operation, body, target_prefix="DynamoDB_20120810."):
    request = urllib.request.Request(env.url + "/", data=json.dumps(body).encode(), method="POST", headers={
        "X-Amz-Target": target_prefix + operation, "Content-Type": "application/x-amz-json-1.0"})
    try:
        response = urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as error:
        response = error
    data = response.read()
    assert response.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert int(response.headers["Content-Length"]) == len(data)
    assert int(response.headers["x-amz-crc32"]) == zlib.crc32(data)
    return response.status, response.headers, json.loads(data)


def test_table_and_item_operations(env):
    env.table(sort_key=True, pitr=False)
    assert error_code(lambda: env.table(sort_key=True))[0] == "ResourceInUseException"
    status, _, body = raw_call(env, "DescribeTable", {"TableName": "missing"})
    assert status == 400 and body["__type"] == "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    assert raw_call(env, "Nope", {})[2]["__type"] == "com.amazon.coral.service#UnknownOperationException"

    items = [{"pk": {"S": "p%02d" % i}, "sk": {"N": str(i)}} for i in range(30)]
    put = [{"PutRequest": {"Item": item}} for item in items]
    assert env.ddb.batch_write_item(RequestItems={"orders": put[:25]})["UnprocessedItems"] == {}
    env.ddb.batch_write_item(RequestItems={"orders": put[25:]})
    assert error_code(lambda: env.ddb.batch_write_item(RequestItems={"orders": put[:26]}))[0] == \
        "ValidationException"
    assert error_code(lambda: env.ddb.batch_write_item(RequestItems={"orders": [put[0], put[0]]}))[0] == \
        "ValidationException"
    assert error_code(lambda: env.ddb.put_item(TableName="orders", Item={"pk": {"S": "x"}, "sk": {"S": "1"}}))[0] \
        == "ValidationException"

    pages, start = [], {}
    while True:
        page = env.ddb.scan(TableName="orders", Limit=12, **start)
        pages.append(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    assert [len(p) for p in pages] == [12, 12, 6] and sum(pages, []) == sorted(items, key=json.dumps)
    segments = [env.ddb.scan(TableName="orders", Segment=s, TotalSegments=3)["Items"] for s in range(3)]
    assert sorted(sum(segments, []), key=json.dumps) == sorted(items, key=json.dumps) and all(segments)

    key = {"pk": {"S": "p01"}, "sk": {"N": "1"}}
    updated = env.ddb.update_item(TableName="orders", Key=key, UpdateExpression="SET a = :a, b = :b",
                                  ExpressionAttributeValues={":a": {"N": "1.50"}, ":b": {"NS": ["1", "2"]}},
                                  ReturnValues="ALL_NEW")["Attributes"]
    assert updated == {**key, "a": {"N": "1.50"}, "b": {"NS": ["1", "2"]}}  # numbers kept as written
    assert env.ddb.get_item(TableName="orders", Key=key)["Item"] == updated
    assert error_code(lambda: env.ddb.update_item(TableName="orders", Key=key, UpdateExpression="SET pk = :a",
                                                  ExpressionAttributeValues={":a": {"S": "x"}}))[0] == \
        "ValidationException"
    assert env.ddb.delete_item(TableName="orders", Key=key, ReturnValues="ALL_OLD")["Attributes"] == updated
    assert "Item" not in env.ddb.get_item(TableName="orders", Key=key)
    assert env.ddb.describe_table(TableName="orders")["Table"]["ItemCount"] == 29
    assert env.ddb.list_tables()["TableNames"] == ["orders"]
    assert env.ddb.delete_table(TableName="orders")["TableDescription"]["TableStatus"] == "DELETING"
    assert env.ddb.list_tables()["TableNames"] == []


def test_clock_controls_and_exports_completing_on_their_own(env):
    assert env.now() == START_MS
    arn = env.table()
    env.control("speed", value=600)
    started = env.export(arn)  # 120 emulated seconds: 0.2 s real at 600×
    folder = f"chain/AWSDynamoDB/{started['ExportArn'].rsplit('/', 1)[1]}/"
    # Nobody asks the service: its background thread must complete the export.
    wait_for(lambda: folder + "manifest-summary.json" in env.keys(), 10, "the export to complete by itself")
    env.control("speed", value=0)
    moved = env.now() - START_MS
    assert moved >= 120_000
    assert env.now() == START_MS + moved  # stopped
    assert env.describe(started)["ExportStatus"] == "COMPLETED"
    with pytest.raises(urllib.error.HTTPError):
        env.advance(-1)


@pytest.mark.skipif(not os.access(FERRY, os.X_OK), reason="no built ferry binary at .build/debug/ferry")
@pytest.mark.parametrize("export_format", ["DYNAMODB_JSON", "ION"])
def test_ferry_plans_and_applies_a_chain_the_service_wrote(env, tmp_path, export_format):
    arn = env.table()
    for i in range(20):
        env.put(f"k{i}", v={"N": str(i * 1000)}, s={"SS": ["a", "b"]}, m={"M": {"x-y": {"N": "0.5"}}})
    full_at = env.advance(60)
    windows = [full_at + k * 15 * MINUTE * 1000 for k in range(3)]
    env.advance(60)
    env.put("k0", v={"N": "100"})
    env.delete("k1")
    env.advance(15 * MINUTE)
    env.put("k2", v={"S": "two"})
    env.put("new")
    env.advance(30 * MINUTE)
    exports = [env.export(arn, ExportTime=full_at / 1000, ExportFormat=export_format)]
    exports += [env.incremental(arn, a, b, ExportFormat=export_format) for a, b in zip(windows, windows[1:])]
    env.advance(120)
    assert [env.describe(e)["ExportStatus"] for e in exports] == ["COMPLETED"] * 3

    # The target: a table in moto's DynamoDB (plan reads its capacity; apply writes to it).
    target = boto3.client("dynamodb", endpoint_url=env.moto_url, region_name="us-east-1", config=CONFIG,
                          aws_access_key_id="test", aws_secret_access_key="test")
    target.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    aws = ["--source-endpoint-url", env.moto_url, "--source-region", "us-east-1",
           "--target-endpoint-url", env.moto_url, "--target-region", "us-east-1"]

    def ferry(*arguments):
        run = subprocess.run([FERRY, *arguments, *aws], env=ENV, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr

    plan = tmp_path / "plan.json"
    ferry("plan", "--source", "s3://exports/chain", "--target-table", "t", "--out", str(plan))
    windows_planned = json.loads(plan.read_text())["windows"]
    assert [w["exportArn"] for w in windows_planned] == [e["ExportArn"] for e in exports]

    # Applied, the chain leaves the target equal to the source's state at the last window's end (now).
    ferry("apply", str(plan), "--max-write-units", "1000")
    # Through Ion a number keeps its value, not its spelling (100 → 1d2 → "1E2"; DynamoDB itself would answer
    # "100", moto keeps the text): compare ION chains by value.
    same = (lambda items: items) if export_format == "DYNAMODB_JSON" else (lambda items: [by_value(i) for i in items])
    expected = sorted(same(env.ddb.scan(TableName="orders")["Items"]), key=json.dumps)
    assert sorted(same(target.scan(TableName="t")["Items"]), key=json.dumps) == expected


def by_value(value):
    """An item or value with numbers as normalised Decimal text: equal when DynamoDB would call them equal."""
    if isinstance(value, dict):
        return {k: str(decimal.Decimal(v).normalize()) if k == "N" else
                sorted(str(decimal.Decimal(n).normalize()) for n in v) if k == "NS" else by_value(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [by_value(v) for v in value]
    return value
