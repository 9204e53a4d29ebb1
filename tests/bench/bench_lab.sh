#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Voice under load, three ways, in one run on the lab topology (see
# tests/lab/lib.sh): the same 10 Mbit/s HTB link both ways, the same TCP
# upload and download, the same 50 packet/s voice stream each way between
# LAN:20000 and WAN:20002 —
#   fifo    no prioritisation: everything shares the bulk queue
#   static  a u32 rule "UDP ports 16384-32767 go first", what many routers do
#   voipq   the classifier with the call's endpoint, as voipqd programs it
# and then the case the static rule gets wrong: a bulk UDP flow inside its
# port range.
#
# Prints a table and BENCH lines for voipq against its targets. Added delay
# is the loaded p99 minus the unloaded p50 of the same path. Bulk goodput is
# what the data classes carried on the wire (HTB counts link-layer bytes):
# bulk, and the pure TCP ACKs the classifier puts ahead of it in all three
# ways (what differs between them is voice), over the shaped rate left
# after voice: TCP's own headers are the protocol's cost, not the
# scheduler's.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${BUILD:-$HERE/../../build}
# shellcheck source=../lab/lib.sh
source "$HERE/../lab/lib.sh"

VQLAB=$BUILD/tests/vqlab
PROBE=$BUILD/tests/rtpprobe
SECS=${SECS:-10}
PKTS=$((SECS * 50))
OUT=$(mktemp -d /tmp/voipq-bench-XXXXXX)
PIN=/sys/fs/bpf/voipq-bench-$LAB_ID
STATE=$OUT/shaper.state
R() { in_ns "$NS_RTR" "$@"; }

lab_require
lab_topology
bench_down() {
	R "$VQLAB" --pin-dir "$PIN" --state "$STATE" down >/dev/null 2>&1 || true
	rm -rf "$PIN" "$OUT"
}
LAB_CLEANUP+=(bench_down)
R "$VQLAB" --pin-dir "$PIN" --state "$STATE" up --wan r1 --uplink 10mbit \
	--downlink 10mbit >/dev/null

static_on() {
	local dev
	for dev in r1 ifb-r1; do
		R tc filter add dev "$dev" parent 1: protocol ip prio 1 u32 \
			match ip protocol 17 0xff match ip dport 16384 0xc000 flowid 1:10
	done
}
static_off() {
	local dev
	for dev in r1 ifb-r1; do
		R tc filter del dev "$dev" parent 1: prio 1 2>/dev/null || true
	done
}

# Bytes bulk (1:20) and pure ACKs (1:30) have sent upstream so far.
data_bytes() {
	echo $(($(class_bytes "$NS_RTR" r1 1:20) + $(class_bytes "$NS_RTR" r1 1:30)))
}

# run TAG [udp-in-range]: voice both ways under TCP up+down (and optionally
# a UDP flood to WAN:20004, inside the static rule's range).
run() {
	local tag=$1 udp=${2:-} p b0 b1 t0 t1
	for p in 5201 5202; do lab_bg "$NS_WAN" iperf3 -s -1 -p $p; done
	[ -n "$udp" ] && lab_bg "$NS_WAN" iperf3 -s -1 -p 20004
	for p in 5201 5202 ${udp:+20004}; do
		lab_wait_listen "$NS_WAN" $p || lab_fail "iperf3 server $p did not start"
	done
	lab_bg "$NS_LAN" iperf3 -c "$WAN_IP" -p 5201 -t $((SECS + 2)) -P 4
	lab_bg "$NS_LAN" iperf3 -c "$WAN_IP" -p 5202 -t $((SECS + 2)) -P 2 -R
	[ -n "$udp" ] && lab_bg "$NS_LAN" iperf3 -c "$WAN_IP" -p 20004 -u -b 30M \
		-t $((SECS + 2)) --cport 20006
	sleep 1
	b0=$(data_bytes)
	t0=$(date +%s.%N)
	in_ns "$NS_WAN" "$PROBE" 20002 --peer "$LAN_IP:20000" --count "$PKTS" \
		--delay 200 --timeout $((SECS + 2)) > "$OUT/up-$tag" &
	local a=$!
	in_ns "$NS_LAN" "$PROBE" 20000 --peer "$WAN_IP:20002" --count "$PKTS" \
		--delay 200 --timeout $((SECS + 2)) > "$OUT/down-$tag" &
	local b=$!
	wait $a $b
	b1=$(data_bytes)
	t1=$(date +%s.%N)
	echo "bulk_bytes=$((b1 - b0)) secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		> "$OUT/bulk-$tag"
	wait
	CHILDREN=()
} > /dev/null 2>&1

