#include "vae/model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "autodiff/ops.hpp"
#include "autodiff/random.hpp"

namespace vk::vae {

template <class T>
Model<T>::Model(const ModelConfig& config, std::uint64_t seed) : config_(config) {
  config_.validate();
  const ModelConfig& c = config_;
  Rng rng(seed);
  const std::size_t label = c.label_in_encoder() ? c.classes : 0;
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
  // The decoder's extra inputs: the one-hot label at its first layer, or the embedding at all.
  const std::size_t first_extra = c.label_embedded() ? c.embedding : c.conditional() ? c.classes : 0;
  const std::size_t every_extra = c.label_embedded() ? c.embedding : 0;
  std::vector<std::size_t> widths{c.latent};
  widths.insert(widths.end(), c.hidden.rbegin(), c.hidden.rend());
  widths.push_back(c.input_dim);
  for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
    decoder_.emplace_back(widths[i] + (i == 0 ? first_extra : every_extra), widths[i + 1]);
    decoder_.back().build(store_, fmt::format("decoder.{}", 2 * i), rng, Init::torch_default);
  }
  if (c.has_sigma()) {
    log_sigma2_ = store_.add("log_sigma2", 1, c.sigma == Sigma::per_pixel ? c.input_dim : 1);
    // The floor guards trained sigma^2 only: a fixed one is exactly what was asked for.
    const T lv = std::log(T(c.sigma == Sigma::fixed ? c.fixed_sigma2 : 1.0));
    std::fill_n(store_.value_data(*log_sigma2_), store_.entry(*log_sigma2_).size(), lv);
  }
  if (c.label_embedded()) {
    // N(0, 1) as nn.Embedding starts: distinct classes start with distinct, unit-scale codes.
    embedding_ = store_.add("label_embedding.weight", c.classes, c.embedding);
    fill_normal<T>(rng, std::span<T>(store_.value_data(*embedding_), c.classes * c.embedding));
  }
  if (c.learned_prior()) {
    // Zero means and log-variances: every class starts at N(0, I), the unconditional prior.
    prior_mu_ = store_.add("prior.mu", c.classes, c.latent);
    prior_logvar_ = store_.add("prior.logvar", c.classes, c.latent);
  }
}

template <class T>
void Model<T>::require_label(const std::optional<Var<T>>& y) const {
  if (config_.conditional() != y.has_value())
    throw std::invalid_argument(config_.conditional() ? "a conditional model needs the label y"
                                                      : "an unconditional model takes no label");
  if (y && y->cols() != config_.classes)
    throw std::invalid_argument(fmt::format("the model takes {} classes, the label has {} columns",
                                            config_.classes, y->cols()));
}

template <class T>
typename Model<T>::Code Model<T>::encode(Var<T> x, std::optional<Var<T>> y) {
  if (x.cols() != config_.input_dim)
    throw std::invalid_argument(fmt::format("the model takes {} inputs per example, the data has {}",
                                            config_.input_dim, x.cols()));
  require_label(y);
  // Condition::decoder takes y (one calling convention for every variant) but does not use it.
  Var<T> h = config_.label_in_encoder() ? concat_cols(x, *y) : x;
  if (trunk_) h = trunk_->forward(store_, h);
  Code code{mu_head_.forward(store_, h), {}};
  if (logvar_head_) code.logvar = logvar_head_->forward(store_, h);
  return code;
}

template <class T>
Var<T> Model<T>::decode(Var<T> z, std::optional<Var<T>> y) {
  require_label(y);
  std::optional<Var<T>> extra;  // beside the input of every layer
  Var<T> h = z;
  if (config_.label_embedded())
    extra = matmul(*y, z.tape->param(store_, *embedding_));
  else if (y)
    h = concat_cols(z, *y);
  for (std::size_t i = 0; i < decoder_.size(); ++i) {
    if (extra) h = concat_cols(h, *extra);
    h = decoder_[i].forward(store_, h);
    if (i + 1 < decoder_.size()) h = activate(config_.activation, h);
  }
  Var<T> out = h;
  const bool logits = config_.variational() && config_.likelihood == Likelihood::bernoulli;
  return logits ? out : sigmoid(out);
}

template <class T>
typename Model<T>::Code Model<T>::prior(Var<T> y, std::size_t rows) {
  Tape<T>& tape = *y.tape;
  if (config_.learned_prior()) {
    require_label(y);
    return {matmul(y, tape.param(store_, *prior_mu_)), matmul(y, tape.param(store_, *prior_logvar_))};
  }
  Var<T> zeros = tape.constant_uninitialized(rows, config_.latent);
  std::fill_n(zeros.node().value, rows * config_.latent, T(0));
  return {zeros, zeros};
}

template <class T>
Var<T> Model<T>::kl(const Code& q, std::optional<Var<T>> y) {
  if (!config_.learned_prior()) return gaussian_kl(q.mu, q.logvar);
  // KL(N(mu, e^lv) || N(mu_y, e^lv_y)) = 1/2 sum_j (lv_y - lv + (e^lv + (mu - mu_y)^2) e^-lv_y - 1),
  // the closed form between diagonal Gaussians; at mu_y = 0, lv_y = 0 it is gaussian_kl.
  Code p = prior(*y, q.mu.rows());
  Var<T> ratio = mul(add(exp(q.logvar), square(sub(q.mu, p.mu))), exp(scale(p.logvar, T(-1))));
  Var<T> k = q.mu.tape->constant_uninitialized(1, 1);
  k.node().value[0] = T(config_.latent);
  return scale(sub(sum(add(sub(p.logvar, q.logvar), ratio), 1), k), T(0.5));
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
  t.kl = kl(code, y);
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
