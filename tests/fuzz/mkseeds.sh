#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Turn the SIP corpus scenarios (tests/data/sip/*.sip) into fuzz seeds:
# each scenario's messages, CRLF-terminated with Content-Length filled in,
# separated by NUL bytes (the fuzz_sip input format).
set -euo pipefail
src=${1:?usage: mkseeds.sh CORPUS_DIR OUT_DIR}
out=${2:?usage: mkseeds.sh CORPUS_DIR OUT_DIR}
mkdir -p "$out"
for f in "$src"/*.sip; do
	awk '
	function flush(   i, n, sep, body, blen, hdr, line) {
		if (nl == 0) return
		while (nl > 0 && lines[nl] == "") nl--
		sep = 0
		for (i = 1; i <= nl; i++) if (lines[i] == "") { sep = i; break }
		body = ""; blen = 0
		if (sep) for (i = sep + 1; i <= nl; i++) { body = body lines[i] "\r\n"; blen += length(lines[i]) + 2 }
		n = sep ? sep - 1 : nl
		if (count++) printf "%c", 0
		for (i = 1; i <= n; i++) {
			line = lines[i]
			if (line == "Content-Length: *") line = "Content-Length: " blen
			printf "%s\r\n", line
		}
		printf "\r\n%s", body
		nl = 0
	}
	/^>>>/ { flush(); inmsg = 1; next }
	/^===/ { flush(); inmsg = 0; next }
	inmsg { lines[++nl] = $0 }
	END { flush() }
	' "$f" > "$out/$(basename "$f" .sip)"
done
