# SPDX-License-Identifier: MIT
# C-facing build of DeviceStateTimes: libdevstate.so / libdevstate.a from the SwiftPM
# objects, pkg-config files, the CLI with its man pages and completions, install, Debian
# packages, the demo and every test. See README.md.

SHELL := /bin/bash
# Install layout, GNU-style; debian/rules sets LIBDIR to the multiarch directory.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
SWIFT ?= swift
SWIFTC ?= swiftc
SWIFT_STATIC ?= $(shell dirname $$(dirname $$(command -v $(SWIFTC))))/lib/swift_static/linux
ARCH ?= $(shell uname -m)
MULTIARCH ?= $(shell gcc -print-multiarch 2>/dev/null)
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

.PHONY: all lib cli deps deps-deb install install-lib install-cli stage report demo test check bench deb clean version
all: lib cli

# The release, read from the header once for the scripts too (scripts/deb/).
version:
	@echo $(VERSION)

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
# --gc-sections drops the runtime's unreferenced code and DT_RELR (glibc >= 2.36) packs the
# relative relocations: 6.25 -> 5.79 MB stripped (README, "Size"). -z now: no lazy binding.
LIB_LDFLAGS := -Xlinker --gc-sections -Xlinker -z -Xlinker pack-relative-relocs -Xlinker -z -Xlinker now
$(SHARED): $(BUILD)/.objects CShim/devstate.map Makefile
	mkdir -p $(BUILD)/lib
	$(SWIFTC) -use-ld=lld -emit-library -static-stdlib -o $@ $(LIB_OBJECTS) \
	  -ljson-c -Xlinker -soname=$(SONAME) -Xlinker --version-script=CShim/devstate.map $(LIB_LDFLAGS)
	ln -sf libdevstate.so.$(VERSION) $(BUILD)/lib/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/lib/libdevstate.so

$(STATIC): $(BUILD)/.objects
	mkdir -p $(BUILD)/lib
	rm -f $@
	ar rcs $@ $(LIB_OBJECTS)

# The devstate CLI as installed: the Swift runtime and FoundationEssentials linked in (a host
# needs no Swift), no RUNPATH; its own scratch path, so that the debug builds of `swift test`
# stay warm. Man pages (one per subcommand) and completions come from the command's own help
# (swift-argument-parser's generate-manual and --generate-completion-script).
CLI_SCRATCH := .build-cli
CLI_DIR := $(BUILD)/cli
CLI := $(CLI_DIR)/devstate
CLI_SOURCES := Package.swift $(shell find Sources CShim -type f \( -name '*.swift' -o -name '*.c' -o -name '*.h' -o -name '*.modulemap' \))
# The manual's date: the last commit's (or SOURCE_DATE_EPOCH's), so that a rebuild is identical.
MAN_DATE := $(shell d=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null)}; date -u -d @$${d:-0} +%F)

cli: $(CLI_DIR)/.complete

$(CLI): $(CLI_SOURCES)
	$(SWIFT) build -c release --product devstate --static-swift-stdlib --disable-local-rpath --scratch-path $(CLI_SCRATCH)
	mkdir -p $(CLI_DIR)
	cp $(CLI_SCRATCH)/release/devstate $@

$(CLI_DIR)/.complete: $(CLI)
	$(SWIFT) build -c release --product generate-manual --scratch-path $(CLI_SCRATCH)
	rm -rf $(CLI_DIR)/man $(CLI_DIR)/completions
	mkdir -p $(CLI_DIR)/man $(CLI_DIR)/completions
	$(CLI_SCRATCH)/release/generate-manual $(CLI) --multi-page --date $(MAN_DATE) -o $(CLI_DIR)/man
	# whatis (man -k, lexgrog) wants each page's NAME to be its file's: devstate.report there,
	# "devstate report" as typed in SYNOPSIS, and the summary without quotes.
	for f in $(CLI_DIR)/man/*.1; do \
	  page=$$(basename $$f .1); cmd=$$(echo $$page | tr . ' '); \
	  sed -i -e '/^\.Sh NAME$$/,/^\.Sh /{s/^\.Nm .*/.Nm '"$$page"'/;s/^\.Nd "\(.*\)"$$/.Nd \1/}' \
	         -e '/^\.Sh SYNOPSIS$$/,/^\.Sh /{s/^\.Nm$$/.Nm "'"$$cmd"'"/}' $$f; \
	done
	# Completion files are sourced, not run: no #! line.
	for sh in bash zsh fish; do $(CLI) --generate-completion-script $$sh | sed '1{/^#!/d}' > $(CLI_DIR)/completions/devstate.$$sh; done
	touch $@

