# SPDX-License-Identifier: GPL-2.0
# The generic netlink family through the agent's library (vqkctl): add,
# replace, get, dump, delete, flush; malformed requests; permissions;
# one table per namespace; idle announcements.

run "ep set (IPv4)" in_ns $A vqkctl ep set 192.0.2.10 4000 rate 20000 burst 3000 clock 8000 cookie 77
run "ep set (IPv6, tcp)" in_ns $A vqkctl ep set 2001:db8::5 5060 tcp
expect "ep get returns the policy" "192.0.2.10:4000 udp rate 20000 burst 3000 clock 8000 flags 0 idle 30000 cookie 77 packets 0" \
	in_ns $A vqkctl ep get 192.0.2.10 4000
expect "ep dump lists both" "^count 2" in_ns $A vqkctl ep dump
grep -q '\[2001:db8::5\]:5060 tcp' $OUT && ok "dump shows the IPv6 entry" || not_ok "dump shows the IPv6 entry"
run "ep set again replaces the policy" in_ns $A vqkctl ep set 192.0.2.10 4000 rate 40000 burst 6000 cookie 78
expect "replace took" "rate 40000 burst 6000 .* cookie 78" in_ns $A vqkctl ep get 192.0.2.10 4000
refuse "ep set excl on an existing entry" "File exists \(kernel says: Endpoint exists" \
	in_ns $A vqkctl ep set 192.0.2.10 4000 excl
run "ep del" in_ns $A vqkctl ep del 2001:db8::5 5060 tcp
refuse "ep del again" "No such file or directory \(kernel says: No such endpoint" \
	in_ns $A vqkctl ep del 2001:db8::5 5060 tcp
refuse "ep get of a missing entry" "kernel says: No such endpoint" in_ns $A vqkctl ep get 198.51.100.1 9
expect "dump after del" "^count 1" in_ns $A vqkctl ep dump
run "fill 300 entries (dump spans several messages)" in_ns $A vqkctl ep fill 300
expect "dump counts 301" "^count 301" in_ns $A vqkctl ep dump

# A dump that entries leave between its parts, in a namespace of its own:
# 2000 entries take several parts, and the first 20 (sent in the first
# part) are deleted when the first arrives. Every entry is still sent
# once: parts resume after the last entry sent, not at a position that the
# deletions moved.
D=vqd$(rand)
run "a namespace with 2000 entries" sh -c "$IP netns add $D && $IP netns exec $D vqkctl ep fill 2000"
expect "a dump loses nothing to deletions between its parts" "^count 2000 deleted 20" \
	in_ns $D vqkctl ep dump-del 20
expect "the deletions took" "^count 1980" in_ns $D vqkctl ep dump
$IP netns del $D

