#pragma once

// Thread count of the OpenBLAS pool used by gemm_cpu. Process-wide state
// owned by OpenBLAS (not by herd): set it once at startup, from one thread.

namespace herd::kernels {

// Sets the OpenBLAS thread count; n >= 1.
void set_blas_threads(int n);

// The current OpenBLAS thread count.
int blas_threads();

} // namespace herd::kernels
