# SPDX-License-Identifier: GPL-2.0
# Shared by the lab tests (after the kernel selftests' net/lib.sh): random
# namespace names, a LAN - router - WAN topology of veth pairs, cleanup on
# any exit, and exit code 4 for "skipped" with the reason printed.
#
# lan -- rtr -- isp -- wan: the router's WAN link goes to a provider hop
# that forwards to the far side, as on a real line. (The hop matters: a
# lab sender on the same host keeps its socket's hold on each packet until
# something forwards it, so without the hop a flood is throttled by its own
# socket buffer at the router's ingress shaper instead of filling it.)
#
# Addresses are documentation ranges, used only inside namespaces made
# here: LAN 192.0.2.0/24 + 2001:db8:1::/64, router-provider link
# 198.51.100.0/24 + 2001:db8:2::/64, far side 203.0.113.0/24 +
# 2001:db8:3::/64. Every load loop is bounded in count and time.

KSFT_SKIP=4
LAB_ID=$(printf '%04x%04x' $RANDOM $RANDOM)
NS_LAN=vq-lan-$LAB_ID
NS_RTR=vq-rtr-$LAB_ID
NS_WAN=vq-wan-$LAB_ID
NS_ISP=vq-isp-$LAB_ID
LAN_IP=192.0.2.2
LAN_GW=192.0.2.1
RTR_WAN_IP=198.51.100.1
ISP_IP=198.51.100.2
WAN_IP=203.0.113.2
WAN_GW=203.0.113.1
LAN_IP6=2001:db8:1::2
WAN_IP6=2001:db8:3::2
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
	for ns in "$NS_LAN" "$NS_RTR" "$NS_ISP" "$NS_WAN"; do
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

# lan (l0) <-> (r0) router (r1) <-> (i0) isp (i1) <-> (w0) wan
lab_topology() {
	trap lab_cleanup EXIT
	trap 'exit 130' INT TERM
	local ns dev
	for ns in "$NS_LAN" "$NS_RTR" "$NS_ISP" "$NS_WAN"; do
		ip netns add "$ns"
		in_ns "$ns" ip link set lo up
	done
	ip link add l0 netns "$NS_LAN" type veth peer name r0 netns "$NS_RTR"
	ip link add r1 netns "$NS_RTR" type veth peer name i0 netns "$NS_ISP"
	ip link add i1 netns "$NS_ISP" type veth peer name w0 netns "$NS_WAN"

	in_ns "$NS_LAN" ip addr add "$LAN_IP/24" dev l0
	in_ns "$NS_LAN" ip addr add "$LAN_IP6/64" dev l0 nodad
	in_ns "$NS_RTR" ip addr add "$LAN_GW/24" dev r0
	in_ns "$NS_RTR" ip addr add 2001:db8:1::1/64 dev r0 nodad
	in_ns "$NS_RTR" ip addr add "$RTR_WAN_IP/24" dev r1
	in_ns "$NS_RTR" ip addr add 2001:db8:2::1/64 dev r1 nodad
	in_ns "$NS_ISP" ip addr add "$ISP_IP/24" dev i0
	in_ns "$NS_ISP" ip addr add 2001:db8:2::2/64 dev i0 nodad
	in_ns "$NS_ISP" ip addr add "$WAN_GW/24" dev i1
	in_ns "$NS_ISP" ip addr add 2001:db8:3::1/64 dev i1 nodad
	in_ns "$NS_WAN" ip addr add "$WAN_IP/24" dev w0
	in_ns "$NS_WAN" ip addr add "$WAN_IP6/64" dev w0 nodad
	for dev in "$NS_LAN:l0" "$NS_RTR:r0" "$NS_RTR:r1" "$NS_ISP:i0" \
		   "$NS_ISP:i1" "$NS_WAN:w0"; do
		in_ns "${dev%%:*}" ip link set "${dev#*:}" up
		# A 64 KB GSO super-packet would hold the shaped queue for 50 ms
		# at 10 Mbit/s: segment before the qdisc, as a real link would.
		in_ns "${dev%%:*}" ethtool -K "${dev#*:}" tso off gso off gro off \
			>/dev/null 2>&1 || lab_skip "ethtool cannot turn offloads off"
	done
	in_ns "$NS_LAN" ip route add default via "$LAN_GW"
	in_ns "$NS_LAN" ip -6 route add default via 2001:db8:1::1
	in_ns "$NS_RTR" ip route add default via "$ISP_IP"
	in_ns "$NS_RTR" ip -6 route add default via 2001:db8:2::2
	in_ns "$NS_ISP" ip route add 192.0.2.0/24 via "$RTR_WAN_IP"
	in_ns "$NS_ISP" ip -6 route add 2001:db8:1::/64 via 2001:db8:2::1
	in_ns "$NS_WAN" ip route add default via "$WAN_GW"
	in_ns "$NS_WAN" ip -6 route add default via 2001:db8:3::1
	for ns in "$NS_RTR" "$NS_ISP"; do
		in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1
		in_ns "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1
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

# Wait until a TCP port listens in a namespace (iperf3's control port),
# bounded: a flood that never started would make a test meaningless.
lab_wait_listen() {
	local ns=$1 port=$2 tries=${3:-100}
	while [ "$tries" -gt 0 ]; do
		in_ns "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	return 1
}

# Bytes a class has sent so far: class_bytes NS DEV CLASSID
class_bytes() {
	in_ns "$1" tc -s class show dev "$2" | awk -v c="$3" '
		$1 == "class" && $3 == c { f = 1; next }
		f && $1 == "Sent" { print $2; exit }'
}

# Read key=value from an rtpprobe result line.
kv() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$1"; }
