#!/usr/bin/env bash
# The demo behind `make demo`: runs the daemon on the embedded Redis with the
# slivka example (its [slivka] section: one route per service file), sends a
# mix of valid, invalid and broken jobs, waits until every one is settled,
# prints where they went, and shuts down cleanly.
#
#   examples/slivka/demo.sh [JOBS.jsonl] [COPIES]
#
# COPIES > 1 sends the file that many times (with fresh job ids), which makes
# it a throughput run: e.g. `examples/slivka/demo.sh examples/slivka/jobs.jsonl 2500`.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SWITCHYARD_BIN:-$root/target/release/switchyard}"
config="$root/examples/slivka/switchyard.toml"
jobs="${1:-$root/examples/slivka/jobs.jsonl}"
copies="${2:-1}"
data="$root/target/demo-data"
sock="$data/redis.sock"
log="$root/target/demo-daemon.log"

rm -rf "$data"
mkdir -p "$data"

input="$jobs"
if [ "$copies" -gt 1 ]; then
    input="$root/target/demo-jobs.jsonl"
    python3 - "$jobs" "$copies" "$input" <<'PY'
import base64, json, sys
src, copies, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = [l for l in open(src) if l.strip()]
with open(out, "w") as f:
    n = 0
    for c in range(copies):
        for line in lines:
            job = json.loads(line)
            if "job-id" in job:
                job["job-id"] = base64.urlsafe_b64encode(n.to_bytes(12, "big")).decode()
            n += 1
            f.write(json.dumps(job) + "\n")
PY
fi
total=$(grep -c . "$input")

"$bin" run --config "$config" --consumer demo >"$log" 2>&1 &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null || true' EXIT

for _ in $(seq 1 200); do
    [ -S "$sock" ] && redis-cli -s "$sock" ping >/dev/null 2>&1 && break
    sleep 0.05
done

start=$(date +%s.%N)
"$bin" send --config "$config" --stream jobs "$input"

count() { redis-cli -s "$sock" xlen "$1"; }
settled=0
for _ in $(seq 1 6000); do
    settled=$(( $(count queue:local) + $(count queue:default) + $(count jobs:rejected) + $(count jobs:dead) ))
    [ "$settled" -ge "$total" ] && break
    sleep 0.02
done
end=$(date +%s.%N)
pending=$(redis-cli -s "$sock" xpending jobs switchyard | head -1)

echo
printf '%-16s %8s\n' "where" "jobs"
printf '%-16s %8s\n' "----------------" "--------"
for s in queue:local queue:default jobs:rejected jobs:dead; do
    printf '%-16s %8s\n' "$s" "$(count "$s")"
done
printf '%-16s %8s\n' "sent" "$total"
printf '%-16s %8s\n' "still pending" "$pending"
echo
echo "a few reasons:"
redis-cli -s "$sock" --raw xrevrange jobs:rejected + - COUNT 200 \
    | awk 'f{print "  rejected:     " substr($0,1,110); f=0} /^switchyard-(errors|reason)$/{f=1}' | sort -u | head -4
redis-cli -s "$sock" --raw xrevrange jobs:dead + - COUNT 200 \
    | awk 'f{print "  dead letter:  " substr($0,1,110); f=0} /^switchyard-reason$/{f=1}' | sort -u | head -4
echo
python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); print(f'{int(sys.argv[3])} jobs settled in {t:.2f} s: {int(sys.argv[3])/t:,.0f} jobs/s (send included)')" "$start" "$end" "$settled"

kill -TERM "$daemon"
status=0
wait "$daemon" || status=$?
trap - EXIT
echo "daemon exited with status $status"
if [ "$settled" -ne "$total" ] || [ "$pending" != "0" ] || [ "$status" -ne 0 ]; then
    echo "demo: only $settled of $total jobs settled; see $log" >&2
    exit 1
fi
