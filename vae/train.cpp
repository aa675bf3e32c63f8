#include "vae/train.hpp"

#include <chrono>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "autodiff/ops.hpp"

namespace vk::vae {

Bound parse_bound(const std::string& s) {
  if (s == "elbo") return Bound::elbo;
  if (s == "iwae") return Bound::iwae;
  throw std::invalid_argument(fmt::format("unknown objective '{}' (expected elbo or iwae)", s));
}

const char* name(Bound b) { return b == Bound::iwae ? "iwae" : "elbo"; }

void validate_training(const TrainOptions& o, const ModelConfig& model) {
  if (o.batch == 0) throw std::invalid_argument("--batch must be at least 1");
  if (o.k == 0) throw std::invalid_argument("--k must be at least 1");
  if (o.dequantize && o.binarize != data::Binarize::none)
    throw std::invalid_argument("--dequantize uniform is for greyscale images, not with --binarize");
  if (o.bound == Bound::elbo && o.k != 1)
    throw std::invalid_argument("--k is the sample count of --objective iwae; the ELBO takes one sample");
  if (o.bound == Bound::iwae && !model.variational())
    throw std::invalid_argument("--objective iwae needs a variational model (--model vae or cvae)");
}

double pixel_variance(const data::ImageSet& set) {
  const std::size_t d = set.dim();
  std::vector<double> sum(d, 0.0), sq(d, 0.0);
  for (std::size_t i = 0; i < set.count; ++i) {
    const std::uint8_t* p = set.pixels.data() + i * d;
    for (std::size_t j = 0; j < d; ++j) {
      const double v = p[j] / 255.0;
      sum[j] += v;
      sq[j] += v * v;
    }
  }
  double total = 0;
  for (std::size_t j = 0; j < d; ++j) {
    const double mean = sum[j] / double(set.count);
    total += sq[j] / double(set.count) - mean * mean;
  }
  return total / double(d);
}

template <class T>
Trainer<T>::Trainer(Model<T>& model, const data::ImageSet& train, const TrainOptions& options)
    : model_(model),
      options_(options),
      batches_(train, data::BatchOptions{.batch = options.batch,
                                         .seed = options.seed,
                                         .binarize = options.binarize,
                                         .shuffle = true,
                                         .drop_last = false,
                                         .binarize_seed = options.seed,
                                         .dequantize = options.dequantize ? data::Dequantize::dynamic
                                                                          : data::Dequantize::none}),
      adam_(model.params(), AdamOptions<T>{.lr = T(options.lr)}),
      rng_(options.seed ^ 0x9e3779b97f4a7c15ULL) {
  validate_training(options, model.config());
  if (train.dim() != model.config().input_dim)
    throw std::invalid_argument(fmt::format("the model takes {} pixels per image, the data has {}",
                                            model.config().input_dim, train.dim()));
  model.begin_training(pixel_variance(train));
}

template <class T>
EpochStats Trainer<T>::run_epoch(const std::function<void(std::size_t, std::size_t, double)>& on_batch) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const ModelConfig& c = model_.config();
  const std::size_t total = batches_.count(), per_epoch = batches_.batches_per_epoch();
  ++epoch_;
  EpochStats s;
  s.epoch = epoch_;
  double loss_sum = 0, rec_sum = 0, kl_sum = 0;
  std::size_t seen = 0, batch_index = 0;
  std::normal_distribution<T> normal;
  batches_.start_epoch();
  while (batches_.next()) {
    ++batch_index;
    const std::size_t m = batches_.size();
    double kl_weight = options_.beta;
    if (options_.warmup_epochs > 0)
      kl_weight *= std::min(1.0, double(step_ + 1) / double(options_.warmup_epochs * per_epoch));
    tape_.reset();
    Var<T> x = tape_.constant(batches_.x());
    std::optional<Var<T>> y;
    if (c.conditional()) y = tape_.constant(batches_.y_onehot());
    const bool iwae = options_.bound == Bound::iwae;
    Var<T> eps = tape_.constant_uninitialized(iwae ? options_.k * m : m, c.noise_width());
    for (T& e : eps.value()) e = normal(rng_);  // one generator through the run, so a seed fixes it
    auto terms = iwae ? model_.iwae_terms(x, y, eps, options_.k, T(kl_weight), true)
                      : model_.terms(x, y, eps, T(kl_weight), true);
    const double loss = terms.loss.item();
    if (!std::isfinite(loss))  // fmt prints a NaN with its sign bit as "-nan": say plainly nan
      throw std::runtime_error(fmt::format(
          "training diverged: the loss is {} at epoch {}, batch {} of {} (try a lower --lr or --clip)",
          std::isnan(loss) ? "nan" : fmt::format("{}", loss), epoch_, batch_index, per_epoch));
    adam_.zero_grad();
    tape_.backward(terms.loss);
    if (options_.clip > 0) clip_grad_norm(model_.params(), T(options_.clip));
    adam_.step();
    model_.after_step(m);
    ++step_;

    for (std::size_t i = 0; i < m; ++i) {
      rec_sum += terms.rec.node().value[i];
      if (terms.has_kl) kl_sum += terms.kl.node().value[i];
    }
    loss_sum += loss * double(m);
    seen += m;
    if (on_batch) on_batch(seen, total, loss_sum / double(seen));
  }
  tape_.reset();
  model_.end_epoch();
  s.loss = loss_sum / double(seen);
  s.rec = rec_sum / double(seen);
  s.kl = kl_sum / double(seen);
  s.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  s.images_per_second = double(seen) / s.seconds;
  return s;
}

template class Trainer<float>;
template class Trainer<double>;

}  // namespace vk::vae
