// Mini-batches for training and evaluation: contiguous row-major [batch, dim] matrices ready for
// GEMM, drawn from an ImageSet (bytes, converted to [0,1] when drawn) or a real-valued matrix.
//
//   Batcher<float> batches(train, {.batch = 128, .seed = 1, .binarize = Binarize::dynamic});
//   for (int epoch = 0; epoch < epochs; ++epoch)
//     while (batches.next()) step(batches.x(), batches.y_onehot());
//
// Allocation: every buffer is sized in the constructor; next() allocates nothing. A full batch is
// always written into the same matrices. When drop_last is false and the set size is not a multiple
// of the batch, the last batch of each epoch is written into a second, smaller pair of matrices
// (also allocated once), so x() always has exactly size() rows.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <xtensor/xbuilder.hpp>

#include "autodiff/random.hpp"
#include "autodiff/tensor.hpp"
#include "datasets/mnist.hpp"

namespace vk::data {

enum class Binarize {
  none,     // pixel / 255
  static_,  // one draw per pixel fixed by binarize_seed: same as binarize_static(set, binarize_seed)
  dynamic,  // a fresh Bernoulli(pixel / 255) draw for every batch
};

// Pixels of 8-bit images as a density's data: x = (v + u) / 256 with u ~ U(0, 1), so that a density
// of x in [0, 1]^d is, up to d ln 256, one of the discrete pixels (Theis et al. 2016).
enum class Dequantize {
  none,
  static_,  // u fixed for each (binarize_seed, image, pixel): the same values on every pass
  dynamic,  // a fresh u for every batch
};

struct BatchOptions {
  std::size_t batch = 128;
  std::uint64_t seed = 0;  // order of the shuffled epochs and the dynamic draws, keyed by (seed, epoch, row)
  Binarize binarize = Binarize::none;
  bool shuffle = true;     // false: a sequential pass in index order, for evaluation
  bool drop_last = false;  // true: skip the last partial batch, so every batch has `batch` rows
  std::uint64_t binarize_seed = 0;  // the fixed draws of Binarize::static_ and Dequantize::static_
  Dequantize dequantize = Dequantize::none;  // of byte images; only with Binarize::none
  // This process's part of every batch: of a batch of m rows, rows [m s / n, m (s + 1) / n) with
  // s = shard, n = shards (a rank's part of the global batch of data-parallel training).
  std::size_t shard = 0, shards = 1;
};

// Where a batcher is in its passes: enough to draw exactly the batches it would have drawn next.
// An epoch's order and noise are functions of (seed, epoch), so this is a position, and any
// shard of the same batches continues from it.
struct BatcherState {
  std::size_t start = 0, size = 0, epoch = 0;  // the batch of the whole [start, start + size) was drawn
  bool in_epoch = false;
};

template <class T>
class Batcher {
 public:
  // Batches of `set`, which must outlive the batcher (it is read, not copied).
  Batcher(const ImageSet& set, BatchOptions options);
  Batcher(ImageSet&&, BatchOptions) = delete;

  // Batches of the rows of a real-valued matrix (e.g. synthetic data), copied into T as they are;
  // binarization treats values as probabilities, clamped to [0,1]. `labels` may be empty (then
  // classes should be 0 and y_onehot() has no columns); otherwise one label < classes per row.
  // `x` and `labels` must outlive the batcher.
  Batcher(const Matrix<double>& x, std::span<const std::uint8_t> labels, std::size_t classes,
          BatchOptions options);
  Batcher(Matrix<double>&&, std::span<const std::uint8_t>, std::size_t, BatchOptions) = delete;

  // Fills this shard's part of the next batch. Returns false once after the last batch of an epoch (leaving x() as it
  // was); the call after that begins a new epoch, reshuffled when shuffling.
  bool next();
  // Abandons the current epoch; the next call to next() draws the first batch of a new one.
  void start_epoch();

  BatcherState state() const;
  // Continues from a state of a batcher over the same data and options; the batch it was on is
  // not refilled (the next call to next() draws the one after it). Throws DataError if the state
  // does not fit.
  void restore(const BatcherState& state);

  const Matrix<T>& x() const { return tail_ ? x_tail_ : x_; }                 // [size(), dim()]
  const Matrix<T>& y_onehot() const { return tail_ ? y_tail_ : y_; }          // [size(), classes()]
  std::span<const std::uint8_t> labels() const { return {labels_.data(), labels_.empty() ? 0 : rows_}; }
  std::span<const std::size_t> indices() const { return {order_.data() + first_, rows_}; }  // rows of the set

  std::size_t size() const { return rows_; }         // rows of this shard's part of the current batch
  std::size_t global_size() const { return size_; }  // rows of the whole batch, over every shard
  std::size_t global_end() const { return start_ + size_; }  // rows of the epoch drawn so far, every shard's
  std::size_t batches_per_epoch() const;
  std::size_t epoch() const { return epoch_; }  // epochs begun so far
  std::size_t count() const { return count_; }
  std::size_t dim() const { return dim_; }
  std::size_t classes() const { return classes_; }
  const BatchOptions& options() const { return options_; }

 private:
  void allocate();
  void fill(Matrix<T>& x, Matrix<T>& y);
  void shuffle_for_epoch();
  std::size_t shard_begin(std::size_t batch_rows) const { return batch_rows * options_.shard / options_.shards; }
  std::size_t shard_rows(std::size_t batch_rows) const {
    return batch_rows * (options_.shard + 1) / options_.shards - shard_begin(batch_rows);
  }

  BatchOptions options_;
  const std::uint8_t* bytes_ = nullptr;  // exactly one of bytes_ and reals_ is set
  const double* reals_ = nullptr;
  std::span<const std::uint8_t> source_labels_;
  std::size_t count_ = 0, dim_ = 0, classes_ = 0;

  std::vector<std::size_t> order_;
  std::uint64_t noise_key_ = 0;  // of this epoch's dynamic draws
  std::size_t start_ = 0, size_ = 0, epoch_ = 0;  // the whole batch
  std::size_t first_ = 0, rows_ = 0;              // this shard's part of it, in order_
  bool in_epoch_ = false, tail_ = false;

  Matrix<T> x_, y_, x_tail_, y_tail_;
  std::vector<std::uint8_t> labels_;
  std::array<T, 256> byte_to_value_{};              // v / 255
  std::array<std::uint64_t, 256> byte_threshold_{};  // bernoulli_threshold(v)
};

extern template class Batcher<float>;
extern template class Batcher<double>;

// One-hot rows [labels.size(), classes] of integer labels (each < classes).
template <class T>
Matrix<T> one_hot(std::span<const std::uint8_t> labels, std::size_t classes) {
  Matrix<T> y = xt::zeros<T>({labels.size(), classes});
  for (std::size_t i = 0; i < labels.size(); ++i) y(i, labels[i]) = T(1);
  return y;
}

}  // namespace vk::data
