#include "data/dispenser.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "data/permutation.hpp"

namespace herd::data {

dispenser::dispenser(size_t samples, size_t chunk_size, uint64_t seed, uint32_t epochs)
  : samples_(samples), chunk_size_(chunk_size), seed_(seed), epochs_(epochs) {
  if (chunk_size == 0)
    throw std::invalid_argument("dispenser: chunk_size must be at least 1");
  if (samples > (uint64_t{1} << 32))
    throw std::invalid_argument("dispenser: " + std::to_string(samples)
                                + " samples exceed the 2^32 an index can address");
  if (samples == 0)
    epoch_ = epochs_; // nothing to hand out: finished from the start
}

std::optional<chunk> dispenser::next(uint64_t worker) {
  chunk c;
  if (!waiting_.empty()) {
    c = std::move(waiting_.front());
    waiting_.pop_front();
  } else {
    if (samples_ == 0 || !epochs_left())
      return std::nullopt;
    if (pos_ == 0)
      perm_ = epoch_permutation(samples_, seed_, epoch_);
    const size_t n = std::min(chunk_size_, samples_ - pos_);
    c.id = next_id_++;
    c.epoch = epoch_;
    c.indices.assign(perm_.begin() + static_cast<std::ptrdiff_t>(pos_),
                     perm_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
    if (pos_ == samples_) {
      pos_ = 0;
      ++epoch_;
      perm_.clear();
    }
  }
  outstanding_.emplace(c.id, held{worker, c});
  return c;
}

void dispenser::done(uint64_t worker, uint64_t chunk_id) {
  auto i = outstanding_.find(chunk_id);
  if (i == outstanding_.end() || i->second.worker != worker)
    return;
  samples_done_ += i->second.c.indices.size();
  outstanding_.erase(i);
}

void dispenser::consumed(uint64_t worker, uint64_t chunk_id, size_t samples) {
  auto i = outstanding_.find(chunk_id);
  if (i == outstanding_.end() || i->second.worker != worker || samples == 0)
    return;
  auto& indices = i->second.c.indices;
  if (samples >= indices.size())
    return done(worker, chunk_id);
  samples_done_ += samples;
  indices.erase(indices.begin(), indices.begin() + static_cast<std::ptrdiff_t>(samples));
}

std::vector<uint64_t> dispenser::held_by(uint64_t worker) const {
  std::vector<uint64_t> ids;
  for (const auto& [id, h] : outstanding_)
    if (h.worker == worker)
      ids.push_back(id);
  return ids;
}

size_t dispenser::reclaim(uint64_t worker) {
  std::vector<chunk> back;
  for (auto i = outstanding_.begin(); i != outstanding_.end();) {
    if (i->second.worker == worker) {
      back.push_back(std::move(i->second.c));
      i = outstanding_.erase(i);
    } else {
      ++i;
    }
  }
  waiting_.insert(waiting_.begin(), std::make_move_iterator(back.begin()),
                  std::make_move_iterator(back.end()));
  return back.size();
}

dispenser_position dispenser::position() const {
  dispenser_position p;
  p.epoch = epoch_;
  p.pos = pos_;
  p.next_id = next_id_;
  p.samples_done = samples_done_;
  p.waiting.assign(waiting_.begin(), waiting_.end());
  for (const auto& [id, h] : outstanding_)
    p.outstanding.emplace_back(h.worker, h.c);
  return p;
}

void dispenser::restore(const dispenser_position& p) {
  epoch_ = p.epoch;
  pos_ = static_cast<size_t>(p.pos);
  next_id_ = p.next_id;
  samples_done_ = p.samples_done;
  perm_.clear();
  if (pos_ > 0)
    perm_ = epoch_permutation(samples_, seed_, epoch_);
  waiting_.assign(p.waiting.begin(), p.waiting.end());
  outstanding_.clear();
  for (const auto& [worker, c] : p.outstanding)
    outstanding_.emplace(c.id, held{worker, c});
}

bool dispenser::finished() const {
  return !epochs_left() && waiting_.empty() && outstanding_.empty();
}

} // namespace herd::data
