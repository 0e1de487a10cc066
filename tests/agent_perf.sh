#!/usr/bin/env bash
# Measures `tally agent` at 1,000 RTMP viewers: a local fixture server answers /stat with 1,000
# clients (byte counters growing on every request), a capture listener acknowledges reports,
# and the agent polls for DURATION seconds at INTERVAL. Prints the memory breakdown (smaps_rollup),
# peak RSS (VmHWM) and CPU share.
# Usage: tests/agent_perf.sh [INTERVAL=1s] [DURATION=60]   (TALLY_BIN=… to skip the build)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
INTERVAL="${1:-1s}"; DURATION="${2:-60}"; VIEWERS="${VIEWERS:-1000}"
TMP="$(mktemp -d /tmp/tally-agent-perf.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
if [ -z "${TALLY_BIN:-}" ]; then (cd "$ROOT" && cargo build --quiet --bin tally); TALLY_BIN="$ROOT/target/debug/tally"; fi

cat > "$TMP/fixture.py" <<'PY'
import gzip, http.server, itertools, os, sys
viewers = int(sys.argv[2]); polls = itertools.count(); out = sys.argv[1]
def stat(n):
    clients = "".join(
        "<client><id>%d</id><address>198.51.%d.%d</address><time>%d</time><flashver>LNX 9,0,124,2</flashver>"
        "<dropped>0</dropped><avsync>-17</avsync><timestamp>11743</timestamp><active/></client>"
        % (i + 10, (i // 250) % 256, i % 250 + 1, 60000 + i) for i in range(viewers))
    return ('<?xml version="1.0" encoding="utf-8" ?><rtmp><nginx_version>1.22.1</nginx_version><pid>7178</pid>'
            '<uptime>%d</uptime><server><application><name>live</name><live><stream><name>big</name><time>%d</time>'
            '<bw_in>2000000</bw_in><bytes_in>%d</bytes_in><bw_out>900000000</bw_out><bytes_out>%d</bytes_out>%s'
            '<client><id>1</id><address>127.0.0.1</address><time>99999</time><flashver>FMLE/3.0</flashver><publishing/><active/></client>'
            '<nclients>%d</nclients><publishing/><active/></stream></live></application></server></rtmp>'
            % (n, 100000 + n * 1000, n * 250000, n * viewers * 120000, clients, viewers + 1)).encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = stat(next(polls)); self.send_response(200); self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_POST(self):
        body = gzip.decompress(self.rfile.read(int(self.headers["Content-Length"])))
        open(os.path.join(out, "last.json"), "wb").write(body)
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(os.path.join(out, "port"), "w").write(str(s.server_address[1])); s.serve_forever()
PY
python3 "$TMP/fixture.py" "$TMP" "$VIEWERS" & PIDS+=($!)
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$TMP/port")"

"$TALLY_BIN" agent --panel "$URL" --token perf --name perf --spool "$TMP/spool" --interval "$INTERVAL" \
    --source "nginx-rtmp=$URL/stat" 2>"$TMP/agent.log" & AGENT=$!; PIDS+=("$AGENT")
sleep 1
ticks() { awk '{print $14 + $15}' "/proc/$AGENT/stat"; }
t0=$(ticks); s0=$(date +%s.%N)
sleep "$DURATION"
t1=$(ticks); s1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
grep -E "^(Rss|Anonymous|Shared_Clean|Private_Clean)" "/proc/$AGENT/smaps_rollup" >&2 || true
rss=$(awk '/VmRSS/{print $2}' "/proc/$AGENT/status"); hwm=$(awk '/VmHWM/{print $2}' "/proc/$AGENT/status")
python3 - "$TMP/last.json" "$t0" "$t1" "$s0" "$s1" "$hz" "$rss" "$hwm" "$INTERVAL" "$VIEWERS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); t0, t1 = int(sys.argv[2]), int(sys.argv[3]); s0, s1 = float(sys.argv[4]), float(sys.argv[5])
hz = int(sys.argv[6]); rss, hwm = int(sys.argv[7]), int(sys.argv[8])
viewers = sum(len(s["viewers"]) for s in r["streams"])
cpu = (t1 - t0) / hz / (s1 - s0) * 100
print(f"viewers in last report: {viewers} (expected {sys.argv[10]})")
print(f"interval {sys.argv[9]}: CPU {cpu:.2f} % of one core over {s1 - s0:.0f} s; RSS {rss/1024:.1f} MiB, peak RSS {hwm/1024:.1f} MiB")
assert viewers == int(sys.argv[10])
PY
