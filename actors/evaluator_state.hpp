// The evaluator's logic: test loss and accuracy of a full parameter vector, in batches.
#pragma once

#include <memory>
#include <vector>

#include "data/dataset.hpp"
#include "model/mlp.hpp"

namespace herd::actors {

struct accuracy {
  double loss = 0;     // mean cross-entropy over the test set
  double accuracy = 0; // fraction correct
};

class evaluator_state {
public:
  evaluator_state(std::shared_ptr<const model::mlp> net,
                  std::shared_ptr<const data::dataset> test, int batch = 1000);

  accuracy evaluate(const float* params);

  /// The parameter vector snapshots are assembled into.
  std::vector<float>& params() { return params_; }

private:
  std::shared_ptr<const model::mlp> net_;
  std::shared_ptr<const data::dataset> test_;
  int batch_;
  std::vector<float> params_;
  model::mlp_workspace ws_;
};

} // namespace herd::actors
