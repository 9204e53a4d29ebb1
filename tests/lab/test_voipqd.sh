#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# voipqd on a NAT router, end to end: real SIP calls placed with sipp from
# a phone on the private LAN to a peer on the far side cross a router that
# masquerades out of its WAN (nftables) and runs the real voipqd, shaping
# the provider link to 10 Mbit/s up and 50 Mbit/s down (downstream on an
# IFB fed from the WAN ingress). The ISP hop has no route back to the LAN:
# everything the peer sends goes to the router's public address.
#
# Asserted, in order:
#  0. a phone registers (REGISTER, 200): its registrar's endpoint is
#     prioritised as signalling before any call;
#  1. a sipp uac_pcap call against sipp's uas with RTP echo shows up in
#     `voipqctl calls` with sipp's Call-ID, and its endpoints in `voipqctl
#     flows` (the far end's with that Call-ID), packet counters growing,
#     the RTP sent to the far end and the echo it sends back each with its
#     own sane loss and jitter;
#     the UDP endpoints its SIP travels between are prioritised too (kind
#     sip), and their messages counted;
#  2. BYE: the call's media flows are gone within 1 s; its signalling
#     endpoint stays (it serves the next call) and counted the BYE;
#  3. a call cancelled while ringing: the offer's endpoint appears while
#     it rings and goes with the CANCEL; no flow is left;
#  4. under iperf3 floods both ways (UDP and TCP up, UDP and a TCP
#     download), two calls at once: one on the SIP port voipqd watches,
#     one on a port it does not. rtpprobe carries both calls' media on
#     the ports their SDP announced. The learned call loses (almost)
#     nothing and waits little both ways; the unseen one, in the same
#     shaped link at the same time, suffers: the contrast is asserted.
#     Both hang up under the floods: the learned call's BYE is answered
#     sooner than the unseen one's;
#  IPv6: a call routed over IPv6 is learned (both ends, its signalling),
#     its RTP classified both ways, and its flows go with its BYE;
#  TCP: a call signalled over TCP is learned from its SDP, the far end of
#     its SIP connection is signalling the classifier counts, and its
#     flows go with its BYE;
#  rules: voipqctl add and del of a UDP endpoint, a UDP prefix and a TCP
#     endpoint, each counting the phone's traffic; a TCP prefix refused;
#  5. voipqd stopped with --keep-datapath and started again during a call:
#     the flow is listed within 1 s of the restart and its classifier
#     counters keep growing;
#  6. kill -9 during the call: forwarding goes on (ping, the call's RTP);
#     a new voipqd without --keep-datapath adopts what is left; the WAN
#     deleted and made again (a PPP link reconnecting) gets its tree and
#     classifier back, and a rule counts on it; on SIGTERM voipqd removes
#     all of it: pins, qdiscs, IFB, state file, socket.
#
# Exit 0 pass, 4 skip (reason printed), else fail. Every wait is bounded.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${BUILD:-$HERE/../../build}
# shellcheck source=lib.sh
source "$HERE/lib.sh"

VOIPQD=$BUILD/voipqd
VOIPQCTL=$BUILD/voipqctl
PROBE=$BUILD/tests/rtpprobe
VQLAB=$BUILD/tests/vqlab
SECS=${SECS:-8}
PIN=/sys/fs/bpf/voipq-lab-$LAB_ID
OUT=$(mktemp -d /tmp/voipq-lab-XXXXXX)
SOCK=$OUT/voipq.sock
STATE=$OUT/state
LAB_OK=

lab_require_voipqd

# A failure keeps its logs (sipp traces, iperf3, voipqd, rtpprobe).
keep_logs() {
	if [ -n "${KEEP:-}" ] || [ -z "$LAB_OK" ]; then
		echo "  lab: logs kept in $OUT" >&2
	else
		rm -rf "$OUT"
	fi
}
LAB_CLEANUP+=(lab_voipqd_down keep_logs)

# gone_at CMD...: poll until CMD holds (bounded, 3 s); print the wall-clock
# ms at that moment, or "never".
gone_at() {
	local i
	for ((i = 0; i < 150; i++)); do
		"$@" && { now_ms; return 0; }
		sleep 0.02
	done
	echo never
}
# since_sent MS TRACE METHOD: ms from sipp's sending METHOD (the time
# stamp in its message trace) to MS.
since_sent() {
	local sent
	sent=$(sipp_msg_ms "$2" "$3" sent)
	if [ "$1" = never ] || [ "$sent" = never ]; then echo never; else echo $(($1 - sent)); fi
}
within() { [ "$1" != never ] && [ "$1" -le "$2" ]; }

# --- topology: LAN phone, NAT router, provider hop, far peer --------------
lab_topology
lab_nat
lab_sipp_media

voipqd_start --keep-datapath
lab_log "voipqd: $(ctl status | tr -s ' \n' ' ' | cut -c1-160)"