# Unloaded reference path delay.
in_ns "$NS_WAN" "$PROBE" 20002 --peer "$LAN_IP:20000" --count 100 --delay 200 \
	--timeout 5 > "$OUT/up-idle" &
in_ns "$NS_LAN" "$PROBE" 20000 --peer "$WAN_IP:20002" --count 100 --delay 200 \
	--timeout 5 > "$OUT/down-idle"
wait

run fifo
static_on
run static
run static-udp udp
static_off
R "$VQLAB" --pin-dir "$PIN" add "$WAN_IP" 20002
run voipq
run voipq-udp udp

# Shaped rate left after voice, in bytes over the measured window.
SHAPED_BPS=9500000
VOICE_BPS=$(( (172 + 42) * 8 * 50 ))

printf '# %-11s %-4s %8s %9s %9s %9s %5s %12s\n' config dir "loss%" \
	"owd p50" "owd p99" jitter MOS "bulk Mbit/s"
for tag in fifo static static-udp voipq voipq-udp; do
	for dir in up down; do
		f=$OUT/$dir-$tag
		bulk=$(awk -F'[= ]' '{ printf "%.2f", $2 * 8 / $4 / 1e6 }' "$OUT/bulk-$tag")
		printf '# %-11s %-4s %8s %9s %9s %9s %5s %12s\n' "$tag" "$dir" \
			"$(kv "$f" loss_pct)" "$(kv "$f" owd_p50_ms)" \
			"$(kv "$f" owd_p99_ms)" "$(kv "$f" jitter_ms)" "$(kv "$f" mos)" \
			"$([ $dir = up ] && echo "$bulk" || echo -)"
	done
done
echo "# owd in ms; 'static-udp'/'voipq-udp': a 30 Mbit/s bulk UDP flow inside ports 16384-32767"

worst() { # metric: the worse of the two directions for tag voipq
	awk -v a="$(kv "$OUT/up-voipq" "$1")" -v b="$(kv "$OUT/down-voipq" "$1")" \
		'BEGIN { print (a > b ? a : b) }'
}
idle=$(awk -v a="$(kv "$OUT/up-idle" owd_p50_ms)" -v b="$(kv "$OUT/down-idle" owd_p50_ms)" \
	'BEGIN { print (a > b ? a : b) }')
added=$(awk -v p="$(worst owd_p99_ms)" -v i="$idle" 'BEGIN { printf "%.3f", p - i }')
goodput=$(awk -F'[= ]' -v s=$SHAPED_BPS -v v=$VOICE_BPS \
	'{ printf "%.1f", 100 * $2 * 8 / $4 / (s - v) }' "$OUT/bulk-voipq")
echo "BENCH voice_loss_pct_voipq $(worst loss_pct) % target <= 0.01"
echo "BENCH voice_added_owd_p99_ms_voipq $added ms target <= 2"
echo "BENCH voice_jitter_ms_voipq $(worst jitter_ms) ms target <= 1"
echo "BENCH voice_mos_voipq $(awk -v a="$(kv "$OUT/up-voipq" mos)" -v b="$(kv "$OUT/down-voipq" mos)" 'BEGIN { print (a < b ? a : b) }') MOS target >= 4.3"
echo "BENCH bulk_goodput_pct_of_link_minus_voice_voipq $goodput % target >= 98"
echo "BENCH voice_loss_pct_voipq_with_udp_flood_in_static_range $(awk -v a="$(kv "$OUT/up-voipq-udp" loss_pct)" -v b="$(kv "$OUT/down-voipq-udp" loss_pct)" 'BEGIN { print (a > b ? a : b) }') % target <= 0.01"
