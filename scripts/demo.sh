#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: one phone call through a home router while someone floods
# the line both ways, first without voipq, then with it.
#
# The lab (tests/lab/lib.sh), all in network namespaces made here: a phone
# on a private LAN; a router that forwards and masquerades; a provider hop
# that is the line, as a modem is (10 Mbit/s up, 50 Mbit/s down, each with
# a deep unmanaged buffer); a SIP peer on the far side. The call: sipp's
# INVITE/200/ACK from the phone to the peer, its media carried by rtpprobe
# on the ports the SDP announced (G.711 sized, 50 packets/s each way),
# which measures loss, one-way delay, jitter and MOS with the agent's own
# RTP statistics and E-model. The phone registers, then the flood starts:
# the call is set up and hung up across the flooded line, and the time its
# INVITE and its BYE take to be answered is reported too. The flood:
# iperf3 TCP and UDP, up and down.
#
# Run 1, voipq off: the router only forwards; the queue builds in the
# modem and the call waits in it. Run 2, voipq on: the real voipqd on the
# router learns the call from its SIP, shapes just below the line rates
# and serves the call's packets first. Then a table side by side and a
# plot of the delays (build/demo/delay.png).
#
# Needs root; exits non-zero with what to do when something fails. Cleans
# up namespaces, processes, pins and qdiscs on any exit, Ctrl-C included.
# SECS (20) sets the length of each measurement; VOIPQD_ARGS adds voipqd
# flags (e.g. "--set shape_percent_down=90").
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
# shellcheck source=tests/lab/lib.sh
source "$TOP/tests/lab/lib.sh"

VOIPQD=$BUILD/voipqd
VOIPQCTL=$BUILD/voipqctl
PROBE=$BUILD/tests/rtpprobe
VQLAB=$BUILD/tests/vqlab
OUT=$BUILD/demo
SECS=${SECS:-20}
if ! [[ $SECS =~ ^[0-9]+$ ]] || [ "$SECS" -lt 6 ] || [ "$SECS" -gt 120 ]; then
	echo "demo: SECS=$SECS: give the length of a measurement in seconds, 6 to 120" >&2
	exit 1
fi
PIN=/sys/fs/bpf/voipq-demo-$LAB_ID
SOCK=/run/voipq-demo-$LAB_ID.sock
STATE=$OUT/voipq.state
# The modem's buffer, in time at its rate: what a queue that nobody
# manages reaches under a flood.
BUFFER_MS=250
# An unresponsive flood above the downlink fills the provider's queue
# before anything on the router sees it; no router can help that. The
# download flood stays below the line: UDP plus TCP, which backs off.
UDP_UP=30M
UDP_DOWN=20M
# The floods stop when the call's media has been measured; this only
# bounds them.
FLOOD_T=$((SECS + 40))
PKTS=$((SECS * 50 - 50))

# Here, a lab that cannot run is a demo that failed.
lab_skip() { echo "demo: cannot run: $*" >&2; exit 1; }
lab_fail() {
	echo "demo: failed: $*" >&2
	echo "demo: every log of this run is in $OUT/ (sipp *.msg/*.log, iperf.*, voipqd.log)" >&2
	exit 1
}
say() { printf 'demo: %s\n' "$*"; }
# Whatever else fails says where.
set -E
trap 'lab_fail "${BASH_SOURCE[0]} line $LINENO: $BASH_COMMAND"' ERR

[ "$(id -u)" -eq 0 ] || lab_skip "needs root for network namespaces (try: sudo make demo)"
command -v gnuplot >/dev/null || lab_skip "gnuplot not installed (make deps)"
lab_require_voipqd
rm -rf "$OUT"
mkdir -p "$OUT"

demo_down() { rm -f "$SOCK"; }
LAB_CLEANUP+=(lab_voipqd_down demo_down)
lab_topology
trap 'echo "demo: interrupted; cleaning up" >&2; exit 130' INT TERM
lab_nat
lab_modem "$LAB_UPLINK" "$LAB_DOWNLINK" "$BUFFER_MS"
lab_sipp_media
say "lab up: phone $LAN_IP -- NAT router $RTR_WAN_IP -- modem ($LAB_UPLINK up, $LAB_DOWNLINK down, ${BUFFER_MS} ms buffer) -- SIP peer $WAN_IP"

