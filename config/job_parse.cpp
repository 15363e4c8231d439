#include "config/job_parse.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "config/json_reader.hpp"
#include "config/node_reader.hpp"

namespace herd::config {

namespace {

using detail::child_path;
using detail::name_rule;
using detail::read_nodes;
using detail::valid_name;
using detail::json;
using detail::object_reader;
using detail::show;

// Sanity bound for shard and worker counts, so "workers": 1e12 is an error, not an allocation.
constexpr int64_t max_members = 65536;

const std::string layers_rule = "an array of at least 2 positive integers";

bool non_empty(std::string_view s) {
  return !s.empty();
}

bool any_string(std::string_view) {
  return true;
}

bool positive(double x) {
  return std::isfinite(x) && x > 0;
}

bool non_negative(double x) {
  return std::isfinite(x) && x >= 0;
}

bool unit_half_open(double x) {
  return x >= 0 && x < 1;
}

bool unit_closed(double x) {
  return x >= 0 && x <= 1;
}

void read_model(object_reader r, model_config& out) {
  auto path = r.path_of("layers");
  if (auto v = r.take("layers")) {
    if (!v->is_array() || v->size() < 2) {
      r.expected("layers", layers_rule, *v);
    } else {
      std::vector<int> layers;
      for (size_t i = 0; i < v->size(); ++i) {
        constexpr int most = std::numeric_limits<int>::max();
        if (auto x = detail::integer_in<int>((*v)[i], 1, most))
          layers.push_back(*x);
        else
          r.add_issue(child_path(path, i),
                      std::string("expected a positive integer") +
                          (detail::above<int>((*v)[i], most) ? " up to 2147483647" : "") +
                          ", got " + show((*v)[i]));
      }
      if (layers.size() == v->size())
        out.layers = std::move(layers);
    }
  } else {
    r.add_issue(path, "missing; expected " + layers_rule);
  }
  r.read_integer("init_seed", out.init_seed);
  r.finish();
}

void read_data(object_reader r, data_config& out) {
  r.read_string("train_images", out.train_images, "a non-empty path", non_empty);
  r.read_string("train_labels", out.train_labels, "a non-empty path", non_empty);
  r.read_string("test_images", out.test_images, "a non-empty path", non_empty);
  r.read_string("test_labels", out.test_labels, "a non-empty path", non_empty);
  r.read_choice("normalize", out.normalize,
                {normalization::standardize, normalization::scale, normalization::none});
  r.read_integer("train_limit", out.train_limit);
  r.read_integer("test_limit", out.test_limit);
  r.finish();
}

void read_optimizer(object_reader r, optimizer_config& out) {
  r.read_choice("type", out.type, {optimizer_kind::sgd, optimizer_kind::adam});
  r.read_number("lr", out.lr, "a number > 0", positive);
  r.read_number("momentum", out.momentum, "a number in [0, 1)", unit_half_open);
  r.read_bool("nesterov", out.nesterov);
  r.read_number("weight_decay", out.weight_decay, "a number >= 0", non_negative);
  r.read_number("beta1", out.beta1, "a number in [0, 1)", unit_half_open);
  r.read_number("beta2", out.beta2, "a number in [0, 1)", unit_half_open);
  r.read_number("eps", out.eps, "a number > 0", positive);
  r.read_choice("schedule", out.schedule, {lr_schedule::constant, lr_schedule::cosine});
  if (out.type == optimizer_kind::sgd && out.nesterov && out.momentum == 0)
    r.add_issue(r.path_of("nesterov"),
                "expected false when momentum is 0 (Nesterov needs momentum > 0), got true");
  r.finish();
}

void read_training(object_reader r, training_config& out) {
  r.read_integer("batch_size", out.batch_size, 1);
  r.read_integer("epochs", out.epochs);
  r.read_integer("max_steps", out.max_steps);
  r.read_integer("chunk_batches", out.chunk_batches, 1);
  r.read_integer("seed", out.seed);
  r.read_integer("eval_every", out.eval_every);
  r.read_integer("log_every", out.log_every);
  r.read_number("target_accuracy", out.target_accuracy, "a number in [0, 1]", unit_closed);
  r.read_integer("blas_threads", out.blas_threads, 1);
  r.read_bool("prefetch", out.prefetch);
  r.read_choice("evaluation", out.evaluation, {eval_mode::live, eval_mode::deferred});
  if (out.epochs == 0 && out.max_steps == 0)
    r.add_issue(r.path().empty() ? "/" : r.path(),
                "expected epochs > 0 or max_steps > 0, got both 0");
  r.finish();
}

// ssp without a staleness gets default_ssp_staleness, as from `herd ctl set-consistency ssp`;
// bsp and asp have no bound: a staleness other than 0 (what job.json writes for them) is refused.
void read_staleness(object_reader& r, consistency_model model, int& out) {
  bool given = r.take("staleness") != nullptr;
  r.read_integer("staleness", out);
  if (model == consistency_model::ssp && !given)
    out = default_ssp_staleness;
  else if (model != consistency_model::ssp && given && out != 0)
    r.add_issue(r.path_of("staleness"), std::string{"expected no staleness for "}
                                          + to_string(model) + " (only ssp has a bound), got "
                                          + std::to_string(out));
}

void read_consistency(object_reader r, consistency_config& out) {
  r.read_choice("model", out.model,
                {consistency_model::bsp, consistency_model::ssp, consistency_model::asp});
  read_staleness(r, out.model, out.staleness);
  r.read_bool("staleness_aware", out.staleness_aware);
  auto path = r.path_of("switches");
  if (auto v = r.take("switches")) {
    if (!v->is_array()) {
      r.expected("switches", "an array of {\"at_clock\", \"model\", \"staleness\"} objects", *v);
    } else {
      int64_t last = 0;
      for (size_t i = 0; i < v->size(); ++i) {
        object_reader item{&(*v)[i], child_path(path, i), r.issues()};
        consistency_switch s;
        item.read_integer("at_clock", s.at_clock, int64_t{1});
        item.read_choice("model", s.model,
                         {consistency_model::bsp, consistency_model::ssp, consistency_model::asp});
        read_staleness(item, s.model, s.staleness);
        if (s.at_clock <= last)
          item.add_issue(item.path_of("at_clock"),
                         "expected a clock after the previous switch's (" + std::to_string(last)
                           + "), got " + std::to_string(s.at_clock));
        last = s.at_clock;
        item.finish();
        out.switches.push_back(s);
      }
    }
  }
  r.finish();
}

void read_compression(object_reader r, compression_config& out) {
  r.read_string("codec", out.codec,
                "a codec name (none, dense_f32, fp16, bf16, int8, topk, randk, qsgd, sign)",
                [](std::string_view s) {
                  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                  });
                });
  r.read_number("density", out.density, "a number in (0, 1]",
                [](double x) { return x > 0 && x <= 1; });
  r.read_bool("sampled", out.sampled);
  r.read_integer("bucket", out.bucket, uint32_t{1});
  r.read_integer("levels", out.levels, uint32_t{1}, uint32_t{32767});
  r.read_bool("error_feedback", out.error_feedback);
  r.read_bool("momentum_correction", out.momentum_correction);
  r.read_integer("warmup_steps", out.warmup_steps);
  r.read_choice("pull", out.pull, {pull_format::fp32, pull_format::fp16, pull_format::bf16});
  r.finish();
}

