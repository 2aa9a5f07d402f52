#!/usr/bin/env bash
# The main job end to end on the local default: a moto server (SigV4 and IAM enforced) stands in for AWS, a generated
# export chain stands in for the source table's exports. Run by `make demo`.
set -euo pipefail
DEMO_DIR=${DEMO_DIR:-demo-out}
BIN=.build/release
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"

echo "== 1. Generate a chain: one FULL export and 6 INCREMENTAL windows, laid out as DynamoDB writes them to S3"
$BIN/ferry-exportgen generate --out "$DEMO_DIR" --items 2000 --windows 6 --changes 300
echo
echo "== 2. Read every export back with Ferry's reader; apply the records in memory against the expected states"
$BIN/ferry-exportgen check --chain "$DEMO_DIR"
echo

echo "== 3. Start moto on 127.0.0.1 (signatures and IAM enforced) and create the target table"
fifo="$DEMO_DIR/moto.stdin"
mkfifo "$fifo"
python3 scripts/moto-fixture.py --timeout 600 < "$fifo" > "$DEMO_DIR/moto.json" 2>/dev/null &
moto_pid=$!
exec 9> "$fifo" # keep moto's stdin open; closing it stops moto
trap 'exec 9>&-; wait $moto_pid 2>/dev/null || true; rm -f "$DEMO_DIR/moto.json" "$fifo"' EXIT
for _ in $(seq 1 100); do [ -s "$DEMO_DIR/moto.json" ] && break; sleep 0.1; done
read -r endpoint key secret < <(python3 -c 'import json,sys; f=json.loads(open(sys.argv[1]).readline()); print(f["endpoint"], f["admin"]["accessKeyId"], f["admin"]["secretAccessKey"])' "$DEMO_DIR/moto.json")
export AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB=$endpoint
python3 - "$endpoint" <<'PY'
import sys, boto3
d = boto3.client("dynamodb", endpoint_url=sys.argv[1])
for name in ["orders", "orders-dr"]:
    d.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
                   ProvisionedThroughput={"ReadCapacityUnits": 2000, "WriteCapacityUnits": 2000})
print("moto at", sys.argv[1], "- tables orders and orders-dr (2,000 WCU each) created")
PY
echo

echo "== 4. Plan the migration into 'orders' at 50 % of its write capacity; the last two incremental exports have not"
echo "      landed yet (moved aside), so the plan ends two windows early"
mkdir -p "$DEMO_DIR/later"
for id in $(ls "$DEMO_DIR/exports/exports/AWSDynamoDB" | grep -v "^data$" | sort | tail -2); do mv "$DEMO_DIR/exports/exports/AWSDynamoDB/$id" "$DEMO_DIR/later/"; done
$BIN/ferry plan --source "$DEMO_DIR/exports" --target-table orders --write-percent 50 --out "$DEMO_DIR/plan.json"
echo
echo "== 5. Dry run: what would the plan change in the (empty) target? (reads held to 20 % of its read capacity)"
$BIN/ferry diff "$DEMO_DIR/plan.json" --read-percent 20 --limit 2
echo
echo "== 6. Apply it with --follow (checkpointed after every file and window); while it runs, the two late exports land"
echo "   (progress is JSON lines on stderr when not on a terminal: kept in $DEMO_DIR/apply-progress.jsonl; the lag lines shown)"
$BIN/ferry apply "$DEMO_DIR/plan.json" --follow --poll-interval 2s 2> "$DEMO_DIR/apply-progress.jsonl" &
apply_pid=$!
for _ in $(seq 1 300); do
    [ "$($BIN/ferry status "$DEMO_DIR/plan.json" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["windowsDone"])')" = 5 ] && break
    sleep 0.2
done
echo "-- the plan's 5 windows are applied; two more incremental exports land in the source now"
mv "$DEMO_DIR/later/"* "$DEMO_DIR/exports/exports/AWSDynamoDB/"
for _ in $(seq 1 300); do
    [ "$($BIN/ferry status "$DEMO_DIR/plan.json" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["windowsDone"])')" = 7 ] && break
    sleep 0.2
done
echo "-- caught up with the source; stopping the follower with SIGINT (exit 5 = resumable)"
kill -INT $apply_pid
set +e; wait $apply_pid; status=$?; set -e
python3 - "$DEMO_DIR/apply-progress.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        e = json.loads(line)
        if e["event"] == "caughtUp":
            print(f"   caught up: window {e['window']}/{e['windows']} applied, {e['itemsApplied']} items, lag {e['lagSeconds'] / 86400:.0f} days (the generated exports are dated 2026-01-14)")
    else:
        print("   " + line.rstrip())
