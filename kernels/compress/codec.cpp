#include "kernels/compress/codec.hpp"

#include <cmath>

namespace herd::kernels::compress {

uint32_t sparse_count(double density, uint32_t n) {
  if (n == 0)
    return 0;
  if (!(density > 0.0) || !std::isfinite(density))
    return 1;
  const double k = std::round(density * n);
  if (k <= 1.0)
    return 1;
  if (k >= n)
    return n;
  return static_cast<uint32_t>(k);
}

std::optional<std::string> validate_and_decode(const codec& c,
                                               const encoded& e,
                                               uint32_t expected_count,
                                               float* out) {
  if (auto err = c.validate(e, expected_count))
    return err;
  c.decode(e, out);
  return std::nullopt;
}

} // namespace herd::kernels::compress
