#include "kernels/cuda/gemm_cuda.hpp"

#include "kernels/cuda/cublas_api.hpp"
#include "kernels/cuda/cuda_raii.hpp"

namespace herd::kernels {

const char* gemm_type_name(gemm_type t) {
  switch (t) {
    case gemm_type::fp32:
      return "fp32";
    case gemm_type::tf32:
      return "tf32";
    case gemm_type::bf16:
      return "bf16";
    case gemm_type::fp16:
      return "fp16";
  }
  return "?";
}

namespace {

cublasOperation_t op(trans t) {
  return t == trans::yes ? CUBLAS_OP_T : CUBLAS_OP_N;
}

cudaDataType_t operand_type(gemm_type t) {
  switch (t) {
    case gemm_type::bf16:
      return CUDA_R_16BF;
    case gemm_type::fp16:
      return CUDA_R_16F;
    default:
      return CUDA_R_32F;
  }
}

} // namespace

void gemm_cuda(const cublas_handle& h, gemm_type type, trans ta, trans tb, int m, int n, int k,
               float alpha, const void* a, int lda, const void* b, int ldb, float beta,
               float* c, int ldc, cudaStream_t s) {
  if (m == 0 || n == 0)
    return;
  h.set_stream(s);
  const cublasComputeType_t compute =
    type == gemm_type::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  const cudaDataType_t t = operand_type(type);
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: the same buffers read as
  // their transposes, so swap the operands and m/n and keep the flags.
  HERD_CUBLAS_CHECK(cublas().gemm_ex(h.get(), op(tb), op(ta), n, m, k, &alpha, b, t, ldb, a, t,
                                     lda, &beta, c, CUDA_R_32F, ldc, compute,
                                     CUBLAS_GEMM_DEFAULT));
}

} // namespace herd::kernels
