#!/usr/bin/env python3
"""A local DynamoDB endpoint for the *source* account that exports tables to S3 the way AWS does.

moto's ExportTableToPointInTime is a toy (one data file, no manifests, no incremental exports), so tests and the
demo need this instead: a DynamoDB JSON 1.0 endpoint that keeps tables in memory, records every write with its
(emulated) time, and writes FULL and INCREMENTAL exports into an S3 emulator (moto_server) in exactly AWS's layout:
`_started` when an export starts, data files, `manifest-files.json`/.md5 and `manifest-summary.json`/.md5 when it
completes. See /work/shared/reference/dynamodb-export-format.md §1, §2 and §8 for the format facts it follows,
and Sources/ExportGenerator/ExportLayoutWriter.swift for the same layout written by Ferry's own generator.

    python3 scripts/export-service.py --port 0 --s3-endpoint http://127.0.0.1:PORT [--speed 0] [--port-file F]

Emulated time is `--start` + real seconds × `--speed` + what `POST /_control/advance?seconds=N` added; every write
time, PITR bound and export completion uses it. Control endpoints (plain HTTP):
    POST /_control/advance?seconds=N      GET /_control/now → {"now": epoch_ms}
    POST /_control/speed?value=N          POST /_control/fail-next-export?code=C&message=M
Requests are not authenticated (any signature is accepted). Test tool only: it binds 127.0.0.1.

Known differences from AWS (unverified points and deliberate simplifications):
- a key inserted and deleted inside one window gets a Keys-only record (AWS may emit none; Ferry treats either as a
  delete); writes that change nothing are not recorded, as Streams behaves;
- window-length errors are InvalidExportTimeException (AWS may say ValidationException); an S3 failure at start shows
  as FAILED from the next request on; every S3 error but NoSuchBucket becomes S3AccessDenied;
- not modelled: ExportConflictException, limits, throttling, ConsumedCapacity, the 400 KB item limit, LSIs, Query,
  BatchGetItem, UpdateExpression ADD/DELETE and nested paths (conditions and filters are refused, projections ignored);
- numeric key values compare as exact text ("1" and "1.0" are two keys); BilledSizeBytes is the uncompressed size of
  the data lines (at least 10 MB for an incremental); ION incrementals write WriteTimestampMicros as an Ion int;
- one lock covers everything, S3 writes included; signatures are not checked; chunked request bodies get a 411.
"""
import argparse
import base64
import datetime
import decimal
import hashlib
import json
import os
import re
import signal
import struct
import sys
import threading
import time
import urllib.parse
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import botocore.config
import botocore.exceptions

MINUTE_MS = 60_000
PITR_LAG_MS = 5 * MINUTE_MS  # LatestRestorableDateTime is "typically 5 minutes before the current time"
TOKEN_VALIDITY_MS = 8 * 60 * MINUTE_MS  # a ClientToken is remembered 8 hours after its export finished
PARTITIONS = 4  # data files per export; AWS writes one per source partition, empty ones included
INCREMENTAL_MIN_BILLED = 10_000_000  # incremental exports bill at least 10 MB
SCAN_PAGE_BYTES = 1 << 20  # Scan returns at most 1 MB per page


def json_number(value):
    """Requests are parsed with Decimal (exact epoch-second fractions); they go back out as JSON numbers."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def canonical(value):
    """The exact JSON text of a value: how keys are compared and sorted (no numeric normalisation)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=json_number)


def compact(value):
    """JSON as AWS writes manifests and data lines: one line, no spaces, UTF-8, `/` unescaped, keys in order."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=json_number).encode()


def iso(ms):
    """`YYYY-MM-DDTHH:MM:SS.mmmZ`, the manifests' time format."""
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def epoch_seconds(ms):
    """A time as DynamoDB's JSON protocol sends it: epoch seconds as a number, milliseconds as the fraction."""
    return ms / 1000


def base64_md5(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def gzip_bytes(data):
    """gzip as the exports' files are: mtime 0, XFL 0, OS 255, so empty input gives AWS's exact 20-byte stream.
    (Python's gzip module writes other header bytes with mtime=0.)"""
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = deflater.compress(data) + deflater.flush()
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + body + struct.pack("<II", zlib.crc32(data), len(data))


class ApiError(Exception):
    """A DynamoDB error response: HTTP 400 (unless told) with `{"__type": ..., "message": ...}`."""

    PREFIXES = {"ValidationException": "com.amazon.coral.validate#",
                "UnknownOperationException": "com.amazon.coral.service#",
                "SerializationException": "com.amazon.coral.service#"}

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self):
        prefix = self.PREFIXES.get(self.code, "com.amazonaws.dynamodb.v20120810#")
        return {"__type": prefix + self.code, "message": self.message}


def invalid(message):
    return ApiError("ValidationException", message)


