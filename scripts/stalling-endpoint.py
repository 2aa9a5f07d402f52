#!/usr/bin/env python3
"""A fake AWS endpoint on 127.0.0.1 whose connections go silent, for Ferry's bounded-wait tests.

S3 (GET /<bucket>/<key>, path-style):
  key `object-<N>`  an object of N bytes (byte i is (i*31+7) % 251). Every response sends its headers and at most
                    --stall-after body bytes, then goes silent, connection open: only a client with an idle read
                    timeout and a ranged resume (`Range: bytes=K-`, 206) gets the whole object.
  key `silent-<N>`  the headers of an N-byte object, then silence: no body byte ever.
DynamoDB (POST, X-Amz-Target):
  DescribeTable     an ACTIVE provisioned table (keys pk:S, sk:N, 1000 RCU/WCU).
  anything else     never answered (silent, connection open), like a half-open connection.

Prints one JSON line on stdout, {"endpoint": "http://127.0.0.1:PORT"}, once it listens. Stops when its standard
input closes (the test ended or died) or after --timeout seconds, whichever is first. Nagle is off, so the bytes it
sends before going silent reach the client at once.
"""
import argparse, json, socket, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STOP = threading.Event()
ARGS = None


def object_bytes(n, start=0):
    return bytes((i * 31 + 7) % 251 for i in range(start, n))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 0

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def go_silent(self):
        STOP.wait(ARGS.timeout)
        self.close_connection = True

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1].split("?", 1)[0]
        kind, _, size = name.partition("-")
        if kind not in ("object", "silent") or not size.isdigit():
            body = b"<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        total = int(size)
        start = 0
        ranged = self.headers.get("Range")
        if ranged and ranged.startswith("bytes=") and ranged.endswith("-"):
            start = int(ranged[len("bytes="):-1])
        self.send_response(206 if ranged else 200)
        self.send_header("ETag", '"fake-etag"')
        self.send_header("Content-Length", str(total - start))
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{total - 1}/{total}")
        self.end_headers()
        if kind == "silent":
            return self.go_silent()
        rest = object_bytes(total, start)
        self.wfile.write(rest[:ARGS.stall_after])
        if len(rest) > ARGS.stall_after:
            self.go_silent()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        target = self.headers.get("X-Amz-Target", "")
        if not target.endswith(".DescribeTable"):
            return self.go_silent()
        body = json.dumps({"Table": {
            "TableName": "orders", "TableStatus": "ACTIVE",
            "TableArn": "arn:aws:dynamodb:us-east-1:999999999999:table/orders",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": 1000, "WriteCapacityUnits": 1000},
            "ItemCount": 0, "TableSizeBytes": 0}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("x-amzn-RequestId", "FAKEREQUESTID")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=120, help="stop after this many seconds at most")
    parser.add_argument("--stall-after", type=int, default=1000, help="body bytes sent per response before going silent")
    ARGS = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"endpoint": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), STOP.set()), daemon=True).start()
    STOP.wait(ARGS.timeout)
    STOP.set()


if __name__ == "__main__":
    main()
