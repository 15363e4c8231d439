#include "actors/consistency.hpp"

namespace herd::actors {

using config::consistency_model;

consistency_rule rule_of(consistency_model model, int staleness, bool aware) {
  return consistency_rule{model, static_cast<uint64_t>(staleness < 0 ? 0 : staleness), aware};
}

messages::consistency_msg to_message(const consistency_rule& rule) {
  return {config::to_string(rule.model), rule.staleness, rule.staleness_aware};
}

expected<consistency_rule> rule_from(const messages::consistency_msg& m) {
  for (auto model : {consistency_model::bsp, consistency_model::ssp, consistency_model::asp})
    if (m.model == config::to_string(model))
      return consistency_rule{model, m.staleness, m.staleness_aware};
  return make_error(errc::invalid_argument, "unknown consistency model \"" + m.model
                                              + "\": expected \"bsp\", \"ssp\" or \"asp\"");
}

std::string rule_name(const consistency_rule& rule) {
  std::string out = config::to_string(rule.model);
  if (rule.model == consistency_model::ssp) {
    // Appended piecewise: "(" + std::to_string(...) trips a false -Wrestrict in g++ 12.
    out += '(';
    out += std::to_string(rule.staleness);
    out += ')';
  }
  if (rule.staleness_aware && rule.model != consistency_model::bsp)
    out += " staleness-aware";
  return out;
}

bool versions_are_clocks(const config::job_config& cfg) {
  const auto& c = cfg.consistency;
  return c.switches.empty()
         && rule_of(c.model, c.staleness, c.staleness_aware).aggregates();
}

} // namespace herd::actors
