#!/bin/sh
# Builds bench/go-roughtime (the Go peer of bench:roughtime) offline against a local checkout of
# Cloudflare's Roughtime package, which is not part of this repository.
#
#   bench/go-roughtime/build.sh CLOUDFLARE_ROUGHTIME_DIR [OUTPUT]
#
# CLOUDFLARE_ROUGHTIME_DIR: a checkout of github.com/cloudflare/roughtime (its protocol package
# needs only Go's standard library). OUTPUT defaults to /tmp/go-roughtime. Needs Go 1.19 or later
# (Debian: apt-get install golang-go). Then: npm run bench:roughtime -- --go-server OUTPUT
set -eu
if [ $# -lt 1 ] || [ ! -f "$1/go.mod" ]; then
  echo "usage: $0 CLOUDFLARE_ROUGHTIME_DIR [OUTPUT] (a checkout of github.com/cloudflare/roughtime)" >&2
  exit 2
fi
cloudflare=$(cd "$1" && pwd)
output=$(realpath -m "${2:-/tmp/go-roughtime}")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/main.go" "$work/"
cat > "$work/go.mod" <<MOD
module saturn.bench/go-roughtime

go 1.19

require github.com/cloudflare/roughtime v0.0.0

replace github.com/cloudflare/roughtime => $cloudflare
MOD
cd "$work"
GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local go build -trimpath -o "$output" .
echo "built $output with $(go version) from $cloudflare ($(git -C "$cloudflare" rev-parse HEAD 2>/dev/null || echo 'not a git checkout'))"