# Malformed requests: refused, with a message, and never an oops.
for c in family:"out of range|Family must be AF_INET" proto:"Protocol must be UDP or TCP" \
	port0:"out of range" port_len:"invalid|length|Attribute failed policy" \
	addr_len:"size out of range|invalid attribute length" \
	v4_tail:"other 12 must be zero" missing_addr:"Missing attribute|needs family" \
	no_endpoint:"Missing the endpoint" flags:"reserved bit|mask|invalid|Unsupported" \
	idle:"out of range" burst:"burst of at least 64" \
	unknown_attr:"Unknown attribute|unknown|invalid" not_nested:"NLA_F_NESTED|nested|invalid" \
	plen_v4:"An IPv4 prefix is at most 32 bits" plen_max:"out of range" \
	host_bits:"bits set past the prefix length"; do
	name=${c%%:*}; pat=${c#*:}
	if in_ns $A vqkctl bad $name > $OUT 2>&1 && grep -qE "$pat" $OUT; then
		ok "malformed $name refused: $(cat $OUT)"
	else
		not_ok "malformed $name refused with '$pat'"
	fi
done
if in_ns $A vqkctl bad unknown_cmd > $OUT 2>&1 && grep -q "Operation not supported" $OUT; then
	ok "unknown command refused: $(cat $OUT)"
else
	not_ok "unknown command refused"
fi

# Static prefix rules: in the same table, with their lengths.
run "prefix rule set (IPv4 /24)" in_ns $A vqkctl ep set 198.51.100.0/24 5004 rate 20000 burst 3000
run "prefix rule set (IPv6 /48)" in_ns $A vqkctl ep set 2001:db8:20::/48 5004
run "prefix rule set again replaces its policy" in_ns $A vqkctl ep set 198.51.100.0/24 5004 rate 30000 burst 3000
expect "dump lists both prefix rules" "^count 303" in_ns $A vqkctl ep dump
grep -q '^198.51.100.0/24:5004 udp rate 30000' $OUT && grep -q '^\[2001:db8:20::/48\]:5004 udp' $OUT &&
	ok "dump gives each prefix rule its length and policy" ||
	not_ok "dump gives each prefix rule its length and policy"
run "prefix rule del" in_ns $A vqkctl ep del 2001:db8:20::/48 5004
refuse "prefix rule del again" "kernel says: No such endpoint" \
	in_ns $A vqkctl ep del 2001:db8:20::/48 5004
refuse "an endpoint is not its /32's prefix rule" "kernel says: No such endpoint" \
	in_ns $A vqkctl ep del 198.51.100.0 5004
i=1
while [ $i -lt 64 ] && in_ns $A vqkctl ep set 10.$i.0.0/16 7000 > $OUT 2>&1; do i=$((i + 1)); done
expect "64 prefix rules fit" "^count 365" in_ns $A vqkctl ep dump
refuse "the 65th is refused" "kernel says: Prefix rules full" in_ns $A vqkctl ep set 10.200.0.0/16 7000
run "a prefix rule goes" in_ns $A vqkctl ep del 198.51.100.0/24 5004
run "and one fits again" in_ns $A vqkctl ep set 10.200.0.0/16 7000
i=1
while [ $i -lt 64 ]; do in_ns $A vqkctl ep del 10.$i.0.0/16 7000; i=$((i + 1)); done
run "the last prefix rule del" in_ns $A vqkctl ep del 10.200.0.0/16 7000
expect "dump after the prefix rules went" "^count 301" in_ns $A vqkctl ep dump

# Permissions: every change needs CAP_NET_ADMIN; so do reads (privacy).
refuse "set without CAP_NET_ADMIN" "Operation not permitted" \
	in_ns $A vqkctl --as-nobody ep set 192.0.2.11 4000
refuse "del without CAP_NET_ADMIN" "Operation not permitted" \
	in_ns $A vqkctl --as-nobody ep del 192.0.2.10 4000
refuse "flush without CAP_NET_ADMIN" "Operation not permitted" \
	in_ns $A vqkctl --as-nobody ep flush
refuse "dump without CAP_NET_ADMIN" "Operation not permitted" \
	in_ns $A vqkctl --as-nobody ep dump
expect "refused requests changed nothing" "^count 301" in_ns $A vqkctl ep dump
# CAP_NET_ADMIN counts in the user namespace that owns the table's network
# namespace: a user namespace's root programs a network namespace of its
# own, and not A, which the initial user namespace owns.
expect "root of a user namespace sets and dumps its own network namespace's table" \
	"^count 1" unshare -U -r -n sh -c "vqkctl ep set 192.0.2.30 4000 && vqkctl ep dump"
refuse "root of a user namespace cannot set in A" "Operation not permitted" \
	in_ns $A unshare -U -r vqkctl ep set 192.0.2.31 4000
refuse "nor dump A" "Operation not permitted" in_ns $A unshare -U -r vqkctl ep dump

# One table per namespace.
expect "namespace B has its own, empty table" "^count 0" in_ns $B vqkctl ep dump
run "B adds its own entry" in_ns $B vqkctl ep set 192.0.2.10 4000 cookie 5
run "B flushes" in_ns $B vqkctl ep flush
expect "A's table is untouched by B's flush" "^count 301" in_ns $A vqkctl ep dump
expect "the initial namespace sees neither" "^count 0" vqkctl ep dump
run "A flushes" in_ns $A vqkctl ep flush
expect "A is empty" "^count 0" in_ns $A vqkctl ep dump

# Idle announcements on the multicast group.
run "entry with a 300 ms idle time" in_ns $A vqkctl ep set 192.0.2.20 4002 idle 300
expect "idle endpoint announced" "192.0.2.20:4002" in_ns $A vqkctl idle-wait 5 192.0.2.20 4002
refuse "no announcement from another namespace" "no idle announcement" \
	in_ns $B vqkctl idle-wait 3 192.0.2.20 4002
in_ns $A vqkctl ep flush
