// One pipeline stage's logic (see stage.hpp for the actor): its layers' compute over the
// micro-batches of a minibatch, the GPipe order of the work, the stage's own shards, and (at
// stage 0) the data chunk. No CAF here.
//
// Order of work at a stage. GPipe: every forward of the minibatch first, in micro-batch order,
// then the backwards in the order their deltas arrive. 1F1B: at most K - k micro-batches in
// flight (forwarded, not yet backwarded) at stage k; a forward when below that, else the next
// backward, so after a warm-up backwards and forwards alternate and a stage keeps K - k
// micro-batches' activations instead of M. The last stage runs the loss and its backward right
// after each forward in both. Nothing runs before the stage's parameters for the minibatch's
// clock are pulled.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "data/dataset.hpp"
#include "kernels/loss_scaler.hpp"
#include "kernels/cpu/round_half.hpp"
#include "messages/pipeline.hpp"
#include "messages/specs.hpp"
#include "messages/types.hpp"
#include "model/stage_compute.hpp"
#include "model/stages.hpp"

namespace herd::actors {

uint64_t steady_ns();

class stage_state {
public:
  /// Stage `stage` of `stages` (ranges from model::cut_stages) in the replica; worker id
  /// `id`. `owner[i]` is shard i's stage. Stage 0 gets the training set and the batch size.
  stage_state(uint32_t id, std::shared_ptr<const model::mlp> net,
              std::vector<model::stage_range> stages, int stage, std::vector<model::slice> slices,
              const std::vector<int>& owner, int micro_batches,
              std::shared_ptr<const data::dataset> train = nullptr, int batch_size = 0,
              bool one_f_one_b = false);

  /// Reduced-precision compute (none: fp32). fp16 scales the loss: stage 0 keeps the replica's
  /// loss scaler and sends its scale with the activations; every stage unscales its gradient.
  void set_precision(std::optional<kernels::half_format> half);

  /// The loss scaler's state (stage 0 under fp16), for a checkpoint, and back.
  void save(messages::carried_state& out) const;
  void restore(const messages::carried_state& in);

  uint32_t id() const { return id_; }
  int stage() const { return stage_; }
  bool is_head() const { return stage_ == 0; }
  bool is_last() const { return compute_.is_last(); }
  uint64_t clock() const { return clock_; }
  void set_clock(uint64_t c) { clock_ = c; }
  /// The shards this stage pulls from and pushes to (indices into slices()).
  const std::vector<uint32_t>& own_shards() const { return own_; }
  const std::vector<model::slice>& slices() const { return slices_; }
  std::vector<float>& params() { return params_; }
  const std::vector<float>& grad() const { return grad_; }

  // Stage 0's data, as worker_state's.
  bool has_batch() const { return pos_ < chunk_.indices.size(); }
  bool take_finished_chunk(uint64_t& id);
  void set_chunk(messages::data_chunk c);

  /// The parameters for clock() are in: the minibatch's work may run.
  void params_pulled();
  /// Stage 0: cuts the next batch of the chunk into micro-batches and queues their forwards.
  void start_minibatch();
  void queue_forward(messages::stage_activations a) { forwards_.push_back(std::move(a)); }
  void queue_backward(messages::stage_deltas d) { backwards_.push_back(std::move(d)); }

  /// One unit of work, run now: what to send on (either may be empty).
  struct work_out {
    std::optional<messages::stage_activations> to_next;
    std::optional<messages::stage_deltas> to_prev;
  };
  /// The next unit of work in GPipe order, if one can run now.
  std::optional<work_out> run_next();

  /// Stage 0: every backward of the minibatch is done; the commit to send down the chain
  /// (finite: no stage's gradient held inf/NaN). Records the step in the loss scaler.
  bool minibatch_done() const;
  messages::stage_commit commit();
  /// On the commit: whether to push the gradient (unscaled now) or skip the minibatch on the
  /// stage's shards (some stage's gradient held inf/NaN).
  bool gradient_ready(const messages::stage_commit& c);
  float loss_scale() const { return scale_; }
  /// After the commit (stage 0) or on receiving it: the report for the supervisor; the clock
  /// advances and the next minibatch's parameters must be pulled.
  messages::step_report finish_minibatch(const messages::stage_commit& c);

  uint32_t total_rows() const { return total_rows_; }

private:
  work_out forward(messages::stage_activations& a);
  work_out backward(messages::stage_deltas& d);
  /// Where micro-batch m's activations live: 1F1B reuses K - k slots (micro-batches in flight
  /// are consecutive, and backwards come in micro-batch order).
  int slot_of(uint32_t micro) const { return int(micro % in_flight_limit_); }

  uint32_t id_;
  std::shared_ptr<const model::mlp> net_;
  int stage_;
  int stages_;
  model::stage_compute compute_;
  std::vector<model::slice> slices_;
  std::vector<uint32_t> own_;
  int micro_batches_;
  uint32_t in_flight_limit_; // 1F1B: K - stage; GPipe: no limit
  std::shared_ptr<const data::dataset> train_;
  int batch_size_;
  uint64_t clock_ = 0;
  std::vector<float> params_;
  std::vector<float> grad_;
  messages::data_chunk chunk_;
  size_t pos_ = 0;
  bool chunk_open_ = false;
  // The minibatch under way.
  bool ready_ = false; // parameters for clock_ pulled
  std::deque<messages::stage_activations> forwards_;
  std::deque<messages::stage_deltas> backwards_;
  uint32_t micro_count_ = 0; // 0 until the first forward of the minibatch
  uint32_t forwards_done_ = 0;
  uint32_t backwards_done_ = 0;
  uint32_t total_rows_ = 0;
  float loss_ = 0;
  std::optional<kernels::half_format> half_;
  kernels::loss_scaler scaler_; // stage 0, fp16
  float scale_ = 1.0f;          // the minibatch's loss scale
  uint64_t data_key_ = 0;       // stage 0: where the minibatch lies (gradient_header::data_key)
  bool finite_ = true;          // this stage's gradient and every later stage's so far
  uint64_t busy_ns_ = 0;
  uint64_t t_start_ns_ = 0;
  uint64_t t_end_ns_ = 0;
};

} // namespace herd::actors
