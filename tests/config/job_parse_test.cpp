// parse_job: defaults, both member forms, node references, unknown keys, malformed JSON.
// Value rules, one table row per rule, are in job_rules_test.cpp.
#include <catch2/catch.hpp>

#include "config/job_parse.hpp"
#include "config_test_util.hpp"

using namespace herd::config;
using namespace herd::config::test;
using herd::errc;

TEST_CASE("config: a file with only model.layers gets every default", "[config]") {
  auto job = parsed(R"({"model": {"layers": [784, 256, 128, 10]}})");
  job_config expected;
  expected.model.layers = {784, 256, 128, 10};
  CHECK(job == expected);
  CHECK(job.shards.size() == 2);
  CHECK(job.workers.size() == 2);
  CHECK(job.workers[1] == worker_config{"local", "cpu"});
  CHECK(output_dir(job) == "runs/job");
}

TEST_CASE("config: every key is read into its field", "[config]") {
  auto job = parsed(R"({
    "name": "fm-2.x_y",
    "model": {"layers": [5, 4, 3], "init_seed": 18446744073709551615},
    "data": {"train_images": "a", "train_labels": "b", "test_images": "c", "test_labels": "d",
             "normalize": "scale", "train_limit": 2000, "test_limit": 1000},
    "optimizer": {"type": "adam", "lr": 1, "momentum": 0, "nesterov": false, "weight_decay": 1e-4,
                  "beta1": 0.8, "beta2": 0.99, "eps": 1e-6},
    "training": {"batch_size": 32, "epochs": 0, "max_steps": 100, "chunk_batches": 4, "seed": 7,
                 "eval_every": 0, "log_every": 10, "target_accuracy": 0.5, "blas_threads": 2,
                 "prefetch": false},
    "consistency": {"model": "ssp", "staleness": 3},
    "compression": {"codec": "none"},
    "precision": {"compute": "fp32"},
    "parallelism": {"pipeline_stages": 1, "micro_batches": 4, "tensor_parallel": 1},
    "nodes": [{"name": "a", "host": "10.0.0.1", "port": 7000}, {"name": "b", "port": 65535}],
    "shards": 1,
    "workers": [{"node": "b", "device": "cuda:1"}],
    "supervisor": {"node": "b", "restart": "never", "max_restarts": 0},
    "checkpoint": {"dir": "/ckpt", "every": 50, "keep": 1},
    "output": {"dir": "/out"}
  })");
  CHECK(job.name == "fm-2.x_y");
  CHECK(job.model == model_config{{5, 4, 3}, 18446744073709551615ull});
  CHECK(job.data == data_config{"a", "b", "c", "d", normalization::scale, 2000, 1000});
  CHECK(job.optimizer
        == optimizer_config{optimizer_kind::adam, 1.0, 0.0, false, 1e-4, 0.8, 0.99, 1e-6});
  CHECK(job.training == training_config{32, 0, 100, 4, 7, 0, 10, 0.5, 2, false});
  CHECK(job.consistency == consistency_config{consistency_model::ssp, 3});
  CHECK(job.parallelism == parallelism_config{1, 4, 1});
  CHECK(job.nodes
        == std::vector<node_config>{{"a", "10.0.0.1", 7000}, {"b", "127.0.0.1", 65535}});
  CHECK(job.shards == std::vector<shard_config>{{"a"}});
  CHECK(job.workers == std::vector<worker_config>{{"b", "cuda:1"}});
  CHECK(job.supervisor == supervisor_config{"b", restart_policy::never, 0});
  CHECK(job.checkpoint == checkpoint_config{"/ckpt", 50, 1});
  CHECK(output_dir(job) == "/out");
}

