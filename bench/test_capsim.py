#!/usr/bin/env python3
"""Self-test of bench/capsim.py's capacity model and protocol. Plain python, no pytest:

    python3 bench/test_capsim.py          # prints one line per check, exits 1 on any failure

Rate checks drive capsim.App directly with a fake clock (deterministic); protocol checks start capsim.py as a
server on 127.0.0.1 and talk to it with boto3 (which checks x-amz-crc32) and http.client.
"""

import http.client
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import capsim  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

BWI = b'DynamoDB_20120810.BatchWriteItem'
SCAN = b'DynamoDB_20120810.Scan'
FAILURES = []
CHECKS = [0]


def check(cond, what):
    CHECKS[0] += 1
    if not cond:
        raise AssertionError(what)


class Clock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


def make_app(args, clock=None):
    clock = clock or Clock()
    opts = capsim.parse_args(args)
    return capsim.App(opts, clock.t, clock=clock), clock


def item(i, kb=1, pk=None, extra=None):
    """An item whose size is exactly kb KB (kb*1024 bytes), so it costs kb WCU."""
    d = {'pk': {'S': pk if pk is not None else 'p%06d' % i}, 'sk': {'S': 's%06d' % i}}
    if extra:
        d.update(extra)
    size = capsim.item_bytes(d) + len('pad')
    d['pad'] = {'S': 'x' * (kb * 1024 - size)}
    assert capsim.item_bytes(d) == kb * 1024
    return d


def bwi_body(items, table='bench', rcc='INDEXES', deletes=()):
    reqs = [{'PutRequest': {'Item': it}} for it in items] + [{'DeleteRequest': {'Key': k}} for k in deletes]
    return json.dumps({'RequestItems': {table: reqs}, 'ReturnConsumedCapacity': rcc}).encode()


def call(app, target, body):
    status, out = app.handle(target, body)
    return status, json.loads(out)


# ---------------------------------------------------------------------------------------------------------------
# Model checks (fake clock)
# ---------------------------------------------------------------------------------------------------------------

def test_item_size_rules():
    vb = capsim.value_bytes
    check(vb({'S': 'héllo'}) == 6, 'S counts UTF-8 bytes')
    check(vb({'N': '123.45'}) == 4, 'N: 5 significant digits -> 3 + 1')
    check(vb({'N': '-1'}) == 3, 'negative N takes one more byte')
    check(vb({'N': '1000'}) == 2, 'trailing zeros trimmed')
    check(vb({'B': 'AAECAw=='}) == 4, 'B counts decoded bytes')
    check(vb({'BOOL': True}) == 1 and vb({'NULL': True}) == 1, 'BOOL/NULL 1 byte')
    check(vb({'L': [{'S': 'ab'}, {'N': '1'}]}) == 3 + (1 + 2) + (1 + 2), 'L: 3 + (1 + element) each')
    check(vb({'M': {'k': {'S': 'ab'}}}) == 3 + 1 + 1 + 2, 'M: 3 + (1 + name + value) each')
    check(vb({'SS': ['a', 'bc']}) == 3 and vb({'NS': ['1', '22']}) == 4, 'sets: sum of members')
    check(capsim.item_bytes({'pk': {'S': 'abc'}, 'n': {'N': '7'}}) == 2 + 3 + 1 + 2, 'item: names + values')
    check(capsim.write_units(1024) == 1 and capsim.write_units(1025) == 2, '1 WCU per started KB')


