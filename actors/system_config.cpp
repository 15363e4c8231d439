#include "actors/system_config.hpp"

#include <algorithm>
#include <thread>

#include <caf/atom.hpp>

#include "messages/errc.hpp"
#include "messages/pipeline.hpp"
#include "messages/specs.hpp"
#include "messages/types.hpp"

namespace herd::actors {

system_config::system_config() {
  add_message_type<messages::payload>("herd::payload");
  add_message_type<messages::data_chunk>("herd::data_chunk");
  add_message_type<messages::step_report>("herd::step_report");
  add_message_type<messages::eval_report>("herd::eval_report");
  add_message_type<messages::shard_stats>("herd::shard_stats");
  add_message_type<messages::eval_request>("herd::eval_request");
  add_message_type<messages::consistency_msg>("herd::consistency_msg");
  add_message_type<messages::shard_spec>("herd::shard_spec");
  add_message_type<messages::worker_spec>("herd::worker_spec");
  add_message_type<messages::ctl_request>("herd::ctl_request");
  add_message_type<messages::peer>("herd::peer");
  add_message_type<messages::worker_place>("herd::worker_place");
  add_message_type<messages::stage_activations>("herd::stage_activations");
  add_message_type<messages::stage_deltas>("herd::stage_deltas");
  add_message_type<messages::stage_commit>("herd::stage_commit");
  add_message_type<std::vector<messages::peer>>("std::vector<herd::peer>");
  add_message_type<std::vector<uint64_t>>("std::vector<uint64_t>");
  add_message_type<std::vector<uint32_t>>("std::vector<uint32_t>");
  add_error_category(herd_error_category,
                     [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                       std::string out = to_string(static_cast<errc>(code));
                       if (ctx.size() == 1 && ctx.match_element<std::string>(0))
                         out += ": " + ctx.get_as<std::string>(0);
                       return out;
                     });
  // Workers and the evaluator run on their own (detached) threads; the scheduler only moves
  // messages, so it gets no more threads than cores (CAF's default is max(4, cores)).
  auto cores = std::max(1u, std::thread::hardware_concurrency());
  set("scheduler.max-threads", static_cast<size_t>(std::min(cores, 4u)));
  // Sharing (one queue) instead of work stealing: no 10 ms back-off sleeps between steps.
  set("scheduler.policy", caf::atom("sharing"));
  // Messages from other processes are deserialized on the middleman's own thread instead of
  // being handed to a separate BASP worker thread first (CAF's default: 1 such thread here).
  // One thread hand-off less per remote message: the two-process job measured 28,000-30,400
  // samples/s against 24,600-25,900 with the default (docs/performance.md).
  set("middleman.workers", size_t{0});
  // A peer that stops answering without closing its connection (a frozen process, a cable
  // pulled: no FIN, no RST) is dropped after connection-timeout without data: every connection
  // carries a heartbeat a second. A frozen `herd run` pinned its daemons for good before.
  set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds(1)});
  set("middleman.connection-timeout", caf::timespan{peer_silence_limit});
}

} // namespace herd::actors
