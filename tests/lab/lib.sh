# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Shared by the lab tests (after the kernel selftests' net/lib.sh): random
# namespace names, a LAN - router - WAN topology of veth pairs, cleanup on
# any exit, and exit code 4 for "skipped" with the reason printed.
#
# lan -- rtr -- isp -- wan: the router's WAN link goes to a provider hop
# that forwards to the far side, as on a real line. (The hop matters: a
# lab sender on the same host keeps its socket's hold on each packet until
# something forwards it, so without the hop a flood is throttled by its own
# socket buffer at the router's ingress shaper instead of filling it.)
#
# Addresses are documentation ranges, used only inside namespaces made
# here: LAN 192.0.2.0/24 + 2001:db8:1::/64, router-provider link
# 198.51.100.0/24 + 2001:db8:2::/64, far side 203.0.113.0/24 +
# 2001:db8:3::/64. Every load loop is bounded in count and time.

KSFT_SKIP=4
LAB_ID=$(printf '%04x%04x' $RANDOM $RANDOM)
NS_LAN=vq-lan-$LAB_ID
NS_RTR=vq-rtr-$LAB_ID
NS_WAN=vq-wan-$LAB_ID
NS_ISP=vq-isp-$LAB_ID
LAN_IP=192.0.2.2
LAN_GW=192.0.2.1
RTR_WAN_IP=198.51.100.1
ISP_IP=198.51.100.2
WAN_IP=203.0.113.2
WAN_GW=203.0.113.1
LAN_IP6=2001:db8:1::2
WAN_IP6=2001:db8:3::2
LAB_CLEANUP=()
# shellcheck source=tests/children.sh
source "$(dirname "${BASH_SOURCE[0]}")/../children.sh"

lab_log() { printf '  lab: %s\n' "$*" >&2; }
lab_skip() { echo "SKIP: $*" >&2; exit $KSFT_SKIP; }
lab_fail() { echo "FAIL: $*" >&2; exit 1; }

# Run in a namespace without remounting /sys, so bpffs pins stay visible
# (`ip netns exec` remounts /sys).
in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }

# Start a background command in a namespace; remember its PID.
lab_bg() {
	local ns=$1; shift
	nsenter --net="/run/netns/$ns" "$@" &
	CHILDREN+=($!)
}

lab_cleanup() {
	local fn
	for fn in "${LAB_CLEANUP[@]}"; do "$fn" || true; done
	stop_children
	for ns in "$NS_LAN" "$NS_RTR" "$NS_ISP" "$NS_WAN"; do
		ip netns del "$ns" 2>/dev/null || true
	done
}

lab_require() {
	[ "$(id -u)" -eq 0 ] || lab_skip "needs root for network namespaces"
	local t
	for t in ip nsenter iperf3 tc; do
		command -v "$t" >/dev/null || lab_skip "$t not installed (make deps)"
	done
	ip netns add "vq-probe-$LAB_ID" 2>/dev/null || lab_skip "cannot create network namespaces"
	ip netns del "vq-probe-$LAB_ID"
}

