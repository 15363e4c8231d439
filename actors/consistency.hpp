// Consistency rules between their three forms: the config's, the shard's and the message's.
#pragma once

#include "actors/shard_state.hpp"
#include "config/job_config.hpp"
#include "messages/errc.hpp"
#include "messages/types.hpp"

namespace herd::actors {

consistency_rule rule_of(config::consistency_model model, int staleness, bool aware);
messages::consistency_msg to_message(const consistency_rule& rule);
/// Refuses unknown model names.
expected<consistency_rule> rule_from(const messages::consistency_msg& m);
/// "bsp", "ssp(3)", "asp" (+ " staleness-aware").
std::string rule_name(const consistency_rule& rule);
/// Whether the job's rule keeps every shard's version equal to the clock throughout (BSP, or
/// SSP with s = 0, and no switch planned): evaluations then read exactly their clock.
bool versions_are_clocks(const config::job_config& cfg);

} // namespace herd::actors
