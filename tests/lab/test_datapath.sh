#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The datapath on the host kernel: a router namespace forwards between a
# LAN and a WAN namespace, shaped by the agent's shaper to 10 Mbit/s each
# way (HTB; downstream on an IFB fed from the WAN ingress), with the tc
# classifier attached on the WAN egress and the IFB egress. iperf3 floods
# both directions with UDP and TCP while rtpprobe runs a 50 packet/s
# voice-like stream each way. Twice: without an endpoint entry, then with
# one inserted through the agent's own datapath API (vqlab).
#
# Asserted: the contrast. With the entry the stream loses nothing and
# waits little; without it the same stream suffers. Absolute numbers are
# printed, not asserted beyond what holds on a noisy 2-core machine.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${BUILD:-$HERE/../../build}
# shellcheck source=lib.sh
source "$HERE/lib.sh"

VQLAB=$BUILD/tests/vqlab
PROBE=$BUILD/tests/rtpprobe
RATE=${RATE:-10mbit}
SECS=${SECS:-8}
PKTS=$((SECS * 50 - 50))
OUT=$(mktemp -d /tmp/voipq-lab-XXXXXX)
PIN=/sys/fs/bpf/voipq-lab-$LAB_ID
STATE=$OUT/shaper.state

lab_require
[ -x "$VQLAB" ] && [ -x "$PROBE" ] || lab_fail "build the lab tools first (make -C tests lab-tools)"
lab_topology

lab_down() {
	in_ns "$NS_RTR" "$VQLAB" --pin-dir "$PIN" --state "$STATE" down >/dev/null 2>&1 || true
	rm -rf "$PIN" "$OUT"
}
LAB_CLEANUP+=(lab_down)

in_ns "$NS_RTR" "$VQLAB" --pin-dir "$PIN" --state "$STATE" up \
	--wan r1 --uplink "$RATE" --downlink "$RATE" > "$OUT/up.log" 2>&1 ||
	{ cat "$OUT/up.log"; lab_fail "vqlab up"; }
lab_log "$(head -3 "$OUT/up.log" | tr '\n' ' ')"

# The floods (lib.sh): TCP both ways, then UDP at 3x the uplink and just
# over the shaped downlink (8.5 of the 10 Mbit/s), which keeps the
# downstream queue full while the upload's iperf3 setup reply, crossing
# it, is seldom lost (see lab_flood). They
# outlast the probes even after a few lost UDP setups, and are stopped
# when the probes end.
FLOOD_T=$((SECS + 40))

# One measurement: voice both ways between LAN:40000 and WAN:40002, on one
# socket each side (symmetric RTP), while the floods run.
measure() {
	local tag=$1
	lab_flood 30M 9M
	sleep 1.5 # let the floods fill the queues
	in_ns "$NS_WAN" "$PROBE" 40002 --peer "$LAN_IP:40000" --count "$PKTS" \
		--delay 300 --timeout $((SECS + 2)) > "$OUT/up-$tag" &
	local up=$!
	in_ns "$NS_LAN" "$PROBE" 40000 --peer "$WAN_IP:40002" --count "$PKTS" \
		--delay 300 --timeout $((SECS + 2)) > "$OUT/down-$tag" &
	local down=$!
	# The floods must fill the link both ways while the voice runs: the
	# whole trees, over a window inside the probes' time.
	lab_link_use 1:1 $((SECS / 2))
	wait $up $down
	lab_log "$tag link use: up $LAB_UP_KBIT kbit/s, down $LAB_DOWN_KBIT kbit/s (shaped 9500/8500)"
	[ "$LAB_UP_KBIT" -ge 7000 ] && [ "$LAB_DOWN_KBIT" -ge 6500 ] ||
		lab_fail "the floods did not load the 10 Mbit/s link ($tag)"
	lab_flood_stop
	# up-*: what reached the WAN side (upstream); down-*: the LAN side.
	lab_log "$tag up:   $(tail -1 "$OUT/up-$tag")"
	lab_log "$tag down: $(tail -1 "$OUT/down-$tag")"
}

measure plain
# The far end's media endpoint: matched as destination upstream and as
# source downstream (DESIGN.md decision 1).
in_ns "$NS_RTR" "$VQLAB" --pin-dir "$PIN" add "$WAN_IP" 40002 ||
	lab_fail "vqlab add"
measure voipq
in_ns "$NS_RTR" "$VQLAB" --pin-dir "$PIN" stats > "$OUT/stats"
lab_log "classifier: $(tr '\n' ' ' < "$OUT/stats")"

fail=0
for dir in up down; do
	loss_v=$(kv "$OUT/$dir-voipq" loss_pct)
	p99_v=$(kv "$OUT/$dir-voipq" owd_p99_ms)
	loss_p=$(kv "$OUT/$dir-plain" loss_pct)
	p99_p=$(kv "$OUT/$dir-plain" owd_p99_ms)
	# With the entry: (almost) nothing lost, and a delay far below the
	# flooded queue's. Without: the same stream loses or waits.
	awk -v lv="$loss_v" -v pv="$p99_v" -v lp="$loss_p" -v pp="$p99_p" -v d="$dir" '
	BEGIN {
		ok = 1
		if (lv > 0.5) { printf "FAIL: %s: %.3f%% lost with voipq\n", d, lv; ok = 0 }
		if (pv > 20) { printf "FAIL: %s: p99 %.1f ms with voipq\n", d, pv; ok = 0 }
		if (!(lp > lv + 2 || pp > 3 * pv + 5)) {
			printf "FAIL: %s: no contrast (plain %.2f%% %.1f ms, voipq %.2f%% %.1f ms)\n", d, lp, pp, lv, pv
			ok = 0
		}
		exit !ok
	}' || fail=1
done
# Pure TCP ACKs leave in their own class, ahead of bulk: the download's
# upstream, the upload's downstream (each flood ran ~10 s, twice; a 8.5
# Mbit/s TCP flow is acknowledged with ~20 kB/s of ACKs).
acks=$(sed -n 's/.* acks=\([0-9]*\).*/\1/p' "$OUT/stats")
for dev in r1 ifb-r1; do
	b=$(class_bytes "$NS_RTR" "$dev" 1:30)
	lab_log "ACK class 1:30 on $dev: $b bytes (classifier: ${acks:-?} pure ACKs)"
	[ "${b:-0}" -ge 100000 ] && [ "${acks:-0}" -gt 0 ] || {
		echo "FAIL: $dev: the ACK class 1:30 carried ${b:-no} bytes (>= 100000), classifier acks=${acks:-?}"
		fail=1
	}
done
[ $fail -eq 0 ] || exit 1
echo "lab datapath: ok (voice clean with the entry, hurt without it, both directions; ACKs in their class)"
