# SPDX-License-Identifier: GPL-2.0
# Lifecycle under load: unload refused while in use, load/unload cycles
# with entries present and traffic flowing, concurrent writers, namespaces
# torn down with entries and a qdisc in them.

# traffic SECS: voice (with its entry) and bulk from A to B, in the background.
traffic() {
	in_ns $B vqtraffic recv 4000 -s $(($1 + 1)) > /dev/null 2>&1 &
	in_ns $B vqtraffic recv 5001 -s $(($1 + 1)) > /dev/null 2>&1 &
	in_ns $A vqtraffic send 10.0.0.2 4000 -r -p 500 -s $1 > /dev/null 2>&1 &
	in_ns $A vqtraffic send 10.0.0.2 5001 -f 4 -l 1200 -s $1 > /dev/null 2>&1 &
}

run "qdisc for lifecycle" in_ns $A vqkctl qdisc add a0 rate 20mbit
refuse "rmmod refused while a qdisc uses the module" "in use|unavailable|busy|Resource" rmmod sch_voipq
run "qdisc del" in_ns $A vqkctl qdisc del a0

cycles_ok=1
for i in 1 2 3; do
	{ in_ns $A vqkctl qdisc add a0 rate 20mbit &&
	  in_ns $A vqkctl ep set 10.0.0.2 4000 &&
	  in_ns $A vqkctl ep fill 200 &&
	  in_ns $B vqkctl ep fill 50; } > $OUT 2>&1 || { cycles_ok=0; break; }
	traffic 2
	sleep 1
	# Pull the qdisc out from under the traffic, then the module.
	in_ns $A vqkctl qdisc del a0 >> $OUT 2>&1 || { cycles_ok=0; break; }
	rmmod sch_voipq >> $OUT 2>&1 || { cycles_ok=0; break; }
	wait
	insmod $KO >> $OUT 2>&1 || { cycles_ok=0; break; }
	in_ns $A vqkctl ep dump | grep -q '^count 0' || { cycles_ok=0; break; }
done
[ $cycles_ok = 1 ] && ok "3 load/unload cycles with entries and traffic" ||
	not_ok "load/unload cycles (cycle $i)"

# Writers racing each other and the datapath.
run "qdisc for churn" in_ns $A vqkctl qdisc add a0 rate 20mbit
traffic 4
in_ns $A vqkctl ep churn 4 > /tmp/churn1 2>&1 &
in_ns $A vqkctl ep churn 4 > /tmp/churn2 2>&1 &
end=$(( $(date +%s) + 4 ))
flips=0
while [ $(date +%s) -lt $end ]; do
	in_ns $A vqkctl ep set 10.0.0.2 4000 > /dev/null 2>&1
	in_ns $A vqkctl ep del 10.0.0.2 4000 > /dev/null 2>&1
	in_ns $A vqkctl ep flush > /dev/null 2>&1
	flips=$((flips + 1))
done
wait
cat /tmp/churn1 /tmp/churn2 > $OUT
grep -q "churn" /tmp/churn1 && grep -q "churn" /tmp/churn2 &&
	ok "concurrent add/del/flush during traffic: $(cat /tmp/churn1 /tmp/churn2 | tr '\n' ' ')+ $flips flips" ||
	not_ok "concurrent add/del/flush during traffic"
expect "the qdisc still answers" "qdisc voipq rate 2500000" in_ns $A vqkctl qdisc show a0

# A namespace dies with entries and a qdisc in it.
M=$(rand); C=vqc$M; D=vqd$M
run "second pair" pair $C $D
run "qdisc in C" in_ns $C vqkctl qdisc add a0 rate 10mbit
run "entries in C" in_ns $C vqkctl ep fill 100
in_ns $D vqtraffic recv 5001 -s 2 > /dev/null 2>&1 &
in_ns $C vqtraffic send 10.0.0.2 5001 -f 2 -s 1 > /dev/null 2>&1
wait
run "delete namespaces with entries" sh -c "$IP netns del $C && $IP netns del $D"
sleep 1
expect "A's table survives C's death" "^count" in_ns $A vqkctl ep dump

run "qdisc del" in_ns $A vqkctl qdisc del a0
run "entries left in A and B at unload" sh -c "vqkctl ep fill 10 && $IP netns exec $A vqkctl ep fill 10"
run "rmmod with entries in several namespaces" rmmod sch_voipq
run "insmod again" insmod $KO
expect "tables start empty" "^count 0" in_ns $A vqkctl ep dump