def test_provisioned_rate_burst0():
    """W=200, burst 0, 1 KB items: a client retrying unprocessed items as fast as it can gets W/s, no more."""
    app, clk = make_app(['--wcu', '200', '--rcu', '100', '--burst-seconds', '0'])
    pending = [item(i) for i in range(3000)]
    done_at = {}
    consumed = 0.0
    dt = 0.01
    while clk.t < 1010.0:
        batch, pending = pending[:25], pending[25:]
        if not batch:
            break
        status, out = call(app, BWI, bwi_body(batch))
        if status == 200:
            back = [r['PutRequest']['Item'] for r in out['UnprocessedItems'].get('bench', [])]
            consumed += out['ConsumedCapacity'][0]['Table']['CapacityUnits']
            sec = int(clk.t - 1000.0)
            done_at[sec] = done_at.get(sec, 0) + len(batch) - len(back)
        else:
            check(out['__type'].endswith('ProvisionedThroughputExceededException'), 'throttle is PTEE')
            back = batch
        pending = back + pending
        clk.t += dt
    secs = clk.t - 1000.0
    # initial bucket = 1 s of capacity, then W per second
    check(abs(consumed - 200 * (secs + 1)) <= 25, 'consumed %.0f vs 200*(%.2f+1)' % (consumed, secs))
    for s in range(1, 9):
        check(abs(done_at.get(s, 0) - 200) <= 25, 'second %d wrote %d items, expected 200' % (s, done_at.get(s, 0)))


def test_unprocessed_partial_then_ptee():
    app, clk = make_app(['--wcu', '10', '--burst-seconds', '0'])
    status, out = call(app, BWI, bwi_body([item(i) for i in range(25)]))
    check(status == 200, 'partial batch is a 200')
    un = out['UnprocessedItems']['bench']
    check(len(un) == 15, '10 of 25 fit in a 10 WCU bucket, 15 unprocessed (got %d)' % len(un))
    check(out['ConsumedCapacity'][0]['CapacityUnits'] == 10.0, 'consumed 10')
    check(un[0]['PutRequest']['Item']['pk']['S'] == 'p000010', 'unprocessed are the requests as sent, in order')
    status, out = call(app, BWI, bwi_body([item(i) for i in range(25, 50)]))
    check(status == 400 and out['__type'] ==
          'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', 'nothing fits -> 400 PTEE')
    clk.t += 0.5
    status, out = call(app, BWI, bwi_body([item(i, kb=2) for i in range(50, 75)]))
    check(status == 200 and len(out['UnprocessedItems']['bench']) == 23, 'after 0.5 s: 5 tokens -> two 2 KB items')
    st = app.stats
    check(st.ptee == 1 and st.partial_calls == 2, 'per-second counters: 1 PTEE, 2 partial calls')
    check(st.cur[0][capsim.UNPROC] == 15 + 23, 'unprocessed items counted')


def test_validation():
    app, _ = make_app(['--wcu', '1000'])
    status, out = call(app, BWI, bwi_body([item(i) for i in range(26)]))
    check(status == 400 and out['__type'].endswith('#ValidationException'), '26 requests -> ValidationException')
    status, out = call(app, BWI, bwi_body([item(1), item(1)]))
    check(status == 400 and 'duplicates' in out['message'], 'duplicate keys -> ValidationException')
    status, out = call(app, BWI, bwi_body([{'pk': {'S': 'a'}}]))
    check(status == 400 and 'Missing the key sk' in out['message'], 'missing range key')
    status, out = call(app, BWI, bwi_body([item(1)], table='other'))
    check(status == 400 and out['__type'].endswith('#ResourceNotFoundException'), 'unknown table')
    status, out = call(app, b'DynamoDB_20120810.PutItem', b'{}')
    check(status == 400 and 'UnknownOperationException' in out['__type'], 'unknown operation')
    # the null fast path rejects > 25 too
    app, _ = make_app(['--unlimited'])
    status, out = call(app, BWI, bwi_body([item(i) for i in range(26)]))
    check(status == 400 and out['__type'].endswith('#ValidationException'), 'fast path: 26 -> ValidationException')


