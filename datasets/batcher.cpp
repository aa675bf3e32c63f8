#include "datasets/batcher.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "autodiff/parallel.hpp"

namespace vk::data {

template <class T>
Batcher<T>::Batcher(const ImageSet& set, BatchOptions options)
    : options_(options),
      bytes_(set.pixels.data()),
      source_labels_(set.labels),
      count_(set.count),
      dim_(set.dim()),
      classes_(set.classes) {
  if (set.pixels.size() != count_ * dim_ || set.labels.size() != count_)
    throw DataError(fmt::format("Batcher: inconsistent ImageSet: count {} and {} images but {} pixels and {} labels",
                                count_, set.shape().text(), set.pixels.size(), set.labels.size()));
  allocate();
}

template <class T>
Batcher<T>::Batcher(const Matrix<double>& x, std::span<const std::uint8_t> labels, std::size_t classes,
                    BatchOptions options)
    : options_(options),
      reals_(x.data()),
      source_labels_(labels),
      count_(x.shape(0)),
      dim_(x.shape(1)),
      classes_(classes) {
  if (!labels.empty() && labels.size() != count_)
    throw DataError(fmt::format("Batcher: {} labels for {} rows", labels.size(), count_));
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= classes)
      throw DataError(fmt::format("Batcher: label {} at row {} is out of range (classes = {})", labels[i], i, classes));
  allocate();
}

template <class T>
void Batcher<T>::allocate() {
  const std::size_t b = options_.batch;
  if (b == 0) throw DataError("Batcher: batch size must be positive");
  if (options_.dequantize != Dequantize::none && options_.binarize != Binarize::none)
    throw DataError("Batcher: images are binarized or dequantized, not both");
  if (count_ == 0) throw DataError("Batcher: the data set is empty");
  if (options_.drop_last && count_ < b)
    throw DataError(fmt::format("Batcher: with drop_last, a batch of {} leaves no batch from {} rows", b, count_));
  if (options_.shards == 0 || options_.shard >= options_.shards)
    throw DataError(fmt::format("Batcher: shard {} of {} does not exist", options_.shard, options_.shards));
  order_.resize(count_);
  std::iota(order_.begin(), order_.end(), 0);
  const std::size_t full = count_ >= b ? shard_rows(b) : 0;
  const std::size_t tail = options_.drop_last ? 0 : shard_rows(count_ % b);
  const std::size_t y_cols = source_labels_.empty() ? 0 : classes_;
  x_ = Matrix<T>::from_shape({full, dim_});
  y_ = Matrix<T>::from_shape({full, y_cols});
  x_tail_ = Matrix<T>::from_shape({tail, dim_});
  y_tail_ = Matrix<T>::from_shape({tail, y_cols});
  labels_.resize(source_labels_.empty() ? 0 : shard_rows(b));
  for (std::size_t v = 0; v < 256; ++v) {
    byte_to_value_[v] = T(v) / T(255);
    byte_threshold_[v] = bernoulli_threshold(std::uint8_t(v));
  }
}

template <class T>
std::size_t Batcher<T>::batches_per_epoch() const {
  return options_.drop_last ? count_ / options_.batch : (count_ + options_.batch - 1) / options_.batch;
}

template <class T>
void Batcher<T>::start_epoch() {
  in_epoch_ = false;
}

template <class T>
BatcherState Batcher<T>::state() const {
  return {start_, size_, epoch_, in_epoch_};
}

template <class T>
void Batcher<T>::restore(const BatcherState& s) {
  // start + size > count_ would wrap for a start near 2^64 and pass.
  if (s.start > count_ || s.size > count_ - s.start || s.size > options_.batch || (s.in_epoch && s.epoch == 0))
    throw DataError(fmt::format("Batcher: a saved position (rows {} to {} of epoch {}) does not fit a set of {} in batches of {}",
                                s.start, s.start + s.size, s.epoch, count_, options_.batch));
  epoch_ = s.epoch;
  if (epoch_ > 0) shuffle_for_epoch();
  start_ = s.start;
  size_ = s.size;
  in_epoch_ = s.in_epoch;
  tail_ = size_ < options_.batch;
  first_ = start_ + shard_begin(size_);
  rows_ = shard_rows(size_);
}

