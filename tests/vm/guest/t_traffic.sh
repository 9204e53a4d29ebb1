# SPDX-License-Identifier: GPL-2.0
# Traffic from namespace A through sch_voipq on a0 to namespace B: UDP, and
# a TCP stream for GSO at the end;
# the assertions are contrasts that hold on a slow, noisy TCG guest.

R=/tmp/r
mkdir -p $R

# load NAME SECS "SENDER ARGS"... : receivers on each sender's port in B,
# senders in A, all for SECS; results in $R/NAME.<port>. $WINDOW, if set,
# counts only what arrived while the senders ran, not the queues draining.
load() {
	lname=$1; secs=$2; shift 2
	for s in "$@"; do
		port=$(echo $s | awk '{print $2}')
		in_ns $B vqtraffic recv $port -s $((secs + 2)) ${WINDOW:+-w $WINDOW} \
			> $R/$lname.$port 2>&1 &
	done
	sleep 1
	for s in "$@"; do
		in_ns $A vqtraffic send $s -s $secs > /dev/null 2>&1 &
	done
	wait
}

BULK16="10.0.0.2 5001 -f 16 -l 1200"
VOICE="10.0.0.2 4000 -r -p 500 -l 200"

run "qdisc for traffic: 8 Mbit/s, voice share 30%" \
	in_ns $A vqkctl qdisc add a0 rate 8mbit share 30 limit 4000

# Voice above its fair share of 17 flows: loses without an entry, not with.
in_ns $A vqkctl ep flush
load noentry 3 "$BULK16" "$VOICE"
lost0=$(field rtp_lost $R/noentry.4000); got0=$(field packets $R/noentry.4000)
p99_0=$(field delay_p99_us $R/noentry.4000); p50_0=$(field delay_p50_us $R/noentry.4000)
run "voice endpoint installed" in_ns $A vqkctl ep set 10.0.0.2 4000 clock 8000
load entry 3 "$BULK16" "$VOICE"
lost1=$(field rtp_lost $R/entry.4000); got1=$(field packets $R/entry.4000)
p99_1=$(field delay_p99_us $R/entry.4000); p50_1=$(field delay_p50_us $R/entry.4000)
bulk1=$(field packets $R/entry.5001)
echo "# voice without entry: received $got0 lost $lost0 p50 ${p50_0}us p99 ${p99_0}us; with: received $got1 lost $lost1 p50 ${p50_1}us p99 ${p99_1}us; bulk $bulk1"
no_loss "voice with an entry" $R/entry.4000 500
[ "${lost0:-0}" -ge $(( (got0 + lost0) / 10 )) ] && [ "${lost0:-0}" -gt 0 ] &&
	ok "voice without an entry: loses its excess in fair queueing ($lost0 of $((got0 + lost0)))" ||
	not_ok "voice without an entry: loses its excess ($lost0 of $((got0 + lost0)))"
# The median: TCG's scheduling noise lands in the tail of both runs.
[ "${p50_1:-999999}" -lt "${p50_0:-0}" ] &&
	ok "voice median delay lower with the entry (${p50_1}us < ${p50_0}us)" ||
	not_ok "voice median delay lower with the entry (${p50_1}us vs ${p50_0}us)"
[ "${bulk1:-0}" -gt 500 ] && ok "bulk still flows ($bulk1 packets)" || not_ok "bulk still flows ($bulk1)"
in_ns $A vqkctl qdisc show a0 > $OUT
[ "$(field by_table)" -gt 0 ] && [ "$(field voice_packets)" -gt 0 ] &&
	ok "xstats count table hits ($(field by_table)) and voice packets" ||
	not_ok "xstats count table hits"
in_ns $A vqkctl ep get 10.0.0.2 4000 > $OUT
pk=$(field packets); rr=$(field rtp_received); rl=$(field rtp_lost); jq=$(field jitter_q4)
echo "# endpoint: packets $pk rtp_received $rr rtp_lost $rl jitter_q4 $jq last_seen $(field last_seen)"
[ "$pk" -ge "$got1" ] && [ "$rr" -gt 0 ] && [ "$rl" -eq 0 ] && [ "$(field last_seen)" -gt 0 ] &&
	ok "per-endpoint stats: packets, RTP received, no loss, last seen" ||
	not_ok "per-endpoint stats ($(cat $OUT))"

