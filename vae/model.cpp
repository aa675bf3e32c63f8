#include "vae/model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "autodiff/ops.hpp"

namespace vk::vae {

template <class T>
Model<T>::Model(const ModelConfig& config, std::uint64_t seed) : config_(config) {
  config_.validate();
  const ModelConfig& c = config_;
  Rng rng(seed);
  const std::size_t label = c.conditional() ? c.classes : 0;
  const std::size_t trunk_out = c.hidden.empty() ? c.input_dim + label : c.hidden.back();
  if (!c.hidden.empty()) {
    std::vector<std::size_t> widths{c.input_dim + label};
    widths.insert(widths.end(), c.hidden.begin(), c.hidden.end());
    trunk_.emplace(widths, c.activation, c.activation);
    trunk_->build(store_, "encoder.trunk", rng, Init::torch_default);
  }
  mu_head_ = Linear<>(trunk_out, c.latent);
  mu_head_.build(store_, "encoder.mu", rng, Init::torch_default);
  if (c.variational()) {
    // Zero weights: every posterior starts at unit variance and the KL sees only the means.
    logvar_head_.emplace(trunk_out, c.latent);
    logvar_head_->build(store_, "encoder.logvar", rng, Init::torch_default);
    std::fill_n(store_.value_data(logvar_head_->weight()), trunk_out * c.latent, T(0));
    std::fill_n(store_.value_data(logvar_head_->bias()), c.latent, T(0));
  }
  std::vector<std::size_t> widths{c.latent + label};
  widths.insert(widths.end(), c.hidden.rbegin(), c.hidden.rend());
  widths.push_back(c.input_dim);
  decoder_ = Mlp(widths, c.activation);
  decoder_.build(store_, "decoder", rng, Init::torch_default);
  if (c.has_sigma()) {
    log_sigma2_ = store_.add("log_sigma2", 1, c.sigma == Sigma::per_pixel ? c.input_dim : 1);
    // The floor guards trained sigma^2 only: a fixed one is exactly what was asked for.
    const T lv = std::log(T(c.sigma == Sigma::fixed ? c.fixed_sigma2 : 1.0));
    std::fill_n(store_.value_data(*log_sigma2_), store_.entry(*log_sigma2_).size(), lv);
  }
}

template <class T>
Var<T> Model<T>::with_label(Var<T> v, std::optional<Var<T>> y) const {
  if (config_.conditional() != y.has_value())
    throw std::invalid_argument(config_.conditional() ? "a conditional model needs the label y"
                                                      : "an unconditional model takes no label");
  return y ? concat_cols(v, *y) : v;
}

template <class T>
typename Model<T>::Code Model<T>::encode(Var<T> x, std::optional<Var<T>> y) {
  if (x.cols() != config_.input_dim)
    throw std::invalid_argument(fmt::format("the model takes {} inputs per example, the data has {}",
                                            config_.input_dim, x.cols()));
  Var<T> h = with_label(x, y);
  if (trunk_) h = trunk_->forward(store_, h);
  Code code{mu_head_.forward(store_, h), {}};
  if (logvar_head_) code.logvar = logvar_head_->forward(store_, h);
  return code;
}

template <class T>
Var<T> Model<T>::decode(Var<T> z, std::optional<Var<T>> y) {
  Var<T> out = decoder_.forward(store_, with_label(z, y));
  const bool logits = config_.variational() && config_.likelihood == Likelihood::bernoulli;
  return logits ? out : sigmoid(out);
}

template <class T>
Var<T> Model<T>::mean_image(Var<T> decoded) const {
  const bool logits = config_.variational() && config_.likelihood == Likelihood::bernoulli;
  return logits ? sigmoid(decoded) : decoded;
}

template <class T>
Var<T> Model<T>::log_sigma2(Var<T> decoded, Var<T> x, bool training) {
  if (!log_sigma2_) throw std::logic_error("this model has no Gaussian noise model");
  if (training && config_.sigma == Sigma::optimal) return log(mean(square(sub(x, decoded))));
  // Only the learned modes train sigma^2; the others read it as a constant.
  if (config_.sigma == Sigma::fixed || config_.sigma == Sigma::optimal)
    return x.tape->constant(store_.value_data(*log_sigma2_), 1, store_.entry(*log_sigma2_).cols);
  return x.tape->param(store_, *log_sigma2_);
}

template <class T>
typename Model<T>::Terms Model<T>::terms(Var<T> x, std::optional<Var<T>> y, Var<T> eps,
                                         T kl_weight, bool training) {
  Code code = encode(x, y);
  Terms t;
  t.mu = code.mu;
  if (!config_.variational()) {
    Var<T> x_hat = decode(code.mu, y);
    t.rec = sum(square(sub(x, x_hat)), 1);
    Var<T> per_row = t.rec;
    if (config_.objective == Objective::rae) {
      t.kl = scale(sum(square(code.mu), 1), T(config_.lambda));
      t.has_kl = true;
      per_row = add(per_row, t.kl);
    }
    t.loss = mean(per_row);
    return t;
  }
  Var<T> z = reparameterize(code.mu, code.logvar, eps);
  Var<T> decoded = decode(z, y);
  if (config_.likelihood == Likelihood::bernoulli) {
    t.rec = scale(bernoulli_loglik(decoded, x), T(-1));
  } else {
    t.log_sigma2 = log_sigma2(decoded, x, training);
    t.rec = scale(gaussian_loglik(decoded, x, t.log_sigma2), T(-1));
  }
  t.kl = gaussian_kl(code.mu, code.logvar);
  t.has_kl = true;
  t.loss = mean(add(t.rec, scale(t.kl, kl_weight)));
  return t;
}

template <class T>
T Model<T>::sigma2() const {
  if (!log_sigma2_) return std::numeric_limits<T>::quiet_NaN();
  const auto& e = store_.entry(*log_sigma2_);
  const T* lv = store_.value_data(*log_sigma2_);
  T s = 0;
  for (std::size_t j = 0; j < e.size(); ++j) s += std::exp(lv[j]);
  return s / T(e.size());
}

template <class T>
void Model<T>::set_sigma2(T v) {
  if (!log_sigma2_) return;
  const T lv = std::log(std::max(v, T(config_.min_sigma2)));
  std::fill_n(store_.value_data(*log_sigma2_), store_.entry(*log_sigma2_).size(), lv);
}

template <class T>
void Model<T>::clamp_sigma2() {
  if (!log_sigma2_ || config_.sigma == Sigma::fixed) return;
  const T floor = std::log(T(config_.min_sigma2));
  T* lv = store_.value_data(*log_sigma2_);
  for (std::size_t j = 0; j < store_.entry(*log_sigma2_).size(); ++j) lv[j] = std::max(lv[j], floor);
}

template class Model<float>;
template class Model<double>;

}  // namespace vk::vae
