#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# For each kernel (META_IMAGE:META_HEADERS): fetch it, build sch_voipq
# against its headers with W=1 (a warning fails), build the initramfs, boot
# it, and collect the result.
#
#   VMDIR=... OUT=... vm.sh check|bench KERNEL...
set -euo pipefail

mode=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
mkdir -p "$OUT"
total_pass=0 total_fail=0 failed=()
for t in sipp jq setpriv; do
	command -v $t > /dev/null || { echo "vm: $t is missing: run make deps" >&2; exit 1; }
done

for pair in "$@"; do
	kver=$("$here/fetch.sh" "${pair%%:*}" "${pair##*:}" "$VMDIR")
	kroot=$VMDIR/$kver/root
	kdir=$kroot/usr/src/linux-headers-$kver
	klog=$OUT/kmod-$kver.log

	if ! make -C "$top/kmod" --no-print-directory KDIR="$kdir" W=1 > "$klog" 2>&1; then
		cat "$klog" >&2
		echo "vm: sch_voipq does not build against $kver" >&2
		exit 1
	fi
	if grep -q 'warning:' "$klog"; then
		grep -A5 'warning:' "$klog" >&2
		echo "vm: sch_voipq builds with warnings (W=1) against $kver" >&2
		exit 1
	fi
	printf '  %-8s sch_voipq.ko for %s, W=1 clean\n' KMOD "$kver"

	initrd=$OUT/initrd-$kver.gz
	# voipqd and voipqctl as built; sipp, jq and util-linux's setpriv
	# (busybox's cannot drop capabilities) from the host (make deps).
	TC_PLUGIN=$top/build/kmod/tc/q_voipq.so "$here/mkinitramfs.sh" "$kroot" "$kver" "$top/build/kmod/$kver/sch_voipq.ko" \
		"$initrd" "$OUT/vqkctl" "$OUT/vqtraffic" "$top/build/voipqd" \
		"$top/build/voipqctl" "$(command -v sipp)" "$(command -v jq)" \
		"$(command -v setpriv)"
	# The benchmark boots twice: on a clock of instructions, then on the
	# wall clock (tests/vm/guest/bench.sh).
	boots=$mode
	[ "$mode" = bench ] && boots="bench-insn bench"
	for m in $boots; do
		log=$OUT/console-$kver-$m.log
		start=$(date +%s)
		set +e
		"$here/run.sh" "$kroot/boot/vmlinuz-$kver" "$initrd" "$m" \
			"$log" "${VM_TIMEOUT:-600}"
		rc=$?
		set -e
		res=$(sed -n 's/^VOIPQ-RESULT //p' "$log" | tail -1)
		echo "vm: $kver $m: ${res:-no result}, exit $rc, $(( $(date +%s) - start ))s"
		p=$(echo "$res" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
		f=$(echo "$res" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
		total_pass=$((total_pass + ${p:-0}))
		total_fail=$((total_fail + ${f:-0}))
		[ $rc -eq 0 ] || failed+=("$kver $m")
	done
done

[ "$mode" = check ] && echo "vm: $total_pass passed, $total_fail failed"
if [ ${#failed[@]} -gt 0 ]; then
	echo "vm: failed on ${failed[*]}" >&2
	exit 1
fi
