# SPDX-License-Identifier: GPL-2.0
# sch_voipq inside the VM: load, qdisc round trips, voipq as the default
# qdisc, the netlink ABI, namespaces, permissions, traffic, load/unload,
# voipqd on the kmod backend (and auto), and the dmesg check.
. /tests/lib.sh

modprobe veth
run "module loads" insmod $KO
expect "genl family voipq resolves, table empty" "^count 0" vqkctl ep dump
N=$(rand); A=vqa$N; B=vqb$N
run "namespaces with a veth pair" pair $A $B

# --- qdisc round trips (tc-testing style: command, verify, teardown) -------
run "qdisc add with options" in_ns $A vqkctl qdisc add a0 rate 10mbit share 20 limit 2000 target 3000 interval 60000 ecn 1 trust_dscp 1
expect "qdisc show gives the options back" \
	"rate 1250000 share 20 limit 2000 target 3000 interval 60000 ecn 1 trust_dscp 1" \
	in_ns $A vqkctl qdisc show a0
expect "tc shows the qdisc" "qdisc voipq 1: root" in_ns $A $TC -s qdisc show dev a0
run "qdisc change one option" in_ns $A vqkctl qdisc change a0 share 40
expect "change keeps the rest" "rate 1250000 share 40 limit 2000 target 3000" \
	in_ns $A vqkctl qdisc show a0
refuse "change: share out of range" "kernel says: .*range" in_ns $A vqkctl qdisc change a0 share 95
refuse "change: target above interval" "kernel says: CoDel target must be below its interval" \
	in_ns $A vqkctl qdisc change a0 target 70000
expect "rejected changes changed nothing" "share 40 limit 2000 target 3000 interval 60000" \
	in_ns $A vqkctl qdisc show a0
run "qdisc del" in_ns $A vqkctl qdisc del a0
refuse "show after del" "No such file" in_ns $A vqkctl qdisc show a0
refuse "add without a rate" "kernel says: .*rate is required" in_ns $A vqkctl qdisc add a0 share 10
refuse "add: rate below the minimum" "kernel says: .*range" in_ns $A vqkctl qdisc add a0 rate 999
refuse "add: limit too small" "kernel says: .*range" in_ns $A vqkctl qdisc add a0 rate 1mbit limit 15
refuse "add: ecn not a boolean" "kernel says: .*range" in_ns $A vqkctl qdisc add a0 rate 1mbit ecn 2
refuse "add: target below 100us" "kernel says: .*range" in_ns $A vqkctl qdisc add a0 rate 1mbit target 99
expect "no qdisc left behind by rejected adds" "noqueue|pfifo_fast|fq_codel|mq" in_ns $A $TC qdisc show dev a0
run "qdisc add defaults" in_ns $A vqkctl qdisc add a0 rate 1gbit
expect "defaults" "share 30 limit 10240 target 5000 interval 100000 ecn 1 trust_dscp 0" \
	in_ns $A vqkctl qdisc show a0
refuse "add twice" "File exists" in_ns $A vqkctl qdisc add a0 rate 1gbit
run "qdisc del again" in_ns $A vqkctl qdisc del a0

# The same through tc and its voipq plugin (kmod/tc/q_voipq.c).
run "tc qdisc add" in_ns $A $TC qdisc add dev a0 root handle 1: voipq rate 10mbit share 25 limit 3000 target 4ms interval 80ms noecn trust_dscp
expect "tc qdisc show" "qdisc voipq 1: root refcnt [0-9]+ rate 10Mbit share 25% limit 3000p target 4000us interval 80000us noecn trust_dscp" \
	in_ns $A $TC qdisc show dev a0
expect "tc -s shows the xstats" "voice_packets 0 .*by_table 0.*ecn_marks 0" sh -c "$TC -n $A -s qdisc show dev a0 | tr '\n' ' '"
expect "tc -j gives JSON" '"kind":"voipq".*"voice_share":25.*"ecn":false' in_ns $A $TC -j -s qdisc show dev a0
run "tc qdisc change" in_ns $A $TC qdisc change dev a0 root voipq share 35 ecn
expect "change shows" "share 35% limit 3000p target 4000us interval 80000us ecn trust_dscp" \
	in_ns $A $TC qdisc show dev a0
refuse "tc: share 0 refused by the kernel" "Error: integer out of range" in_ns $A $TC qdisc change dev a0 root voipq share 0
refuse "tc: target above interval" "Error: CoDel target must be below its interval" \
	in_ns $A $TC qdisc change dev a0 root voipq target 90ms
refuse "tc: a rate tc cannot parse" "illegal \"rate\"" in_ns $A $TC qdisc change dev a0 root voipq rate fast
refuse "tc: unknown option" "unknown option" in_ns $A $TC qdisc change dev a0 root voipq colour blue
run "tc qdisc replace" in_ns $A $TC qdisc replace dev a0 root voipq rate 20mbit
run "tc qdisc del" in_ns $A $TC qdisc del dev a0 root
refuse "tc: add without a rate" "Error: sch_voipq: A rate is required" in_ns $A $TC qdisc add dev a0 root voipq share 10

# voipq as net.core.default_qdisc: created without options, its init fails
# (no rate); the core resets and destroys it and falls back to noqueue.
# IFB devices queue (veth does not), one TX queue or several (mq's leaves).
dq=$(cat /proc/sys/net/core/default_qdisc)
run "default_qdisc set to voipq" sh -c "echo voipq > /proc/sys/net/core/default_qdisc"
I=vqi$N
run "an IFB device comes up with voipq the default" sh -c "modprobe ifb && $IP link add $I type ifb && $IP link set $I up"
expect "it falls back to noqueue" "qdisc noqueue" $TC qdisc show dev $I
expect "the kernel says the default failed, sch_voipq says why" \
	"$I: cannot be a default qdisc: it needs a rate" sh -c "dmesg | grep -F '$I: default qdisc (voipq) fail' && dmesg"
run "a voipq root on it, then deleted" sh -c "$TC qdisc add dev $I root voipq rate 1mbit && $TC qdisc del dev $I root"
expect "the deleted root falls back to noqueue again" "qdisc noqueue" $TC qdisc show dev $I
run "a 2-queue IFB device comes up (mq of voipq)" sh -c "$IP link add ${I}m numtxqueues 2 type ifb && $IP link set ${I}m up"
expect "it falls back to noqueue" "qdisc noqueue" $TC qdisc show dev ${I}m
run "default_qdisc restored ($dq), the IFB devices gone" \
	sh -c "echo $dq > /proc/sys/net/core/default_qdisc && $IP link del $I && $IP link del ${I}m"

. /tests/t_netlink.sh
. /tests/t_traffic.sh
. /tests/t_lifecycle.sh
. /tests/t_voipqd.sh

dmesg_check
summary