def test_gsi_accounting():
    app, clk = make_app(['--wcu', '10000', '--gsi', 'byCust:cust:S:10', '--burst-seconds', '0'])
    with_attr = [item(i, extra={'cust': {'S': 'c%d' % (i % 3)}}) for i in range(5)]
    without = [item(i) for i in range(5, 10)]
    status, out = call(app, BWI, bwi_body(with_attr + without))
    cc = out['ConsumedCapacity'][0]
    check(status == 200 and cc['Table']['CapacityUnits'] == 10.0, 'table charged for all 10 items')
    check(cc['GlobalSecondaryIndexes'] == {'byCust': {'CapacityUnits': 5.0}}, 'GSI charged only items with its key')
    check(cc['CapacityUnits'] == 15.0, 'total = table + GSI')
    # the GSI has 5 tokens left: items with the GSI attribute beyond that are unprocessed although the table has room
    more = [item(i, extra={'cust': {'S': 'c'}}) for i in range(10, 20)]
    status, out = call(app, BWI, bwi_body(more + [item(i) for i in range(20, 25)]))
    cc = out['ConsumedCapacity'][0]
    check(len(out['UnprocessedItems']['bench']) == 5, 'GSI back-pressure throttles base writes (5 unprocessed)')
    check(cc['GlobalSecondaryIndexes']['byCust']['CapacityUnits'] == 5.0 and cc['Table']['CapacityUnits'] == 10.0,
          'table 10 (5 with + 5 without), GSI 5')
    check(app.stats.cur[1][capsim.TITEMS] == 5, 'throttled items attributed to the GSI')
    # stored mode: changing an item's GSI key costs a delete and a put in the index; a delete costs the old size
    clk.t += 10
    status, out = call(app, BWI, bwi_body([item(0, extra={'cust': {'S': 'other'}})]))
    check(out['ConsumedCapacity'][0]['GlobalSecondaryIndexes']['byCust']['CapacityUnits'] == 2.0,
          'GSI key change = 2 index writes')
    status, out = call(app, BWI, bwi_body([], deletes=[{'pk': {'S': 'p000000'}, 'sk': {'S': 's000000'}}]))
    cc = out['ConsumedCapacity'][0]
    check(cc['Table']['CapacityUnits'] == 1.0 and cc['GlobalSecondaryIndexes']['byCust']['CapacityUnits'] == 1.0,
          'delete of a stored item with the GSI key: 1 + 1')
    big = item(30, kb=3)
    call(app, BWI, bwi_body([big]))
    status, out = call(app, BWI, bwi_body([], deletes=[{'pk': big['pk'], 'sk': big['sk']}]))
    check(out['ConsumedCapacity'][0]['Table']['CapacityUnits'] == 3.0, 'delete costs the stored item\'s size')
    status, out = call(app, BWI, bwi_body([], deletes=[{'pk': {'S': 'none'}, 'sk': {'S': 'x'}}]))
    check(out['ConsumedCapacity'][0]['Table']['CapacityUnits'] == 1.0, 'delete of a missing item costs 1')
    small = item(31, kb=1)
    call(app, BWI, bwi_body([item(31, kb=4)]))
    status, out = call(app, BWI, bwi_body([small]))
    check(out['ConsumedCapacity'][0]['Table']['CapacityUnits'] == 4.0, 'a replacing put costs max(old, new)')


def test_partition_limit():
    # 4000 WCU -> 4 partitions of 1000 WCU/s each; one hash key can use only its partition's 1000
    app, clk = make_app(['--wcu', '4000', '--rcu', '100', '--burst-seconds', '0'])
    check(len(app.table.res.parts) == 4, '4000 WCU -> 4 partitions')
    done = 0
    for b in range(80):
        status, out = call(app, BWI, bwi_body([item(b * 25 + i, pk='hot') for i in range(25)]))
        if status == 200:
            done += 25 - len(out['UnprocessedItems'].get('bench', []))
    check(done == 1000, 'one hash key: 1000 WCU in a second, got %d' % done)
    # distinct hash keys spread over the partitions reach the table's 4000 (less hashing imbalance)
    app, clk = make_app(['--wcu', '4000', '--rcu', '100', '--burst-seconds', '0'])
    done = 0
    for b in range(200):
        status, out = call(app, BWI, bwi_body([item(b * 25 + i) for i in range(25)]))
        if status == 200:
            done += 25 - len(out['UnprocessedItems'].get('bench', []))
    check(3600 <= done <= 4000, 'distinct keys: about 4000 WCU in a second, got %d' % done)
    app, _ = make_app(['--wcu', '1000', '--rcu', '9001'])
    check(len(app.table.res.parts) == 4, 'RCU 9001 -> ceil(9001/3000) = 4 partitions')


