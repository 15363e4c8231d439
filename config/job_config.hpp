// The typed form of a job file: what runs, on which nodes, with which recipe.
// Plain structs with the same defaults as the JSON schema (docs/config.md), so a default-constructed
// job_config equals parsing a file that only sets model.layers (which has no default).
// Included widely: no nlohmann, no CAF here. Parsing and validation live in job_parse.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herd::config {

enum class normalization { standardize, scale, none };
enum class optimizer_kind { sgd, adam };
enum class lr_schedule { constant, cosine };
enum class consistency_model { bsp, ssp, asp };
enum class compute_precision { fp32, bf16, fp16 };
enum class restart_policy { always, on_failure, never };
enum class eval_mode { live, deferred };
enum class pipeline_schedule { gpipe, one_f_one_b };

/// The JSON spelling of each enum value ("bsp", "on-failure", ...).
const char* to_string(normalization x);
const char* to_string(optimizer_kind x);
const char* to_string(lr_schedule x);
const char* to_string(consistency_model x);
const char* to_string(compute_precision x);
const char* to_string(restart_policy x);
const char* to_string(eval_mode x);
const char* to_string(pipeline_schedule x);

struct model_config {
  std::vector<int> layers;  // layer widths, input first: {784, 256, 128, 10}
  uint64_t init_seed = 1;
  bool operator==(const model_config&) const = default;
};

struct data_config {
  std::string train_images = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  std::string train_labels = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz";
  std::string test_images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  std::string test_labels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  normalization normalize = normalization::standardize;
  size_t train_limit = 0;  // 0 = all samples
  size_t test_limit = 0;   // 0 = all samples
  bool operator==(const data_config&) const = default;
};

struct optimizer_config {
  optimizer_kind type = optimizer_kind::sgd;
  double lr = 0.05;
  double momentum = 0.9;  // sgd only
  bool nesterov = false;  // sgd only; needs momentum > 0
  double weight_decay = 0.0;
  double beta1 = 0.9;    // adam only
  double beta2 = 0.999;  // adam only
  double eps = 1e-8;     // adam only
  lr_schedule schedule = lr_schedule::constant; // cosine: lr decays to 0 over the job's steps
  bool operator==(const optimizer_config&) const = default;
};

struct training_config {
  int batch_size = 64;  // per worker
  int epochs = 10;
  int64_t max_steps = 0;  // clocks; 0 = no limit (epochs decide). Not both 0.
  int chunk_batches = 8;  // batches per data chunk handed to a worker
  uint64_t seed = 42;
  int64_t eval_every = 500;  // clocks; 0 = only at the end
  int64_t log_every = 100;   // clocks; 0 = only at the end
  double target_accuracy = 0.88;  // in [0, 1]; 0 = no target
  int blas_threads = 1;
  // Workers ask for the next step's parameters while computing this one (see docs/config.md).
  bool prefetch = true;
  // live: evaluate snapshots while training runs; deferred: keep the snapshots and evaluate them
  // after training, so evaluation never competes with training for the cores.
  eval_mode evaluation = eval_mode::live;
  bool operator==(const training_config&) const = default;
};

/// A change of consistency model while the job runs, once the fastest worker reaches at_clock.
struct consistency_switch {
  int64_t at_clock = 1;
  consistency_model model = consistency_model::bsp;
  int staleness = 0;
  bool operator==(const consistency_switch&) const = default;
};

/// The staleness bound of ssp when none is given: in a job file, a switch and `herd ctl
/// set-consistency ssp` alike.
constexpr int default_ssp_staleness = 3;

struct consistency_config {
  consistency_model model = consistency_model::bsp;
  int staleness = 0;  // ssp only (default_ssp_staleness when not given); 0 for bsp and asp
  bool staleness_aware = false;  // ssp/asp: lr divided by the update's staleness (when > 1)
  std::vector<consistency_switch> switches;  // strictly increasing at_clock
  bool operator==(const consistency_config&) const = default;
};

enum class pull_format { fp32, fp16, bf16 };
const char* to_string(pull_format x);

