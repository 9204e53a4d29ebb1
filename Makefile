# SPDX-License-Identifier: GPL-2.0
# voipq: the top level only delegates. `make` builds, `make check` tests,
# `make demo` shows it working, `make deps` installs what is needed.

SUBDIRS := bpf agent tools
Q := $(if $(filter 1,$(V)),,@)

all: deps-quiet
	$(Q)for d in $(SUBDIRS); do $(MAKE) --no-print-directory -C $$d || exit; done

deps:
	@./scripts/deps.sh

# Install what is missing; silent when nothing is.
deps-quiet:
	@./scripts/deps.sh

check: all
	@$(MAKE) --no-print-directory -C tests check
	@$(MAKE) --no-print-directory -C tests/vm check

# sch_voipq against the running kernel's headers, or KDIR=.
kmod:
	$(Q)$(MAKE) --no-print-directory -C kmod

# The module in qemu on Debian's 6.1 and 6.12 kernels (part of check).
vm-check: all
	@$(MAKE) --no-print-directory -C tests/vm check

vm-bench: all
	@$(MAKE) --no-print-directory -C tests/vm bench

bench: all
	@$(MAKE) --no-print-directory -C tests bench

fuzz: all
	@$(MAKE) --no-print-directory -C tests fuzz

# PREFIX (default /usr/local) and DESTDIR work as usual.
install: all
	$(Q)$(MAKE) --no-print-directory -C agent install
	$(Q)$(MAKE) --no-print-directory -C tools install

# One call under a flood, without and with voipq, on the namespace lab.
demo: all
	$(Q)$(MAKE) --no-print-directory -C tests lab-tools
	@./scripts/demo.sh

clean:
	rm -rf build

.PHONY: all deps deps-quiet check bench fuzz demo install clean kmod vm-check vm-bench
