#!/bin/sh
# Rebuilds web/ in a scratch copy of the tree and fails when the result differs from the
# committed bundle in assets/app/, which is what the binary embeds.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM

mkdir -p "$scratch/web" "$scratch/assets"
cp -R "$root/assets/branding" "$scratch/assets/branding"
(cd "$root/web" && tar --exclude=./node_modules -cf - .) | (cd "$scratch/web" && tar -xf -)

if [ -d "$root/web/node_modules" ]; then
    ln -s "$root/web/node_modules" "$scratch/web/node_modules"
else
    npm --prefix "$scratch/web" ci --no-audit --no-fund --loglevel=error
fi
npm --prefix "$scratch/web" run build --silent >"$scratch/build.log" 2>&1 || {
    cat "$scratch/build.log" >&2
    exit 1
}

if diff -r "$root/assets/app" "$scratch/assets/app" >"$scratch/diff.txt"; then
    echo "assets/app matches a fresh build of web/"
else
    echo "assets/app is out of date: run 'npm --prefix web ci && npm --prefix web run build' and commit it" >&2
    head -n 40 "$scratch/diff.txt" >&2
    exit 1
fi
