"""Oracle for the Swift SigV4 tests: botocore computes canonical request,
string to sign and signature; the Swift tests hard-code the output.
Run: python3 oracle/oracle.py  (not used by `swift test`)."""
import datetime, json
from unittest import mock
from urllib.parse import quote
from botocore.auth import SigV4Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SUITE_CREDS = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SUITE_TOKEN = ("AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==")


# aws-c-auth's get-vanilla-with-session-token token (the older suite's post-sts-* use SUITE_TOKEN).
SUITE_TOKEN_C = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"


def stages(auth_cls, creds, service, region, ts, method, url, headers, params=None, body=b""):
    """Canonicalise exactly the given headers (no header rewriting)."""
    req = AWSRequest(method=method, url=url, data=body, params=params or {})
    for k, v in headers:
        req.headers[k] = v  # email.message semantics: appends duplicates
    req.context["timestamp"] = ts
    auth = auth_cls(Credentials(*creds), service, region)
    creq = auth.canonical_request(req)
    sts = auth.string_to_sign(req, creq)
    sig = auth.signature(sts, req)
    return creq, sts, sig


def full_sign(auth_cls, creds, service, region, when, method, url, headers, body=b""):
    """Run botocore's whole add_auth at a fixed time; return the headers it set."""
    req = AWSRequest(method=method, url=url, data=body)
    for k, v in headers:
        req.headers[k] = v
    auth = auth_cls(Credentials(*creds), service, region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        auth.add_auth(req)
    return {k: v for k, v in req.headers.items()}


def emit(name, creq, sts, sig):
    print(json.dumps({"name": name, "creq": creq, "sts": sts, "sig": sig}, ensure_ascii=False))


TS = "20150830T123600Z"
H = "example.amazonaws.com"
base = [("Host", H), ("X-Amz-Date", TS)]
suite = [
    # name, method, path (request line), query params, extra headers, body
    ("get-vanilla", "GET", "/", [], [], b""),
    ("get-vanilla-query", "GET", "/", [], [], b""),
    ("get-vanilla-empty-query-key", "GET", "/", [("Param1", "value1")], [], b""),
    ("get-vanilla-query-order-key", "GET", "/", [("Param2", "value2"), ("Param1", "value1")], [], b""),
    ("get-vanilla-query-order-key-case", "GET", "/", [("Param2", "value2"), ("Param1", "value1")], [], b""),
    ("get-vanilla-query-order-value", "GET", "/", [("Param1", "value2"), ("Param1", "value1")], [], b""),
    ("get-vanilla-query-unreserved", "GET", "/", [("-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")], [], b""),
    ("get-vanilla-utf8-query", "GET", "/", [("\u1234", "bar")], [], b""),
    ("get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", [], [], b""),
    ("get-utf8", "GET", "/\u1234", [], [], b""),
    ("get-space", "GET", "/example space/", [], [], b""),
    ("get-header-key-duplicate", "GET", "/", [], [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")], b""),
    ("get-header-value-order", "GET", "/", [], [("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"), ("My-Header1", "value2")], b""),
    ("get-header-value-trim", "GET", "/", [], [("My-Header1", " value1"), ("My-Header2", ' "a   b   c"')], b""),
    # The suite's obs-fold lines arrive as three values of one header.
    ("get-header-value-multiline", "GET", "/", [], [("My-Header1", "value1"), ("My-Header1", "value2"), ("My-Header1", "value3")], b""),
    ("get-slash", "GET", "//", [], [], b""),
    ("get-slash-dot-slash", "GET", "/./", [], [], b""),
    ("get-slash-pointless-dot", "GET", "/./example", [], [], b""),
    ("get-slashes", "GET", "//example//", [], [], b""),
    ("get-relative", "GET", "/example/..", [], [], b""),
    ("get-relative-relative", "GET", "/example1/example2/../..", [], [], b""),
    ("post-vanilla", "POST", "/", [], [], b""),
    ("post-vanilla-query", "POST", "/", [("Param1", "value1")], [], b""),
    ("post-vanilla-empty-query-value", "POST", "/", [("Param1", "value1")], [], b""),
    ("post-header-key-case", "POST", "/", [], [], b""),
    ("post-header-key-sort", "POST", "/", [], [("My-Header1", "value1")], b""),
    ("post-header-value-case", "POST", "/", [], [("My-Header1", "VALUE1")], b""),
    ("post-x-www-form-urlencoded", "POST", "/", [], [("Content-Type", "application/x-www-form-urlencoded")], b"Param1=value1"),
    ("post-x-www-form-urlencoded-parameters", "POST", "/", [], [("Content-Type", "application/x-www-form-urlencoded; charset=utf8")], b"Param1=value1"),
    ("get-vanilla-with-session-token", "GET", "/", [], [("X-Amz-Security-Token", SUITE_TOKEN_C)], b""),
    ("post-sts-header-before", "POST", "/", [], [("X-Amz-Security-Token", SUITE_TOKEN)], b""),
    # Not in the suite: a folded value given as one header value is collapsed to spaces.
    ("extra-header-value-newlines", "GET", "/", [], [("My-Header1", "value1\n  value2\n     value3")], b""),
]
print("# suite")
for name, method, path, params, extra, body in suite:
    creq, sts, sig = stages(SigV4Auth, SUITE_CREDS, "service", "us-east-1", TS, method,
                            "https://" + H + path, base + extra, params, body)
    emit(name, creq, sts, sig)

# ---- S3 doc vectors -----------------------------------------------------
S3C = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
S3TS = "20130524T000000Z"
S3H = "examplebucket.s3.amazonaws.com"
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
import hashlib
welcome = b"Welcome to Amazon S3."
print("# s3 docs")
for name, method, path, params, extra, body in [
    ("s3-get-object", "GET", "/test.txt", [], [("Range", "bytes=0-9")], b""),
    ("s3-put-object", "PUT", quote("/test$file.text", safe="/~"), [], [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")], welcome),
    ("s3-get-lifecycle", "GET", "/", [("lifecycle", "")], [], b""),
    ("s3-list-objects", "GET", "/", [("max-keys", "2"), ("prefix", "J")], [], b""),
]:
    h = hashlib.sha256(body).hexdigest()
    creq, sts, sig = stages(S3SigV4Auth, S3C, "s3", "us-east-1", S3TS, method, "https://" + S3H + path,
                            [("Host", S3H), ("x-amz-date", S3TS), ("x-amz-content-sha256", h)] + extra, params, body)
    emit(name, creq, sts, sig)

# ---- Ferry-shaped extras, whole add_auth flow ---------------------------
print("# extras")
FC = ("AKIAFERRYEXAMPLE0001", "ferrySecretKeyExample/0123456789abcdefghij", "FwoGZXIvYXdzEFerrySessionToken//example+token=")
when = datetime.datetime(2024, 5, 14, 9, 7, 3)
ddb_body = b'{"RequestItems":{"ferry-target":[{"PutRequest":{"Item":{"pk":{"S":"user#1"},"n":{"N":"42"}}}}]}}'
hdrs = full_sign(SigV4Auth, FC, "dynamodb", "eu-west-1", when, "POST", "https://dynamodb.eu-west-1.amazonaws.com/",
                 [("Host", "dynamodb.eu-west-1.amazonaws.com"), ("Content-Type", "application/x-amz-json-1.0"),
                  ("X-Amz-Target", "DynamoDB_20120810.BatchWriteItem"), ("User-Agent", "ferry/0.1")], ddb_body)
print(json.dumps({"name": "ddb-batchwrite", "headers": hdrs}))
creq, sts, sig = stages(SigV4Auth, FC, "dynamodb", "eu-west-1", "20240514T090703Z", "POST", "https://dynamodb.eu-west-1.amazonaws.com/",
                        [("Host", "dynamodb.eu-west-1.amazonaws.com"), ("Content-Type", "application/x-amz-json-1.0"),
                         ("X-Amz-Target", "DynamoDB_20120810.BatchWriteItem"), ("X-Amz-Date", "20240514T090703Z"),
                         ("X-Amz-Security-Token", FC[2])], None, ddb_body)
emit("ddb-batchwrite", creq, sts, sig)

sts_body = b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fferry-migrator&RoleSessionName=ferry-session&DurationSeconds=3600"
sc = ("AKIAFERRYEXAMPLE0002", "anotherSecret+with/slashes=")
hdrs = full_sign(SigV4Auth, sc, "sts", "us-east-1", when, "POST", "https://sts.amazonaws.com/",
                 [("Host", "sts.amazonaws.com"), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], sts_body)
print(json.dumps({"name": "sts-assumerole", "headers": hdrs}))
creq, sts, sig = stages(SigV4Auth, sc, "sts", "us-east-1", "20240514T090703Z", "POST", "https://sts.amazonaws.com/",
                        [("Host", "sts.amazonaws.com"), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("X-Amz-Date", "20240514T090703Z")], None, sts_body)
emit("sts-assumerole", creq, sts, sig)

s3h = "ferry-exports.s3.eu-west-1.amazonaws.com"
key = "/exports//AWSDynamoDB/run 1/a+b/\u00fcber \u65e5\u672c.json.gz"
wire = quote(key, safe="/~")
print(json.dumps({"name": "s3-odd-key-wire", "path": wire}, ensure_ascii=False))
creq, sts, sig = stages(S3SigV4Auth, FC, "s3", "eu-west-1", "20240514T090703Z", "GET", "https://" + s3h + wire,
                        [("Host", s3h), ("X-Amz-Date", "20240514T090703Z"), ("X-Amz-Content-SHA256", EMPTY), ("X-Amz-Security-Token", FC[2])], None, b"")
emit("s3-odd-key", creq, sts, sig)
creq, sts, sig = stages(S3SigV4Auth, FC, "s3", "eu-west-1", "20240514T090703Z", "GET", "https://" + s3h + "/",
                        [("Host", s3h), ("X-Amz-Date", "20240514T090703Z"), ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")],
                        [("list-type", "2"), ("prefix", "exports/AWSDynamoDB/01715685260608-c488b4e1/data/"),
                         ("continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=+abc"), ("max-keys", "1000")], b"")
emit("s3-list-v2", creq, sts, sig)

# Non-S3 path that is already percent-encoded on the wire: botocore encodes it again.
creq, sts, sig = stages(SigV4Auth, SUITE_CREDS, "service", "us-east-1", TS, "GET",
                        "https://" + H + "/my%20doc/./a+b//%E1%88%B4", base, None, b"")
emit("extra-double-encode", creq, sts, sig)
