#include "kernels/cuda/cublas_api.hpp"

#include <dlfcn.h>

#include <stdexcept>
#include <string>
#include <type_traits>

namespace herd::kernels {

namespace {

#define HERD_STR2(x) #x
#define HERD_STR(x) HERD_STR2(x)

// The C entry point among the header's C++ overloads (checked unevaluated: no link reference).
static_assert(std::is_same_v<decltype(static_cast<cublas_api::gemm_ex_fn>(&::cublasGemmEx)),
                             cublas_api::gemm_ex_fn>);

template <class F>
void resolve(void* lib, const char* name, F& out) {
  void* sym = ::dlsym(lib, name);
  if (sym == nullptr)
    throw std::runtime_error(std::string(cublas_library()) + " has no " + name
                             + " (a cuBLAS older than the headers herd was built with?)");
  out = reinterpret_cast<F>(sym);
}

cublas_api load() {
  void* lib = ::dlopen(cublas_library(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = ::dlerror();
    throw std::runtime_error(std::string("cannot load cuBLAS: ") + (why ? why : cublas_library())
                             + " (install CUDA's cuBLAS " HERD_STR(CUBLAS_VER_MAJOR)
                               " or put its directory in LD_LIBRARY_PATH)");
  }
  cublas_api api;
  resolve(lib, "cublasCreate_v2", api.create);
  resolve(lib, "cublasDestroy_v2", api.destroy);
  resolve(lib, "cublasSetStream_v2", api.set_stream);
  resolve(lib, "cublasSetWorkspace_v2", api.set_workspace);
  resolve(lib, "cublasGemmEx", api.gemm_ex);
  resolve(lib, "cublasGetStatusName", api.status_name);
  resolve(lib, "cublasGetStatusString", api.status_string);
  return api; // the library stays open for the life of the process
}

} // namespace

const char* cublas_library() {
  return "libcublas.so." HERD_STR(CUBLAS_VER_MAJOR);
}

const cublas_api& cublas() {
  static const cublas_api api = load(); // a throw leaves it to the next call
  return api;
}

} // namespace herd::kernels
