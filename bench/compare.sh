#!/usr/bin/env bash
# bench/compare.sh — rawcraft beside trafgen, hping3, nping, scapy, masscan
# and zmap, on the same task, for the same time, in one run.
#
#   sudo bench/compare.sh [SECONDS]        (default 5)
#
# It builds two network namespaces, rc-bench-a (198.18.9.1) and rc-bench-b
# (198.18.9.2), joined by one veth pair created inside them (the machine's
# own namespace is never touched), and sends TCP SYNs from A to B:port 9 with
# each installed tool for SECONDS, in two modes:
#   loop     B answers every SYN with a RST (nothing listens); on veth B's
#            work runs on the sender's CPUs, as in the issue's figures;
#   tx-only  B drops every frame at ingress: it changes its MAC address, so
#            frames still sent to the old one die in its first layer as
#            "other host" frames (tc classifiers may be missing).
# It reads the veth counters, and prints packets/s and each tool's ratio to
# rawcraft. Then ten million SYNs sent by rawcraft and captured by rawcraft
# listen in B, with both rawcraft processes' own resident memory and CPU time
# sampled (never a wrapper's); and a
# 65 535-port scan of B: rawcraft probe against masscan, wall time and RSTs
# recorded. A tool that is not installed is named and
# skipped; the script installs nothing. Every run is bounded by timeout; the
# namespaces are removed on exit, even on Ctrl-C.
set -uo pipefail
SECS=${1:-5}
A=rc-bench-a
B=rc-bench-b
IPA=198.18.9.1
IPB=198.18.9.2
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)

