# Sluice: thin wrapper over CMake and the test scripts.
#   make run    install missing packages, build, start a broker on 127.0.0.1:9092 (data in ./data)
#   make test   install missing packages, then every test (scripts/run-tests)
#   make fuzz   each fuzzer for FUZZ_SECONDS (default 60)
#   make bench  Sluice against librdkafka's mock cluster and the machine's limits
#               (bench/run: table in build/bench/, entry in docs/performance.md;
#               BENCH_QUICK=1 for a short trial run)
#   make compat-full   every broker test of librdkafka's own test suite (not just the gate)
#   make docker-test   the container image and compose stacks, with podman (scripts/docker-test)
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: all deps build run test bench fuzz compat-full docker-test gen gen-check format clean

all: build

deps:
	@scripts/install-deps test

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSL_TESTS=OFF >/dev/null
	@cmake --build build -j $(JOBS) >/dev/null

run: build
	@mkdir -p data
	./build/sluice --config config/server.properties

test: deps
	@scripts/run-tests

bench: deps
	@bench/run

fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/run-tests fuzz

compat-full: build
	@LIBRDKAFKA=all scripts/run-tests librdkafka

docker-test:
	@scripts/docker-test

gen:
	python3 protocol/gen/gen.py --out src/proto/gen

gen-check:
	@sh protocol/gen/check.sh

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 'bench/*.c' 'compat-tests/*.c' | grep -v '^src/proto/gen/')

clean:
	rm -rf build build-san build-fuzz