def require_enum(value, name, allowed):
    if value not in allowed:
        raise invalid(f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: "
                      f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    return value


# ---------------------------------------------------------------------------------------------------------------
# Clock


class Clock:
    """Emulated time in microseconds: `--start` + real elapsed × speed + manual advances. Never goes backwards,
    so the write history stays in time order. Callers hold the service lock."""

    def __init__(self, start_ms, speed):
        self._base_us = start_ms * 1000
        self._anchor = time.monotonic()
        self._speed = speed

    def now_us(self):
        return self._base_us + int((time.monotonic() - self._anchor) * 1_000_000 * self._speed)

    def now_ms(self):
        return self.now_us() // 1000

    def advance(self, seconds):
        if seconds < 0:
            raise ValueError("the clock only moves forwards")
        self._base_us += int(seconds * 1_000_000)

    def set_speed(self, speed):
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._base_us, self._anchor, self._speed = self.now_us(), time.monotonic(), speed


# ---------------------------------------------------------------------------------------------------------------
# Tables, items and the write history

TYPES = {"S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"}
NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def validate_value(value):
    """Rejects what DynamoDB would: a value must have exactly one known type; numbers must be numbers; sets
    must be non-empty. Values are kept verbatim (numbers stay strings)."""
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in TYPES:
        raise invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
    kind, inner = next(iter(value.items()))
    if kind == "N" and not (isinstance(inner, str) and NUMBER.fullmatch(inner)):
        raise invalid(f"The parameter cannot be converted to a numeric value: {inner}")
    if kind in ("SS", "NS", "BS"):
        # AWS's own wording, double space included.
        noun = {"SS": "string", "NS": "number", "BS": "binary"}[kind]
        if not inner:
            raise invalid(f"One or more parameter values were invalid: An {noun} set  may not be empty")
        if len(set(inner)) != len(inner):
            raise invalid("One or more parameter values were invalid: Input collection contains duplicates")
    if kind == "NS":
        for n in inner:
            validate_value({"N": n})
    elif kind == "L":
        for v in inner:
            validate_value(v)
    elif kind == "M":
        for v in inner.values():
            validate_value(v)


class Table:
    def __init__(self, request, region, account, now_ms):
        self.name = request["TableName"]
        self.key_schema = request["KeySchema"]
        self.attribute_definitions = request["AttributeDefinitions"]
        self.billing_mode = request.get("BillingMode")
        self.throughput = request.get("ProvisionedThroughput") or {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
        self.indexes = request.get("GlobalSecondaryIndexes") or []
        self.arn = f"arn:aws:dynamodb:{region}:{account}:table/{self.name}"
        self.table_id = str(uuid.uuid4())
        self.created_ms = now_ms
        types = {d["AttributeName"]: d["AttributeType"] for d in self.attribute_definitions}
        ordered = sorted(self.key_schema, key=lambda k: k["KeyType"] != "HASH")  # HASH first, then RANGE
        self.key_types = [(k["AttributeName"], types[k["AttributeName"]]) for k in ordered]
        self.items = {}  # canonical key → item (wire JSON, verbatim)
        # Every write that changed an item, in write order (so also in time order, the clock never going back):
        # (time_us, canonical key, keys, image or None). Microseconds, because WriteTimestampMicros needs them.
        self.history = []
        self.pitr_since_ms = None  # when PITR was (last) enabled; None while disabled
        self.recovery_days = 35
        self.ttl = None  # the TTL attribute while TTL is on (kept for DescribeTimeToLive; nothing expires)
        self.tags = {}

    def key_of(self, attributes, exact=False):
        """(canonical key, key attributes) of an item, or of a `Key` parameter when `exact` (nothing else allowed)."""
        if exact and set(attributes) != {name for name, _ in self.key_types}:
            raise invalid("The provided key element does not match the schema")
        keys = {}
        for name, kind in self.key_types:
            value = attributes.get(name)
            if value is None:
                raise invalid(f"One or more parameter values were invalid: Missing the key {name} in the item")
            actual = next(iter(value)) if isinstance(value, dict) and value else "?"
            if actual != kind:
                raise invalid(f"One or more parameter values were invalid: Type mismatch for key {name} "
                              f"expected: {kind} actual: {actual}")
            if value[kind] == "":
                raise invalid("One or more parameter values are not valid. The AttributeValue for a key attribute "
                              f"cannot contain an empty string value. Key: {name}")
            keys[name] = value
        return canonical([keys[name] for name, _ in self.key_types]), keys

    def write(self, key, keys, image, time_us):
        """Stores the new state of a key (None: deleted) and records it. A write that changes nothing is not
        recorded, as DynamoDB Streams (and so incremental exports) skip writes that leave the item unchanged."""
        old = self.items.get(key)
        if old == image:
            return old
        if image is None:
            del self.items[key]
        else:
            self.items[key] = image
        self.history.append((time_us, key, keys, image))
        return old

    def state_before(self, end_us):
        """Each key's image after every write with time < end_us ({key: (keys, image or None)})."""
        state = {}
        for time_us, key, keys, image in self.history:
            if time_us >= end_us:
                break
            state[key] = (keys, image)
        return state

    def pitr_window(self, now_ms):
        """(earliest, latest) restorable times, or None when PITR is off. Latest never precedes earliest: right
        after enabling, the only restorable point is the moment PITR was enabled."""
        if self.pitr_since_ms is None:
            return None
        earliest = max(self.pitr_since_ms, now_ms - self.recovery_days * 24 * 60 * MINUTE_MS)
        return earliest, max(earliest, now_ms - PITR_LAG_MS)

    def description(self, status="ACTIVE"):
        created = epoch_seconds(self.created_ms)
        throughput = {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": self.throughput["ReadCapacityUnits"],
                      "WriteCapacityUnits": self.throughput["WriteCapacityUnits"]}
        table = {"AttributeDefinitions": self.attribute_definitions, "TableName": self.name,
                 "KeySchema": self.key_schema, "TableStatus": status, "CreationDateTime": created,
                 "ProvisionedThroughput": throughput,
                 "TableSizeBytes": sum(len(compact(item)) for item in self.items.values()),
                 "ItemCount": len(self.items), "TableArn": self.arn, "TableId": self.table_id}
        # BillingModeSummary is absent on tables created without a BillingMode, as on AWS.
        if self.billing_mode:
            table["BillingModeSummary"] = {"BillingMode": self.billing_mode}
            if self.billing_mode == "PAY_PER_REQUEST":
                table["BillingModeSummary"]["LastUpdateToPayPerRequestDateTime"] = created
        if self.indexes:
            table["GlobalSecondaryIndexes"] = [
                {**{k: v for k, v in index.items() if k != "ProvisionedThroughput"}, "IndexStatus": "ACTIVE",
                 "ProvisionedThroughput": {"NumberOfDecreasesToday": 0, **(index.get("ProvisionedThroughput") or
                                           {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0})},
                 "IndexSizeBytes": 0, "ItemCount": 0, "IndexArn": f"{self.arn}/index/{index['IndexName']}"}
                for index in self.indexes]
        table["DeletionProtectionEnabled"] = False
        return table


UPDATE_CLAUSES = re.compile(r"\b(SET|REMOVE|ADD|DELETE)\b", re.IGNORECASE)
NAME = re.compile(r"#?[A-Za-z0-9_]+")


def apply_update(item, expression, names, values, key_names):
    """Applies `SET a = :v, #b = :w` and `REMOVE a, #b` (top-level attributes only) to a copy of `item`."""
    parts = UPDATE_CLAUSES.split(expression)
    if parts[0].strip():
        raise invalid(f'Invalid UpdateExpression: Syntax error; token: "{parts[0].strip()}"')
    result = dict(item)

    def attribute(path):
        path = path.strip()
        if not NAME.fullmatch(path):
            raise invalid(f"Invalid UpdateExpression: this emulator updates top-level attributes only: {path}")
        if path.startswith("#"):
            if path not in names:
                raise invalid("Invalid UpdateExpression: An expression attribute name used in the document path "
                              f"is not defined; attribute name: {path}")
            path = names[path]
        if path in key_names:
            raise invalid(f"One or more parameter values were invalid: Cannot update attribute {path}. "
                          "This attribute is part of the key")
        return path

    for clause, body in zip(parts[1::2], parts[2::2]):
        clause = clause.upper()
        for action in body.split(","):
            if clause == "SET":
                path, _, operand = action.partition("=")
                operand = operand.strip()
                if operand not in values:
                    raise invalid("Invalid UpdateExpression: this emulator supports only SET path = :value, and "
                                  f"every value must be defined; got: {action.strip()}")
                validate_value(values[operand])
                result[attribute(path)] = values[operand]
            elif clause == "REMOVE":
                result.pop(attribute(action), None)
            else:
                raise invalid(f"Invalid UpdateExpression: {clause} is not supported by this emulator")
    return result


# ---------------------------------------------------------------------------------------------------------------
# Export content: data lines in DYNAMODB_JSON or Ion text


def ion_decimal(text):
    """DynamoDB number text → Ion decimal: `103` → `103.`, `600` → `6d2`, `1.5E+3` → `1.5d3` (as the exports and
    ExportGenerator/IonEncoder.swift write them: trailing zeros of an integer move into the exponent)."""
    mantissa, _, exponent = text.lower().partition("e")
    exponent = int(exponent or 0)
    if "." not in mantissa:
        if mantissa.strip("-0"):
            while mantissa.endswith("0"):
                mantissa, exponent = mantissa[:-1], exponent + 1
        return mantissa + "." if exponent == 0 else f"{mantissa}d{exponent}"
    return mantissa if exponent == 0 else f"{mantissa}d{exponent}"


def ion_string(text, quote='"'):
    out = [quote]
    for c in text:
        if c in (quote, "\\"):
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 0x20:
            out.append("\\x%02x" % ord(c))
        else:
            out.append(c)
    return "".join(out) + quote


ION_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def ion_name(name):
    """A field name: an identifier symbol, or a quoted symbol when it is not one (or is an Ion keyword)."""
    if ION_IDENTIFIER.fullmatch(name) and name not in ("true", "false", "null", "nan"):
        return name
    return ion_string(name, "'")


def ion_value(value):
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return ion_string(inner)
    if kind == "N":
        return ion_decimal(inner)
    if kind == "B":
        return "{{" + inner + "}}"  # the wire value is already base64
    if kind == "BOOL":
        return "true" if inner else "false"
    if kind == "NULL":
        return "null"
    if kind == "L":
        return "[" + ",".join(ion_value(v) for v in inner) + "]"
    if kind == "M":
        return ion_struct(inner)
    member = {"SS": ion_string, "NS": ion_decimal, "BS": lambda b: "{{" + b + "}}"}[kind]
    return f"$dynamodb_{kind}::[" + ",".join(member(v) for v in inner) + "]"


def ion_struct(item):
    return "{" + ",".join(f"{ion_name(name)}:{ion_value(v)}" for name, v in item.items()) + "}"


def full_line(item, ion):
    return f"$ion_1_0 {{Item:{ion_struct(item)}}}".encode() if ion else compact({"Item": item})


def change_line(micros, keys, old, new, ion):
    """An incremental record, fields in the real files' order: Metadata, Keys, OldImage, NewImage. In Ion the
    timestamp is a plain int, as Ferry's generator writes it."""
    if ion:
        parts = [f"Metadata:{{WriteTimestampMicros:{micros}}}", f"Keys:{ion_struct(keys)}"]
        parts += [f"OldImage:{ion_struct(old)}"] if old is not None else []
        parts += [f"NewImage:{ion_struct(new)}"] if new is not None else []
        return ("$ion_1_0 {" + ",".join(parts) + "}").encode()
    record = {"Metadata": {"WriteTimestampMicros": {"N": str(micros)}}, "Keys": keys}
    if old is not None:
        record["OldImage"] = old
    if new is not None:
        record["NewImage"] = new
    return compact(record)


def full_records(table, export_time_ms, ion):
    """FULL at T: every key's state after all writes with a time (in ms) <= T. [(canonical key, line)]"""
    state = table.state_before((export_time_ms + 1) * 1000)
    return [(key, full_line(image, ion)) for key, (_, image) in state.items() if image is not None]


def incremental_records(table, from_ms, to_ms, new_and_old, ion):
    """INCREMENTAL [from, to): one record per key written in the window, compacted to its final state. OldImage
    is the state just before `from`; a key inserted and deleted inside the window still gets a Keys-only record."""
    before = table.state_before(from_ms * 1000)
    last = {}  # key → (time_us of its last write in the window, keys, image)
    for time_us, key, keys, image in table.history:
        if from_ms * 1000 <= time_us < to_ms * 1000:
            last[key] = (time_us, keys, image)
    records = []
    for key, (time_us, keys, new) in last.items():
        old = before.get(key, (None, None))[1] if new_and_old else None
        records.append((key, change_line(time_us, keys, old, new, ion)))
    return records


# ---------------------------------------------------------------------------------------------------------------
# Exports and the S3 writer


class S3Failure(Exception):
    """An S3 write failed: the export ends FAILED with this FailureCode and FailureMessage."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


class S3Writer:
    """Writes export objects with boto3, with the export's encryption and expected bucket owner."""

    def __init__(self, endpoint, region, access_key, secret_key):
        config = botocore.config.Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2},
                                        s3={"addressing_style": "path"})
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=access_key,
                                   aws_secret_access_key=secret_key, config=config)

    @staticmethod
    def _options(export):
        options = {}
        # As DynamoDB does in effect: the bucket must be the caller's account's unless S3BucketOwner names another
        # (S3BucketOwner is required for a bucket in another account), so every write names the owner it expects.
        options["ExpectedBucketOwner"] = export.bucket_owner or export.table_arn.split(":")[4]
        if export.sse_algorithm == "KMS":
            options["ServerSideEncryption"] = "aws:kms"
            if export.sse_key_id:
                options["SSEKMSKeyId"] = export.sse_key_id
        else:
            options["ServerSideEncryption"] = "AES256"
        return options

    def _call(self, method, **kwargs):
        try:
            return getattr(self.client, method)(**kwargs)
        except botocore.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", str(error))
            raise S3Failure("S3NoSuchBucket" if code == "NoSuchBucket" else "S3AccessDenied", message) from error
        except botocore.exceptions.BotoCoreError as error:
            raise S3Failure("S3AccessDenied", str(error)) from error

    def put(self, export, key, body):
        self._call("put_object", Bucket=export.bucket, Key=key, Body=body, **self._options(export))

    def put_data_file(self, export, key, body):
        """Data files go up as one-part multipart uploads, as AWS's do: the object's S3 ETag is then the
        manifest's `hex(MD5(MD5(file)))-1`."""
        options = self._options(export)
        owner = {k: v for k, v in options.items() if k == "ExpectedBucketOwner"}
        upload = self._call("create_multipart_upload", Bucket=export.bucket, Key=key, **options)["UploadId"]
        part = self._call("upload_part", Bucket=export.bucket, Key=key, UploadId=upload, PartNumber=1, Body=body,
                          **owner)
        self._call("complete_multipart_upload", Bucket=export.bucket, Key=key, UploadId=upload,
                   MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]}, **owner)