fail=0
check() { # check MSG CMD...: report and remember a failed assertion
	local msg=$1
	shift
	if "$@"; then
		lab_log "ok: $msg"
	else
		echo "FAIL: $msg" >&2
		fail=1
	fi
}

# --- 0: a registration -----------------------------------------------------
sipp_uas reg uas_register.xml 5060
sipp_uac reg uac_register.xml 5060 5060
sipp_wait reg "$UAC_PID"
sipp_wait reg "$UAS_PID"
check "register: the registrar $WAN_IP:5060 is prioritised (kind sip) before any call" \
	poll 40 eval '[ "$(flow "$WAN_IP" 5060 | jq -r .kind)" = sip ]'

# --- 1, 2: sipp uac_pcap against uas with RTP echo; BYE ------------------
sipp_uas pcap uas 5060 -rtp_echo
sipp_uac pcap uac_pcap 5060 5060
poll 100 test -s "$OUT/pcap.uac.msg" || lab_fail "pcap: sipp UAC sent nothing"
poll 100 grep -q "^m=audio" "$OUT/pcap.uas.msg" || lab_fail "pcap: no INVITE reached the peer"
CID=$(call_id_of "$OUT/pcap.uac.msg")
FAR_PORT=$(sed -n 's/^m=audio \([0-9]*\).*/\1/p' "$OUT/pcap.uas.msg" | tail -1)
poll 100 has_flow "$WAN_IP" "$FAR_PORT" || true
far=$(flow "$WAN_IP" "$FAR_PORT")
lab_log "call $CID: far end $WAN_IP:$FAR_PORT: $far"
check "flows: the far end $WAN_IP:$FAR_PORT with sipp's Call-ID" \
	test "$(jq -r .call_id <<<"${far:-null}")" = "$CID"
check "flows: the phone's private endpoint is there too" \
	test "$(flows | jq --arg c "$CID" '[.flows[] | select(.call_id == $c and .addr == "'"$LAN_IP"'")] | length')" -ge 1
check "calls: the call is listed" \
	test "$(ctl calls --json | jq --arg c "$CID" '[.calls[] | select(.call_id == $c)] | length')" -eq 1
sip=$(flow "$WAN_IP" 5060)
sip_packets() { flows | jq '[.flows[] | select(.kind == "sip") | .packets] | add // 0'; }
lab_log "signalling: $sip"
check "flows: the call's SIP signalling, the far end $WAN_IP:5060, kind sip, its messages counted" \
	jq -e '.kind == "sip" and .call_id == "" and .packets >= 1 and .demoted == 0' \
	<<<"${sip:-null}" >/dev/null
check "status: the signalling endpoints counted (both ends, as either interface saw them)" \
	test "$(ctl status --json | jq .counters.sip_flows)" -ge 2
sip0=$(sip_packets)
p0=$(flow_packets "$WAN_IP" "$FAR_PORT")
check "flows: the classifier counts the call's RTP (packets grow past $p0 + 50)" \
	poll 60 grows "$WAN_IP" "$FAR_PORT" $((${p0:-0} + 50))
# The far end's entry sees the phone's RTP as destination (WAN egress) and
# the echo it sends back as source (downstream IFB): two streams, each with
# its own figures. Shared, they read as duplicates (lost < 0) and jitter
# spikes. A quiet link: no loss to speak of, jitter far below 30 ms.
far=$(flow "$WAN_IP" "$FAR_PORT")
lab_log "far end RTP: $(jq -c '{rtp_to, rtp_from}' <<<"${far:-null}")"
for dir in rtp_to rtp_from; do
	check "flows: $dir of the far end: RTP counted, 0 <= lost <= 2%, jitter < 30 ms" \
		jq -e ".$dir | .packets >= 20 and .lost >= 0 and .loss_pct <= 2 and .jitter_ms < 30" \
		<<<"${far:-null}" >/dev/null
done
ctl calls --json > "$OUT/calls.json"
lab_log "calls: $(jq -c --arg c "$CID" '.calls[] | select(.call_id == $c) | {state, loss_pct, jitter_ms, mos}' "$OUT/calls.json")"
check "calls: the call's worst RTP stream, from the datapath: MOS > 4, loss <= 2%" \
	jq -e --arg c "$CID" '.calls[] | select(.call_id == $c) | .mos > 4 and .loss_pct <= 2' \
	"$OUT/calls.json" >/dev/null
sipp_wait pcap "$UAC_PID"
dt=$(since_sent "$(gone_at no_flows)" "$OUT/pcap.uac.msg" BYE)
check "BYE: the call's flows gone $dt ms after sipp sent BYE (limit 1000)" \
	within "$dt" 1000