# lan (l0) <-> (r0) router (r1) <-> (i0) isp (i1) <-> (w0) wan
lab_topology() {
	trap lab_cleanup EXIT
	trap 'exit 130' INT TERM
	local ns dev
	for ns in "$NS_LAN" "$NS_RTR" "$NS_ISP" "$NS_WAN"; do
		ip netns add "$ns"
		in_ns "$ns" ip link set lo up
	done
	ip link add l0 netns "$NS_LAN" type veth peer name r0 netns "$NS_RTR"
	ip link add r1 netns "$NS_RTR" type veth peer name i0 netns "$NS_ISP"
	ip link add i1 netns "$NS_ISP" type veth peer name w0 netns "$NS_WAN"

	in_ns "$NS_LAN" ip addr add "$LAN_IP/24" dev l0
	in_ns "$NS_LAN" ip addr add "$LAN_IP6/64" dev l0 nodad
	in_ns "$NS_RTR" ip addr add "$LAN_GW/24" dev r0
	in_ns "$NS_RTR" ip addr add 2001:db8:1::1/64 dev r0 nodad
	in_ns "$NS_RTR" ip addr add "$RTR_WAN_IP/24" dev r1
	in_ns "$NS_RTR" ip addr add 2001:db8:2::1/64 dev r1 nodad
	in_ns "$NS_ISP" ip addr add "$ISP_IP/24" dev i0
	in_ns "$NS_ISP" ip addr add 2001:db8:2::2/64 dev i0 nodad
	in_ns "$NS_ISP" ip addr add "$WAN_GW/24" dev i1
	in_ns "$NS_ISP" ip addr add 2001:db8:3::1/64 dev i1 nodad
	in_ns "$NS_WAN" ip addr add "$WAN_IP/24" dev w0
	in_ns "$NS_WAN" ip addr add "$WAN_IP6/64" dev w0 nodad
	for dev in "$NS_LAN:l0" "$NS_RTR:r0" "$NS_RTR:r1" "$NS_ISP:i0" \
		   "$NS_ISP:i1" "$NS_WAN:w0"; do
		in_ns "${dev%%:*}" ip link set "${dev#*:}" up
		# A 64 KB GSO super-packet would hold the shaped queue for 50 ms
		# at 10 Mbit/s: segment before the qdisc, as a real link would.
		in_ns "${dev%%:*}" ethtool -K "${dev#*:}" tso off gso off gro off \
			>/dev/null 2>&1 || lab_skip "ethtool cannot turn offloads off"
	done
	in_ns "$NS_LAN" ip route add default via "$LAN_GW"
	in_ns "$NS_LAN" ip -6 route add default via 2001:db8:1::1
	in_ns "$NS_RTR" ip route add default via "$ISP_IP"
	in_ns "$NS_RTR" ip -6 route add default via 2001:db8:2::2
	in_ns "$NS_ISP" ip route add 192.0.2.0/24 via "$RTR_WAN_IP"
	in_ns "$NS_ISP" ip -6 route add 2001:db8:1::/64 via 2001:db8:2::1
	in_ns "$NS_WAN" ip route add default via "$WAN_GW"
	in_ns "$NS_WAN" ip -6 route add default via 2001:db8:3::1
	for ns in "$NS_RTR" "$NS_ISP"; do
		in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1
		in_ns "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1
	done
	in_ns "$NS_LAN" ping -c1 -W2 "$WAN_IP" >/dev/null || lab_fail "no route LAN -> WAN"
}

# poll TRIES CMD...: run CMD every 50 ms until it succeeds, at most TRIES.
poll() {
	local tries=$1 i
	shift
	for ((i = 0; i < tries; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# listening NS PORT [t|u]: something listens on PORT (UDP by default).
listening() { [ -n "$(in_ns "$1" ss -Hln"${3:-u}" "( sport = :$2 )" 2>/dev/null)" ]; }

# Wait until a TCP port listens in a namespace (iperf3's control port),
# bounded: a flood that never started would make a test meaningless.
lab_wait_listen() { poll "${3:-100}" listening "$1" "$2" t; }

# Bytes a class has sent so far: class_bytes NS DEV CLASSID
class_bytes() {
	in_ns "$1" tc -s class show dev "$2" | awk -v c="$3" '
		$1 == "class" && $3 == c { f = 1; next }
		f && $1 == "Sent" { print $2; exit }'
}

# lab_link_use CLASS SECS: what the router's shaped trees sent in CLASS
# over the next SECS seconds, upstream (r1) and downstream (ifb-r1), in
# bits per ms = kbit/s: into LAB_UP_KBIT and LAB_DOWN_KBIT. A flood that
# did not fill the link would make a contrast under it meaningless.
lab_link_use() {
	local up0 down0 t0 dt
	up0=$(class_bytes "$NS_RTR" r1 "$1")
	down0=$(class_bytes "$NS_RTR" ifb-r1 "$1")
	t0=$(now_ms)
	sleep "$2"
	dt=$(($(now_ms) - t0))
	LAB_UP_KBIT=$((($(class_bytes "$NS_RTR" r1 "$1") - up0) * 8 / dt))
	LAB_DOWN_KBIT=$((($(class_bytes "$NS_RTR" ifb-r1 "$1") - down0) * 8 / dt))
}

# Read key=value from an rtpprobe result line.
kv() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$1"; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# lab_bg_in NS DIR CMD...: start CMD in namespace NS with working
# directory DIR; remember its PID.
lab_bg_in() {
	local ns=$1 dir=$2
	shift 2
	(cd "$dir" && exec nsenter --net="/run/netns/$ns" "$@") &
	CHILDREN+=($!)
}

# --- the router masquerades, the provider knows only its address ----------
lab_nat() {
	command -v nft >/dev/null || lab_skip "nft not installed (make deps)"
	in_ns "$NS_RTR" nft -f - <<'NFT' || lab_skip "nftables NAT not available in this kernel"
table ip voipq_lab_nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "r1" masquerade
	}
	# As a home router's firewall does: what conntrack cannot place is
	# neither forwarded un-NATed nor answered by the router itself.
	chain input {
		type filter hook input priority filter; policy accept;
		ct state invalid counter drop
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		ct state invalid counter drop
	}
}
NFT
	in_ns "$NS_ISP" ip route del 192.0.2.0/24
	in_ns "$NS_LAN" ping -c1 -W2 "$WAN_IP" >/dev/null ||
		lab_fail "no route LAN -> WAN through the NAT"
}

# lab_modem UP DOWN BUFFER_MS: the provider hop becomes the line, as a
# modem is: UP towards the far side, DOWN towards the router, each a token
# bucket in front of a byte FIFO that holds BUFFER_MS at its rate. Nothing
# manages that queue: a line that someone fills keeps it full.
lab_modem() {
	local up=$1 down=$2 ms=$3
	in_ns "$NS_ISP" tc qdisc replace dev i1 root tbf rate "$up" burst 3028 \
		limit $(($(lab_rate_bps "$up") * ms / 8000))
	in_ns "$NS_ISP" tc qdisc replace dev i0 root tbf rate "$down" burst 6056 \
		limit $(($(lab_rate_bps "$down") * ms / 8000))
}
# 10mbit -> 10000000 (tc's decimal units).
lab_rate_bps() {
	local n=${1%%[a-z]*}
	case ${1#"$n"} in
	kbit) echo $((n * 1000)) ;;
	mbit) echo $((n * 1000000)) ;;
	gbit) echo $((n * 1000000000)) ;;
	*) lab_fail "rate $1: give it as NNkbit, NNmbit or NNgbit" ;;
	esac
}

