#!/usr/bin/env bash
# bench/scale.sh — a scan of a /17 × 1 port: rawcraft probe beside zmap, and
# rawcraft's memory from 1 k to 32 k hosts, in one run.
#
#   sudo bench/scale.sh
#
# It builds two network namespaces, rcscale<pid>-a (198.18.9.1) and
# rcscale<pid>-b (198.18.9.2), joined by one veth pair created inside them
# (the machine's own namespace is never touched; the names are not the lab's,
# so rawcraft's rails apply and the runs say --i-own-the-network --rate max).
# In B a local route on lo (ip route add local 198.18.128.0/17 dev lo) makes
# one kernel answer for all 32 768 addresses: a SYN to port 80 of any of them
# draws a RST. A routes the /17 through B. Then, each bounded by timeout:
#   rawcraft  probe tcp --dst BLOCK --ports 80 --json --stateless, for a /22 (1 024
#             hosts), a /19 and the /17: wall time, RSTs matched (lines with
#             reason rst) and peak resident memory of the rawcraft process
#             itself (GNU time's %M, or VmHWM sampled from /proc);
#   shards    the /17 as four `probe --shard I/4` processes at once: the
#             union of their lines, and that no host appears twice;
#   zmap      the /17 with zmap's SYN scan at up to 10^6 packets/s, when zmap
#             is installed (named and skipped otherwise; nothing is
#             installed): wall time, RSTs in its output, peak memory.
#   engine    go test -run TestScanMemoryFlat ./probe/: probe.Scan's
#             allocations and peak RSS for 1 k and 32 k hosts, results
#             streamed (the CLI above keeps them all to print them).
# The issue's bar: rawcraft's wall time at most half zmap's with 100.00 % of
# the replies matched, and its memory flat from 1 k to 32 k hosts. The
# namespaces are removed on exit, even on Ctrl-C.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
A=rcscale$$-a
B=rcscale$$-b
IPA=198.18.9.1
IPB=198.18.9.2
BLOCK=198.18.128.0/17

cleanup() {
  ip netns del "$A" 2>/dev/null
  ip netns del "$B" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "scale.sh: run as root (namespaces, raw sockets)" >&2; exit 2; }

RC=${RAWCRAFT:-$tmp/rawcraft}
if [ ! -x "$RC" ]; then
  (cd "$here" && CGO_ENABLED=0 go build -o "$RC" ./cmd/rawcraft) || { echo "scale.sh: cannot build rawcraft" >&2; exit 1; }
fi

