# SPDX-License-Identifier: GPL-2.0
# Helpers for the guest suites: tc-testing-style cases that report TAP-ish
# lines on the console, namespaces with random names, and the dmesg check.
IP=/usr/sbin/ip
TC=/usr/sbin/tc
KO=/lib/modules/$(uname -r)/extra/sch_voipq.ko
PASS=0
FAIL=0
SKIP=0
OUT=/tmp/out

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; sed 's/^/#   /' $OUT 2>/dev/null | head -20; }

# run NAME CMD...: the command must succeed.
run() {
	name=$1; shift
	if "$@" > $OUT 2>&1; then ok "$name"; else not_ok "$name (exit $?)"; fi
}

# refuse NAME PATTERN CMD...: the command must fail, its output match PATTERN.
refuse() {
	name=$1; pat=$2; shift 2
	if "$@" > $OUT 2>&1; then
		not_ok "$name (accepted)"
	elif grep -qE "$pat" $OUT; then
		ok "$name: $(head -1 $OUT)"
	else
		not_ok "$name (no '$pat' in the error)"
	fi
}

# expect NAME PATTERN CMD...: the command must succeed with PATTERN in its output.
expect() {
	name=$1; pat=$2; shift 2
	if "$@" > $OUT 2>&1 && grep -qE "$pat" $OUT; then
		ok "$name"
	else
		not_ok "$name (wanted '$pat')"
	fi
}

# field KEY: the value after KEY in $OUT's first matching line.
field() {
	awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' ${2:-$OUT}
}

# no_loss WHAT FILE MIN: the RTP stream vqtraffic recv reported in FILE
# got more than MIN packets and lost at most 1 % of them.
no_loss() {
	g=$(field packets $2); l=$(field rtp_lost $2)
	if [ "${g:-0}" -gt $3 ] && [ "${l:-999999}" -le $((g / 100)) ]; then
		ok "$1: no loss under the flood ($l of $g)"
	else
		not_ok "$1: no loss under the flood ($l of $g)"
	fi
}

rand() { echo $(( $(od -An -N2 -tu2 /dev/urandom) )); }

# pair NS_A NS_B: namespaces joined by a veth pair a0 (10.0.0.1) -- b0 (10.0.0.2).
pair() {
	$IP netns add $1 && $IP netns add $2 || return 1
	$IP link add a0 netns $1 type veth peer name b0 netns $2 || return 1
	$IP -n $1 addr add 10.0.0.1/24 dev a0
	$IP -n $2 addr add 10.0.0.2/24 dev b0
	$IP -n $1 -6 addr add fd00::1/64 dev a0 nodad
	$IP -n $2 -6 addr add fd00::2/64 dev b0 nodad
	$IP -n $1 link set a0 up; $IP -n $1 link set lo up
	$IP -n $2 link set b0 up; $IP -n $2 link set lo up
}

in_ns() { ns=$1; shift; $IP netns exec $ns "$@"; }

dmesg_check() {
	if dmesg | grep -E "WARNING|BUG|Oops|general protection|refcount_t|refcount:" > $OUT; then
		not_ok "dmesg is clean"
	else
		ok "dmesg is clean"
	fi
}

summary() {
	echo "VOIPQ-RESULT $PASS passed, $FAIL failed, $SKIP skipped"
	[ $FAIL -eq 0 ]
}