class Export:
    """One export job: its request, status, and until it completes the data lines it will write."""

    def __init__(self, request, table, kind, start_ms, fingerprint):
        self.kind, self.fingerprint = kind, fingerprint
        self.table_arn, self.table_id = table.arn, table.table_id
        self.bucket = request["S3Bucket"]
        self.bucket_owner = request.get("S3BucketOwner")
        self.prefix = request.get("S3Prefix") or ""
        self.sse_algorithm = request.get("S3SseAlgorithm") or "AES256"
        self.sse_key_id = request.get("S3SseKmsKeyId")
        self.format = request.get("ExportFormat") or "DYNAMODB_JSON"
        self.client_token = request["ClientToken"]
        self.start_ms = start_ms
        self.export_id = "%014d-%s" % (start_ms, os.urandom(4).hex())
        self.arn = f"{table.arn}/export/{self.export_id}"
        self.status, self.end_ms, self.failure = "IN_PROGRESS", None, None
        self.records = []  # (canonical key, line), until written
        self.item_count = self.billed_bytes = 0
        self.export_time_ms = self.from_ms = self.to_ms = None
        self.view_type = None
        root = (self.prefix.rstrip("/") + "/" if self.prefix else "") + "AWSDynamoDB/"
        self.folder = root + self.export_id + "/"
        # FULL data lives under the export's own folder; INCREMENTAL data in the `data/` folder all share.
        self.data_folder = self.folder + "data/" if kind == "FULL_EXPORT" else root + "data/"

    def description(self):
        d = {"ExportArn": self.arn, "ExportStatus": self.status, "StartTime": epoch_seconds(self.start_ms)}
        if self.status != "IN_PROGRESS":
            d["EndTime"] = epoch_seconds(self.end_ms)
        if self.status == "COMPLETED":
            d["ExportManifest"] = self.folder + "manifest-summary.json"
        d.update({"TableArn": self.table_arn, "TableId": self.table_id})
        if self.kind == "FULL_EXPORT":
            d["ExportTime"] = epoch_seconds(self.export_time_ms)
        d["ClientToken"] = self.client_token
        d["S3Bucket"] = self.bucket
        if self.bucket_owner:
            d["S3BucketOwner"] = self.bucket_owner
        if self.prefix:
            d["S3Prefix"] = self.prefix
        d["S3SseAlgorithm"] = self.sse_algorithm
        if self.sse_key_id:
            d["S3SseKmsKeyId"] = self.sse_key_id
        if self.failure:
            d["FailureCode"], d["FailureMessage"] = self.failure
        d["ExportFormat"] = self.format
        if self.status == "COMPLETED":
            d["BilledSizeBytes"], d["ItemCount"] = self.billed_bytes, self.item_count
        d["ExportType"] = self.kind
        if self.kind == "INCREMENTAL_EXPORT":
            d["IncrementalExportSpecification"] = {"ExportFromTime": epoch_seconds(self.from_ms),
                                                   "ExportToTime": epoch_seconds(self.to_ms),
                                                   "ExportViewType": self.view_type}
        return d

    def write_files(self, s3):
        """Data files (one per partition, empty ones too), then manifest-files.json/.md5, then the summary. The
        summary's .md5 goes first and manifest-summary.json last: its appearance is what readers take for
        "completed", so everything it refers to must already be there."""
        partitions = [[] for _ in range(PARTITIONS)]
        for key, line in sorted(self.records):
            partitions[int.from_bytes(hashlib.md5(key.encode()).digest()[:4], "big") % PARTITIONS].append(line)
        extension = ".ion.gz" if self.format == "ION" else ".json.gz"
        manifest = b""
        for lines in partitions:
            name = base64.b32encode(os.urandom(16)).decode().lower()[:26]  # 26 × [a-z2-7], as AWS names them
            key = self.data_folder + name + extension
            body = gzip_bytes(b"".join(line + b"\n" for line in lines))
            s3.put_data_file(self, key, body)
            etag = hashlib.md5(hashlib.md5(body).digest()).hexdigest() + "-1"
            manifest += compact({"itemCount": len(lines), "md5Checksum": base64_md5(body), "etag": etag,
                                 "dataFileS3Key": key}) + b"\n"
        s3.put(self, self.folder + "manifest-files.json", manifest)
        s3.put(self, self.folder + "manifest-files.md5", base64_md5(manifest).encode())
        summary = compact(self.summary())
        s3.put(self, self.folder + "manifest-summary.md5", base64_md5(summary).encode())
        s3.put(self, self.folder + "manifest-summary.json", summary)

    def summary(self):
        """manifest-summary.json, fields in the real files' order; no exportType on FULL exports (real ones have
        none), s3Prefix null without a prefix."""
        full = self.kind == "FULL_EXPORT"
        s = {"version": "2020-06-30" if full else "2023-08-01", "exportArn": self.arn,
             "startTime": iso(self.start_ms), "endTime": iso(self.end_ms), "tableArn": self.table_arn,
             "tableId": self.table_id}
        if full:
            s["exportTime"] = iso(self.export_time_ms)
        else:
            s["exportFromTime"], s["exportToTime"] = iso(self.from_ms), iso(self.to_ms)
        s.update({"s3Bucket": self.bucket, "s3Prefix": self.prefix or None, "s3SseAlgorithm": self.sse_algorithm,
                  "s3SseKmsKeyId": self.sse_key_id, "manifestFilesS3Key": self.folder + "manifest-files.json",
                  "billedSizeBytes": self.billed_bytes, "itemCount": self.item_count, "outputFormat": self.format})
        if not full:
            s["outputView"], s["exportType"] = self.view_type, self.kind
        return s