ip netns add "$A" && ip netns add "$B" || exit 1
ip -n "$A" link add v0 type veth peer name v1 netns "$B"
ip -n "$A" addr add $IPA/24 dev v0
ip -n "$B" addr add $IPB/24 dev v1
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link set v0 up
ip -n "$B" link set v1 up
MACA=$(ip -n "$A" -o link show v0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
MACB=$(ip -n "$B" -o link show v1 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
# Both neighbours known: no reply waits in an ARP queue (or is dropped there).
ip -n "$A" neigh replace $IPB lladdr "$MACB" dev v0 nud permanent
ip -n "$B" neigh replace $IPA lladdr "$MACA" dev v1 nud permanent
ip -n "$B" route add local $BLOCK dev lo
ip -n "$A" route add $BLOCK via $IPB

# measure NAME CMD... runs CMD inside A (bounded by 120 s), its stdout to
# $tmp/NAME.out, and sets WALL (seconds), RCODE and HWM (KiB: the peak
# resident set of CMD's own process — GNU time's %M when /usr/bin/time is
# there, else the last VmHWM read from /proc before it exits).
measure() {
  local name=$1; shift
  local t0 t1 pid h p
  HWM=0
  t0=$(date +%s.%N)
  if /usr/bin/time -f %M true >/dev/null 2>&1; then
    ip netns exec "$A" timeout 120 /usr/bin/time -f %M -o "$tmp/$name.rss" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    RCODE=$?
    HWM=$(tail -1 "$tmp/$name.rss" 2>/dev/null || echo 0)
  else
    ip netns exec "$A" timeout 120 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      for p in $(pgrep -P "$pid" 2>/dev/null); do
        h=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$p/status" 2>/dev/null)
        [ -n "$h" ] && [ "$h" -gt "$HWM" ] && HWM=$h
      done
      sleep 0.002
    done
    wait "$pid"; RCODE=$?
  fi
  t1=$(date +%s.%N)
  WALL=$(echo "$t1 - $t0" | bc -l)
}

rstlines() { grep -c '"reason":"rst"' "$1"; }
hosts_once() { sed -n 's/.*"dst":"\([0-9.]*\)".*/\1/p' "$@" | sort | uniq -d | wc -l; }

printf '%-26s %8s %10s %10s %10s\n' run hosts wall_s matched rss_KiB
declare -A RSS
for b in 198.18.128.0/22:1024 198.18.128.0/19:8192 $BLOCK:32768; do
  blk=${b%%:*}; n=${b##*:}
  measure "rc$n" "$RC" probe tcp --dst "$blk" --ports 80 --json --stateless --rate max --retries 1 --timeout 1s --i-own-the-network
  m=$(rstlines "$tmp/rc$n.out")
  RSS[$n]=$HWM
  [ "$n" = 32768 ] && RCWALL=$WALL RCM=$m
  printf '%-26s %8d %10.3f %9.2f%% %10d\n' "rawcraft probe (exit $RCODE)" "$n" "$WALL" "$(echo "100*$m/$n" | bc -l)" "$HWM"
done

# Four shards at once, as four machines would run them.
t0=$(date +%s.%N)
for i in 0 1 2 3; do
  ip netns exec "$A" timeout 120 "$RC" probe tcp --dst $BLOCK --ports 80 --json --rate max --retries 1 --timeout 1s \
    --i-own-the-network --shard $i/4 >"$tmp/shard$i.out" 2>"$tmp/shard$i.err" &
done
wait
t1=$(date +%s.%N)
m=$(cat "$tmp"/shard?.out | grep -c '"reason":"rst"')
printf '%-26s %8d %10.3f %9.2f%% %10s   (hosts twice: %d)\n' "4 shards at once" 32768 "$(echo "$t1 - $t0" | bc -l)" "$(echo "100*$m/32768" | bc -l)" - "$(hosts_once "$tmp"/shard?.out)"

if command -v zmap >/dev/null; then
  : >"$tmp/empty.conf"
  measure zmap zmap -p 80 -i v0 -S $IPA -G "$MACB" -r 1000000 -c 1 -b "$tmp/empty.conf" \
    -O csv -f saddr,classification --output-filter="repeat = 0" -o - $BLOCK
  zm=$(grep -c ',rst' "$tmp/zmap.out")
  printf '%-26s %8d %10.3f %9.2f%% %10d\n' "zmap (exit $RCODE)" 32768 "$WALL" "$(echo "100*$zm/32768" | bc -l)" "$HWM"
  echo "rawcraft/zmap wall time: $(echo "$RCWALL / $WALL" | bc -l | cut -c1-5) (the bar: ≤ 0.5, with 100.00 % matched: rawcraft $RCM of 32768)"
else
  echo "zmap: not installed — skipped (this script installs nothing)"
fi
echo "rawcraft probe peak RSS: ${RSS[1024]} KiB for 1 024 hosts, ${RSS[32768]} KiB for 32 768 — the CLI keeps every Result to print it"
# The engine itself (probe.Scan, results streamed): its allocations and peak
# RSS from 1 k to 32 k hosts, asserted flat by the test.
(cd "$here" && go test -count=1 -run 'TestScanMemoryFlat$' -v ./probe/ 2>&1 | grep -E 'hosts:|^(ok|FAIL|---)') 
