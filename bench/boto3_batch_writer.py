#!/usr/bin/env python3
"""boto3_batch_writer: the baseline most users write to load a DynamoDB FULL export into a table.

    python3 bench/boto3_batch_writer.py EXPORT_DIR --endpoint http://127.0.0.1:PORT --table bench [--limit N]

Walks EXPORT_DIR for the `*.json.gz` data files of FULL exports (named by each FULL export's manifest-files.json;
INCREMENTAL exports are skipped), reads each line `{"Item":{...DynamoDB JSON...}}`, turns it into Python values with
boto3's TypeDeserializer and puts it with the resource API's `Table.batch_writer()` (which re-serializes, sends
BatchWriteItem calls of 25 and re-queues UnprocessedItems). One process, one thread, as users write it. Prints
`{"items":N,"seconds":S,"items_per_second":R,"cpu_seconds":C}`.
"""

import argparse
import base64
import gzip
import json
import os
import resource
import sys
import time

import boto3
from boto3.dynamodb.types import Binary, TypeDeserializer


class ExportDeserializer(TypeDeserializer):
    """boto3's TypeDeserializer expects B values already decoded (the client decodes base64 before it); an export
    file has them as base64 text, so users add this."""

    def _deserialize_b(self, value):
        return Binary(base64.b64decode(value))

    def _deserialize_bs(self, value):
        return set(Binary(base64.b64decode(v)) for v in value)


def data_files(root):
    """The data files of the FULL exports under root, in a stable order.

    An export directory (AWSDynamoDB/<ExportId>/) with a manifest-summary.json is used when it is a FULL export
    (no exportType, or FULL_EXPORT); its manifest-files.json names its data files (found under <ExportId>/data/).
    INCREMENTAL exports keep their data in the shared AWSDynamoDB/data/ folder and are skipped. With no manifests at
    all, every *.json.gz under root is read (lines without "Item" are skipped)."""
    manifests = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if 'manifest-summary.json' in filenames:
            manifests.append(dirpath)
    if not manifests:
        out = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            out += [os.path.join(dirpath, n) for n in sorted(filenames) if n.endswith('.json.gz')]
        return out
    out = []
    for d in manifests:
        with open(os.path.join(d, 'manifest-summary.json')) as f:
            summary = json.load(f)
        if summary.get('exportType', 'FULL_EXPORT') != 'FULL_EXPORT':
            continue
        if summary.get('outputFormat', 'DYNAMODB_JSON') != 'DYNAMODB_JSON':
            print('boto3_batch_writer: skipping %s (%s)' % (d, summary.get('outputFormat')), file=sys.stderr)
            continue
        with open(os.path.join(d, 'manifest-files.json')) as f:
            for line in f:
                if line.strip():
                    key = json.loads(line)['dataFileS3Key']
                    out.append(os.path.join(d, 'data', key.rsplit('/', 1)[-1]))
    return out


def main():
    p = argparse.ArgumentParser(description='Load a DynamoDB FULL export with boto3 Table.batch_writer().')
    p.add_argument('export_dir')
    p.add_argument('--endpoint', required=True, help='DynamoDB endpoint, e.g. http://127.0.0.1:PORT (capsim)')
    p.add_argument('--table', required=True)
    p.add_argument('--limit', type=int, default=0, help='stop after this many items')
    a = p.parse_args()

    t0 = time.monotonic()
    dynamodb = boto3.resource('dynamodb', endpoint_url=a.endpoint, region_name='us-east-1',
                              aws_access_key_id='bench', aws_secret_access_key='bench')
    table = dynamodb.Table(a.table)
    deserializer = ExportDeserializer()
    files = data_files(a.export_dir)
    if not files:
        print('boto3_batch_writer: no *.json.gz data files of a FULL export under %s' % a.export_dir, file=sys.stderr)
        sys.exit(2)
    n = 0
    done = False
    with table.batch_writer() as batch:
        for path in files:
            with gzip.open(path, 'rt', encoding='utf-8') as f:
                for line in f:
                    record = json.loads(line)
                    if 'Item' not in record:
                        continue
                    item = {k: deserializer.deserialize(v) for k, v in record['Item'].items()}
                    batch.put_item(Item=item)
                    n += 1
                    if a.limit and n >= a.limit:
                        done = True
                        break
            if done:
                break
    seconds = time.monotonic() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({'items': n, 'seconds': round(seconds, 3), 'items_per_second': round(n / seconds, 1),
                      'cpu_seconds': round(ru.ru_utime + ru.ru_stime, 3), 'files': len(files)}))


if __name__ == '__main__':
    main()
