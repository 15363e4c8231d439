#include "config/experiment_config.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/job_parse.hpp"
// The config/ reader, so experiment files get the same rules and messages as job files
// (unknown keys, strict types, JSON pointers). It includes nlohmann; keep it out of headers.
#include "config/json_reader.hpp"
#include "config/node_reader.hpp"

namespace herd::config {

namespace {

namespace fs = std::filesystem;
using config::config_issue;
using config::detail::child_path;
using config::detail::json;
using config::detail::object_reader;

using config::detail::name_rule;
using config::detail::valid_name;

/// "0", "1", ...: decimal, no sign, no leading zeros.
std::optional<size_t> worker_index(const std::string& key) {
  if (key.empty() || key.size() > 9 || (key.size() > 1 && key[0] == '0'))
    return std::nullopt;
  size_t n = 0;
  for (char c : key) {
    if (c < '0' || c > '9')
      return std::nullopt;
    n = n * 10 + size_t(c - '0');
  }
  return n;
}

void read_straggler(object_reader r, config::straggler_config& out) {
  r.read_number("factor", out.factor, "a number in [1, 100]", // as in a job file
                [](double x) { return x >= 1 && x <= 100; });
  r.read_number("probability", out.probability, "a number in (0, 1]",
                [](double x) { return x > 0 && x <= 1; });
  r.finish();
}

// "job": a path (relative to the experiment file) or an inline job object. Returns whether the
// job is valid. A job file's own errors keep their text, which starts with the file's path.
bool read_job(object_reader& root, const std::string& base_dir, experiment_config& exp,
              errc& code) {
  const char* rule = "a job file path or a job object";
  auto v = root.take("job");
  if (v == nullptr) {
    root.add_issue("/job", std::string{"missing; expected "} + rule);
    return false;
  }
  if (v->is_string() && object_reader::has_nul(v->get_ref<const std::string&>())) {
    root.expected("job", std::string{rule} + " without NUL characters (U+0000)", *v);
    return false;
  }
  if (v->is_string() && !v->get_ref<const std::string&>().empty()) {
    fs::path p = v->get<std::string>();
    if (p.is_relative() && !base_dir.empty())
      p = fs::path(base_dir) / p;
    exp.job_file = p.lexically_normal().string();
    auto job = config::load_job(exp.job_file);
    if (!job) {
      if (root.issues().empty())
        code = code_of(job.error());
      root.add_issue("/job", describe(job.error()));
      return false;
    }
    exp.job = std::move(*job);
    return true;
  }
  if (v->is_object()) {
    std::vector<config_issue> issues;
    auto job = config::parse_job(v->dump(), &issues);
    for (auto& i : issues)
      root.add_issue("/job" + i.path, i.message);
    if (!job)
      return false;
    exp.job = std::move(*job);
    return true;
  }
  root.expected("job", rule, *v);
  return false;
}

void read_consistency(object_reader& root, experiment_config& exp) {
  using config::consistency_model;
  const char* rule = "a non-empty array of {\"model\", \"staleness\"} objects";
  auto path = root.path_of("consistency");
  auto v = root.take("consistency");
  if (v == nullptr)
    return root.add_issue(path, std::string{"missing; expected "} + rule);
  if (!v->is_array() || v->empty())
    return root.expected("consistency", rule, *v);
  for (size_t i = 0; i < v->size(); ++i) {
    object_reader item{&(*v)[i], child_path(path, i), root.issues()};
    consistency_setting c;
    if (item.present() && item.take("model") == nullptr)
      item.add_issue(item.path_of("model"), "missing; expected \"bsp\", \"ssp\" or \"asp\"");
    item.read_choice("model", c.model,
                     {consistency_model::bsp, consistency_model::ssp, consistency_model::asp});
    const auto* staleness = item.take("staleness");
    item.read_integer("staleness", c.staleness);
    item.read_bool("staleness_aware", c.staleness_aware);
    auto model = std::string{config::to_string(c.model)};
    if (item.present() && c.model == consistency_model::ssp && staleness == nullptr)
      item.add_issue(item.path_of("staleness"),
                     "missing; expected a non-negative integer (ssp's staleness bound)");
    if (c.model != consistency_model::ssp && staleness != nullptr)
      item.add_issue(item.path_of("staleness"), "expected no staleness for " + model
                                                  + " (only ssp has a bound), got "
                                                  + config::detail::show(*staleness));
    if (c.model == consistency_model::bsp && c.staleness_aware)
      item.add_issue(item.path_of("staleness_aware"),
                     "expected false for bsp (its updates are never stale), got true");
    item.finish();
    for (size_t j = 0; j < exp.consistency.size(); ++j)
      if (exp.consistency[j].label() == c.label())
        item.add_issue(item.path(), "duplicate setting " + c.label() + " (also at "
                                      + child_path(path, j) + ")");
    exp.consistency.push_back(c);
  }
}

void read_stragglers(object_reader& root, experiment_config& exp, bool job_ok) {
  auto path = root.path_of("stragglers");
  auto v = root.take("stragglers");
  if (v == nullptr)
    return;
  if (!v->is_array() || v->empty())
    return root.expected("stragglers", "a non-empty array of straggler scenario objects", *v);
  exp.stragglers.clear();
  const auto workers = exp.job.workers.size();
  for (size_t i = 0; i < v->size(); ++i) {
    object_reader item{&(*v)[i], child_path(path, i), root.issues()};
    straggler_scenario s;
    if (item.present() && item.take("name") == nullptr)
      item.add_issue(item.path_of("name"), "missing; expected " + name_rule);
    item.read_string("name", s.name, name_rule, valid_name);
    if (auto a = item.take("all")) {
      config::straggler_config sc;
      read_straggler(object_reader{a, item.path_of("all"), item.issues()}, sc);
      s.all = sc;
    }
    auto wpath = item.path_of("workers");
    if (auto w = item.take("workers")) {
      if (!w->is_object()) {
        item.expected("workers",
                      "an object from worker index (\"0\", \"1\", ...) to {\"factor\", "
                      "\"probability\"}",
                      *w);
      } else {
        for (const auto& [key, value] : w->items()) {
          auto kpath = child_path(wpath, key);
          auto index = worker_index(key);
          if (!index) {
            item.add_issue(kpath, "expected a worker index (\"0\", \"1\", ...) as the key");
          } else if (job_ok && *index >= workers) {
            item.add_issue(kpath, "expected a worker index below " + std::to_string(workers)
                                    + " (the job has " + std::to_string(workers)
                                    + (workers == 1 ? " worker)" : " workers)"));
          } else {
            config::straggler_config sc;
            read_straggler(object_reader{&value, kpath, item.issues()}, sc);
            s.workers[*index] = sc;
          }
        }
      }
    }
    item.finish();
    for (size_t j = 0; j < exp.stragglers.size(); ++j)
      if (!s.name.empty() && exp.stragglers[j].name == s.name)
        item.add_issue(item.path_of("name"), "duplicate scenario name \"" + s.name
                                               + "\" (also at " + child_path(path, j) + ")");
    exp.stragglers.push_back(std::move(s));
  }
}

const std::string label_rule =
  "a label of letters, digits, '_', '.', '+', '%', '/', '(', ')' or '-'";

bool valid_label(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return config::detail::name_char(c)
           || std::string_view{"+%/()"}.find(c) != std::string_view::npos;
  });
}

