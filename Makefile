# Front door over Meson/Ninja. Every target installs missing Debian packages
# first (scripts/deps.sh), so a fresh Debian 12 machine needs only these.
.PHONY: all build demo test bench bench-trace fuzz soak soak-powercut lint clean deps install

BUILD ?= build
ASAN ?= build-asan
PREFIX ?= /usr/local

all: build

deps:
	@sh scripts/deps.sh

$(BUILD)/build.ninja:
	@sh scripts/deps.sh
	meson setup $(BUILD) >/dev/null
	ln -sf $(BUILD)/compile_commands.json compile_commands.json

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(ASAN)/build.ninja:
	@sh scripts/deps.sh
	CC=clang meson setup $(ASAN) -Db_sanitize=address,undefined -Db_lundef=false >/dev/null

build-asan: deps $(ASAN)/build.ninja
	ninja -C $(ASAN)

# make install PREFIX=/usr/local DESTDIR=: the binary, man pages, systemd unit,
# sysusers.d/tmpfiles.d entries, bash completion and docs (docs/operations.md).
install: build
	meson configure $(BUILD) -Dprefix=$(PREFIX) >/dev/null
	DESTDIR="$(DESTDIR)" meson install -C $(BUILD)

demo: build
	sh scripts/demo.sh $(BUILD)/hotline

test: build build-asan
	bash tests/run.sh $(BUILD) $(ASAN)

bench: build
	sh bench/run.sh $(BUILD)

# Where a FLASH message's time goes, step by step (docs/performance.md): a
# build with trace points (-Dtrace=true) in build-trace, 1,000 FLASH messages
# on an idle line; TRACE=backlog: 200 more with 100,000 ROUTINE in flight.
bench-trace: deps
	@[ -f build-trace/build.ninja ] || meson setup build-trace -Dtrace=true >/dev/null
	ninja -C build-trace
	bash bench/trace.sh build-trace $(TRACE)

# The long power-cut and corruption series (docs/reliability.md); `make soak` calls it.
# Override the counts or replay a run: make soak-powercut CUTS=50 CORRUPTIONS=20 SEED=42
CUTS ?= 500
CORRUPTIONS ?= 200
soak-powercut: build
	nice sh tests/powercut/run.sh --cuts $(CUTS) --corruptions $(CORRUPTIONS) \
		$(if $(SEED),--seed $(SEED)) --quiet

fuzz: deps
	sh fuzz/run.sh 60

# The fault harness for DURATION seconds (tests/soak.sh, docs/reliability.md);
# SOAK_BUILD=build-asan runs it on the sanitizer build.
DURATION ?= 3600
SOAK_BUILD ?= $(BUILD)
soak: build
	bash tests/soak.sh $(DURATION) $(SOAK_BUILD)
	@# Hook: other long runs (the power-cut soak, target soak-powercut) follow when defined.
	@if $(MAKE) -n soak-powercut >/dev/null 2>&1; then $(MAKE) soak-powercut DURATION=$(DURATION); fi

# clang-format, clang-tidy and cppcheck, all clean (scripts/lint.sh).
lint: build
	sh scripts/lint.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN) build-fuzz build-trace compile_commands.json
