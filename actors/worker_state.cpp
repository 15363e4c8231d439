#include "actors/worker_state.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <stdexcept>
#include <string>

#include "actors/cpu_backend.hpp"

namespace herd::actors {

worker_state::worker_state(uint32_t id, std::shared_ptr<const model::mlp> net,
                           std::shared_ptr<const data::dataset> train,
                           std::vector<model::slice> slices, int batch_size)
  : worker_state(id, net, train, std::move(slices), batch_size,
                 std::make_unique<cpu_backend>(net, batch_size, train->features)) {
}

worker_state::worker_state(uint32_t id, std::shared_ptr<const model::mlp> net,
                           std::shared_ptr<const data::dataset> train,
                           std::vector<model::slice> slices, int batch_size,
                           std::unique_ptr<compute_backend> backend)
  : id_(id), net_(std::move(net)), train_(std::move(train)), slices_(std::move(slices)),
    batch_size_(batch_size), backend_(std::move(backend)) {
  assert(backend_ && backend_->params().size() == net_->param_count());
}

void worker_state::offer_push_encoding(const config::compression_config& cfg, uint64_t seed) {
  pushes_from_backend_ = backend_->take_push_encoding(cfg, slices_, seed);
}

void worker_state::slice_pulled(size_t i, std::optional<kernels::half_format> as16) {
  if (as16)
    backend_->params16_ready(slices_[i].offset, slices_[i].count, *as16);
  else
    backend_->params_ready(slices_[i].offset, slices_[i].count);
}

bool worker_state::take_finished_chunk(uint64_t& id) {
  if (!chunk_open_ || has_batch())
    return false;
  id = chunk_.id;
  chunk_open_ = false;
  return true;
}

void worker_state::set_chunk(messages::data_chunk c, size_t pos) {
  chunk_ = std::move(c);
  pos_ = std::min(pos, chunk_.indices.size());
  chunk_open_ = true;
}

void worker_state::set_precision(std::optional<kernels::half_format> half) {
  half_ = half;
}

void worker_state::save(messages::carried_state& out) const {
  if (half_ == kernels::half_format::fp16) {
    out.loss_scale = scaler_.scale();
    out.clean_steps = scaler_.clean_in_a_row();
  }
  if (pushes_from_backend_)
    out.residual = backend_->push_residual();
}

caf::error worker_state::restore(const messages::carried_state& in) {
  if (in.loss_scale > 0)
    scaler_.restore(in.loss_scale, in.clean_steps);
  if (pushes_from_backend_ && !backend_->restore_push_residual(in.residual))
    return make_error(errc::size_mismatch, "the checkpoint's error-feedback residual does not "
                                           "fit this worker's device encoder");
  return {};
}

worker_state::step_result worker_state::compute_step() {
  assert(has_batch());
  size_t rows = std::min(size_t(batch_size_), chunk_.indices.size() - pos_);
  size_t features = train_->features;
  float* x = backend_->batch_x();
  uint8_t* y = backend_->batch_y();
  for (size_t r = 0; r < rows; ++r) {
    auto idx = chunk_.indices[pos_ + r];
    if (idx >= train_->count) // a bug upstream (checkpoints are checked before they resume)
      throw std::out_of_range("worker " + std::to_string(id_) + ": sample index "
                              + std::to_string(idx) + " of chunk " + std::to_string(chunk_.id)
                              + " is past the training set of " + std::to_string(train_->count)
                              + " samples");
    std::memcpy(x + r * features, train_->row(idx), features * sizeof(float));
    y[r] = train_->y[idx];
  }
  last_data_key_ = chunk_.id << 32 | (pos_ & 0xffffffffu);
  pos_ += rows;
  last_samples_ = static_cast<uint32_t>(rows);
  backend_step_options opts;
  opts.half = half_;
  // fp16 needs dynamic loss scaling; bf16 has fp32's range.
  const bool scaled = half_ && *half_ == kernels::half_format::fp16;
  if (scaled)
    opts.loss_scale = scaler_.scale();
  auto r = backend_->step(int(rows), opts);
  if (scaled)
    scaler_.record(r.finite);
  // A non-finite gradient (overflow, bad sample, divergence) is skipped, never pushed.
  return {r.loss, !r.finite};
}

} // namespace herd::actors