def test_burst_credit():
    app, clk = make_app(['--wcu', '100', '--burst-seconds', '300'])
    clk.t += 5    # idle 5 s: 1 s initial + 5 s of credit
    done = 0
    for b in range(60):
        status, out = call(app, BWI, bwi_body([item(b * 25 + i) for i in range(25)]))
        if status == 200:
            done += 25 - len(out['UnprocessedItems'].get('bench', []))
    check(done == 600, 'burst credit after 5 s idle: 600 WCU at once, got %d' % done)
    clk.t += 100  # the partition's 1,000 WCU/s still caps a burst
    done = 0
    for b in range(100):
        status, out = call(app, BWI, bwi_body([item(10000 + b * 25 + i) for i in range(25)]))
        if status == 200:
            done += 25 - len(out['UnprocessedItems'].get('bench', []))
    check(done == 1000, 'burst is capped by the partition limit: 1000, got %d' % done)


def test_on_demand():
    app, clk = make_app(['--on-demand', '--max-write-units', '6000', '--warm-write-units', '4000',
                         '--peak-window', '3', '--rcu', '100'])
    check(app.table.res.wb.rate == 4000, 'new on-demand table serves the warm 4000 WRU/s')
    d = json.loads(app.handle(b'DynamoDB_20120810.DescribeTable', b'{"TableName":"bench"}')[1])['Table']
    check(d['BillingModeSummary']['BillingMode'] == 'PAY_PER_REQUEST', 'PAY_PER_REQUEST')
    check(d['OnDemandThroughput']['MaxWriteRequestUnits'] == 6000, 'MaxWriteRequestUnits')
    check(d['WarmThroughput']['WriteUnitsPerSecond'] == 4000, 'WarmThroughput')
    # drive 4000/s for 3 s: the previous peak becomes 4000, so 8000 -> capped by the max 6000
    n = 0
    for s in range(4):
        for b in range(160):
            status, out = call(app, BWI, bwi_body([item(n + i) for i in range(25)]))
            n += 25
        clk.t += 1.0
    call(app, BWI, bwi_body([item(n)]))  # roll the seconds
    check(app.table.res.prev_peak >= 3900, 'previous peak follows sustained traffic (%.0f)' % app.table.res.prev_peak)
    check(app.table.res.wb.rate == 6000, 'rate = min(max, 2 x peak) = 6000, got %s' % app.table.res.wb.rate)
    app, clk = make_app(['--on-demand', '--max-write-units', '50', '--rcu', '100'])
    status, out = call(app, BWI, bwi_body([item(i, kb=4) for i in range(25)]))
    check(len(out['UnprocessedItems']['bench']) == 13, 'MaxWriteRequestUnits 50: 12 x 4 KB fit, 13 unprocessed')
    check(out['ConsumedCapacity'][0]['CapacityUnits'] == 48.0, 'consumed 48 of the max 50')


