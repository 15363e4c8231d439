// Main of herd_cuda_tests, the [cuda] tests. Catch2 v2 has no SKIP: without a CUDA device
// this returns skip_code, which ctest reports as skipped (SKIP_RETURN_CODE in
// tests/cuda/CMakeLists.txt), instead of running tests that could only pass vacuously.
// Listing (catch_discover_tests at build time) works on any machine.

#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <string_view>

#include "kernels/cuda/device.hpp"

namespace {

constexpr int skip_code = 77;

bool listing(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view{argv[i]}.starts_with("--list") || std::string_view{argv[i]} == "-l"
        || std::string_view{argv[i]} == "-h" || std::string_view{argv[i]} == "--help")
      return true;
  return false;
}

} // namespace

int main(int argc, char** argv) {
  if (!listing(argc, argv) && herd::kernels::cuda_device_count() == 0) {
    std::puts("SKIPPED: no CUDA device on this machine");
    return skip_code;
  }
  return Catch::Session().run(argc, argv);
}
