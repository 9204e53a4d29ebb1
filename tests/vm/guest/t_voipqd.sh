# SPDX-License-Identifier: GPL-2.0
# The real voipqd on the kmod backend, on a router namespace RT between a
# phone (P, LAN side) and a far end (F, WAN side), with real sipp calls
# (the lab's scenarios). sch_voipq shapes the WAN egress at the uplink rate
# and the LAN egress at the downlink rate (downstream = lan). Asserted:
# the call's endpoints in `voipqctl flows --json` with the kernel's
# statistics; the learned voice served first under a flood while an
# unlearned stream at the same rate suffers; BYE removes the endpoints;
# SIGHUP reshapes under a call and refuses a file that does not parse;
# --keep-datapath leaves the qdiscs and the table, a restarted voipqd
# adopts them and expires what no call owns; SIGTERM removes everything.
# Then `auto`: bpf where the guest can run it (both kernels can, as root),
# kmod when it cannot (voipqd confined to CAP_NET_ADMIN + CAP_NET_RAW),
# and a clear error when neither backend can work. The kernel's refusals
# (extack) reach voipqctl and the log in its own words.

N=$(rand); P=vqp$N; RT=vqr$N; F=vqf$N
VS=/tmp/vq.sock
VST=/tmp/vq.state
VLOG=/tmp/voipqd.log
SIPP="sipp -m 1 -nostdin -timeout 40s -timeout_error -trace_msg"
VQD_ARGS="--wan wan0 --lan lan0 --uplink 8mbit --downlink 8mbit \
	--set downstream=lan --set socket=$VS --set state_file=$VST \
	--set pin_dir=/sys/fs/bpf/vqt --set idle_timeout=5"

router() {
	$IP netns add $P && $IP netns add $RT && $IP netns add $F || return 1
	$IP link add p0 netns $P type veth peer name lan0 netns $RT || return 1
	$IP link add f0 netns $F type veth peer name wan0 netns $RT || return 1
	$IP -n $P addr add 10.1.0.2/24 dev p0
	$IP -n $RT addr add 10.1.0.1/24 dev lan0
	$IP -n $RT addr add 10.2.0.1/24 dev wan0
	$IP -n $F addr add 10.2.0.2/24 dev f0
	for l in "$P p0" "$RT lan0" "$RT wan0" "$F f0"; do
		set -- $l
		$IP -n $1 link set $2 up; $IP -n $1 link set lo up
	done
	$IP -n $P route add default via 10.1.0.1
	$IP -n $F route add 10.1.0.0/24 via 10.2.0.1
	in_ns $RT sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
	in_ns $P ping -c 1 -W 2 10.2.0.2 > /dev/null
}

# vqd [WRAPPER...] -- ARGS: start voipqd in RT; its PID in $VQD.
vqd() {
	w=
	while [ "$1" != -- ]; do w="$w $1"; shift; done
	shift
	rm -f $VS
	# nsenter, not ip netns exec, which remounts /sys and so would take
	# the bpf backend's pins with it when voipqd exits.
	nsenter --net=/run/netns/$RT $w voipqd $VQD_ARGS "$@" > $VLOG 2>&1 &
	VQD=$!
	i=0
	while [ $i -lt 100 ] && ! voipqctl status -s $VS > /dev/null 2>&1; do
		kill -0 $VQD 2> /dev/null || return 1
		sleep 0.1; i=$((i + 1))
	done
	voipqctl status -s $VS > /dev/null 2>&1
}

# vqd_stop [SIGNAL]: stop it and wait (bounded) for its exit status.
vqd_stop() {
	kill -${1:-TERM} $VQD 2> /dev/null
	i=0
	while [ $i -lt 100 ] && kill -0 $VQD 2> /dev/null; do sleep 0.1; i=$((i + 1)); done
	wait $VQD
}

flows() { voipqctl flows --json -s $VS; }
# flow ADDR PORT [FIELD]: one flow's JSON, or a field of it.
flow() { flows | jq -c ".flows[] | select(.addr == \"$1\" and .port == $2) | .${3:-}" 2> /dev/null; }
backend() { voipqctl status --json -s $VS | jq -r .backend; }
root_kind() { $TC -n $RT qdisc show dev $1 | awk '/root/ { print $2; exit }'; }

# poll N CMD...: until CMD holds, at most N tenths of a second.
poll() {
	n=$1; shift
	while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
	return 1
}
has_flow() { [ -n "$(flow $1 $2 port)" ]; }
no_flow() { [ -z "$(flow $1 $2 port)" ]; }
no_flows() { [ "$(flows | jq '.flows | length')" = 0 ]; }

