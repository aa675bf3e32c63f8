// --model mog: the VAE with a learned mixture of Gaussians as its prior,
//   p(z) = sum_k pi_k N(z; mu_k, diag e^{lv_k}),  pi = softmax(a),  K = --components,
// the simplest of the learned priors Tomczak & Welling (2018) compare with N(0, I) (their
// VampPrior sets mu_k, lv_k to the posterior of learned pseudo-inputs). The KL has no closed form:
// the ELBO takes log q(z|x) - log p(z) at the draw. Parameters prior.mu, prior.logvar [K, latent]
// (the means start at N(0, 1) draws, distinct; unit variances) and prior.logits [1, K] (uniform).
#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "vae/kinds/vae.hpp"
#include "vae/registry.hpp"

namespace vk::vae {
namespace {

template <class T>
class MixturePrior {
 public:
  MixturePrior(ParameterStore<T>& store, Rng& rng, const ModelConfig& c)
      : k_(c.count_setting("components")),
        mu_(store.add("prior.mu", k_, c.latent)),
        logvar_(store.add("prior.logvar", k_, c.latent)),
        logits_(store.add("prior.logits", 1, k_)) {
    fill_normal<T>(rng, std::span<T>(store.value_data(mu_), k_ * c.latent));
  }
  std::size_t above() const { return 0; }
  std::optional<ClosedFormKl<T>> closed_form_kl(ParameterStore<T>&, const DiagGaussian<T>&, std::optional<Var<T>>,
                                                bool per_dim) const {
    if (per_dim) throw std::invalid_argument("--free-bits takes the prior N(0, I), not a mixture");
    return std::nullopt;
  }
  Joint<T> joint(ParameterStore<T>& store, const DiagGaussian<T>& q, Var<T> z, std::optional<Var<T>>,
                 std::optional<Var<T>>) const {
    Tape<T>& tape = *z.tape;
    const std::size_t r = z.rows();
    // Every row against every component: rows s r + i pair z_i with component s.
    Var<T> pick = selector(tape, k_ * r, [r](std::size_t row) { return row / r; });
    const DiagGaussian<T> component{matmul(pick, tape.param(store, mu_)), matmul(pick, tape.param(store, logvar_))};
    Var<T> logits = tape.param(store, logits_);
    Var<T> log_pi = sub(logits, logsumexp(logits, 1));  // [1, K]
    Var<T> joint = add(component.log_prob(tile_rows(z, k_)), matmul(pick, reshape(log_pi, k_, 1)));
    Var<T> log_p = reshape(logsumexp(reshape(joint, k_, r), 0), r, 1);
    return {q.log_prob(z), log_p};
  }
  Var<T> draw(ParameterStore<T>& store, Tape<T>& tape, std::optional<Var<T>>, std::size_t n, Rng& rng) const {
    // A component per draw from pi, then z from it.
    const T* a = store.value_data(logits_);
    std::vector<T> weights(a, a + k_);
    const T top = *std::max_element(weights.begin(), weights.end());
    for (T& w : weights) w = std::exp(w - top);
    std::discrete_distribution<std::size_t> component(weights.begin(), weights.end());
    std::vector<std::size_t> chosen(n);
    for (std::size_t& c : chosen) c = component(rng);
    Var<T> pick = selector(tape, n, [&](std::size_t row) { return chosen[row]; });
    const DiagGaussian<T> g{matmul(pick, tape.param(store, mu_)), matmul(pick, tape.param(store, logvar_))};
    return g.sample(tape, n, rng);
  }

 private:
  // [rows, K] one-hot: row i selects component of(i).
  template <class F>
  Var<T> selector(Tape<T>& tape, std::size_t rows, F of) const {
    return one_hot_rows(tape, rows, k_, of);
  }

  std::size_t k_;
  ParamId mu_, logvar_, logits_;
};

}  // namespace

template <class T>
std::unique_ptr<Model<T>> make_mog(const ModelConfig& c, std::uint64_t seed) {
  Rng rng(seed);
  return std::make_unique<Vae<T, MixturePrior<T>>>(c, rng);
}

VK_INSTANTIATE_FACTORY(make_mog)

}  // namespace vk::vae
