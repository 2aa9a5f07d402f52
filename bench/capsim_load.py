#!/usr/bin/env python3
"""capsim_load: a load generator for capsim (or any DynamoDB JSON endpoint on this machine).

Several processes, each with several HTTP/1.1 keep-alive connections, send pre-built 25-item BatchWriteItem
bodies (items of about --item-bytes each) back to back for --seconds, and report calls/s and items/s, and the CPU
both sides used.

    python3 bench/capsim_load.py --spawn "--unlimited --wcu 1000000" --procs 2 --conns 4 --seconds 10
    python3 bench/capsim_load.py --endpoint http://127.0.0.1:PORT --server-pid PID --procs 2 --conns 4

--spawn starts bench/capsim.py with those arguments, reads its endpoint, measures its CPU (and its workers')
from /proc, and stops it with SIGTERM at the end. Only 127.0.0.1 endpoints are accepted.
"""

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import shlex
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
CLK = os.sysconf('SC_CLK_TCK')


def build_bodies(table, n_bodies, per_batch, item_bytes, gsi_attr, offset):
    """n_bodies distinct BatchWriteItem bodies in Ferry's compact JSON, keys distinct across bodies and processes."""
    bodies = []
    k = offset
    for _ in range(n_bodies):
        parts = []
        for _ in range(per_batch):
            head = ('{"PutRequest":{"Item":{"pk":{"S":"user#%09d"},"sk":{"S":"order#%06d"},'
                    '"status":{"S":"SHIPPED"},"total":{"N":"%d.%02d"},"qty":{"N":"%d"}'
                    % (k, k % 1000, k % 9973, k % 100, k % 7))
            if gsi_attr:
                head += ',"%s":{"S":"c%05d"}' % (gsi_attr, k % 50000)
            # pad with a string attribute so the item counts about item_bytes
            base = 10 + 13 + 15 + 6 + 7 + 5 + 4 + 3 + (len(gsi_attr) + 6 if gsi_attr else 0)
            fill = max(0, item_bytes - base - 7)
            parts.append(head + ',"payload":{"S":"%s"}}}}' % ('x' * fill))
            k += 1
        body = ('{"RequestItems":{"%s":[%s]},"ReturnConsumedCapacity":"INDEXES"}' % (table, ','.join(parts))).encode()
        bodies.append(body)
    return bodies


def request_bytes(host, port, body):
    return (b'POST / HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/x-amz-json-1.0\r\n'
            b'X-Amz-Target: DynamoDB_20120810.BatchWriteItem\r\nX-Amz-Date: 20260101T000000Z\r\n'
            b'Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/dynamodb/aws4_request, '
            b'SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000\r\n'
            b'Content-Length: %d\r\n\r\n' % (host.encode(), port, len(body))) + body


class Conn(asyncio.Protocol):
    def __init__(self, worker, reqs, idx):
        self.w = worker
        self.reqs = reqs
        self.i = idx
        self.buf = bytearray()
        self.need = -1
        self.sent_at = 0.0
        self.tr = None
        self.status = 0
        self.next_at = 0.0

    def connection_made(self, tr):
        self.tr = tr
        tr.get_extra_info('socket').setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.send()

    def send(self):
        w = self.w
        now = time.monotonic()
        if now >= w.end_at:
            self.tr.close()
            return
        if w.interval:
            self.next_at = max(now, self.next_at + w.interval)
            if self.next_at > now:
                w.loop.call_later(self.next_at - now, self.send_now)
                return
        self.send_now()

    def send_now(self):
        w = self.w
        self.i = (self.i + 1) % len(self.reqs)
        self.sent_at = time.monotonic()
        self.tr.write(self.reqs[self.i])

    def data_received(self, data):
        buf = self.buf
        buf += data
        if self.need < 0:
            i = buf.find(b'\r\n\r\n')
            if i < 0:
                return
            head = bytes(buf[:i])
            self.status = int(head[9:12])
            j = head.lower().find(b'content-length:')
            n = int(head[j + 15:head.find(b'\r\n', j) if head.find(b'\r\n', j) > 0 else len(head)])
            self.need = i + 4 + n
            self.body_at = i + 4
        if len(buf) < self.need:
            return
        now = time.monotonic()
        w = self.w
        body = bytes(buf[self.body_at:self.need])
        del buf[:self.need]
        self.need = -1
        if w.start_at <= self.sent_at and now <= w.end_at:
            w.calls += 1
            w.lat += now - self.sent_at
            if self.status == 200:
                if body.startswith(b'{"UnprocessedItems":{}'):
                    w.items += w.per_batch
                else:
                    w.partial += 1
                    w.items += w.per_batch - body.count(b'"PutRequest"')
            else:
                w.errors += 1
        self.send()

    def connection_lost(self, exc):
        self.w.open -= 1
        if self.w.open == 0 and not self.w.done.done():
            self.w.done.set_result(True)


class Worker:
    def __init__(self, start_at, end_at, per_batch):
        self.start_at = start_at
        self.end_at = end_at
        self.per_batch = per_batch
        self.calls = self.items = self.partial = self.errors = 0
        self.lat = 0.0
        self.open = 0
        self.done = None
        self.interval = 0.0
        self.loop = None