PY
echo "ferry apply --follow exited $status"
[ $status = 5 ] || { echo "demo: expected exit 5 from the interrupted follower"; exit 1; }
echo
echo "== 7. Status (the two followed windows are part of the chain now), and a diff at the checkpoint's position"
$BIN/ferry status "$DEMO_DIR/plan.json"
$BIN/ferry diff "$DEMO_DIR/plan.json" --at-checkpoint --exit-code
echo
echo "== 8. A disaster-recovery rehearsal: the chain up to 11:03:50, into 'orders-dr'; then proof that it matches"
$BIN/ferry plan --source "$DEMO_DIR/exports" --target-table orders-dr --until 2026-01-14T11:03:50.622Z --write-percent 90 --out "$DEMO_DIR/dr-plan.json"
$BIN/ferry apply "$DEMO_DIR/dr-plan.json"
$BIN/ferry diff "$DEMO_DIR/dr-plan.json" --exit-code --limit 0
echo "-- the rehearsal's report (RTO, RPO against the disaster time 11:03:50, each window, throughput), from the plan,"
echo "   its checkpoint and its run record only"
echo "   (the diff above is journaled: the report's verification is its verdict; --exit-code fails unless it passed)"
$BIN/ferry report "$DEMO_DIR/dr-plan.json" --as-of 2026-01-14T11:03:50.622Z --out "$DEMO_DIR/dr-report.html" --exit-code
$BIN/ferry report "$DEMO_DIR/dr-plan.json" --as-of 2026-01-14T11:03:50.622Z --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
rto, rpo, totals, v = r["rto"], r["rpo"], r["totals"], r["verification"]
print("RTO %.1f s, RPO %.0f s, %d windows, %d items; verification: %s" % (rto["wallSeconds"], rpo["lagSeconds"], totals["windowsApplied"], totals["itemsApplied"], v["status"]))'
echo

echo "== 9. Compare both tables with the generator's expected states (a scan of each, compared by DynamoDB's rules)"
python3 - "$endpoint" "$DEMO_DIR" <<'PY'
import base64, json, sys, glob, boto3
endpoint, demo = sys.argv[1], sys.argv[2]
d = boto3.client("dynamodb", endpoint_url=endpoint)
def b64(x): return x if isinstance(x, str) else base64.b64encode(x).decode()  # boto3 decodes binary; the files keep base64
def norm(v):
    (t, x), = v.items()
    if t == "B": return (t, b64(x))
    if t == "BS": return (t, tuple(sorted(b64(e) for e in x)))
    if t in ("SS", "NS"): return (t, tuple(sorted(x)))
    if t == "L": return (t, tuple(norm(e) for e in x))
    if t == "M": return (t, tuple(sorted((k, norm(e)) for k, e in x.items())))
    return (t, x)
def item(i): return tuple(sorted((k, norm(v)) for k, v in i.items()))
def scan(table):
    out, start = set(), None
    while True:
        page = d.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
        out |= {item(i) for i in page["Items"]}
        start = page.get("LastEvaluatedKey")
        if not start: return out
states = sorted(glob.glob(f"{demo}/expected/*.jsonl"))
for table, state in [("orders", states[-1]), ("orders-dr", states[3])]:  # the DR plan stops after window 3
    expected = {item(json.loads(line)) for line in open(state)}
    actual = scan(table)
    print(f"{table}: {len(actual)} items in the table, {len(expected)} expected ({state.split('/')[-1]}): "
          + ("IDENTICAL" if actual == expected else f"DIFFERENT ({len(actual - expected)} unexpected, {len(expected - actual)} missing)"))
    if actual != expected: sys.exit(1)
PY
echo

echo "== 10. ferry migrate from a live source table: the source (account 111111111111, us-east-1, a local export service"
echo "       standing in for DynamoDB's exports) is written to for three hours of its time while ferry exports, plans"
echo "       and applies into orders-live-copy (account 123456789012, us-west-2); cut-over at a lag of 30 minutes"
python3 scripts/demo-migrate.py "$endpoint" "$key" "$secret" "$DEMO_DIR" "$BIN/ferry"
