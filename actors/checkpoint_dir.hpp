// A job's hold on its checkpoint directory. Only one herd run writes checkpoints into a directory
// at a time: the supervisor's process holds an exclusive flock on `<dir>/.herd.lock` for the
// job's life (another run is refused at its start; the kernel lets go of the lock when a process
// dies). And a run does not start where checkpoints of an earlier run lie unless it resumes from
// that very directory: keeping the newest `keep` would prefer their higher clocks to its own, and
// a later --resume would take theirs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/errc.hpp"

namespace herd::actors {

/// A held checkpoint directory: the lock file's descriptor and the directories made for it.
/// Lets go when destroyed or released (one owner: the job's supervisor state).
class checkpoint_dir_lock {
public:
  checkpoint_dir_lock() = default;
  checkpoint_dir_lock(const checkpoint_dir_lock&) = delete;
  checkpoint_dir_lock& operator=(const checkpoint_dir_lock&) = delete;
  ~checkpoint_dir_lock() { release(); }

  bool held() const { return fd_ >= 0; }
  /// The lock file goes, and so do the directories made for it when nothing was written there.
  void release();

private:
  friend caf::error hold_checkpoint_dir(checkpoint_dir_lock&, const std::string&,
                                        const std::string&);
  std::string lock_;                 // the lock file
  int fd_ = -1;
  std::vector<std::string> created_; // directories made for it, deepest first
};

/// Holds `dir` in `lock` (nothing when `lock` holds a directory already). Creates `dir` where
/// missing and removes the `ckpt-N.tmp` that a failed write left. Refused with
/// errc::config_invalid, leaving `dir` as it was, when another herd run (or job) holds `dir`,
/// or when `dir` holds checkpoints and `resumed_from` (the directory the job resumes from; ""
/// when none) is another directory.
caf::error hold_checkpoint_dir(checkpoint_dir_lock& lock, const std::string& dir,
                               const std::string& resumed_from);

} // namespace herd::actors
