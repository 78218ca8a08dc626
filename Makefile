# The README's two commands: `make run` and `make test`. Each installs what is missing (apt-get),
# builds, then runs. Everything else here is a convenience for developers.
.PHONY: run test test-dev deps build build-dev bench fuzz format format-check clean

JOBS ?= 2
# `make run OFFLINE=1`: the replay exchange instead of Binance, and a sample workflow.
export OFFLINE PORT API_TOKEN

deps:
	@tools/install-deps.sh
	@tools/install-web.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build build/release -j $(JOBS)

build-dev: deps
	@cmake --preset dev >/dev/null
	@cmake --build build/dev -j $(JOBS)

# Sets everything up and runs the platform locally (see README).
run: build
	@tools/run-local.sh

# Sets everything up and runs every test, then each libFuzzer target for FUZZ_SECONDS (30).
FUZZ_SECONDS ?= 30
test: build
	@ctest --preset release -j $(JOBS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) tools/fuzz.sh

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
test-dev: build-dev
	@ctest --preset dev -j $(JOBS)

fuzz: deps
	@tools/fuzz.sh

bench: build
	@tools/run-bench.sh

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

format-check:
	@git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run -Werror

clean:
	rm -rf build
