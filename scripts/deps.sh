#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install every Debian package voipq needs to build and test. Idempotent:
# installs only what is missing, so `make check` can call it every time.
set -euo pipefail

PKGS=(
	build-essential pkg-config clang llvm
	libosip2-dev libpcap-dev libjson-c-dev check
	libclang-rt-14-dev valgrind
	sip-tester tcpdump iproute2
	libbpf-dev bpftool linux-libc-dev libmnl-dev
	iperf3 ethtool iputils-ping nftables gnuplot-nox jq
	qemu-system-x86 busybox-static kmod cpio
	dwarves  # pahole: BTF of sch_voipq.ko against the 6.12 headers (they ship vmlinux)
)

# tests/vm boots bookworm-backports' kernel too (tests/vm/fetch.sh gets it).
BPO=/etc/apt/sources.list.d/bookworm-backports.list
if [ "$(id -u)" -eq 0 ] && [ ! -e "$BPO" ] &&
	! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "deb http://deb.debian.org/debian bookworm-backports main" > "$BPO"
	apt-get update -qq
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run 'sudo make deps' (or install them with apt-get)" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