rx_bytes() { in_ns "$1" ip -s -j link show dev "$2" | jq '.[0].stats64.rx.bytes'; }

# answered TAG: the far end got the ACK; settled TAG PID: that, or the
# phone's sipp gave up.
answered() { grep -q '^ACK ' "$OUT/$1.uas.msg" 2>/dev/null; }
settled() { answered "$1" || ! kill -0 "$2" 2>/dev/null; }

# run TAG: the call under the flood; results in $OUT/TAG.*.
run() {
	local tag=$1 up0 down0 t0 dt pid
	if [ "$tag" = on ]; then
		# shellcheck disable=SC2086 # flags, split as the shell would
		voipqd_start ${VOIPQD_ARGS:-}
		say "voipqd: $(ctl status | head -3 | tr -s ' \n' ' ')"
	fi
	# The phone registers first, as phones do when they start.
	sipp_uas "$tag.reg" uas_register.xml 5060
	local reg=$UAS_PID
	sipp_uac "$tag.reg" uac_register.xml 5060 5060
	sipp_wait "$tag.reg" "$UAC_PID"
	sipp_wait "$tag.reg" "$reg"
	say "phone registered; flooding both ways (iperf3: TCP, UDP $UDP_UP up, $UDP_DOWN down)"
	lab_flood "$UDP_UP" "$UDP_DOWN" > /dev/null
	sleep 2 # the floods fill the queues
	# The call is set up across the flooded line.
	sipp_uas "$tag" uas_media.xml 5060 -key rtp_port 40002
	local uas=$UAS_PID
	sipp_uac "$tag" uac_media.xml 5060 5060 -key rtp_port 40000
	local uac=$UAC_PID
	poll 400 settled "$tag" "$uac"
	answered "$tag" || {
		tail -n 5 "$OUT/$tag".*.log >&2
		lab_fail "the call did not set up: sipp's phone $LAN_IP got no answer from $WAN_IP:5060 (its log is above: $OUT/$tag.uac.log; make deps installs sip-tester)"
	}
	say "call $(call_id_of "$OUT/$tag.uac.msg") set up"
	if [ "$tag" = on ]; then
		poll 100 has_flow "$WAN_IP" 40002 ||
			lab_fail "voipqd did not learn the call from its SIP: see $OUT/voipqd.log"
	fi
	PROBES=()
	probe "$tag" 40000 40002
	# What the line delivered while the call ran: up to the far side,
	# down to the LAN.
	up0=$(rx_bytes "$NS_WAN" w0)
	down0=$(rx_bytes "$NS_LAN" l0)
	t0=$(now_ms)
	if [ "$tag" = on ]; then
		sleep $((SECS / 2))
		echo
		echo "\$ voipqctl flows      # on the router, during the call"
		ctl flows | sed 's/^/  /'
		echo
		sleep $((SECS - 3 - SECS / 2))
	else
		sleep $((SECS - 3))
	fi
	dt=$(($(now_ms) - t0))
	# Where the queues were, for the curious: the modem's and the router's.
	{ in_ns "$NS_ISP" tc -s qdisc show; in_ns "$NS_RTR" tc -s qdisc show; } \
		> "$OUT/$tag.qdiscs"
	echo "up_bytes=$(($(rx_bytes "$NS_WAN" w0) - up0))" \
		"down_bytes=$(($(rx_bytes "$NS_LAN" l0) - down0)) ms=$dt" > "$OUT/$tag.bulk"
	for pid in "${PROBES[@]}"; do reap "$pid" || true; done
	# The phone hangs up while the line is still flooded: its BYE and the
	# answer cross the same queues as the media did, for two seconds; a
	# BYE or 200 they lost is retransmitted after they stop (uas_media.xml
	# lingers for it).
	hangup "$tag" 5060
	poll 40 eval '! kill -0 "$uac" 2>/dev/null' || true
	lab_flood_stop
	sipp_wait "$tag" "$uac"
	sipp_wait "$tag" "$uas"
	[ "$tag" = on ] && voipqd_stop TERM
	if [ "$(kv "$OUT/$tag.up" received)" -eq 0 ] || [ "$(kv "$OUT/$tag.down" received)" -eq 0 ]; then
		lab_fail "the call's media did not get through ($tag): see $OUT/$tag.up and $OUT/$tag.down"
	fi
	return 0
}

