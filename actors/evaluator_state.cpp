#include "actors/evaluator_state.hpp"

#include <algorithm>

namespace herd::actors {

evaluator_state::evaluator_state(std::shared_ptr<const model::mlp> net,
                                 std::shared_ptr<const data::dataset> test, int batch)
  : net_(std::move(net)), test_(std::move(test)), batch_(batch),
    params_(net_->param_count()) {
}

accuracy evaluator_state::evaluate(const float* params) {
  double loss_sum = 0;
  size_t correct = 0;
  for (size_t i = 0; i < test_->count; i += size_t(batch_)) {
    int rows = int(std::min(size_t(batch_), test_->count - i));
    auto r = net_->evaluate(params, test_->row(i), test_->y.data() + i, rows, ws_);
    loss_sum += r.loss_sum;
    correct += size_t(r.correct);
  }
  accuracy out;
  if (test_->count > 0) {
    out.loss = loss_sum / double(test_->count);
    out.accuracy = double(correct) / double(test_->count);
  }
  return out;
}

} // namespace herd::actors