check "BYE: the signalling endpoint stays" has_flow "$WAN_IP" 5060
# A message matches the first entry its destination or source finds: the
# BYE the far end's, its 200 the router's public one.
check "BYE: the signalling endpoints counted the BYE and its 200 (past $sip0 + 1)" \
	poll 20 eval '[ "$(sip_packets)" -gt $((sip0 + 1)) ]'
sipp_wait pcap "$UAS_PID"

# --- 3: a call cancelled while ringing ------------------------------------
sipp_uas cancel uas_cancel.xml 5060
sipp_uac cancel uac_cancel.xml 5060 5060 -key rtp_port 42000 -d 1500
seen=0
for ((i = 0; i < 100; i++)); do
	has_flow "$LAN_IP" 42000 && { seen=1; break; }
	kill -0 "$UAC_PID" 2>/dev/null || break
	sleep 0.05
done
check "CANCEL: the offer's endpoint $LAN_IP:42000 was installed while ringing" \
	test $seen -eq 1
gone=$(gone_at no_flows)
sipp_wait cancel "$UAC_PID"
dt=$(since_sent "$gone" "$OUT/cancel.uac.msg" CANCEL)
check "CANCEL: no flow left $dt ms after sipp sent CANCEL (limit 1000)" \
	within "$dt" 1000
sipp_wait cancel "$UAS_PID"

# --- 4: voice under floods, learned vs unseen call ------------------------
# The floods (lib.sh's lab_flood) exceed the shaped rates both ways; they
# outlast the measurement even after a few lost UDP setups and are stopped
# when it ends.
FLOOD_T=$((SECS + 40))
PKTS=$((SECS * 50 - 50))
sipp_uas seen uas_media.xml 5060 -key rtp_port 40002
SEEN_UAS=$UAS_PID
sipp_uas unseen uas_media.xml 5080 -key rtp_port 41002
UNSEEN_UAS=$UAS_PID
sipp_uac seen uac_media.xml 5060 5060 -key rtp_port 40000
SEEN_UAC=$UAC_PID
sipp_uac unseen uac_media.xml 5082 5080 -key rtp_port 41000
UNSEEN_UAC=$UAC_PID
poll 100 has_flow "$WAN_IP" 40002 || lab_fail "flood: the call on 5060 was not learned"
SEEN_CID=$(call_id_of "$OUT/seen.uac.msg")
lab_flood
sleep 1 # the floods fill the queues
PROBES=()
probe seen 40000 40002
probe unseen 41000 41002
# What bulk got while the probes ran.
lab_link_use 1:20 $((SECS / 2))
in_ns "$NS_RTR" tc -s class show dev ifb-r1 > "$OUT/classes.ifb"
for pid in "${PROBES[@]}"; do reap "$pid" || true; done
in_ns "$NS_RTR" tc -s qdisc show > "$OUT/qdiscs.flood"
lab_log "learned call's flow: $(flow "$WAN_IP" 40002)"
# Both hang up while the floods still run: the learned call's BYE and its
# answer are signalling voipqd prioritises, the unseen call's wait as bulk.
hangup seen 5060
hangup unseen 5082
gone=$(gone_at no_flows)
# Time for both answers under the floods; a BYE they lost is retransmitted
# after they stop, so that no call is left hanging.
sleep 2
lab_flood_stop
in_ns "$NS_RTR" nft list table ip voipq_lab_nat > "$OUT/nft"
lab_log "bulk while measuring: up $LAB_UP_KBIT kbit/s, down $LAB_DOWN_KBIT kbit/s (shaped 9500/42500)"
[ "$LAB_UP_KBIT" -ge 7000 ] && [ "$LAB_DOWN_KBIT" -ge 35000 ] ||
	lab_fail "the floods did not load the link: see $OUT/iperf.*"
sipp_wait seen "$SEEN_UAC"
dt=$(since_sent "$gone" "$OUT/seen.uac.msg" BYE)
check "BYE under flood: flows of $SEEN_CID gone $dt ms after sipp sent BYE (limit 1000)" \
	within "$dt" 1000
sipp_wait unseen "$UNSEEN_UAC"
bye_seen=$(answer_ms "$OUT/seen.uac.msg" BYE)
bye_unseen=$(answer_ms "$OUT/unseen.uac.msg" BYE)
check "BYE under flood: answered in $bye_seen ms for the learned call, $bye_unseen ms for the unseen one" \
	awk -v s="$bye_seen" -v u="$bye_unseen" \
	'BEGIN { exit !(s != "never" && u != "never" && s < 100 && u > s + 10) }'
sipp_wait seen "$SEEN_UAS"
sipp_wait unseen "$UNSEEN_UAS"
for pid in "${CHILDREN[@]}"; do
	[ "$pid" = "$VQD_PID" ] || reap "$pid" || true # nothing should be left
done
for c in seen unseen; do
	lab_log "$c up:   $(tail -1 "$OUT/$c.up")"
	lab_log "$c down: $(tail -1 "$OUT/$c.down")"
