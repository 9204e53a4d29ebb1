#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Record the reference captures in tests/data/captures/ from real calls:
# sipp's built-in uac_pcap scenario (G.711 RTP from g711a.pcap, then an
# RFC 2833 DTMF) against its built-in uas scenario with RTP echo, over
# UDP/IPv4, TCP/IPv4 and UDP/IPv6 on loopback, plus reordered/duplicated
# copies made by pcapmangle. Each capture gets a .expect file listing the
# media endpoints its SDPs announce, extracted here by a parser that shares
# nothing with the agent's, so it can serve as the oracle for the agent's.
#
# Needs root (tcpdump on lo), sipp, tcpdump, cc and libpcap headers. Only
# loopback addresses, distinct ports per recording, every step bounded.
# Usage: record.sh [NAME...] (default: all). KEEP=1 keeps the sipp and
# tcpdump logs.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${OUT:-$TOP/tests/data/captures}
BUILD=${BUILD:-$TOP/build}
SIPP_MEDIA=${SIPP_MEDIA:-/usr/share/sip-tester}
MANGLE=$BUILD/tools/pcapmangle
MANGLE_ARGS=(-r 1 -d 2 -s)
# uac_pcap pauses 8 s for the audio and 1 s for the DTMF: ~9 s per call.
CALL_TIMEOUT=30

die() { echo "record: $*" >&2; exit 1; }

