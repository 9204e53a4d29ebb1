# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The children a test script started, by PID: sourced by tests/lab/lib.sh
# and tests/captures/record.sh. Callers append "$!" to CHILDREN. A PID
# leaves the list once reaped, so a cleanup never signals a number the
# system has since handed to someone else.
CHILDREN=()

# forget PID: no longer ours to stop.
forget() {
	local keep=() pid
	for pid in "${CHILDREN[@]}"; do
		[ "$pid" = "$1" ] || keep+=("$pid")
	done
	CHILDREN=("${keep[@]}")
}

# reap PID: wait for it and forget it; its exit status. Quietly: bash
# reports a child killed by a signal on stderr.
reap() { local rc=0; { wait "$1"; } 2>/dev/null || rc=$?; forget "$1"; return $rc; }

# stop_children: end every child still listed, and wait for each.
stop_children() {
	local pid
	for pid in "${CHILDREN[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	CHILDREN=()
}
