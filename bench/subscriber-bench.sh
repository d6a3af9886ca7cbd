#!/bin/sh
# Ingestion with a socket-sink subscriber that never reads, next to the same
# daemon without it, in one run: the stalled subscriber must cost at most
# 10% (DESIGN section 8: a slow subscriber never blocks the daemon).
#
#   sh bench/subscriber-bench.sh [BUILDDIR] [REQUESTS] [ROUNDS]
#
# BUILDDIR holds src/cimlistend and src/cimlistenctl (default _build/bench,
# configured and built here if missing). Each round posts REQUESTS (default
# 100000) indications over 16 keep-alive connections with cimlistenctl
# send, first without a subscriber, then with one; the medians are
# compared. At the end the stalled subscriber reads again and must be told
# of a gap.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build/bench}
n=${2:-100000}
rounds=${3:-3}
if [ ! -x "$build/src/cimlistend" ]; then
	mkdir -p "$build"
	(cd "$build" && "$top/configure" -q && make -s -j"$(nproc)" src/cimlistend src/cimlistenctl)
fi
ctl=$build/src/cimlistenctl
tmp=$(mktemp -d)
trap 'kill $daemon $tailpid 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
daemon= tailpid=
port=$(( 20000 + $$ % 20000 ))
cat >"$tmp/c.conf" <<CONF
[listener]
bind = 127.0.0.1
http_port = $port
[daemon]
spool_dir = $tmp/spool
control_socket = $tmp/control.sock
log_level = warning
[sink f]
type = file
path = $tmp/out.jsonl
[sink live]
type = socket
path = $tmp/events.sock
buffer = 10000
[filter all]
sinks = f, live
CONF
"$build/src/cimlistend" -f -c "$tmp/c.conf" 2>"$tmp/err.log" &
daemon=$!
i=0
until "$ctl" status --socket "$tmp/control.sock" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$tmp/err.log"; exit 1; }
	sleep 0.1
done

rate() {
	"$ctl" --json send -n "$n" -c 16 "http://127.0.0.1:$port/" |
		sed -n 's/.*"ok":\([0-9]*\).*"rate":\([0-9.]*\).*/\1 \2/p'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$tmp/without"; : >"$tmp/with"
r=0
while [ $r -lt "$rounds" ]; do
	set -- $(rate); [ "$1" = "$n" ] || { echo "round $r: only $1 of $n answered 200"; exit 1; }
	echo "$2" >>"$tmp/without"
	# A subscriber that stops reading: tail writing into a FIFO nobody
	# reads blocks once the pipe is full, and so stops reading its socket.
	rm -f "$tmp/fifo"; mkfifo "$tmp/fifo"
	exec 3<>"$tmp/fifo"
	"$ctl" tail --socket "$tmp/events.sock" >"$tmp/fifo" 2>"$tmp/tail.err" &
	tailpid=$!
	i=0
	until "$ctl" --json subscribers --socket "$tmp/control.sock" 2>/dev/null | grep -q '"state":"live"'; do
		i=$((i + 1)); [ $i -lt 200 ] || { echo "the subscriber did not come up"; exit 1; }
		sleep 0.05
	done
	set -- $(rate); [ "$1" = "$n" ] || { echo "round $r: only $1 of $n answered 200"; exit 1; }
	echo "$2" >>"$tmp/with"
	state=$("$ctl" --json subscribers --socket "$tmp/control.sock" | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p')
	if [ $r -eq $((rounds - 1)) ]; then
		# Read again: what was queued, then the gap on tail's stderr.
		timeout 5 cat <&3 >/dev/null || true
		i=0
		until grep -q 'gap: records' "$tmp/tail.err"; do
			i=$((i + 1)); [ $i -lt 100 ] || { echo "no gap reported"; exit 1; }
			timeout 1 cat <&3 >/dev/null || true
		done
		gap=$(grep 'gap: records' "$tmp/tail.err" | head -n 1)
	fi
	kill $tailpid; wait $tailpid 2>/dev/null || true; tailpid=
	exec 3<&-
	r=$((r + 1))
done
without=$(median <"$tmp/without")
with=$(median <"$tmp/with")
ratio=$(awk -v a="$with" -v b="$without" 'BEGIN { printf "%.3f", a / b }')
echo "subscriber-bench: $n indications x $rounds rounds, 16 connections"
echo "  without a subscriber:          $(tr '\n' ' ' <"$tmp/without")-> median $without/s"
echo "  with a stalled subscriber:     $(tr '\n' ' ' <"$tmp/with")-> median $with/s (it was '$state')"
echo "  ratio with/without:            $ratio (target >= 0.90: $(awk -v r="$ratio" 'BEGIN { print (r >= 0.9) ? "PASS" : "FAIL" }'))"
echo "  on reading again it was told:  $gap"
