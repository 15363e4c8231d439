#include "actors/cuda_backend.hpp"

#include <cuda_runtime_api.h>

#include "kernels/cuda/elementwise_cuda.hpp"

namespace herd::actors {

using kernels::gemm_type;

namespace {

gemm_type type_for(const backend_step_options& o, gemm_type fp32_gemm) {
  if (!o.half)
    return fp32_gemm;
  return *o.half == kernels::half_format::bf16 ? gemm_type::bf16 : gemm_type::fp16;
}

} // namespace

cuda_backend::cuda_backend(int ordinal, std::shared_ptr<const model::mlp> net, int batch_size,
                           size_t features, cuda_backend_options opts)
  : ordinal_((kernels::use_device(ordinal), ordinal)), net_(std::move(net)),
    batch_size_(batch_size), features_(features), opts_(opts),
    params_h_(net_->param_count()), grad_h_(net_->param_count()),
    x_h_(size_t(batch_size) * features), loss_h_(1), y_h_(size_t(batch_size)), bad_h_(1) {
  for (size_t l = 0; l < net_->layers().size(); ++l)
    layer_done_.emplace_back();
  replica_ = std::make_unique<model::mlp_cuda>(*net_, batch_size_, opts_.fp32_gemm);
}

cuda_backend::~cuda_backend() {
  // The members are freed on this thread's current device: make it ours (never throws).
  cudaSetDevice(ordinal_);
  drop_graph();
}

void cuda_backend::drop_graph() {
  if (graph_)
    cudaGraphExecDestroy(graph_);
  graph_ = nullptr;
  graph_key_.reset();
}

// Captures enqueue_step into graph_. A capture that fails (an operation the driver refuses
// while capturing) turns graphs off for this backend, keeps the reason (graph_error()) and
// returns false: the step then runs eagerly, as every later one, instead of ending the worker.
bool cuda_backend::capture(int rows, float scale) {
  drop_graph();
  cudaStream_t s = stream_.get();
  cudaGraph_t g = nullptr;
  try {
    HERD_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    try {
      enqueue_step(rows, scale);
    } catch (...) {
      cudaStreamEndCapture(s, &g); // ends the capture; a partial graph is dropped
      if (g)
        cudaGraphDestroy(g);
      throw;
    }
    HERD_CUDA_CHECK(cudaStreamEndCapture(s, &g));
    cudaGraphExec_t exec = nullptr;
    const cudaError_t err = cudaGraphInstantiate(&exec, g, 0);
    cudaGraphDestroy(g);
    HERD_CUDA_CHECK(err);
    graph_ = exec;
    ++graph_captures_;
    return true;
  } catch (const std::runtime_error& e) {
    cudaGetLastError(); // a refused capture leaves a (non-sticky) error behind
    graph_error_ = e.what();
    opts_.graphs = false;
    return false;
  }
}

void cuda_backend::params_ready(size_t offset, size_t count) {
  kernels::use_device(ordinal_);
  // On the compute stream: ordered after the previous step (which reads the parameters) and
  // before the next one, while the other slices are still on the wire.
  HERD_CUDA_CHECK(cudaMemcpyAsync(replica_->params() + offset, params_h_.get() + offset,
                                  count * sizeof(float), cudaMemcpyHostToDevice,
                                  stream_.get()));
}

uint16_t* cuda_backend::params16() {
  if (params16_h_.size() == 0) {
    kernels::use_device(ordinal_);
    params16_h_ = kernels::pinned_buffer<uint16_t>(net_->param_count());
    params16_d_ = kernels::device_buffer<uint16_t>(net_->param_count());
  }
  return params16_h_.get();
}

void cuda_backend::params16_ready(size_t offset, size_t count, kernels::half_format f) {
  kernels::use_device(ordinal_);
  HERD_CUDA_CHECK(cudaMemcpyAsync(params16_d_.get() + offset, params16_h_.get() + offset,
                                  count * sizeof(uint16_t), cudaMemcpyHostToDevice,
                                  stream_.get()));
  kernels::from_half_cuda(params16_d_.get() + offset, replica_->params() + offset, count, f,
                          stream_.get());
}

// Everything of one step after the batch upload; captured into the graph as it is.
void cuda_backend::enqueue_step(int rows, float scale) {
  cudaStream_t s = stream_.get();
  const auto& views = net_->layers();
  const bool to_host = !pusher_; // a device push encoder reads the gradient where it is
  const bool overlap = to_host && opts_.overlap && scale == 1.0f;
  std::function<void(size_t)> ready;
  if (overlap)
    ready = [&](size_t l) { // copy layer l's W_l and b_l out while the lower layers compute
      const auto& v = views[l];
      const size_t n = size_t(v.in) * v.out + v.out;
      layer_done_[l].record(s);
      HERD_CUDA_CHECK(cudaStreamWaitEvent(copy_stream_.get(), layer_done_[l].get(), 0));
      HERD_CUDA_CHECK(cudaMemcpyAsync(grad_h_.get() + v.w_offset, replica_->grad() + v.w_offset,
                                      n * sizeof(float), cudaMemcpyDeviceToHost,
                                      copy_stream_.get()));
    };
  replica_->train_step(rows, scale, s, ready);
  const size_t n = net_->param_count();
  if (scale != 1.0f)
    kernels::unscale_check_cuda(replica_->grad(), n, 1.0f / scale, replica_->bad(), s);
  else
    kernels::all_finite_cuda(replica_->grad(), n, replica_->bad(), s);
  if (overlap) {
    copies_done_.record(copy_stream_.get());
    HERD_CUDA_CHECK(cudaStreamWaitEvent(s, copies_done_.get(), 0));
  } else if (to_host) {
    HERD_CUDA_CHECK(cudaMemcpyAsync(grad_h_.get(), replica_->grad(), n * sizeof(float),
                                    cudaMemcpyDeviceToHost, s));
  }
  HERD_CUDA_CHECK(
    cudaMemcpyAsync(loss_h_.get(), replica_->loss(), sizeof(float), cudaMemcpyDeviceToHost, s));
  HERD_CUDA_CHECK(
    cudaMemcpyAsync(bad_h_.get(), replica_->bad(), sizeof(int), cudaMemcpyDeviceToHost, s));
}

backend_step_result cuda_backend::step(int rows, const backend_step_options& opts) {
  kernels::use_device(ordinal_);
  cudaStream_t s = stream_.get();
  const gemm_type type = type_for(opts, opts_.fp32_gemm);
  if (type != replica_->type()) { // the job's precision, set once before the first step
    stream_.sync();
    drop_graph();
    auto fresh = std::make_unique<model::mlp_cuda>(*net_, batch_size_, type);
    HERD_CUDA_CHECK(cudaMemcpyAsync(fresh->params(), replica_->params(),
                                    net_->param_count() * sizeof(float),
                                    cudaMemcpyDeviceToDevice, s));
    stream_.sync();
    replica_ = std::move(fresh);
  }
  HERD_CUDA_CHECK(cudaMemcpyAsync(replica_->x(), x_h_.get(),
                                  size_t(rows) * features_ * sizeof(float),
                                  cudaMemcpyHostToDevice, s));
  HERD_CUDA_CHECK(
    cudaMemcpyAsync(replica_->y(), y_h_.get(), size_t(rows), cudaMemcpyHostToDevice, s));
  const graph_key key{rows, opts.loss_scale, type};
  const bool full = opts_.graphs && rows == batch_size_;
  if (full && graph_key_ == key) {
    HERD_CUDA_CHECK(cudaGraphLaunch(graph_, s));
    ++graph_launches_;
  } else if (full && warmed_ == key && capture(rows, opts.loss_scale)) {
    graph_key_ = key;
    HERD_CUDA_CHECK(cudaGraphLaunch(graph_, s));
    ++graph_launches_;
  } else {
    // A shape's first full step runs eagerly: cuBLAS's and the lazy module loader's first-use
    // setup (allocations, kernel loading) then happens outside a capture, as PyTorch's
    // warm-up before torch.cuda.graph; the next step of that shape is captured.
    enqueue_step(rows, opts.loss_scale);
    if (full)
      warmed_ = key;
  }
  stream_.sync();
  return {loss_h_[0], bad_h_[0] == 0};
}

bool cuda_backend::take_push_encoding(const config::compression_config& cfg,
                                      const std::vector<model::slice>& slices,
                                      uint64_t seed) {
  if (!cuda_push_encoder::supports(cfg))
    return false;
  kernels::use_device(ordinal_);
  pusher_ = std::make_unique<cuda_push_encoder>(cfg, slices, seed);
  drop_graph(); // a captured step would still copy the gradient down
  return true;
}

std::vector<char> cuda_backend::encode_push(const messages::gradient_header& h) {
  kernels::use_device(ordinal_);
  return pusher_->encode(h, replica_->grad(), stream_.get());
}

std::vector<std::vector<float>> cuda_backend::push_residual() const {
  kernels::use_device(ordinal_);
  return pusher_ ? pusher_->residual(stream_.get()) : std::vector<std::vector<float>>{};
}

bool cuda_backend::restore_push_residual(const std::vector<std::vector<float>>& r) {
  kernels::use_device(ordinal_);
  return pusher_ ? pusher_->restore_residual(r, stream_.get()) : r.empty();
}

} // namespace herd::actors
