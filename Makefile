# pipeworks: the README's entry points. `make test` and `make demo` are all a new machine needs.
BUILD       ?= build
BUILD_TYPE  ?= RelWithDebInfo
PREFIX      ?= /usr/local
JOBS        ?= $(shell nproc)
FUZZ_SECONDS ?= 180
CMAKE_FLAGS ?=

.PHONY: all deps build test demo install deb fuzz test-asan docs check-docs bench clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

demo: build
	examples/demo.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# The Debian package (packaging/CMakeLists.txt): $(BUILD)/pipeworks_VERSION_ARCH.deb, installed
# with `apt install ./$(BUILD)/pipeworks_*.deb`.
deb: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target pw-tools
	cd $(BUILD) && cpack -G DEB

# Regenerates the checked-in man pages and completions from the option definitions.
docs: build
	cmake --build $(BUILD) --target docs

check-docs: build
	cd $(BUILD) && ctest -R '^docs-' --output-on-failure

# Unit and integration tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPW_SANITIZE=ON -DPW_BENCH=OFF
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 600 -E '^(docs-|bench-)'

# Each libFuzzer target for FUZZ_SECONDS with clang-14, starting from its seed corpus.
fuzz: deps
	CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPW_FUZZ=ON -DPW_TESTS=OFF -DPW_BENCH=OFF
	cmake --build build-fuzz -j $(JOBS)
	scripts/run-fuzzers build-fuzz $(FUZZ_SECONDS)

bench: build
	bench/run-all.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