void read_precision(object_reader r, precision_config& out) {
  r.read_choice("compute", out.compute,
                {compute_precision::fp32, compute_precision::bf16, compute_precision::fp16});
  r.finish();
}

void read_parallelism(object_reader r, parallelism_config& out) {
  r.read_integer("pipeline_stages", out.pipeline_stages, 1, 64);
  r.read_integer("micro_batches", out.micro_batches, 1, 4096);
  r.read_integer("tensor_parallel", out.tensor_parallel, 1, 64);
  r.read_choice("schedule", out.schedule,
                {pipeline_schedule::gpipe, pipeline_schedule::one_f_one_b});
  r.finish();
}

// What parallelism asks of the other sections; run once every section is read.
void check_parallelism(object_reader& root, const job_config& job) {
  const auto& p = job.parallelism;
  const auto& layers = job.model.layers;
  auto path = [&](const char* key) { return root.path_of("parallelism") + "/" + key; };
  int n_layers = layers.size() >= 2 ? int(layers.size()) - 1 : 0;
  if (p.pipeline_stages > 1 && p.tensor_parallel > 1)
    root.add_issue(path("tensor_parallel"),
                   "expected 1 with pipeline_stages > 1 (pipeline and tensor parallelism in "
                   "one job are not supported), got "
                     + std::to_string(p.tensor_parallel));
  if (n_layers > 0 && p.pipeline_stages > n_layers)
    root.add_issue(path("pipeline_stages"),
                   "expected at most " + std::to_string(n_layers)
                     + " (one layer per stage at least), got "
                     + std::to_string(p.pipeline_stages));
  if (job.workers.size() % size_t(p.pipeline_stages) != 0)
    root.add_issue(root.path_of("workers"),
                   "expected a multiple of parallelism.pipeline_stages ("
                     + std::to_string(p.pipeline_stages) + ") workers, one per stage of each "
                     "replica, got " + std::to_string(job.workers.size()));
  if (job.shards.size() < size_t(p.pipeline_stages))
    root.add_issue(root.path_of("shards"),
                   "expected at least parallelism.pipeline_stages ("
                     + std::to_string(p.pipeline_stages) + ") shards, a stage's layers on "
                     "shards of their own, got " + std::to_string(job.shards.size()));
  if (p.micro_batches > job.training.batch_size)
    root.add_issue(path("micro_batches"),
                   "expected at most training.batch_size ("
                     + std::to_string(job.training.batch_size) + "), got "
                     + std::to_string(p.micro_batches));
  for (size_t i = 0; p.tensor_parallel > 1 && i < job.workers.size(); ++i)
    if (job.workers[i].device != "cpu")
      root.add_issue(child_path(root.path_of("workers"), i) + "/device",
                     "expected \"cpu\" with parallelism.tensor_parallel > 1 (tensor-parallel "
                     "ranks run on the CPU), got \"" + job.workers[i].device + "\"");
  if (p.tensor_parallel > 1 && n_layers > 0) {
    if (n_layers < 2) {
      root.add_issue(path("tensor_parallel"),
                     "expected 1 for a model without hidden layers, got "
                       + std::to_string(p.tensor_parallel));
    } else {
      int narrowest = *std::min_element(layers.begin() + 1, layers.end() - 1);
      if (p.tensor_parallel > narrowest)
        root.add_issue(path("tensor_parallel"),
                       "expected at most the narrowest hidden layer's width ("
                         + std::to_string(narrowest) + "), got "
                         + std::to_string(p.tensor_parallel));
    }
  }
}