def test_null_fast_path_estimate():
    """The unlimited fast path estimates units from byte lengths; compare with the exact model."""
    import capsim_load
    fast, _ = make_app(['--unlimited', '--gsi', 'g:cust:S:1'])
    exact, _ = make_app(['--unlimited', '--exact', '--gsi', 'g:cust:S:1'])
    for size in (300, 800, 1000, 1500, 5000):
        body = capsim_load.build_bodies('bench', 1, 25, size, 'cust', 0)[0]
        a = call(fast, BWI, body)[1]['ConsumedCapacity'][0]
        b = call(exact, BWI, body)[1]['ConsumedCapacity'][0]
        check(abs(a['Table']['CapacityUnits'] - b['Table']['CapacityUnits']) <= 25,
              'fast estimate within 1 WCU/item of exact (%s vs %s at %d B)' % (a, b, size))
        check(a['GlobalSecondaryIndexes']['g']['CapacityUnits'] == a['Table']['CapacityUnits'], 'fast GSI units')
    body = bwi_body([item(i) for i in range(20)], rcc='TOTAL',
                    deletes=[{'pk': {'S': 'd%d' % i}, 'sk': {'S': 'x'}} for i in range(5)])
    out = call(fast, BWI, body)[1]
    check(out['ConsumedCapacity'] == [{'TableName': 'bench', 'CapacityUnits': 25.0}], 'fast TOTAL: %s' % out)
    out = call(fast, BWI, bwi_body([item(1)], rcc='NONE'))[1]
    check(out == {'UnprocessedItems': {}}, 'NONE: no ConsumedCapacity')
    check(fast.stats.cur[0][capsim.ITEMS] == 25 * 5 + 25 + 1, 'fast path counts items')


# ---------------------------------------------------------------------------------------------------------------
# Protocol checks (a real server, boto3 and http.client)
# ---------------------------------------------------------------------------------------------------------------

class Server:
    def __init__(self, *args):
        self.log = tempfile.mktemp(suffix='.jsonl', prefix='capsim-test-')
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, 'capsim.py'), '--log', self.log, '--quiet']
                                  + list(args), stdout=subprocess.PIPE, text=True)
        self.endpoint = json.loads(self.p.stdout.readline())['endpoint']
        self.port = int(self.endpoint.rsplit(':', 1)[1])

    def client(self, attempts=1):
        return boto3.client('dynamodb', endpoint_url=self.endpoint, region_name='us-east-1',
                            aws_access_key_id='bench', aws_secret_access_key='bench',
                            config=Config(retries={'total_max_attempts': attempts, 'mode': 'standard'}))

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=20)
        with open(self.log) as f:
            lines = [json.loads(x) for x in f]
        os.unlink(self.log)
        return lines


