#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the test VM's initramfs: busybox-static, iproute2 and the project's
# binaries with their shared libraries (found with ldd), the Debian
# kernel's modules the tests need (the BPF backend's too: clsact, cls_bpf,
# HTB; an IFB downstream's: ifb, act_mirred, cls_u32), sch_voipq.ko, the
# guest scripts and the lab's sipp scenarios.
#
#   [TC_PLUGIN=q_voipq.so] mkinitramfs.sh KROOT KVER KO OUT BIN...
set -euo pipefail

kroot=$1 kver=$2 ko=$3 out=$4
shift 4
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,etc,tests}
cp /bin/busybox "$work/bin/busybox"

copy_with_libs() { # FILE DEST
	cp -L "$1" "$2"
	ldd "$1" 2>/dev/null | awk '/=>/ { print $3 } /^\t\// { print $1 }' |
		while read -r lib; do
			[ -e "$lib" ] || continue
			mkdir -p "$work$(dirname "$lib")"
			cp -Ln "$lib" "$work$lib" 2>/dev/null || true
		done
}
copy_with_libs /usr/sbin/tc "$work/usr/sbin/tc"
copy_with_libs /bin/ip "$work/usr/sbin/ip"
# tc's plugin for voipq, where this tc looks for plugins (Debian:
# /usr/lib/x86_64-linux-gnu/tc/).
if [ -n "${TC_PLUGIN:-}" ]; then
	tclib=$(strings /usr/sbin/tc | sed -n 's|^\(/.*/tc/\)$|\1|p' | tail -1)
	[ -n "$tclib" ] || tclib=/usr/lib/tc/
	mkdir -p "$work$tclib"
	cp "$TC_PLUGIN" "$work${tclib}q_voipq.so"
fi
for b in "$@"; do
	copy_with_libs "$b" "$work/tests/$(basename "$b")"
done
# The loader by its canonical name, wherever ldd printed it from.
mkdir -p "$work/lib64"
cp -L /lib64/ld-linux-x86-64.so.2 "$work/lib64/"

# Modules: what modprobe would load, from the Debian package, uncompressed.
mdir=$kroot/lib/modules/$kver
[ -e "$mdir/modules.dep" ] || depmod -b "$kroot" "$kver"
dst=$work/lib/modules/$kver
mkdir -p "$dst/extra"
cp "$mdir"/modules.builtin* "$mdir/modules.order" "$dst/" 2>/dev/null || true
for m in veth sch_htb sch_prio sch_tbf sch_ingress cls_bpf ifb act_mirred cls_u32; do
	modprobe -d "$kroot" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | sort -u | while read -r path; do
	rel=${path#"$mdir"/}
	mkdir -p "$dst/$(dirname "$rel")"
	case $path in
	*.xz) xz -dc "$path" > "$dst/${rel%.xz}" ;;
	*.zst) zstd -qdc "$path" > "$dst/${rel%.zst}" ;;
	*) cp "$path" "$dst/$rel" ;;
	esac
done
cp "$ko" "$dst/extra/sch_voipq.ko"
depmod -b "$work" "$kver"

cp "$here"/guest/init "$work/init"
chmod 755 "$work/init"
cp "$here"/guest/*.sh "$work/tests/"
mkdir -p "$work/tests/scenarios"
cp "$here"/../lab/sipp/*.xml "$work/tests/scenarios/"
echo "root:x:0:0:root:/:/bin/sh" > "$work/etc/passwd"

(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp"
mv "$out.tmp" "$out"