// Reads the "node" member of a shard, worker or supervisor; absent means the first node.
void read_node_ref(object_reader& r, std::string& out, const std::vector<node_config>& nodes,
                   bool check) {
  out = nodes.front().name;
  auto v = r.take("node");
  if (v == nullptr)
    return;
  std::vector<std::string> names;
  for (const auto& n : nodes)
    names.push_back(n.name);
  if (!v->is_string()) {
    r.expected("node", "a node name", *v);
    return;
  }
  const auto& name = v->get_ref<const std::string&>();
  if (check && std::find(names.begin(), names.end(), name) == names.end()) {
    r.expected("node", "a node defined in /nodes (" + detail::quoted_alternatives(names) + ")",
               *v);
    return;
  }
  out = name;
}

// "shards" and "workers": a count of default members, or an array of member objects.
// `read_item` reads one member object (its node reference included).
template <class T, class ReadItem>
void read_members(object_reader& root, const char* key, const char* singular,
                  const std::vector<node_config>& nodes, std::vector<T>& out,
                  ReadItem read_item) {
  auto path = root.path_of(key);
  auto v = root.take(key);
  auto at_least_one = std::string{"at least one "} + singular;
  auto at_most = "at most " + std::to_string(max_members) + " " + singular + "s";
  auto fill_default = [&](size_t n) {
    T item;
    item.node = nodes.front().name;
    out.assign(n, item);
  };
  if (v == nullptr) {
    fill_default(out.size());  // the defaults, on the first node
  } else if (v->is_number_integer()) {
    if (auto n = detail::integer_in<int64_t>(*v, 1, max_members))
      fill_default(static_cast<size_t>(*n));
    else if (v->is_number_unsigned() && v->get<uint64_t>() > 0)
      root.expected(key, at_most, *v);
    else
      root.expected(key, at_least_one, *v);
  } else if (v->is_array()) {
    if (v->empty()) {
      root.expected(key, at_least_one, *v);
    } else if (v->size() > static_cast<size_t>(max_members)) {
      root.add_issue(path, "expected " + at_most + ", got " + std::to_string(v->size()));
    } else {
      out.clear();
      for (size_t i = 0; i < v->size(); ++i) {
        object_reader item{&(*v)[i], child_path(path, i), root.issues()};
        T member;
        read_item(item, member);
        item.finish();
        out.push_back(std::move(member));
      }
    }
  } else {
    root.expected(key, std::string{"a "} + singular + " count or an array of " + singular
                         + " objects",
                  *v);
  }
}

void read_supervisor(object_reader r, supervisor_config& out,
                     const std::vector<node_config>& nodes, bool check) {
  read_node_ref(r, out.node, nodes, check);
  r.read_choice("restart", out.restart,
                {restart_policy::always, restart_policy::on_failure, restart_policy::never});
  r.read_integer("max_restarts", out.max_restarts);
  r.finish();
}

void read_checkpoint(object_reader r, checkpoint_config& out) {
  r.read_string("dir", out.dir, "a path (\"\" for the default)", any_string);
  r.read_integer("every", out.every);
  r.read_integer("keep", out.keep, 1);
  r.finish();
}

void read_output(object_reader r, output_config& out) {
  r.read_string("dir", out.dir, "a path (\"\" for the default)", any_string);
  r.finish();
}

