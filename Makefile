# Front door over Meson/Ninja. Every target installs missing Debian packages
# first (scripts/deps.sh), so a fresh Debian 12 machine needs only these.
.PHONY: all build demo test bench fuzz lint clean deps soak-powercut

BUILD ?= build
ASAN ?= build-asan

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

demo: build
	sh scripts/demo.sh $(BUILD)/hotline

test: build build-asan
	sh tests/run.sh $(BUILD) $(ASAN)

bench: build
	sh bench/run.sh $(BUILD)

# The long power-cut and corruption series (docs/reliability.md); `make soak` calls it.
# Override the counts or replay a run: make soak-powercut CUTS=50 CORRUPTIONS=20 SEED=42
CUTS ?= 500
CORRUPTIONS ?= 200
soak-powercut: build
	nice sh tests/powercut/run.sh --cuts $(CUTS) --corruptions $(CORRUPTIONS) \
		$(if $(SEED),--seed $(SEED)) --quiet

fuzz: deps
	sh fuzz/run.sh 60

lint: build
	clang-format --dry-run -Werror src/*.c src/*.h tests/unit/*.c fuzz/*.c

clean:
	rm -rf $(BUILD) $(ASAN) build-fuzz compile_commands.json
