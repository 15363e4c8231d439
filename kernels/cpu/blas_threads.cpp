#include "kernels/cpu/blas_threads.hpp"

#include <cassert>

#include <cblas.h>

namespace herd::kernels {

void set_blas_threads(int n) {
  assert(n >= 1);
  openblas_set_num_threads(n);
}

int blas_threads() {
  return openblas_get_num_threads();
}

} // namespace herd::kernels
