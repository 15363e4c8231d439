#include "apps/ctl_format.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace herd::apps {

namespace {

using json = nlohmann::json;
using row = std::vector<std::string>;

std::string text(const json& v) {
  if (v.is_string())
    return v.get<std::string>();
  if (v.is_boolean())
    return v.get<bool>() ? "yes" : "no";
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v.get<double>());
    return buf;
  }
  if (v.is_null())
    return "-";
  return v.dump();
}

std::string bytes(const json& v) {
  if (!v.is_number())
    return "-";
  double b = v.get<double>();
  char buf[32];
  if (b >= 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024 * 1024));
  else if (b >= 1024.0 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024));
  else
    std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  return buf;
}

std::string table(const std::vector<row>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      width.resize(std::max(width.size(), r.size()));
      width[i] = std::max(width[i], r[i].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size())
        line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

/// Worker ids as "0, 3-7, 9" (ids ascending).
std::string id_ranges(std::vector<long long> ids) {
  std::sort(ids.begin(), ids.end());
  std::string out;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1)
      ++j;
    out += (out.empty() ? "" : ", ") + std::to_string(ids[i]);
    if (j > i)
      out += "-" + std::to_string(ids[j]);
    i = j + 1;
  }
  return out;
}

} // namespace

std::string status_table(const std::string& status_json) {
  auto j = json::parse(status_json, nullptr, false);
  if (j.is_object() && j.contains("node") && !j.contains("job"))
    j["job"] = false;
  if (j.is_object() && j.contains("node")) // a node without a job answers for itself
    return "node " + text(j["node"]) + ": " + (j.value("job", false) ? "a job is attached"
                                                                    : "no job running")
           + ", " + text(j.value("shards", json{})) + " shard(s), "
           + text(j.value("workers", json{})) + " worker(s)\n";
  if (!j.is_object() || !j.contains("workers") || !j["workers"].is_array())
    return status_json;
  char head[256];
  std::snprintf(head, sizeof head, "job %s: %s, clock %s (fastest %s), %s, %.1f s, %s samples\n",
                text(j.value("job", json{})).c_str(), text(j.value("state", json{})).c_str(),
                text(j.value("clock", json{})).c_str(), text(j.value("max_clock", json{})).c_str(),
                text(j.value("consistency", json{})).c_str(), j.value("elapsed_s", 0.0),
                text(j.value("samples", json{})).c_str());
  std::vector<row> nodes{{"NODE", "ADDRESS", "CONNECTED"}};
  for (const auto& n : j.value("nodes", json::array()))
    nodes.push_back({text(n["name"]), text(n["host"]) + ":" + text(n["port"]),
                     text(n.value("connected", json{}))
                       + (n.value("lost", false) ? " (lost)" : "")});
  std::vector<row> shards{{"SHARD", "NODE", "VERSION", "PUSHES", "REFUSED", "STALENESS p50/p99"}};
  for (const auto& s : j.value("shards", json::array()))
    shards.push_back({text(s["id"]), text(s["node"]), text(s.value("version", json{})),
                      text(s.value("pushes", json{})), text(s.value("refused", json{})),
                      text(s.value("staleness_p50", json{})) + "/"
                        + text(s.value("staleness_p99", json{}))});
  std::vector<row> workers{
    {"WORKER", "NODE", "STATE", "CLOCK", "LAG", "SAMPLES/S", "PUSHED", "PULLED", "ROLE", "IDLE",
     "DEVICE"}};
  std::vector<long long> left; // one line for them: a long job's add/remove cycles pile up
  for (const auto& w : j.value("workers", json::array())) {
    if (w.value("state", std::string{}) == "left" && w.value("id", json{}).is_number_integer()) {
      left.push_back(w["id"].get<long long>());
      continue;
    }
    // Pipeline stages: "replica r stage k" and the stage's mean idle fraction (the bubble).
    auto idle = w.value("stage_idle", -1.0);
    char pct[16] = "-";
    if (idle >= 0)
      std::snprintf(pct, sizeof pct, "%.1f%%", 100.0 * idle);
    workers.push_back({text(w["id"]), text(w["node"]), text(w["state"]), text(w["clock"]),
                       text(w.value("lag", json{})), text(w.value("samples_per_s", json{})),
                       bytes(w.value("up_bytes", json{})), bytes(w.value("down_bytes", json{})),
                       w.value("role", std::string{"worker"}), pct,
                       text(w.value("device", json{}))});
  }
  auto out = head + std::string("\n") + table(nodes) + "\n" + table(shards) + "\n" + table(workers);
  if (!left.empty())
    out += "left the job: worker" + std::string(left.size() > 1 ? "s " : " ") + id_ranges(left)
           + " (status --json has their figures)\n";
  return out;
}

status_names names_in_status(const std::string& status_json) {
  status_names out;
  auto j = json::parse(status_json, nullptr, false);
  if (!j.is_object())
    return out;
  if (j.contains("node") && j["node"].is_string())
    out.nodes.push_back(j["node"].get<std::string>());
  for (const auto& n : j.value("nodes", json::array()))
    if (n.is_object() && n.value("connected", true))
      out.nodes.push_back(text(n.value("name", json{})));
  for (const auto& w : j.value("workers", json::array()))
    if (w.is_object() && w.value("state", std::string{}) == "active")
      out.workers.push_back(text(w.value("id", json{})));
  return out;
}

} // namespace herd::apps
