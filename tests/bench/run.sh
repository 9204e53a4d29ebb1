#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run every benchmark, print its BENCH lines and collect them into
# RESULTS_DIR/results.json. A BENCH line:
#   BENCH <name> <value> <unit> target <op> <value>
set -euo pipefail
bin=${1:?usage: run.sh BUILD_TESTS_DIR RESULTS_DIR}
out=${2:?usage: run.sh BUILD_TESTS_DIR RESULTS_DIR}
mkdir -p "$out"
lines="$out/bench.txt"
: > "$lines"

emit() { echo "$*" | tee -a "$lines"; }

# Learning path: messages per second, and instructions per message counted
# by callgrind inside feed_all only (repeatable, unlike wall time).
"$bin/bench_sip" | tee -a "$lines"
mixes=400
valgrind --tool=callgrind --toggle-collect=feed_all \
	--callgrind-out-file="$out/callgrind.sip" "$bin/bench_sip" --feed $mixes \
	2> "$out/callgrind.log"
ir=$(awk '/^summary:/ { print $2 }' "$out/callgrind.sip")
emit "BENCH sip_learn_instr_per_msg $((ir / (mixes * 13))) instr target <= 25000"

# The BPF classifier: ns per packet over an empty tc program (needs root;
# prints why when skipped).
"$bin/bench_bpf" | tee -a "$lines"

# Voice under load on the lab topology: fifo vs a static port rule vs voipq.
BUILD=$(dirname "$bin") "$(dirname "$0")/bench_lab.sh" | tee -a "$lines"

# voipqd with 500 calls set up at 50 calls/s: RSS, CPU, learning latency.
BUILD=$(dirname "$bin") "$(dirname "$0")/bench_voipqd.sh" | tee -a "$lines"

# sch_voipq in qemu on Debian's 6.1 kernel, in two guest boots: packets
# per second against fq_codel, HTB+fq_codel and tbf on a clock of
# instructions and on the wall clock, and voice delay under a flood against
# fq_codel (tests/vm/guest/bench.sh).
make --no-print-directory -C "$(dirname "$0")/../vm" bench | tee -a "$lines"

# Collect into JSON, checking each figure that has a target against it; a
# figure without one (a reference, such as fq_codel's packets per second)
# has a null target.
awk '
BEGIN { print "{\"benchmarks\":["; n = 0 }
$1 == "BENCH" && $5 == "target" {
	ok = ($6 == "<=") ? ($3 <= $7) : ($6 == ">=") ? ($3 >= $7) : \
	     ($6 == "<") ? ($3 < $7) : ($3 > $7)
	printf "%s  {\"name\":\"%s\",\"value\":%s,\"unit\":\"%s\",\"target_op\":\"%s\",\"target\":%s,\"met\":%s}", \
		n++ ? ",\n" : "", $2, $3, $4, $6, $7, ok ? "true" : "false"
}
$1 == "BENCH" && $5 != "target" {
	printf "%s  {\"name\":\"%s\",\"value\":%s,\"unit\":\"%s\",\"target_op\":null,\"target\":null,\"met\":null}", \
		n++ ? ",\n" : "", $2, $3, $4
}
END { print "\n]}" }
' "$lines" > "$out/results.json"
echo "bench: results in $out/results.json"
