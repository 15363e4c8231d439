// One row per value rule: the members that break it and the exact first issue.
#include <catch2/catch.hpp>

#include "config/job_parse.hpp"
#include "config_test_util.hpp"

using namespace herd::config;
using namespace herd::config::test;

namespace {

struct rule_case {
  std::string members;  // top-level members added to a valid job
  std::string error;    // the expected error text
};

const std::string name_rule =
  R"(a name of letters, digits, '_', '.' or '-' other than "." and "..")";

void check_rules(std::initializer_list<rule_case> cases) {
  for (const auto& c : cases) {
    INFO(c.members);
    CHECK(error_of(job_with(c.members)) == c.error);
  }
}

} // namespace

TEST_CASE("config: name rule", "[config]") {
  check_rules({
    {R"("name": "a b")", R"(/name: expected )" + name_rule + R"(, got "a b")"},
    {R"("name": "")", R"(/name: expected )" + name_rule + R"(, got "")"},
    {R"("name": 5)", R"(/name: expected )" + name_rule + R"(, got 5)"},
    // runs/<name> would be the current directory or its parent.
    {R"("name": ".")", R"(/name: expected )" + name_rule + R"(, got ".")"},
    {R"("name": "..")", R"(/name: expected )" + name_rule + R"(, got "..")"},
  });
  CHECK(parsed(job_with(R"("name": "...")")).name == "...");
  CHECK(parsed(job_with(R"("name": ".a")")).name == ".a");
}

TEST_CASE("config: model rules", "[config]") {
  const std::pair<const char*, const char*> cases[] = {
    {R"({"model": {"layers": [784]}})",
     "/model/layers: expected an array of at least 2 positive integers, got [784]"},
    {R"({"model": {"layers": "784,10"}})",
     "/model/layers: expected an array of at least 2 positive integers, got \"784,10\""},
    {R"({"model": {"layers": [4, 0, 3]}})",
     "/model/layers/1: expected a positive integer, got 0"},
    {R"({"model": {"layers": [4, 2.5]}})",
     "/model/layers/1: expected a positive integer, got 2.5"},
    {R"({"model": {"layers": [-4, 3]}})",
     "/model/layers/0: expected a positive integer, got -4"},
    {R"({"model": {"layers": [4, 3000000000]}})",
     "/model/layers/1: expected a positive integer up to 2147483647, got 3000000000"},
    {R"({"model": {"layers": [4, 3], "init_seed": -1}})",
     "/model/init_seed: expected a non-negative integer, got -1"},
    {R"({"model": []})", "/model: expected an object, got []"},
  };
  for (const auto& [text, error] : cases) {
    INFO(text);
    CHECK(error_of(text) == error);
  }
}

TEST_CASE("config: data rules", "[config]") {
  check_rules({
    {R"("data": {"normalize": "minmax"})",
     R"(/data/normalize: expected "standardize", "scale" or "none", got "minmax")"},
    {R"("data": {"train_images": ""})", R"(/data/train_images: expected a non-empty path, got "")"},
    {R"("data": {"test_images": "t10k\u0000.gz"})",
     R"(/data/test_images: expected a non-empty path without NUL characters (U+0000), )"
     R"(got "t10k\u0000.gz")"},
    {R"("data": {"test_labels": null})", "/data/test_labels: expected a non-empty path, got null"},
    {R"("data": {"train_limit": -5})",
     "/data/train_limit: expected a non-negative integer, got -5"},
    {R"("data": {"test_limit": "all"})",
     "/data/test_limit: expected a non-negative integer, got \"all\""},
  });
  auto job = parsed(job_with(R"("data": {"normalize": "none", "train_limit": 0})"));
  CHECK(job.data.normalize == normalization::none);
}