# --- voipqd on the router ---------------------------------------------------
# lab_require_voipqd: what a lab with voipqd and sipp calls needs, besides
# lab_require's.
lab_require_voipqd() {
	local t f
	lab_require
	for t in sipp nft jq timeout ss; do
		command -v "$t" >/dev/null || lab_skip "$t not installed (make deps)"
	done
	for f in "$VOIPQD" "$VOIPQCTL" "$PROBE" "$VQLAB"; do
		[ -x "$f" ] || lab_fail "$f missing: run make && make -C tests lab-tools"
	done
}

# The caller sets VOIPQD, VOIPQCTL, VQLAB, OUT (logs), PIN, SOCK, STATE;
# LAB_UPLINK and LAB_DOWNLINK are the rates voipqd is told.
LAB_UPLINK=10mbit
LAB_DOWNLINK=50mbit
VQD_PID=

ctl() { local cmd=$1; shift; "$VOIPQCTL" "$cmd" --socket "$SOCK" "$@"; }
flows() { ctl flows --json 2>/dev/null || echo '{"flows":[]}'; }
# flow ADDR PORT: the flow's JSON object, or nothing.
flow() {
	flows | jq -c --arg a "$1" --argjson p "$2" \
		'.flows[] | select(.addr == $a and .port == $p)'
}
flow_packets() { flow "$1" "$2" | jq -r '.packets // 0' | head -1; }
# Media flows: a call's SIP signalling endpoints (kind sip) serve every
# call and outlive each one.
n_flows() { flows | jq '[.flows[] | select(.kind != "sip")] | length'; }
has_flow() { [ -n "$(flow "$1" "$2")" ]; }
no_flows() { [ "$(n_flows)" -eq 0 ]; }
grows() { [ "$(flow_packets "$1" "$2")" -gt "$3" ] 2>/dev/null; }

# voipqd_start [ARGS...]: start the daemon in the router, wait until it
# answers.
# voipqd_argv [ARGS...]: VQD_ARGV becomes the command line of voipqd in the
# router as the lab runs it, ARGS after its own.
voipqd_argv() {
	VQD_ARGV=(nsenter --net="/run/netns/$NS_RTR" "$VOIPQD" -c "$OUT/voipq.conf"
		--wan r1 --lan r0 --uplink "$LAB_UPLINK" --downlink "$LAB_DOWNLINK"
		--set pin_dir="$PIN" --set socket="$SOCK"
		--set state_file="$STATE" "$@")
}

