#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install into a staging DESTDIR: the files land where they should,
# the unit names the installed daemon, the shipped configuration validates,
# and a second install keeps the owner's edited configuration.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
D=$(mktemp -d /tmp/voipq-install-XXXXXX)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: install: $*" >&2; exit 1; }

make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr >/dev/null
for f in usr/sbin/voipqd usr/bin/voipqctl etc/voipq/voipq.conf \
	 usr/lib/systemd/system/voipqd.service; do
	[ -f "$D/$f" ] || fail "$f missing"
done
[ -x "$D/usr/sbin/voipqd" ] && [ -x "$D/usr/bin/voipqctl" ] || fail "not executable"
grep -q '^ExecStart=/usr/sbin/voipqd ' "$D/usr/lib/systemd/system/voipqd.service" ||
	fail "unit does not start /usr/sbin/voipqd"
"$D/usr/sbin/voipqd" --check-config --config "$D/etc/voipq/voipq.conf" \
	--wan lo --uplink 20mbit --downlink 100mbit >/dev/null ||
	fail "the shipped voipq.conf does not validate"
echo "uplink = 5mbit" >> "$D/etc/voipq/voipq.conf"
make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr >/dev/null
grep -q '^uplink = 5mbit' "$D/etc/voipq/voipq.conf" ||
	fail "reinstall overwrote the owner's configuration"
echo "install: 1 passed, 0 failed"