TEST_CASE("config: optimizer rules", "[config]") {
  check_rules({
    {R"("optimizer": {"type": "rmsprop"})",
     R"(/optimizer/type: expected "sgd" or "adam", got "rmsprop")"},
    {R"("optimizer": {"lr": -1})", "/optimizer/lr: expected a number > 0, got -1"},
    {R"("optimizer": {"lr": 0})", "/optimizer/lr: expected a number > 0, got 0"},
    {R"("optimizer": {"lr": "fast"})", "/optimizer/lr: expected a number > 0, got \"fast\""},
    {R"("optimizer": {"momentum": 1})", "/optimizer/momentum: expected a number in [0, 1), got 1"},
    {R"("optimizer": {"momentum": -0.1})",
     "/optimizer/momentum: expected a number in [0, 1), got -0.1"},
    {R"("optimizer": {"nesterov": "yes"})",
     "/optimizer/nesterov: expected true or false, got \"yes\""},
    {R"("optimizer": {"nesterov": true, "momentum": 0})",
     "/optimizer/nesterov: expected false when momentum is 0 (Nesterov needs momentum > 0), "
     "got true"},
    {R"("optimizer": {"weight_decay": -0.5})",
     "/optimizer/weight_decay: expected a number >= 0, got -0.5"},
    {R"("optimizer": {"beta1": 1.0})", "/optimizer/beta1: expected a number in [0, 1), got 1.0"},
    {R"("optimizer": {"beta2": -0.1})",
     "/optimizer/beta2: expected a number in [0, 1), got -0.1"},
    {R"("optimizer": {"eps": 0})", "/optimizer/eps: expected a number > 0, got 0"},
  });
  auto job = parsed(job_with(R"("optimizer": {"lr": 1e-3, "nesterov": true})"));
  CHECK(job.optimizer.lr == 1e-3);
  CHECK(job.optimizer.nesterov);
  // Nesterov is an sgd setting; adam ignores it.
  parsed(job_with(R"("optimizer": {"type": "adam", "nesterov": true, "momentum": 0})"));
}

TEST_CASE("config: training rules", "[config]") {
  check_rules({
    {R"("training": {"batch_size": 0})",
     "/training/batch_size: expected a positive integer, got 0"},
    {R"("training": {"batch_size": 3000000000})",
     "/training/batch_size: expected a positive integer up to 2147483647, got 3000000000"},
    {R"("training": {"epochs": "ten"})",
     "/training/epochs: expected a non-negative integer, got \"ten\""},
    {R"("training": {"epochs": 2.5})",
     "/training/epochs: expected a non-negative integer, got 2.5"},
    {R"("training": {"epochs": 0, "max_steps": 0})",
     "/training: expected epochs > 0 or max_steps > 0, got both 0"},
    {R"("training": {"max_steps": -1})",
     "/training/max_steps: expected a non-negative integer, got -1"},
    {R"("training": {"chunk_batches": 0})",
     "/training/chunk_batches: expected a positive integer, got 0"},
    {R"("training": {"seed": -3})", "/training/seed: expected a non-negative integer, got -3"},
    {R"("training": {"eval_every": -1})",
     "/training/eval_every: expected a non-negative integer, got -1"},
    {R"("training": {"log_every": true})",
     "/training/log_every: expected a non-negative integer, got true"},
    {R"("training": {"target_accuracy": 1.5})",
     "/training/target_accuracy: expected a number in [0, 1], got 1.5"},
    {R"("training": {"blas_threads": 0})",
     "/training/blas_threads: expected a positive integer, got 0"},
  });
  auto job = parsed(job_with(R"("training": {"epochs": 0, "max_steps": 100, "eval_every": 0})"));
  CHECK(job.training.epochs == 0);
  CHECK(job.training.max_steps == 100);
  CHECK(job.training.eval_every == 0);
}

TEST_CASE("config: consistency, compression and precision rules", "[config]") {
  check_rules({
    {R"("consistency": {"model": "eventual"})",
     R"(/consistency/model: expected "bsp", "ssp" or "asp", got "eventual")"},
    {R"("consistency": {"staleness": -1})",
     "/consistency/staleness: expected a non-negative integer, got -1"},
    {R"("consistency": {"model": "ssp", "staleness": 2147483648})",
     "/consistency/staleness: expected a non-negative integer up to 2147483647, got 2147483648"},
    {R"("compression": {"codec": "Top-K"})",
     R"(/compression/codec: expected a codec name (none, dense_f32, fp16, bf16, int8, topk, randk, qsgd, sign), got "Top-K")"},
    {R"("compression": {"density": 0})", R"(/compression/density: expected a number in (0, 1], got 0)"},
    {R"("compression": {"levels": 0})", R"(/compression/levels: expected an integer in [1, 32767], got 0)"},
    {R"("compression": {"pull": "int8"})", R"(/compression/pull: expected "fp32", "fp16" or "bf16", got "int8")"},
    {R"("precision": {"compute": "fp8"})",
     R"(/precision/compute: expected "fp32", "bf16" or "fp16", got "fp8")"},
  });
  CHECK(parsed(job_with(R"("consistency": {"model": "asp"})")).consistency.model
        == consistency_model::asp);
}

