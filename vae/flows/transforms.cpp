#include "vae/flows/transforms.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

namespace vk::vae::flows {
namespace {

// The [rows, d] values of a node in double, for the solves that stay off the tape.
template <class T>
std::vector<double> values_of(Var<T> v) {
  const T* p = v.node().value;
  return std::vector<double>(p, p + v.rows() * v.cols());
}

}  // namespace

// --- Permutation ---

template <class T>
Permutation<T>::Permutation(std::vector<std::uint32_t> order) : order_(std::move(order)), inverse_(order_.size()) {
  std::vector<bool> seen(order_.size(), false);
  for (std::size_t j = 0; j < order_.size(); ++j) {
    if (order_[j] >= order_.size() || seen[order_[j]])
      throw std::invalid_argument(fmt::format("a flow's permutation must hold each of its {} columns once", order_.size()));
    seen[order_[j]] = true;
    inverse_[order_[j]] = std::uint32_t(j);
  }
}

template <class T>
Permutation<T> Permutation<T>::random(std::size_t dim, Rng& rng) {
  std::vector<std::uint32_t> order(dim);
  std::iota(order.begin(), order.end(), 0u);
  // Fisher-Yates with the library's own draws: std::shuffle's order differs between standard libraries.
  for (std::size_t i = dim; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return Permutation(std::move(order));
}

template <class T>
Permutation<T> Permutation<T>::reversed(std::size_t dim) {
  std::vector<std::uint32_t> order(dim);
  for (std::size_t j = 0; j < dim; ++j) order[j] = std::uint32_t(dim - 1 - j);
  return Permutation(std::move(order));
}

// --- ActNorm ---

template <class T>
ActNorm<T>::ActNorm(ParameterStore<T>& store, const std::string& name, std::size_t dim)
    : log_scale_(store.add(name + ".log_scale", 1, dim)), shift_(store.add(name + ".shift", 1, dim)) {}

template <class T>
void ActNorm<T>::initialize(ParameterStore<T>& store, Var<T> z) const {
  const std::size_t m = z.rows(), d = z.cols();
  if (m < 2) throw std::invalid_argument("actnorm's initialization needs a batch of at least 2 rows");
  const T* v = z.node().value;
  T* s = store.value_data(log_scale_);
  T* b = store.value_data(shift_);
  for (std::size_t j = 0; j < d; ++j) {
    double sum = 0, sq = 0;
    for (std::size_t i = 0; i < m; ++i) sum += v[i * d + j];
    const double mean = sum / double(m);
    for (std::size_t i = 0; i < m; ++i) sq += (v[i * d + j] - mean) * (v[i * d + j] - mean);
    b[j] = T(-mean);
    s[j] = T(-std::log(std::sqrt(sq / double(m)) + 1e-6));  // a constant column keeps a finite scale
  }
}

template <class T>
Pushed<T> ActNorm<T>::forward(ParameterStore<T>& store, Var<T> z) const {
  Tape<T>& t = *z.tape;
  Var<T> s = t.param(store, log_scale_);
  return {mul(add(z, t.param(store, shift_)), exp(s)), per_row(sum(s), z.rows())};
}

template <class T>
Pushed<T> ActNorm<T>::inverse(ParameterStore<T>& store, Var<T> y) const {
  Tape<T>& t = *y.tape;
  Var<T> s = t.param(store, log_scale_);
  return {sub(mul(y, exp(scale(s, T(-1)))), t.param(store, shift_)), per_row(scale(sum(s), T(-1)), y.rows())};
}

// --- LuLinear ---

template <class T>
LuLinear<T>::LuLinear(ParameterStore<T>& store, const std::string& name, std::size_t dim, Rng& rng)
    : dim_(dim),
      lower_(store.add(name + ".lower", dim, dim)),
      upper_(store.add(name + ".upper", dim, dim)),
      log_diag_(store.add(name + ".log_diag", 1, dim)),
      lower_mask_(dim * dim, T(0)),
      upper_mask_(dim * dim, T(0)),
      identity_(dim * dim, T(0)),
      permutation_(Permutation<T>::random(dim, rng)) {
  for (std::size_t i = 0; i < dim; ++i)
    for (std::size_t j = 0; j < dim; ++j) {
      lower_mask_[i * dim + j] = T(j < i);
      upper_mask_[i * dim + j] = T(j > i);
      identity_[i * dim + j] = T(i == j);
    }
}

template <class T>
Var<T> LuLinear<T>::lower(ParameterStore<T>& store, Tape<T>& t) const {
  return add(mul(t.param(store, lower_), t.constant(lower_mask_.data(), dim_, dim_)), t.constant(identity_.data(), dim_, dim_));
}

template <class T>
Var<T> LuLinear<T>::upper(ParameterStore<T>& store, Tape<T>& t) const {
  Var<T> diag = mul(t.constant(identity_.data(), dim_, dim_), exp(t.param(store, log_diag_)));
  return add(mul(t.param(store, upper_), t.constant(upper_mask_.data(), dim_, dim_)), diag);
}

template <class T>
Pushed<T> LuLinear<T>::forward(ParameterStore<T>& store, Var<T> z) const {
  Tape<T>& t = *z.tape;
  Var<T> y = matmul(matmul(z, lower(store, t)), upper(store, t));
  return {permutation_.forward(store, y).z, per_row(sum(t.param(store, log_diag_)), z.rows())};
}

template <class T>
Pushed<T> LuLinear<T>::inverse(ParameterStore<T>& store, Var<T> y) const {
  Tape<T>& t = *y.tape;
  const std::size_t d = dim_;
  // z = y P^-1 U^-1 L^-1: the row-vector solves x U = r and x L = r, by substitution in double.
  const std::vector<double> l = values_of(lower(store, t)), u = values_of(upper(store, t));
  Var<T> r = permutation_.inverse(store, y).z;
  const std::size_t m = r.rows();
  Var<T> z = t.constant_uninitialized(m, d);
  std::vector<double> row(d), x(d);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < d; ++j) row[j] = double(r.node().value[i * d + j]);
    // x U = row: column j of U is upper-triangular, so x_j follows from x_0 .. x_{j-1}.
    for (std::size_t j = 0; j < d; ++j) {
      double acc = row[j];
      for (std::size_t k = 0; k < j; ++k) acc -= x[k] * u[k * d + j];
      x[j] = acc / u[j * d + j];
    }
    // w L = x: column j of L has ones on the diagonal and entries below it, so w_j follows from
    // w_{j+1} .. w_{d-1}.
    for (std::size_t j = d; j-- > 0;) {
      double acc = x[j];
      for (std::size_t k = j + 1; k < d; ++k) acc -= row[k] * l[k * d + j];
      row[j] = acc;
    }
    for (std::size_t j = 0; j < d; ++j) z.node().value[i * d + j] = T(row[j]);
  }
  return {z, per_row(scale(sum(t.param(store, log_diag_)), T(-1)), m)};
}

