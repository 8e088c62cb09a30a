#!/bin/sh
# Builds the original Go saturn master (github.com/levenlabs/saturn), the same-run peer of
# `bench:scale --go-master`, offline from local checkouts; none of that code is in this repository.
#
#   bench/go-master/build.sh SRC_DIR [OUTPUT]
#
# SRC_DIR: a GOPATH-style source tree, each checkout under its import path (SRC_DIR/github.com/
# levenlabs/saturn, ...). The original predates Go modules, so it builds in GOPATH mode
# (GO111MODULE=off, no module proxy). It needs these nine repositories; the commits used for
# BENCHMARKS.md are, for each, the last one on or before saturn's last commit (2016-08-18):
#
#   levenlabs/saturn       b8b32730115dc144cc814cf810a9295fd24afbec
#   levenlabs/go-llog      5140e42a29eb05426a9666d743ccba4390cbab91
#   levenlabs/go-srvclient 335e77a4052d5a3bc00907c39b280f3ce2577459
#   levenlabs/golib        6259504d949c4713691d2a701480b60fdcfc9ea7
#   mediocregopher/lever   1ef8ade8af42be141dd04af0e1baeeb7f5c40971
#   mediocregopher/skyapi  42901fb3bdec11b05f9fca59f488ef58a84a2ab0
#   golang/protobuf        f592bd283e9ef86337a432eb50e592278c3d534d
#   miekg/dns              db96a2b759cdef4f11a34506a42eb8d1290c598e
#   gorilla/websocket      a69d25be2fe2923a97c2af6849b2f52426f68fc0
#
# e.g. for each "repo commit" pair above:
#   git clone https://github.com/$repo SRC_DIR/github.com/$repo && git -C SRC_DIR/github.com/$repo checkout $commit
#
# OUTPUT defaults to /tmp/go-saturn. Needs Go 1.19 or later (Debian: apt-get install golang-go).
# Prints the Go version and the commit of every checkout it built from.
# Then: npm run bench:scale -- --go-master OUTPUT
set -eu
if [ $# -lt 1 ] || [ ! -f "$1/github.com/levenlabs/saturn/main.go" ]; then
  echo "usage: $0 SRC_DIR [OUTPUT] (SRC_DIR/github.com/levenlabs/saturn and its dependencies' checkouts)" >&2
  exit 2
fi
src=$(cd "$1" && pwd)
output=$(realpath -m "${2:-/tmp/go-saturn}")
gopath=$(mktemp -d)
trap 'rm -rf "$gopath"' EXIT
ln -s "$src" "$gopath/src"
cd "$gopath/src/github.com/levenlabs/saturn"
GOPATH=$gopath GO111MODULE=off GOFLAGS= GOPROXY=off GOTOOLCHAIN=local go build -trimpath -o "$output" .
echo "built $output with $(go version) in GOPATH mode from:"
for dir in "$src"/*/*/*/; do
  dir=${dir%/}
  commit=$(git -C "$dir" log -1 --format='%H %cI' 2>/dev/null || echo 'not a git checkout')
  echo "  ${dir#"$src"/} $commit"
done
