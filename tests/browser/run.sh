#!/bin/sh
# The browser test end to end: starts the real `tally` binary on a free loopback port with an
# empty data directory, seeds it through the ingest API, runs run.mjs against it, and stops it.
#
#   tests/browser/run.sh                 # uses target/debug/tally
#   TALLY_BIN=target/release/tally tests/browser/run.sh
#
# Needs Debian's Chromium at /usr/bin/chromium (apt-get install -y chromium).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${TALLY_BIN:-$root/target/debug/tally}

if [ ! -x "$bin" ]; then
    echo "no tally binary at $bin: run 'cargo build' first" >&2
    exit 2
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    echo "Chromium not found: apt-get install -y chromium" >&2
    exit 2
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
    npm --prefix "$here" ci --no-audit --no-fund --loglevel=error
fi

data=$(mktemp -d)
port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
password=$(node -e "console.log(require('crypto').randomBytes(12).toString('hex'))")
export TALLY_URL="http://127.0.0.1:$port"
export TALLY_EMAIL="admin@example.com"
export TALLY_PASSWORD="$password"

TALLY_ADMIN_EMAIL="$TALLY_EMAIL" TALLY_ADMIN_PASSWORD="$TALLY_PASSWORD" \
    "$bin" serve --listen "127.0.0.1:$port" --data-dir "$data/tally" >"$data/server.log" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT INT TERM

node -e "
const deadline = Date.now() + 30000;
(async () => {
  while (Date.now() < deadline) {
    try { if ((await fetch(process.env.TALLY_URL + '/healthz')).ok) return; } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  console.error('tally did not start'); process.exit(1);
})();
" || { cat "$data/server.log" >&2; exit 1; }

node "$here/seed.mjs"
status=0
node "$here/run.mjs" || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- server log ---" >&2
    tail -n 50 "$data/server.log" >&2
fi
exit "$status"
