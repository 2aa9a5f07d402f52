#!/usr/bin/env python3
"""capsim: a local DynamoDB capacity simulator (benchmark tooling, not product).

Serves DynamoDB's JSON 1.0 protocol on 127.0.0.1 (DescribeTable, BatchWriteItem, Scan, BatchGetItem,
DescribeContinuousBackups) for one table, charges every request the write/read units DynamoDB would, throttles
like a provisioned table (token bucket per table and per GSI, burst credit, 1,000 WCU/s per partition) or an
on-demand one (max units, 2x previous peak), or never (--unlimited, the null sink), and logs what was consumed
in every wall-clock second to a JSON-lines file.

    python3 bench/capsim.py --wcu 1000 --rcu 1000 --burst-seconds 0 --log cap.jsonl
    python3 bench/capsim.py --unlimited --wcu 1000000 --log null.jsonl [--workers 2]
    python3 bench/capsim.py --on-demand --max-write-units 20000 --log od.jsonl

Prints one line `{"endpoint":"http://127.0.0.1:PORT"}` on stdout once it serves. SIGTERM/SIGINT end it after
writing the log; a summary goes to stderr. See bench/README.md for the model and the log format.
"""

import argparse
import asyncio
import bisect
import collections
import fcntl
import gc
import json
import math
import os
import resource
import signal
import socket
import sys
import time
import zlib
from decimal import Decimal, InvalidOperation

# --------------------------------------------------------------------------------------------------------------
# Item size and capacity units (AWS's documented rules, as Ferry's DynamoModel/ItemSize.swift computes them)
# --------------------------------------------------------------------------------------------------------------

MAX_ITEM_BYTES = 400 * 1024


def number_bytes(text):
    """1 byte per two significant digits (rounded up) + 1; leading/trailing zeros trimmed; negatives +1."""
    if text.isdigit():
        n = len(text.strip('0'))
        return (n + 1) // 2 + 1 if n else 1
    neg = text[:1] == '-'
    mant = text.lstrip('+-')
    e = mant.find('e')
    if e < 0:
        e = mant.find('E')
    if e >= 0:
        mant = mant[:e]
    digits = mant.replace('.', '').strip('0')
    n = len(digits)
    if n == 0:
        return 1
    return (n + 1) // 2 + 1 + (1 if neg else 0)


def b64_len(s):
    n = len(s)
    pad = 2 if s.endswith('==') else (1 if s.endswith('=') else 0)
    return n * 3 // 4 - pad


def value_bytes(v):
    """Bytes a DynamoDB JSON value ({"S": ...}) counts for, without its attribute name."""
    if type(v) is not dict or len(v) != 1:
        raise DynamoError('ValidationException', 'Supplied AttributeValue has more than one datatypes set, '
                          'must contain exactly one of the supported datatypes')
    for t, x in v.items():
        if t == 'S':
            return len(x) if x.isascii() else len(x.encode())
        if t == 'N':
            return number_bytes(x)
        if t == 'B':
            return b64_len(x)
        if t == 'BOOL' or t == 'NULL':
            return 1
        if t == 'M':
            n = 3
            for k, e in x.items():
                n += 1 + (len(k) if k.isascii() else len(k.encode())) + value_bytes(e)
            return n
        if t == 'L':
            n = 3
            for e in x:
                n += 1 + value_bytes(e)
            return n
        if t == 'SS':
            return sum(len(e.encode()) for e in x)
        if t == 'NS':
            return sum(number_bytes(e) for e in x)
        if t == 'BS':
            return sum(b64_len(e) for e in x)
        raise DynamoError('ValidationException', 'Supplied AttributeValue is empty, must contain exactly one of '
                          'the supported datatypes (unknown type %r)' % t)


def item_bytes(item):
    if type(item) is not dict:
        raise DynamoError('ValidationException', 'Item must be a map of attribute values')
    n = 0
    for k, v in item.items():
        n += len(k) if k.isascii() else len(k.encode())
        if type(v) is dict and len(v) == 1:   # fast paths for the common top-level S and N
            x = v.get('S')
            if x is not None:
                n += len(x) if x.isascii() else len(x.encode())
                continue
            x = v.get('N')
            if x is not None:
                n += number_bytes(x)
                continue
        n += value_bytes(v)
    return n


