#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make demo: place a real SIP call with sipp on loopback, capture it, and
# show what voipq learns from it — the call, its media endpoints from the
# SDP offer/answer, and the quality of its RTP.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
OUT=$BUILD/demo

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root to capture on the loopback interface (try: sudo make demo)" >&2
	exit 1
fi

rm -rf "$OUT"
mkdir -p "$OUT"
echo "demo: placing a real call with sipp (uac_pcap -> uas, G.711 RTP) and capturing it..."
if ! OUT=$OUT BUILD=$BUILD "$TOP/tests/captures/record.sh" sipp_udp4 > "$OUT/record.log" 2>&1; then
	cat "$OUT/record.log" >&2
	echo "demo: the sipp call failed; the log is above" >&2
	exit 1
fi

ports=$(sed -n 's/^# ports: SIP \([0-9]*\) (UAC) <-> \([0-9]*\).*/\1,\2/p' "$OUT/sipp_udp4.expect")
echo "demo: captured $OUT/sipp_udp4.pcap; what voipq learns from it:"
echo
echo "\$ voipqctl analyze --sip-ports $ports $OUT/sipp_udp4.pcap"
"$BUILD/voipqctl" analyze --sip-ports "$ports" "$OUT/sipp_udp4.pcap"
echo
echo "demo: the same as JSON: voipqctl analyze --json --sip-ports $ports $OUT/sipp_udp4.pcap"