# call NAME UAC_RTP UAS_RTP: a uac_media.xml call from P to F, whose media
# the tests carry; it lasts until hangup.
call() {
	in_ns $F $SIPP -sf /tests/scenarios/uas_media.xml -i 10.2.0.2 -p 5060 \
		-key rtp_port $3 -message_file /tmp/$1.uas.msg > /tmp/$1.uas.log 2>&1 &
	UAS=$!
	sleep 0.5
	in_ns $P $SIPP -sf /tests/scenarios/uac_media.xml -i 10.1.0.2 -p 5060 \
		-key rtp_port $2 -message_file /tmp/$1.uac.msg 10.2.0.2:5060 \
		> /tmp/$1.uac.log 2>&1 &
	UAC=$!
}

# hangup NAME: an INFO in the call's dialog tells uac_media.xml to send BYE.
hangup() {
	cid=$(sed -n 's/^Call-ID: *//p' /tmp/$1.uac.msg | tr -d '\r' | head -1)
	printf 'INFO sip:phone@10.1.0.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 10.1.0.2:5999;branch=z9hG4bK-vm-%s\r\nFrom: <sip:vm@10.1.0.2>;tag=vm\r\nTo: <sip:phone@10.1.0.2>\r\nCall-ID: %s\r\nCSeq: 1 INFO\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' \
		"$1" "$cid" | in_ns $P vqtraffic dgram 10.1.0.2 5060
	wait $UAC; rc1=$?
	wait $UAS; rc2=$?
	[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ]
}

run "router between a phone and a far end" router

# --- kmod: a call, its flows, voice under a flood, BYE ---------------------
run "voipqd --backend kmod starts" vqd -- --backend kmod
expect "status: backend kmod" '^kmod$' backend
expect "sch_voipq is the WAN root" '^voipq$' root_kind wan0
expect "sch_voipq is the LAN root" '^voipq$' root_kind lan0
expect "WAN at 95% of the uplink (950000 B/s), voice share 30%" \
	"rate 950000 share 30 " in_ns $RT vqkctl qdisc show wan0

run "voipqctl add: a static rule" voipqctl add 10.2.0.9 4444 -s $VS
expect "the static rule is in the kernel's table" "10.2.0.9:4444 .*flags [23] " in_ns $RT vqkctl ep dump
expect "flows: the static rule" '"why":"static"' flow 10.2.0.9 4444
run "voipqctl del: the static rule" voipqctl del 10.2.0.9 4444 -s $VS
refuse "voipqctl del of a missing rule: sch_voipq's own words" "kernel says: No such endpoint" \
	voipqctl del 10.2.0.9 4444 -s $VS
run "voipqctl add: a tcp rule" voipqctl add 10.2.0.9 5061 tcp -s $VS
expect "the tcp rule is in the kernel's table" "^10.2.0.9:5061 tcp .*flags [23] " \
	in_ns $RT vqkctl ep dump
run "voipqctl del: the tcp rule" voipqctl del 10.2.0.9 5061 tcp -s $VS
run "voipqctl add: a prefix rule" voipqctl add 10.2.0.0/24 4444 -s $VS
expect "the prefix rule is in the kernel's table" "^10.2.0.0/24:4444 .*flags [23] " \
	in_ns $RT vqkctl ep dump
expect "flows: the prefix rule, with its length" '"prefix_len":24' flow 10.2.0.0 4444
run "voipqctl del: the prefix rule" voipqctl del 10.2.0.0/24 4444 -s $VS
refuse "voipqctl del of a missing prefix rule: sch_voipq's own words" "kernel says: No such endpoint" \
	voipqctl del 10.2.0.0/24 4444 -s $VS

call c1 4000 4002
if poll 150 has_flow 10.1.0.2 4000 && poll 50 has_flow 10.2.0.2 4002; then
	ok "flows: both ends of the call learned from its SDP"
else
	not_ok "flows: both ends learned ($(flows))"
fi
cid=$(sed -n 's/^Call-ID: *//p' /tmp/c1.uac.msg | tr -d '\r' | head -1)
expect "flows carry sipp's Call-ID and the codec" "\"call_id\":\"$cid\".*\"codec\":\"PCMA\"" \
	flow 10.1.0.2 4000
expect "the kernel's table holds them" "10.1.0.2:4000 " in_ns $RT vqkctl ep dump
expect "flows: the call's SIP signalling, the far end 10.2.0.2:5060, kind sip" \
	'"kind":"sip".*"call_id":""' flow 10.2.0.2 5060
expect "the kernel's table holds the signalling endpoint" "10.2.0.2:5060 " in_ns $RT vqkctl ep dump

