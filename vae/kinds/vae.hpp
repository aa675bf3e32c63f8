// The VAE of the lecture, with the prior as a type: q(z|x) a diagonal Gaussian from the encoder's
// two heads, z = mu + Sigma^1/2 eps, x ~ p(x|D(z)), and a prior of vae/priors.hpp (or a kind's own,
// with the same members). The ELBO takes the prior's closed-form KL where it has one; the
// importance-weighted bound and a prior without one take log p(z) and log q(z|x) of the same draws.
// A kind that differs from the VAE only in its prior is Vae<T, ItsPrior<T>> and a factory.
//
// --posterior iaf --flow-steps T pushes q's draw through T inverse autoregressive flow steps
// (vae/flows/iaf.hpp) with the encoder trunk's output h(x) as their context: log q(z_T|x) =
// log q(z_0|x) - sum_t log|det|, exact, so the ELBO takes log q - log p of the same draw and the IW
// estimate the exact log q. T = 0 is the plain VAE. encode() still gives the Gaussian q(z_0|x).
#pragma once

#include <fmt/format.h>

#include "vae/flows/iaf.hpp"
#include "vae/kinds/coded.hpp"
#include "vae/priors.hpp"

namespace vk::vae {

template <class T>
Likelihood<T> density(ParameterStore<T>& store, const ModelConfig& c) {
  return Likelihood<T>(store, c);
}

template <class T, class Prior>
class Vae final : public Coded<T> {
 public:
  Vae(const ModelConfig& c, Rng& rng)
      : Coded<T>(c, rng, true, &density<T>), prior_(prior_after_embedding(rng)), iaf_(posterior_flow(rng)) {}

  std::size_t noise_width() const override { return this->config_.latent + prior_.above(); }
  bool variational() const override { return true; }

  LogWeights<T> log_weights(Var<T> x, std::optional<Var<T>> y, Var<T> eps, const Request& r) override {
    ParameterStore<T>& store = this->store_;
    const std::size_t m = x.rows(), k = r.k, latent = this->config_.latent;
    if (k == 0) throw std::invalid_argument("the number of samples k must be at least 1");
    if (eps.rows() != k * m || eps.cols() != noise_width())
      throw std::invalid_argument(
          fmt::format("eps must be [{}x{}], got [{}x{}]", k * m, noise_width(), eps.rows(), eps.cols()));
    std::optional<Var<T>> eps_above;
    if (prior_.above()) {
      eps_above = slice_cols(eps, latent, noise_width());
      eps = slice_cols(eps, 0, latent);
    }
    Var<T> h;
    const DiagGaussian<T> q = this->coder_.encode(store, x, y, iaf_.empty() ? nullptr : &h);
    LogWeights<T> lw;
    lw.k = k;
    lw.code = q.mu;
    if (k == 1 && r.closed_form_kl && iaf_.empty()) {
      const Var<T> z = q.rsample(eps);
      lw.log_px = this->likelihood_.log_prob(store, this->decode(z, y), x, r.training);
      if (auto kl = prior_.closed_form_kl(store, q, y, r.kl_per_dim)) {
        lw.kl = kl->kl;
        lw.kl_dims = kl->dims;
        return lw;
      }
      const Joint<T> j = prior_.joint(store, q, z, y, eps_above);
      lw.log_qz = j.log_q;
      lw.log_pz = j.log_p;
      return lw;
    }
    // k samples of each example: the encoder once, the decoder on all k m rows.
    const DiagGaussian<T> q_k = k > 1 ? q.tiled(k) : q;
    const std::optional<Var<T>> y_k = y && k > 1 ? std::optional(tile_rows(*y, k)) : y;
    Var<T> z = q_k.rsample(eps);
    std::optional<Var<T>> log_q;
    if (!iaf_.empty()) {
      log_q = q_k.log_prob(z);
      const Var<T> h_k = k > 1 ? tile_rows(h, k) : h;
      for (const flows::IafStep<T>& step : iaf_) {
        const Pushed<T> p = step.forward(store, z, h_k);
        log_q = sub(*log_q, p.log_det);
        z = p.z;
      }
    }
    lw.log_px = this->likelihood_.log_prob(store, this->decode(z, y_k), x, r.training);
    const Joint<T> j = prior_.joint(store, q_k, z, y_k, eps_above);
    lw.log_qz = log_q ? *log_q : j.log_q;  // the prior's is the Gaussian's density of z
    lw.log_pz = j.log_p;
    return lw;
  }

  Var<T> draw_prior(Tape<T>& tape, std::optional<Var<T>> y, std::size_t n, Rng& rng) override {
    this->coder_.require_label(y);
    return prior_.draw(this->store_, tape, y, n, rng);
  }

 private:
  Prior prior_after_embedding(Rng& rng) {
    this->coder_.build_embedding(this->store_, rng);
    return Prior(this->store_, rng, this->config_);
  }

  // Registered after everything else, so that a model without it starts as it always did.
  std::vector<flows::IafStep<T>> posterior_flow(Rng& rng) {
    std::vector<flows::IafStep<T>> steps;
    const ModelConfig& c = this->config_;
    const std::optional<std::string> posterior = c.setting("posterior");
    if (!posterior || *posterior == "gaussian") return steps;
    if (*posterior != "iaf") throw std::invalid_argument(fmt::format("--posterior must be gaussian or iaf, not '{}'", *posterior));
    if (prior_.above()) throw std::invalid_argument("--posterior iaf is for one latent layer, not a stacked prior");
    const std::size_t count = c.count_setting("flow-steps", 0), hidden = c.count_setting("iaf-hidden");
    for (std::size_t t = 0; t < count; ++t)
      steps.emplace_back(this->store_, fmt::format("posterior.iaf.{}", t), c.latent, hidden, this->coder_.trunk_width(),
                         t % 2 == 1, rng);
    return steps;
  }

  Prior prior_;
  std::vector<flows::IafStep<T>> iaf_;
};

}  // namespace vk::vae
