#include "vae/flows/iaf.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace vk::vae::flows {

template <class T>
IafStep<T>::IafStep(ParameterStore<T>& store, const std::string& name, std::size_t dim, std::size_t hidden,
                    std::size_t context, bool reversed, Rng& rng)
    : dim_(dim), hidden_(hidden), context_(context), degree_(dim), mask_in_(dim * hidden), mask_out_(hidden * dim) {
  if (dim == 0 || hidden == 0) throw std::invalid_argument("an IAF step needs at least one column and one hidden unit");
  for (std::size_t j = 0; j < dim; ++j) degree_[j] = reversed ? dim - j : j + 1;
  // Hidden unit u has degree 1 + u mod (dim - 1): it sees the inputs of degree up to its own and
  // feeds the outputs above it (with one column, none: its output is a learned constant).
  for (std::size_t u = 0; u < hidden; ++u) {
    const std::size_t du = dim > 1 ? 1 + u % (dim - 1) : 0;
    for (std::size_t j = 0; j < dim; ++j) {
      mask_in_[j * hidden + u] = T(du >= degree_[j]);
      mask_out_[u * dim + j] = T(degree_[j] > du);
    }
  }
  w_in_ = store.add(name + ".in.weight", dim, hidden);
  b_in_ = store.add(name + ".in.bias", 1, hidden);
  if (context) w_context_ = store.add(name + ".context.weight", context, hidden);
  w_mean_ = store.add(name + ".mean.weight", hidden, dim);
  b_mean_ = store.add(name + ".mean.bias", 1, dim);
  w_s_ = store.add(name + ".gate.weight", hidden, dim);
  b_s_ = store.add(name + ".gate.bias", 1, dim);
  // The input layers as PyTorch's Linear starts; the heads at zero with the gate open (sigma =
  // sigmoid(2) = 0.88, Kingma et al.'s positive gate bias): a new step nearly keeps z.
  const T bound_in = T(1 / std::sqrt(double(dim + context)));
  fill_uniform<T>(rng, std::span<T>(store.value_data(w_in_), dim * hidden), -bound_in, bound_in);
  if (context) fill_uniform<T>(rng, std::span<T>(store.value_data(*w_context_), context * hidden), -bound_in, bound_in);
  std::fill_n(store.value_data(b_s_), dim, T(2));
}

template <class T>
Var<T> IafStep<T>::masked(ParameterStore<T>& store, Var<T> x, ParamId w, ParamId b, const std::vector<T>& mask) const {
  Tape<T>& t = *x.tape;
  const auto& e = store.entry(w);
  return linear(x, mul(t.param(store, w), t.constant(mask.data(), e.rows, e.cols)), t.param(store, b));
}

template <class T>
typename IafStep<T>::Gate IafStep<T>::made(ParameterStore<T>& store, Var<T> z, std::optional<Var<T>> context) const {
  if (z.cols() != dim_) throw std::invalid_argument(fmt::format("an IAF step of {} columns got {}", dim_, z.cols()));
  if (context_ != (context ? context->cols() : 0))
    throw std::invalid_argument(fmt::format("an IAF step takes a context of {} columns, got {}", context_,
                                            context ? context->cols() : 0));
  Var<T> pre = masked(store, z, w_in_, b_in_, mask_in_);
  if (context) pre = add(pre, matmul(*context, z.tape->param(store, *w_context_)));
  Var<T> h = elu(pre);
  return {masked(store, h, w_mean_, b_mean_, mask_out_), masked(store, h, w_s_, b_s_, mask_out_)};
}

template <class T>
Pushed<T> IafStep<T>::forward(ParameterStore<T>& store, Var<T> z, std::optional<Var<T>> context) const {
  const Gate g = made(store, z, context);
  Var<T> sigma = sigmoid(g.s);
  // m + sigma (z - m): Kingma et al.'s numerically stable update; log sigma = -softplus(-s).
  return {add(g.mean, mul(sigma, sub(z, g.mean))), scale(sum(softplus(scale(g.s, T(-1))), 1), T(-1))};
}

template <class T>
Pushed<T> IafStep<T>::inverse(ParameterStore<T>& store, Var<T> y, std::optional<Var<T>> context) const {
  // z = m + (y - m) / sigma, where m and sigma of column j depend on the columns before it: after
  // pass p the first p columns in the step's order are exact.
  Var<T> z = zeros(*y.tape, y.rows(), dim_);
  for (std::size_t pass = 0; pass < dim_; ++pass) {
    const Gate g = made(store, z, context);
    z = add(g.mean, div(sub(y, g.mean), sigmoid(g.s)));
  }
  return {z, scale(forward(store, z, context).log_det, T(-1))};
}

template class IafStep<float>;
template class IafStep<double>;

}  // namespace vk::vae::flows