# Downstream through the LAN egress: 100 bulk flows, a learned RTP stream
# and an unlearned one at the same rate (50 packets/s, above its fair
# share of the bulk band).
BULK="10.1.0.2 5001 -f 100 -l 1200"
(A=$F B=$P load vk 3 "$BULK" "10.1.0.2 4000 -r -p 50 -S 4002" "10.1.0.2 4010 -r -p 50 -S 4012")
got=$(field packets $R/vk.4000); lost=$(field rtp_lost $R/vk.4000)
got_u=$(field packets $R/vk.4010); lost_u=$(field rtp_lost $R/vk.4010)
p50=$(field delay_p50_us $R/vk.4000); p50_u=$(field delay_p50_us $R/vk.4010)
bulk=$(field packets $R/vk.5001)
echo "# learned voice: received $got lost $lost p50 ${p50}us; unlearned: received $got_u lost $lost_u p50 ${p50_u}us; bulk $bulk"
no_loss "learned voice" $R/vk.4000 100
# Both were sent alike: the unlearned one suffers when fewer of its packets
# arrive, or when they wait longer and lose at least as many (its RTP loss
# counts only up to the last sequence number that arrived).
if [ "${got_u:-0}" -lt "${got:-0}" ] ||
	{ [ "${p50:-999999}" -lt "${p50_u:-0}" ] && [ "${lost_u:-0}" -ge "${lost:-0}" ]; }; then
	ok "the unlearned stream suffers (received $got_u vs $got, p50 ${p50_u}us vs ${p50}us)"
else
	not_ok "the unlearned stream suffers (received $got_u vs $got, p50 ${p50_u}us vs ${p50}us, lost $lost_u vs $lost)"
fi
[ "${bulk:-0}" -gt 500 ] && ok "bulk flows ($bulk packets)" || not_ok "bulk flows ($bulk)"
flow 10.1.0.2 4000 > $OUT
pk=$(jq .packets $OUT); mos=$(jq .mos $OUT)
echo "# flow 10.1.0.2:4000 $(cat $OUT)"
[ "${pk:-0}" -ge "$got" ] && jq -e '.bytes > 0 and .lost == 0 and .loss_pct == 0 and .jitter_ms >= 0 and .idle_ms < 10000 and .mos > 4' $OUT > /dev/null &&
	ok "flows --json: the kernel's packets ($pk), bytes, RTP loss 0, jitter, last seen, MOS $mos" ||
	not_ok "flows --json: the kernel's statistics"
voipqctl calls --json -s $VS > $OUT
jq -e --arg c "$cid" '.calls[] | select(.call_id == $c) | .mos > 4 and .loss_pct == 0' $OUT > /dev/null &&
	ok "calls --json: the call's worst stream from sch_voipq's table (MOS $(jq --arg c "$cid" '.calls[] | select(.call_id == $c) | .mos' $OUT))" ||
	not_ok "calls --json: the call's worst stream from sch_voipq's table ($(cat $OUT))"
voipqctl status --json -s $VS > $OUT
jq -e '.counters.prioritised > 100 and (.attached | length) == 2' $OUT > /dev/null &&
	ok "status: prioritised $(jq .counters.prioritised $OUT) by sch_voipq on $(jq -c .attached $OUT)" ||
	not_ok "status counters and attached ($(cat $OUT))"

run "BYE: sipp's call completes" hangup c1
if poll 30 no_flow 10.1.0.2 4000 && poll 10 no_flow 10.2.0.2 4002; then
	ok "BYE: the call's flows are gone"
else
	not_ok "BYE: the call's flows are gone ($(flows))"
fi
in_ns $RT vqkctl ep dump > $OUT
grep -q ":400[02] " $OUT && not_ok "BYE: gone from the kernel's table ($(cat $OUT))" ||
	ok "BYE: gone from the kernel's table"

# --- SIP over TCP: the call's connection is signalling, served first ------
in_ns $F $SIPP -sn uas -t t1 -i 10.2.0.2 -p 5060 -m 1 > /tmp/tcp.uas.log 2>&1 &
UAS=$!
sleep 0.5
in_ns $P $SIPP -sn uac -t t1 -i 10.1.0.2 -p 5060 -m 1 -d 2000 -mp 4050 \
	10.2.0.2:5060 > /tmp/tcp.uac.log 2>&1 &
UAC=$!
tcp_sig() {
	flows | jq -c '.flows[] | select(.addr == "10.2.0.2" and .port == 5060 and .proto == "tcp" and .kind == "sip")'
}
poll 150 eval '[ -n "$(tcp_sig)" ]' &&
	ok "TCP: the far end's end of the SIP connection, 10.2.0.2:5060/tcp, is signalling" ||
	not_ok "TCP: the SIP connection learned ($(flows))"
