#include "vae/bounds.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "vae/distributions.hpp"

namespace vk::vae {

Bound parse_bound(const std::string& s) {
  if (s == "elbo") return Bound::elbo;
  if (s == "iwae") return Bound::iwae;
  throw std::invalid_argument(fmt::format("unknown objective '{}' (expected elbo or iwae)", s));
}

const char* name(Bound b) { return b == Bound::iwae ? "iwae" : "elbo"; }

template <class T>
Terms<T> elbo(const LogWeights<T>& lw, T kl_weight, double free_bits) {
  if (lw.k != 1) throw std::invalid_argument("the ELBO takes one sample of the latents per example");
  Terms<T> t;
  t.mu = lw.code;
  t.rec = scale(lw.log_px, T(-1));
  if (lw.kl) t.kl = *lw.kl;
  else if (lw.log_qz) t.kl = sub(*lw.log_qz, *lw.log_pz);
  t.has_kl = t.kl.tape != nullptr;
  if (!t.has_kl) {
    t.loss = mean(t.rec);
    return t;
  }
  if (free_bits > 0) {
    if (!lw.kl_dims) throw std::invalid_argument("--free-bits needs a KL in closed form per latent dimension");
    Tape<T>& tape = *t.rec.tape;
    const std::size_t dims = lw.kl_dims->cols();
    const T lambda = T(free_bits);
    // max(lambda, KL_j) = relu(KL_j - lambda) + lambda, summed over the dimensions
    Var<T> per_dim = relu(sub(mean(*lw.kl_dims, 0), scalar(tape, lambda)));
    Var<T> kl_term = add(sum(per_dim), scalar(tape, lambda * T(dims)));
    t.loss = add(mean(t.rec), scale(kl_term, kl_weight));
    return t;
  }
  t.loss = mean(add(t.rec, scale(t.kl, kl_weight)));
  return t;
}

template <class T>
Terms<T> iwae(const LogWeights<T>& lw, T kl_weight) {
  if (!lw.log_qz || !lw.log_pz) throw std::invalid_argument("the importance-weighted bound needs a variational model");
  const std::size_t k = lw.k, m = lw.log_px.rows() / k;
  Tape<T>& tape = *lw.log_px.tape;
  Var<T> log_ratio = sub(*lw.log_qz, *lw.log_pz);  // log q - log p
  Var<T> log_w = sub(lw.log_px, scale(log_ratio, kl_weight));
  Var<T> log_k = scalar(tape, T(std::log(T(k))));
  // Rows s m + i read as [k, m]: column i holds the k samples of example i.
  Var<T> bound = sub(logsumexp(reshape(log_w, k, m), 0), log_k);  // [1, m]
  Terms<T> t;
  t.mu = lw.code;
  t.loss = scale(mean(bound), T(-1));
  t.rec = reshape(scale(mean(reshape(lw.log_px, k, m), 0), T(-1)), m, 1);
  t.kl = reshape(mean(reshape(log_ratio, k, m), 0), m, 1);
  t.has_kl = true;
  return t;
}

template <class T>
Terms<T> bound(const LogWeights<T>& lw, const Objective& o) {
  if (o.bound == Bound::iwae) return iwae(lw, T(o.kl_weight));
  return elbo(lw, T(o.kl_weight), o.free_bits);
}

double bits_per_dim(double nll, std::size_t dim) {
  return (nll + double(dim) * std::log(256.0)) / (double(dim) * std::log(2.0));
}

double discrete_bits_per_dim(double nll, std::size_t dim) { return nll / (double(dim) * std::log(2.0)); }

template Terms<float> elbo(const LogWeights<float>&, float, double);
template Terms<double> elbo(const LogWeights<double>&, double, double);
template Terms<float> iwae(const LogWeights<float>&, float);
template Terms<double> iwae(const LogWeights<double>&, double);
template Terms<float> bound(const LogWeights<float>&, const Objective&);
template Terms<double> bound(const LogWeights<double>&, const Objective&);

}  // namespace vk::vae