voipqd_start() {
	local i
	: > "$OUT/voipq.conf"
	voipqd_argv "$@"
	"${VQD_ARGV[@]}" >> "$OUT/voipqd.log" 2>&1 &
	VQD_PID=$!
	CHILDREN+=("$VQD_PID")
	for ((i = 0; i < 100; i++)); do
		ctl status >/dev/null 2>&1 && return 0
		kill -0 "$VQD_PID" 2>/dev/null || break
		sleep 0.05
	done
	tail -20 "$OUT/voipqd.log" >&2
	lab_fail "voipqd did not come up (its log: $OUT/voipqd.log)"
}

# voipqd_stop [SIGNAL]: stop with SIGTERM (or another signal), bounded.
voipqd_stop() {
	local sig=${1:-TERM} i rc=0
	kill -"$sig" "$VQD_PID"
	# Quietly: bash reports a child killed by a signal when it reaps it.
	{
		for ((i = 0; i < 100; i++)); do
			kill -0 "$VQD_PID" || break
			sleep 0.05
		done
	} 2>/dev/null
	kill -0 "$VQD_PID" 2>/dev/null && lab_fail "voipqd ignores SIG$sig"
	reap "$VQD_PID" || rc=$?
	VQD_PID=
	[ "$sig" = KILL ] || [ $rc -eq 0 ] || lab_fail "voipqd exited with $rc on SIG$sig"
}

# For LAB_CLEANUP: whatever state voipqd is in, remove what it installed.
lab_voipqd_down() {
	local i
	if [ -n "$VQD_PID" ] && kill -0 "$VQD_PID" 2>/dev/null; then
		kill "$VQD_PID" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$VQD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$VQD_PID" 2>/dev/null || true
	fi
	# What a --keep-datapath or killed daemon left: the same datapath
	# code, from its state file and pins.
	[ -e "$STATE" ] || [ -e "$PIN" ] &&
		in_ns "$NS_RTR" "$VQLAB" --pin-dir "$PIN" --state "$STATE" down \
			>/dev/null 2>&1
	in_ns "$NS_RTR" nft delete table ip voipq_lab_nat 2>/dev/null
	rm -rf "$PIN"
	return 0
}

# --- SIP calls with sipp ----------------------------------------------------
LAB_SIPP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/sipp
SIPP_MEDIA=${SIPP_MEDIA:-/usr/share/sip-tester}

# The UAC's working directory, with the G.711 file uac_pcap plays.
lab_sipp_media() {
	[ -r "$SIPP_MEDIA/g711a.pcap" ] ||
		lab_skip "$SIPP_MEDIA/g711a.pcap missing (package sip-tester: make deps)"
	mkdir -p "$OUT/media/pcap"
	ln -sf "$SIPP_MEDIA/g711a.pcap" "$SIPP_MEDIA/dtmf_2833_1.pcap" "$OUT/media/pcap/"
}

# Call-ID of the call in a sipp message trace.
call_id_of() { sed -n 's/^Call-ID: *//p' "$1" | tr -d '\r' | head -1; }

# sipp_uas NAME SCENARIO PORT [ARGS...]; sipp_uac NAME SCENARIO PORT
# REMOTE_PORT [ARGS...]: one call, bounded; logs in $OUT/NAME.*. SCENARIO
# is a file in tests/lab/sipp/ or one of sipp's own (uas, uac_pcap). Over
# IPv4, or IPv6 when LAB_V6=1 is set for the call (routed: no NAT).
sipp_common=(-m 1 -nostdin -timeout 40s -timeout_error -trace_err -trace_msg)
sipp_scen() { case $1 in *.xml) echo -sf "$LAB_SIPP/$1" ;; *) echo -sn "$1" ;; esac; }
# v4_or_6 V4 V6: the one for this call's family.
v4_or_6() { if [ -n "${LAB_V6:-}" ]; then echo "$2"; else echo "$1"; fi; }
sipp_uas() {
	local name=$1 scen=$2 port=$3
	shift 3
	# shellcheck disable=SC2046 # -sf FILE / -sn NAME
	lab_bg_in "$NS_WAN" "$OUT" timeout 45 sipp $(sipp_scen "$scen") -i "$(v4_or_6 "$WAN_IP" "$WAN_IP6")" \
		-p "$port" "${sipp_common[@]}" -message_file "$OUT/$name.uas.msg" \
		"$@" > "$OUT/$name.uas.log" 2>&1
	UAS_PID=$!
	# UDP, or TCP with -t t1
	poll 100 eval 'listening "$NS_WAN" "$port" || listening "$NS_WAN" "$port" t' ||
		lab_fail "$name: sipp UAS not listening"
}
sipp_uac() {
	local name=$1 scen=$2 port=$3 rport=$4
	shift 4
	# shellcheck disable=SC2046
	lab_bg_in "$NS_LAN" "$OUT/media" timeout 45 sipp $(sipp_scen "$scen") -i "$(v4_or_6 "$LAN_IP" "$LAN_IP6")" \
		-p "$port" "${sipp_common[@]}" -message_file "$OUT/$name.uac.msg" \
		"$@" "$(v4_or_6 "$WAN_IP" "[$WAN_IP6]"):$rport" > "$OUT/$name.uac.log" 2>&1
	UAC_PID=$!
}
# sipp_wait NAME PID: the call must have succeeded.
sipp_wait() {
	local rc=0
	reap "$2" || rc=$?
	[ $rc -eq 0 ] && return 0
	tail -n 15 "$OUT/$1".*.log >&2
	lab_fail "$1: sipp failed ($rc); its logs and traces: $OUT/$1.*"
}

