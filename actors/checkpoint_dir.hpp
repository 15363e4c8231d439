// A job's hold on its checkpoint directory. Only one herd run writes checkpoints into a directory
// at a time: the supervisor's process holds an exclusive flock on `<dir>/.herd.lock` for the
// job's life (another run is refused at its start; the kernel lets go of the lock when a process
// dies). And a run does not start where checkpoints of an earlier run lie unless it resumes from
// that very directory: keeping the newest `keep` would prefer their higher clocks to its own, and
// a later --resume would take theirs.
#pragma once

#include <cstdint>
#include <string>

#include "messages/errc.hpp"

namespace herd::actors {

/// Holds `dir` for job `owner` (the supervisor's actor id) until release_checkpoint_dir(owner);
/// nothing when it holds it already. Creates `dir` where missing and removes the `ckpt-N.tmp`
/// that a failed write left. Refused with errc::config_invalid, leaving `dir` as it was, when
/// another herd run holds `dir`, or when `dir` holds checkpoints and `resumed_from` (the
/// directory the job resumes from; "" when none) is another directory.
caf::error hold_checkpoint_dir(uint64_t owner, const std::string& dir,
                               const std::string& resumed_from);

/// Whether job `owner` holds its checkpoint directory.
bool holds_checkpoint_dir(uint64_t owner);

/// Lets go of job `owner`'s directory: the lock file goes, and so do the directories
/// hold_checkpoint_dir created when nothing was written into them. Nothing when it holds none.
void release_checkpoint_dir(uint64_t owner);

} // namespace herd::actors