def write_units(nbytes):
    return max(1, (nbytes + 1023) // 1024)


def read_units(nbytes):
    return max(1, (nbytes + 4095) // 4096)


# --------------------------------------------------------------------------------------------------------------
# Errors and responses
# --------------------------------------------------------------------------------------------------------------

ERROR_PREFIX = {
    'ValidationException': 'com.amazon.coral.validate#',
    'SerializationException': 'com.amazon.coral.service#',
    'UnknownOperationException': 'com.amazon.coral.service#',
}
DDB_PREFIX = 'com.amazonaws.dynamodb.v20120810#'

PTEE_PROVISIONED = ('The level of configured provisioned throughput for the table was exceeded. '
                    'Consider increasing your provisioning level with the UpdateTable API.')
PTEE_ON_DEMAND = ('Throughput exceeds the current capacity of your table or index. DynamoDB is automatically '
                  'scaling your table or index so please try again shortly. If exceptions persist, check if you '
                  'have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html')


class DynamoError(Exception):
    def __init__(self, typ, message, status=400, reasons=None):
        super().__init__(message)
        self.typ = typ
        self.message = message
        self.status = status
        self.reasons = reasons or []

    def body(self):
        doc = {'__type': ERROR_PREFIX.get(self.typ, DDB_PREFIX) + self.typ, 'message': self.message}
        if self.reasons:
            doc['ThrottlingReasons'] = self.reasons
        return json.dumps(doc, separators=(',', ':')).encode()


def dumps(obj):
    return json.dumps(obj, separators=(',', ':')).encode()


# --------------------------------------------------------------------------------------------------------------
# Capacity model
# --------------------------------------------------------------------------------------------------------------

class Bucket:
    """Token bucket refilled at `rate` units/s up to `cap`. A request of `cost` fits when the bucket holds that
    many tokens, or when the bucket is full (so an item larger than the bucket still goes through, driving the
    balance negative, as DynamoDB lets one large item through and then throttles)."""
    __slots__ = ('rate', 'cap', 'tokens', 'last')

    def __init__(self, rate, cap, tokens, now):
        self.rate = float(rate)
        self.cap = float(cap)
        self.tokens = float(min(cap, tokens))
        self.last = now

    def fits(self, cost, now):
        if now != self.last:
            t = self.tokens + (now - self.last) * self.rate
            self.tokens = t if t < self.cap else self.cap
            self.last = now
        return self.tokens >= cost or self.tokens >= self.cap

    def take(self, cost):
        self.tokens -= cost


class Resource:
    """The table or one GSI: write and read buckets, write partitions, per-second counters."""

    def __init__(self, name, kind, hash_attr, hash_type, wcu, rcu, opts, now, max_w=None, max_r=None):
        self.name = name                    # 'table' or the index name
        self.kind = kind                    # 'table' or 'gsi'
        self.attr = hash_attr
        self.htype = hash_type
        self.needle = ('"%s"' % hash_attr).encode()
        self.wcu = wcu
        self.rcu = rcu
        self.on_demand = opts.on_demand
        self.unlimited = opts.unlimited
        self.opts = opts
        self.max_w = max_w if (max_w and max_w > 0) else None
        self.max_r = max_r if (max_r and max_r > 0) else None
        bs = opts.bucket_seconds
        if self.on_demand:
            self.prev_peak = opts.warm_write_units / 2.0
            self.history = collections.deque(maxlen=max(1, opts.peak_window))
            wrate = self.od_write_rate()
            rrate = min(self.max_r or math.inf, float(opts.warm_read_units))
            self.wb = Bucket(wrate, wrate * bs, wrate * bs, now)
            self.rb = Bucket(rrate, rrate * bs, rrate * bs, now)
        else:
            depth = max(opts.burst_seconds, bs)
            init = min(depth, opts.initial_seconds)
            self.wb = Bucket(wcu, wcu * depth, wcu * init, now)
            self.rb = Bucket(rcu, rcu * depth, rcu * init, now)
        self.parts = []
        self.set_partitions(now)

    def od_write_rate(self):
        return min(self.max_w or math.inf, 2.0 * self.prev_peak)

    def write_limit(self):
        if self.unlimited:
            return None
        return self.wb.rate

    def partition_count(self):
        o = self.opts
        if o.partitions and self.kind == 'table':
            return o.partitions
        if self.on_demand:
            return max(1, math.ceil(self.wb.rate / o.partition_wcu), math.ceil(self.rb.rate / o.partition_rcu))
        return max(1, math.ceil(self.wcu / o.partition_wcu), math.ceil(self.rcu / o.partition_rcu))

    def set_partitions(self, now):
        n = self.partition_count()
        if n != len(self.parts):
            cap = self.opts.partition_wcu * self.opts.bucket_seconds
            self.parts = [Bucket(self.opts.partition_wcu, cap, cap, now) for _ in range(n)]

    def end_second(self, consumed, now):
        """On-demand: the previous peak follows sustained traffic (the mean over --peak-window seconds)."""
        if not self.on_demand:
            return
        self.history.append(consumed)
        if len(self.history) == self.history.maxlen:
            mean = sum(self.history) / len(self.history)
            if mean > self.prev_peak:
                self.prev_peak = mean
                rate = self.od_write_rate()
                if rate != self.wb.rate:
                    self.wb.fits(0, now)
                    self.wb.rate = rate
                    self.wb.cap = rate * self.opts.bucket_seconds
                    self.set_partitions(now)


FIELDS = ('wcu', 'rcu', 'items', 'throttled_calls', 'throttled_items', 'unprocessed')
WCU, RCU, ITEMS, TCALLS, TITEMS, UNPROC = range(6)


def open_log(path):
    """Open a log for writing, refusing one that another running capsim is writing (two writers garble it)."""
    f = open(path, 'a')
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        print('capsim: %s is being written by another running capsim; give another --log' % path, file=sys.stderr)
        sys.exit(2)
    f.truncate(0)
    return f


class Stats:
    """Per wall-clock second (whole seconds since t0) counters per resource, written as JSON lines."""

    def __init__(self, t0, resources, log_path, config):
        self.t0 = t0
        self.resources = resources          # list of Resource (table first)
        self.sec = 0
        self.cur = [[0.0] * 6 for _ in resources]
        self.calls = 0
        self.ptee = 0
        self.partial_calls = 0
        self.totals = [[0.0] * 6 for _ in resources]
        self.total_calls = 0
        self.total_ptee = 0
        # Table units by the second the client signed each request (SigV4's X-Amz-Date): the writer's own
        # clock, free of this server's scheduling delays. Written to --signed-log at the end, when given.
        self.signed_path = None
        self.signed_now = None
        self.signed = collections.Counter()
        self.f = open_log(log_path) if log_path else None
        if self.f:
            self.f.write(json.dumps(config) + '\n')
            self.f.flush()

    def tick(self, now):
        sec = int(now - self.t0)
        if sec != self.sec:
            self.roll(sec, now)

    def line(self, partial):
        res = self.resources
        out = {'type': 'second', 'second': self.sec, 'calls': self.calls, 'ptee': self.ptee,
               'partial_calls': self.partial_calls}
        if partial:
            out['partial'] = True
        gsi = {}
        for r, c in zip(res, self.cur):
            d = {f: (round(c[i], 3) if i < 2 else int(c[i])) for i, f in enumerate(FIELDS)}
            d['limit'] = r.write_limit()
            if r.kind == 'table':
                out['table'] = d
            else:
                gsi[r.name] = d
        out['gsi'] = gsi
        return out

    def emit(self, partial=False):
        if self.f:
            self.f.write(json.dumps(self.line(partial), separators=(',', ':')) + '\n')
        for t, c in zip(self.totals, self.cur):
            for i in range(6):
                t[i] += c[i]
        self.total_calls += self.calls
        self.total_ptee += self.ptee

    def roll(self, sec, now):
        while self.sec < sec:
            self.emit()
            for r, c in zip(self.resources, self.cur):
                r.end_second(c[WCU], now)
            self.cur = [[0.0] * 6 for _ in self.resources]
            self.calls = self.ptee = self.partial_calls = 0
            self.sec += 1
        if self.f:
            self.f.flush()

    def close(self, now):
        self.tick(now)
        self.emit(partial=True)
        if self.signed_path:
            with open(self.signed_path, 'w') as f:
                json.dump(dict(sorted(self.signed.items())), f)
        if self.f:
            self.f.flush()
            self.f.close()
            self.f = None


# --------------------------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------------------------

def parse_keyspec(spec):
    name, _, typ = spec.rpartition(':')
    if not name or typ not in ('S', 'N', 'B'):
        raise SystemExit('bad key spec %r: expected NAME:S|N|B' % spec)
    return name, typ


def parse_gsi(spec):
    parts = spec.split(':')
    if len(parts) not in (4, 5) or parts[2] not in ('S', 'N', 'B'):
        raise SystemExit('bad --gsi %r: expected NAME:HASHATTR:S|N|B:WCU[:RCU]' % spec)
    wcu = int(parts[3])
    rcu = int(parts[4]) if len(parts) == 5 else wcu
    return parts[0], parts[1], parts[2], wcu, rcu


def canon(typ, s, attr):
    if type(s) is not str:
        raise DynamoError('ValidationException', 'One or more parameter values were invalid: Type mismatch for key %s' % attr)
    if typ == 'N':
        try:
            d = Decimal(s)
        except InvalidOperation:
            raise DynamoError('ValidationException', 'A value provided cannot be converted into a number')
        if not d.is_finite():
            raise DynamoError('ValidationException', 'A value provided cannot be converted into a number')
        return str(d.normalize()) if d else '0'
    if not s:
        raise DynamoError('ValidationException', 'One or more parameter values are not valid. The AttributeValue '
                          'for a key attribute cannot contain an empty %s value. Key: %s'
                          % ('string' if typ == 'S' else 'binary', attr))
    return s


class Table:
    def __init__(self, opts, now):
        self.opts = opts
        self.name = opts.table
        self.name_b = opts.table.encode()
        self.hname, self.htype = parse_keyspec(opts.hash)
        self.range = parse_keyspec(opts.range) if opts.range else None
        self.key_names = [self.hname] + ([self.range[0]] if self.range else [])
        self.res = Resource('table', 'table', self.hname, self.htype, opts.wcu, opts.rcu, opts, now,
                            opts.max_write_units, opts.max_read_units)
        self.gsis = []
        for spec in opts.gsi:
            n, a, t, w, r = parse_gsi(spec)
            g = Resource(n, 'gsi', a, t, w, r, opts, now,
                         w if opts.on_demand else None, r if opts.on_demand else None)
            if opts.on_demand and not g.max_w:
                g.max_w = self.res.max_w
                g.wb.rate = g.od_write_rate()
                g.wb.cap = g.wb.rate * opts.bucket_seconds
                g.wb.tokens = g.wb.cap
            self.gsis.append(g)
        self.resources = [self.res] + self.gsis
        self.gsi_by_name = {g.name: g for g in self.gsis}
        self.store = {} if opts.store else None   # key tuple -> (item dict, size)
        self.store_bytes = 0
        self.sorted_keys = None                    # [(crc, key)] for Scan, rebuilt after writes
        self.unlimited = opts.unlimited

    # ---- keys

    def key_of(self, d):
        hv = d.get(self.hname)
        if type(hv) is not dict or self.htype not in hv:
            if hv is None:
                raise DynamoError('ValidationException', 'One or more parameter values were invalid: Missing the '
                                  'key %s in the item' % self.hname)
            raise DynamoError('ValidationException', 'One or more parameter values were invalid: Type mismatch '
                              'for key %s expected: %s' % (self.hname, self.htype))
        hs = canon(self.htype, hv[self.htype], self.hname)
        if self.range:
            rn, rt = self.range
            rv = d.get(rn)
            if type(rv) is not dict or rt not in rv:
                if rv is None:
                    raise DynamoError('ValidationException', 'One or more parameter values were invalid: Missing '
                                      'the key %s in the item' % rn)
                raise DynamoError('ValidationException', 'One or more parameter values were invalid: Type '
                                  'mismatch for key %s expected: %s' % (rn, rt))
            return (hs, canon(rt, rv[rt], rn)), zlib.crc32(hs.encode())
        return (hs,), zlib.crc32(hs.encode())

    def key_json(self, item):
        return {k: item[k] for k in self.key_names}

    def gsi_key(self, g, item):
        v = item.get(g.attr)
        if v is None:
            return None
        if type(v) is not dict or g.htype not in v:
            raise DynamoError('ValidationException', 'One or more parameter values were invalid: Type mismatch for '
                              'Index Key %s Expected: %s IndexName: %s' % (g.attr, g.htype, g.name))
        return canon(g.htype, v[g.htype], g.attr)

    # ---- describe

    def describe(self):
        o = self.opts
        attrs = {self.hname: self.htype}
        ks = [{'AttributeName': self.hname, 'KeyType': 'HASH'}]
        if self.range:
            attrs[self.range[0]] = self.range[1]
            ks.append({'AttributeName': self.range[0], 'KeyType': 'RANGE'})
        for g in self.gsis:
            attrs[g.attr] = g.htype
        n_items = len(self.store) if self.store is not None else 0
        t = {
            'TableName': self.name,
            'TableArn': 'arn:aws:dynamodb:us-east-1:000000000000:table/%s' % self.name,
            'TableId': '00000000-0000-0000-0000-000000000000',
            'TableStatus': 'ACTIVE',
            'CreationDateTime': 1700000000.0,
            'KeySchema': ks,
            'AttributeDefinitions': [{'AttributeName': a, 'AttributeType': typ} for a, typ in attrs.items()],
            'ItemCount': n_items,
            'TableSizeBytes': self.store_bytes + 100 * n_items,
            'DeletionProtectionEnabled': False,
        }
        if o.on_demand:
            t['BillingModeSummary'] = {'BillingMode': 'PAY_PER_REQUEST'}
            t['ProvisionedThroughput'] = {'NumberOfDecreasesToday': 0, 'ReadCapacityUnits': 0, 'WriteCapacityUnits': 0}
            t['OnDemandThroughput'] = {'MaxWriteRequestUnits': self.res.max_w or -1,
                                       'MaxReadRequestUnits': self.res.max_r or -1}
            t['WarmThroughput'] = {'WriteUnitsPerSecond': int(max(o.warm_write_units, 2 * self.res.prev_peak)),
                                   'ReadUnitsPerSecond': int(o.warm_read_units), 'Status': 'ACTIVE'}
        else:
            t['BillingModeSummary'] = {'BillingMode': 'PROVISIONED'}
            t['ProvisionedThroughput'] = {'NumberOfDecreasesToday': 0, 'ReadCapacityUnits': self.res.rcu,
                                          'WriteCapacityUnits': self.res.wcu}
            t['WarmThroughput'] = {'WriteUnitsPerSecond': self.res.wcu, 'ReadUnitsPerSecond': self.res.rcu,
                                   'Status': 'ACTIVE'}
        if self.gsis:
            out = []
            for g in self.gsis:
                d = {'IndexName': g.name,
                     'KeySchema': [{'AttributeName': g.attr, 'KeyType': 'HASH'}],
                     'Projection': {'ProjectionType': 'ALL'},
                     'IndexStatus': 'ACTIVE',
                     'IndexArn': 'arn:aws:dynamodb:us-east-1:000000000000:table/%s/index/%s' % (self.name, g.name),
                     'ItemCount': 0, 'IndexSizeBytes': 0}
                if o.on_demand:
                    d['ProvisionedThroughput'] = {'NumberOfDecreasesToday': 0, 'ReadCapacityUnits': 0,
                                                  'WriteCapacityUnits': 0}
                    d['OnDemandThroughput'] = {'MaxWriteRequestUnits': g.max_w or -1,
                                               'MaxReadRequestUnits': g.max_r or -1}
                    d['WarmThroughput'] = {'WriteUnitsPerSecond': int(max(o.warm_write_units, 2 * g.prev_peak)),
                                           'ReadUnitsPerSecond': int(o.warm_read_units), 'Status': 'ACTIVE'}
                else:
                    d['ProvisionedThroughput'] = {'NumberOfDecreasesToday': 0, 'ReadCapacityUnits': g.rcu,
                                                  'WriteCapacityUnits': g.wcu}
                    d['WarmThroughput'] = {'WriteUnitsPerSecond': g.wcu, 'ReadUnitsPerSecond': g.rcu,
                                           'Status': 'ACTIVE'}
                out.append(d)
            t['GlobalSecondaryIndexes'] = out
        return {'Table': t}


# --------------------------------------------------------------------------------------------------------------
# Operations
# --------------------------------------------------------------------------------------------------------------

def crc_of_key_hash(s):
    return zlib.crc32(s.encode())


class App:
    def __init__(self, opts, t0, clock=time.monotonic):
        self.opts = opts
        self.t0 = t0
        self.clock = clock          # tests pass a fake clock
        self.table = Table(opts, t0)
        self.stats = Stats(t0, self.table.resources, opts.log_part or opts.log, config_line(opts, self.table))
        self.stats.signed_path = opts.signed_log
        self.latency = opts.latency_ms / 1000.0
        self.fast = opts.unlimited and not opts.store and not opts.exact
        self.requests = 0
        self.ops = {
            b'BatchWriteItem': self.batch_write_fast if self.fast else self.batch_write,
            b'DescribeTable': self.describe_table,
            b'Scan': self.scan,
            b'BatchGetItem': self.batch_get,
            b'DescribeContinuousBackups': self.describe_backups,
        }

    # ---- dispatch

    def handle(self, target, body):
        """Returns (status, response body bytes)."""
        self.requests += 1
        op = target[target.rfind(b'.') + 1:] if target else b''
        fn = self.ops.get(op)
        try:
            if fn is None:
                raise DynamoError('UnknownOperationException', 'Unknown operation %s' % op.decode('latin-1'))
            return 200, fn(body)
        except DynamoError as e:
            return e.status, e.body()
        except Exception as e:  # a bug here must not take the server down
            print('capsim: internal error in %s: %r' % (op, e), file=sys.stderr)
            return 500, DynamoError('InternalServerError', 'capsim: %r' % e, 500).body()

    def load(self, body):
        try:
            req = json.loads(body)
        except ValueError:
            raise DynamoError('SerializationException', 'Start of structure or map found where not expected.')
        if type(req) is not dict:
            raise DynamoError('SerializationException', 'Start of structure or map found where not expected.')
        return req

    def check_table(self, name):
        if name != self.table.name:
            raise DynamoError('ResourceNotFoundException', 'Requested resource not found: Table: %s not found' % name)
        return self.table

    # ---- small operations

    def describe_table(self, body):
        req = self.load(body)
        t = self.check_table(req.get('TableName'))
        return dumps(t.describe())

    def describe_backups(self, body):
        req = self.load(body)
        self.check_table(req.get('TableName'))
        now = time.time()
        return dumps({'ContinuousBackupsDescription': {
            'ContinuousBackupsStatus': 'ENABLED',
            'PointInTimeRecoveryDescription': {'PointInTimeRecoveryStatus': 'ENABLED',
                                               'EarliestRestorableDateTime': now - 86400,
                                               'LatestRestorableDateTime': now - 300,
                                               'RecoveryPeriodInDays': 35}}})

    # ---- BatchWriteItem, null fast path (no JSON parse: items counted, units estimated from byte lengths)

    def batch_write_fast(self, body):
        puts = body.count(b'"PutRequest"')
        dels = body.count(b'"DeleteRequest"')
        n = puts + dels
        if n > 25:
            raise DynamoError('ValidationException', 'Too many items requested for the BatchWriteItem call')
        i = body.find(b'"RequestItems"')
        if i < 0 or n == 0:
            raise DynamoError('ValidationException', 'The requestItems parameter is required for BatchWriteItem')
        a = body.find(b'"', body.find(b'{', i) + 1)
        b = body.find(b'"', a + 1)
        if body[a + 1:b] != self.table.name_b:
            raise DynamoError('ResourceNotFoundException', 'Requested resource not found')
        table_units = dels
        gsi_units = gsi_items = None
        gsis = self.table.gsis
        if gsis:
            gsi_units = [0] * len(gsis)
            gsi_items = [0] * len(gsis)
        if puts:
            parts = body.split(b'"PutRequest"')
            last = len(parts) - 1
            for idx in range(1, last + 1):
                p = parts[idx]
                if dels:
                    k = p.find(b'"DeleteRequest"')
                    if k >= 0:
                        p = p[:k]
                if idx == last:
                    k = p.rfind(b']')       # the end of the request list; the rest is the request's tail
                    if k >= 0:
                        p = p[:k]
                # Item size ~ JSON length less the overhead per attribute: `"name":{"S":"value"},` has 12 bytes
                # beyond name and value (17 with json.dumps' spaces); about 2 bytes of the request framing remain.
                est = len(p) - 12 * p.count(b'":{"') - 17 * p.count(b'": {"') - 2
                w = (est + 1023) >> 10 if est > 1024 else 1
                table_units += w
                if gsis:
                    for k, g in enumerate(gsis):
                        if g.needle in p:
                            gsi_units[k] += w
                            gsi_items[k] += 1
        st = self.stats
        now = self.clock()
        st.tick(now)
        st.calls += 1
        c = st.cur[0]
        c[WCU] += table_units
        c[ITEMS] += n
        if st.signed_now:
            st.signed[st.signed_now] += table_units
        total = table_units
        if gsis:
            for k, u in enumerate(gsi_units):
                if u:
                    c = st.cur[k + 1]
                    c[WCU] += u
                    c[ITEMS] += gsi_items[k]
                    total += u
        j = body.find(b'"ReturnConsumedCapacity"')
        rcc = body[j + 24:j + 40] if j >= 0 else b''
        if b'INDEXES' in rcc:
            cc = b'{"TableName":"%s","CapacityUnits":%d.0,"Table":{"CapacityUnits":%d.0}' % (
                self.table.name_b, total, table_units)
            if gsis:
                cc += b',"GlobalSecondaryIndexes":{' + b','.join(
                    b'"%s":{"CapacityUnits":%d.0}' % (g.name.encode(), u) for g, u in zip(gsis, gsi_units) if u) + b'}'
            return b'{"UnprocessedItems":{},"ConsumedCapacity":[' + cc + b'}]}'
        if b'TOTAL' in rcc:
            return b'{"UnprocessedItems":{},"ConsumedCapacity":[{"TableName":"%s","CapacityUnits":%d.0}]}' % (
                self.table.name_b, total)
        return b'{"UnprocessedItems":{}}'

    # ---- BatchWriteItem, full model

    def batch_write(self, body):
        req = self.load(body)
        ri = req.get('RequestItems')
        if type(ri) is not dict or not ri:
            raise DynamoError('ValidationException', 'The requestItems parameter is required for BatchWriteItem')
        total = 0
        for tname, reqs in ri.items():
            self.check_table(tname)
            if type(reqs) is not list or not reqs:
                raise DynamoError('ValidationException', 'Request items for table %s must be a non-empty list' % tname)
            total += len(reqs)
        if total > 25:
            raise DynamoError('ValidationException', '1 validation error detected: Value at \'requestItems\' failed '
                              'to satisfy constraint: Map value must satisfy constraint: [Member must have length '
                              'less than or equal to 25, Member must have length greater than or equal to 1]')
        rcc = req.get('ReturnConsumedCapacity', 'NONE')
        t = self.table
        gsis = t.gsis
        store = t.store
        # Validate the whole request before doing anything, as DynamoDB does.
        ops = []
        seen = set()
        for r in ri[t.name]:
            if type(r) is not dict or len(r) != 1:
                raise DynamoError('ValidationException', 'Supplied WriteRequest must contain exactly one of PutRequest '
                                  'or DeleteRequest')
            if 'PutRequest' in r:
                item = r['PutRequest'].get('Item') if type(r['PutRequest']) is dict else None
                if type(item) is not dict:
                    raise DynamoError('ValidationException', 'PutRequest must have an Item')
                size = item_bytes(item)
                if size > MAX_ITEM_BYTES:
                    raise DynamoError('ValidationException', 'Item size has exceeded the maximum allowed size')
                key, crc = t.key_of(item)
                gk = [t.gsi_key(g, item) for g in gsis] if gsis else None
                ops.append((True, r, key, crc, item, size, gk))
            elif 'DeleteRequest' in r:
                kd = r['DeleteRequest'].get('Key') if type(r['DeleteRequest']) is dict else None
                if type(kd) is not dict or len(kd) != len(t.key_names):
                    raise DynamoError('ValidationException', 'The provided key element does not match the schema')
                key, crc = t.key_of(kd)
                ops.append((False, r, key, crc, None, 0, None))
            else:
                raise DynamoError('ValidationException', 'Supplied WriteRequest must contain exactly one of '
                                  'PutRequest or DeleteRequest')
            if key in seen:
                raise DynamoError('ValidationException', 'Provided list of item keys contains duplicates')
            seen.add(key)

        st = self.stats
        now = self.clock()
        st.tick(now)
        st.calls += 1
        unlimited = self.opts.unlimited
        tres = t.res
        ng = len(gsis)
        used_t = 0
        used_g = [0] * ng
        items_g = [0] * ng
        done = 0
        unprocessed = []
        blocked = set()
        for is_put, r, key, crc, item, size, gk in ops:
            old = store.get(key) if store is not None else None
            # units for the table
            if is_put:
                tcost = write_units(max(size, old[1]) if old else size)
            else:
                tcost = write_units(old[1]) if old else 1
            # units for each GSI (projection ALL): put, delete, or both when the index key changes
            gcost = None
            if ng:
                gcost = [0] * ng
                for k, g in enumerate(gsis):
                    new_k = gk[k] if is_put else None
                    old_k = t.gsi_key(g, old[0]) if old else None
                    if new_k is not None and old_k is not None:
                        gcost[k] = write_units(max(size, old[1])) if new_k == old_k else \
                            write_units(size) + write_units(old[1])
                    elif new_k is not None:
                        gcost[k] = write_units(size)
                    elif old_k is not None:
                        gcost[k] = write_units(old[1])
            if not unlimited:
                ok = True
                tp = tres.parts[crc % len(tres.parts)]
                if not (tres.wb.fits(tcost, now) and tp.fits(tcost, now)):
                    ok = False
                    blocked.add(0)
                gparts = None
                if ng:
                    gparts = [None] * ng
                    for k, g in enumerate(gsis):
                        c = gcost[k]
                        if not c:
                            continue
                        hv = gk[k] if (is_put and gk[k] is not None) else t.gsi_key(g, old[0])
                        gp = g.parts[crc_of_key_hash(hv) % len(g.parts)]
                        gparts[k] = gp
                        if not (g.wb.fits(c, now) and gp.fits(c, now)):
                            ok = False
                            blocked.add(k + 1)
                if not ok:
                    unprocessed.append(r)
                    continue
                tres.wb.take(tcost)
                tp.take(tcost)
                if ng:
                    for k, g in enumerate(gsis):
                        c = gcost[k]
                        if c:
                            g.wb.take(c)
                            gparts[k].take(c)
            used_t += tcost
            if ng:
                for k in range(ng):
                    if gcost[k]:
                        used_g[k] += gcost[k]
                        items_g[k] += 1
            done += 1
            if store is not None:
                if is_put:
                    store[key] = (item, size)
                    t.store_bytes += size - (old[1] if old else 0)
                elif old:
                    del store[key]
                    t.store_bytes -= old[1]
                t.sorted_keys = None
        # counters
        cur = st.cur
        c = cur[0]
        c[WCU] += used_t
        c[ITEMS] += done
        if st.signed_now and used_t:
            st.signed[st.signed_now] += used_t
        for k in range(ng):
            if used_g[k]:
                cur[k + 1][WCU] += used_g[k]
                cur[k + 1][ITEMS] += items_g[k]
        if unprocessed:
            c[UNPROC] += len(unprocessed) if done else 0
            for k in blocked:
                cur[k][TITEMS] += len(unprocessed)
                if not done:
                    cur[k][TCALLS] += 1
            if done:
                st.partial_calls += 1
            else:
                st.ptee += 1
                # DynamoDB names what throttled (ThrottlingReasons, 2025): the table or the index, and which limit.
                limit = 'MaxOnDemandThroughputExceeded' if self.opts.on_demand else 'ProvisionedThroughputExceeded'
                arn = 'arn:aws:dynamodb:us-east-1:000000000000:table/%s' % t.name
                reasons = [{'reason': ('Table' if k == 0 else 'Index') + 'Write' + limit,
                            'resource': arn if k == 0 else '%s/index/%s' % (arn, t.resources[k].name)}
                           for k in sorted(blocked)]
                raise DynamoError('ProvisionedThroughputExceededException',
                                  PTEE_ON_DEMAND if self.opts.on_demand else PTEE_PROVISIONED, reasons=reasons)
        out = {'UnprocessedItems': {t.name: unprocessed} if unprocessed else {}}
        if rcc in ('TOTAL', 'INDEXES'):
            cc = {'TableName': t.name, 'CapacityUnits': float(used_t + sum(used_g))}
            if rcc == 'INDEXES':
                cc['Table'] = {'CapacityUnits': float(used_t)}
                g = {gsis[k].name: {'CapacityUnits': float(used_g[k])} for k in range(ng) if used_g[k]}
                if g:
                    cc['GlobalSecondaryIndexes'] = g
            out['ConsumedCapacity'] = [cc]
        return dumps(out)

    # ---- Scan

    def ordered(self):
        t = self.table
        if t.sorted_keys is None:
            t.sorted_keys = sorted((zlib.crc32(k[0].encode()), k) for k in t.store)
        return t.sorted_keys

    def scan(self, body):
        req = self.load(body)
        t = self.check_table(req.get('TableName'))
        if t.store is None:
            raise DynamoError('ValidationException', 'capsim: Scan needs the item store (run without --no-store)')
        index = req.get('IndexName')
        g = None
        if index is not None:
            g = t.gsi_by_name.get(index)
            if g is None:
                raise DynamoError('ValidationException', 'The table does not have the specified index: %s' % index)
        seg, total = req.get('Segment'), req.get('TotalSegments')
        if (seg is None) != (total is None):
            raise DynamoError('ValidationException', 'The TotalSegments parameter is required but was not present '
                              'in the request when Segment parameter is present')
        if total is None:
            seg, total = 0, 1
        if not (type(total) is int and 1 <= total <= 1000000 and type(seg) is int and 0 <= seg < total):
            raise DynamoError('ValidationException', 'Segment must be >= 0 and < TotalSegments <= 1000000')
        limit = req.get('Limit')
        if limit is not None and (type(limit) is not int or limit < 1):
            raise DynamoError('ValidationException', 'Limit must be >= 1')
        consistent = bool(req.get('ConsistentRead', False))
        rcc = req.get('ReturnConsumedCapacity', 'NONE')
        lo = (seg << 32) // total
        hi = ((seg + 1) << 32) // total
        keys = self.ordered()
        esk = req.get('ExclusiveStartKey')
        if esk:
            k, crc = t.key_of(esk)
            pos = bisect.bisect_right(keys, (crc, k))
            if crc < lo or crc >= hi:
                raise DynamoError('ValidationException', 'The provided starting key is invalid: the key is not in '
                                  'this segment')
        else:
            pos = bisect.bisect_left(keys, (lo,))
        items = []
        scanned = 0
        nbytes = 0
        last = None
        store = t.store
        n = len(keys)
        more = False
        while pos < n:
            crc, k = keys[pos]
            if crc >= hi:
                break
            pos += 1
            e = store.get(k)
            if e is None:
                continue
            item, size = e
            if g is not None and g.attr not in item:
                continue
            scanned += 1
            nbytes += size
            items.append(item)
            last = item
            if (limit is not None and scanned >= limit) or nbytes >= 1024 * 1024:
                more = pos < n and keys[pos][0] < hi or (limit is not None and scanned >= limit)
                break
        units = read_units(nbytes) if nbytes else 1
        units = float(units) if consistent else units / 2.0
        res = g if g is not None else t.res
        st = self.stats
        now = self.clock()
        st.tick(now)
        st.calls += 1
        idx = t.resources.index(res)
        if not self.opts.unlimited and not res.rb.fits(units, now):
            st.cur[idx][TCALLS] += 1
            st.ptee += 1
            raise DynamoError('ProvisionedThroughputExceededException',
                              PTEE_ON_DEMAND if self.opts.on_demand else PTEE_PROVISIONED)
        if not self.opts.unlimited:
            res.rb.take(units)
        st.cur[idx][RCU] += units
        out = {'Items': items, 'Count': len(items), 'ScannedCount': scanned}
        if more and last is not None:
            lek = t.key_json(last)
            if g is not None:
                lek[g.attr] = last[g.attr]
            out['LastEvaluatedKey'] = lek
        if rcc in ('TOTAL', 'INDEXES'):
            cc = {'TableName': t.name, 'CapacityUnits': units}
            if rcc == 'INDEXES':
                if g is None:
                    cc['Table'] = {'CapacityUnits': units}
                else:
                    cc['GlobalSecondaryIndexes'] = {g.name: {'CapacityUnits': units}}
            out['ConsumedCapacity'] = cc
        return dumps(out)

    # ---- BatchGetItem (reads from the store; units per item, throttled like Scan)

    def batch_get(self, body):
        req = self.load(body)
        ri = req.get('RequestItems')
        if type(ri) is not dict or not ri:
            raise DynamoError('ValidationException', 'The requestItems parameter is required for BatchGetItem')
        t = None
        for tname in ri:
            t = self.check_table(tname)
        if t.store is None:
            raise DynamoError('ValidationException', 'capsim: BatchGetItem needs the item store (run without --no-store)')
        spec = ri[t.name]
        keys = spec.get('Keys') or []
        if len(keys) > 100:
            raise DynamoError('ValidationException', 'Too many items requested for the BatchGetItem call')
        consistent = bool(spec.get('ConsistentRead', False))
        rcc = req.get('ReturnConsumedCapacity', 'NONE')
        st = self.stats
        now = self.clock()
        st.tick(now)
        st.calls += 1
        found, unprocessed, used = [], [], 0.0
        for kd in keys:
            k, _ = t.key_of(kd)
            e = t.store.get(k)
            u = float(read_units(e[1] if e else 0))
            if not consistent:
                u /= 2
            if not self.opts.unlimited:
                if not t.res.rb.fits(u, now):
                    unprocessed.append(kd)
                    continue
                t.res.rb.take(u)
            used += u
            if e:
                found.append(e[0])
        if unprocessed and len(unprocessed) == len(keys):
            st.ptee += 1
            st.cur[0][TCALLS] += 1
            raise DynamoError('ProvisionedThroughputExceededException',
                              PTEE_ON_DEMAND if self.opts.on_demand else PTEE_PROVISIONED)
        st.cur[0][RCU] += used
        out = {'Responses': {t.name: found}, 'UnprocessedKeys': {}}
        if unprocessed:
            u = dict(spec)
            u['Keys'] = unprocessed
            out['UnprocessedKeys'] = {t.name: u}
        if rcc in ('TOTAL', 'INDEXES'):
            cc = {'TableName': t.name, 'CapacityUnits': used}
            if rcc == 'INDEXES':
                cc['Table'] = {'CapacityUnits': used}
            out['ConsumedCapacity'] = [cc]
        return dumps(out)


def config_line(opts, table):
    res = table.res
    return {
        'type': 'config', 't0_unix': time.time(), 'table': opts.table,
        'mode': 'unlimited' if opts.unlimited else ('on-demand' if opts.on_demand else 'provisioned'),
        'write_capacity': (res.max_w if opts.on_demand else opts.wcu),
        'read_capacity': (res.max_r if opts.on_demand else opts.rcu),
        'burst_seconds': opts.burst_seconds, 'bucket_seconds': opts.bucket_seconds,
        'warm_write_units': opts.warm_write_units if opts.on_demand else None,
        'partitions': len(res.parts),
        'gsi': {g.name: {'hash': g.attr, 'write_capacity': (g.max_w if opts.on_demand else g.wcu),
                         'read_capacity': (g.max_r if opts.on_demand else g.rcu), 'partitions': len(g.parts)}
                for g in table.gsis},
        'store': opts.store, 'fast_path': bool(opts.unlimited and not opts.store and not opts.exact),
        'workers': opts.workers,
    }


# --------------------------------------------------------------------------------------------------------------
# HTTP/1.1 (Content-Length bodies, keep-alive, TCP_NODELAY)
# --------------------------------------------------------------------------------------------------------------

RESP_HEAD = (b'HTTP/1.1 %d %s\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: capsim-%d\r\n'
             b'x-amz-crc32: %d\r\nContent-Length: %d\r\n%s\r\n')
REASON = {200: b'OK', 400: b'Bad Request', 413: b'Payload Too Large', 500: b'Internal Server Error'}
MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024


class HTTPProtocol(asyncio.Protocol):
    __slots__ = ('app', 'tr', 'buf', 'clen', 'target', 'close_after', 'server', 'signed')

    def __init__(self, app, server):
        self.app = app
        self.server = server
        self.tr = None
        self.buf = bytearray()
        self.clen = -1
        self.target = None
        self.close_after = False
        self.signed = None

    def answer_late(self, response, close):
        if self.tr is not None and not self.tr.is_closing():
            self.tr.write(response)
            if close:
                self.tr.close()

    def connection_made(self, transport):
        self.tr = transport
        sock = transport.get_extra_info('socket')
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.conns.add(self)

    def connection_lost(self, exc):
        self.server.conns.discard(self)

    def bad(self, status, msg):
        body = DynamoError('SerializationException', msg).body()
        self.tr.write(RESP_HEAD % (status, REASON.get(status, b'Error'), 0, zlib.crc32(body), len(body),
                                   b'Connection: close\r\n') + body)
        self.tr.close()

    def data_received(self, data):
        buf = self.buf
        buf += data
        while True:
            if self.clen < 0:
                i = buf.find(b'\r\n\r\n')
                if i < 0:
                    if len(buf) > MAX_HEAD:
                        self.bad(400, 'request head too large')
                    return
                head = bytes(buf[:i])
                del buf[:i + 4]
                lines = head.split(b'\r\n')
                clen = 0
                target = None
                close = lines[0].endswith(b'HTTP/1.0')
                expect = False
                for line in lines[1:]:
                    k, _, v = line.partition(b':')
                    k = k.strip().lower()
                    if k == b'content-length':
                        clen = int(v)
                    elif k == b'x-amz-target':
                        target = v.strip()
                    elif k == b'x-amz-date':
                        self.signed = v.strip().decode('latin-1')
                    elif k == b'connection':
                        v = v.strip().lower()
                        close = v == b'close'
                    elif k == b'transfer-encoding':
                        self.bad(400, 'capsim reads Content-Length bodies only')
                        return
                    elif k == b'expect':
                        expect = v.strip().lower() == b'100-continue'
                if clen > MAX_BODY:
                    self.bad(413, 'body too large')
                    return
                self.clen = clen
                self.target = target
                self.close_after = close
                if expect and len(buf) < clen:
                    self.tr.write(b'HTTP/1.1 100 Continue\r\n\r\n')
            clen = self.clen
            if len(buf) < clen:
                return
            if clen == len(buf):
                body = bytes(buf)
                buf.clear()
            else:
                body = bytes(buf[:clen])
                del buf[:clen]
            self.clen = -1
            app = self.app
            if self.target is None:
                status, out = 200, b'healthy: dynamodb.us-east-1.amazonaws.com '
            else:
                app.stats.signed_now = self.signed
                status, out = app.handle(self.target, body)
            extra = b'Connection: close\r\n' if self.close_after else b''
            response = RESP_HEAD % (status, REASON.get(status, b'Error'), app.requests, zlib.crc32(out), len(out),
                                    extra) + out
            if app.latency > 0:
                # A network's round trip: the request is charged now, its answer arrives --latency-ms later.
                asyncio.get_running_loop().call_later(app.latency, self.answer_late, response, self.close_after)
                if self.close_after:
                    return
            else:
                self.tr.write(response)
                if self.close_after:
                    self.tr.close()
                    return
            if not buf:
                return


class Server:
    def __init__(self):
        self.conns = set()


# --------------------------------------------------------------------------------------------------------------
# Running: one process, or --workers N processes on one SO_REUSEPORT port (unlimited mode)
# --------------------------------------------------------------------------------------------------------------

def make_socket(host, port, reuseport):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((host, port))
    return s


def serve(opts, sock, t0, ready=None):
    """Run one event loop on a listening socket until SIGTERM/SIGINT; then write the log and return."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    app = App(opts, t0)
    srv = Server()
    stop = loop.create_future()

    def on_signal():
        if not stop.done():
            stop.set_result(True)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)

    def timer():
        now = time.monotonic()
        app.stats.tick(now)
        # Stored items are acyclic JSON trees: move everything alive into the permanent generation once a second
        # so the cyclic collector does not rescan the whole store as it grows.
        gc.freeze()
        nxt = t0 + int(now - t0) + 1.001
        loop.call_at(nxt - time.monotonic() + loop.time(), timer)

    async def main():
        sock.listen(1024)
        server = await loop.create_server(lambda: HTTPProtocol(app, srv), sock=sock, backlog=1024)
        loop.call_soon(timer)
        if ready is not None:
            ready()
        await stop
        server.close()
        for c in list(srv.conns):
            if c.tr is not None:
                c.tr.close()

    try:
        loop.run_until_complete(main())
    finally:
        app.stats.close(time.monotonic())
    return app


def summary(app_stats, t0, cpu):
    st = app_stats
    sec = max(1e-9, time.monotonic() - t0)
    tbl = st.totals[0]
    return {'summary': {'seconds': round(sec, 3), 'calls': st.total_calls, 'items': int(tbl[ITEMS]),
                        'table_wcu': tbl[WCU], 'table_rcu': tbl[RCU], 'ptee': st.total_ptee,
                        'unprocessed': int(tbl[UNPROC]),
                        'gsi_wcu': {r.name: st.totals[i][WCU] for i, r in enumerate(st.resources) if i},
                        'cpu_seconds': round(cpu, 3)}}


def cpu_self():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_single(opts):
    sock = make_socket(opts.host, opts.port, False)
    port = sock.getsockname()[1]
    t0 = time.monotonic()

    def ready():
        print(json.dumps({'endpoint': 'http://%s:%d' % (opts.host, port)}), flush=True)

    app = serve(opts, sock, t0, ready)
    if not opts.quiet:
        print(json.dumps(summary(app.stats, t0, cpu_self())), file=sys.stderr, flush=True)


def merge_logs(opts, parts, out):
    config = None
    seconds = {}
    for p in parts:
        try:
            f = open(p)
        except OSError:
            continue
        with f:
            for line in f:
                d = json.loads(line)
                if d.get('type') == 'config':
                    config = config or d
                    continue
                s = d['second']
                m = seconds.get(s)
                if m is None:
                    seconds[s] = d
                    continue
                for k in ('calls', 'ptee', 'partial_calls'):
                    m[k] += d[k]
                m['partial'] = m.get('partial', False) or d.get('partial', False)
                pairs = [(m['table'], d['table'])] + [(m['gsi'][n], d['gsi'][n]) for n in m['gsi']]
                for a, b in pairs:
                    for f_ in FIELDS:
                        a[f_] += b[f_]
        os.unlink(p)
    if config is not None:
        config['workers'] = opts.workers
    last = max(seconds) if seconds else -1
    out.truncate(0)
    with out as f:
        if config:
            f.write(json.dumps(config) + '\n')
        for s in range(last + 1):
            d = seconds.get(s)
            if d is None:
                continue
            if s == last:
                d['partial'] = True
            elif 'partial' in d:
                del d['partial']   # a worker's last second that others went past
            f.write(json.dumps(d, separators=(',', ':')) + '\n')
    return seconds


def run_workers(opts):
    if not opts.unlimited:
        raise SystemExit('--workers > 1 is for --unlimited only (buckets are per process)')
    merged = open_log(opts.log) if opts.log else None
    reserve = make_socket(opts.host, opts.port, True)
    port = reserve.getsockname()[1]
    t0 = time.monotonic()
    children = []
    parts = []
    r_fd, w_fd = os.pipe()
    for i in range(opts.workers):
        part = '%s.worker%d' % (opts.log, i) if opts.log else None
        parts.append(part)
        pid = os.fork()
        if pid == 0:
            os.close(r_fd)
            code = 0
            try:
                opts.log_part = part
                sock = make_socket(opts.host, port, True)

                def ready():
                    os.write(w_fd, b'.')

                app = serve(opts, sock, t0, ready)
                st = app.stats
                with open(part + '.summary' if part else os.devnull, 'w') as f:
                    json.dump({'calls': st.total_calls, 'items': st.totals[0][ITEMS], 'wcu': st.totals[0][WCU]}, f)
            except BaseException as e:  # noqa
                print('capsim worker %d: %r' % (i, e), file=sys.stderr)
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    os.close(w_fd)
    got = 0
    while got < opts.workers:
        b = os.read(r_fd, 64)
        if not b:
            raise SystemExit('capsim: a worker failed to start')
        got += len(b)
    print(json.dumps({'endpoint': 'http://%s:%d' % (opts.host, port)}), flush=True)

    stopping = []

    def forward(signum, frame):
        if not stopping:
            stopping.append(signum)
            for pid in children:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for pid in children:
        while True:
            try:
                os.waitpid(pid, 0)
                break
            except ChildProcessError:
                break
            except InterruptedError:
                continue
    reserve.close()
    calls = items = wcu = 0
    for p in parts:
        if p:
            try:
                with open(p + '.summary') as f:
                    d = json.load(f)
                calls += d['calls']
                items += d['items']
                wcu += d['wcu']
                os.unlink(p + '.summary')
            except OSError:
                pass
    if merged:
        merge_logs(opts, parts, merged)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not opts.quiet:
        print(json.dumps({'summary': {'seconds': round(time.monotonic() - t0, 3), 'calls': calls, 'items': int(items),
                                      'table_wcu': wcu, 'workers': opts.workers,
                                      'cpu_seconds': round(ru.ru_utime + ru.ru_stime + cpu_self(), 3)}}),
              file=sys.stderr, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Local DynamoDB capacity simulator (benchmark tooling).')
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int, default=0, help='0 = any free port (default)')
    p.add_argument('--table', default='bench', help='table name (default bench)')
    p.add_argument('--hash', default='pk:S', help='partition key NAME:S|N|B (default pk:S)')
    p.add_argument('--range', default='sk:S', help='sort key NAME:S|N|B (default sk:S); "" for none')
    p.add_argument('--gsi', action='append', default=[], metavar='NAME:HASHATTR:S:WCU[:RCU]',
                   help='a GSI with projection ALL (repeatable); on-demand: WCU/RCU are its max units (0 = table max)')
    p.add_argument('--wcu', type=int, default=1000, help='provisioned write capacity units (default 1000)')
    p.add_argument('--rcu', type=int, default=1000, help='provisioned read capacity units (default 1000)')
    p.add_argument('--burst-seconds', type=float, default=300.0,
                   help='burst credit: unused capacity kept up to this many seconds (default 300; 0 for accuracy runs)')
    p.add_argument('--bucket-seconds', type=float, default=1.0,
                   help='token bucket depth with no burst credit, in seconds of capacity (default 1)')
    p.add_argument('--initial-seconds', type=float, default=1.0,
                   help='tokens at start, in seconds of capacity (default 1; burst credit builds up while idle)')
    p.add_argument('--partitions', type=int, default=0, help='force the table partition count')
    p.add_argument('--partition-wcu', type=float, default=1000.0, help='write units/s per partition (default 1000)')
    p.add_argument('--partition-rcu', type=float, default=3000.0, help='read units/s per partition (default 3000)')
    p.add_argument('--on-demand', action='store_true', help='PAY_PER_REQUEST table')
    p.add_argument('--max-write-units', type=int, default=0, help='on-demand MaxWriteRequestUnits (0 = none)')
    p.add_argument('--max-read-units', type=int, default=0, help='on-demand MaxReadRequestUnits (0 = none)')
    p.add_argument('--warm-write-units', type=float, default=4000.0,
                   help='on-demand warm throughput: write units/s served at once (= 2 x initial previous peak; default 4000)')
    p.add_argument('--warm-read-units', type=float, default=12000.0, help='on-demand read units/s (default 12000)')
    p.add_argument('--peak-window', type=int, default=30,
                   help='on-demand: seconds of sustained traffic whose mean becomes the new previous peak (default 30)')
    p.add_argument('--unlimited', action='store_true', help='null sink: never throttle, just count')
    p.add_argument('--store', dest='store', action='store_true', default=None, help='keep items (default unless --unlimited)')
    p.add_argument('--no-store', dest='store', action='store_false', help='do not keep items')
    p.add_argument('--exact', action='store_true',
                   help='--unlimited: parse every request and size items exactly (default: estimate from byte lengths)')
    p.add_argument('--workers', type=int, default=1, help='--unlimited: N processes on one SO_REUSEPORT port')
    p.add_argument('--log', help='per-second JSON-lines log')
    p.add_argument('--latency-ms', type=float, default=0.0,
                   help='answer every request this long after it arrives (a network round trip; default 0)')
    p.add_argument('--signed-log', help='table WCU by the second each request was signed (X-Amz-Date), one JSON '
                   'object {"YYYYMMDDTHHMMSSZ": units}, written at exit (not with --workers)')
    p.add_argument('--quiet', action='store_true', help='no summary on stderr at exit')
    opts = p.parse_args(argv)
    if opts.store is None:
        opts.store = not opts.unlimited
    if opts.workers > 1:
        opts.store = False
    opts.log_part = None
    return opts


def main(argv=None):
    opts = parse_args(argv)
    if opts.workers > 1:
        run_workers(opts)
    else:
        run_single(opts)


if __name__ == '__main__':
    main()
