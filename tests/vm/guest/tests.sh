# SPDX-License-Identifier: GPL-2.0
# sch_voipq inside the VM: load, qdisc round trips, the netlink ABI,
# namespaces, permissions, traffic, load/unload, and the dmesg check.
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
refuse "add via tc without options" "rate|Options are required" in_ns $A $TC qdisc add dev a0 root voipq
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

. /tests/t_netlink.sh
. /tests/t_traffic.sh
. /tests/t_lifecycle.sh

dmesg_check
summary
