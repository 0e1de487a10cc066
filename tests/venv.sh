#!/bin/sh
# The Python tools the tests use, in their own virtual environment (target/test-venv), so the
# system's Python is left alone: schemathesis (API fuzzing) and aiosmtpd (the SMTP server the
# alert e-mail test sends to). Installs what is missing; prints the environment's directory.
#
# Usage: venv=$(tests/venv.sh)
set -eu
cd "$(dirname "$0")/.."

venv=target/test-venv
if [ ! -x "$venv/bin/python3" ]; then
    echo "creating $venv" >&2
    rm -rf "$venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
        # Debian's python3 needs its venv module as a package.
        rm -rf "$venv"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$venv"
    fi
fi
if [ ! -x "$venv/bin/schemathesis" ] || ! "$venv/bin/python3" -c "import aiosmtpd" 2>/dev/null; then
    echo "installing schemathesis and aiosmtpd into $venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4,<5' 'aiosmtpd>=1.4,<2'
fi
echo "$PWD/$venv"
