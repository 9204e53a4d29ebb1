#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# voipqd under a call load: 500 concurrent calls set up at 50 calls/s by a
# real sipp caller on the lab's LAN, through the router running voipqd
# (bpf backend, shaping on), to a sipp callee on the far side. Each call
# offers its own media port, so the daemon learns 500+ endpoints.
#
# Reports voipqd's peak RSS, its CPU while calls are being set up, and the
# learning latency it measured itself: from the kernel's receive timestamp
# of the SIP packet that announced an endpoint to the datapath holding it.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${BUILD:-$HERE/../../build}
# shellcheck source=../lab/lib.sh
source "$HERE/../lab/lib.sh"

CALLS=${CALLS:-500}
CPS=${CPS:-50}
HOLD_MS=$(( (CALLS / CPS + 3) * 1000 ))
OUT=$(mktemp -d /tmp/voipq-benchd-XXXXXX)
PIN=/sys/fs/bpf/voipq-benchd-$LAB_ID
SOCK=$OUT/voipq.sock
ctl() { "$BUILD/voipqctl" "$1" --socket "$SOCK" "${@:2}"; }

lab_require
command -v sipp >/dev/null || lab_skip "sipp not installed (make deps)"
lab_topology
benchd_down() {
	[ -n "${VQD:-}" ] && kill "$VQD" 2>/dev/null && wait "$VQD" 2>/dev/null
	rm -rf "$PIN" "$OUT"
}
LAB_CLEANUP+=(benchd_down)

# nsenter directly, not in_ns: $! must be voipqd's own PID.
nsenter --net="/run/netns/$NS_RTR" "$BUILD/voipqd" --wan r1 --lan r0 --uplink 100mbit \
	--downlink 100mbit --set pin_dir="$PIN" --set socket="$SOCK" \
	--set state_file="$OUT/state" --set log_level=warn 2> "$OUT/voipqd.log" &
VQD=$!
for _ in $(seq 100); do
	ctl status >/dev/null 2>&1 && break
	sleep 0.05
done
ctl status >/dev/null || { cat "$OUT/voipqd.log"; lab_fail "voipqd did not start"; }

lab_bg "$NS_WAN" sipp -sn uas -i "$WAN_IP" -p 5060 -nostdin -timeout 90s >/dev/null 2>&1
sleep 0.5

cpu() { awk '{ print $14 + $15 }' "/proc/$VQD/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$VQD/status"; }

c0=$(cpu)
t0=$(date +%s.%N)
in_ns "$NS_LAN" sipp -sf "$HERE/sipp/uac_hold.xml" -i "$LAN_IP" -p 5061 \
	-r "$CPS" -m "$CALLS" -l "$CALLS" -d "$HOLD_MS" -nostdin -timeout 60s \
	-mp 20000 "$WAN_IP:5060" \
	> "$OUT/uac.log" 2>&1 &
UAC=$!
CHILDREN+=("$UAC")
peak=0 setup_cpu="" active_peak=0
for _ in $(seq 240); do
	r=$(rss_kb)
	[ "$r" -gt "$peak" ] && peak=$r
	a=$(ctl status --json | sed -n 's/.*"calls_active": *\([0-9]*\).*/\1/p' | head -1)
	[ -n "$a" ] && [ "$a" -gt "$active_peak" ] && active_peak=$a
	if [ -z "$setup_cpu" ] && [ "${a:-0}" -ge "$CALLS" ]; then
		setup_cpu=$(awk -v c0="$c0" -v c1="$(cpu)" -v t0="$t0" -v t1="$(date +%s.%N)" \
			-v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", 100 * (c1 - c0) / hz / (t1 - t0) }')
	fi
	kill -0 $UAC 2>/dev/null || break
	sleep 0.25
done
wait $UAC || true
ctl status --json > "$OUT/status.json"

[ "$active_peak" -ge "$CALLS" ] ||
	{ tail -20 "$OUT/uac.log"; lab_fail "only $active_peak of $CALLS calls were up at once"; }
lat() { # learn_latency_us.<key>
	tr -d ' \n' < "$OUT/status.json" |
		sed -n "s/.*\"learn_latency_us\":{[^}]*\"$1\":\([0-9.]*\).*/\1/p"
}
p50=$(lat p50)
p99=$(lat p99)
echo "# $CALLS calls at $CPS calls/s, $active_peak up at once"
echo "BENCH voipqd_rss_kb_${CALLS}_calls $peak KiB target <= 8192"
echo "BENCH voipqd_cpu_pct_at_${CPS}_cps ${setup_cpu:-0} % target <= 20"
echo "BENCH learn_latency_p50_us ${p50:-0} us target <= 1000"
echo "BENCH learn_latency_p99_us ${p99:-0} us target <= 1000"
