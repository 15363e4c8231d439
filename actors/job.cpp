#include "actors/job.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/supervisor.hpp"
#include "messages/atoms.hpp"

namespace herd::actors {

expected<job_result> run_job(caf::actor_system& sys, const job_inputs& in,
                             job_callbacks callbacks) {
  auto sup = spawn_supervisor(sys, in, std::move(callbacks));
  caf::scoped_actor self{sys};
  expected<job_result> out{make_error(errc::actor_failed, "the supervisor gave no result")};
  // The supervisor bounds every request it makes, so waiting for the whole job is safe.
  self->request(sup, caf::infinite, start_atom::value)
    .receive([&](job_result& r) { out = std::move(r); },
             [&](caf::error& err) { out = std::move(err); });
  return out;
}

} // namespace herd::actors
