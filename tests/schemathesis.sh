#!/bin/sh
# Property-based API test: schemathesis generates requests from /api/v1/openapi.json (valid
# and invalid ones) and sends them to a real `tally serve` with an admin's bearer token.
# Fails when any response is a 5xx or the server stops answering. Bounded to about 3 minutes.
#
# Usage: tests/schemathesis.sh            (builds the debug binary if needed)
#   TALLY_BIN=path/to/tally   use another binary
#   ST_MAX_EXAMPLES=N         test cases per operation and phase (default 30)
#   ST_MAX_TIME=S             time budget of the schemathesis run (default 150)
#   ST_SEED=N                 generator seed (default 1, so runs are repeatable)
set -eu
cd "$(dirname "$0")/.."

venv=$(tests/venv.sh)

bin=${TALLY_BIN:-target/debug/tally}
if [ ! -x "$bin" ]; then
    cargo build --quiet --bin tally
fi

work=$(mktemp -d)
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

email=admin@example.com
password=schemathesis-admin-password
TALLY_ADMIN_EMAIL=$email TALLY_ADMIN_PASSWORD=$password TALLY_LOG_LEVEL=info \
    "$bin" serve --data-dir "$work/data" --listen 127.0.0.1:0 >"$work/log" 2>&1 &
pid=$!

url=""
i=0
while [ -z "$url" ]; do
    i=$((i + 1))
    if [ "$i" -gt 600 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "tally did not start:" >&2
        cat "$work/log" >&2
        exit 1
    fi
    url=$(sed -n 's/.*url=\(http:\/\/[0-9.:]*\).*/\1/p' "$work/log" | head -n 1)
    [ -n "$url" ] || sleep 0.1
done
echo "tally at $url"

token=$(curl -fsS -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$url/api/v1/auth/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# A server, so ids and live data exist for the generated requests to find.
curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"name":"edge-1"}' "$url/api/v1/servers"

# Left out: the operations that end the test's own session or user (they only answer 2xx/4xx,
# but every later request would then be a 401 and test nothing), and the media-server hook
# receivers: their schema makes the generator itself fail now and then, and tests/it/hooks.rs
# feeds them malformed, oversized and wrong-typed bodies.
# Run from the temporary directory: schemathesis keeps a cache in the working directory.
# One worker: with two threads, Python 3.11's ast.parse (which the generator calls to describe
# its strategies) now and then fails with "AST constructor recursion depth mismatch"
# (CPython gh-106905) and aborts a whole test phase.
status=0
st=$venv/bin/schemathesis
report=$(pwd)/target/schemathesis-report
rm -rf "$report"
(cd "$work" && "$st" run "$url/api/v1/openapi.json" \
    --url "$url" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error \
    --phases examples,coverage,fuzzing \
    --max-examples "${ST_MAX_EXAMPLES:-30}" \
    --max-time "${ST_MAX_TIME:-150}" \
    --workers 1 \
    --request-timeout 30 \
    --seed "${ST_SEED:-1}" \
    --exclude-name 'POST /api/v1/auth/logout' \
    --exclude-name 'DELETE /api/v1/me' \
    --exclude-name 'PUT /api/v1/me/password' \
    --exclude-name 'DELETE /api/v1/me/sessions/{id}' \
    --exclude-path-regex '^/hooks/' \
    --suppress-health-check all \
    --report ndjson --report-dir "$report" \
    --warnings off) || status=$?

# What the panel answered, per status: mostly 2xx and 4xx; a large share of 401 would mean the
# token stopped working and the run tested little.
python3 - "$report" <<'PY' || true
import collections, glob, json, sys
counts = collections.Counter()
for path in glob.glob(sys.argv[1] + "/*.ndjson"):
    for line in open(path):
        event = json.loads(line).get("ScenarioFinished")
        for it in (event or {}).get("recorder", {}).get("interactions", {}).values():
            counts[(it.get("response") or {}).get("status_code")] += 1
print("responses by status:", dict(sorted(counts.items(), key=lambda kv: str(kv[0]))))
PY

if ! kill -0 "$pid" 2>/dev/null; then
    echo "tally exited during the run:" >&2
    tail -n 50 "$work/log" >&2
    exit 1
fi
if grep -q 'panicked' "$work/log"; then
    echo "tally panicked during the run:" >&2
    grep -A5 'panicked' "$work/log" >&2
    exit 1
fi
if grep -q 'internal error' "$work/log"; then
    echo "tally logged internal errors:" >&2
    grep 'internal error' "$work/log" | head -n 20 >&2
    status=1
fi
[ "$status" = 0 ] || { echo "schemathesis found server errors (exit $status)" >&2; exit 1; }
echo "schemathesis: no server errors"
