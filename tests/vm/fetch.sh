#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fetch one Debian kernel for the VM tests: its image, its modules and the
# headers to build sch_voipq against, unpacked (never installed) under
# $VM_DIR/<kver>/root. Cached: a second run with the same kernel does nothing.
#
#   fetch.sh META_IMAGE META_HEADERS VM_DIR   → prints the kernel release
#
# META_* are Debian's meta-packages (linux-image-amd64 for bookworm's 6.1,
# linux-image-6.12-amd64 for 6.12), resolved to the current ABI here.
set -euo pipefail

meta_img=$1 meta_hdr=$2 vm=$3

dep_of() { # the linux-* package a meta-package depends on
	apt-cache depends "$1" 2>/dev/null |
		awk -v p="$2" '$1 == "Depends:" && $2 ~ "^" p { print $2; exit }'
}

img=$(dep_of "$meta_img" linux-image-)
if [ -z "$img" ]; then
	# A fresh machine may not have read the package lists yet.
	apt-get update -qq >&2
	img=$(dep_of "$meta_img" linux-image-)
fi
[ -n "$img" ] || { echo "fetch: cannot resolve $meta_img" >&2; exit 1; }
kver=${img#linux-image-}
root=$vm/$kver/root

# The stamp, and a module still there: kbuild's `make M=<repo> clean` from
# the repository root deletes every .ko below it, build/vm/ included.
if [ -e "$vm/$kver/.done" ] &&
	[ -n "$(find "$root/lib/modules/$kver/kernel/drivers/net" -name 'veth.ko*' 2>/dev/null)" ]; then
	echo "$kver"
	exit 0
fi

hdr=$(dep_of "$meta_hdr" linux-headers-)
[ "$hdr" = "linux-headers-$kver" ] ||
	{ echo "fetch: $meta_hdr gives $hdr, not linux-headers-$kver" >&2; exit 1; }
common=$(dep_of "$hdr" linux-headers-)
kbuild=$(dep_of "$hdr" linux-kbuild-)
# Signed images are a shell around the unsigned one on some releases.
unsigned=$(dep_of "$img" "linux-image-$kver-unsigned" || true)

dl=$vm/$kver/debs
rm -rf "${vm:?}/${kver:?}"
mkdir -p "$dl" "$root"
echo "fetch: $img $hdr $common $kbuild $unsigned" >&2
(cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root $img $hdr $common $kbuild $unsigned >&2)
for deb in "$dl"/*.deb; do
	dpkg-deb -x "$deb" "$root"
done
rm -rf "$dl"
# The headers' Makefile includes the common half by its installed path.
sed -i "s|include /usr/src/|include $(realpath "$root")/usr/src/|" \
	"$root/usr/src/linux-headers-$kver/Makefile"
[ -e "$root/boot/vmlinuz-$kver" ] ||
	{ echo "fetch: no vmlinuz-$kver in $img" >&2; exit 1; }
[ -e "$root/usr/src/linux-headers-$kver/Makefile" ] ||
	{ echo "fetch: no headers for $kver" >&2; exit 1; }
touch "$vm/$kver/.done"
echo "$kver"