# Bulk flows each get a queue of their own, over IPv4 and IPv6: counted
# while 16 flows hold a queue at 8 Mbit/s. 16 flows hashed into 1024
# queues share one now and then; all in a few would mean a broken hash.
for dst in 10.0.0.2 fd00::2; do
	in_ns $B vqtraffic recv 5003 -s 4 > /dev/null 2>&1 &
	sleep 1
	in_ns $A vqtraffic send $dst 5003 -f 16 -l 1200 -s 2 > /dev/null 2>&1 &
	sleep 1
	in_ns $A vqkctl qdisc show a0 > $OUT
	wait
	nf=$(( $(field new_flows_len) + $(field old_flows_len) ))
	[ "$nf" -ge 13 ] && [ "$nf" -le 16 ] &&
		ok "16 bulk flows to $dst in $nf queues" ||
		not_ok "16 bulk flows to $dst in $nf queues ($(cat $OUT))"
done

# RTP loss as the receiver counts it: the sender skips every 10th number.
run "fresh voice endpoint" sh -c "$IP netns exec $A vqkctl ep del 10.0.0.2 4000 && $IP netns exec $A vqkctl ep set 10.0.0.2 4000"
in_ns $B vqtraffic recv 4000 -s 3 > $R/gap.4000 2>&1 &
sleep 1
in_ns $A vqtraffic send 10.0.0.2 4000 -r -p 200 -G 10 -s 1 > $R/gap.send 2>&1
wait
gaps=$(field gaps $R/gap.send); rlost=$(field rtp_lost $R/gap.4000)
in_ns $A vqkctl ep get 10.0.0.2 4000 > $OUT
klost=$(field rtp_lost)
[ "$gaps" -gt 5 ] && [ "$klost" = "$gaps" ] && [ "$rlost" = "$gaps" ] &&
	ok "RTP loss in the kernel = at the receiver = skipped numbers ($klost)" ||
	not_ok "RTP loss: kernel $klost, receiver $rlost, skipped $gaps"

