# SPDX-License-Identifier: GPL-2.0
# Included by tests/Makefile: the lab's tools and tests (namespaces on the
# host kernel, real shaping and classification, iperf3 floods).

LAB_TOOLS := $(OUT)/vqlab $(OUT)/rtpprobe

$(OUT)/vqlab: lab/vqlab.c $(LIBVOIPQ) | $(OUT)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIBVOIPQ) $(LDLIBS)

$(OUT)/rtpprobe: lab/rtpprobe.c $(LIBVOIPQ) | $(OUT)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIBVOIPQ) $(LDLIBS)

lab-tools: $(LAB_TOOLS)

# The voice-under-load benchmark runs on the lab too.
bench: $(LAB_TOOLS)

# Each lab test exits 0 (pass), 4 (skipped, reason printed) or else (fail).
LAB_TESTS := $(sort $(wildcard lab/test_*.sh))

lab: $(LAB_TOOLS)
	$(Q)pass=0; fail=0; skip=0; \
	for t in $(LAB_TESTS); do \
		printf '  %-8s %s\n' LAB $$t; \
		BUILD=$(BUILD) timeout 300 $$t; rc=$$?; \
		case $$rc in 0) pass=$$((pass+1));; 4) skip=$$((skip+1));; \
		*) fail=$$((fail+1)); echo "  lab: $$t failed ($$rc)";; esac; \
	done; \
	echo "lab: $$pass passed, $$fail failed, $$skip skipped"; \
	[ $$fail -eq 0 ]

.PHONY: lab lab-tools
