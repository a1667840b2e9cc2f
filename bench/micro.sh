#!/usr/bin/env bash
# bench/micro.sh — craft's build and decode against gopacket's, as ratios.
#
#   bench/micro.sh [PAIRS]        (default 10; no privileges needed)
#
# Runs PAIRS alternating pairs of separate benchmark processes — ours,
# then gopacket's at its fastest (layers and buffer reused; FixLengths and
# ComputeChecksums to build, DecodingLayerParser to decode) — and prints
# each pair's ratio and the median. On a shared machine the other tenants
# move single figures by tens of percent, and a pair measured seconds apart
# shares the conditions; the median of the ratios is the figure to quote.
set -euo pipefail
PAIRS=${1:-10}
case "$PAIRS" in ''|*[!0-9]*|0) echo "micro.sh: PAIRS must be a whole number above 0" >&2; exit 2;; esac
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go test -c -o "$tmp/craft.test" ./craft)
ns() { "$tmp/craft.test" -test.run XXX -test.bench "^$1\$" -test.benchtime 1000000x -test.benchmem | awk '/^Benchmark/ { print $3; if ($7 != 0) { print "allocates!" > "/dev/stderr"; exit 1 } }'; }
for what in BuildSYN DecodeSYN; do
  echo "== $what: ns/op ours, gopacket's, ratio"
  for i in $(seq "$PAIRS"); do
    a=$(ns "Benchmark$what"); b=$(ns "BenchmarkGopacket$what")
    echo "$a $b" | awk '{ printf "  %8.1f %8.1f %6.2fx\n", $1, $2, $2 / $1 }'
  done | tee "$tmp/$what"
  sort -k3 -n "$tmp/$what" | awk '{ r[NR] = $3 + 0 } END { m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2; printf "  median ratio %.2fx faster than gopacket\n", m }'
done
