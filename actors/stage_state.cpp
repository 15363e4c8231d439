#include "actors/stage_state.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace herd::actors {

uint64_t steady_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count());
}

stage_state::stage_state(uint32_t id, std::shared_ptr<const model::mlp> net,
                         std::vector<model::stage_range> stages, int stage,
                         std::vector<model::slice> slices, const std::vector<int>& owner,
                         int micro_batches, std::shared_ptr<const data::dataset> train,
                         int batch_size, bool one_f_one_b)
  : id_(id), net_(net), stage_(stage), stages_(int(stages.size())),
    compute_(net, stages.at(size_t(stage))), slices_(std::move(slices)),
    micro_batches_(std::max(1, micro_batches)),
    in_flight_limit_(one_f_one_b ? uint32_t(int(stages.size()) - stage) : UINT32_MAX),
    train_(std::move(train)),
    batch_size_(batch_size), params_(net->param_count()), grad_(net->param_count()) {
  for (uint32_t i = 0; i < owner.size(); ++i)
    if (owner[i] == stage)
      own_.push_back(i);
}

bool stage_state::take_finished_chunk(uint64_t& id) {
  if (!chunk_open_ || has_batch())
    return false;
  id = chunk_.id;
  chunk_open_ = false;
  return true;
}

void stage_state::set_chunk(messages::data_chunk c) {
  chunk_ = std::move(c);
  pos_ = 0;
  chunk_open_ = true;
}

void stage_state::set_precision(std::optional<kernels::half_format> half) {
  half_ = half;
  compute_.set_half(half);
}

void stage_state::save(messages::carried_state& out) const {
  if (is_head() && half_ == kernels::half_format::fp16) {
    out.loss_scale = scaler_.scale();
    out.clean_steps = scaler_.clean_in_a_row();
  }
}

void stage_state::restore(const messages::carried_state& in) {
  if (in.loss_scale > 0)
    scaler_.restore(in.loss_scale, in.clean_steps);
}

void stage_state::params_pulled() {
  const auto& range = compute_.range();
  if (half_) // fp32 master weights on the shards; half operands here
    kernels::round_to_half_cpu(params_.data() + range.offset, range.count, *half_);
  finite_ = true;
  ready_ = true;
  micro_count_ = 0;
  forwards_done_ = 0;
  backwards_done_ = 0;
  loss_ = 0;
  busy_ns_ = 0;
  compute_.begin(grad_.data());
}

void stage_state::start_minibatch() {
  assert(is_head() && has_batch() && ready_);
  auto rows = int(std::min(size_t(batch_size_), chunk_.indices.size() - pos_));
  size_t features = train_->features;
  auto sizes = model::split_rows(rows, micro_batches_);
  data_key_ = chunk_.id << 32 | (pos_ & 0xffffffffu);
  // fp16 needs dynamic loss scaling; bf16 has fp32's range.
  scale_ = half_ == kernels::half_format::fp16 ? scaler_.scale() : 1.0f;
  for (size_t m = 0; m < sizes.size(); ++m) {
    messages::stage_activations a;
    a.clock = clock_;
    a.micro = uint32_t(m);
    a.micro_count = uint32_t(sizes.size());
    a.rows = uint32_t(sizes[m]);
    a.total_rows = uint32_t(rows);
    a.loss_scale = scale_;
    a.values.resize(size_t(sizes[m]) * features);
    a.labels.resize(size_t(sizes[m]));
    for (int r = 0; r < sizes[m]; ++r) {
      auto idx = chunk_.indices[pos_++];
      std::memcpy(a.values.data() + size_t(r) * features, train_->row(idx),
                  features * sizeof(float));
      a.labels[size_t(r)] = train_->y[idx];
    }
    forwards_.push_back(std::move(a));
  }
  // The schedule starts with the first forward: copying the rows out of the training set is
  // stage 0's data loading, not part of the pipeline (a prefetch could hide it).
  t_start_ns_ = steady_ns();
  for (auto& a : forwards_)
    a.t_start_ns = t_start_ns_;
}