// --- AffineCoupling ---

template <class T>
AffineCoupling<T>::AffineCoupling(ParameterStore<T>& store, const std::string& name, std::size_t dim, bool second,
                                  const std::vector<std::size_t>& hidden, Op activation, Rng& rng)
    : dim_(dim), fixed_(second ? dim - dim / 2 : dim / 2), second_(second), hidden_(dense_stack(hidden, activation)),
      out_(2 * (dim - fixed_)) {
  if (dim < 2) throw std::invalid_argument("an affine coupling needs at least 2 columns");
  LayerNames names = LayerNames::numbered(name + ".net");
  const Shape h = hidden_.build(store, names, rng, Init::automatic, features(fixed_));
  out_.build(store, names, rng, Init::automatic, h);
  std::fill_n(store.value_data(out_.weight()), h.size() * out_.out(), T(0));
  std::fill_n(store.value_data(out_.bias()), out_.out(), T(0));
  scale_ = store.add(name + ".scale", 1, dim - fixed_);
  std::fill_n(store.value_data(scale_), dim - fixed_, T(1));
}

template <class T>
std::pair<Var<T>, Var<T>> AffineCoupling<T>::halves(Var<T> z) const {
  if (z.cols() != dim_) throw std::invalid_argument(fmt::format("an affine coupling of {} columns got {}", dim_, z.cols()));
  auto [a, b] = split_cols(z, second_ ? dim_ - fixed_ : fixed_);
  return second_ ? std::pair{b, a} : std::pair{a, b};
}

template <class T>
Var<T> AffineCoupling<T>::join(Var<T> fixed, Var<T> changed) const {
  return second_ ? concat_cols(changed, fixed) : concat_cols(fixed, changed);
}

template <class T>
typename AffineCoupling<T>::Affine AffineCoupling<T>::conditioner(ParameterStore<T>& store, Var<T> fixed) const {
  auto [raw, shift] = split_cols(out_.forward(store, hidden_.forward(store, fixed)), dim_ - fixed_);
  return {mul(fixed.tape->param(store, scale_), tanh(raw)), shift};
}

template <class T>
Pushed<T> AffineCoupling<T>::forward(ParameterStore<T>& store, Var<T> z) const {
  auto [fixed, changed] = halves(z);
  const Affine a = conditioner(store, fixed);
  return {join(fixed, add(mul(changed, exp(a.log_scale)), a.shift)), sum(a.log_scale, 1)};
}

template <class T>
Pushed<T> AffineCoupling<T>::inverse(ParameterStore<T>& store, Var<T> y) const {
  auto [fixed, changed] = halves(y);
  const Affine a = conditioner(store, fixed);
  return {join(fixed, mul(sub(changed, a.shift), exp(scale(a.log_scale, T(-1))))), scale(sum(a.log_scale, 1), T(-1))};
}

// --- Logit ---

template <class T>
Var<T> Logit<T>::log_det_at(Var<T> p) const {
  Tape<T>& t = *p.tape;
  const T c = T(std::log(1 - 2 * alpha_));
  Var<T> per_column = sub(sub(scalar(t, c), log(p)), log(sub(scalar(t, T(1)), p)));
  return sum(per_column, 1);
}

template <class T>
Pushed<T> Logit<T>::forward(ParameterStore<T>&, Var<T> x) const {
  Tape<T>& t = *x.tape;
  Var<T> p = add(scale(x, T(1 - 2 * alpha_)), scalar(t, T(alpha_)));
  return {sub(log(p), log(sub(scalar(t, T(1)), p))), log_det_at(p)};
}

template <class T>
Pushed<T> Logit<T>::inverse(ParameterStore<T>&, Var<T> y) const {
  Tape<T>& t = *y.tape;
  Var<T> p = sigmoid(y);
  return {scale(sub(p, scalar(t, T(alpha_))), T(1 / (1 - 2 * alpha_))), scale(log_det_at(p), T(-1))};
}

#define VK_INSTANTIATE_TRANSFORM(name) template class name<float>; template class name<double>;
VK_FLOW_TRANSFORMS(VK_INSTANTIATE_TRANSFORM)
#undef VK_INSTANTIATE_TRANSFORM

}  // namespace vk::vae::flows