template <class T>
void Batcher<T>::shuffle_for_epoch() {
  // Each epoch's order and noise are functions of (seed, epoch) alone, not of the epochs before.
  const std::uint64_t epoch_key = key_of(options_.seed, epoch_);
  noise_key_ = key_of(epoch_key, 0x5DEECE66DULL);
  if (!options_.shuffle) return;
  std::iota(order_.begin(), order_.end(), 0);
  Rng rng(epoch_key);
  shuffle_indices(order_, rng);
}

template <class T>
bool Batcher<T>::next() {
  std::size_t start = start_ + size_;
  if (!in_epoch_) {
    start = 0;
    in_epoch_ = true;
    ++epoch_;
    shuffle_for_epoch();
  }
  const std::size_t remaining = count_ - start;
  if (remaining == 0 || (options_.drop_last && remaining < options_.batch)) {
    in_epoch_ = false;
    return false;
  }
  start_ = start;
  size_ = std::min(options_.batch, remaining);
  tail_ = size_ < options_.batch;
  first_ = start_ + shard_begin(size_);
  rows_ = shard_rows(size_);
  fill(tail_ ? x_tail_ : x_, tail_ ? y_tail_ : y_);
  return true;
}

template <class T>
void Batcher<T>::fill(Matrix<T>& x, Matrix<T>& y) {
  constexpr double two_m32 = 1.0 / 4294967296.0, two_m53 = 1.0 / 9007199254740992.0;
  // Rows over the pool: each row's draws are keyed by its example, so any split gives the same
  // bits, and the other core would otherwise wait through this part of every step.
  auto fill_rows = [&](std::size_t first_row, std::size_t end_row) {
    for (std::size_t r = first_row; r < end_row; ++r) {
      const std::size_t row = order_[first_ + r];
      T* dst = x.data() + r * dim_;
      const std::uint64_t key = static_row_key(options_.binarize_seed, row);
      const std::uint64_t dynamic_key = key_of(noise_key_, row);
      if (bytes_) {
        const std::uint8_t* src = bytes_ + row * dim_;
        switch (options_.binarize) {
          case Binarize::none:
            if (options_.dequantize == Dequantize::none) {
              for (std::size_t j = 0; j < dim_; ++j) dst[j] = byte_to_value_[src[j]];
            } else {
              // u = (bits + 1/2) / 2^32 lies strictly inside (0, 1), and so does x.
              const bool fixed = options_.dequantize == Dequantize::static_;
              for (std::size_t j = 0; j < dim_; ++j) {
                const std::uint64_t bits = static_draw(fixed ? key : dynamic_key, j);
                dst[j] = T((double(src[j]) + (double(bits) + 0.5) * two_m32) / 256.0);
              }
            }
            break;
          case Binarize::static_:
            for (std::size_t j = 0; j < dim_; ++j) dst[j] = T(static_draw(key, j) < byte_threshold_[src[j]]);
            break;
          case Binarize::dynamic:
            // One 64-bit draw gives two 32-bit uniforms, plenty of resolution for p = v/255.
            for (std::size_t j = 0; j < dim_; j += 2) {
              const std::uint64_t bits = keyed_bits(dynamic_key, j);
              dst[j] = T((bits & 0xFFFFFFFFu) < byte_threshold_[src[j]]);
              if (j + 1 < dim_) dst[j + 1] = T((bits >> 32) < byte_threshold_[src[j + 1]]);
            }
            break;
        }
      } else {
        const double* src = reals_ + row * dim_;
        switch (options_.binarize) {
          case Binarize::none:
            for (std::size_t j = 0; j < dim_; ++j) dst[j] = T(src[j]);
            break;
          case Binarize::static_:
            for (std::size_t j = 0; j < dim_; ++j) dst[j] = T(static_draw(key, j) * two_m32 < std::clamp(src[j], 0.0, 1.0));
            break;
          case Binarize::dynamic:
            for (std::size_t j = 0; j < dim_; ++j)
              dst[j] = T(double(keyed_bits(dynamic_key, j) >> 11) * two_m53 < std::clamp(src[j], 0.0, 1.0));
            break;
        }
      }
    }
  };
  parallel::for_rows(rows_, dim_, fill_rows);
  if (source_labels_.empty()) return;
  std::fill(y.begin(), y.end(), T(0));
  for (std::size_t r = 0; r < rows_; ++r) {
    labels_[r] = source_labels_[order_[first_ + r]];
    y(r, labels_[r]) = T(1);
  }
}

template class Batcher<float>;
template class Batcher<double>;

}  // namespace vk::data