def test_boto3_shapes_crc_and_log():
    srv = Server('--wcu', '50', '--rcu', '1000', '--burst-seconds', '0', '--gsi', 'byCust:cust:S:1000')
    try:
        c = srv.client()
        t = c.describe_table(TableName='bench')['Table']
        check(t['KeySchema'] == [{'AttributeName': 'pk', 'KeyType': 'HASH'}, {'AttributeName': 'sk', 'KeyType': 'RANGE'}],
              'KeySchema')
        check(t['ProvisionedThroughput']['WriteCapacityUnits'] == 50, 'WCU')
        check(t['GlobalSecondaryIndexes'][0]['IndexName'] == 'byCust' and
              t['GlobalSecondaryIndexes'][0]['ProvisionedThroughput']['WriteCapacityUnits'] == 1000, 'GSI')
        items = [item(i, extra={'cust': {'S': 'c'}} if i % 2 else None) for i in range(25)]
        r = c.batch_write_item(RequestItems={'bench': [{'PutRequest': {'Item': it}} for it in items]},
                               ReturnConsumedCapacity='INDEXES')
        cc = r['ConsumedCapacity']
        check(cc == [{'TableName': 'bench', 'CapacityUnits': 37.0, 'Table': {'CapacityUnits': 25.0},
                      'GlobalSecondaryIndexes': {'byCust': {'CapacityUnits': 12.0}}}], 'INDEXES shape: %s' % cc)
        r = c.batch_write_item(RequestItems={'bench': [{'PutRequest': {'Item': item(100 + i, kb=2)}}
                                                        for i in range(25)]}, ReturnConsumedCapacity='TOTAL')
        check(len(r['UnprocessedItems']['bench']) > 0 and set(r['ConsumedCapacity'][0]) == {'TableName', 'CapacityUnits'},
              'TOTAL shape, partial batch: %s' % r['ConsumedCapacity'])
        second = r['ConsumedCapacity'][0]['CapacityUnits']
        try:
            c.batch_write_item(RequestItems={'bench': [{'PutRequest': {'Item': item(200 + i, kb=8)}} for i in range(25)]})
            check(False, 'expected a PTEE')
        except ClientError as e:
            check(e.response['Error']['Code'] == 'ProvisionedThroughputExceededException', 'boto3 sees PTEE')
            check(e.response['ResponseMetadata']['HTTPStatusCode'] == 400, 'PTEE is HTTP 400')
        # x-amz-crc32 over the raw body, on a keep-alive connection
        conn = http.client.HTTPConnection('127.0.0.1', srv.port)
        for body in (b'{"TableName":"bench"}', b'{"TableName":"nope"}'):
            conn.request('POST', '/', body=body, headers={
                'X-Amz-Target': 'DynamoDB_20120810.DescribeTable', 'Content-Type': 'application/x-amz-json-1.0',
                'Authorization': 'AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request'})
            resp = conn.getresponse()
            raw = resp.read()
            check(int(resp.getheader('x-amz-crc32')) == zlib.crc32(raw), 'x-amz-crc32 = crc32(body)')
            check(resp.getheader('Content-Type') == 'application/x-amz-json-1.0', 'content type')
        check(resp.status == 400 and json.loads(raw)['__type'].endswith('ResourceNotFoundException'), '404 table')
        time.sleep(1.1)
    finally:
        lines = srv.stop()
    check(lines[0]['type'] == 'config' and lines[0]['write_capacity'] == 50, 'log starts with the config line')
    secs = [x for x in lines[1:]]
    check([x['second'] for x in secs] == list(range(len(secs))), 'one line per second, no gaps')
    check(secs[-1].get('partial') is True, 'last (partial) second written at SIGTERM')
    check(sum(x['table']['wcu'] for x in secs) == 25 + second, 'table units logged')
    check(sum(x['table']['items'] for x in secs) == 25 + second / 2, 'table items logged')
    check(sum(x['gsi']['byCust']['wcu'] for x in secs) == 12, 'GSI units logged')
    check(sum(x['ptee'] for x in secs) == 1, 'PTEE logged')
    check(sum(x['table']['unprocessed'] for x in secs) > 0, 'unprocessed logged')


