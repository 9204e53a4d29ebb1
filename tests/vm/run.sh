#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot one kernel with an initramfs in qemu, MODE check, bench or
# bench-insn, and turn the serial console into an exit status: the guest
# prints "VOIPQ-RESULT N passed, N failed, N skipped" and "VOIPQ-EXIT rc".
# KVM when /dev/kvm works, TCG otherwise; MODE bench-insn always on TCG,
# with one vCPU whose clock counts instructions. Times out by itself.
#
#   run.sh KERNEL INITRD MODE LOG [TIMEOUT]
set -euo pipefail

kernel=$1 initrd=$2 mode=$3 log=$4 limit=${5:-600}

accel="-accel tcg -cpu max"
cpus="-smp 2" clock=""
if [ "$mode" = bench-insn ]; then
	# -icount shift=0: the guest's clock advances a nanosecond per
	# instruction, whatever the host's load. It needs TCG, and one
	# thread runs every vCPU then: one vCPU.
	clock="-icount shift=0"
	cpus="-smp 1"
elif [ -w /dev/kvm ]; then
	# KVM works when a paused machine with a vCPU stays up on it (until the
	# timeout): /dev/kvm exists on hosts where creating the vCPU aborts.
	set +e
	{ kvm=$(timeout 3 qemu-system-x86_64 -accel kvm -cpu host -machine pc \
		-S -display none -nodefaults -no-user-config </dev/null \
		>/dev/null 2>&1; echo $?); } 2>/dev/null
	[ "$kvm" -eq 124 ] && accel="-accel kvm -cpu host"
	set -e
fi
echo "vm: $(basename "$kernel") ${accel%% -cpu*}${clock:+ $clock}, mode $mode"

# -no-reboot: a panic (panic=-1) ends qemu instead of looping. TCG's
# emulated HPET makes every clock read a costly exit; the TSC is cheap, as
# clock reads are on real hardware, so qdiscs are compared on their work.
boot() {
	rm -f "$log"
	set +e
	timeout --foreground -k 10 "$limit" qemu-system-x86_64 $accel $clock $cpus -m 1024 \
		-nographic -no-reboot -no-user-config -nodefaults -serial stdio \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 clocksource=tsc tsc=reliable panic=-1 oops=panic panic_on_warn=0 quiet loglevel=4 voipq.mode=$mode" \
		</dev/null > "$log" 2>&1
	qrc=$?
	set -e
	tr -d '\r' < "$log" > "$log.txt" && mv "$log.txt" "$log"
}

boot
# A kernel that dies before the guest's init says VOIPQ-BOOT never ran
# anything of voipq (the module loads from the tests). Under TCG, boot-time
# code patching can trip two vCPUs (an int3 Oops in a softirq was seen on
# 6.12): that is the emulator's, so the machine boots once more, and the
# first console is kept.
if ! grep -q '^VOIPQ-BOOT' "$log" && grep -qE 'Kernel panic|Oops' "$log"; then
	mv "$log" "$log.boot1"
	echo "vm: the kernel crashed while booting, before the guest's init ran; booting once more (console in $log.boot1)" >&2
	boot
fi

grep -E '^(ok|not ok|#|BENCH|VOIPQ-)' "$log" || true
if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
	echo "vm: timed out after ${limit}s; console in $log" >&2
	exit 1
fi
if grep -qE 'Kernel panic|BUG:|Oops|general protection|WARNING:|refcount_t' "$log"; then
	echo "vm: the kernel complained; console in $log" >&2
	grep -nE -B2 -A20 'Kernel panic|BUG:|Oops|general protection|WARNING:|refcount_t' "$log" | head -60 >&2
	exit 1
fi
rc=$(sed -n 's/^VOIPQ-EXIT \([0-9]*\).*/\1/p' "$log" | tail -1)
if [ -z "$rc" ]; then
	echo "vm: the guest never reported; console in $log" >&2
	tail -30 "$log" >&2
	exit 1
fi
exit "$rc"
