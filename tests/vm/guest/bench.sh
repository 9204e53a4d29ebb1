# SPDX-License-Identifier: GPL-2.0
# sch_voipq's benchmark, all in one guest boot so the ratios compare like
# with like: packets per second through a veth pair under sch_voipq,
# fq_codel and HTB+fq_codel with the same load; then voice one-way delay
# under a flood at a shaped rate, sch_voipq against fq_codel. Prints BENCH
# lines ("BENCH name value unit target ...").
. /tests/lib.sh

modprobe veth
modprobe sch_htb
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
# Rounds alternate the three so that drift in the guest hits all alike;
# the median of each is reported (TCG's pps swings by a fifth run to run).
# An empty fq_codel lets packets bypass it (TCQ_F_CAN_BYPASS: straight to
# the device, no enqueue or dequeue); a shaper cannot, so sch_voipq and
# HTB run every packet through theirs. The rounds print how many flows
# fq_codel's enqueue started (new_flow_count, 0: it never ran) of the
# packets it sent, to tell which case this load was.
: > /tmp/pps.voipq; : > /tmp/pps.fq; : > /tmp/pps.htb
for round in 1 2 3 4 5; do
	qdisc voipq 10gbit; v=$(pps); echo $v >> /tmp/pps.voipq
	qdisc fq_codel; f=$(pps); echo $f >> /tmp/pps.fq
	$TC -n $A -s qdisc show dev a0 > /tmp/fq.stats
	qdisc htb_fq_codel 10gbit; h=$(pps); echo $h >> /tmp/pps.htb
	echo "# round $round: pps voipq $v fq_codel $f htb+fq_codel $h;" \
		"fq_codel new_flow_count $(field new_flow_count /tmp/fq.stats)" \
		"of $(field bytes /tmp/fq.stats) packets"
done
median() { sort -n $1 | sed -n 3p; }
m_voipq=$(median /tmp/pps.voipq); m_fq=$(median /tmp/pps.fq); m_htb=$(median /tmp/pps.htb)
echo "BENCH kmod_pps_voipq $m_voipq pps (64-byte UDP, 8 flows, veth, median of 5)"
echo "BENCH kmod_pps_fq_codel $m_fq pps"
echo "BENCH kmod_pps_htb_fq_codel $m_htb pps"
echo "BENCH kmod_pps_ratio_voipq_over_fq_codel $(awk -v a=$m_voipq -v b=$m_fq 'BEGIN { printf "%.2f", b ? a / b : 0 }') x target >= 0.9"
echo "BENCH kmod_pps_ratio_voipq_over_htb_fq_codel $(awk -v a=$m_voipq -v b=$m_htb 'BEGIN { printf "%.2f", b ? a / b : 0 }') x"

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
	echo "BENCH kmod_voice_loss_${name}_voipq $vlost packets; fq_codel $flost packets"
done
dmesg_check
summary