// "compression": each entry is a job's compression section plus "name". parse_job reads it, in a
// copy of the base job whose section it replaces, so an entry has exactly the job file's keys,
// rules and messages, reported under /compression/<i>.
void read_compression(object_reader& root, experiment_config& exp, bool job_ok) {
  auto path = root.path_of("compression");
  auto v = root.take("compression");
  if (v == nullptr) {
    const auto& base = exp.job.compression;
    exp.compression = {compression_setting{default_name(base), base}};
    return;
  }
  exp.compression_listed = true;
  if (!v->is_array() || v->empty())
    return root.expected("compression", "a non-empty array of compression setting objects", *v);
  exp.compression.clear();
  // With a bad base job, a default one carries the entries: only their own issues are kept.
  auto carrier = json::parse(config::to_json(job_ok ? exp.job : config::job_config{}));
  const std::string section = "/compression";
  for (size_t i = 0; i < v->size(); ++i) {
    auto ipath = child_path(path, i);
    object_reader item{&(*v)[i], ipath, root.issues()};
    if (!item.present())
      continue;
    compression_setting k;
    bool named = item.take("name") != nullptr;
    item.read_string("name", k.name, label_rule, valid_label);
    auto entry = (*v)[i];
    entry.erase("name");
    carrier["compression"] = std::move(entry);
    std::vector<config_issue> issues;
    auto job = config::parse_job(carrier.dump(), &issues);
    bool own = false;
    for (const auto& is : issues)
      if (is.path.starts_with(section + "/")) {
        item.add_issue(ipath + is.path.substr(section.size()), is.message);
        own = true;
      }
    if (job)
      k.section = job->compression;
    else if (job_ok && !own && !issues.empty())
      item.add_issue(ipath, to_string(issues.front()));
    if (!named)
      k.name = default_name(k.section);
    auto at = named ? item.path_of("name") : ipath;
    for (size_t j = 0; j < exp.compression.size() && !k.name.empty(); ++j) {
      const auto& other = exp.compression[j];
      auto other_at = child_path(path, j);
      if (other.name == k.name)
        item.add_issue(at, "duplicate setting name \"" + k.name + "\" (also at " + other_at
                             + ")" + (named ? "" : "; give one a \"name\""));
      else if (other.slug() == k.slug())
        item.add_issue(at, "\"" + k.name + "\" and \"" + other.name + "\" (at " + other_at
                             + ") make the same folder name \"" + k.slug() + "\"; rename one");
    }
    exp.compression.push_back(std::move(k));
  }
}