TEST_CASE("config: shards and workers given as counts use the first node", "[config]") {
  auto job = parsed(job_with(R"("nodes": [{"name": "a"}, {"name": "b"}], "shards": 3,
                                "workers": 1)"));
  CHECK(job.shards == std::vector<shard_config>(3, shard_config{"a"}));
  CHECK(job.workers == std::vector<worker_config>{{"a", "cpu"}});
  CHECK(job.supervisor.node == "a");
}

TEST_CASE("config: omitted shards and workers default to two on the first node", "[config]") {
  auto job = parsed(job_with(R"("nodes": [{"name": "x"}])"));
  CHECK(job.shards == std::vector<shard_config>(2, shard_config{"x"}));
  CHECK(job.workers == std::vector<worker_config>(2, worker_config{"x", "cpu"}));
}

TEST_CASE("config: shards and workers given as lists keep their order and nodes", "[config]") {
  auto job = parsed(job_with(R"("nodes": [{"name": "a"}, {"name": "b"}],
                                "shards": [{"node": "b"}, {}],
                                "workers": [{"device": "cuda:0"}, {"node": "b"},
                                            {"node": "a", "device": "cuda:12"}])"));
  CHECK(job.shards == std::vector<shard_config>{{"b"}, {"a"}});
  CHECK(job.workers
        == std::vector<worker_config>{{"a", "cuda:0"}, {"b", "cpu"}, {"a", "cuda:12"}});
}

TEST_CASE("config: zero workers or shards is an error", "[config]") {
  CHECK(error_of(job_with(R"("workers": 0)")) == "/workers: expected at least one worker, got 0");
  CHECK(error_of(job_with(R"("workers": [])")) == "/workers: expected at least one worker, got []");
  CHECK(error_of(job_with(R"("shards": 0)")) == "/shards: expected at least one shard, got 0");
  CHECK(error_of(job_with(R"("shards": [])")) == "/shards: expected at least one shard, got []");
  CHECK(error_of(job_with(R"("shards": -2)")) == "/shards: expected at least one shard, got -2");
  CHECK(error_of(job_with(R"("workers": 100000)"))
        == "/workers: expected at most 65536 workers, got 100000");
  CHECK(error_of(job_with(R"("shards": "two")"))
        == "/shards: expected a shard count or an array of shard objects, got \"two\"");
  CHECK(error_of(job_with(R"("workers": 2.0)"))
        == "/workers: expected a worker count or an array of worker objects, got 2.0");
  CHECK(error_of(job_with(R"("shards": ["local"])"))
        == "/shards/0: expected an object, got \"local\"");
}

TEST_CASE("config: a node reference must name a node in /nodes", "[config]") {
  CHECK(error_of(job_with(R"("nodes": [{"name": "a"}, {"name": "c"}],
                             "workers": [{"node": "a"}, {"node": "b"}])"))
        == R"(/workers/1/node: expected a node defined in /nodes ("a" or "c"), got "b")");
  CHECK(error_of(job_with(R"("shards": [{"node": "nowhere"}])"))
        == R"(/shards/0/node: expected a node defined in /nodes ("local"), got "nowhere")");
  CHECK(error_of(job_with(R"("supervisor": {"node": "x"})"))
        == R"(/supervisor/node: expected a node defined in /nodes ("local"), got "x")");
  CHECK(error_of(job_with(R"("shards": [{"node": 3}])"))
        == "/shards/0/node: expected a node name, got 3");
  // The default node "local" is gone once /nodes names others.
  CHECK(error_of(job_with(R"("nodes": [{"name": "a"}], "workers": [{"node": "local"}])"))
        == R"(/workers/0/node: expected a node defined in /nodes ("a"), got "local")");
}

TEST_CASE("config: worker devices are cpu or cuda:N", "[config]") {
  CHECK(error_of(job_with(R"("workers": [{"device": "cpu"}, {"device": "gpu"}])"))
        == R"(/workers/1/device: expected "cpu" or "cuda:N", got "gpu")");
  for (const char* bad : {"\"cuda\"", "\"cuda:\"", "\"cuda:-1\"", "\"cuda:01\"", "\"CPU\"", "0"}) {
    auto text = job_with(std::string{R"("workers": [{"device": )"} + bad + "}]");
    CHECK(error_of(text) == std::string{R"(/workers/0/device: expected "cpu" or "cuda:N", got )"}
                              + bad);
  }
  auto job = parsed(job_with(R"("workers": [{"device": "cuda:3"}])"));
  CHECK(cuda_ordinal(job.workers[0].device) == 3);
}

TEST_CASE("config: unknown key is an error naming its path", "[config]") {
  CHECK(error_of(job_with(R"("training": {"batch_sze": 32})"))
        == "/training/batch_sze: unknown key (known: batch_size, epochs, max_steps, "
           "chunk_batches, seed, eval_every, log_every, target_accuracy, blas_threads, "
           "prefetch, evaluation); "
           "did you mean \"batch_size\"?");
  CHECK(error_of(job_with(R"("wokers": 2)"))
        == "/wokers: unknown key (known: name, model, data, optimizer, training, consistency, "
           "compression, precision, parallelism, nodes, shards, workers, supervisor, checkpoint, "
           "output); "
           "did you mean \"workers\"?");
  CHECK(error_of(job_with(R"("workers": [{}, {"gpu": 1}])"))
        == "/workers/1/gpu: unknown key (known: node, device, straggler)");
  CHECK(error_of(job_with(R"("nodes": [{"name": "a", "adress": "x"}])"))
        == "/nodes/0/adress: unknown key (known: name, host, port)");
  CHECK(error_of(R"({"model": {"layers": [4, 3], "activation": "relu"}})")
        == "/model/activation: unknown key (known: layers, init_seed)");
  CHECK(error_of(job_with(R"("shards": [{"nod": "local"}])"))
        == "/shards/0/nod: unknown key (known: node); did you mean \"node\"?");
  // Keys are escaped as JSON pointers demand.
  CHECK(error_of(job_with(R"("a/b~c": 1)")).starts_with("/a~1b~0c: unknown key (known: name,"));
}

TEST_CASE("config: a section of the wrong type is an error", "[config]") {
  CHECK(error_of(job_with(R"("training": [])")) == "/training: expected an object, got []");
  CHECK(error_of(job_with(R"("optimizer": "adam")"))
        == "/optimizer: expected an object, got \"adam\"");
  CHECK(error_of("[1, 2]") == "/: expected an object, got [1,2]");
  CHECK(error_of("42") == "/: expected an object, got 42");
}

TEST_CASE("config: a missing model is an error", "[config]") {
  CHECK(error_of("{}") == "/model/layers: missing; expected an array of at least 2 positive "
                          "integers");
  CHECK(error_of(R"({"model": {}})").starts_with("/model/layers: missing"));
}

TEST_CASE("config: all issues are collected, in schema order", "[config]") {
  auto issues = issues_of(R"({"model": {"layers": [4, 0, 3]},
    "optimizer": {"lr": -1},
    "training": {"epochs": "ten", "batch_sze": 1},
    "workers": [{"device": "gpu"}]})");
  REQUIRE(issues.size() == 5);
  CHECK(issues[0] == "/model/layers/1: expected a positive integer, got 0");
  CHECK(issues[1] == "/optimizer/lr: expected a number > 0, got -1");
  CHECK(issues[2] == "/training/epochs: expected a non-negative integer, got \"ten\"");
  CHECK(issues[3].starts_with("/training/batch_sze: unknown key"));
  CHECK(issues[4] == "/workers/0/device: expected \"cpu\" or \"cuda:N\", got \"gpu\"");
}

TEST_CASE("config: unknown top-level keys are reported after the sections", "[config]") {
  auto issues = issues_of(R"({"model": {"layers": [4]}, "extra": true})");
  REQUIRE(issues.size() == 2);
  CHECK(issues[0].starts_with("/model/layers: expected an array"));
  CHECK(issues[1].starts_with("/extra: unknown key"));
}

TEST_CASE("config: duplicate keys are errors", "[config]") {
  CHECK(error_of(job_with(R"("optimizer": {"lr": 0.1, "lr": 0.2})"))
        == "/optimizer/lr: duplicate key");
  CHECK(error_of(job_with(R"("workers": [{}, {"node": "local", "node": "local"}])"))
        == "/workers/1/node: duplicate key");
  CHECK(error_of(job_with(R"("name": "a", "name": "a")")) == "/name: duplicate key");
}

TEST_CASE("config: malformed JSON is a syntax error with nlohmann's position", "[config]") {
  for (const char* text : {R"({"model": )", R"({"a": 1,})", "", "{} {}", R"({"a": 1 // c
                           })", R"({"a": 'x'})", "{\"a\": 1e999}"}) {
    INFO(text);
    std::vector<config_issue> issues;
    auto job = parse_job(text, &issues);
    REQUIRE_FALSE(job);
    CHECK(herd::code_of(job.error()) == errc::config_syntax);
    auto what = herd::describe(job.error());
    CHECK(what.starts_with("malformed JSON: "));
    CHECK(what.find("json.exception") == std::string::npos);
    REQUIRE(issues.size() == 1);
    CHECK(issues[0].path.empty());
    CHECK(issues[0].message == what);
  }
  CHECK(error_of("{\n  \"model\": [1,\n}", errc::config_syntax)
          .starts_with("malformed JSON: parse error at line 3, column 1"));
}

TEST_CASE("config: the error text is the first issue", "[config]") {
  std::vector<config_issue> issues;
  auto job = parse_job(job_with(R"("shards": 0, "workers": 0)"), &issues);
  REQUIRE_FALSE(job);
  REQUIRE(issues.size() == 2);
  CHECK(issues[0] == config_issue{"/shards", "expected at least one shard, got 0"});
  CHECK(issues[1] == config_issue{"/workers", "expected at least one worker, got 0"});
  CHECK(herd::describe(job.error()) == "/shards: expected at least one shard, got 0");
}
