#!/bin/sh
# The whole test suite: installs what the tests need, checks formatting and lints, runs the
# Rust unit and integration tests (real binary over HTTP, real nginx-rtmp/Icecast/Pebble), the
# schemathesis run against the OpenAPI document, the web-app build drift check and the browser
# tests in headless Chromium.
set -eu
cd "$(dirname "$0")/.."
CARGO_DENY_VERSION=0.20.2

need_pkgs=""
for spec in chromium:chromium pebble:pebble nginx:nginx ffmpeg:ffmpeg icecast2:icecast2 shellcheck:shellcheck; do
    bin=${spec%%:*}
    pkg=${spec#*:}
    command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/bin/$bin" ] || need_pkgs="$need_pkgs $pkg"
done
[ -e /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need_pkgs="$need_pkgs libnginx-mod-rtmp"
if [ -n "$need_pkgs" ]; then
    echo "installing:$need_pkgs"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $need_pkgs >/dev/null
fi

echo "== format and lints"
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings

echo "== licences and banned crates (cargo-deny, offline)"
if ! command -v cargo-deny >/dev/null 2>&1; then
    # Built once into target/tools (kept with the build cache), not into the user's ~/.cargo.
    if ! target/tools/bin/cargo-deny --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; then
        echo "building cargo-deny $CARGO_DENY_VERSION into target/tools (once)"
        cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked --quiet --force --root target/tools
    fi
    PATH="$PWD/target/tools/bin:$PATH"
fi
cargo fetch --quiet  # every platform's crates, which `cargo metadata` reads
cargo deny --offline --log-level error check licenses bans

echo "== build"
cargo build --all-targets --quiet

echo "== rust tests"
# Python's aiosmtpd receives the alert e-mails of the SMTP test.
TALLY_TEST_PYTHON="$(tests/venv.sh)/bin/python3"
export TALLY_TEST_PYTHON
{ rc=0; cargo test --no-fail-fast 2>&1 || rc=$?; echo "$rc" > target/rust-tests.rc; } | tee target/rust-tests.log
[ "$(cat target/rust-tests.rc)" = 0 ] || { echo "rust tests failed"; exit 1; }

echo "== API fuzzing against a running panel (schemathesis, no 5xx)"
tests/schemathesis.sh

echo "== agent against real nginx-rtmp, Icecast2 and the panel"
tests/agent_e2e.sh

if [ -x tests/browser/check-assets.sh ]; then
    echo "== web build drift"
    tests/browser/check-assets.sh
fi
if [ -f tests/browser/run.mjs ]; then
    echo "== browser tests"
    tests/browser/run.sh
fi
echo "all tests passed"