struct compression_config {
  // "none" (dense fp32) or a codec registry name: fp16, bf16, int8, topk, randk, qsgd, sign
  // (checked against the registry when the job starts).
  std::string codec = "none";
  double density = 0.01;           // topk, randk: fraction of elements sent
  bool sampled = false;            // topk: sampled-threshold selection
  uint32_t bucket = 512;           // int8, qsgd: elements per scale
  uint32_t levels = 4;             // qsgd: levels s
  bool error_feedback = false;     // keep each worker's residual per slice
  bool momentum_correction = false; // topk: momentum on the worker, plain SGD on the shards
  int64_t warmup_steps = 0;        // topk/randk: density warm-up (DGC), in worker steps
  pull_format pull = pull_format::fp32; // parameters sent to workers as
  bool operator==(const compression_config&) const = default;
};

struct precision_config {
  compute_precision compute = compute_precision::fp32;
  bool operator==(const precision_config&) const = default;
};

/// Model parallelism (docs/parallelism.md). Pipeline: the layers cut into `pipeline_stages`
/// consecutive stages, each a worker actor; the job's workers list holds replicas x stages
/// entries (replica r's stage k is workers[r * stages + k]); each minibatch flows through the
/// stages as `micro_batches` micro-batches. Tensor: each worker's layers split Megatron-style
/// across `tensor_parallel` rank actors on the worker's node. Not both at once (yet).
struct parallelism_config {
  int pipeline_stages = 1;
  int micro_batches = 1;
  int tensor_parallel = 1;
  /// Order of a stage's work: every forward then the backwards (gpipe), or at most K - k
  /// micro-batches in flight at stage k, one backward then one forward (1f1b: less memory).
  pipeline_schedule schedule = pipeline_schedule::gpipe;
  bool operator==(const parallelism_config&) const = default;
};

struct node_config {
  std::string name;
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 = chosen by the OS
  bool operator==(const node_config&) const = default;
};

struct shard_config {
  std::string node;  // always a name from job_config::nodes after parsing
  bool operator==(const shard_config&) const = default;
};

/// Injected slowness: with `probability` per step, the step takes `factor` times as long
/// (real delay after the computation). probability 1 = a persistent straggler.
struct straggler_config {
  double factor = 1.0;
  double probability = 1.0;
  bool operator==(const straggler_config&) const = default;
};

struct worker_config {
  std::string node;  // always a name from job_config::nodes after parsing
  std::string device = "cpu";  // "cpu" or "cuda:N"
  straggler_config straggler;
  bool operator==(const worker_config&) const = default;
};

struct supervisor_config {
  std::string node = "local";
  restart_policy restart = restart_policy::on_failure;
  int max_restarts = 3;
  bool operator==(const supervisor_config&) const = default;
};

struct checkpoint_config {
  std::string dir;      // "" = <output_dir>/checkpoints
  int64_t every = 0;    // clocks; 0 = no periodic checkpoints
  int keep = 3;         // newest checkpoints kept, >= 1
  bool operator==(const checkpoint_config&) const = default;
};

struct output_config {
  std::string dir;  // "" = runs/<name>
  bool operator==(const output_config&) const = default;
};

struct job_config {
  std::string name = "job";
  model_config model;
  data_config data;
  optimizer_config optimizer;
  training_config training;
  consistency_config consistency;
  compression_config compression;
  precision_config precision;
  parallelism_config parallelism;
  std::vector<node_config> nodes = {node_config{"local"}};
  std::vector<shard_config> shards = {shard_config{"local"}, shard_config{"local"}};
  std::vector<worker_config> workers = {worker_config{"local", "cpu", {}},
                                        worker_config{"local", "cpu", {}}};
  supervisor_config supervisor;
  checkpoint_config checkpoint;
  output_config output;
  bool operator==(const job_config&) const = default;
};

/// Where the run writes its outputs: output.dir, or "runs/<name>" when that is empty.
std::string output_dir(const job_config& job);

/// Where checkpoints go: checkpoint.dir, or "<output_dir>/checkpoints" when that is empty.
std::string checkpoint_dir(const job_config& job);

/// N for a device string "cuda:N" (decimal, no sign, no leading zeros); nullopt for "cpu" and
/// for anything malformed.
std::optional<int> cuda_ordinal(std::string_view device);

/// Whether `device` is "cpu" or a well-formed "cuda:N".
bool valid_device(std::string_view device);

} // namespace herd::config