wait $UAC && ok "TCP: sipp's call over TCP completes" ||
	not_ok "TCP: sipp's call over TCP completes ($(tail -5 /tmp/tcp.uac.log))"
# sipp's uas over TCP counts its call failed when the caller closes the
# connection first: the caller's verdict is the call's.
wait $UAS
expect "TCP: sch_voipq's table counted the connection's segments" \
	"^10.2.0.2:5060 tcp .* packets [1-9]" in_ns $RT vqkctl ep dump

# --- SIGHUP during a call: reshape, keep the flows; a bad file changes nothing
call c1r 4040 4042
poll 150 has_flow 10.1.0.2 4040 && ok "reload: a call to reload under" ||
	not_ok "reload: a call to reload under ($(flows))"
mkdir -p /etc/voipq
echo "shape_percent = 80" > /etc/voipq/voipq.conf
kill -HUP $VQD
poll 50 grep -q "configuration reloaded" $VLOG && ok "reload: SIGHUP is logged" ||
	not_ok "reload: SIGHUP is logged"
expect "reload: sch_voipq on the WAN at 80% of the uplink (800000 B/s)" \
	"rate 800000 share 30 " in_ns $RT vqkctl qdisc show wan0
expect "reload: the call's endpoint stays in the kernel's table" "10.1.0.2:4040 " \
	in_ns $RT vqkctl ep dump
expect "reload: and in flows, still the call's" '"why":"sip"' flow 10.1.0.2 4040
echo "shape_percent = lots" > /etc/voipq/voipq.conf
kill -HUP $VQD
poll 50 grep -q "shape_percent.*keeping the running configuration" $VLOG &&
	ok "reload: a file that does not parse is refused, and the log says why" ||
	not_ok "reload: a file that does not parse is refused ($(tail -2 $VLOG))"
expect "reload: the WAN stays at 80%" "rate 800000 share 30 " in_ns $RT vqkctl qdisc show wan0
run "reload: voipqd runs on" kill -0 $VQD
rm -f /etc/voipq/voipq.conf
run "reload: the call hangs up" hangup c1r
poll 30 no_flow 10.1.0.2 4040 && ok "reload: BYE still removes the call's flows" ||
	not_ok "reload: BYE still removes the call's flows ($(flows))"

# --- --keep-datapath, restart adoption, idle expiry, SIGTERM ---------------
run "voipqd stops" vqd_stop
run "voipqd --backend kmod --keep-datapath" vqd -- --backend kmod --keep-datapath
call c2 4020 4022
poll 150 has_flow 10.1.0.2 4020 && ok "second call learned" || not_ok "second call learned ($(flows))"
run "SIGTERM with --keep-datapath" vqd_stop
expect "kept: sch_voipq on the WAN" '^voipq$' root_kind wan0
expect "kept: sch_voipq on the LAN" '^voipq$' root_kind lan0
expect "kept: the call's endpoints in the table" "10.1.0.2:4020 " in_ns $RT vqkctl ep dump
expect "kept: the state file names the backend" "^backend=kmod" cat $VST
run "voipqd restarts (auto)" vqd -- --backend auto
expect "restart: auto stays on the kmod datapath it found" '^kmod$' backend
expect "restart: the kept endpoint is listed, adopted" '"why":"adopted"' flow 10.1.0.2 4020
expect "restart: sch_voipq still the WAN root" '^voipq$' root_kind wan0
poll 150 no_flows && ok "idle entries no call owns expire (idle_timeout 5 s)" ||
	not_ok "idle entries no call owns expire ($(flows))"
grep -q "expired: idle in the datapath" $VLOG && ok "expiry logged" || not_ok "expiry logged"
run "the second call hangs up" hangup c2
run "SIGTERM: voipqd exits 0" vqd_stop
expect "SIGTERM: no sch_voipq on the WAN" '^(noqueue|pfifo_fast|fq_codel|mq)$' root_kind wan0
expect "SIGTERM: no sch_voipq on the LAN" '^(noqueue|pfifo_fast|fq_codel|mq)$' root_kind lan0
run "SIGTERM: no state file" test ! -e $VST
expect "SIGTERM: the table is empty" "^count 0" in_ns $RT vqkctl ep dump