TEST_CASE("config: node rules", "[config]") {
  check_rules({
    {R"("nodes": [])", "/nodes: expected a non-empty array of node objects, got []"},
    {R"("nodes": {"name": "a"})",
     R"(/nodes: expected a non-empty array of node objects, got {"name":"a"})"},
    {R"("nodes": [5])", "/nodes/0: expected an object, got 5"},
    {R"("nodes": [{"host": "x"}])", "/nodes/0/name: missing; expected " + name_rule},
    {R"("nodes": [{"name": "a b"}])",
     R"(/nodes/0/name: expected )" + name_rule + R"(, got "a b")"},
    {R"("nodes": [{"name": ".."}])", R"(/nodes/0/name: expected )" + name_rule + R"(, got "..")"},
    {R"("nodes": [{"name": "a"}, {"name": "a"}])",
     R"(/nodes/1/name: duplicate node name "a" (also at /nodes/0))"},
    {R"("nodes": [{"name": "a", "port": 70000}])",
     "/nodes/0/port: expected an integer in [0, 65535], got 70000"},
    {R"("nodes": [{"name": "a", "port": -1}])",
     "/nodes/0/port: expected an integer in [0, 65535], got -1"},
    {R"("nodes": [{"name": "a", "host": ""}])",
     R"(/nodes/0/host: expected a non-empty host name or address, got "")"},
    {R"("nodes": [{"name": "a", "port": 7000}, {"name": "b", "port": 7000}])",
     "/nodes/1/port: expected a host and port no other node uses, got 127.0.0.1:7000 "
     "(also at /nodes/0)"},
  });
  // Port 0 means "chosen by the OS", so any number of nodes may share it.
  parsed(job_with(R"("nodes": [{"name": "a"}, {"name": "b"}])"));
  parsed(job_with(R"("nodes": [{"name": "a", "port": 7000},
                               {"name": "b", "host": "10.0.0.2", "port": 7000}])"));
}

TEST_CASE("config: supervisor, checkpoint and output rules", "[config]") {
  check_rules({
    {R"("supervisor": {"restart": "sometimes"})",
     R"(/supervisor/restart: expected "always", "on-failure" or "never", got "sometimes")"},
    {R"("supervisor": {"max_restarts": -1})",
     "/supervisor/max_restarts: expected a non-negative integer, got -1"},
    {R"("checkpoint": {"every": -1})",
     "/checkpoint/every: expected a non-negative integer, got -1"},
    {R"("checkpoint": {"keep": 0})", "/checkpoint/keep: expected a positive integer, got 0"},
    {R"("checkpoint": {"dir": 5})", R"(/checkpoint/dir: expected a path ("" for the default), got 5)"},
    {R"("output": {"dir": null})", R"(/output/dir: expected a path ("" for the default), got null)"},
    // A path ends at U+0000 in every system call: "a\u0000b" would be used as "a".
    {R"("checkpoint": {"dir": "ck\u0000x"})",
     R"(/checkpoint/dir: expected a path ("" for the default) without NUL characters (U+0000), )"
     R"(got "ck\u0000x")"},
    {R"("output": {"dir": "o\u0000"})",
     R"(/output/dir: expected a path ("" for the default) without NUL characters (U+0000), )"
     R"(got "o\u0000")"},
  });
  auto job = parsed(job_with(R"("supervisor": {"restart": "always"}, "output": {"dir": ""})"));
  CHECK(job.supervisor.restart == restart_policy::always);
}