keep_logs() { [ -n "${KEEP:-}" ] && cp "$tmp"/*.log /tmp/ 2>/dev/null; }
cleanup() {
  keep_logs
  ip netns del "$A" 2>/dev/null
  ip netns del "$B" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "compare.sh: run as root (namespaces, raw sockets)" >&2; exit 2; }
case "$SECS" in ''|*[!0-9]*) echo "compare.sh: SECONDS must be a whole number" >&2; exit 2;; esac

RC=${RAWCRAFT:-$tmp/rawcraft}
if [ ! -x "$RC" ]; then
  (cd "$here" && CGO_ENABLED=0 go build -o "$RC" ./cmd/rawcraft) || { echo "compare.sh: cannot build rawcraft" >&2; exit 1; }
fi

cd "$tmp" || exit 1   # masscan leaves paused.conf in its working directory
ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null
ip netns add "$A" && ip netns add "$B" || exit 1
ip -n "$A" link add v0 type veth peer name v1 netns "$B"
ip -n "$A" addr add $IPA/24 dev v0
ip -n "$B" addr add $IPB/24 dev v1
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link set v0 up
ip -n "$B" link set v1 up
ip netns exec "$B" sh -c 'echo 0 > /proc/sys/net/ipv4/icmp_ratelimit'
MACA=$(ip -n "$A" -o link show v0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
MACB=$(ip -n "$B" -o link show v1 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
ip -n "$A" neigh replace $IPB lladdr "$MACB" dev v0 nud permanent

counter() { ip netns exec "$A" cat "/sys/class/net/v0/statistics/$1"; }

tx_only() { # $1 on|off
  if [ "$1" = on ]; then
    ip -n "$B" link set v1 address 02:00:00:00:09:99
  else
    ip -n "$B" link set v1 address "$MACB"
  fi
}

# The flooders, each a command run inside A until timeout stops it.
trafgen_conf="$tmp/syn.cfg"
cat > "$trafgen_conf" <<CFG
{ eth(da=$MACB, sa=$MACA), ipv4(saddr=$IPA, daddr=$IPB, ttl=64), tcp(sp=40000, dp=9, syn, seq=1) }
CFG
cat > "$tmp/syn_scapy.py" <<PY
from scapy.all import Ether, IP, TCP, sendp, conf
conf.verb = 0
sendp(Ether(dst="$MACB", src="$MACA")/IP(src="$IPA", dst="$IPB")/TCP(sport=40000, dport=9, flags="S"), iface="v0", loop=1, verbose=0)
PY
declare -A CMD NEED
CMD[rawcraft]="$RC send tcp --dst $IPB --dport 9 --flags S --rate max --count 10000000 -q"; NEED[rawcraft]=$RC
CMD[trafgen]="trafgen --dev v0 --conf $trafgen_conf"; NEED[trafgen]=trafgen
CMD[hping3]="hping3 -S -p 9 --flood -q $IPB"; NEED[hping3]=hping3
CMD[nping]="nping --tcp -p 9 --flags syn --rate 10000000 -c 0 -N -q --send-eth -e v0 --dest-mac $MACB $IPB"; NEED[nping]=nping
PY3=$(command -v /usr/bin/python3 || command -v python3)
CMD[scapy]="$PY3 $tmp/syn_scapy.py"; NEED[scapy]=$PY3
CMD[masscan]="masscan 198.18.9.0/24 -p1-65535 --rate 10000000 --interface v0 --router-mac $MACB --adapter-ip $IPA --wait 0"; NEED[masscan]=masscan
: > "$tmp/empty-blacklist"   # zmap's default blacklist excludes 198.18.0.0/15
CMD[zmap]="zmap -p 9 -P 10000000 -r 0 -i v0 -G $MACB -S $IPA -b $tmp/empty-blacklist $IPB/32 -o /dev/null"; NEED[zmap]=zmap
ORDER=${TOOLS:-"rawcraft trafgen hping3 nping scapy masscan zmap"}   # TOOLS="rawcraft hping3" to run only some

have() {
  case "$1" in
    scapy) "$PY3" -c 'import scapy' 2>/dev/null ;;
    *) command -v "${NEED[$1]}" >/dev/null 2>&1 ;;
  esac
}

declare -A PPS
echo "machine: $(nproc) cores, $(uname -r); $SECS s per run; one veth pair between two namespaces"
for mode in loop tx-only; do
  [ "$mode" = tx-only ] && tx_only on || tx_only off
  echo
  echo "== $mode: SYNs from A to B:9 — $( [ $mode = loop ] && echo 'B answers each with a RST' || echo 'B drops at ingress')"
  printf '  %-9s %12s %12s %10s\n' tool "packets/s" "replies/s" "÷ rawcraft"
  for t in $ORDER; do
    if ! have "$t"; then printf '  %-9s %s\n' "$t" "not installed: skipped"; continue; fi
    tx0=$(counter tx_packets); rx0=$(counter rx_packets)
    ip netns exec "$A" timeout -s INT "$SECS" ${CMD[$t]} >"$tmp/$t.log" 2>&1
    sleep 0.2
    tx1=$(counter tx_packets); rx1=$(counter rx_packets)
    pps=$(( (tx1 - tx0) / SECS )); rps=$(( (rx1 - rx0) / SECS ))
    PPS[$mode,$t]=$pps
    base=${PPS[$mode,rawcraft]:-0}
    ratio=$(awk -v a="$pps" -v b="$base" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    printf '  %-9s %12d %12d %10s\n' "$t" "$pps" "$rps" "$ratio"
  done
done

# Ten million SYNs from A, captured in B by rawcraft listen (its AF_PACKET
# tap sees the frames before B's IP layer drops them). Both rawcraft
# processes themselves are measured — resident memory (VmRSS) sampled every
# half second, CPU time (utime + stime) at the last sample — never a
# wrapper's: `ip netns exec` execs its command, so $! is rawcraft's own PID
# (checked below), and no `timeout` sits in between (a watchdog kills the
# sender after 60 s instead). Earlier versions ran the sender under
# `timeout` and so reported timeout's memory as the sender's.
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat" 2>/dev/null; }
is_rawcraft() { [ "$(readlink "/proc/$1/exe")" = "$(readlink -f "$RC")" ]; }
echo
echo "== memory, CPU and capture: rawcraft send --count 10000000 from A, rawcraft listen -q in B"
ip netns exec "$B" "$RC" listen -q --port 9 --count 10000000 --timeout 60s >/dev/null 2>"$tmp/listen.log" &
lpid=$!
sleep 0.5
ip netns exec "$A" "$RC" send tcp --dst $IPB --dport 9 --flags S --rate max --count 10000000 -q 2>"$tmp/send.log" &
spid=$!
( sleep 60; kill "$spid" 2>/dev/null ) &
watchdog=$!
sleep 0.1
for p in $spid $lpid; do
  is_rawcraft "$p" || { echo "compare.sh: PID $p is $(readlink "/proc/$p/exe"), not rawcraft: refusing to measure it" >&2; kill "$spid" "$lpid" "$watchdog" 2>/dev/null; exit 1; }
done
: > "$tmp/rss"
scpu=0; lcpu=0
while kill -0 $spid 2>/dev/null; do
  echo "$(rss $spid) $(rss $lpid)" >> "$tmp/rss"
  s=$(cpu $spid) && [ -n "$s" ] && scpu=$s
  l=$(cpu $lpid) && [ -n "$l" ] && lcpu=$l
  sleep 0.5
done
wait $spid
kill "$watchdog" 2>/dev/null
l=$(cpu $lpid) && [ -n "$l" ] && lcpu=$l
kill -INT $lpid 2>/dev/null; wait $lpid
sed 's/^/  send:   /' "$tmp/send.log"
sed -n 's/^/  listen: /; /captured/p' "$tmp/listen.log"
awk 'NF == 2 { n++; if (n == 1 || $1 < s0) s0 = $1; if ($1 > s1) s1 = $1; if (n == 1 || $2 < l0) l0 = $2; if ($2 > l1) l1 = $2 }
     END { if (n) printf "  rawcraft processes themselves, resident memory over %d samples: sender %d–%d KiB, listener %d–%d KiB\n", n, s0, s1, l0, l1 }' "$tmp/rss"
echo "  CPU time (user + system, at the last sample): sender ${scpu} s, listener ${lcpu} s"
tx_only off

echo
echo "== a scan of all 65 535 ports of B (every port closed: every answer is a RST)"
printf '  %-9s %10s %14s\n' tool "seconds" "RSTs recorded"
start=$(date +%s.%N)
n=$(ip netns exec "$A" timeout 120 "$RC" probe tcp --dst $IPB --ports 1-65535 --timeout 1s --json 2>/dev/null | grep -c '"reason":"rst"')
end=$(date +%s.%N)
rc_s=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
printf '  %-9s %10s %14s\n' rawcraft "$rc_s" "$n"
if have masscan; then
  start=$(date +%s.%N)
  m=$(ip netns exec "$A" timeout 120 masscan $IPB -p1-65535 --rate 1000000 --interface v0 --router-mac "$MACB" --adapter-ip $IPA --wait 1 --show closed 2>/dev/null | grep -c 'closed')
  end=$(date +%s.%N)
  ms_s=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  printf '  %-9s %10s %14s   (rawcraft took %s of its time)\n' masscan "$ms_s" "$m" "$(awk -v a="$rc_s" -v b="$ms_s" 'BEGIN { printf "%.0f%%", 100 * a / b }')"
else
  printf '  %-9s %s\n' masscan "not installed: skipped"
fi