# A static prefix rule covers a stream no endpoint matches; where an
# endpoint does, the endpoint wins.
pfx_packets() {
	in_ns $A vqkctl ep dump |
		awk '$1 == "10.0.0.0/24:4000" { for (i = 2; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}
in_ns $A vqkctl ep del 10.0.0.2 4000
run "prefix rule 10.0.0.0/24, port 4000, instead of the endpoint" \
	in_ns $A vqkctl ep set 10.0.0.0/24 4000 clock 8000
load prefix 3 "$BULK16" "$VOICE"
no_loss "voice matched by a prefix rule" $R/prefix.4000 500
pp=$(pfx_packets)
[ "${pp:-0}" -ge "$(field packets $R/prefix.4000)" ] &&
	ok "the prefix rule counted the stream (${pp} packets)" ||
	not_ok "the prefix rule counted the stream (${pp:-none})"
run "the endpoint back beside the prefix rule" in_ns $A vqkctl ep set 10.0.0.2 4000
load both 1 "$VOICE"
in_ns $A vqkctl ep get 10.0.0.2 4000 > $OUT
[ "$(pfx_packets)" = "$pp" ] && [ "$(field packets)" -gt 0 ] &&
	ok "the endpoint wins over the prefix rule ($(field packets) packets; the rule's stayed $pp)" ||
	not_ok "the endpoint wins over the prefix rule (rule $(pfx_packets), was $pp; endpoint $(field packets))"
run "prefix rule del" in_ns $A vqkctl ep del 10.0.0.0/24 4000

# Voice over the cap: bulk keeps at least about its share.
run "voice share 20%" in_ns $A vqkctl qdisc change a0 share 20
WINDOW=2.5 load cap 3 "10.0.0.2 5001 -f 8 -l 1200" "10.0.0.2 4000 -f 8 -l 1200 -p 3000"
unset WINDOW
vb=$(field bytes $R/cap.4000); bb=$(field bytes $R/cap.5001)
tot=$((vb + bb))
in_ns $A vqkctl qdisc show a0 > $OUT
echo "# voice flood over the cap: voice $vb bytes, bulk $bb bytes; sent over the cap on an idle bulk band: $(field voice_over_cap) packets"
# A little short of 80% is allowed: voice may use what bulk leaves idle,
# and a TCG guest's senders leave some.
[ $tot -gt 0 ] && [ $((bb * 100 / tot)) -ge 72 ] &&
	ok "bulk keeps its share when voice floods: $((bb * 100 / tot))% (>= 72%, configured 80%)" ||
	not_ok "bulk keeps its share when voice floods: $((bb * 100 / (tot + 1)))%"
[ $tot -gt 0 ] && [ $((vb * 100 / tot)) -ge 12 ] &&
	ok "voice still gets its cap: $((vb * 100 / tot))%" ||
	not_ok "voice still gets its cap: $((vb * 100 / (tot + 1)))%"
in_ns $A vqkctl qdisc show a0 > $OUT
vd=$(field voice_drops)
in_ns $A vqkctl ep get 10.0.0.2 4000 > $OUT
[ "$vd" -gt 0 ] && [ "$(field drops)" -gt 0 ] &&
	ok "voice band overflow counted ($vd in xstats, $(field drops) on the endpoint)" ||
	not_ok "voice band overflow counted ($vd)"

# Per-endpoint budget: excess is demoted to bulk and counted.
run "endpoint with a 2 kB/s budget" in_ns $A vqkctl ep set 10.0.0.2 4000 rate 2000 burst 1000
load budget 2 "$VOICE"
in_ns $A vqkctl ep get 10.0.0.2 4000 > $OUT
[ "$(field demoted)" -gt 100 ] && ok "over-budget packets demoted ($(field demoted))" ||
	not_ok "over-budget packets demoted ($(cat $OUT))"
in_ns $A vqkctl ep flush

# ECN: ECT bulk is marked, not dropped; with ecn 0 it is dropped instead.
run "share 30, ecn on" in_ns $A vqkctl qdisc change a0 share 30 ecn 1
load ecn 3 "10.0.0.2 5001 -f 8 -l 1200 -t 2"
ce=$(field ce $R/ecn.5001)
in_ns $A vqkctl qdisc show a0 > $OUT
[ "${ce:-0}" -gt 0 ] && [ "$(field ecn_marks)" -gt 0 ] &&
	ok "ECN: CE marks seen on ECT bulk ($ce at the receiver, $(field ecn_marks) in xstats)" ||
	not_ok "ECN: CE marks seen on ECT bulk (ce $ce, $(cat $OUT))"
run "ecn off" in_ns $A vqkctl qdisc change a0 ecn 0
in_ns $A vqkctl qdisc show a0 > $OUT; cd0=$(field codel_drops)
load noecn 3 "10.0.0.2 5001 -f 8 -l 1200 -t 2"
ce=$(field ce $R/noecn.5001)
in_ns $A vqkctl qdisc show a0 > $OUT
[ "${ce:-1}" -eq 0 ] && [ "$(field codel_drops)" -gt "$cd0" ] &&
	ok "ECN off: no marks, CoDel drops instead" || not_ok "ECN off: no marks (ce $ce)"

# The other classifiers: skb->priority (the BPF hand-off), EF with trust_dscp, IPv6.
in_ns $A vqkctl qdisc show a0 > $OUT; n0=$(field by_priority)
load prio 1 "10.0.0.2 6000 -p 200 -P 0x10010"
in_ns $A vqkctl qdisc show a0 > $OUT
[ "$(field by_priority)" -gt "$n0" ] && ok "skb->priority 1:10 is voice ($(field by_priority))" ||
	not_ok "skb->priority 1:10 is voice"
in_ns $A vqkctl qdisc show a0 > $OUT; n0=$(field by_dscp)
load ef 1 "10.0.0.2 6000 -p 200 -t 0xb8"
in_ns $A vqkctl qdisc show a0 > $OUT
[ "$(field by_dscp)" -eq "$n0" ] && ok "EF ignored without trust_dscp" || not_ok "EF ignored without trust_dscp"
run "trust_dscp on" in_ns $A vqkctl qdisc change a0 trust_dscp 1
load ef2 1 "10.0.0.2 6000 -p 200 -t 0xb8"
in_ns $A vqkctl qdisc show a0 > $OUT
[ "$(field by_dscp)" -gt "$n0" ] && ok "EF is voice with trust_dscp ($(field by_dscp))" ||
	not_ok "EF is voice with trust_dscp"
run "IPv6 endpoint" in_ns $A vqkctl ep set fd00::2 4006
in_ns $A vqkctl qdisc show a0 > $OUT; n0=$(field by_table)
load v6 1 "fd00::2 4006 -p 200 -r"
in_ns $A vqkctl qdisc show a0 > $OUT
[ "$(field by_table)" -gt "$n0" ] && ok "IPv6 endpoint matched ($(field by_table))" ||
	not_ok "IPv6 endpoint matched"
run "source match: the endpoint is A's own" in_ns $A vqkctl ep set 10.0.0.1 7000
in_ns $A vqkctl qdisc show a0 > $OUT; n0=$(field by_table)
load src 1 "10.0.0.2 7001 -p 200 -S 7000 -r"
in_ns $A vqkctl qdisc show a0 > $OUT
[ "$(field by_table)" -gt "$n0" ] && ok "source endpoint matched ($(field by_table))" ||
	not_ok "source endpoint matched"
# What the endpoint sends is the stream from it, never the one to it.
in_ns $A vqkctl ep get 10.0.0.1 7000 > $OUT
[ "$(field rtp_from_received)" -gt 0 ] && [ "$(field rtp_received)" -eq 0 ] &&
	ok "source match: RTP counted as the stream from the endpoint ($(field rtp_from_received))" ||
	not_ok "source match: RTP counted from the endpoint ($(cat $OUT))"
in_ns $A vqkctl ep flush

# A smaller limit with both bands queued: bulk's fattest flows go first,
# then voice's oldest, counted as voice drops, not as voice sent; tc's
# backlog stays the two bands' sums, and drains to nothing.
# tc_backlog: tc's backlog of a0's voipq, "BYTES PACKETS"; fails unless
# they are the bands' sums in its xstats (JSON: no units to parse).
tc_backlog() {
	$TC -n $A -s -j qdisc show dev a0 | jq -r '.[] | select(.kind == "voipq") |
		"\(.backlog) \(.qlen) \(.voice_backlog + .bulk_backlog) \(.voice_qlen + .bulk_qlen)"' > $OUT
	read -r tb tp sb sp < $OUT
	echo "$tb $tp"
	[ -n "$tb" ] && [ "$tb" = "$sb" ] && [ "$tp" = "$sp" ]
}
run "16 kbit/s, limit 1024: both bands fill" in_ns $A vqkctl qdisc change a0 rate 2000 limit 1024
in_ns $A vqtraffic send 10.0.0.2 5001 -f 32 -l 1200 -s 2 > /dev/null 2>&1 &
in_ns $A vqtraffic send 10.0.0.2 6000 -p 1000 -l 200 -P 0x10010 -s 2 > /dev/null 2>&1 &
wait
in_ns $A vqkctl qdisc show a0 > $OUT
vq=$(field voice_qlen); bq=$(field bulk_qlen); vp=$(field voice_packets)
vd=$(field voice_drops); od=$(field overlimit_drops)
[ "$vq" -ge 64 ] && [ "$bq" -ge 256 ] && ok "both bands queued: $vq voice, $bq bulk" ||
	not_ok "both bands queued: $vq voice, $bq bulk"
run "limit 1024 -> 16" in_ns $A vqkctl qdisc change a0 limit 16
in_ns $A vqkctl qdisc show a0 > $OUT
echo "# limit 16: voice_qlen $(field voice_qlen) bulk_qlen $(field bulk_qlen); voice sent +$(($(field voice_packets) - vp)), voice drops +$(($(field voice_drops) - vd)), overlimit drops +$(($(field overlimit_drops) - od))"
[ $(($(field voice_qlen) + $(field bulk_qlen))) -le 16 ] && [ "$(field bulk_qlen)" -eq 0 ] &&
	ok "the qdisc holds at most 16, bulk dropped first" ||
	not_ok "the qdisc holds at most 16, bulk dropped first ($(cat $OUT))"
[ $(($(field voice_packets) - vp)) -lt 20 ] && [ $(($(field voice_drops) - vd)) -ge 40 ] &&
	[ $(($(field overlimit_drops) - od)) -ge $((bq / 2)) ] &&
	ok "the shrink's voice drops are drops, not voice sent" ||
	not_ok "the shrink's voice drops are drops, not voice sent ($(cat $OUT))"
bl=$(tc_backlog) && ok "tc's backlog is the bands' sums ($bl)" ||
	not_ok "tc's backlog is the bands' sums ($bl; $(cat $OUT))"
run "1 Gbit/s: the rest drains" in_ns $A vqkctl qdisc change a0 rate 1gbit
sleep 2
bl=$(tc_backlog) && [ "$bl" = "0 0" ] && ok "drained to 0b 0p, both bands empty" ||
	not_ok "drained to 0b 0p, both bands empty ($bl; $(cat $OUT))"
run "qdisc del after traffic" in_ns $A vqkctl qdisc del a0

# sch_voipq as HTB's leaf, HTB shaping, CoDel dropping (ecn off, target
# 1 ms). CoDel keeps at least an MTU's worth queued, the MTU of the device
# when the qdisc was made, but a packet can be larger (GSO, or here the
# MTU raised to 1600 since): then a round can drop packets and send the
# last one, leaving q.qlen 0 with drops to report, which dequeue must
# leave for a later round (HTB's qlen_notify would deactivate the class
# HTB is dequeuing from). The dmesg check catches a WARN in HTB.
run "HTB at 4 Mbit/s, voipq leaf with ecn off and a 1 ms target" sh -c "
	modprobe sch_htb && $TC -n $A qdisc add dev a0 root handle 1: htb default 10 &&
	$TC -n $A class add dev a0 parent 1: classid 1:10 htb rate 4mbit &&
	$TC -n $A qdisc add dev a0 parent 1:10 handle 10: voipq rate 1gbit noecn target 1ms interval 10ms"
run "MTU 1600 on both ends" sh -c "$IP -n $A link set a0 mtu 1600 && $IP -n $B link set b0 mtu 1600"
for i in 1 2 3; do
	in_ns $A vqtraffic send 10.0.0.2 5001 -f 4 -l 1500 -s 1 > /dev/null 2>&1
	sleep 1
done
$TC -n $A -s -j qdisc show dev a0 > $OUT
echo "# under HTB:" $(jq -r '.[] | "\(.kind) backlog \(.backlog)b \(.qlen)p dropped \(.drops)"' $OUT)
drops=$(jq '.[] | select(.kind == "voipq") | .codel_drops' $OUT)
[ "${drops:-0}" -gt 0 ] && ok "CoDel drops under HTB ($drops)" || not_ok "CoDel drops under HTB ($(cat $OUT))"
[ "$(jq -r '.[] | select(.kind == "voipq") | "\(.backlog) \(.qlen)"' $OUT)" = "0 0" ] &&
	ok "the leaf drained to 0b 0p" || not_ok "the leaf drained to 0b 0p ($(cat $OUT))"
run "HTB tree deleted, MTU 1500 again" sh -c "$TC -n $A qdisc del dev a0 root &&
	$IP -n $A link set a0 mtu 1500 && $IP -n $B link set b0 mtu 1500"

# TCP on a veth with TSO (the default) hands the qdisc GSO packets of up to
# 64 KB. Below 1 Gbit/s sch_voipq cuts them into their segments, so the
# shaper and the flows see wire-sized packets; at 10 Gbit/s it keeps them
# whole, which shows the load really was GSO.
gso_run() { # RATE: a TCP stream through sch_voipq at RATE; xstats in $OUT
	in_ns $A vqkctl qdisc add a0 rate $1
	in_ns $B vqtraffic sink 5201 -s 6 > $R/sink.$1 &
	sleep 1
	in_ns $A vqtraffic stream 10.0.0.2 5201 -s 2
	wait
	in_ns $A vqkctl qdisc show a0 > $OUT
	in_ns $A vqkctl qdisc del a0
	split=$(field gso_split); bp=$(field bulk_packets); bb=$(field bulk_bytes)
	got=$(field bytes $R/sink.$1)
	echo "# TCP at $1: received ${got:-0} bytes; bulk $bp packets, $bb bytes; $split GSO packets cut"
}
gso_run 8mbit
[ "${split:-0}" -gt 0 ] && [ "${bp:-0}" -gt 0 ] && [ $((bb / bp)) -le 1514 ] &&
	[ "${got:-0}" -gt 100000 ] &&
	ok "8 Mbit/s: GSO packets are cut into segments ($split cut, bulk averages $((bb / bp)) bytes)" ||
	not_ok "8 Mbit/s: GSO packets are cut into segments (split ${split:-?}, $bp packets, $bb bytes, got ${got:-0})"
gso_run 10gbit
[ "${split:-1}" -eq 0 ] && [ "${bp:-0}" -gt 0 ] && [ $((bb / bp)) -gt 1514 ] &&
	ok "10 Gbit/s: GSO packets stay whole (bulk averages $((bb / bp)) bytes)" ||
	not_ok "10 Gbit/s: GSO packets stay whole (split ${split:-?}, $bp packets, $bb bytes)"