done
for dir in up down; do
	# up: what reached the far peer; down: what reached the phone.
	check "$dir: the learned call is clean, the unseen one suffers" awk \
		-v lv="$(kv "$OUT/seen.$dir" loss_pct)" -v pv="$(kv "$OUT/seen.$dir" owd_p99_ms)" \
		-v lp="$(kv "$OUT/unseen.$dir" loss_pct)" -v pp="$(kv "$OUT/unseen.$dir" owd_p99_ms)" \
		-v d="$dir" '
	BEGIN {
		ok = lv != "" && lp != ""
		if (lv > 0.5) { printf "  %s: %.3f%% lost by the learned call\n", d, lv; ok = 0 }
		if (pv > 20) { printf "  %s: learned call p99 %.1f ms\n", d, pv; ok = 0 }
		if (!(lp > lv + 2 || pp > 3 * pv + 5)) {
			printf "  %s: no contrast (unseen %.2f%% %.1f ms, learned %.2f%% %.1f ms)\n", d, lp, pp, lv, pv
			ok = 0
		}
		exit !ok
	}' >&2
done
ctl status --json > "$OUT/status.json"
lab_log "status: $(jq -c '{learn_latency_us, counters}' "$OUT/status.json")"
check "status: a learning latency sample for every endpoint learned" \
	jq -e '.learn_latency_us.samples == .counters.learned and .counters.learned >= 10' \
	"$OUT/status.json" >/dev/null
# Learning is packet-driven (immediate-mode capture): far below a second
# even on a loaded machine. Its real numbers belong to the benchmark.
check "status: learning latency max below 500 ms" \
	jq -e '.learn_latency_us.max < 500000' "$OUT/status.json" >/dev/null

# --- IPv6: a call routed over IPv6 (no NAT) --------------------------------
LAB_V6=1 sipp_uas v6 uas_media.xml 5060 -key rtp_port 40032
V6_UAS=$UAS_PID
LAB_V6=1 sipp_uac v6 uac_media.xml 5060 5060 -key rtp_port 40030
V6_UAC=$UAC_PID
poll 100 has_flow "$WAN_IP6" 40032 || true
V6_CID=$(call_id_of "$OUT/v6.uac.msg")
check "IPv6: the far end [$WAN_IP6]:40032 learned with sipp's Call-ID" \
	test "$(flow "$WAN_IP6" 40032 | jq -r .call_id)" = "$V6_CID"
check "IPv6: and the phone's [$LAN_IP6]:40030" has_flow "$LAN_IP6" 40030
check "IPv6: and the call's signalling [$WAN_IP6]:5060 (kind sip)" \
	test "$(flow "$WAN_IP6" 5060 | jq -r .kind)" = sip
PROBES=()
LAB_V6=1 probe v6 40030 40032
for pid in "${PROBES[@]}"; do reap "$pid" || true; done
# No NAT: each direction's destination is a learned endpoint, which the
# classifier looks up first. Upstream (WAN egress) the far end's, and
# downstream (the IFB) the phone's, each sees its stream as rtp_to.
far=$(flow "$WAN_IP6" 40032)
phone=$(flow "$LAN_IP6" 40030)
lab_log "IPv6 far end: $(jq -c '{rtp_to, rtp_from}' <<<"${far:-null}")"
lab_log "IPv6 phone:   $(jq -c '{rtp_to, rtp_from}' <<<"${phone:-null}")"
check "IPv6: upstream RTP counted on the far end's endpoint (>= 100 packets, <= 2% lost)" \
	jq -e '.rtp_to | .packets >= 100 and .loss_pct <= 2' <<<"${far:-null}" >/dev/null
check "IPv6: downstream RTP counted on the phone's endpoint (>= 100 packets, <= 2% lost)" \
	jq -e '.rtp_to | .packets >= 100 and .loss_pct <= 2' <<<"${phone:-null}" >/dev/null
LAB_V6=1 hangup v6 5060
check "IPv6: BYE removes the call's media flows" \
	poll 40 eval '! has_flow "$WAN_IP6" 40032 && ! has_flow "$LAN_IP6" 40030'
sipp_wait v6 "$V6_UAC"
sipp_wait v6 "$V6_UAS"

# --- SIP over TCP: sipp's own uac and uas (-t t1), through the NAT ----------
sipp_uas tcp uas 5060 -t t1
sipp_uac tcp uac 5060 5060 -t t1 -d 3000 -mp 40040
poll 100 has_flow "$LAN_IP" 40040 || true
TCP_CID=$(call_id_of "$OUT/tcp.uac.msg")
TCP_FAR=$(sed -n 's/^m=audio \([0-9]*\).*/\1/p' "$OUT/tcp.uas.msg" | tail -1)
check "TCP: the call learned from SIP over TCP: the phone's $LAN_IP:40040 with sipp's Call-ID" \
	test "$(flow "$LAN_IP" 40040 | jq -r .call_id)" = "$TCP_CID"