TEST_CASE("config: parallelism rules", "[config]") {
  // A three-layer model (784-256-128-10) with the default two shards and two workers.
  auto mlp_with = [](const std::string& members) {
    return R"({"model": {"layers": [784, 256, 128, 10]}, )" + members + "}";
  };
  const rule_case cases[] = {
    {R"("parallelism": {"pipeline_stages": 0})",
     "/parallelism/pipeline_stages: expected an integer in [1, 64], got 0"},
    {R"("parallelism": {"micro_batches": 0})",
     "/parallelism/micro_batches: expected an integer in [1, 4096], got 0"},
    {R"("parallelism": {"tensor_parallel": 65})",
     "/parallelism/tensor_parallel: expected an integer in [1, 64], got 65"},
    {R"("parallelism": {"stages": 2})",
     "/parallelism/stages: unknown key (known: pipeline_stages, micro_batches, tensor_parallel, "
     "schedule)"},
    {R"("parallelism": {"schedule": "pipedream"})",
     R"(/parallelism/schedule: expected "gpipe" or "1f1b", got "pipedream")"},
    {R"("parallelism": {"pipeline_stages": 4}, "shards": 4, "workers": 4)",
     "/parallelism/pipeline_stages: expected at most 3 (one layer per stage at least), got 4"},
    {R"("parallelism": {"pipeline_stages": 2}, "workers": 3)",
     "/workers: expected a multiple of parallelism.pipeline_stages (2) workers, one per stage "
     "of each replica, got 3"},
    {R"("parallelism": {"pipeline_stages": 3}, "workers": 3)",
     "/shards: expected at least parallelism.pipeline_stages (3) shards, a stage's layers on "
     "shards of their own, got 2"},
    {R"("parallelism": {"micro_batches": 65})",
     "/parallelism/micro_batches: expected at most training.batch_size (64), got 65"},
    {R"("parallelism": {"pipeline_stages": 2, "tensor_parallel": 2})",
     "/parallelism/tensor_parallel: expected 1 with pipeline_stages > 1 (pipeline and tensor "
     "parallelism in one job are not supported), got 2"},
  };
  for (const auto& c : cases) {
    INFO(c.members);
    CHECK(error_of(mlp_with(c.members)) == c.error);
  }
  CHECK(error_of(job_with(R"("parallelism": {"tensor_parallel": 2})"))
        == "/parallelism/tensor_parallel: expected 1 for a model without hidden layers, got 2");
  CHECK(error_of(R"({"model": {"layers": [784, 256, 32, 10]},
                      "parallelism": {"tensor_parallel": 33}})")
        == "/parallelism/tensor_parallel: expected at most the narrowest hidden layer's width "
           "(32), got 33");
  CHECK(error_of(mlp_with(R"("parallelism": {"tensor_parallel": 2},
                             "workers": [{"device": "cpu"}, {"device": "cuda:0"}])"))
        == "/workers/1/device: expected \"cpu\" with parallelism.tensor_parallel > 1 "
           "(tensor-parallel ranks run on the CPU), got \"cuda:0\"");
  auto job = parsed(mlp_with(R"("parallelism": {"pipeline_stages": 2, "micro_batches": 4},
                                "workers": 4)"));
  CHECK(job.parallelism.pipeline_stages == 2);
  CHECK(job.parallelism.micro_batches == 4);
  CHECK(job.parallelism.tensor_parallel == 1);
  CHECK(parsed(mlp_with(R"("parallelism": {"tensor_parallel": 2})")).parallelism.tensor_parallel
        == 2);
  for (const char* p : {"bf16", "fp16"}) { // tensor-parallel ranks compute in half precision
    INFO(p);
    auto half = parsed(mlp_with(std::string{R"("parallelism": {"tensor_parallel": 2}, )"}
                                + R"("precision": {"compute": ")" + p + R"("})"));
    CHECK(half.parallelism.tensor_parallel == 2);
    CHECK(to_string(half.precision.compute) == std::string{p});
  }
}

TEST_CASE("config: the pipeline schedule is read and written back", "[config]") {
  auto mlp_with = [](const std::string& members) {
    return R"({"model": {"layers": [784, 256, 128, 10]}, )" + members + "}";
  };
  auto job = parsed(mlp_with(R"("parallelism": {"pipeline_stages": 2, "schedule": "1f1b"}, "workers": 2)"));
  CHECK(job.parallelism.schedule == pipeline_schedule::one_f_one_b);
  CHECK(parsed(to_json(job)).parallelism == job.parallelism);
  CHECK(parsed(mlp_with(R"("parallelism": {"pipeline_stages": 2}, "workers": 2)")).parallelism.schedule
        == pipeline_schedule::gpipe);
}
