# SPDX-License-Identifier: MIT
# C-facing build of DeviceStateTimes: libdevstate.so / libdevstate.a from the SwiftPM
# objects, pkg-config files, install, the demo and every test. See README.md.

SHELL := /bin/bash
PREFIX ?= /usr/local
SWIFT ?= swift
SWIFTC ?= swiftc
SWIFT_STATIC ?= $(shell dirname $$(dirname $$(command -v $(SWIFTC))))/lib/swift_static/linux
ARCH ?= $(shell uname -m)
BUILD := build
STAGE := $(abspath $(BUILD)/stage)
SCRATCH := .build-lib

HEADER := CShim/include/devstate/devstate.h
version_part = $(shell sed -n 's/^\#define DEVSTATE_VERSION_$(1) \([0-9]*\)$$/\1/p' $(HEADER))
VERSION := $(call version_part,MAJOR).$(call version_part,MINOR).$(call version_part,PATCH)
ABI := $(shell sed -n 's/^\#define DEVSTATE_ABI_VERSION \([0-9]*\)$$/\1/p' $(HEADER))
SONAME := libdevstate.so.$(ABI)

LIB_SWIFT := $(wildcard Sources/DeviceStateTimes/*.swift)
LIB_C := $(wildcard Sources/CDevstateShim/*.c)
LIB_SOURCES := $(LIB_SWIFT) $(LIB_C) $(wildcard CShim/include/*/*.h CShim/include/module.modulemap Sources/CDevstateShim/include/*.h Package.swift)
# The objects of today's sources only: a renamed or deleted file's stale object in the
# scratch directory is never linked (SwiftPM names each object after its source).
LIB_OBJECTS := $(patsubst Sources/DeviceStateTimes/%,$(SCRATCH)/release/DeviceStateTimes.build/%.o,$(LIB_SWIFT)) \
               $(patsubst Sources/CDevstateShim/%,$(SCRATCH)/release/CDevstateShim.build/%.o,$(LIB_C))
SHARED := $(BUILD)/lib/libdevstate.so.$(VERSION)
STATIC := $(BUILD)/lib/libdevstate.a

.PHONY: all lib deps install stage report demo test check bench clean
all: lib

# Debian packages the build and the tests need; installed only when missing. libvirt-dev is the
# CLI's (`devstate trace --domain`); it brings the client library only, no daemon.
APT_PACKAGES := libjson-c-dev libvirt-dev pkg-config libglib2.0-dev gcc g++ binutils valgrind gnuplot-nox python3
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lib: $(SHARED) $(STATIC)

# DWARF 4 for the C objects: Debian 12's valgrind cannot read the DWARF 5 clang writes by default.
$(BUILD)/.objects: $(LIB_SOURCES)
	$(SWIFT) build -c release --scratch-path $(SCRATCH) --target DeviceStateTimes -Xcc -gdwarf-4
	mkdir -p $(BUILD)
	touch $@

# -static-stdlib: the .so carries the Swift runtime (no libswiftCore at run time, no RUNPATH);
# the version script exports devstate_* only. lld (gold leaves local Swift symbols in .dynsym).
$(SHARED): $(BUILD)/.objects CShim/devstate.map
	mkdir -p $(BUILD)/lib
	$(SWIFTC) -use-ld=lld -emit-library -static-stdlib -o $@ $(LIB_OBJECTS) \
	  -ljson-c -Xlinker -soname=$(SONAME) -Xlinker --version-script=CShim/devstate.map
	ln -sf libdevstate.so.$(VERSION) $(BUILD)/lib/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/lib/libdevstate.so

$(STATIC): $(BUILD)/.objects
	mkdir -p $(BUILD)/lib
	rm -f $@
	ar rcs $@ $(LIB_OBJECTS)

install: lib
	install -d $(DESTDIR)$(PREFIX)/include/devstate $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 CShim/include/devstate/devstate.h CShim/include/devstate/qemu-hooks.h $(DESTDIR)$(PREFIX)/include/devstate/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libdevstate.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libdevstate.so
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	for pc in devstate devstate-static; do \
	  sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@SWIFT_STATIC@|$(SWIFT_STATIC)|' -e 's|@ARCH@|$(ARCH)|' \
	    pkgconfig/$$pc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/$$pc.pc; \
	done

# The tests and the demo link against a staged install, exactly as a host would.
stage: lib
	$(MAKE) --no-print-directory install PREFIX=$(STAGE) >/dev/null

# The main job: `devstate report` on the real QEMU 10.0 trace logs in Tests/Fixtures.
report: deps
	$(SWIFT) build -c release --product devstate >/dev/null
	$$($(SWIFT) build -c release --show-bin-path)/devstate report

demo: deps
	$(MAKE) --no-print-directory stage
	mkdir -p $(BUILD)/demo
	gcc -std=c11 -Wall -Wextra -Werror -pedantic -o $(BUILD)/demo/replay-pc examples/replay-pc.c \
	  $$(PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig pkg-config --cflags --libs devstate)
	$(BUILD)/demo/replay-pc

test: deps
	$(MAKE) --no-print-directory stage
	scripts/run-tests.sh

# The edit-test loop: library build + stage, swift test (no TSan), the C tests linked shared,
# the library checks. No QEMU builds or migrations, fuzzing or benchmarks (make test has them).
# Same closing "total:" line. SWIFT_SCRATCH picks SwiftPM's scratch path for swift test.
check: deps
	$(MAKE) --no-print-directory stage
	DEVSTATE_TESTS=quick scripts/run-tests.sh

clean:
	rm -rf $(BUILD) $(SCRATCH)

# Regenerates bench/RESULTS.md and bench/record-cost.png.
bench: deps
	$(MAKE) --no-print-directory stage
	bench/run.sh
