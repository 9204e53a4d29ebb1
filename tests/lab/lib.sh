# SPDX-License-Identifier: GPL-2.0
# Shared by the lab tests (after the kernel selftests' net/lib.sh): random
# namespace names, a LAN - router - WAN topology of veth pairs, cleanup on
# any exit, and exit code 4 for "skipped" with the reason printed.
#
# Addresses are documentation ranges, used only inside namespaces made
# here: LAN 192.0.2.0/24 + 2001:db8:1::/64, WAN 198.51.100.0/24 +
# 2001:db8:2::/64. Every load loop is bounded in count and time.

KSFT_SKIP=4
LAB_ID=$(printf '%04x%04x' $RANDOM $RANDOM)
NS_LAN=vq-lan-$LAB_ID
NS_RTR=vq-rtr-$LAB_ID
NS_WAN=vq-wan-$LAB_ID
LAN_IP=192.0.2.2
LAN_GW=192.0.2.1
WAN_IP=198.51.100.2
WAN_GW=198.51.100.1
LAN_IP6=2001:db8:1::2
WAN_IP6=2001:db8:2::2
LAB_PIDS=()
LAB_CLEANUP=()

lab_log() { printf '  lab: %s\n' "$*" >&2; }
lab_skip() { echo "SKIP: $*" >&2; exit $KSFT_SKIP; }
lab_fail() { echo "FAIL: $*" >&2; exit 1; }

# Run in a namespace without remounting /sys, so bpffs pins stay visible
# (`ip netns exec` remounts /sys).
in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }

# Start a background command in a namespace; remember its PID.
lab_bg() {
	local ns=$1; shift
	nsenter --net="/run/netns/$ns" "$@" &
	LAB_PIDS+=($!)
}

lab_cleanup() {
	local pid fn
	for fn in "${LAB_CLEANUP[@]}"; do "$fn" || true; done
	for pid in "${LAB_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for ns in "$NS_LAN" "$NS_RTR" "$NS_WAN"; do
		ip netns del "$ns" 2>/dev/null || true
	done
}

lab_require() {
	[ "$(id -u)" -eq 0 ] || lab_skip "needs root for network namespaces"
	local t
	for t in ip nsenter iperf3 tc; do
		command -v "$t" >/dev/null || lab_skip "$t not installed (make deps)"
	done
	ip netns add "vq-probe-$LAB_ID" 2>/dev/null || lab_skip "cannot create network namespaces"
	ip netns del "vq-probe-$LAB_ID"
}

# lan (veth l0) <-> (veth r0) router (veth r1) <-> (veth w0) wan
lab_topology() {
	trap lab_cleanup EXIT
	trap 'exit 130' INT TERM
	ip netns add "$NS_LAN"
	ip netns add "$NS_RTR"
	ip netns add "$NS_WAN"
	ip link add l0 netns "$NS_LAN" type veth peer name r0 netns "$NS_RTR"
	ip link add w0 netns "$NS_WAN" type veth peer name r1 netns "$NS_RTR"

	in_ns "$NS_LAN" ip addr add "$LAN_IP/24" dev l0
	in_ns "$NS_LAN" ip addr add "$LAN_IP6/64" dev l0 nodad
	in_ns "$NS_RTR" ip addr add "$LAN_GW/24" dev r0
	in_ns "$NS_RTR" ip addr add 2001:db8:1::1/64 dev r0 nodad
	in_ns "$NS_RTR" ip addr add "$WAN_GW/24" dev r1
	in_ns "$NS_RTR" ip addr add 2001:db8:2::1/64 dev r1 nodad
	in_ns "$NS_WAN" ip addr add "$WAN_IP/24" dev w0
	in_ns "$NS_WAN" ip addr add "$WAN_IP6/64" dev w0 nodad
	for ns in "$NS_LAN" "$NS_RTR" "$NS_WAN"; do
		in_ns "$ns" ip link set lo up
	done
	in_ns "$NS_LAN" ip link set l0 up
	in_ns "$NS_RTR" ip link set r0 up
	in_ns "$NS_RTR" ip link set r1 up
	in_ns "$NS_WAN" ip link set w0 up
	in_ns "$NS_LAN" ip route add default via "$LAN_GW"
	in_ns "$NS_LAN" ip -6 route add default via 2001:db8:1::1
	in_ns "$NS_WAN" ip route add default via "$WAN_GW"
	in_ns "$NS_WAN" ip -6 route add default via 2001:db8:2::1
	in_ns "$NS_RTR" sysctl -qw net.ipv4.ip_forward=1
	in_ns "$NS_RTR" sysctl -qw net.ipv6.conf.all.forwarding=1

	# A 64 KB GSO super-packet would hold the shaped queue for 50 ms at
	# 10 Mbit/s: segment before the qdisc, as a real link would.
	local dev
	for dev in "$NS_LAN:l0" "$NS_RTR:r0" "$NS_RTR:r1" "$NS_WAN:w0"; do
		in_ns "${dev%%:*}" ethtool -K "${dev#*:}" tso off gso off gro off 2>/dev/null ||
			lab_skip "ethtool cannot turn offloads off"
	done
	in_ns "$NS_LAN" ping -c1 -W2 "$WAN_IP" >/dev/null || lab_fail "no route LAN -> WAN"
}

# Wait until a line appears in a file, bounded.
lab_wait_line() {
	local file=$1 pattern=$2 tries=${3:-100}
	while [ "$tries" -gt 0 ]; do
		grep -q "$pattern" "$file" 2>/dev/null && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	return 1
}

# Read key=value from an rtpprobe result line.
kv() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$1"; }
