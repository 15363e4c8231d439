// to_json: the canonical form of a job, every default written out, in schema order.
#include "config/job_parse.hpp"
#include "config/json_reader.hpp"

namespace herd::config {

std::string to_json(const job_config& job) {
  using detail::json;
  json shards = json::array();
  for (const auto& s : job.shards)
    shards.push_back({{"node", s.node}});
  json workers = json::array();
  for (const auto& w : job.workers)
    workers.push_back({{"node", w.node},
                       {"device", w.device},
                       {"straggler",
                        {{"factor", w.straggler.factor},
                         {"probability", w.straggler.probability}}}});
  json switches = json::array();
  for (const auto& s : job.consistency.switches)
    switches.push_back(
      {{"at_clock", s.at_clock}, {"model", to_string(s.model)}, {"staleness", s.staleness}});
  json nodes = json::array();
  for (const auto& n : job.nodes)
    nodes.push_back({{"name", n.name}, {"host", n.host}, {"port", n.port}});
  const auto& d = job.data;
  const auto& o = job.optimizer;
  const auto& t = job.training;
  const auto& c = job.compression;
  json doc = {
    {"name", job.name},
    {"model", {{"layers", job.model.layers}, {"init_seed", job.model.init_seed}}},
    {"data",
     {{"train_images", d.train_images},
      {"train_labels", d.train_labels},
      {"test_images", d.test_images},
      {"test_labels", d.test_labels},
      {"normalize", to_string(d.normalize)},
      {"train_limit", d.train_limit},
      {"test_limit", d.test_limit}}},
    {"optimizer",
     {{"type", to_string(o.type)},
      {"lr", o.lr},
      {"momentum", o.momentum},
      {"nesterov", o.nesterov},
      {"weight_decay", o.weight_decay},
      {"beta1", o.beta1},
      {"beta2", o.beta2},
      {"eps", o.eps},
      {"schedule", to_string(o.schedule)}}},
    {"training",
     {{"batch_size", t.batch_size},
      {"epochs", t.epochs},
      {"max_steps", t.max_steps},
      {"chunk_batches", t.chunk_batches},
      {"seed", t.seed},
      {"eval_every", t.eval_every},
      {"log_every", t.log_every},
      {"target_accuracy", t.target_accuracy},
      {"blas_threads", t.blas_threads},
      {"prefetch", t.prefetch},
      {"evaluation", to_string(t.evaluation)}}},
    {"consistency",
     {{"model", to_string(job.consistency.model)},
      {"staleness", job.consistency.staleness},
      {"staleness_aware", job.consistency.staleness_aware},
      {"switches", switches}}},
    {"compression",
     {{"codec", c.codec},
      {"density", c.density},
      {"sampled", c.sampled},
      {"bucket", c.bucket},
      {"levels", c.levels},
      {"error_feedback", c.error_feedback},
      {"momentum_correction", c.momentum_correction},
      {"warmup_steps", c.warmup_steps},
      {"pull", to_string(c.pull)}}},
    {"precision", {{"compute", to_string(job.precision.compute)}}},
    {"parallelism",
     {{"pipeline_stages", job.parallelism.pipeline_stages},
      {"micro_batches", job.parallelism.micro_batches},
      {"tensor_parallel", job.parallelism.tensor_parallel},
      {"schedule", to_string(job.parallelism.schedule)}}},
    {"nodes", nodes},
    {"shards", shards},
    {"workers", workers},
    {"supervisor",
     {{"node", job.supervisor.node},
      {"restart", to_string(job.supervisor.restart)},
      {"max_restarts", job.supervisor.max_restarts}}},
    {"checkpoint",
     {{"dir", job.checkpoint.dir},
      {"every", job.checkpoint.every},
      {"keep", job.checkpoint.keep}}},
    {"output", {{"dir", job.output.dir}}},
  };
  // replace: a hand-built job_config may hold invalid UTF-8; never throw from here.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

} // namespace herd::config