check "TCP: and the far end's $WAN_IP:${TCP_FAR:-?} from the answer" has_flow "$WAN_IP" "${TCP_FAR:-0}"
# The far end's end of the SIP connection, as signalling: both directions
# match it (upstream as destination, downstream as source).
tcp_sig() {
	flows | jq -c --arg a "$WAN_IP" \
		'.flows[] | select(.addr == $a and .port == 5060 and .proto == "tcp" and .kind == "sip")'
}
check "TCP: the call's SIP connection is signalling voipqd serves first: $WAN_IP:5060, tcp, kind sip" \
	poll 40 eval '[ -n "$(tcp_sig)" ]'
sipp_wait tcp "$UAC_PID"
check "TCP: the classifier counted the connection's segments after it was learned ($(tcp_sig | jq -r .packets) packets)" \
	test "$(tcp_sig | jq -r '.packets // 0')" -gt 0
check "TCP: the BYE over TCP removes the call's flows" \
	poll 40 eval '! has_flow "$LAN_IP" 40040 && ! has_flow "$WAN_IP" "${TCP_FAR:-0}"'
# sipp's uas counts its call failed when the phone's sipp, done, closes
# the connection during the pause that follows its 200 to the BYE: the
# phone's side (sipp_wait above) is the call's verdict.
reap "$UAS_PID" || true

# --- static rules through voipqctl ----------------------------------------
# A UDP endpoint, a UDP prefix and a TCP endpoint (what a SIP server over
# TLS needs: voipqd cannot read it). Datagrams and one connection attempt
# from the phone cross the router; the classifier counts them on the rules.
rule_packets() { # rule_packets ADDR PORT PROTO
	flows | jq -r --arg a "$1" --argjson p "$2" --arg t "$3" \
		'[.flows[] | select(.addr == $a and .port == $p and .proto == $t and .why == "static") | .packets] | first // empty'
}
check "rules: voipqctl add $WAN_IP 7000 (udp)" ctl add "$WAN_IP" 7000 >/dev/null
check "rules: voipqctl add 203.0.113.0/24 7002" ctl add 203.0.113.0/24 7002 >/dev/null
check "rules: voipqctl add $WAN_IP 5061 tcp" ctl add "$WAN_IP" 5061 tcp >/dev/null
ctl add 203.0.113.0/24 5061 tcp > "$OUT/rule.tcp-prefix" 2>&1 && rc=0 || rc=$?
check "rules: a tcp prefix is refused, saying why ($(head -1 "$OUT/rule.tcp-prefix"))" \
	eval '[ $rc -ne 0 ] && grep -q "a tcp rule names one address" "$OUT/rule.tcp-prefix"'
for i in $(seq 10); do
	in_ns "$NS_LAN" bash -c 'echo x > "/dev/udp/$1/7000"; echo y > "/dev/udp/$1/7002"' _ "$WAN_IP"
done
# Nothing listens on 5061: the SYN crosses the router, a RST comes back.
in_ns "$NS_LAN" timeout 2 bash -c 'exec 3<> "/dev/tcp/$1/5061"' _ "$WAN_IP" 2>/dev/null || true
check "rules: the UDP rule counted the phone's 10 datagrams ($(rule_packets "$WAN_IP" 7000 udp))" \
	test "$(rule_packets "$WAN_IP" 7000 udp)" -ge 10
check "rules: the prefix rule counted the 10 to $WAN_IP:7002 ($(rule_packets 203.0.113.0 7002 udp))" \
	test "$(rule_packets 203.0.113.0 7002 udp)" -ge 10
check "rules: the TCP rule counted the SYN ($(rule_packets "$WAN_IP" 5061 tcp))" \
	test "$(rule_packets "$WAN_IP" 5061 tcp)" -ge 1
check "rules: voipqctl del each" eval 'ctl del "$WAN_IP" 7000 >/dev/null &&
	ctl del 203.0.113.0/24 7002 >/dev/null && ctl del "$WAN_IP" 5061 tcp >/dev/null'
check "rules: gone from the flows view" \
	test "$(flows | jq '[.flows[] | select(.why == "static")] | length')" = 0

