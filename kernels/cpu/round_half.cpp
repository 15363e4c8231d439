#include "kernels/cpu/round_half.hpp"

#include "kernels/compress/half.hpp"

namespace herd::kernels {

void round_to_half_cpu(const float* x, float* out, size_t n, half_format f) {
  if (f == half_format::bf16) {
    for (size_t i = 0; i < n; ++i)
      out[i] = compress::bf16_to_float(compress::float_to_bf16(x[i]));
    return;
  }
  for (size_t i = 0; i < n; ++i)
    out[i] = compress::fp16_to_float(compress::float_to_fp16(x[i]));
}

void round_to_half_cpu(float* x, size_t n, half_format f) {
  round_to_half_cpu(x, x, n, f);
}

} // namespace herd::kernels
