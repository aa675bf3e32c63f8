#include "datasets/batcher.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

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
    throw DataError(fmt::format("Batcher: inconsistent ImageSet: count {} and {}x{} images but {} pixels and {} labels",
                                count_, set.rows, set.cols, set.pixels.size(), set.labels.size()));
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
  order_.resize(count_);
  std::iota(order_.begin(), order_.end(), 0);
  order_rng_.seed(options_.seed);
  noise_rng_.seed(mix64(options_.seed ^ 0x5DEECE66DULL));
  const std::size_t full = count_ >= b ? b : 0;
  const std::size_t tail = options_.drop_last ? 0 : count_ % b;
  const std::size_t y_cols = source_labels_.empty() ? 0 : classes_;
  x_ = Matrix<T>::from_shape({full, dim_});
  y_ = Matrix<T>::from_shape({full, y_cols});
  x_tail_ = Matrix<T>::from_shape({tail, dim_});
  y_tail_ = Matrix<T>::from_shape({tail, y_cols});
  labels_.resize(source_labels_.empty() ? 0 : b);
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
  return {state_text(order_rng_), state_text(noise_rng_), order_, start_, size_, epoch_, in_epoch_};
}

template <class T>
void Batcher<T>::restore(const BatcherState& s) {
  if (s.order.size() != count_ || s.start + s.size > count_ || s.size > options_.batch)
    throw DataError(fmt::format("Batcher: a saved state of {} rows does not fit a set of {}", s.order.size(), count_));
  std::vector<bool> seen(count_, false);
  for (std::size_t i : s.order) {
    if (i >= count_ || seen[i]) throw DataError("Batcher: a saved order is not a permutation of the rows");
    seen[i] = true;
  }
  try {
    restore_state(order_rng_, s.order_rng);
    restore_state(noise_rng_, s.noise_rng);
  } catch (const std::invalid_argument& e) {
    throw DataError(std::string("Batcher: saved generator: ") + e.what());
  }
  std::copy(s.order.begin(), s.order.end(), order_.begin());
  start_ = s.start;
  size_ = s.size;
  epoch_ = s.epoch;
  in_epoch_ = s.in_epoch;
  tail_ = size_ < options_.batch;
}

template <class T>
bool Batcher<T>::next() {
  std::size_t start = start_ + size_;
  if (!in_epoch_) {
    if (options_.shuffle) shuffle_indices(order_, order_rng_);
    start = 0;
    in_epoch_ = true;
    ++epoch_;
  }
  const std::size_t remaining = count_ - start;
  if (remaining == 0 || (options_.drop_last && remaining < options_.batch)) {
    in_epoch_ = false;
    return false;
  }
  start_ = start;
  size_ = std::min(options_.batch, remaining);
  tail_ = size_ < options_.batch;
  fill(tail_ ? x_tail_ : x_, tail_ ? y_tail_ : y_);
  return true;
}

template <class T>
void Batcher<T>::fill(Matrix<T>& x, Matrix<T>& y) {
  constexpr double two_m32 = 1.0 / 4294967296.0, two_m53 = 1.0 / 9007199254740992.0;
  for (std::size_t r = 0; r < size_; ++r) {
    const std::size_t row = order_[start_ + r];
    T* dst = x.data() + r * dim_;
    const std::uint64_t key = static_row_key(options_.binarize_seed, row);
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
              const std::uint64_t bits = fixed ? static_draw(key, j) : (noise_rng_() >> 32);
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
            std::uint64_t bits = noise_rng_();
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
            dst[j] = T(double(noise_rng_() >> 11) * two_m53 < std::clamp(src[j], 0.0, 1.0));
          break;
      }
    }
  }
  if (source_labels_.empty()) return;
  std::fill(y.begin(), y.end(), T(0));
  for (std::size_t r = 0; r < size_; ++r) {
    labels_[r] = source_labels_[order_[start_ + r]];
    y(r, labels_[r]) = T(1);
  }
}

template class Batcher<float>;
template class Batcher<double>;

}  // namespace vk::data
