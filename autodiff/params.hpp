// Named parameters whose values and gradients live in two flat arrays (one loop serves an
// optimizer, a norm or a checkpoint), with hierarchical names such as "encoder.0.weight".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "autodiff/parallel.hpp"
#include "autodiff/tensor.hpp"

namespace vk {

struct ParamId {
  std::uint32_t index = 0;
};

template <class T>
class ParameterStore {
 public:
  struct Entry {
    std::string name;
    std::size_t offset;
    std::size_t rows;
    std::size_t cols;
    std::size_t size() const { return rows * cols; }
  };

  // Adds a zero-initialised [rows, cols] parameter. Pointers and views taken earlier are
  // invalidated, so register everything before training starts.
  ParamId add(std::string name, std::size_t rows, std::size_t cols) {
    if (find(name)) throw std::invalid_argument("parameter '" + name + "' is registered twice");
    if (rows == 0 || cols == 0)
      throw std::invalid_argument("parameter '" + name + "' has an empty shape");
    entries_.push_back({std::move(name), values_.size(), rows, cols});
    values_.resize(values_.size() + rows * cols, T(0));
    grads_.resize(values_.size(), T(0));
    return {std::uint32_t(entries_.size() - 1)};
  }

  const Entry& entry(ParamId id) const { return entries_.at(id.index); }
  const std::vector<Entry>& entries() const { return entries_; }
  std::size_t count() const { return entries_.size(); }
  std::size_t size() const { return values_.size(); }  // scalars in all parameters

  std::optional<ParamId> find(std::string_view name) const {
    for (std::size_t i = 0; i < entries_.size(); ++i)
      if (entries_[i].name == name) return ParamId{std::uint32_t(i)};
    return std::nullopt;
  }

  T* value_data(ParamId id) { return values_.data() + entry(id).offset; }
  T* grad_data(ParamId id) { return grads_.data() + entry(id).offset; }
  const T* value_data(ParamId id) const { return values_.data() + entry(id).offset; }
  const T* grad_data(ParamId id) const { return grads_.data() + entry(id).offset; }

  MatrixView<T> value(ParamId id) {
    const Entry& e = entry(id);
    return view(values_.data() + e.offset, e.rows, e.cols);
  }
  MatrixView<T> grad(ParamId id) {
    const Entry& e = entry(id);
    return view(grads_.data() + e.offset, e.rows, e.cols);
  }

  std::span<T> values() { return values_; }
  std::span<T> grads() { return grads_; }
  std::span<const T> values() const { return values_; }
  std::span<const T> grads() const { return grads_; }

  void zero_grad() {
    auto zero = [g = grads_.data()](std::size_t b, std::size_t e) { std::fill(g + b, g + e, T(0)); };
    parallel::for_range(grads_.size(), zero);
  }

  // f(const Entry&, MatrixView<T> value, MatrixView<T> grad) for every parameter, in order.
  template <class F>
  void for_each(F&& f) {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      const Entry& e = entries_[i];
      f(e, view(values_.data() + e.offset, e.rows, e.cols),
        view(grads_.data() + e.offset, e.rows, e.cols));
    }
  }

 private:
  std::vector<Entry> entries_;
  std::vector<T> values_;
  std::vector<T> grads_;
};

}  // namespace vk