# --- 5, 6: restart during a call, then kill -9 ----------------------------
SECS_B=10
sipp_uas restart uas_media.xml 5060 -key rtp_port 40002
sipp_uac restart uac_media.xml 5060 5060 -key rtp_port 40000
RESTART_UAC=$UAC_PID
RESTART_UAS=$UAS_PID
PKTS=$((SECS_B * 50 - 100))
SECS=$SECS_B
PROBES=()
poll 100 has_flow "$WAN_IP" 40002 || lab_fail "restart: the call was not learned"
probe restart 40000 40002
check "restart: RTP counted before the restart" poll 60 grows "$WAN_IP" 40002 20
voipqd_stop TERM
check "restart: --keep-datapath left the pins" test -e "$PIN"
# A start that fails (it wants downstream = lan, and the LAN has someone
# else's root) leaves the datapath the last run kept: it classifies on,
# and the restart below adopts it with the call's RTP loss bounded.
htb_on() { in_ns "$NS_RTR" tc qdisc show dev "$1" 2>/dev/null | grep -q '^qdisc htb 1: root'; }
in_ns "$NS_RTR" tc qdisc add dev r0 root tbf rate 100mbit burst 50k latency 50ms
voipqd_argv --set downstream=lan
timeout 10 "${VQD_ARGV[@]}" > "$OUT/failed-start.log" 2>&1 && rc=0 || rc=$?
check "failed start: voipqd exits 1 and names r0's root ($(grep -o 'r0 already has a root qdisc ([a-z]*' "$OUT/failed-start.log"))" \
	eval '[ $rc -eq 1 ] && grep -q "r0 already has a root qdisc (tbf" "$OUT/failed-start.log"'
check "failed start: the kept datapath is all there: pins, state, both trees" \
	eval 'test -e "$PIN" && test -e "$STATE" && htb_on r1 && htb_on ifb-r1'
in_ns "$NS_RTR" tc qdisc del dev r0 root
t0=$(now_ms)
voipqd_start --keep-datapath
poll 40 has_flow "$WAN_IP" 40002 || true
dt=$(($(now_ms) - t0))
far=$(flow "$WAN_IP" 40002)
lab_log "after restart (${dt} ms): $far"
check "restart: the flow is listed ${dt} ms after the restart (limit 1000)" \
	test -n "$far" -a "$dt" -le 1000
RESTART_CID=$(call_id_of "$OUT/restart.uac.msg")
check "restart: the adopted flow keeps its call ($RESTART_CID) and codec" \
	test "$(jq -r '.call_id + " " + .codec' <<<"${far:-null}")" = "$RESTART_CID PCMA"
check "restart: calls lists the call as adopted, with its MOS from the datapath, and no signalling as a call" \
	test "$(ctl calls --json | jq -r --arg c "$RESTART_CID" \
		'([.calls[] | select(.call_id == $c and .state == "adopted" and .mos > 4)] | length),
		 ([.calls[] | select(.call_id == "")] | length)' | tr '\n' ' ')" = "1 0 "
p0=$(flow_packets "$WAN_IP" 40002)
check "restart: its packets keep being classified (past $p0 + 25)" \
	poll 40 grows "$WAN_IP" 40002 $((${p0:-0} + 25))
check "restart: and prioritised (none demoted)" \
	test "$(flow "$WAN_IP" 40002 | jq -r .demoted)" = 0

# SIGHUP during the call: a new shaping percentage reshapes the link and
# the call's flow stays; a table size waits for a restart, and says so;
# shaping can be turned off and on; a configuration that cannot be
# applied, or a file that does not parse, changes nothing.
link_rate() { in_ns "$NS_RTR" tc class show dev r1 classid 1:1 | grep -o 'rate [^ ]*'; }
reloaded() { [ "$(grep -c "$1" "$OUT/voipqd.log")" -gt "$2" ]; }
n=$(grep -c "configuration reloaded" "$OUT/voipqd.log" || true)
check "reload: before, the uplink is shaped at 95 %" test "$(link_rate)" = "rate 9500Kbit"
check "reload: before, the signalling endpoint is there (kept over the restart)" \
	has_flow "$WAN_IP" 5060
# still_classified WHAT: the call's flow keeps being counted.
still_classified() {
	local p0
	p0=$(flow_packets "$WAN_IP" 40002)
	check "reload: the call's flow is still classified$1 (past $p0 + 25)" \
		poll 40 grows "$WAN_IP" 40002 $((${p0:-0} + 25))
}
# sighup TEXT: the configuration file becomes TEXT (printf), then SIGHUP.
sighup() { printf '%b' "$1" > "$OUT/voipq.conf"; kill -HUP "$VQD_PID"; }
sighup 'shape_percent = 80\nsip_priority = no\nmax_calls = 100\n'
check "reload: SIGHUP is logged as a reload" poll 100 reloaded "configuration reloaded" "$n"
check "reload: a table size is kept until a restart, and the log says so" \
	grep -q "only at a restart .* keep their running values: max_calls$" "$OUT/voipqd.log"
check "reload: the uplink is shaped at 80 % now" poll 100 eval '[ "$(link_rate)" = "rate 8Mbit" ]'
check "reload: sip_priority = no takes the signalling endpoints out" \
	poll 20 eval '! has_flow "$WAN_IP" 5060'
