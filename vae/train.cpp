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
EpochStats Trainer<T>::run_epoch(const std::function<void(std::size_t, std::size_t, double)>& on_batch,
                                 const std::atomic<bool>* stop) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const ModelConfig& c = model_.config();
  const std::size_t total = batches_.count(), per_epoch = batches_.batches_per_epoch();
  if (!in_epoch_) {
    ++epoch_;
    in_epoch_ = true;
    loss_sum_ = rec_sum_ = kl_sum_ = seconds_ = 0;
    seen_ = batch_index_ = 0;
    normal_.reset();
    batches_.start_epoch();
  }
  EpochStats s;
  s.epoch = epoch_;
  while (batches_.next()) {
    ++batch_index_;
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
    for (T& e : eps.value()) e = normal_(rng_);  // one generator through the run, so a seed fixes it
    auto terms = iwae ? model_.iwae_terms(x, y, eps, options_.k, T(kl_weight), true)
                      : model_.terms(x, y, eps, T(kl_weight), true);
    const double loss = terms.loss.item();
    if (!std::isfinite(loss))  // fmt prints a NaN with its sign bit as "-nan": say plainly nan
      throw Diverged(fmt::format(
          "training diverged: the loss is {} at epoch {}, batch {} of {}",
          std::isnan(loss) ? "nan" : fmt::format("{}", loss), epoch_, batch_index_, per_epoch));
    adam_.zero_grad();
    tape_.backward(terms.loss);
    if (options_.clip > 0) clip_grad_norm(model_.params(), T(options_.clip));
    adam_.step();
    model_.after_step(m);
    ++step_;

    for (std::size_t i = 0; i < m; ++i) {
      rec_sum_ += terms.rec.node().value[i];
      if (terms.has_kl) kl_sum_ += terms.kl.node().value[i];
    }
    loss_sum_ += loss * double(m);
    seen_ += m;
    if (on_batch) on_batch(seen_, total, loss_sum_ / double(seen_));
    if (stop && stop->load()) {
      require_finite_parameters(per_epoch);
      tape_.reset();
      seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
      s.finished = false;
      s.batch = batch_index_;
      return s;
    }
  }
  tape_.reset();
  require_finite_parameters(per_epoch);
  model_.end_epoch();
  in_epoch_ = false;
  s.batch = batch_index_;
  s.loss = loss_sum_ / double(seen_);
  s.rec = rec_sum_ / double(seen_);
  s.kl = kl_sum_ / double(seen_);
  s.seconds = seconds_ + std::chrono::duration<double>(Clock::now() - start).count();
  s.images_per_second = double(seen_) / s.seconds;
  return s;
}

template <class T>
void Trainer<T>::require_finite_parameters(std::size_t per_epoch) const {
  for (T v : model_.params().values())
    if (!std::isfinite(v))
      throw Diverged(fmt::format(
          "training diverged: a parameter is {} after epoch {}, batch {} of {} (a gradient was not finite)",
          std::isnan(v) ? "nan" : "inf", epoch_, batch_index_, per_epoch));
}

namespace {

template <class T>
std::vector<float> as_floats(const std::vector<T>& v) {
  return {v.begin(), v.end()};
}

}  // namespace

template <class T>
TrainingState Trainer<T>::state() const {
  const data::BatcherState b = batches_.state();
  nlohmann::json info = {
      {"epoch", epoch_}, {"step", step_}, {"adam_steps", adam_.steps()}, {"in_epoch", in_epoch_}, {"rng", state_text(rng_)},
      {"normal", state_text(normal_)},
      {"partial", {{"loss_sum", loss_sum_}, {"rec_sum", rec_sum_}, {"kl_sum", kl_sum_}, {"seconds", seconds_},
                   {"seen", seen_}, {"batch", batch_index_}}},
      {"batches", {{"order_rng", b.order_rng}, {"noise_rng", b.noise_rng}, {"order", b.order}, {"start", b.start},
                   {"size", b.size}, {"epoch", b.epoch}, {"in_epoch", b.in_epoch}}}};
  if (const NoiseModel<T>* noise = model_.noise()) {
    const auto p = noise->epoch_progress();
    info["noise"] = {{"squared_error_sum", p.squared_error_sum}, {"rows", p.rows}};
  }
  TrainingState state{std::move(info), {}};
  state.arrays.emplace_back("adam.m", as_floats(adam_.first_moments()));
  state.arrays.emplace_back("adam.v", as_floats(adam_.second_moments()));
  return state;
}

template <class T>
void Trainer<T>::restore(const TrainingState& state) {
  try {
    const nlohmann::json& i = state.info;
    if (state.arrays.size() != 2 || state.arrays[0].first != "adam.m" || state.arrays[1].first != "adam.v")
      throw std::invalid_argument("it has no Adam moments (adam.m, adam.v)");
    const std::vector<T> m(state.arrays[0].second.begin(), state.arrays[0].second.end());
    const std::vector<T> v(state.arrays[1].second.begin(), state.arrays[1].second.end());
    const nlohmann::json& b = i.at("batches");
    const nlohmann::json& p = i.at("partial");
    batches_.restore({b.at("order_rng"), b.at("noise_rng"), b.at("order").get<std::vector<std::size_t>>(),
                      b.at("start"), b.at("size"), b.at("epoch"), b.at("in_epoch")});
    restore_state(rng_, i.at("rng").get<std::string>());
    restore_state(normal_, i.at("normal").get<std::string>());
    adam_.restore(m, v, i.at("adam_steps").get<std::size_t>());
    epoch_ = i.at("epoch");
    step_ = i.at("step");
    in_epoch_ = i.at("in_epoch");
    loss_sum_ = p.at("loss_sum");
    rec_sum_ = p.at("rec_sum");
    kl_sum_ = p.at("kl_sum");
    seconds_ = p.at("seconds");
    seen_ = p.at("seen");
    batch_index_ = p.at("batch");
    if (NoiseModel<T>* noise = model_.noise())
      noise->restore({i.at("noise").at("squared_error_sum"), i.at("noise").at("rows")});
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("the training state is incomplete: ") + e.what());
  } catch (const IoError& e) {  // the batcher's
    throw std::invalid_argument(e.what());
  }
}

template class Trainer<float>;
template class Trainer<double>;

}  // namespace vk::vae