# ---------------------------------------------------------------------------------------------------------------
# The service: DynamoDB operations over the tables and exports


class Service:
    """All state, behind one lock. S3 writes happen under it too: simple, and a request that arrives after an
    export's end time always sees it completed (the export is finished before the request is answered)."""

    def __init__(self, clock, s3, region, account, export_seconds):
        self.clock, self.s3, self.region, self.account = clock, s3, region, account
        self.export_ms = int(export_seconds * 1000)
        self.lock = threading.RLock()
        self.tables = {}
        self.exports = {}  # ARN → Export, in start order
        self.tokens = {}  # ClientToken → ExportArn
        self.armed_failure = None  # (code, message) for the next export started

    def call(self, operation, request):
        handler = getattr(self, "op_" + operation, None)
        if handler is None:
            raise ApiError("UnknownOperationException", f"Unknown operation: {operation}")
        with self.lock:
            self.refresh()
            return handler(request)

    def refresh(self):
        """Completes (or fails) every export whose time is up. Called on each request and by a background thread."""
        with self.lock:
            now = self.clock.now_ms()
            for export in self.exports.values():
                if export.status != "IN_PROGRESS" or now < export.end_ms:
                    continue
                if export.failure is None:
                    try:
                        export.write_files(self.s3)
                    except S3Failure as failure:
                        export.failure = (failure.code, failure.message)
                export.status = "FAILED" if export.failure else "COMPLETED"
                export.records = []

    def table(self, name, error="ResourceNotFoundException"):
        # TableName may be the table's ARN, as DynamoDB accepts (arn:aws:dynamodb:<region>:<account>:table/<name>).
        table = self.tables.get(name.split(":table/", 1)[1] if name.startswith("arn:") and ":table/" in name
                                else name)
        if table is None:
            raise ApiError(error, f"Requested resource not found: Table: {name} not found"
                           if error == "ResourceNotFoundException" else f"Table not found: {name}")
        return table

    def write(self, table, key, keys, image):
        return table.write(key, keys, image, self.clock.now_us())

    @staticmethod
    def returned(request, old, new, allowed=("NONE", "ALL_OLD")):
        mode = require_enum(request.get("ReturnValues", "NONE"), "returnValues", allowed)
        image = {"ALL_OLD": old, "ALL_NEW": new}.get(mode)
        return {"Attributes": image} if image else {}

    @staticmethod
    def refuse_conditions(request):
        for name in ("ConditionExpression", "Expected", "AttributeUpdates", "FilterExpression", "ScanFilter"):
            if name in request:
                raise invalid(f"{name} is not supported by this emulator")

    # -- tables

    def op_CreateTable(self, request):
        name = request.get("TableName")
        if not name:
            raise invalid("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: "
                          "Member must not be null")
        if name in self.tables:
            raise ApiError("ResourceInUseException", f"Table already exists: {name}")
        defined = {d["AttributeName"] for d in request.get("AttributeDefinitions", [])}
        schema = request.get("KeySchema") or []
        if not schema or any(k["AttributeName"] not in defined for k in schema):
            raise invalid("One or more parameter values were invalid: Some index key attributes are not defined in "
                          "AttributeDefinitions")
        mode = request.get("BillingMode", "PROVISIONED")
        require_enum(mode, "billingMode", ("PROVISIONED", "PAY_PER_REQUEST"))
        if mode == "PROVISIONED" and "ProvisionedThroughput" not in request:
            raise invalid("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must "
                          "both be specified when BillingMode is PROVISIONED")
        table = self.tables[name] = Table(request, self.region, self.account, self.clock.now_ms())
        return {"TableDescription": table.description()}

    def op_DescribeTable(self, request):
        return {"Table": self.table(request.get("TableName")).description()}

    def op_ListTables(self, request):
        names = sorted(n for n in self.tables if n > request.get("ExclusiveStartTableName", ""))
        limit = request.get("Limit", 100)
        page = {"TableNames": names[:limit]}
        if len(names) > limit:
            page["LastEvaluatedTableName"] = names[limit - 1]
        return page

    def op_DeleteTable(self, request):
        table = self.table(request.get("TableName"))
        del self.tables[table.name]
        return {"TableDescription": table.description("DELETING")}

    # -- items

    def op_PutItem(self, request):
        self.refuse_conditions(request)
        table, item = self.table(request.get("TableName")), request.get("Item") or {}
        for value in item.values():
            validate_value(value)
        key, keys = table.key_of(item)
        return self.returned(request, self.write(table, key, keys, item), item)

    def op_GetItem(self, request):
        table = self.table(request.get("TableName"))
        key, _ = table.key_of(request.get("Key") or {}, exact=True)
        item = table.items.get(key)
        return {"Item": item} if item is not None else {}

    def op_DeleteItem(self, request):
        self.refuse_conditions(request)
        table = self.table(request.get("TableName"))
        key, keys = table.key_of(request.get("Key") or {}, exact=True)
        return self.returned(request, self.write(table, key, keys, None), None)

    def op_UpdateItem(self, request):
        self.refuse_conditions(request)
        table = self.table(request.get("TableName"))
        key, keys = table.key_of(request.get("Key") or {}, exact=True)
        old = table.items.get(key)
        new = apply_update(old or keys, request.get("UpdateExpression", ""),
                           request.get("ExpressionAttributeNames") or {},
                           request.get("ExpressionAttributeValues") or {}, set(keys))
        self.write(table, key, keys, new)
        return self.returned(request, old, new, ("NONE", "ALL_OLD", "ALL_NEW"))

    def op_BatchWriteItem(self, request):
        writes, seen = [], set()
        for name, entries in (request.get("RequestItems") or {}).items():
            table = self.table(name)
            for entry in entries:
                if "PutRequest" in entry:
                    image = entry["PutRequest"].get("Item") or {}
                    for value in image.values():
                        validate_value(value)
                    key, keys = table.key_of(image)
                elif "DeleteRequest" in entry:
                    image = None
                    key, keys = table.key_of(entry["DeleteRequest"].get("Key") or {}, exact=True)
                else:
                    raise invalid("Supplied AttributeValue has neither a PutRequest nor a DeleteRequest")
                if (name, key) in seen:
                    raise invalid("Provided list of item keys contains duplicates")
                seen.add((name, key))
                writes.append((table, key, keys, image))
        if not writes or len(writes) > 25:
            raise invalid("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: "
                          "Map value must satisfy constraint: [Member must have length less than or equal to 25, "
                          "Member must have length greater than or equal to 1]")
        for table, key, keys, image in writes:  # validated as a whole first: AWS rejects the whole batch
            self.write(table, key, keys, image)
        return {"UnprocessedItems": {}}

    def op_Scan(self, request):
        """Items in key order; Segment/TotalSegments split keys by hash; pages end at Limit or 1 MB."""
        self.refuse_conditions(request)
        table = self.table(request.get("TableName"))
        total, segment = request.get("TotalSegments"), request.get("Segment")
        if (total is None) != (segment is None) or (total is not None and not 0 <= segment < total <= 1_000_000):
            raise invalid("The Segment parameter is required but was not present in the request when parameter "
                          "TotalSegments is present" if segment is None else "Invalid Segment/TotalSegments")
        start = table.key_of(request["ExclusiveStartKey"], exact=True)[0] if "ExclusiveStartKey" in request else None
        limit = request.get("Limit")
        items, size, last = [], 0, None
        for key in sorted(table.items):
            if start is not None and key <= start:
                continue
            if total and int.from_bytes(hashlib.md5(key.encode()).digest()[:4], "big") % total != segment:
                continue
            if (limit is not None and len(items) >= limit) or size >= SCAN_PAGE_BYTES:
                break
            items.append(table.items[key])
            size += len(compact(table.items[key]))
            last = key
        else:
            last = None  # the segment is exhausted: no LastEvaluatedKey
        page = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
        if last is not None:
            page["LastEvaluatedKey"] = table.key_of(table.items[last])[1]
        return page

    # -- point-in-time recovery

    def continuous_backups(self, table):
        pitr = {"PointInTimeRecoveryStatus": "DISABLED"}
        window = table.pitr_window(self.clock.now_ms())
        if window:
            pitr = {"PointInTimeRecoveryStatus": "ENABLED", "RecoveryPeriodInDays": table.recovery_days,
                    "EarliestRestorableDateTime": epoch_seconds(window[0]),
                    "LatestRestorableDateTime": epoch_seconds(window[1])}
        # Continuous backups (the feature) are always on; PITR is the switch.
        return {"ContinuousBackupsDescription": {"ContinuousBackupsStatus": "ENABLED",
                                                 "PointInTimeRecoveryDescription": pitr}}

    # -- settings a report compares (TTL and tags are kept, not acted on)

    def op_UpdateTimeToLive(self, request):
        table = self.table(request.get("TableName"))
        spec = request.get("TimeToLiveSpecification") or {}
        table.ttl = spec.get("AttributeName") if spec.get("Enabled") else None
        return {"TimeToLiveSpecification": spec}

    def op_DescribeTimeToLive(self, request):
        ttl = self.table(request.get("TableName")).ttl
        return {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": ttl} if ttl
                else {"TimeToLiveStatus": "DISABLED"}}

    def op_TagResource(self, request):
        table = self.table(request.get("ResourceArn") or "")
        table.tags.update({t["Key"]: t["Value"] for t in request.get("Tags") or []})
        return {}

    def op_ListTagsOfResource(self, request):
        tags = self.table(request.get("ResourceArn") or "").tags
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}

    def op_DescribeContinuousBackups(self, request):
        return self.continuous_backups(self.table(request.get("TableName"), "TableNotFoundException"))

    def op_UpdateContinuousBackups(self, request):
        table = self.table(request.get("TableName"), "TableNotFoundException")
        spec = request.get("PointInTimeRecoverySpecification") or {}
        if "PointInTimeRecoveryEnabled" not in spec:
            raise invalid("1 validation error detected: Value null at 'pointInTimeRecoverySpecification."
                          "pointInTimeRecoveryEnabled' failed to satisfy constraint: Member must not be null")
        days = spec.get("RecoveryPeriodInDays", table.recovery_days)
        if not 1 <= days <= 35:
            raise invalid("RecoveryPeriodInDays must be between 1 and 35")
        if not spec["PointInTimeRecoveryEnabled"]:
            table.pitr_since_ms = None
        elif table.pitr_since_ms is None:  # enabling starts a new window; enabling again changes nothing
            table.pitr_since_ms = self.clock.now_ms()
        table.recovery_days = days
        return self.continuous_backups(table)

    # -- exports

    def op_ExportTableToPointInTime(self, request):
        request = dict(request)
        request.setdefault("ClientToken", str(uuid.uuid4()))  # SDKs fill it in (an idempotency token)
        for field in ("TableArn", "S3Bucket"):
            if not request.get(field):
                raise invalid(f"1 validation error detected: Value null at '{field[0].lower() + field[1:]}' "
                              "failed to satisfy constraint: Member must not be null")
        kind = require_enum(request.get("ExportType", "FULL_EXPORT"), "exportType",
                            ("FULL_EXPORT", "INCREMENTAL_EXPORT"))
        require_enum(request.get("ExportFormat", "DYNAMODB_JSON"), "exportFormat", ("DYNAMODB_JSON", "ION"))
        require_enum(request.get("S3SseAlgorithm", "AES256"), "s3SseAlgorithm", ("AES256", "KMS"))
        now = self.clock.now_ms()
        fingerprint = canonical({k: v for k, v in request.items() if k != "ClientToken"})
        previous = self.exports.get(self.tokens.get(request["ClientToken"]))
        if previous and not (previous.status != "IN_PROGRESS" and now > previous.end_ms + TOKEN_VALIDITY_MS):
            if previous.fingerprint != fingerprint:
                raise ApiError("ImportConflictException",
                               f"There was a conflict when attempting to export: the client token "
                               f"{request['ClientToken']} was already used with different parameters")
            return {"ExportDescription": previous.description()}

        table = next((t for t in self.tables.values() if t.arn == request["TableArn"]), None)
        if table is None:
            raise ApiError("TableNotFoundException", f"Table not found: {request['TableArn']}")
        window = table.pitr_window(now)
        if window is None:
            raise ApiError("PointInTimeRecoveryUnavailableException",
                           f"Point in time recovery is not enabled for table '{table.name}'")
        # AWS starts incremental jobs on a whole second (their ExportIds end in 000).
        export = Export(request, table, kind, now - now % 1000 if kind == "INCREMENTAL_EXPORT" else now,
                        fingerprint)
        if kind == "FULL_EXPORT":
            self.full_content(export, request, table, window, now)
        else:
            self.incremental_content(export, request, table, window)
        export.item_count = len(export.records)
        size = sum(len(line) for _, line in export.records)
        export.billed_bytes = size if kind == "FULL_EXPORT" else max(INCREMENTAL_MIN_BILLED, size)
        export.end_ms = export.start_ms + self.export_ms
        if self.armed_failure:
            export.failure, self.armed_failure = self.armed_failure, None
        try:
            self.s3.put(export, export.folder + "_started", b"")  # also the check that the bucket is writable
        except S3Failure as failure:
            # The call still succeeds (IN_PROGRESS); the export shows FAILED from the next look on, as on AWS.
            export.failure, export.end_ms = (failure.code, failure.message), export.start_ms
        self.exports[export.arn] = export
        self.tokens[export.client_token] = export.arn
        return {"ExportDescription": export.description()}

    def full_content(self, export, request, table, window, now):
        """A FULL export's point in time (default: now, unchecked) and its records, taken now."""
        if "IncrementalExportSpecification" in request:
            raise invalid("IncrementalExportSpecification is only valid for INCREMENTAL_EXPORT")
        if "ExportTime" in request:
            export.export_time_ms = self.millis(request["ExportTime"], "ExportTime")
            if not window[0] <= export.export_time_ms <= window[1]:
                raise ApiError("InvalidExportTimeException",
                               "The specified ExportTime is outside of the point in time recovery window")
        else:
            export.export_time_ms = now
        export.records = full_records(table, export.export_time_ms, export.format == "ION")

    def incremental_content(self, export, request, table, window):
        """An INCREMENTAL export's window (default end: the latest restorable time), checked, and its records."""
        if "ExportTime" in request:
            raise invalid("ExportTime is only valid for FULL_EXPORT; use IncrementalExportSpecification")
        spec = request.get("IncrementalExportSpecification") or {}
        if "ExportFromTime" not in spec:
            raise invalid("IncrementalExportSpecification.ExportFromTime is required for INCREMENTAL_EXPORT")
        export.from_ms = self.millis(spec["ExportFromTime"], "ExportFromTime")
        export.to_ms = self.millis(spec["ExportToTime"], "ExportToTime") if "ExportToTime" in spec else window[1]
        export.view_type = require_enum(spec.get("ExportViewType", "NEW_AND_OLD_IMAGES"), "exportViewType",
                                        ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"))
        if export.from_ms >= export.to_ms:
            raise invalid("ExportFromTime must be before ExportToTime")
        if export.from_ms < window[0]:
            raise ApiError("InvalidExportTimeException", "Incremental export start time outside PITR window")
        if export.to_ms > window[1]:
            raise ApiError("InvalidExportTimeException", "Incremental export end time outside PITR window")
        if not 15 * MINUTE_MS <= export.to_ms - export.from_ms <= 24 * 60 * MINUTE_MS:
            raise ApiError("InvalidExportTimeException",
                           "The export period duration must be at least 15 minutes and no longer than 24 hours")
        export.records = incremental_records(table, export.from_ms, export.to_ms,
                                             export.view_type == "NEW_AND_OLD_IMAGES", export.format == "ION")

    @staticmethod
    def millis(value, field):
        if isinstance(value, bool) or not isinstance(value, (int, decimal.Decimal)):
            raise ApiError("SerializationException", f"{field} must be a timestamp in epoch seconds")
        return int(value * 1000)

    def op_DescribeExport(self, request):
        export = self.exports.get(request.get("ExportArn"))
        if export is None:
            raise ApiError("ExportNotFoundException", f"Export not found: {request.get('ExportArn')}")
        return {"ExportDescription": export.description()}

    def op_ListExports(self, request):
        arn = request.get("TableArn")
        matching = [e for e in self.exports.values() if arn is None or e.table_arn == arn]
        limit = request.get("MaxResults", 25)
        if not 1 <= limit <= 25:
            raise invalid("MaxResults must be between 1 and 25")
        token = request.get("NextToken") or "0"
        if not token.isdigit():
            raise invalid(f"Invalid NextToken: {token}")
        offset = int(token)
        page = {"ExportSummaries": [{"ExportArn": e.arn, "ExportStatus": e.status, "ExportType": e.kind}
                                    for e in matching[offset:offset + limit]]}
        if offset + limit < len(matching):
            page["NextToken"] = str(offset + limit)
        return page

    # -- control

    def control(self, action, query):
        with self.lock:
            if action == "advance":
                self.clock.advance(float(query["seconds"]))
            elif action == "speed":
                self.clock.set_speed(float(query["value"]))
            elif action == "fail-next-export":
                self.armed_failure = (query.get("code", "S3AccessDenied"),
                                      query.get("message", "Access Denied (armed by /_control/fail-next-export)"))
            elif action != "now":
                raise KeyError(action)
            self.refresh()
            return {"now": self.clock.now_ms()}


# ---------------------------------------------------------------------------------------------------------------
# HTTP


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small JSON responses: don't wait for delayed ACKs
    server_version = "ferry-export-service"
    service = None  # set in main()

    def send(self, status, body, content_type, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        """The request body. Without Content-Length there is none (RFC 9112); chunked bodies are not supported."""
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            self.close_connection = True  # the unread chunks would otherwise be taken for the next request
            raise ApiError("SerializationException", "chunked request bodies are not supported", 411)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/_control/now":
            return self.control("now", query)
        # What DynamoDB answers to a health check.
        self.send(200, f"healthy: dynamodb.{self.service.region}.amazonaws.com ".encode(), "text/plain")

    def do_POST(self):
        path, _, query = self.path.partition("?")
        try:
            raw = self.body()
            if path.startswith("/_control/"):
                return self.control(path[len("/_control/"):], query)
            target = self.headers.get("X-Amz-Target", "")
            if not target.startswith("DynamoDB_20120810."):
                raise ApiError("UnknownOperationException", f"Unknown target: {target}")
            try:
                # Decimal: ExportTime and friends are epoch seconds with fractions; keep them exact.
                request = json.loads(raw or b"{}", parse_float=decimal.Decimal)
            except ValueError as error:
                raise ApiError("SerializationException", f"Malformed JSON: {error}") from error
            status, response = 200, self.service.call(target.split(".", 1)[1], request)
        except ApiError as error:
            status, response = error.status, error.body()
        except Exception as error:  # a bug here: answer 500 as DynamoDB would, and say what happened
            print(f"export-service: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            status, response = 500, {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                                     "message": f"{type(error).__name__}: {error}"}
        body = compact(response)
        self.send(status, body, "application/x-amz-json-1.0",
                  [("x-amzn-RequestId", uuid.uuid4().hex.upper()), ("x-amz-crc32", str(zlib.crc32(body)))])

    def control(self, action, query):
        parameters = dict(urllib.parse.parse_qsl(query))
        try:
            status, response = 200, self.service.control(action, parameters)
        except KeyError as error:
            status, response = 404, {"error": f"unknown control action or missing parameter: {error}"}
        except ValueError as error:
            status, response = 400, {"error": str(error)}
        self.send(status, compact(response), "application/json")

    def log_message(self, format, *args):
        pass  # one line per request would drown the test output; errors are printed above


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client killed mid-request (the tests SIGKILL ferry on purpose) is not the service's error.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser(description="A local DynamoDB export service writing AWS-faithful exports.")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    parser.add_argument("--port-file", help="write the port here once listening")
    parser.add_argument("--s3-endpoint", required=True, help="S3 emulator endpoint, e.g. http://127.0.0.1:5000")
    parser.add_argument("--s3-access-key", help="access key for the S3 writes (default: the boto3 environment)")
    parser.add_argument("--s3-secret-key", help="secret key for the S3 writes")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--account", default="111111111111")
    parser.add_argument("--speed", type=float, default=60, help="emulated seconds per real second")
    parser.add_argument("--export-seconds", type=float, default=120, help="emulated duration of every export")
    parser.add_argument("--start", default="2026-01-14T10:00:00Z", help="emulated time at launch (ISO 8601)")
    args = parser.parse_args()

    start = datetime.datetime.fromisoformat(args.start.replace("Z", "+00:00"))
    if start.tzinfo is None:
        start = start.replace(tzinfo=datetime.timezone.utc)
    clock = Clock(int(start.timestamp() * 1000), args.speed)
    s3 = S3Writer(args.s3_endpoint, args.region, args.s3_access_key, args.s3_secret_key)
    service = Service(clock, s3, args.region, args.account, args.export_seconds)
    Handler.service = service
    server = Server(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]

    # shutdown() waits for serve_forever() (running below in this thread) to return, so it needs its own thread.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: threading.Thread(target=server.shutdown).start())

    stop = threading.Event()

    def complete_exports():  # exports finish on time even when nobody is asking
        while not stop.wait(0.2):
            try:
                service.refresh()
            except Exception as error:  # a bug: say so and keep going, requests still refresh lazily
                print(f"export-service: refresh failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)

    threading.Thread(target=complete_exports, daemon=True).start()
    if args.port_file:
        temporary = args.port_file + ".tmp"
        with open(temporary, "w") as f:
            f.write(str(port))
        os.replace(temporary, args.port_file)  # readers never see a half-written port
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()
    stop.set()
    server.server_close()


if __name__ == "__main__":
    main()