def run_worker(args, idx, start_at, end_at, q):
    u = urlparse(args.endpoint)
    host, port = u.hostname, u.port
    bodies = build_bodies(args.table, args.bodies, args.batch, args.item_bytes, args.gsi_attr,
                          offset=idx * args.bodies * args.batch)
    reqs = [request_bytes(host, port, b) for b in bodies]
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    loop = asyncio.new_event_loop()
    w = Worker(start_at, end_at, args.batch)
    w.done = loop.create_future()
    w.loop = loop
    if args.rate:
        # every connection paces itself: rate items/s over all processes and connections
        w.interval = args.batch * args.procs * args.conns / args.rate

    async def main():
        for c in range(args.conns):
            w.open += 1
            await loop.create_connection(lambda c=c: Conn(w, reqs, c * 7), host, port)
        await asyncio.wait_for(w.done, timeout=end_at - time.monotonic() + 30)

    loop.run_until_complete(main())
    ru = resource.getrusage(resource.RUSAGE_SELF)
    q.put({'calls': w.calls, 'items': w.items, 'partial': w.partial, 'errors': w.errors, 'lat': w.lat,
           'cpu': ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime, 'body_bytes': sum(len(b) for b in bodies) / len(bodies)})


def proc_cpu(pid):
    """CPU seconds of a process and, recursively, its live children."""
    total = 0.0
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / CLK
        kids = []
        for tid in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/children' % (pid, tid)) as f:
                kids += [int(x) for x in f.read().split()]
        for k in kids:
            total += proc_cpu(k)
    except (OSError, IndexError, ValueError):
        pass
    return total


def main():
    p = argparse.ArgumentParser(description='Load generator for capsim.')
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument('--endpoint', help='http://127.0.0.1:PORT of a running simulator')
    g.add_argument('--spawn', metavar='ARGS', help='start bench/capsim.py with these arguments')
    p.add_argument('--server-pid', type=int, help='measure this process\'s CPU (with --endpoint)')
    p.add_argument('--procs', type=int, default=2, help='client processes (default 2)')
    p.add_argument('--conns', type=int, default=4, help='keep-alive connections per process (default 4)')
    p.add_argument('--seconds', type=float, default=10.0, help='measured duration (default 10, at most 300)')
    p.add_argument('--batch', type=int, default=25, help='requests per BatchWriteItem (default 25)')
    p.add_argument('--item-bytes', type=int, default=800, help='approximate item size (default 800)')
    p.add_argument('--bodies', type=int, default=200, help='distinct bodies per process (default 200)')
    p.add_argument('--rate', type=float, default=0.0,
                   help='pace to about this many items/s in total (default: as fast as possible)')
    p.add_argument('--table', default='bench')
    p.add_argument('--gsi-attr', default='', help='add this string attribute to every item (for a GSI)')
    args = p.parse_args()
    args.seconds = min(args.seconds, 300.0)

    server = None
    server_pid = args.server_pid
    if args.spawn:
        cmd = [sys.executable, os.path.join(HERE, 'capsim.py')] + shlex.split(args.spawn)
        server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = server.stdout.readline()
        args.endpoint = json.loads(line)['endpoint']
        server_pid = server.pid
    host = urlparse(args.endpoint).hostname
    if host not in ('127.0.0.1', 'localhost'):
        raise SystemExit('capsim_load sends traffic to 127.0.0.1 only')

    try:
        start_at = time.monotonic() + 1.0 + 0.02 * args.procs * args.bodies / 100
        end_at = start_at + args.seconds
        q = mp.get_context('fork').Queue()
        procs = [mp.get_context('fork').Process(target=run_worker, args=(args, i, start_at, end_at, q))
                 for i in range(args.procs)]
        for pr in procs:
            pr.start()
        while time.monotonic() < start_at:
            time.sleep(0.005)
        s_cpu0 = proc_cpu(server_pid) if server_pid else None
        time.sleep(max(0.0, end_at - time.monotonic()))
        s_cpu1 = proc_cpu(server_pid) if server_pid else None
        results = [q.get(timeout=120) for _ in procs]
        for pr in procs:
            pr.join()
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    calls = sum(r['calls'] for r in results)
    out = {
        'endpoint': args.endpoint, 'spawn': args.spawn, 'procs': args.procs, 'conns_per_proc': args.conns,
        'seconds': args.seconds, 'body_bytes': round(results[0]['body_bytes']),
        'calls': calls, 'calls_per_second': round(calls / args.seconds, 1),
        'items_per_second': round(sum(r['items'] for r in results) / args.seconds, 1),
        'partial_calls': sum(r['partial'] for r in results), 'errors': sum(r['errors'] for r in results),
        'mean_latency_ms': round(1000 * sum(r['lat'] for r in results) / max(1, calls), 3),
        'client_cpu_seconds': round(sum(r['cpu'] for r in results), 2),
    }
    if s_cpu0 is not None:
        out['server_cpu_seconds'] = round(s_cpu1 - s_cpu0, 2)
        out['server_cpu_share'] = round((s_cpu1 - s_cpu0) / args.seconds, 3)
    out['client_cpu_share'] = round(out['client_cpu_seconds'] / args.seconds, 3)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
