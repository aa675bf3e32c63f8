#include "vae/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <numbers>
#include <stdexcept>

#include <fmt/format.h>

#include "autodiff/ops.hpp"
#include "autodiff/parallel.hpp"
#include "datasets/batcher.hpp"
#include "distributed/comm.hpp"

namespace vk::vae {
template <class T>
double iw_log_likelihood(Model<T>& model, Tape<T>& tape, const T* x, const T* y, std::size_t k,
                         Rng& rng) {
  const ModelConfig& c = model.config();
  if (!model.variational()) throw std::invalid_argument("importance weighting needs a variational model");
  tape.reset();
  NoGradGuard guard(tape);
  std::optional<Var<T>> y1;
  if (c.conditional()) y1 = tape.constant(y, 1, c.classes);
  Var<T> eps = standard_normal(tape, k, model.noise_width(), rng);
  const Objective iw{Bound::iwae, k, 1.0, 0.0};
  return -double(terms(model, tape.constant(x, 1, c.input_dim), y1, eps, iw, false).loss.item());
}

template <class T>
std::vector<double> iw_log_likelihoods(Model<T>& model, const T* x, const T* y, std::span<const std::size_t> keys,
                                       std::size_t k, std::uint64_t seed, std::vector<Tape<T>>& tapes) {
  const ModelConfig& c = model.config();
  const std::size_t n = keys.size();
  // The images over the threads, each with its own tape and single-threaded products (300
  // images at K = 1000 on two threads: 1.2-1.4 s, against 2.1 s with each image's products split
  // over both cores).
  if (tapes.size() < std::size_t(parallel::threads()))
    throw std::invalid_argument(fmt::format("iw_log_likelihoods: {} tapes for {} threads", tapes.size(), parallel::threads()));
  std::vector<double> values(n);
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto one_image = [&](std::size_t i, std::size_t thread) {
    try {
      Rng rng(key_of(seed ^ kGolden, keys[i]));
      values[i] = iw_log_likelihood(model, tapes[thread], x + i * c.input_dim, y ? y + i * c.classes : nullptr, k, rng);
    } catch (...) {
      const std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  };
  parallel::for_tasks(n, one_image);
  if (failure) std::rethrow_exception(failure);
  return values;
}

data::BatchOptions eval_batches(const EvalOptions& options) {
  data::BatchOptions bo;
  bo.batch = options.batch;
  bo.shuffle = false;
  bo.dequantize = options.dequantize ? data::Dequantize::static_ : data::Dequantize::none;
  bo.binarize_seed = options.dequantize_seed;
  return bo;
}

template <class T>
EvalResult evaluate(Model<T>& model, const data::ImageSet& set, const EvalOptions& options) {
  const ModelConfig& c = model.config();
  std::size_t count = options.limit ? std::min(options.limit, set.count) : set.count;
  const std::size_t model_limit = model.evaluation_limit();
  const bool cut_by_model = model_limit && model_limit < count;
  if (cut_by_model) count = model_limit;
  if (count == 0) throw std::invalid_argument("evaluation needs at least one example");
  if (set.dim() != c.input_dim)
    throw std::invalid_argument(fmt::format("the model takes {} pixels per image, the data has {}",
                                            c.input_dim, set.dim()));
  data::ImageSet limited;
  const data::ImageSet& source = count == set.count ? set : (limited = data::take_first(set, count));
  data::BatchOptions bo = eval_batches(options);
  bo.shard = std::size_t(dist::rank());  // each rank its part of every batch; the sums are the job's
  bo.shards = std::size_t(dist::size());
  data::Batcher<T> batches(source, bo);

  Tape<T> tape;
  // A cast, not std::size_t(parallel::threads()): clang parses that as a function declaration.
  std::vector<Tape<T>> iw_tapes(static_cast<std::size_t>(parallel::threads()));
  EvalResult r;
  r.count = count;
  r.limited_by_model = cut_by_model;
  r.iw_samples = model.variational() ? options.iw_samples : 0;
  // rec, kl, iw, then the sums of E_q[z] and of its square per dimension: each rank's part of
  // the set, summed over the ranks at the end.
  std::vector<double> sums(3 + 2 * c.latent, 0.0);
  double &rec = sums[0], &kl = sums[1], &iw = sums[2];
  double* mu_sum = sums.data() + 3;
  double* mu_sq = mu_sum + c.latent;
  while (batches.next()) {
    tape.reset();
    NoGradGuard guard(tape);
    const std::size_t m = batches.size();
    if (m == 0) continue;  // this rank's share of a batch smaller than the ranks
    Var<T> x = tape.constant(batches.x());
    std::optional<Var<T>> y;
    if (c.conditional()) y = tape.constant(batches.y_onehot());
    // Each example's eps and importance samples are keyed by its index, so any split of the set
    // over ranks draws the same ones.
    const std::span<const std::size_t> examples = batches.indices();
    const std::size_t width = model.noise_width();
    Var<T> eps = tape.constant_uninitialized(m, width);
    for (std::size_t i = 0; i < m; ++i)
      keyed_normal(key_of(options.seed, examples[i]), std::span<T>(eps.node().value + i * width, width));
    const Terms<T> terms = vae::terms(model, x, y, eps, Objective{}, false);
    for (std::size_t i = 0; i < m; ++i) {
      rec += terms.rec.node().value[i];
      if (terms.has_kl) kl += terms.kl.node().value[i];
    }
    const Var<T> mu = terms.mu;  // E_q[z]
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < c.latent; ++j) {
        const double v = mu.node().value[i * c.latent + j];
        mu_sum[j] += v;
        mu_sq[j] += v * v;
      }
    if (r.iw_samples) {
      // Summed in order: the same bits for any number of threads.
      const T* yi = c.conditional() ? batches.y_onehot().data() : nullptr;
      for (double v : iw_log_likelihoods(model, batches.x().data(), yi, examples, r.iw_samples, options.seed, iw_tapes)) iw -= v;
    }
    if (options.progress) options.progress(batches.global_end(), count);
  }
  dist::allreduce_sum(sums);
  r.rec = rec / double(count);
  r.kl = kl / double(count);
  r.nelbo = r.rec + r.kl;
  r.sigma2 = double(model.sigma2());
  if (r.iw_samples) r.iw_nll = iw / double(count);
  for (std::size_t j = 0; j < c.latent; ++j) {
    const double mean = mu_sum[j] / double(count);
    r.latent_variance.push_back(std::max(0.0, mu_sq[j] / double(count) - mean * mean));
    if (r.latent_variance.back() > 0.01) ++r.active_units;
  }
  return r;
}

template double iw_log_likelihood(Model<float>&, Tape<float>&, const float*, const float*, std::size_t, Rng&);
template double iw_log_likelihood(Model<double>&, Tape<double>&, const double*, const double*, std::size_t, Rng&);
template std::vector<double> iw_log_likelihoods(Model<float>&, const float*, const float*, std::span<const std::size_t>,
                                                std::size_t, std::uint64_t, std::vector<Tape<float>>&);
template std::vector<double> iw_log_likelihoods(Model<double>&, const double*, const double*,
                                                std::span<const std::size_t>, std::size_t, std::uint64_t,
                                                std::vector<Tape<double>>&);
template EvalResult evaluate(Model<float>&, const data::ImageSet&, const EvalOptions&);
template EvalResult evaluate(Model<double>&, const data::ImageSet&, const EvalOptions&);

}  // namespace vk::vae
