# SPDX-License-Identifier: GPL-2.0
# sch_voipq's benchmark, all in one guest boot so the ratios compare like
# with like: packets per second through a veth pair under sch_voipq,
# fq_codel, HTB+fq_codel and tbf with the same load; then voice one-way delay
# under a flood at a shaped rate, sch_voipq against fq_codel. Prints BENCH
# lines ("BENCH name value unit target ...").
. /tests/lib.sh

modprobe veth
modprobe sch_htb
modprobe sch_tbf
insmod $KO
N=$(rand); A=vqa$N; B=vqb$N
pair $A $B || { echo "bench: no veth pair"; exit 1; }

qdisc() { # KIND [RATE]: the root qdisc on a0
	$TC -n $A qdisc del dev a0 root > /dev/null 2>&1
	case $1 in
	voipq)
		in_ns $A vqkctl qdisc add a0 rate $2 ;;
	fq_codel)
		$TC -n $A qdisc add dev a0 root fq_codel ;;
	htb_fq_codel)
		$TC -n $A qdisc add dev a0 root handle 1: htb default 20 &&
		$TC -n $A class add dev a0 parent 1: classid 1:20 htb rate $2 &&
		$TC -n $A qdisc add dev a0 parent 1:20 fq_codel ;;
	tbf)
		$TC -n $A qdisc add dev a0 root tbf rate $2 burst 1mb limit 1mb ;;
	esac
}

# pps KIND: small packets, 8 flows, as fast as the sender goes, 3 s.
pps() {
	in_ns $B vqtraffic recv 5001 -s 5 > /tmp/pps.out &
	sleep 1
	in_ns $A vqtraffic send 10.0.0.2 5001 -f 8 -l 64 -s 3 > /dev/null
	wait
	field pps /tmp/pps.out
}

echo "# clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource), $(nproc) vCPUs"
qdisc voipq 10gbit; echo "# pps voipq, empty table: $(pps)"
# The table holds calls that this load never matches: a lookup per packet.
in_ns $A vqkctl ep fill 100
# Rounds alternate the four so that drift in the guest hits all alike.
# TCG's pps swings by a fifth from one run to the next, so each ratio is
# the median of the rounds' own ratios, each between runs a few seconds
# apart, and each pps the median of its runs.
# An empty fq_codel lets packets bypass it (TCQ_F_CAN_BYPASS: straight to
# the device, no enqueue or dequeue); a shaper cannot, so sch_voipq, HTB
# and tbf run every packet through theirs. The rounds print how many
# flows fq_codel's enqueue started (new_flow_count, 0: it never ran) of
# the packets it sent, to tell which case this load was. tbf, the
# kernel's plainest shaper (one FIFO, no classification), shows what
# running every packet through a qdisc costs on this device by itself.
ROUNDS=9
: > /tmp/pps.all
round=1
while [ $round -le $ROUNDS ]; do
	qdisc voipq 10gbit; v=$(pps)
	qdisc fq_codel; f=$(pps)
	$TC -n $A -s qdisc show dev a0 > /tmp/fq.stats
	qdisc htb_fq_codel 10gbit; h=$(pps)
	qdisc tbf 10gbit; t=$(pps)
	echo "$v $f $h $t" >> /tmp/pps.all
	echo "# round $round: pps voipq $v fq_codel $f htb+fq_codel $h tbf $t;" \
		"fq_codel new_flow_count $(field new_flow_count /tmp/fq.stats)" \
		"of $(field bytes /tmp/fq.stats) packets"
	round=$((round + 1))
done
# med EXPR: the median over the rounds of an awk expression of a round's
# pps ($1 voipq, $2 fq_codel, $3 HTB+fq_codel, $4 tbf).
med() {
	awk "{ x = $1; printf \"%.4f\\n\", x }" /tmp/pps.all | sort -n |
		sed -n "$(((ROUNDS + 1) / 2))p"
}
ratio() { awk -v x="$(med "$2 ? $1 / $2 : 0")" 'BEGIN { printf "%.2f", x }'; }
echo "BENCH kmod_pps_voipq $(med '$1' | cut -d. -f1) pps (64-byte UDP, 8 flows, veth, median of $ROUNDS)"
echo "BENCH kmod_pps_fq_codel $(med '$2' | cut -d. -f1) pps"
echo "BENCH kmod_pps_htb_fq_codel $(med '$3' | cut -d. -f1) pps"
echo "BENCH kmod_pps_tbf $(med '$4' | cut -d. -f1) pps"
echo "BENCH kmod_pps_ratio_voipq_over_fq_codel $(ratio '$1' '$2') x target >= 0.9"
echo "BENCH kmod_pps_ratio_voipq_over_htb_fq_codel $(ratio '$1' '$3') x"
echo "BENCH kmod_pps_ratio_tbf_over_fq_codel $(ratio '$4' '$2') x"
echo "BENCH kmod_pps_ratio_voipq_over_tbf $(ratio '$1' '$4') x"

# Voice under a flood at 8 Mbit/s. A veth never pushes back, so fq_codel
# alone would hold no queue at all: it gets the same rate from HTB, as a
# router running it would. The voice endpoint is in sch_voipq's table.
delay() { # KIND VOICE_ARGS
	qdisc $1 8mbit
	in_ns $B vqtraffic recv 5001 -s 6 > /dev/null &
	in_ns $B vqtraffic recv 4000 -s 6 > /tmp/delay.out &
	sleep 1
	in_ns $A vqtraffic send 10.0.0.2 5001 -f 16 -l 1200 -s 4 > /dev/null &
	in_ns $A vqtraffic send 10.0.0.2 4000 -r $2 -s 4 > /dev/null &
	wait
	echo "$(field delay_p50_us /tmp/delay.out) $(field delay_p99_us /tmp/delay.out) $(field rtp_lost /tmp/delay.out) $(field packets /tmp/delay.out)"
}
in_ns $A vqkctl ep set 10.0.0.2 4000 clock 8000
for load in "g711:-p 50 -l 200" "heavy:-p 500 -l 200"; do
	name=${load%%:*}; args=${load#*:}
	set -- $(delay voipq "$args"); vp50=$1 vp99=$2 vlost=$3 vgot=$4
	set -- $(delay htb_fq_codel "$args"); fp50=$1 fp99=$2 flost=$3 fgot=$4
	echo "# $name voice: voipq p50 ${vp50}us p99 ${vp99}us lost $vlost of $((vgot + vlost)); fq_codel p50 ${fp50}us p99 ${fp99}us lost $flost of $((fgot + flost))"
	echo "BENCH kmod_voice_owd_p99_ms_${name}_voipq $(awk -v a=$vp99 'BEGIN { printf "%.1f", a / 1000 }') ms (8 Mbit/s, 16 bulk flows)"
	echo "BENCH kmod_voice_owd_p99_ms_${name}_fq_codel $(awk -v a=$fp99 'BEGIN { printf "%.1f", a / 1000 }') ms"
	echo "BENCH kmod_voice_loss_${name}_voipq $vlost packets"
	echo "BENCH kmod_voice_loss_${name}_fq_codel $flost packets"
done
dmesg_check
summary
