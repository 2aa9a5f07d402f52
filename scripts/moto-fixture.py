#!/usr/bin/env python3
"""A moto server for Ferry's integration tests, with SigV4 signatures and IAM policies enforced.

moto checks signatures only for access keys it knows, and with INITIAL_NO_AUTH_ACTION_COUNT=0 nobody could create
the first one through the API. So this script starts moto in-process, creates the IAM users, keys and role directly
in moto's backend, then serves on 127.0.0.1 and prints one JSON line on stdout:

  {"endpoint": "http://127.0.0.1:PORT", "region": "us-east-1", "account": "123456789012",
   "admin": {"accessKeyId": ..., "secretAccessKey": ...},        # may do everything
   "limited": {"accessKeyId": ..., "secretAccessKey": ...},      # may only sts:AssumeRole the role below
   "roleArn": "arn:aws:iam::123456789012:role/ferry-target"}      # may do everything

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

ACCOUNT = "123456789012"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
# The trust policy names the limited user itself: moto matches principals exactly (an account root does not cover it).
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/ferry-limited"}, "Action": "sts:AssumeRole"}]})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=300, help="stop after this many seconds at most")
    args = parser.parse_args()

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

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(json.dumps({
        "endpoint": f"http://127.0.0.1:{port}", "region": "us-east-1", "account": ACCOUNT,
        "admin": {"accessKeyId": admin.access_key_id, "secretAccessKey": admin.secret_access_key},
        "limited": {"accessKeyId": limited.access_key_id, "secretAccessKey": limited.secret_access_key},
        "roleArn": role.arn,
    }), flush=True)

    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait(args.timeout)
    server.stop()


if __name__ == "__main__":
    main()
