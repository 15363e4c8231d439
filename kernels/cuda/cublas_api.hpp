#pragma once

// cuBLAS entry points, resolved from libcublas.so.<major> when a GPU first needs them instead
// of linked: linking makes every herd process load libcublasLt (541 MB), which cost 210 MB
// resident and 0.12 s at each start here, CPU job, `herd ctl` or test alike.

#include <cublas_v2.h>

namespace herd::kernels {

struct cublas_api {
  using gemm_ex_fn = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t,
                                        int, int, int, const void*, const void*, cudaDataType,
                                        int, const void*, cudaDataType, int, const void*, void*,
                                        cudaDataType, int, cublasComputeType_t,
                                        cublasGemmAlgo_t);
  decltype(&::cublasCreate_v2) create = nullptr;
  decltype(&::cublasDestroy_v2) destroy = nullptr;
  decltype(&::cublasSetStream_v2) set_stream = nullptr;
  decltype(&::cublasSetWorkspace_v2) set_workspace = nullptr;
  gemm_ex_fn gemm_ex = nullptr;
  decltype(&::cublasGetStatusName) status_name = nullptr;
  decltype(&::cublasGetStatusString) status_string = nullptr;
};

/// The library file this build's headers belong to ("libcublas.so.13").
const char* cublas_library();

/// Opens cublas_library() on the first call (the loader's usual search: LD_LIBRARY_PATH, the
/// binary's RUNPATH, ld.so.cache). Throws std::runtime_error naming the library and the
/// loader's reason when it or one of the entry points is missing; later calls try again.
const cublas_api& cublas();

} // namespace herd::kernels