void read_seeds(object_reader& root, experiment_config& exp) {
  const char* rule = "a non-empty array of non-negative integers";
  auto path = root.path_of("seeds");
  auto v = root.take("seeds");
  if (v == nullptr)
    return;
  if (!v->is_array() || v->empty())
    return root.expected("seeds", rule, *v);
  std::vector<uint64_t> seeds;
  for (size_t i = 0; i < v->size(); ++i) {
    auto seed = config::detail::integer_in<uint64_t>((*v)[i], 0, UINT64_MAX);
    if (!seed) {
      root.add_issue(child_path(path, i),
                     "expected a non-negative integer, got " + config::detail::show((*v)[i]));
      continue;
    }
    for (size_t j = 0; j < seeds.size(); ++j)
      if (seeds[j] == *seed)
        root.add_issue(child_path(path, i), "duplicate seed " + std::to_string(*seed));
    seeds.push_back(*seed);
  }
  exp.seeds = std::move(seeds);
}

json straggler_json(const config::straggler_config& s) {
  return {{"factor", s.factor}, {"probability", s.probability}};
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", 100.0 * fraction);
  return buf;
}

} // namespace

std::string default_name(const config::compression_config& c) {
  const config::compression_config defaults;
  const auto& codec = c.codec;
  bool sparse = codec == "topk" || codec == "randk";
  auto out = codec;
  if (sparse)
    out += percent(c.density);
  if (codec == "qsgd")
    out += std::to_string(c.levels);
  if ((codec == "int8" || codec == "qsgd") && c.bucket != defaults.bucket)
    out += "+bucket" + std::to_string(c.bucket);
  if (codec == "topk" && c.sampled)
    out += "+sampled";
  if (codec != "none" && c.error_feedback)
    out += "+ef";
  if (codec != "none" && c.momentum_correction)
    out += "+mc";
  if (sparse && c.warmup_steps > 0)
    out += "+warmup" + std::to_string(c.warmup_steps);
  if (c.pull != config::pull_format::fp32)
    out += std::string{"/pull-"} + config::to_string(c.pull);
  return out;
}

std::string compression_setting::slug() const {
  std::string out;
  for (char c : name) {
    if (c == '%')
      out += "pct";
    else if (c == '+' || c == '/')
      out += '-';
    else if (c != '(' && c != ')')
      out += c;
  }
  return out;
}

std::string consistency_setting::label() const {
  std::string out = config::to_string(model);
  if (model == config::consistency_model::ssp)
    out.append("(").append(std::to_string(staleness)).append(")");
  if (staleness_aware)
    out += "+sa";
  return out;
}

std::string consistency_setting::slug() const {
  std::string out = config::to_string(model);
  if (model == config::consistency_model::ssp)
    out += std::to_string(staleness);
  if (staleness_aware)
    out += "-sa";
  return out;
}

expected<experiment_config> parse_experiment(const std::string& text,
                                             const std::string& base_dir,
                                             const std::string& source) {
  auto prefix = source.empty() ? std::string{} : source + ": ";
  std::vector<config_issue> issues;
  std::string syntax_error;
  auto doc = config::detail::parse_json_text(text, syntax_error, issues);
  if (!doc)
    return make_error(errc::config_syntax, prefix + "malformed JSON: " + syntax_error);
  experiment_config exp;
  errc code = errc::config_invalid;
  object_reader root{&*doc, "", issues};
  if (root.present()) {
    root.read_string("name", exp.name, name_rule, valid_name);
    bool job_ok = read_job(root, base_dir, exp, code);
    if (job_ok && !exp.job.consistency.switches.empty())
      root.add_issue(exp.job_file.empty() ? "/job/consistency/switches" : "/job",
                     (exp.job_file.empty() ? "" : exp.job_file + ": /consistency/switches: ")
                       + std::string{"expected no switches (each run sets its own model)"});
    read_consistency(root, exp);
    read_compression(root, exp, job_ok);
    read_stragglers(root, exp, job_ok);
    read_seeds(root, exp);
    root.read_string("output", exp.output, "a path (\"\" for the default)",
                     [](std::string_view) { return true; });
    root.finish();
  }
  if (!issues.empty())
    return make_error(code, prefix + to_string(issues.front()));
  return exp;
}

