#include "actors/worker_state.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace herd::actors {

worker_state::worker_state(uint32_t id, std::shared_ptr<const model::mlp> net,
                           std::shared_ptr<const data::dataset> train,
                           std::vector<model::slice> slices, int batch_size)
  : id_(id), net_(std::move(net)), train_(std::move(train)), slices_(std::move(slices)),
    batch_size_(batch_size), params_(net_->param_count()), grad_(net_->param_count()) {
  x_.resize(size_t(batch_size_) * train_->features);
  y_.resize(size_t(batch_size_));
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
  if (half_)
    half_params_.resize(params_.size());
}

worker_state::step_result worker_state::compute_step() {
  assert(has_batch());
  size_t rows = std::min(size_t(batch_size_), chunk_.indices.size() - pos_);
  size_t features = train_->features;
  for (size_t r = 0; r < rows; ++r) {
    auto idx = chunk_.indices[pos_ + r];
    std::memcpy(x_.data() + r * features, train_->row(idx), features * sizeof(float));
    y_[r] = train_->y[idx];
  }
  pos_ += rows;
  last_samples_ = static_cast<uint32_t>(rows);
  if (!half_) {
    float loss =
      step_ ? step_(params_.data(), x_.data(), y_.data(), int(rows), grad_.data())
            : net_->train_step(params_.data(), x_.data(), y_.data(), int(rows), grad_.data(), ws_);
    // A non-finite gradient (bad sample, divergence) is skipped and counted, never pushed.
    return {loss, !kernels::all_finite_cpu(grad_.data(), grad_.size())};
  }
  // Mixed precision: fp32 master weights on the shards, half-precision operands here.
  kernels::round_to_half_cpu(params_.data(), half_params_.data(), params_.size(), *half_);
  kernels::round_to_half_cpu(x_.data(), rows * features, *half_);
  model::step_options opts;
  opts.half = half_;
  bool scaled = *half_ == kernels::half_format::fp16; // bf16 has fp32's range: no scaling
  if (scaled)
    opts.loss_scale = scaler_.scale();
  float loss = net_->train_step(half_params_.data(), x_.data(), y_.data(), int(rows),
                                grad_.data(), ws_, opts);
  if (scaled)
    return {loss, !scaler_.unscale_and_check(grad_.data(), grad_.size())};
  return {loss, !kernels::all_finite_cpu(grad_.data(), grad_.size())};
}

} // namespace herd::actors