still_classified ""
# shape = no takes the trees and the IFB away (the classifier moves to the
# LAN) and the call stays classified; shape = yes brings them back.
sighup 'shape = no\n'
check "reload: shape = no removes the HTB tree on r1 and the IFB" \
	poll 100 eval '! htb_on r1 && ! in_ns "$NS_RTR" ip link show ifb-r1 >/dev/null 2>&1'
still_classified " without shaping"
sighup 'shape_percent = 80\nsip_priority = no\n'
check "reload: shape = yes again puts both trees back" \
	poll 100 eval 'htb_on r1 && htb_on ifb-r1 && [ "$(link_rate)" = "rate 8Mbit" ]'
# A configuration that cannot be applied changes nothing that runs: the
# LAN has someone else's root, so downstream = lan is refused before the
# IFB downstream is touched.
ifb_index() { in_ns "$NS_RTR" ip -o link show ifb-r1 | cut -d: -f1; }
i0=$(ifb_index)
in_ns "$NS_RTR" tc qdisc add dev r0 root tbf rate 100mbit burst 50k latency 50ms
n=$(grep -c "going back to the running configuration" "$OUT/voipqd.log" || true)
sighup 'shape_percent = 80\nsip_priority = no\ndownstream = lan\n'
check "reload: a LAN with someone else's root is refused, and the log says whose" \
	poll 100 reloaded "r0 already has a root qdisc (tbf .*going back to the running configuration" "$n"
check "reload: the running IFB downstream was never torn down (same device)" \
	test "$(ifb_index)" = "$i0"
check "reload: someone else's root on r0 is still there" \
	eval 'in_ns "$NS_RTR" tc qdisc show dev r0 | grep -q "^qdisc tbf"'
in_ns "$NS_RTR" tc qdisc del dev r0 root
n=$(grep -c "shape_percent.*keeping the running configuration" "$OUT/voipqd.log" || true)
sighup 'shape_percent = lots\n'
check "reload: a file that does not parse is refused, and says why" \
	poll 100 reloaded "shape_percent.*keeping the running configuration" "$n"
check "reload: and the uplink stays at 80 %" test "$(link_rate)" = "rate 8Mbit"
check "reload: voipqd runs on" kill -0 "$VQD_PID"
: > "$OUT/voipq.conf"
pk=$(flow_packets "$WAN_IP" 40002)
voipqd_stop KILL
pinged() { in_ns "$NS_LAN" ping -c 3 -i 0.2 -W 2 -q "$WAN_IP" >/dev/null; }
check "kill -9: ping LAN -> WAN still answered" pinged
for pid in "${PROBES[@]}"; do reap "$pid" || true; done
lab_log "restart up:   $(tail -1 "$OUT/restart.up")"
lab_log "restart down: $(tail -1 "$OUT/restart.down")"
for dir in up down; do
	check "restart + kill -9: the call's RTP kept flowing $dir (<= 2% lost)" \
		awk -v l="$(kv "$OUT/restart.$dir" loss_pct)" 'BEGIN { exit !(l != "" && l <= 2) }'
done
hangup restart 5060
sipp_wait restart "$RESTART_UAC"
sipp_wait restart "$RESTART_UAS"

# A fresh daemon adopts the orphans (their BYE went unseen), and its
# SIGTERM removes everything the datapath had. The calls file it names
# them from has been damaged meanwhile: what is readable still counts.
{ echo '{"addr":"203.0.113.2","port":"not a port"}'; echo 'not json';
  head -c 5000 /dev/zero | tr '\0' x; echo; } >> "$STATE.calls"
voipqd_start
check "cleanup: a damaged calls file is said so in the log" \
	grep -q "skipped malformed lines" "$OUT/voipqd.log"
far=$(flow "$WAN_IP" 40002)
lab_log "adopted after kill -9: $far"
check "cleanup: the orphaned flow is adopted" \
	test "$(jq -r .why <<<"${far:-null}")" = adopted
check "cleanup: and named after its call, though voipqd was killed" \
	test "$(jq -r .call_id <<<"${far:-null}")" = "$RESTART_CID"
# Both probes ran on for seconds after the kill: 50 packets/s each way.
check "kill -9: the datapath classified on without a daemon (packets $pk -> past $((pk + 100)))" \
	test "$(jq -r .packets <<<"${far:-null}")" -gt $((pk + 100))

# --- 7: the BYE of an adopted call ------------------------------------------
# A call learned by a daemon that is then killed: the next one adopts its
# flows from the calls file and ends them on the call's BYE, which matches
# no dialog it tracks.
sipp_uas adopted uas_media.xml 5060 -key rtp_port 40012
ADOPTED_UAS=$UAS_PID
sipp_uac adopted uac_media.xml 5060 5060 -key rtp_port 40010
ADOPTED_UAC=$UAC_PID
poll 100 has_flow "$WAN_IP" 40012 || lab_fail "adopted BYE: the call was not learned"
ADOPTED_CID=$(call_id_of "$OUT/adopted.uac.msg")
poll 100 grep -qF "$ADOPTED_CID" "$STATE.calls" ||
	lab_fail "adopted BYE: the calls file never named $ADOPTED_CID"
