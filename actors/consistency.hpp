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

} // namespace herd::actors
