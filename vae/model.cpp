#include "vae/model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "autodiff/ops.hpp"
#include "autodiff/random.hpp"

namespace vk::vae {

Networks make_networks(const ModelConfig& c) {
  if (c.architecture == Architecture::conv) return ConvNetworks(c);
  return MlpNetworks(c);
}

MlpNetworks::MlpNetworks(const ModelConfig& c)
    : trunk_(dense_stack(c.hidden, c.activation)),
      hidden_(dense_stack(std::vector<std::size_t>(c.hidden.rbegin(), c.hidden.rend()), c.activation)),
      out_(c.input_dim) {}

template <class T>
Model<T>::Model(const ModelConfig& config, std::uint64_t seed) : config_(config), nets_(make_networks(config)) {
  config_.validate();
  const ModelConfig& c = config_;
  Rng rng(seed);
  // The order of registration is the order of initialisation: it fixes what a seed gives.
  const std::size_t label = c.label_in_encoder() ? c.classes : 0;
  const Shape trunk_out = std::visit(
      [&](auto& n) { return n.build_encoder(store_, rng, features(c.input_dim + label)); }, nets_);
  LayerNames mu_name = LayerNames::exactly("encoder.mu");
  mu_head_ = Linear<>(c.latent);
  mu_head_.build(store_, mu_name, rng, Init::torch_default, trunk_out);
  if (c.variational()) {
    // Zero weights: every posterior starts at unit variance and the KL sees only the means.
    LayerNames name = LayerNames::exactly("encoder.logvar");
    logvar_head_.emplace(c.latent);
    logvar_head_->build(store_, name, rng, Init::torch_default, trunk_out);
    std::fill_n(store_.value_data(logvar_head_->weight()), trunk_out.size() * c.latent, T(0));
    std::fill_n(store_.value_data(logvar_head_->bias()), c.latent, T(0));
  }
  // The decoder's extra inputs: the one-hot label beside z, or the embedding beside every layer.
  const std::size_t beside_z = c.conditional() && !c.label_embedded() ? c.classes : 0;
  const std::size_t every = c.label_embedded() ? c.embedding : 0;
  std::visit([&](auto& n) { n.build_decoder(store_, rng, c.latent + beside_z, every); }, nets_);
  if (c.has_sigma()) noise_.emplace(store_, c.sigma, c.fixed_sigma2, c.min_sigma2, c.input_dim);
  if (c.label_embedded()) {
    // N(0, 1) as nn.Embedding starts: distinct classes start with distinct, unit-scale codes.
    embedding_ = store_.add("label_embedding.weight", c.classes, c.embedding);
    fill_normal<T>(rng, std::span<T>(store_.value_data(*embedding_), c.classes * c.embedding));
  }
  prior_.emplace(store_, rng, c);
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
  Var<T> x_in = config_.label_in_encoder() ? concat_cols(x, *y) : x;
  Var<T> h = std::visit([&](const auto& n) { return n.encode(store_, x_in); }, nets_);
  Code code{mu_head_.forward(store_, h), {}};
  if (logvar_head_) code.logvar = logvar_head_->forward(store_, h);
  return code;
}

template <class T>
Var<T> Model<T>::decode(Var<T> z, std::optional<Var<T>> y) {
  require_label(y);
  std::optional<Var<T>> side;
  Var<T> h = z;
  if (config_.label_embedded())
    side = matmul(*y, z.tape->param(store_, *embedding_));
  else if (y)
    h = concat_cols(z, *y);
  Var<T> out = std::visit([&](const auto& n) { return n.decode(store_, h, side); }, nets_);
  const bool logits = config_.variational() && config_.likelihood == Likelihood::bernoulli;
  return logits ? out : sigmoid(out);
}

template <class T>
typename Model<T>::Code Model<T>::prior(Tape<T>& tape, std::optional<Var<T>> y) {
  if (prior_->learned()) require_label(y);
  return prior_->of(store_, tape, y);
}

template <class T>
Var<T> Model<T>::draw_prior(Tape<T>& tape, std::optional<Var<T>> y, std::size_t n, Rng& rng) {
  if (prior_->learned()) require_label(y);
  return prior_->draw(store_, tape, y, n, rng);
}

template <class T>
std::pair<Var<T>, std::optional<Var<T>>> Model<T>::split_noise(Var<T> eps, std::size_t rows) const {
  if (eps.rows() != rows || eps.cols() != config_.noise_width())
    throw std::invalid_argument(fmt::format("eps must be [{}x{}], got [{}x{}]", rows, config_.noise_width(),
                                            eps.rows(), eps.cols()));
  if (!config_.hierarchical()) return {eps, std::nullopt};
  return {slice_cols(eps, 0, config_.latent), slice_cols(eps, config_.latent, config_.noise_width())};
}

template <class T>
Var<T> Model<T>::mean_image(Var<T> decoded) const {
  const bool logits = config_.variational() && config_.likelihood == Likelihood::bernoulli;
  return logits ? sigmoid(decoded) : decoded;
}

template <class T>
Var<T> Model<T>::log_likelihood(Var<T> decoded, Var<T> x, bool training) {
  if (config_.likelihood == Likelihood::bernoulli) return bernoulli_loglik(decoded, x);
  return noise_->log_likelihood(store_, decoded, x, training);
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
  const auto [eps_z, eps_z2] = split_noise(eps, x.rows());
  Var<T> z = reparameterize(code.mu, code.logvar, eps_z);
  t.rec = scale(log_likelihood(decode(z, y), x, training), T(-1));
  t.kl = prior_->kl(store_, code, z, y, eps_z2);
  t.has_kl = true;
  t.loss = mean(add(t.rec, scale(t.kl, kl_weight)));
  return t;
}

template <class T>
typename Model<T>::Terms Model<T>::iwae_terms(Var<T> x, std::optional<Var<T>> y, Var<T> eps, std::size_t k,
                                              T kl_weight, bool training) {
  if (!config_.variational()) throw std::invalid_argument("the importance-weighted bound needs a variational model");
  const std::size_t m = x.rows();
  if (k == 0) throw std::invalid_argument("iwae: k must be at least 1");
  const auto [eps_z, eps_z2] = split_noise(eps, k * m);
  Tape<T>& tape = *x.tape;
  const Code q = encode(x, y);
  const Code q_k{tile_rows(q.mu, k), tile_rows(q.logvar, k)};
  const std::optional<Var<T>> y_k = y ? std::optional(tile_rows(*y, k)) : std::nullopt;
  Var<T> z = reparameterize(q_k.mu, q_k.logvar, eps_z);
  // The Bernoulli likelihood reads x's rows for every sample block; the Gaussian needs k copies.
  const Var<T> x_k = config_.likelihood == Likelihood::bernoulli ? x : tile_rows(x, k);
  Var<T> ll = log_likelihood(decode(z, y_k), x_k, training);  // [k m, 1]
  Var<T> log_ratio = prior_->log_ratio(store_, q_k, z, y_k, eps_z2);       // log q - log p
  Var<T> log_w = sub(ll, scale(log_ratio, kl_weight));
  Var<T> log_k = tape.constant_uninitialized(1, 1);
  log_k.node().value[0] = std::log(T(k));
  // Rows s m + i read as [k, m]: column i holds the k samples of example i.
  Var<T> bound = sub(logsumexp(reshape(log_w, k, m), 0), log_k);  // [1, m]
  Terms t;
  t.mu = q.mu;
  t.loss = scale(mean(bound), T(-1));
  t.rec = reshape(scale(mean(reshape(ll, k, m), 0), T(-1)), m, 1);
  t.kl = reshape(mean(reshape(log_ratio, k, m), 0), m, 1);
  t.has_kl = true;
  return t;
}

template <class T>
void Model<T>::begin_training(double data_pixel_variance) {
  if (noise_) noise_->begin_training(store_, data_pixel_variance);
}

template <class T>
void Model<T>::after_step(std::size_t rows) {
  if (noise_) noise_->after_step(store_, rows);
}

template <class T>
void Model<T>::end_epoch() {
  if (noise_) noise_->end_epoch(store_);
}

template <class T>
T Model<T>::sigma2() const {
  return noise_ ? noise_->sigma2(store_) : std::numeric_limits<T>::quiet_NaN();
}

template class Model<float>;
template class Model<double>;

}  // namespace vk::vae
