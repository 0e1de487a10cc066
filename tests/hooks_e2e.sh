#!/usr/bin/env bash
# End-to-end test of the hook receivers with a real nginx + libnginx-mod-rtmp on 127.0.0.1:
# nginx's on_publish/on_play/on_done/on_update point at the panel's hook URL of a server; ffmpeg
# publishes and one ffmpeg player plays. Checks that the panel sees the publish (live stream,
# publish_up), the play (live viewer, a view, protocol rtmp, server online as nginx-rtmp), then
# the player leaving and the publisher stopping (publish_down), and that nginx always got "allow".
# Standalone it starts its own panel; tests/agent_e2e.sh runs it against its panel by setting
# PANEL (URL), SESSION (bearer token) and TALLY_BIN.
# Usage: tests/hooks_e2e.sh            (TALLY_BIN=path/to/tally to skip the cargo build)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TMP="$(mktemp -d /tmp/tally-hooks-e2e.XXXXXX)"
chmod 755 "$TMP"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 0.5
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    if [ -z "${KEEP_TMP:-}" ]; then rm -rf "$TMP"; else echo "kept $TMP"; fi
}
trap cleanup EXIT
log() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

need=()
[ -e /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need+=(nginx libnginx-mod-rtmp)
command -v nginx >/dev/null || need+=(nginx)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
if [ "${#need[@]}" -gt 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ -z "${TALLY_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --quiet --bin tally)
    TALLY_BIN="$ROOT/target/debug/tally"
fi

if [ -z "${PANEL:-}" ]; then
    PANEL_PORT=$(free_port); PANEL="http://127.0.0.1:$PANEL_PORT"
    TALLY_ADMIN_EMAIL=admin@example.com TALLY_ADMIN_PASSWORD='e2e panel passphrase' \
        "$TALLY_BIN" serve --listen "127.0.0.1:$PANEL_PORT" --data-dir "$TMP/panel-data" >>"$TMP/panel.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do curl -fsS "$PANEL/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
    curl -fsS "$PANEL/healthz" >/dev/null || { cat "$TMP/panel.log"; fail "the panel did not start"; }
    SESSION=$(curl -fsS -X POST "$PANEL/api/v1/auth/login" -H 'Content-Type: application/json' \
        -d '{"email":"admin@example.com","password":"e2e panel passphrase"}' | json_field token)
fi
api() { curl -fsS -H "Authorization: Bearer $SESSION" "$PANEL$1"; }

SERVER=$(curl -fsS -X POST "$PANEL/api/v1/servers" -H "Authorization: Bearer $SESSION" \
    -H 'Content-Type: application/json' -d '{"name":"e2e-hooks"}' | json_field id)
HOOK=$(curl -fsS -X POST "$PANEL/api/v1/servers/$SERVER/hooks" -H "Authorization: Bearer $SESSION" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["urls"]["nginx_rtmp"])')
case "$HOOK" in "$PANEL"/hooks/v1/*/nginx-rtmp) ;; *) fail "unexpected hook URL $HOOK";; esac

RTMP_PORT=$(free_port)
N="$TMP/nginx"; mkdir -p "$N/logs" "$N/tmp"
cat > "$N/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $N/nginx.pid;
error_log $N/logs/error.log info;
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
events { worker_connections 1024; }
rtmp {
    server {
        listen 127.0.0.1:$RTMP_PORT;
        application live {
            live on; record off;
            on_publish $HOOK; on_publish_done $HOOK;
            on_play $HOOK; on_play_done $HOOK; on_done $HOOK;
            on_update $HOOK; notify_update_timeout 5s;
        }
    }
}
http {
    access_log off;
    client_body_temp_path $N/tmp/body; proxy_temp_path $N/tmp/proxy; fastcgi_temp_path $N/tmp/fcgi;
    uwsgi_temp_path $N/tmp/uwsgi; scgi_temp_path $N/tmp/scgi;
}
EOF
log "nginx-rtmp on 127.0.0.1:$RTMP_PORT notifying $PANEL/hooks/v1/…/nginx-rtmp"
nginx -c "$N/nginx.conf" -p "$N" & PIDS+=($!)
sleep 1
ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc=size=320x180:rate=15 -f lavfi -i sine=frequency=440:sample_rate=44100 \
    -c:v libx264 -preset ultrafast -tune zerolatency -g 30 -b:v 300k -pix_fmt yuv420p -c:a aac -b:a 64k \
    -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/hooked?token=abc" & PUBLISHER=$!; PIDS+=("$PUBLISHER")

# Polls a panel path until the Python expression over `v` holds (or fails after 30 s).
wait_for() {
    local path=$1 cond=$2 what=$3
    for _ in $(seq 120); do
        if api "$path" | python3 -c "import json,sys; v=json.load(sys.stdin); sys.exit(0 if ($cond) else 1)"; then
            echo "ok: $what"; return 0
        fi
        sleep 0.25
    done
    api "$path"; echo; fail "timed out: $what"
}
wait_for "/api/v1/live?server=$SERVER" 'v["streams_live"] == 1 and v["viewers"] == 0' "publish seen, no viewer yet"
sleep 3
ffmpeg -nostdin -loglevel error -i "rtmp://127.0.0.1:$RTMP_PORT/live/hooked?viewer=1" -c copy -f null - & PLAYER=$!; PIDS+=("$PLAYER")
wait_for "/api/v1/live?server=$SERVER" 'v["viewers"] == 1 and v["streams_live"] == 1' "play seen: one live viewer"
wait_for "/api/v1/servers/$SERVER" 'v["status"] == "online" and v["software"] == "nginx-rtmp" and v["viewers"] == 1' \
    "server online as nginx-rtmp"
# Two heartbeats (on_update every 5 s) keep the session open and answered 2xx.
sleep 11
kill -0 "$PLAYER" || fail "the player was dropped (a hook answer refused it?)"
wait_for "/api/v1/live?server=$SERVER" 'v["viewers"] == 1' "viewer still live after heartbeats"
kill "$PLAYER"
wait_for "/api/v1/live?server=$SERVER" 'v["viewers"] == 0' "player left"
wait_for "/api/v1/stats/summary?server=$SERVER" 'v["views"] == 1 and v["view_time_s"] >= 10' "one view of >= 10 s"
wait_for "/api/v1/stats/breakdown?dimension=protocol&server=$SERVER" \
    'any(r["key"] == "rtmp" and r["views"] == 1 for r in v["rows"])' "protocol rtmp"
kill "$PUBLISHER"
wait_for "/api/v1/live?server=$SERVER" 'v["streams_live"] == 0' "publisher stopped"
NOW=$(date +%s); FROM=$(( NOW - NOW % 60 - 600 )); TO=$(( NOW - NOW % 60 + 120 ))
wait_for "/api/v1/stats/timeseries?metric=publish_up&step=60&from=$FROM&to=$TO&server=$SERVER" \
    'sum(p[1] for p in v["points"]) == 1' "one publish_up"
wait_for "/api/v1/stats/timeseries?metric=publish_down&step=60&from=$FROM&to=$TO&server=$SERVER" \
    'sum(p[1] for p in v["points"]) == 1' "one publish_down"
if grep -E "notify: (error|.*HTTP retcode: [^2])" "$N/logs/error.log"; then
    fail "nginx-rtmp logged a failed notification"
fi
log "hooks e2e: all checks passed"
