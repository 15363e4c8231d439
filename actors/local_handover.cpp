#include "actors/local_handover.hpp"

#include <cmath>
#include <string>

#include "kernels/loss_scaler.hpp"

namespace herd::actors {

caf::error check_local_gradient(const local_gradient& g, const messages::slice_expectation& want) {
  const auto& h = g.header;
  auto bad = [&](const std::string& why) {
    return make_error(errc::payload_invalid, "local gradient from worker "
                                               + std::to_string(h.worker) + " refused: " + why);
  };
  if (h.shard != want.shard || h.offset != want.offset || h.count != want.count)
    return bad("it is for shard " + std::to_string(h.shard) + " at " + std::to_string(h.offset)
               + " with " + std::to_string(h.count) + " values, this is shard "
               + std::to_string(want.shard) + " at " + std::to_string(want.offset) + " with "
               + std::to_string(want.count));
  if (h.samples == 0)
    return bad("it covers 0 samples");
  if (!g.values || g.values->size() != want.count)
    return bad("it holds " + std::to_string(g.values ? g.values->size() : 0) + " values, expected "
               + std::to_string(want.count));
  const float* x = g.values->data();
  if (!kernels::all_finite_cpu(x, want.count))
    for (uint32_t i = 0; i < want.count; ++i)
      if (!std::isfinite(x[i]))
        return bad("it holds a non-finite value at element " + std::to_string(i));
  return {};
}

std::shared_ptr<std::vector<float>> reusable_buffer(std::shared_ptr<std::vector<float>>& buf,
                                                    size_t n) {
  if (!buf || buf.use_count() > 1)
    buf = std::make_shared<std::vector<float>>(n);
  else
    buf->resize(n);
  return buf;
}

} // namespace herd::actors
