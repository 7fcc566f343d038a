# The two commands of the README, each doing all the set-up it needs:
#   make demo   installs dependencies (Debian packages), builds, runs the demo into demo_out/
#   make test   installs dependencies, builds, runs every test
# PRESET picks a CMakePresets.json preset: auto (CUDA when nvcc is at /usr/local/cuda), cpu, cuda.
PRESET ?= auto
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc)
DEMO_DIR ?= demo_out

.PHONY: all setup configure build demo test test-fast test-asan bench clean

all: build

setup:
	@scripts/setup.sh

configure: setup
	cmake --preset $(PRESET)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	$(BUILD_DIR)/bin/morphfit demo --output_dir $(DEMO_DIR)

# Every test, slow ones included; GPU tests skip with a reason where no CUDA device exists.
test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# Everything but the tests labelled slow.
test-fast: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -LE slow

# The file readers (.pts, meshes, images, .h5, .mat) and their fuzz test under AddressSanitizer
# and UBSan: every truncated or bit-flipped input must be rejected cleanly, without memory errors.
ASAN_SUITES := tests/core/morphfit_core_tests tests/io/morphfit_io_tests \
  tests/models/morphfit_models_tests tests/models/morphfit_mat_models_tests \
  tests/models/morphfit_model_fuzz_tests
test-asan: setup
	cmake --preset asan
	cmake --build build/asan -j $(JOBS) --target $(notdir $(ASAN_SUITES))
	set -e; for t in $(ASAN_SUITES); do echo "[asan] $$t"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build/asan/$$t --gtest_brief=1; done

bench: build
	$(BUILD_DIR)/bench/bench_model_eval --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

clean:
	rm -rf build $(DEMO_DIR)