# --- auto -------------------------------------------------------------------
# The guest's init does not let the kernel load modules on demand, as a
# router's would: load what the BPF path uses (HTB; clsact and cls_bpf
# where there is no tcx, as on 6.1).
run "modules of the BPF path" modprobe -a sch_htb sch_ingress cls_bpf
run "voipqd --backend auto as root, --keep-datapath" vqd -- --backend auto --keep-datapath
expect "auto: the guest runs the BPF path, so bpf" '^bpf$' backend
expect "auto: bpf shapes with HTB" '^htb$' root_kind wan0
run "auto/bpf: stopped, datapath kept" vqd_stop
expect "auto/bpf: HTB kept" '^htb$' root_kind wan0
run "voipqd --backend kmod over the kept bpf datapath" vqd -- --backend kmod
expect "the bpf datapath is removed first" "removing the bpf datapath an earlier run left" cat $VLOG
expect "then sch_voipq is the WAN root" '^voipq$' root_kind wan0
run "no pins left" test ! -e /sys/fs/bpf/vqt
run "kmod: SIGTERM" vqd_stop
expect "kmod: removed" '^(noqueue|pfifo_fast|fq_codel|mq)$' root_kind wan0

CONFINED="/tests/setpriv --bounding-set -all,+net_admin,+net_raw"
run "auto confined to CAP_NET_ADMIN + CAP_NET_RAW" vqd $CONFINED -- --backend auto
expect "auto: no BPF without CAP_BPF, so kmod" '^kmod$' backend
expect "auto: why it is not bpf, in the log" "bpf backend unavailable .*Operation not permitted.*trying kmod" cat $VLOG
expect "auto/kmod: sch_voipq on the WAN" '^voipq$' root_kind wan0
run "auto/kmod: SIGTERM" vqd_stop
expect "auto/kmod: removed" '^(noqueue|pfifo_fast|fq_codel|mq)$' root_kind wan0

# Downstream on an IFB fed from the WAN ingress, instead of the LAN egress.
run "modules for an IFB downstream" modprobe -a ifb act_mirred cls_u32
run "voipqd --backend kmod, downstream = ifb" vqd -- --backend kmod --set downstream=ifb
expect "IFB: sch_voipq is the root of ifb-wan0 at 85% of the downlink rate" "rate 850000 share 30 " \
	in_ns $RT vqkctl qdisc show ifb-wan0
run "IFB: a static rule for a far endpoint" voipqctl add 10.2.0.2 4030 -s $VS
(A=$F B=$P load ifb 1 "10.1.0.2 4031 -r -p 50 -S 4030")
in_ns $RT vqkctl qdisc show ifb-wan0 > $OUT
[ "$(field by_table)" -gt 0 ] && [ "$(field packets $R/ifb.4031)" -gt 0 ] &&
	ok "IFB: downstream RTP from the far endpoint is voice there ($(field by_table) by the table)" ||
	not_ok "IFB: downstream RTP from the far endpoint is voice there"
run "IFB: SIGTERM" vqd_stop
run "IFB: the device and the redirect are gone" sh -c \
	"! $IP -n $RT link show ifb-wan0 2>/dev/null && ! $TC -n $RT filter show dev wan0 ingress | grep -q mirred"

run "sch_voipq unloaded" rmmod sch_voipq
refuse "kmod without the module and without modprobe: says what to install" \
	"sch_voipq module is not loaded and 'modprobe sch_voipq' failed: build and install it" \
	in_ns $RT env PATH=/nonexistent /tests/voipqd $VQD_ARGS --backend kmod
refuse "auto with neither: names both and why" \
	"no datapath backend works here — bpf: .*Operation not permitted.*; kmod: .*modprobe sch_voipq" \
	in_ns $RT $CONFINED env PATH=/nonexistent /tests/voipqd $VQD_ARGS --backend auto
expect "nothing left behind by the failed starts" '^(noqueue|pfifo_fast|fq_codel|mq)$' root_kind wan0
run "sch_voipq with room for 2 endpoints" insmod $KO max_endpoints=2
run "voipqd --backend kmod on it" vqd -- --backend kmod
run "two static rules fit" sh -c "voipqctl add 10.2.0.9 4444 -s $VS && voipqctl add 10.2.0.9 4446 -s $VS"
refuse "the third: the kernel's reason reaches voipqctl" \
	"add 10.2.0.9:4448: kernel says: Endpoint table full \(module parameter max_endpoints\)" \
	voipqctl add 10.2.0.9 4448 -s $VS
expect "and voipqd's log" "sch_voipq refused a request: Endpoint table full" cat $VLOG
run "voipqd stops" vqd_stop
run "sch_voipq unloaded again" rmmod sch_voipq
run "insmod again" insmod $KO
$IP netns del $P; $IP netns del $RT; $IP netns del $F
