# The two commands: `make run` trains the Fashion-MNIST example, `make test` runs every test.
# Both install missing Debian packages first (scripts/install-deps.sh) and build Release.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build run test bench clean

all: build

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

run: build
	$(BUILD)/herd run examples/fashion_mnist.json

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 900 -j$(JOBS)

bench: build
	$(BUILD)/bench/job_bench
	$(BUILD)/bench/kernels_bench
	$(BUILD)/bench/pipeline_bench
	$(BUILD)/bench/tensor_bench

clean:
	rm -rf $(BUILD)