# The built-in default of `devstate report` with no log (the CLI looks in ../share/devstate/fixtures
# beside its binary) and what docs/prometheus.md gives operators.
FIXTURES := $(wildcard Tests/Fixtures/qemu-10.0/*.log Tests/Fixtures/qemu-10.2/*.log)
PROMETHEUS_FILES := docs/prometheus/alerts.yml docs/prometheus/alerts.test.yml docs/prometheus/dashboard.json

install: install-lib install-cli

install-lib: lib
	install -d $(DESTDIR)$(INCLUDEDIR)/devstate $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 CShim/include/devstate/devstate.h CShim/include/devstate/qemu-hooks.h $(DESTDIR)$(INCLUDEDIR)/devstate/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libdevstate.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libdevstate.so
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	# No RUNPATH into a directory the dynamic linker searches anyway (Debian's multiarch one).
	rpath='-Wl,-rpath,$${libdir} '; \
	case "$(LIBDIR)" in /lib|/usr/lib|/lib/$(MULTIARCH)|/usr/lib/$(MULTIARCH)) rpath=;; esac; \
	for pc in devstate devstate-static; do \
	  sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	      -e "s|@RPATH@|$$rpath|" -e 's|@VERSION@|$(VERSION)|' -e 's|@SWIFT_STATIC@|$(SWIFT_STATIC)|' -e 's|@ARCH@|$(ARCH)|' \
	    pkgconfig/$$pc.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/$$pc.pc; \
	done

install-cli: cli
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
	  $(DESTDIR)$(FISHCOMPDIR) $(DESTDIR)$(DATADIR)/devstate/prometheus
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/devstate
	install -m 644 $(CLI_DIR)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(CLI_DIR)/completions/devstate.bash $(DESTDIR)$(BASHCOMPDIR)/devstate
	install -m 644 $(CLI_DIR)/completions/devstate.zsh $(DESTDIR)$(ZSHCOMPDIR)/_devstate
	install -m 644 $(CLI_DIR)/completions/devstate.fish $(DESTDIR)$(FISHCOMPDIR)/devstate.fish
	for r in 10.0 10.2; do install -d $(DESTDIR)$(DATADIR)/devstate/fixtures/qemu-$$r; done
	for f in $(FIXTURES); do install -m 644 $$f $(DESTDIR)$(DATADIR)/devstate/fixtures/$$(basename $$(dirname $$f))/; done
	install -m 644 $(PROMETHEUS_FILES) $(DESTDIR)$(DATADIR)/devstate/prometheus/

# The tests and the demo link against a staged install, exactly as a host would.
stage: lib
	$(MAKE) --no-print-directory install-lib PREFIX=$(STAGE) >/dev/null

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

# Debian packages (debian/, built with debhelper) in build/deb: libdevstate0, libdevstate-dev,
# devstate, and their -dbgsym packages with the debug files. The changelog's version must be
# the header's. dpkg-buildpackage's own clean keeps the build caches (debian/rules).
DEB_OUT := $(BUILD)/deb
DEB_VERSION = $(shell dpkg-parsechangelog -S Version)
deps-deb: deps
	@$(MAKE) --no-print-directory deps APT_PACKAGES="debhelper dpkg-dev lintian"

deb: deps-deb
	@[ "$(DEB_VERSION)" = "$(VERSION)" ] || { echo "debian/changelog is at $(DEB_VERSION), the header at $(VERSION)"; exit 1; }
	rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)
	dpkg-buildpackage -b -us -uc --no-sign \
	  --buildinfo-file=$(DEB_OUT)/devstate_$(VERSION)_$$(dpkg --print-architecture).buildinfo \
	  --changes-file=$(DEB_OUT)/devstate_$(VERSION)_$$(dpkg --print-architecture).changes \
	  --buildinfo-option=-u$(DEB_OUT) --changes-option=-u$(DEB_OUT)
	ls -l $(DEB_OUT)

clean:
	rm -rf $(BUILD) $(SCRATCH) $(CLI_SCRATCH)

# Regenerates bench/RESULTS.md and bench/record-cost.png.
bench: deps
	$(MAKE) --no-print-directory stage
	bench/run.sh