# hangup NAME PORT: tell the uac_media.xml call NAME, whose SIP port is
# PORT, to hang up: an INFO in its dialog, sent inside the LAN namespace
# (it never crosses the router). One datagram: cat writes what it read in
# one write(2), and <<< supplies the final \n of the blank line.
hangup() {
	local cid msg ip uri
	cid=$(call_id_of "$OUT/$1.uac.msg")
	ip=$(v4_or_6 "$LAN_IP" "$LAN_IP6")
	uri=$(v4_or_6 "$LAN_IP" "[$LAN_IP6]")
	msg=$(printf 'INFO sip:phone@%s:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5999;branch=z9hG4bK-lab-%s\r\nFrom: <sip:lab@%s>;tag=lab\r\nTo: <sip:phone@%s>\r\nCall-ID: %s\r\nCSeq: 1 INFO\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r' \
		"$uri" "$2" "$uri" "$1" "$uri" "$uri" "$cid")
	in_ns "$NS_LAN" bash -c 'cat > "/dev/udp/$1/$2"' _ "$ip" "$2" <<<"$msg"
}

# sipp_msg_ms TRACE METHOD sent|answer: from the time stamps of sipp's
# message trace, when it first sent METHOD (ms since the epoch), or the ms
# from then to the 200 it received for it; "never" when either is missing.
sipp_msg_ms() {
	awk -v m="$2" -v what="$3" '
	function ms(d, t, a, b, s) {
		split(d, a, "-"); split(t, b, ":")
		s = mktime(a[1] " " a[2] " " a[3] " " b[1] " " b[2] " " int(b[3]))
		return (s + b[3] - int(b[3])) * 1000
	}
	{ sub(/\r$/, "") }
	/^-+ [0-9]+-[0-9]+-[0-9]+ / { now = ms($2, $3); next }
	/^[A-Z]+ message sent/ { out = 1; next }
	/^[A-Z]+ message received/ { out = 0; next }
	out && $1 == m && t0 == "" {
		t0 = now
		if (what == "sent") { printf "%.0f\n", t0; done = 1; exit }
	}
	!out && t0 != "" && /^SIP\/2\.0 200 / { ok = 1; next }
	ok && $1 == "CSeq:" {
		if ($3 == m) { printf "%.2f\n", now - t0; done = 1; exit }
		ok = 0
	}
	END { if (!done) print "never" }' "$1"
}
answer_ms() { sipp_msg_ms "$1" "$2" answer; }