expected<experiment_config> load_experiment(const std::string& path) {
  auto file = config::detail::read_json_file(path, "experiment file");
  if (!file.error.empty())
    return make_error(file.not_found ? errc::file_not_found : errc::io_error,
                      path + ": " + file.error);
  return parse_experiment(file.text, fs::path(path).parent_path().string(), path);
}

std::string output_dir(const experiment_config& exp) {
  return exp.output.empty() ? "runs/" + exp.name : exp.output;
}

bool shows_compression(const experiment_config& exp) {
  if (exp.compression.size() != 1)
    return true;
  const auto& only = exp.compression.front().section;
  return only.codec != "none" || only.pull != config::pull_format::fp32;
}

std::string run_slug(const experiment_config& exp, const consistency_setting& c,
                     const compression_setting& k, const straggler_scenario& s, uint64_t seed) {
  auto out = c.slug() + "-";
  if (shows_compression(exp))
    out += k.slug() + "-";
  return out + s.name + "-seed" + std::to_string(seed);
}

expected<config::job_config> job_for_run(const experiment_config& exp,
                                         const consistency_setting& c,
                                         const compression_setting& k,
                                         const straggler_scenario& s, uint64_t seed) {
  auto job = exp.job;
  job.consistency.model = c.model;
  job.consistency.staleness = c.staleness;
  job.consistency.staleness_aware = c.staleness_aware;
  job.consistency.switches.clear();
  job.compression = k.section;
  for (auto& w : job.workers)
    w.straggler = s.all.value_or(config::straggler_config{});
  for (const auto& [index, straggler] : s.workers) {
    if (index >= job.workers.size())
      return make_error(errc::config_invalid,
                        "worker " + std::to_string(index) + " of scenario " + s.name
                          + " is not in the job (" + std::to_string(job.workers.size())
                          + " workers)");
    job.workers[index].straggler = straggler;
  }
  job.training.seed = seed;
  job.model.init_seed = seed;
  job.training.evaluation = config::eval_mode::deferred;
  auto run = run_slug(exp, c, k, s, seed);
  job.output.dir = (fs::path(output_dir(exp)) / "runs" / run).string();
  auto checked = config::parse_job(config::to_json(job));
  if (!checked)
    return make_error(errc::config_invalid,
                      "run " + run + ": " + describe(checked.error()));
  return checked;
}

std::string to_json(const experiment_config& exp) {
  json consistency = json::array();
  for (const auto& c : exp.consistency) {
    json item{{"model", config::to_string(c.model)}};
    if (c.model == config::consistency_model::ssp)
      item["staleness"] = c.staleness;
    if (c.staleness_aware)
      item["staleness_aware"] = true;
    consistency.push_back(std::move(item));
  }
  json compression = json::array();
  auto job = exp.job;
  for (const auto& k : exp.compression) {
    job.compression = k.section;
    json item{{"name", k.name}};
    auto job_json = json::parse(config::to_json(job));
    for (const auto& [key, value] : job_json["compression"].items())
      item[key] = value;
    compression.push_back(std::move(item));
  }
  json stragglers = json::array();
  for (const auto& s : exp.stragglers) {
    json item{{"name", s.name}};
    if (s.all)
      item["all"] = straggler_json(*s.all);
    if (!s.workers.empty()) {
      json workers = json::object();
      for (const auto& [index, straggler] : s.workers)
        workers[std::to_string(index)] = straggler_json(straggler);
      item["workers"] = std::move(workers);
    }
    stragglers.push_back(std::move(item));
  }
  json doc{{"name", exp.name},
           {"job", json::parse(config::to_json(exp.job))},
           {"consistency", std::move(consistency)},
           {"compression", std::move(compression)},
           {"stragglers", std::move(stragglers)},
           {"seeds", exp.seeds},
           {"output", output_dir(exp)}};
  return doc.dump(2) + "\n";
}

} // namespace herd::config
