#pragma once

// Gradient codecs on the GPU, so a GPU worker sends only encoded bytes across PCIe. Each one
// produces the wire fields of its CPU codec (kernels/compress/<name>_codec.hpp) in device
// memory; the caller copies them into a compress::encoded. All pointers are device pointers;
// enqueued on `s`, never synchronise; launch failures throw with file:line.
//
// int8_encode_cuda: codes (n int8) and scales (ceil(n/bucket) floats) of int8_codec, the same
//   bytes for the same step_seed (same counter stream, same per-element float math).
// sign_encode_cuda: bits (ceil(n/8) bytes) and scales (ceil(n/bucket)) of sign_codec; the
//   bucket means are summed in double in another order than on the CPU (last-ulp differences).
// qsgd_encode_cuda: data (packed_bytes(n, 1 + bit_width(levels)) bytes) and scales
//   (ceil(n/bucket) L2 norms) of qsgd_codec, the same bytes for the same step_seed: each norm
//   is summed in double in the CPU's order (four threads, one partial sum each: a bucket of
//   B elements takes about B/4 dependent adds), the codes use the same counter stream and float
//   math. levels in 1..qsgd_max_levels. A NaN norm may carry other NaN bits than the CPU's.
// randk_encode_cuda: the positions randk_indices(step_seed, n, k) gives (ascending, k of them)
//   into idx and randk_codec's values g[idx[j]] * float(double(n)/k) into val, the same bytes:
//   Floyd's sampling evaluated in parallel from the same draws (the .cu says how). `work`:
//   randk_work_bytes(n) bytes of scratch (about 4.4n plus cub's scan storage).
// topk_candidates_cuda: threshold selection. A 2048-bucket histogram of the magnitudes' top
//   bits (topk_candidates.hpp) finds the bucket holding the k-th largest magnitude; every
//   element in or above it is appended (any order) to cand_idx / cand_val, *cand_count of
//   them (>= k). compress::topk_from_candidates picks the exact k on the host. Scratch:
//   `hist` holds topk_buckets + 1 uint32; cand_* hold n entries (the worst case).
// The fp16/bf16 casts are to_half_cuda / from_half_cuda in elementwise_cuda.hpp.

#include <cstddef>
#include <cstdint>

struct CUstream_st;
using cudaStream_t = CUstream_st*;

namespace herd::kernels {

void int8_encode_cuda(const float* g, uint32_t n, uint32_t bucket, uint64_t step_seed,
                      int8_t* codes, float* scales, cudaStream_t s);

void sign_encode_cuda(const float* g, uint32_t n, uint32_t bucket, uint8_t* bits,
                      float* scales, cudaStream_t s);

void qsgd_encode_cuda(const float* g, uint32_t n, uint32_t bucket, uint32_t levels,
                      uint64_t step_seed, uint8_t* data, float* scales, cudaStream_t s);

size_t randk_work_bytes(uint32_t n);
void randk_encode_cuda(const float* g, uint32_t n, uint32_t k, uint64_t step_seed, void* work,
                       size_t work_bytes, uint32_t* idx, float* val, cudaStream_t s);

void topk_candidates_cuda(const float* g, uint32_t n, uint32_t k, uint32_t* hist,
                          uint32_t* cand_idx, float* cand_val, uint32_t* cand_count,
                          cudaStream_t s);

} // namespace herd::kernels