def test_scan_segments_pagination():
    srv = Server('--wcu', '100000', '--rcu', '100000', '--hash', 'id:N', '--range', '')
    try:
        c = srv.client()
        n = 1000
        for b in range(n // 25):
            c.batch_write_item(RequestItems={'bench': [
                {'PutRequest': {'Item': {'id': {'N': str(b * 25 + i)}, 'v': {'S': 'x' * 300}}}} for i in range(25)]})
        check(c.describe_table(TableName='bench')['Table']['ItemCount'] == n, 'ItemCount')
        seen = []
        pages = 0
        units = 0.0
        for seg in range(4):
            kw = {'TableName': 'bench', 'Segment': seg, 'TotalSegments': 4, 'Limit': 37,
                  'ReturnConsumedCapacity': 'TOTAL'}
            while True:
                r = c.scan(**kw)
                pages += 1
                seen += [int(it['id']['N']) for it in r['Items']]
                check(r['Count'] <= 37, 'Limit respected')
                size = sum(capsim.item_bytes(it) for it in r['Items'])
                expect = (math.ceil(size / 4096) if size else 1) / 2
                check(r['ConsumedCapacity']['CapacityUnits'] == expect,
                      'eventually consistent page costs ceil(bytes/4K)/2: %s vs %s' % (r['ConsumedCapacity'], expect))
                units += r['ConsumedCapacity']['CapacityUnits']
                if 'LastEvaluatedKey' not in r:
                    break
                kw['ExclusiveStartKey'] = r['LastEvaluatedKey']
        check(sorted(seen) == list(range(n)), 'segments x pages cover every item exactly once (%d seen)' % len(seen))
        check(pages >= n // 37, 'paginated (%d pages)' % pages)
        r = c.scan(TableName='bench', ConsistentRead=True, ReturnConsumedCapacity='INDEXES')
        check(r['Count'] == n and r['ConsumedCapacity']['Table']['CapacityUnits'] ==
              math.ceil(sum(capsim.item_bytes(it) for it in r['Items']) / 4096), 'consistent full scan units')
    finally:
        lines = srv.stop()
    check(abs(sum(x['table']['rcu'] for x in lines[1:]) - units - r['ConsumedCapacity']['CapacityUnits']) < 1e-6,
          'RCU logged')


def test_scan_read_throttle():
    app, clk = make_app(['--wcu', '100000', '--rcu', '10', '--burst-seconds', '0'])
    for b in range(8):
        call(app, BWI, bwi_body([item(b * 25 + i, kb=4) for i in range(25)]))
    # 200 items x 4 KB; a 1 MB page costs 128 RCU (64 eventually consistent) > bucket of 10, but a full bucket lets
    # one page through and then throttles
    status, out = call(app, SCAN, b'{"TableName":"bench","ReturnConsumedCapacity":"TOTAL"}')
    check(status == 200 and out['ConsumedCapacity']['CapacityUnits'] == 100.0 and out['Count'] == 200,
          'a full bucket lets a big page through (200 x 4 KB, eventually consistent = 100 RCU)')
    status, out = call(app, SCAN, b'{"TableName":"bench"}')
    check(status == 400 and out['__type'].endswith('ProvisionedThroughputExceededException'), 'then Scan throttles')


def test_workers_mode():
    srv = Server('--unlimited', '--workers', '2', '--gsi', 'g:cust:S:1000')
    try:
        total = 0
        for k in range(4):
            c = srv.client()
            for b in range(5):
                r = c.batch_write_item(RequestItems={'bench': [
                    {'PutRequest': {'Item': item(i, extra={'cust': {'S': 'c'}})}} for i in range(25)]},
                    ReturnConsumedCapacity='INDEXES')
                total += 25
                check(r['ConsumedCapacity'][0]['Table']['CapacityUnits'] == 25.0, 'workers: units %s'
                      % r['ConsumedCapacity'])
    finally:
        lines = srv.stop()
    check(lines[0]['workers'] == 2, 'merged log config')
    check(sum(x['table']['items'] for x in lines[1:]) == total, 'merged log sums the workers\' items')
    check(sum(x['gsi']['g']['wcu'] for x in lines[1:]) == total, 'merged GSI units')


TESTS = [test_item_size_rules, test_provisioned_rate_burst0, test_unprocessed_partial_then_ptee, test_validation,
         test_gsi_accounting, test_partition_limit, test_burst_credit, test_on_demand, test_null_fast_path_estimate,
         test_scan_read_throttle, test_boto3_shapes_crc_and_log, test_scan_segments_pagination, test_workers_mode]


def main():
    only = sys.argv[1:]
    for t in TESTS:
        if only and t.__name__ not in only:
            continue
        t0 = time.time()
        try:
            t()
            print('ok    %-40s %.2fs' % (t.__name__, time.time() - t0))
        except Exception:
            FAILURES.append(t.__name__)
            print('FAIL  %s' % t.__name__)
            traceback.print_exc()
    print('%d checks, %d failed tests%s' % (CHECKS[0], len(FAILURES), (': ' + ', '.join(FAILURES)) if FAILURES else ''))
    sys.exit(1 if FAILURES else 0)


if __name__ == '__main__':
    main()
