# SPDX-License-Identifier: GPL-2.0
# Shared by every sub-Makefile: where things go, how C is compiled, and the
# quiet/loud switch (V=1 prints every command).

TOP      := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
BUILD    ?= $(TOP)/build
CC       ?= cc
CLANG    ?= clang
PKGCONF  ?= pkg-config

PKGS     := libosip2 libpcap json-c libmnl libbpf
# build/bpf holds the classifier's generated skeleton (voipq.skel.h).
CPPFLAGS += -I$(TOP)/agent -I$(TOP)/kmod/uapi -I$(TOP)/bpf -I$(BUILD)/bpf -D_GNU_SOURCE
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter \
	    -Wmissing-prototypes -Wstrict-prototypes -Werror \
	    $(shell $(PKGCONF) --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell $(PKGCONF) --libs $(PKGS) 2>/dev/null) -lm

LIBVOIPQ := $(BUILD)/agent/libvoipq.a
BPF_SKEL := $(BUILD)/bpf/voipq.skel.h

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(patsubst $(TOP)/%,%,$(2))";
endif

.DELETE_ON_ERROR:

# make install: PREFIX for programs, DESTDIR for staging (packaging).
PREFIX   ?= /usr/local
SYSCONFDIR ?= /etc
INSTALL  ?= install