std::optional<stage_state::work_out> stage_state::run_next() {
  if (!ready_)
    return std::nullopt;
  bool room = forwards_done_ - backwards_done_ < in_flight_limit_;
  if (room && !forwards_.empty() && forwards_.front().clock == clock_) {
    auto a = std::move(forwards_.front());
    forwards_.pop_front();
    return forward(a);
  }
  bool all_forwarded = micro_count_ > 0 && forwards_done_ == micro_count_;
  bool backward_now = in_flight_limit_ == UINT32_MAX ? all_forwarded : micro_count_ > 0;
  if (backward_now && !is_last() && !backwards_.empty()) {
    assert(backwards_.front().clock == clock_);
    auto d = std::move(backwards_.front());
    backwards_.pop_front();
    return backward(d);
  }
  return std::nullopt;
}

stage_state::work_out stage_state::forward(messages::stage_activations& a) {
  auto t0 = steady_ns();
  micro_count_ = a.micro_count;
  total_rows_ = a.total_rows;
  t_start_ns_ = a.t_start_ns;
  scale_ = a.loss_scale;
  const auto& out = compute_.forward(slot_of(a.micro), params_.data(), a.values.data(), int(a.rows));
  ++forwards_done_;
  work_out w;
  if (!is_last()) {
    messages::stage_activations next;
    next.clock = a.clock;
    next.micro = a.micro;
    next.micro_count = a.micro_count;
    next.rows = a.rows;
    next.total_rows = a.total_rows;
    next.t_start_ns = a.t_start_ns;
    next.loss_scale = a.loss_scale;
    next.values = out;
    next.labels = std::move(a.labels);
    busy_ns_ += steady_ns() - t0;
    w.to_next = std::move(next);
    return w;
  }
  // The last stage: loss and backward at once; the delta goes back.
  float weight = float(a.rows) / float(a.total_rows);
  float loss = compute_.loss_and_delta(slot_of(a.micro), a.labels.data(), weight * scale_);
  messages::stage_deltas d;
  d.clock = a.clock;
  d.micro = a.micro;
  d.weighted_loss = weight * loss;
  busy_ns_ += steady_ns() - t0;
  auto back = backward(d);
  return back;
}

stage_state::work_out stage_state::backward(messages::stage_deltas& d) {
  auto t0 = steady_ns();
  const auto& prev = compute_.backward(slot_of(d.micro), params_.data(), d.values.data(),
                                       grad_.data());
  ++backwards_done_;
  loss_ += d.weighted_loss;
  finite_ = finite_ && d.finite;
  if (minibatch_done()) { // the stage's gradient is whole: check it once
    const auto& range = compute_.range();
    finite_ = finite_ && kernels::all_finite_cpu(grad_.data() + range.offset, range.count);
  }
  work_out w;
  if (!is_head()) {
    messages::stage_deltas out;
    out.clock = d.clock;
    out.micro = d.micro;
    out.weighted_loss = d.weighted_loss;
    out.finite = finite_;
    out.values = prev;
    w.to_prev = std::move(out);
  }
  auto t1 = steady_ns();
  busy_ns_ += t1 - t0;
  if (minibatch_done())
    t_end_ns_ = t1;
  return w;
}

bool stage_state::minibatch_done() const {
  return micro_count_ > 0 && backwards_done_ == micro_count_;
}

messages::stage_commit stage_state::commit() {
  if (half_ == kernels::half_format::fp16)
    scaler_.record(finite_);
  return {clock_, t_start_ns_, t_end_ns_, finite_, data_key_};
}

bool stage_state::gradient_ready(const messages::stage_commit& c) {
  if (!c.finite)
    return false;
  if (scale_ != 1.0f) {
    const auto& range = compute_.range();
    const float inv = 1.0f / scale_;
    for (size_t i = 0; i < range.count; ++i)
      grad_[range.offset + i] *= inv;
  }
  return true;
}

messages::step_report stage_state::finish_minibatch(const messages::stage_commit& c) {
  messages::step_report r;
  r.worker = id_;
  r.clock = clock_ + 1;
  if (is_head()) { // the replica's samples, loss and skip are reported once, by stage 0
    r.samples = total_rows_;
    r.loss = loss_;
    r.skipped = !c.finite;
  }
  auto span = c.t_end_ns > c.t_start_ns ? c.t_end_ns - c.t_start_ns : 0;
  r.stage_idle = span > 0 ? std::max(0.0, 1.0 - double(busy_ns_) / double(span)) : 0.0;
  ++clock_;
  ready_ = false;
  micro_count_ = 0;
  return r;
}

} // namespace herd::actors
