#!/usr/bin/env bash
# The API under attack: a doctor reads a document's text (10 a second, one keep-alive
# connection) and a health check polls /v1/health on a new connection every half second,
# first alone, then while attackers hold 20,000 idle or half-sent connections (from 80
# addresses, reconnecting as soon as one is closed) and send 40 unauthenticated 50 MiB
# PUTs to made-up upload URLs. `medidocs serve` runs with its default limits, a fresh
# process for each run. Prints a Markdown table for docs/benchmarks.md: the doctor's
# p50/p99, the health check's worst, and the server's peak memory.
#   scripts/bench-api-abuse.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
echo "==> building medidocs (release)" >&2
cargo build --release -q -p medidocs
bin="${CARGO_TARGET_DIR:-target}/release/medidocs"

work=$(mktemp -d)
trap 'kill ${serve_pid:-} ${attack_pids:-} 2>/dev/null; rm -rf "$work"' EXIT
echo "==> 20 one-page notes into a fresh data dir" >&2
python3 - "$work/notes" <<'EOF'
import os, sys
from PIL import Image, ImageDraw, ImageFont
out = sys.argv[1]
os.makedirs(out)
font = ImageFont.load_default(size=28)
for i in range(20):
    img = Image.new("L", (900, 200), 255)
    d = ImageDraw.Draw(img)
    d.text((30, 30), f"Clinic note {i:02d}", font=font, fill=0)
    d.text((30, 100), "Levothyroxine 50 mg daily", font=font, fill=0)
    img.save(os.path.join(out, f"note-{i:02d}.png"))
EOF
data="$work/data"
"$bin" --data-dir "$data" run "$work/notes" --patient p-bench --json >"$work/run.jsonl"
"$bin" --data-dir "$data" care-team add --doctor d-bench --patient p-bench >/dev/null
doc=$(head -1 "$work/run.jsonl" | python3 -c 'import sys, json; print(json.load(sys.stdin)["id"])')
token=$("$bin" --data-dir "$data" token --role doctor --sub d-bench)

start_server() {
  "$bin" --data-dir "$data" serve --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
  serve_pid=$!
  base=""
  for _ in $(seq 1 100); do
    base=$(grep -Eo 'http://127\.0\.0\.1:[0-9]+' "$work/serve.log" | head -1 || true)
    [ -n "$base" ] && break
    sleep 0.1
  done
  [ -n "$base" ] || { cat "$work/serve.log" >&2; exit 1; }
}
stop_server() {
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$serve_pid/status")
  kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
  echo "$peak"
}

# The doctor and the health check; prints "p50 p99 ok total health_worst health_ok health_total".
cat >"$work/doctor.py" <<'EOF'
import http.client, statistics, sys, threading, time, urllib.request
base, doc, token, secs = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
host = base.removeprefix("http://")
lat, ok, total = [], 0, 0
health = []
stop = time.time() + secs
def poll():
    while time.time() < stop:
        t = time.time()
        try:
            with urllib.request.urlopen(base + "/v1/health", timeout=5) as r:
                health.append((time.time() - t, r.status == 200))
        except Exception:
            health.append((time.time() - t, False))
        time.sleep(0.5)
threading.Thread(target=poll, daemon=True).start()
conn = http.client.HTTPConnection(host, timeout=5)
while time.time() < stop:
    t = time.time()
    total += 1
    try:
        conn.request("GET", f"/v1/documents/{doc}/text", headers={"Authorization": "Bearer " + token})
        r = conn.getresponse(); r.read()
        ok += r.status == 200
    except Exception:
        conn.close(); conn = http.client.HTTPConnection(host, timeout=5)
    lat.append(time.time() - t)
    time.sleep(max(0.0, 0.1 - (time.time() - t)))
time.sleep(1)
q = statistics.quantiles(lat, n=100)
worst = max(h[0] for h in health)
print(f"{q[49]*1000:.1f} {q[98]*1000:.1f} {ok} {total} {worst*1000:.0f} {sum(h[1] for h in health)} {len(health)}")
EOF

# One attacker process: `n` connections from addresses 127.0.0.{first..first+k-1}, half of
# them sending half a request head; each one closed is opened again.
cat >"$work/attack.py" <<'EOF'
import asyncio, sys
host, port = sys.argv[1].removeprefix("http://").split(":")
n, first, k, secs = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
async def hold(i):
    src = f"127.0.0.{first + i % k}"
    loop = asyncio.get_running_loop()
    end = loop.time() + secs
    while loop.time() < end:
        try:
            r, w = await asyncio.open_connection(host, int(port), local_addr=(src, 0))
            if i % 2:
                w.write(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                await w.drain()
            await asyncio.wait_for(r.read(1024), timeout=max(0.1, end - loop.time()))
            w.close()
        except Exception:
            await asyncio.sleep(0.05)
async def put(i):
    # A made-up upload URL announcing 50 MiB, then streaming it.
    try:
        r, w = await asyncio.open_connection(host, int(port), local_addr=("127.0.0.200", 0))
        w.write(f"PUT /v1/uploads/made.up.{i} HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: {50 << 20}\r\n\r\n".encode())
        chunk = b"\0" * (1 << 20)
        for _ in range(50):
            w.write(chunk)
            await w.drain()
        await asyncio.wait_for(r.read(1024), timeout=10)
    except Exception:
        pass
async def main():
    tasks = [hold(i) for i in range(n)]
    if first == 2:
        tasks += [put(i) for i in range(40)]
    await asyncio.gather(*tasks)
asyncio.run(main())
EOF

row() { # label, doctor's output, peak KiB
  read -r p50 p99 ok total hworst hok htotal <<<"$2"
  echo "| $1 | $p50 | $p99 | $ok/$total | $hworst | $hok/$htotal | $(( $3 / 1024 )) |"
}

echo "==> normal: the doctor and the health check alone, ${secs} s" >&2
start_server
normal=$(python3 "$work/doctor.py" "$base" "$doc" "$token" "$secs")
normal_peak=$(stop_server)

echo "==> abuse: the same, with 20,000 idle or half-sent connections and 40 unauthenticated 50 MiB PUTs" >&2
start_server
python3 "$work/attack.py" "$base" 10000 2 40 "$secs" & a1=$!
python3 "$work/attack.py" "$base" 10000 42 40 "$secs" & a2=$!
attack_pids="$a1 $a2"
sleep 2
abuse=$(python3 "$work/doctor.py" "$base" "$doc" "$token" "$((secs - 4))")
wait "$a1" "$a2" 2>/dev/null || true
attack_pids=""
abuse_peak=$(stop_server)

echo
echo "$(nproc) cores; $(uname -m); default limits of medidocs serve; ${secs} s a run"
echo
echo "| run | doctor p50 ms | doctor p99 ms | doctor 2xx/all | health worst ms | health 200/all | server peak RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
row "normal" "$normal" "$normal_peak"
row "under attack" "$abuse" "$abuse_peak"