# shellcheck source=tests/children.sh
source "$(dirname "${BASH_SOURCE[0]}")/../children.sh"
WORK=
# shellcheck disable=SC2317 # invoked by trap
cleanup() {
	stop_children
	if [ -n "$WORK" ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$WORK"
	elif [ -n "$WORK" ]; then
		echo "record: logs kept in $WORK" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "must run as root (tcpdump on lo)"
for t in sipp tcpdump cc ss timeout; do
	command -v "$t" >/dev/null || die "$t not found — run 'make deps'"
done
for f in g711a.pcap dtmf_2833_1.pcap; do
	[ -r "$SIPP_MEDIA/$f" ] || die "$SIPP_MEDIA/$f missing (package sip-tester)"
done

WORK=$(mktemp -d /tmp/voipq-record.XXXXXX)
chmod 755 "$WORK"	# tcpdump drops to its own user before writing
mkdir -p "$OUT" "$(dirname "$MANGLE")" "$WORK/media/pcap"
# uac_pcap plays pcap/<file> relative to its working directory.
ln -s "$SIPP_MEDIA/g711a.pcap" "$SIPP_MEDIA/dtmf_2833_1.pcap" \
	"$WORK/media/pcap/"

cc -O2 -Wall -Wextra -Werror -o "$MANGLE" "$TOP/tests/captures/pcapmangle.c" \
	-lpcap || die "cannot build pcapmangle (libpcap-dev installed?)"

# Poll instead of sleeping a guess; bounded to ~5 s.
wait_for() {
	local what=$1 i
	shift
	for ((i = 0; i < 50; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	die "timed out waiting for $what"
}

port_free() {
	[ -z "$(ss -Hlnut "( sport = :$1 )" 2>/dev/null)" ]
}

# shellcheck disable=SC2317 # invoked through wait_for
listening() {
	local proto=$1 port=$2
	[ -n "$(ss -Hln"$proto" "( sport = :$port )" 2>/dev/null)" ]
}

# SDP endpoints from the SIP in a capture: "addr port rtp|rtcp offer|answer".
# A request carrying SDP (INVITE, UPDATE) offers; a response, ACK or PRACK
# answers. That is all sipp's scenarios do; it is not a general
# offer/answer engine (no late offer in a 200).
sdp_endpoints() {
	local pcap=$1 filter=$2

	tcpdump -nn -A -r "$pcap" "$filter" 2>/dev/null | awk '
	function flush_media(a) {
		if (mport > 0 && role != "") {
			a = mc != "" ? mc : sc
			print a, mport, "rtp", role
			if (!mux)
				print (rca != "" ? rca : a), \
				      (rcp > 0 ? rcp : mport + 1), "rtcp", role
		}
		mport = 0; mc = ""; rcp = 0; rca = ""; mux = 0
	}
	function start(r) { flush_media(); role = r; sc = "" }
	function addr(s) { gsub(/[][]/, "", s); return s }
	/SIP\/2\.0 [1-6][0-9][0-9] /			{ start("answer"); next }
	/(INVITE|UPDATE) sips?:[^ ]* SIP\/2\.0/		{ start("offer"); next }
	/(ACK|PRACK) sips?:[^ ]* SIP\/2\.0/		{ start("answer"); next }
	/[A-Z]+ sips?:[^ ]* SIP\/2\.0/			{ start(""); next }
	/^c=IN IP[46] /	{ if (mport) mc = addr($3); else sc = addr($3); next }
	/^m=/		{ flush_media(); split($2, pp, "/"); mport = pp[1] + 0; next }
	/^a=rtcp-mux/	{ mux = 1; next }
	/^a=rtcp:/	{ sub(/^a=rtcp:/, ""); rcp = $1 + 0
			  if ($4 != "") rca = addr($4); next }
	END		{ flush_media() }
	' | LC_ALL=C sort -u
}

# Directions and packet counts of the UDP media actually seen.
media_summary() {
	local pcap=$1 filter=$2

	tcpdump -nn -r "$pcap" "udp and ($filter)" 2>/dev/null |
		awk '{ print $3, $4, $5 }' | sed 's/:$//' | LC_ALL=C sort |
		uniq -c | awk '{ printf "#   %s %s %s: %d packets\n", $2, $3, $4, $1 }'
}

# record NAME TRANSPORT ADDR UAC_SIP UAS_SIP UAC_MEDIA UAS_MEDIA
record() {
	local name=$1 transport=$2 addr=$3 uac_port=$4 uas_port=$5
	local uac_mp=$6 uas_mp=$7 remote tflag=() sipfilter mfilter filter
	local pcap=$WORK/$name.pcap td uas uac_cmd uas_cmd rc=0 proto

	case $addr in
	*:*) remote="[$addr]:$uas_port" ;;
	*)   remote="$addr:$uas_port" ;;
	esac
	proto=u
	if [ "$transport" = tcp ]; then
		tflag=(-t t1)
		proto=t
	fi
	for p in "$uac_port" "$uas_port" $(seq "$uac_mp" $((uac_mp + 3))) \
		 $(seq "$uas_mp" $((uas_mp + 3))); do
		port_free "$p" || die "$name: port $p is in use"
	done

	sipfilter="port $uac_port or port $uas_port"
	# RTP, RTCP and sipp's video pair for each side.
	mfilter="portrange $uac_mp-$((uac_mp + 3)) or portrange $uas_mp-$((uas_mp + 3))"
	filter="$sipfilter or $mfilter"

	# Without immediate mode the last second of packets sits in the ring
	# block when SIGINT comes, and the TCP call's BYE is lost.
	tcpdump -i lo -n -U --immediate-mode -s 0 -w "$pcap" "$filter" \
		2>"$WORK/$name.tcpdump.log" &
	td=$!
	CHILDREN+=("$td")
	wait_for "tcpdump on lo" grep -qs "listening on" "$WORK/$name.tcpdump.log"

	uas_cmd=(sipp -sn uas "${tflag[@]}" -i "$addr" -p "$uas_port"
		 -mp "$uas_mp" -rtp_echo -m 1 -nostdin -trace_err
		 -timeout "${CALL_TIMEOUT}s" -timeout_error)
	uac_cmd=(sipp -sn uac_pcap "${tflag[@]}" -i "$addr" -p "$uac_port"
		 -mp "$uac_mp" -m 1 -nostdin -timeout "${CALL_TIMEOUT}s"
		 -timeout_error "$remote")

	(cd "$WORK" && exec timeout $((CALL_TIMEOUT + 5)) "${uas_cmd[@]}") \
		>"$WORK/$name.uas.log" 2>&1 &
	uas=$!
	CHILDREN+=("$uas")
	wait_for "sipp UAS on $addr port $uas_port" listening "$proto" "$uas_port"

	(cd "$WORK/media" && exec timeout $((CALL_TIMEOUT + 5)) "${uac_cmd[@]}") \
		>"$WORK/$name.uac.log" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || { tail -20 "$WORK/$name.uac.log" >&2;
			     die "$name: sipp UAC failed ($rc)"; }
	rc=0
	wait "$uas" || rc=$?
	forget "$uas"
	# Over TCP the UAC closes the connection as soon as its BYE is
	# answered, and sipp's UAS then fails the call during its 4 s
	# timewait. The call itself is judged by the UAC and by the UAS
	# having seen the BYE.
	if [ "$rc" -eq 1 ] && [ "$transport" = tcp ] &&
	   grep -Eq -- '-> BYE +1 ' "$WORK/$name.uas.log"; then
		rc=0
	fi
	[ "$rc" -eq 0 ] || { tail -20 "$WORK/$name.uas.log" >&2;
			     die "$name: sipp UAS failed ($rc)"; }

	# Let the last echoed packets land, then stop the capture cleanly.
	sleep 0.3
	kill -INT "$td"
	wait "$td" || true
	forget "$td"

	cp "$pcap" "$OUT/$name.pcap"
	sdp_endpoints "$pcap" "$sipfilter" >"$WORK/$name.endpoints"
	[ -s "$WORK/$name.endpoints" ] || die "$name: no SDP endpoints found"
	{
		echo "# $name.pcap: one real call, $(sipp -v 2>/dev/null |
			grep -o 'SIPp v[^ -]*' | head -1), $transport over $addr (lo)"
		echo "# UAS: ${uas_cmd[*]}"
		echo "# UAC (cwd with pcap/g711a.pcap, pcap/dtmf_2833_1.pcap):"
		echo "#      ${uac_cmd[*]}"
		echo "# ports: SIP $uac_port (UAC) <-> $uas_port (UAS);" \
		     "captured media ports $uac_mp-$((uac_mp + 3)) (UAC)," \
		     "$uas_mp-$((uas_mp + 3)) (UAS)"
		echo "# offer = UAC's INVITE, answer = UAS's 200 OK; RTCP is" \
		     "RTP port + 1 unless a=rtcp / a=rtcp-mux says otherwise"
		echo "# UDP media seen:"
		media_summary "$pcap" "$mfilter"
		if tcpdump -nn -A -r "$pcap" "$sipfilter" 2>/dev/null |
		   grep -q '^c=IN IP6 \['; then
			echo "# note: sipp writes the offer's connection address" \
			     "in brackets (c=IN IP6 [::1]), which RFC 4566 does" \
			     "not allow; expected here without them"
		fi
		echo "# addr port rtp|rtcp offer|answer"
		cat "$WORK/$name.endpoints"
	} >"$OUT/$name.expect"
	echo "record: $name.pcap $(stat -c %s "$OUT/$name.pcap") bytes," \
	     "$(wc -l <"$WORK/$name.endpoints") endpoints"
}

# mangle NAME: NAME_mangled from NAME, same endpoints by construction.
mangle() {
	local name=$1 summary

	summary=$("$MANGLE" "${MANGLE_ARGS[@]}" "$OUT/$name.pcap" \
		  "$OUT/${name}_mangled.pcap" 2>&1) || die "$summary"
	{
		echo "# ${name}_mangled.pcap: $name.pcap through" \
		     "pcapmangle ${MANGLE_ARGS[*]} (same-flow reordering," \
		     "TCP segments split and sent tail first, per-flow" \
		     "duplication): ${summary##*.pcap: }"
		grep '^# \(UAS\|UAC\|  \|ports\|offer\|UDP media\|note\)' "$OUT/$name.expect"
		grep -v '^#' "$OUT/$name.expect"
	} >"$OUT/${name}_mangled.expect"
	echo "record: ${summary#pcapmangle: }" | sed "s|$OUT/||"
}

# Everything by default, or only the captures named on the command line.
want() {
	[ ${#ONLY[@]} -eq 0 ] && return 0
	local n
	for n in "${ONLY[@]}"; do
		[ "$n" = "$1" ] && return 0
	done
	return 1
}
ONLY=("$@")

want sipp_udp4 && record sipp_udp4 udp 127.0.0.1 15060 15062 17000 16000
want sipp_tcp4 && record sipp_tcp4 tcp 127.0.0.1 15160 15162 17100 16100
want sipp_udp6 && record sipp_udp6 udp ::1       15260 15262 17200 16200
want sipp_udp4_mangled && mangle sipp_udp4
want sipp_tcp4_mangled && mangle sipp_tcp4
exit 0