say "run 1 of 2: voipq off, the router only forwards"
run off
say "run 2 of 2: voipq on, voipqd on the router (told $LAB_UPLINK up, $LAB_DOWNLINK down)"
run on

# --- the table: rtpprobe's figures, side by side ---------------------------
# bulk TAG up|down: what the line delivered in Mbit/s, less the call's own
# packets (214 bytes on the wire, as many as rtpprobe received).
bulk() {
	awk -v b="$(kv "$OUT/$1.bulk" "$2_bytes")" -v ms="$(kv "$OUT/$1.bulk" ms)" \
		-v got="$(kv "$OUT/$1.$2" received)" -v sent="$PKTS" \
		'BEGIN { printf "%.1f", (b - 50 * 214 * got / sent * ms / 1000) * 8 / ms / 1000 }'
}
row() { printf '  %-22s %-7s %10s %10s\n' "$1" "$2" "$3" "$4"; }
metric() { row "$1" "$2" "$(kv "$OUT/off.$4" "$3")" "$(kv "$OUT/on.$4" "$3")"; }
table() {
	echo "One G.711 call (50 packets/s each way, $SECS s) under iperf3 TCP + UDP floods both ways;"
	echo "line $LAB_UPLINK up / $LAB_DOWNLINK down with ${BUFFER_MS} ms of buffer in the modem."
	echo
	row "" "" "voipq off" "voipq on"
	local dir
	for dir in up down; do
		[ $dir = up ] && echo "upstream (phone -> far end)" ||
			echo "downstream (far end -> phone)"
		metric "RTP loss" "%" loss_pct $dir
		metric "one-way delay p50" ms owd_p50_ms $dir
		metric "one-way delay p99" ms owd_p99_ms $dir
		metric "jitter" ms jitter_ms $dir
		metric "MOS" "" mos $dir
	done
	echo "the call's signalling under the flood (sipp's message times)"
	row "set-up: INVITE to 200" ms "$(answer_ms "$OUT/off.uac.msg" INVITE)" \
		"$(answer_ms "$OUT/on.uac.msg" INVITE)"
	row "hang-up: BYE to 200" ms "$(answer_ms "$OUT/off.uac.msg" BYE)" \
		"$(answer_ms "$OUT/on.uac.msg" BYE)"
	echo "bulk goodput (line bytes delivered, less the call)"
	row "upstream" Mbit/s "$(bulk off up)" "$(bulk on up)"
	row "downstream" Mbit/s "$(bulk off down)" "$(bulk on down)"
}
echo
table | tee "$OUT/table.txt"

# --- the plot: CDFs of one-way delay, lost packets never arrive ------------
gnuplot <<EOF || lab_fail "gnuplot could not write $OUT/delay.png"
set terminal pngcairo size 1100,450 font ",10"
set output "$OUT/delay.png"
set multiplot layout 1,2 title "One-way delay of the call's RTP under the flood ($LAB_UPLINK up / $LAB_DOWNLINK down)"
set logscale x
set xlabel "one-way delay (ms, log scale)"
set ylabel "fraction of the packets sent that arrived within it"
set yrange [0:1.02]
set key left top
set grid
n = $PKTS.0
set title "upstream (phone -> far end)"
plot "$OUT/off.up.owd" using 1:(1/n) smooth cumulative lw 2 title "voipq off", \
     "$OUT/on.up.owd" using 1:(1/n) smooth cumulative lw 2 title "voipq on"
set title "downstream (far end -> phone)"
plot "$OUT/off.down.owd" using 1:(1/n) smooth cumulative lw 2 title "voipq off", \
     "$OUT/on.down.owd" using 1:(1/n) smooth cumulative lw 2 title "voipq on"
unset multiplot
EOF
echo
say "plot of both delay distributions: $OUT/delay.png; the logs of both runs: $OUT/"
