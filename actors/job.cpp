#include "actors/job.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/node.hpp"
#include "actors/supervisor.hpp"
#include "messages/atoms.hpp"

namespace herd::actors {

expected<job_result> run_job_on(caf::actor_system& sys, const job_inputs& in,
                                std::map<std::string, caf::actor> nodes,
                                job_callbacks callbacks) {
  auto sup = spawn_supervisor(sys, in, std::move(nodes), std::move(callbacks));
  caf::scoped_actor self{sys};
  expected<job_result> out{make_error(errc::actor_failed, "the supervisor gave no result")};
  // The supervisor bounds every request it makes, so waiting for the whole job is safe.
  self->request(sup, caf::infinite, start_atom::value)
    .receive([&](job_result& r) { out = std::move(r); },
             [&](caf::error& err) { out = std::move(err); });
  return out;
}

expected<job_result> run_job(caf::actor_system& sys, const job_inputs& in,
                             job_callbacks callbacks) {
  node_setup setup;
  setup.name = in.cfg.nodes.front().name;
  setup.codecs = in.codecs;
  if (!setup.codecs)
    setup.codecs = std::make_shared<kernels::compress::codec_registry>(
      kernels::compress::default_codecs());
  setup.train = in.train;
  setup.job = in.cfg;
  setup.transfer = in.transfer;
  auto node = spawn_node(sys, std::move(setup));
  auto out = run_job_on(sys, in, {{in.cfg.nodes.front().name, node}}, std::move(callbacks));
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  return out;
}

} // namespace herd::actors