voipqd_stop KILL
voipqd_start
check "adopted BYE: the call's flow is adopted" \
	test "$(flow "$WAN_IP" 40012 | jq -r .why)" = adopted
no_adopted_call() { [ -z "$(flow "$WAN_IP" 40012)" ] && [ -z "$(flow "$WAN_IP" 40013)" ]; }
hangup adopted 5060
gone=$(gone_at no_adopted_call)
sipp_wait adopted "$ADOPTED_UAC"
sipp_wait adopted "$ADOPTED_UAS"
dt=$(since_sent "$gone" "$OUT/adopted.uac.msg" BYE)
check "adopted BYE: the call's flows gone $dt ms after sipp sent BYE (limit 1000)" \
	within "$dt" 1000
check "adopted BYE: another adopted call's flow stays" has_flow "$WAN_IP" 40002
check "adopted BYE: the log says why" \
	grep -q "flow removed .*(bye, adopted call $ADOPTED_CID)" "$OUT/voipqd.log"

# --- the WAN goes and comes back as a new device --------------------------
# What a PPP or WireGuard WAN does when it reconnects: the tree, the
# classifier and the capture die with the old device. voipqd waits for the
# name, then sets them up again on the new one; a rule still counts.
relinks() { ctl status --json | jq -r '.counters.relinks'; }
r0=$(relinks)
check "relink: voipqctl add $WAN_IP 7010" ctl add "$WAN_IP" 7010 >/dev/null
in_ns "$NS_RTR" ip link del r1
check "relink: voipqd says it waits for the WAN" \
	poll 100 grep -q "links: .*trying again every second" "$OUT/voipqd.log"
check "relink: status answers meanwhile, the WAN's capture waiting" \
	eval '[ "$(ctl status --json | jq -r ".interfaces[] | select(.name == \"r1\") | .capture")" = waiting ]'
check "relink: voipqd runs on" kill -0 "$VQD_PID"
ip link add r1 netns "$NS_RTR" type veth peer name i0 netns "$NS_ISP"
in_ns "$NS_RTR" ip addr add "$RTR_WAN_IP/24" dev r1
in_ns "$NS_ISP" ip addr add "$ISP_IP/24" dev i0
for dev in "$NS_RTR:r1" "$NS_ISP:i0"; do
	in_ns "${dev%%:*}" ip link set "${dev#*:}" up
	in_ns "${dev%%:*}" ethtool -K "${dev#*:}" tso off gso off gro off >/dev/null 2>&1
done
in_ns "$NS_RTR" ip route add default via "$ISP_IP"
in_ns "$NS_ISP" ip route add 192.0.2.0/24 via "$RTR_WAN_IP"
check "relink: the tree is back on the new r1, and voipqd counts the relink" \
	poll 100 eval 'htb_on r1 && htb_on ifb-r1 && [ "$(relinks)" -gt "$r0" ]'
check "relink: the log says so" \
	grep -q "links: captures and datapath set up again on r1 (back)" "$OUT/voipqd.log"
for i in $(seq 10); do
	in_ns "$NS_LAN" bash -c 'echo x > "/dev/udp/$1/7010"' _ "$WAN_IP"
done
check "relink: the classifier on the new r1 counted 10 datagrams on the rule ($(rule_packets "$WAN_IP" 7010 udp))" \
	test "$(rule_packets "$WAN_IP" 7010 udp)" -ge 10
voipqd_stop TERM
# A link pin left behind (a device the classifier stayed on) keeps it.
check "cleanup: pins removed" test ! -e "$PIN"
check "cleanup: state file removed" test ! -e "$STATE"
check "cleanup: calls file removed" test ! -e "$STATE.calls"
check "cleanup: control socket removed" test ! -e "$SOCK"
check "cleanup: no qdisc left on r1" \
	test -z "$(in_ns "$NS_RTR" tc qdisc show dev r1 | grep -v 'noqueue\|pfifo_fast\|mq ')"
check "cleanup: no IFB left" test -z "$(in_ns "$NS_RTR" ip -o link show type ifb)"
check "cleanup: no classifier left on r1" \
	test -z "$(in_ns "$NS_RTR" tc filter show dev r1 egress 2>/dev/null)"
in_ns "$NS_LAN" ping -c 1 -W 2 -q "$WAN_IP" >/dev/null ||
	{ echo "FAIL: no forwarding after cleanup" >&2; fail=1; }

[ $fail -eq 0 ] || exit 1
LAB_OK=1
echo "lab voipqd: ok (learned through NAT, clean under flood, gone on BYE and CANCEL, survives restart, reload and kill -9, adopted calls end on BYE, a WAN that comes back is set up again)"
