#!/usr/bin/env bash
# Throughput ceiling: a generated FULL export of $ITEMS items (~800 B, 8 data files) applied by `ferry apply` to the
# capacity simulator as a null sink (unlimited capacity; DescribeTable says 1,000,000 WCU; --write-percent 100), then
# the same files through boto3's Table.batch_writer() (bench/boto3_batch_writer.py), and the ratio.
# Prints wall, CPU and peak RSS of each, and the simulator's own CPU. Run by `make bench-apply`.
set -euo pipefail
ITEMS=${ITEMS:-1000000}
BOTO_ITEMS=${BOTO_ITEMS:-$ITEMS}
D=.bench-data/apply-$ITEMS-800
WORK=$(mktemp -d)
trap 'kill $CAP 2>/dev/null || true; rm -rf "$WORK"' EXIT
[ -f "$D/expected/chain.json" ] || .build/release/ferry-exportgen generate --out "$D" --items "$ITEMS" --windows 0 --item-bytes 800 --partitions 8 > /dev/null

start_sim() {
    python3 bench/capsim.py --unlimited --wcu 1000000 --rcu 1000000 --range sk:N --table bench --quiet > "$WORK/capsim.out" &
    CAP=$!
    for _ in $(seq 1 100); do [ -s "$WORK/capsim.out" ] && break; sleep 0.1; done
    EP=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["endpoint"])' "$WORK/capsim.out")
}
sim_cpu() { ps -o cputime= -p $CAP | awk -F: '{ print $1*3600 + $2*60 + $3 }'; }

export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
start_sim
.build/release/ferry plan --source "$D/exports" --target-table bench --write-percent 100 --target-endpoint-url "$EP" --out "$WORK/plan.json" > /dev/null
# The disk the spool of verified copies needs: its size sampled every 0.1 s while apply runs (the peak is printed).
( peak=0; while :; do
      size=$( (du -sb "$WORK/plan.spool" 2>/dev/null || true) | awk '{ s += $1 } END { print s + 0 }')
      [ "$size" -gt "$peak" ] && peak=$size && echo "$peak" > "$WORK/spool.peak"
      sleep 0.1
  done ) &
SAMPLER=$!
/usr/bin/time -f "%e %U %S %M" -o "$WORK/ferry.time" .build/release/ferry apply "$WORK/plan.json" 2> /dev/null > "$WORK/ferry.out"
kill $SAMPLER 2>/dev/null || true; wait $SAMPLER 2>/dev/null || true
read -r fwall fuser fsys frss < "$WORK/ferry.time"
spool_peak=$(cat "$WORK/spool.peak" 2>/dev/null || echo 0)
fsim=$(sim_cpu)
kill $CAP; wait $CAP 2>/dev/null || true
echo "ferry apply:  $ITEMS items in $fwall s = $(python3 -c "print(round($ITEMS/$fwall))") items/s (≈ the same WCU/s: 1 WCU per ~800-byte item), CPU $(python3 -c "print(round($fuser+$fsys,1))") s (user $fuser, sys $fsys), peak RSS $((frss / 1024)) MB, spool peak $((spool_peak / 1048576)) MiB of $(du -sb "$D/exports" | awk '{ print int($1 / 1048576) }') MiB of exports; simulator CPU ${fsim} s"
cat "$WORK/ferry.out" | head -1
# The reader alone on an export of the same size (gunzip + MD5 + validation, one pass): the write path's cost is
# apply's CPU per item over the reader's (issue 15's goal: at most 2×).
rcpu=$(.build/release/ferry-bench read --lines "$ITEMS" --item-bytes 800 --repeats 1 --data .bench-data | grep -m1 '^best of' | grep -Eo 'cpu [0-9.]+' | grep -Eo '[0-9.]+')
python3 -c "
items, apply_cpu, read_cpu = $ITEMS, $fuser + $fsys, $rcpu
a, r = apply_cpu / items * 1e6, read_cpu / items * 1e6
print(f'CPU per item: apply {a:.1f} µs, reader {r:.1f} µs, ratio {a / r:.1f}× (goal ≤ 2×)')"

start_sim
/usr/bin/time -f "%e %U %S %M" -o "$WORK/boto.time" python3 bench/boto3_batch_writer.py "$D/exports" --endpoint "$EP" --table bench --limit "$BOTO_ITEMS" > "$WORK/boto.out"
read -r bwall buser bsys brss < "$WORK/boto.time"
bsim=$(sim_cpu)
echo "boto3 batch_writer: $BOTO_ITEMS items in $bwall s = $(python3 -c "print(round($BOTO_ITEMS/$bwall))") items/s, CPU $(python3 -c "print(round($buser+$bsys,1))") s, peak RSS $((brss / 1024)) MB; simulator CPU ${bsim} s"
echo "ratio: ferry is $(python3 -c "print(round(($ITEMS/$fwall)/($BOTO_ITEMS/$bwall),1))")× the boto3 script's items/s"
