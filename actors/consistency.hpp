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
/// Whether the job's rule aggregates rounds throughout (BSP, or SSP with s = 0, and no switch
/// planned): the shards then know which clock their parameters are of, and evaluations read
/// exactly their clock. (The versions equal the clocks too, unless a round no member pushed
/// to passed: shard_state::keep_every.)
bool versions_are_clocks(const config::job_config& cfg);

} // namespace herd::actors
