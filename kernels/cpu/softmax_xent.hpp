#pragma once

#include <cstdint>

// Softmax + cross-entropy over a batch, row-major logits (rows x classes).
//
// softmax_xent: returns the mean over rows of -log softmax(logits[r])[labels[r]].
//   Numerically stable (the row max is subtracted before exp), so logits of
//   magnitude 1e3 give finite results. If dlogits != nullptr it receives
//   d(mean loss)/d(logits) = (softmax - onehot(label)) / rows, rows x classes.
//   dlogits may equal logits (in place) but must not partially overlap it.
//   rows >= 1, classes >= 1, labels[r] < classes.
//   Precision: per-row exp and sums in float, the batch mean in double.
// count_correct: number of rows whose argmax equals the label; ties go to the
//   first (lowest) class index.
// softmax_xent_ref: the same loss and gradient computed entirely in double.

namespace herd::kernels {

float softmax_xent_cpu(const float* logits, const uint8_t* labels, int rows,
                       int classes, float* dlogits);

int count_correct_cpu(const float* logits, const uint8_t* labels, int rows,
                      int classes);

double softmax_xent_ref(const float* logits, const uint8_t* labels, int rows,
                        int classes, double* dlogits);

} // namespace herd::kernels
