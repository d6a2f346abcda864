# SPDX-License-Identifier: GPL-2.0
#
# refdax top-level Makefile.
#
#   make                 module for the running kernel (KDIR to override)
#   make KDIR=/lib/modules/<ver>/build
#   make tools           mkfs.refdax, fsck.refdax (userspace)
#   make unit            userspace unit tests
#   make modules-all     module for every installed kernel, in build/<ver>/
#   make check           install deps, build everything, unit + guest suites
#   make demo            boot a guest with emulated pmem and use refdax
#   make bench           benchmarks against XFS-DAX and ext4-DAX
#   make fstests FSTESTS=/path/to/built/xfstests [FSTESTS_TESTS="-g clone"]
#                        [KVER="k1 k2"]: fstests on refdax and XFS-DAX in
#                        the guest (optional, not part of make check)
#   make lint            checkpatch --strict and sparse
#   make crash-soak      whole-guest crash points (POINTS=1000, KVERS="...")
#   make crash-trace     store-level crash enumeration of the kernel code
#   make corrupt-soak    corrupted images mounted in the guest (IMAGES=10000)
#   make fuzz            bounded libFuzzer run; make fuzz-soak SECS=600
#   make install         install module (current kernel) and tools

KVER	?= $(shell uname -r)
KDIR	?= /lib/modules/$(KVER)/build
PREFIX	?= /usr/local
CC	?= gcc
CFLAGS	?= -O2 -g
UCFLAGS	:= $(CFLAGS) -Wall -Wextra -Werror -Iinclude -Itools -D_GNU_SOURCE
BUILD	:= build

COMMON_SRC := common/refdax_crc.c common/refdax_verify.c common/refdax_journal.c \
	common/refdax_btree.c common/refdax_refc.c common/refdax_xattr.c

.PHONY: all module tools unit modules-all check demo bench lint install clean \
	crash-soak crash-trace corrupt-soak fuzz fuzz-soak fstests

all: module

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# Out-of-tree kbuild writes objects next to the sources, so each kernel gets
# its own copy of the tree under build/<ver>/.
modules-all:
	./scripts/build-modules.sh

tools: $(BUILD)/mkfs.refdax $(BUILD)/fsck.refdax

TOOLS_SRC := tools/refdax_tools.c tools/refdax_dev.c

$(BUILD)/mkfs.refdax: mkfs/*.c $(TOOLS_SRC) $(COMMON_SRC) include/*.h tools/*.h
	@mkdir -p $(BUILD)
	$(CC) $(UCFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ mkfs/*.c $(TOOLS_SRC) $(COMMON_SRC)

$(BUILD)/fsck.refdax: fsck/*.c fsck/*.h $(TOOLS_SRC) $(COMMON_SRC) include/*.h tools/*.h
	@mkdir -p $(BUILD)
	$(CC) $(UCFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ fsck/*.c $(TOOLS_SRC) $(COMMON_SRC)

unit:
	$(MAKE) -C tests/unit

check:
	./scripts/check.sh

demo:
	./scripts/demo.sh

bench:
	./scripts/bench.sh

lint:
	./scripts/lint.sh

# KVER only when given (its default, the running kernel, is the host's).
fstests:
	FSTESTS="$(FSTESTS)" FSTESTS_TESTS="$(FSTESTS_TESTS)" FSTESTS_OUT="$(FSTESTS_OUT)" \
		KVER="$(if $(filter command line environment,$(origin KVER)),$(KVER))" \
		./scripts/fstests.sh

# Long robustness runs, per installed kernel (KVERS to choose).
KVERS	?= $(notdir $(patsubst %/build,%,$(wildcard /lib/modules/*/build)))
POINTS	?= 1000
IMAGES	?= 10000
SECS	?= 600
SEED	?= $(shell date +%s)

crash-soak: tools
	./scripts/build-modules.sh $(KVERS)
	set -e; for k in $(KVERS); do \
		tests/crashsoak/run.sh --kver $$k --points $(POINTS) --seed $(SEED) \
			--out $(BUILD)/crash-soak/$$k; done

crash-trace: tools
	./scripts/build-modules.sh $(KVERS)
	set -e; for k in $(KVERS); do \
		tests/crash/trace-run.sh --kver $$k --out $(BUILD)/crash-trace/$$k; done

corrupt-soak: tools
	./scripts/build-modules.sh $(KVERS)
	set -e; for k in $(KVERS); do \
		tests/corrupt/run.sh --kver $$k --images $(IMAGES) --seed $(SEED) \
			--out $(BUILD)/corrupt/$$k; done

fuzz:
	$(MAKE) -C tests/fuzz run

fuzz-soak:
	$(MAKE) -C tests/fuzz soak SECS=$(SECS)

install: module tools
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	depmod -a $(KVER) || true
	install -D -m 0755 $(BUILD)/mkfs.refdax $(DESTDIR)$(PREFIX)/sbin/mkfs.refdax
	install -D -m 0755 $(BUILD)/fsck.refdax $(DESTDIR)$(PREFIX)/sbin/fsck.refdax
	install -D -m 0644 man/mkfs.refdax.8 $(DESTDIR)$(PREFIX)/share/man/man8/mkfs.refdax.8
	install -D -m 0644 man/fsck.refdax.8 $(DESTDIR)$(PREFIX)/share/man/man8/fsck.refdax.8

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	rm -rf $(BUILD)
	-$(MAKE) -C tests/unit clean