void read_job(const json& doc, job_config& job, std::vector<config_issue>& issues) {
  object_reader root{&doc, "", issues};
  if (!root.present())
    return;
  root.read_string("name", job.name, name_rule, valid_name);
  read_model(root.section("model"), job.model);
  read_data(root.section("data"), job.data);
  read_optimizer(root.section("optimizer"), job.optimizer);
  read_training(root.section("training"), job.training);
  read_consistency(root.section("consistency"), job.consistency);
  read_compression(root.section("compression"), job.compression);
  read_precision(root.section("precision"), job.precision);
  read_parallelism(root.section("parallelism"), job.parallelism);
  bool nodes_ok = read_nodes(root, job.nodes);
  const auto& nodes = job.nodes;
  read_members(root, "shards", "shard", nodes, job.shards, [&](object_reader& r, shard_config& s) {
    read_node_ref(r, s.node, nodes, nodes_ok);
  });
  read_members(root, "workers", "worker", nodes, job.workers,
               [&](object_reader& r, worker_config& w) {
                 read_node_ref(r, w.node, nodes, nodes_ok);
                 r.read_string("device", w.device, "\"cpu\" or \"cuda:N\"", valid_device);
                 auto s = r.section("straggler");
                 // At most 100: the delay is a sleep that a stop waits for.
                 s.read_number("factor", w.straggler.factor, "a number in [1, 100]",
                               [](double x) { return x >= 1 && x <= 100; });
                 s.read_number("probability", w.straggler.probability, "a number in (0, 1]",
                               [](double x) { return x > 0 && x <= 1; });
                 s.finish();
               });
  read_supervisor(root.section("supervisor"), job.supervisor, nodes, nodes_ok);
  read_checkpoint(root.section("checkpoint"), job.checkpoint);
  read_output(root.section("output"), job.output);
  if (issues.empty())
    check_parallelism(root, job);
  root.finish();
}

herd::expected<job_config> parse_named(const std::string& text, const std::string& source,
                                       std::vector<config_issue>* issues_out,
                                       const std::vector<node_config>* nodes = nullptr) {
  std::vector<config_issue> issues;
  std::string syntax_error;
  auto doc = detail::parse_json_text(text, syntax_error, issues);
  auto prefix = source.empty() ? std::string{} : source + ": ";
  if (!doc) {
    auto message = "malformed JSON: " + syntax_error;
    if (issues_out != nullptr)
      issues_out->push_back({"", message});
    return herd::make_error(errc::config_syntax, prefix + message);
  }
  if (nodes != nullptr && doc->is_object()) {
    // A cluster's topology names the nodes: the job's own list is replaced before reading, so
    // shard and worker placements are checked against the cluster.
    json list = json::array();
    for (const auto& n : *nodes)
      list.push_back(json{{"name", n.name}, {"host", n.host}, {"port", n.port}});
    (*doc)["nodes"] = std::move(list);
  }
  job_config job;
  read_job(*doc, job, issues);
  if (issues_out != nullptr)
    issues_out->insert(issues_out->end(), issues.begin(), issues.end());
  if (!issues.empty())
    return herd::make_error(errc::config_invalid, prefix + to_string(issues.front()));
  return job;
}

} // namespace

herd::expected<job_config> parse_job(const std::string& json_text,
                                     std::vector<config_issue>* issues) {
  return parse_named(json_text, "", issues);
}

herd::expected<job_config> load_job(const std::string& path, std::vector<config_issue>* issues,
                                    const std::vector<node_config>* nodes) {
  auto fail = [&](errc code, std::string message) {
    if (issues != nullptr)
      issues->push_back({"", message});
    return herd::make_error(code, path + ": " + message);
  };
  auto file = detail::read_json_file(path, "job file");
  if (!file.error.empty())
    return fail(file.not_found ? errc::file_not_found : errc::io_error, file.error);
  return parse_named(file.text, path, issues, nodes);
}

caf::error check_against_data(const job_config& job, size_t features, int classes) {
  const auto& layers = job.model.layers;
  if (layers.size() < 2)
    return herd::make_error(errc::config_invalid,
                            "/model/layers: expected " + layers_rule + ", got "
                              + std::to_string(layers.size()) + " entries");
  std::string message;
  if (layers.front() < 0 || static_cast<size_t>(layers.front()) != features)
    message = "/model/layers/0: expected " + std::to_string(features)
              + " (the dataset's features per sample), got " + std::to_string(layers.front());
  if (layers.back() != classes) {
    if (!message.empty())
      message += "; ";
    message += "/model/layers/" + std::to_string(layers.size() - 1) + ": expected "
               + std::to_string(classes) + " (the dataset's classes), got "
               + std::to_string(layers.back());
  }
  if (message.empty())
    return caf::error{};
  return herd::make_error(errc::config_invalid, std::move(message));
}

} // namespace herd::config
