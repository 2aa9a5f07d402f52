#!/usr/bin/env python3
"""A moto server for Ferry's integration tests, with SigV4 signatures and IAM policies enforced.

moto checks signatures only for access keys it knows, and with INITIAL_NO_AUTH_ACTION_COUNT=0 nobody could create
the first one through the API. So this script starts moto in-process, creates the IAM users, keys and role directly
in moto's backend, then serves on 127.0.0.1 and prints one JSON line on stdout:

  {"endpoint": "http://127.0.0.1:PORT", "region": "us-east-1", "account": "123456789012",
   "admin": {"accessKeyId": ..., "secretAccessKey": ...},        # may do everything
   "limited": {"accessKeyId": ..., "secretAccessKey": ...},      # may only sts:AssumeRole the role below
   "roleArn": "arn:aws:iam::123456789012:role/ferry-target",      # may do everything
   "users": {NAME: {"account": ..., "accessKeyId": ..., "secretAccessKey": ...}}}  # each --user

`--user NAME@ACCOUNT=POLICY` adds an IAM user in that account (another account than moto's default one, for
cross-account tests) with the inline policy POLICY (JSON); moto maps its key to that account.

moto ignores `x-amz-expected-bucket-owner`; S3 answers 403 AccessDenied when the bucket belongs to another account
than the header names. This fixture patches moto's S3 handlers to do the same, so cross-account exports are tested
against the check S3 makes.

It stops when its standard input closes (the test ended or died) or after --timeout seconds, whichever is first.
Test credentials only: they exist in this process's memory and nowhere else.
"""
import argparse, json, os, socket, sys, threading, time

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"  # enforce SigV4 and IAM from the first request
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from moto import settings  # noqa: E402
settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
from moto.iam.models import iam_backends  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from moto.s3 import responses as s3_responses  # noqa: E402
from moto.s3.exceptions import S3AccessDeniedError  # noqa: E402
from moto.s3.models import s3_backends  # noqa: E402

ACCOUNT = "123456789012"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
# The trust policy names the limited user itself: moto matches principals exactly (an account root does not cover it).
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/ferry-limited"}, "Action": "sts:AssumeRole"}]})


def enforce_expected_bucket_owner():
    """Makes moto's S3 refuse a request whose `x-amz-expected-bucket-owner` is not the bucket's account, as S3 does."""
    def checked(handler):
        def handle(self, request, full_url):
            expected = request.headers.get("x-amz-expected-bucket-owner")
            bucket = self.parse_bucket_name_from_url(request, full_url)
            owner = s3_backends.bucket_accounts.get(bucket, (None, None))[1] if bucket else None
            if expected and owner and expected != owner:
                raise S3AccessDeniedError()
            return handler(self, request, full_url)
        return handle
    s3_responses.S3Response._bucket_response = checked(s3_responses.S3Response._bucket_response)
    s3_responses.S3Response._key_response = checked(s3_responses.S3Response._key_response)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=300, help="stop after this many seconds at most")
    parser.add_argument("--user", action="append", default=[], metavar="NAME@ACCOUNT=POLICY",
                        help="an IAM user in ACCOUNT with the inline policy POLICY (JSON)")
    args = parser.parse_args()
    enforce_expected_bucket_owner()

    iam = iam_backends[ACCOUNT]["global"]
    iam.create_user("us-east-1", "ferry-admin")
    iam.put_user_policy("ferry-admin", "all", ALLOW_ALL)
    admin = iam.create_access_key("ferry-admin")
    iam.create_user("us-east-1", "ferry-limited")
    # May assume the role below, nothing else. (moto checks the role's trust policy against the exact user ARN.)
    iam.put_user_policy("ferry-limited", "assume-only", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    limited = iam.create_access_key("ferry-limited")
    role = iam.create_role("ferry-target", TRUST, "/", None, "Ferry integration tests", [], None)
    iam.put_role_policy("ferry-target", "all", ALLOW_ALL)

    users = {}
    for spec in args.user:
        name_account, policy = spec.split("=", 1)
        name, account = name_account.split("@")
        backend = iam_backends[account]["global"]
        backend.create_user("us-east-1", name)
        backend.put_user_policy(name, "inline", policy)
        key = backend.create_access_key(name)
        users[name] = {"account": account, "accessKeyId": key.access_key_id, "secretAccessKey": key.secret_access_key}

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(json.dumps({
        "endpoint": f"http://127.0.0.1:{port}", "region": "us-east-1", "account": ACCOUNT,
        "admin": {"accessKeyId": admin.access_key_id, "secretAccessKey": admin.secret_access_key},
        "limited": {"accessKeyId": limited.access_key_id, "secretAccessKey": limited.secret_access_key},
        "roleArn": role.arn, "users": users,
    }), flush=True)

    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait(args.timeout)
    server.stop()


if __name__ == "__main__":
    main()
