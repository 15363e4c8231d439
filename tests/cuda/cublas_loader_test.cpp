// cuBLAS is opened when first needed, not at start (kernels/cuda/cublas_api.hpp). Needs the
// library, not a device: it runs wherever the CUDA backend is built, this GPU-less machine too.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "kernels/cuda/cublas_api.hpp"

namespace {

bool mapped(const std::string& name) {
  std::ifstream maps{"/proc/self/maps"};
  std::stringstream all;
  all << maps.rdbuf();
  return all.str().find(name) != std::string::npos;
}

} // namespace

TEST_CASE("cublas loader: the library is opened at the first use and every entry point resolves",
          "[cuda-build]") {
  using herd::kernels::cublas;
  CHECK(std::string(herd::kernels::cublas_library()).starts_with("libcublas.so."));
  CHECK_FALSE(mapped("libcublas")); // nothing links it: not loaded at start
  const auto& api = cublas();
  CHECK(mapped("libcublas.so"));
  CHECK(mapped("libcublasLt.so")); // its own dependency, loaded with it
  CHECK(api.create != nullptr);
  CHECK(api.destroy != nullptr);
  CHECK(api.set_stream != nullptr);
  CHECK(api.set_workspace != nullptr);
  CHECK(api.gemm_ex != nullptr);
  CHECK(std::string(api.status_name(CUBLAS_STATUS_SUCCESS)) == "CUBLAS_STATUS_SUCCESS");
  CHECK(std::string(api.status_name(CUBLAS_STATUS_NOT_INITIALIZED))
        == "CUBLAS_STATUS_NOT_INITIALIZED");
  CHECK(&cublas() == &api); // opened once
}