# --- floods both ways -------------------------------------------------------
# lab_flood [UDP_UP [UDP_DOWN]]: iperf3 from the LAN phone's side to the far
# side, for FLOOD_T seconds: TCP first, then UDP (30M up and 50M down by
# default). Each UDP flood alone exceeds its direction's shaped rate, so
# both queues stay full whatever TCP does (a TCP download whose ACKs meet
# the upstream flood barely runs). TCP connects before any UDP flood runs:
# against 3x the uplink in UDP its SYNs back off for seconds. iperf3 (3.12)
# opens a UDP test with one datagram each way and never retries: a flood
# already running the other way may drop it and the client hangs. The
# download goes first, its datagrams meeting only TCP; the upload's reply
# then crosses a full downstream queue. Either may still be lost, and
# iperf3's control connection crosses the same full queues (a pfifo that
# TCP keeps full tail-drops often), so each gets up to 8 bounded attempts,
# each on a fresh server. FLOOD_T must cover them: the floods are meant to
# outlast the measurement, and lab_flood_stop ends them. Output in
# $OUT/iperf.*.
iperf_server() {
	lab_bg_in "$NS_WAN" "$OUT" iperf3 -s -1 -p "$1" > "$OUT/iperf.server-$1" 2>&1
	lab_wait_listen "$NS_WAN" "$1" || lab_fail "iperf3 server on $1 did not start"
}
# iperf_client NAME PORT ARGS...; iperf_connected NAME STREAMS (bounded)
iperf_client() {
	local name=$1 port=$2
	shift 2
	lab_bg_in "$NS_LAN" "$OUT" iperf3 -c "$WAN_IP" -p "$port" -t "$FLOOD_T" \
		--forceflush "$@" > "$OUT/iperf.$name" 2>&1
	eval "IPERF_${name//-/_}=$!"
}
iperf_connected() { poll 80 iperf_has "$1" "$2"; }
iperf_has() { [ "$(grep -c "connected to" "$OUT/iperf.$1" 2>/dev/null)" -ge "$2" ]; }
udp_flood() {
	local name=$1 port=$2 tries=$3 try pid
	shift 3
	for ((try = 0; try < tries; try++)); do
		iperf_server $((port + 10 * try))
		iperf_client "$name" $((port + 10 * try)) -u "$@"
		iperf_connected "$name" 1 && return 0
		lab_log "$name: iperf3's UDP setup was lost, again"
		pid=IPERF_${name//-/_}
		kill "${!pid}" 2>/dev/null || true # it may have given up by itself
		reap "${!pid}" || true
	done
	lab_fail "the $name flood did not start: $OUT/iperf.$name"
}
LAB_FLOODS=()
lab_flood() {
	local n0=${#CHILDREN[@]}
	iperf_server 5202
	iperf_server 5204
	iperf_client tcp-up 5202 -P 2
	iperf_client tcp-down 5204 -P 4 -R
	iperf_connected tcp-up 2 || lab_fail "the TCP upload did not start: $OUT/iperf.tcp-up"
	iperf_connected tcp-down 4 || lab_fail "the TCP download did not start: $OUT/iperf.tcp-down"
	udp_flood udp-down 5203 8 -b "${2:-50M}" -R
	udp_flood udp-up 5201 8 -b "${1:-30M}"
	LAB_FLOODS=("${CHILDREN[@]:n0}")
}
# lab_flood_stop: end the floods of the last lab_flood, which are made to
# outlast what they load (FLOOD_T covers a few lost UDP setups), so that a
# measurement never runs past them.
lab_flood_stop() {
	local pid
	for pid in "${LAB_FLOODS[@]}"; do
		kill "$pid" 2>/dev/null || true # it may have ended by itself
		reap "$pid" || true
	done
	LAB_FLOODS=()
}

# --- a call's media ---------------------------------------------------------
# probe NAME LANPORT WANPORT: symmetric RTP between the ports the call's
# SDP announced, PKTS packets each way within SECS + 3 seconds. The phone
# starts first so that the NAT mapping exists when the peer answers to the
# router's public address (with LAB_V6=1, to the phone's own IPv6
# address: routed, no NAT). $OUT/NAME.up: what reached the far peer;
# $OUT/NAME.down: what reached the phone; *.owd: every one-way delay.
probe() {
	lab_bg_in "$NS_LAN" "$OUT" "$PROBE" "$2" --peer "$(v4_or_6 "$WAN_IP" "$WAN_IP6"):$3" --count "$PKTS" \
		--delay 300 --timeout $((SECS + 3)) --dump "$OUT/$1.down.owd" \
		> "$OUT/$1.down" 2>&1
	PROBES+=($!)
	lab_bg_in "$NS_WAN" "$OUT" "$PROBE" "$3" --peer "$(v4_or_6 "$RTR_WAN_IP" "$LAN_IP6"):$2" --count "$PKTS" \
		--delay 800 --timeout $((SECS + 3)) --dump "$OUT/$1.up.owd" \
		> "$OUT/$1.up" 2>&1
	PROBES+=($!)
}
