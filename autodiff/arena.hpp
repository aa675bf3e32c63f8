// A bump allocator for the values and gradients of a tape's intermediates.
//
// A training step records the same ops with the same shapes every time, so after the first
// step the arena is one block large enough for the whole step and rewinding it makes the next
// step allocate nothing. Blocks never move while a step runs: pointers stay valid until rewind.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace vk {

template <class T>
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() {
    for (Block& b : blocks_) release(b);
  }

  // Uninitialised storage for n values, 64-byte aligned.
  T* allocate(std::size_t n) {
    n = (n + kAlign - 1) / kAlign * kAlign;
    if (blocks_.empty() || used_ + n > blocks_.back().capacity) {
      std::size_t grow = blocks_.empty() ? kFirstBlock : 2 * blocks_.back().capacity;
      blocks_.push_back(Block{acquire(std::max(n, grow)), std::max(n, grow)});
      used_ = 0;
    }
    T* p = blocks_.back().data + used_;
    used_ += n;
    return p;
  }

  // Forgets every allocation. If the last step needed several blocks they are merged into one,
  // so the next step of the same size fits without allocating.
  void rewind() {
    if (blocks_.size() > 1) {
      std::size_t total = 0;
      for (Block& b : blocks_) {
        total += b.capacity;
        release(b);
      }
      blocks_.clear();
      blocks_.push_back(Block{acquire(total), total});
    }
    used_ = 0;
  }

  std::size_t capacity() const {
    std::size_t total = 0;
    for (const Block& b : blocks_) total += b.capacity;
    return total;
  }

 private:
  static constexpr std::size_t kAlign = 64 / sizeof(T) > 0 ? 64 / sizeof(T) : 1;
  static constexpr std::size_t kFirstBlock = std::size_t(1) << 16;

  struct Block {
    T* data;
    std::size_t capacity;
  };

  static T* acquire(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64)));
  }
  static void release(Block& b) { ::operator delete(b.data, std::align_val_t(64)); }

  std::vector<Block> blocks_;
  std::size_t used_ = 0;
};

}  // namespace vk
