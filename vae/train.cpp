#include "vae/train.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <exception>
#include <stdexcept>

#include <fmt/format.h>

#include "autodiff/ops.hpp"
#include "distributed/comm.hpp"
#include "io/json_number.hpp"
#include "vae/registry.hpp"

namespace vk::vae {

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
                                                                          : data::Dequantize::none,
                                         .shard = std::size_t(dist::rank()),
                                         .shards = std::size_t(dist::size())}),
      adam_(model.params(), AdamOptions<T>{.lr = T(options.lr)}) {
  validate_training(options, model.config());
  if (train.dim() != model.config().input_dim)
    throw std::invalid_argument(fmt::format("the model takes {} pixels per image, the data has {}",
                                            model.config().input_dim, train.dim()));
  model.begin_training(pixel_variance(train));
  if (model.initializes_from_data()) {
    // Every rank the same first images, dequantized with fixed draws: the same start everywhere.
    data::Batcher<T> first(train, data::BatchOptions{.batch = std::min<std::size_t>(train.count, 512),
                                                     .binarize = options.binarize,
                                                     .shuffle = false,
                                                     .binarize_seed = options.seed,
                                                     .dequantize = options.dequantize ? data::Dequantize::static_
                                                                                      : data::Dequantize::none});
    first.start_epoch();
    first.next();
    Tape<T> tape;
    NoGradGuard guard(tape);
    model.initialize(tape.constant(first.x()));
  }
  // The same start on every rank (a seed gives it already; this makes it so by construction).
  dist::broadcast(model.params().values());
  if (options.ema > 0) average_.assign(model.params().values().begin(), model.params().values().end());
  if (options.split == Split::batch && parallel::threads() > int(kMaxShards))
    throw std::invalid_argument(fmt::format("--split batch: at most {} threads", kMaxShards));
  if (options.split == Split::batch)
    for (int s = 1; s < parallel::threads(); ++s) {
      Shard& shard = shards_.emplace_back(Shard{make_model<T>(model.config(), options.seed), std::make_unique<Tape<T>>()});
      if (shard.model->params().size() != model.params().size())
        throw std::logic_error("a copy of the model has other parameters than the model");
    }
}

// The decay rises as (1 + t) / (10 + t) to --ema over the first steps (as TensorFlow's
// ExponentialMovingAverage with num_updates), so the random start is forgotten within a few
// hundred steps rather than 1 / (1 - decay).
template <class T>
void Trainer<T>::update_average() {
  const double t = double(step_ + 1);
  const T keep = T(std::min(options_.ema, (1 + t) / (10 + t)));
  const std::span<const T> p = model_.params().values();
  T* a = average_.data();
  auto blend = [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) a[i] = keep * a[i] + (1 - keep) * p[i];
  };
  parallel::for_range(p.size(), blend);
}

template <class T>
void Trainer<T>::swap_average() {
  if (average_.empty()) return;
  const std::span<T> p = model_.params().values();
  std::swap_ranges(p.begin(), p.end(), average_.begin());
}

template <class T>
void Trainer<T>::fill_eps(Var<T> eps, std::size_t k, std::size_t first, std::size_t rows) {
  const std::span<const std::size_t> examples = batches_.indices().subspan(first, rows);
  const std::size_t m = examples.size(), w = eps.cols();
  for (std::size_t s = 0; s < k; ++s)
    for (std::size_t i = 0; i < m; ++i)
      keyed_normal(key_of(key_of(eps_key_, examples[i]), s), std::span<T>(eps.node().value + (s * m + i) * w, w));
}

template <class T>
void Trainer<T>::shard_step(Model<T>& model, Tape<T>& tape, std::size_t first, std::size_t rows,
                            const Objective& objective, std::span<double, 3> sums) {
  const Matrix<T>& xs = batches_.x();
  const std::size_t d = xs.shape(1);
  Var<T> x = tape.constant(xs.data() + first * d, rows, d);
  std::optional<Var<T>> y;
  if (model.config().conditional()) {
    const Matrix<T>& ys = batches_.y_onehot();
    y = tape.constant(ys.data() + first * ys.shape(1), rows, ys.shape(1));
  }
  const std::size_t k = objective.request(true).k;
  Var<T> eps = tape.constant_uninitialized(k * rows, model.noise_width());
  fill_eps(eps, k, first, rows);
  const Terms<T> terms = vae::terms(model, x, y, eps, objective, true);
  sums[0] = terms.loss.item() * double(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    sums[1] += terms.rec.node().value[i];
    if (terms.has_kl) sums[2] += terms.kl.node().value[i];
  }
  tape.backward(terms.loss);
}

template <class T>
void Trainer<T>::sharded_step(std::size_t m, const Objective& objective, std::span<double, 3> sums) {
  const std::size_t count = shards_.size() + 1;
  std::array<std::array<double, 3>, kMaxShards> part{};  // per shard: loss x rows, rec, kl
  std::array<std::exception_ptr, kMaxShards> failed{};
  const std::span<const T> values = model_.params().values();
  auto shard = [&](std::size_t s, std::size_t) {
    try {
      const std::size_t first = m * s / count, rows = m * (s + 1) / count - first;
      Model<T>& model = s == 0 ? model_ : *shards_[s - 1].model;
      Tape<T>& tape = s == 0 ? tape_ : *shards_[s - 1].tape;
      if (s > 0) {
        tape.reset();
        std::copy(values.begin(), values.end(), model.params().values().begin());
        model.params().zero_grad();
      }
      if (rows > 0) shard_step(model, tape, first, rows, objective, part[s]);
    } catch (...) {
      failed[s] = std::current_exception();
    }
  };
  parallel::for_tasks(count, shard);
  for (std::size_t s = 0; s < count; ++s)
    if (failed[s]) std::rethrow_exception(failed[s]);
  // Each shard's gradient is of its rows' mean: weighted by its share of the batch, summed in
  // shard order, the same arithmetic for every element however for_range splits them.
  std::array<T, kMaxShards> share{};
  std::array<const T*, kMaxShards> grads{};
  for (std::size_t s = 0; s < count; ++s) {
    share[s] = T(double(m * (s + 1) / count - m * s / count) / double(m));
    grads[s] = s == 0 ? model_.params().grads().data() : shards_[s - 1].model->params().grads().data();
    for (std::size_t j = 0; j < 3; ++j) sums[j] += part[s][j];
  }
  T* g = model_.params().grads().data();
  auto combine = [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      T total = share[0] * g[i];
      for (std::size_t s = 1; s < count; ++s) total += share[s] * grads[s][i];
      g[i] = total;
    }
  };
  parallel::for_range(model_.params().size(), combine);
}

template <class T>
void Trainer<T>::reduce_step(std::size_t rows, std::size_t global_rows, std::span<double> sums) {
  if (dist::size() == 1) return;
  const auto start = std::chrono::steady_clock::now();
  const T share = T(rows) / T(global_rows);
  auto scale = [g = model_.params().grads().data(), share](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) g[i] *= share;
  };
  parallel::for_range(model_.params().size(), scale);
  dist::allreduce_sum(model_.params().grads());
  dist::allreduce_sum(sums);
  reduce_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

namespace {

// The optimal sigma^2's sums over the epoch so far, gathered by every rank from its shards.
template <class T>
typename NoiseModel<T>::EpochProgress summed(typename NoiseModel<T>::EpochProgress p) {
  std::array<double, 2> b = {p.squared_error_sum, double(p.rows)};
  dist::allreduce_sum(b);
  return {b[0], std::size_t(b[1])};
}

}  // namespace

template <class T>
EpochStats Trainer<T>::run_epoch(const std::function<void(std::size_t, std::size_t, double)>& on_batch,
                                 const std::atomic<bool>* stop) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const std::size_t total = batches_.count(), per_epoch = batches_.batches_per_epoch();
  if (!in_epoch_) {
    ++epoch_;
    in_epoch_ = true;
    loss_sum_ = rec_sum_ = kl_sum_ = seconds_ = reduce_seconds_ = 0;
    seen_ = batch_index_ = 0;
    eps_key_ = key_of(options_.seed ^ kGolden, epoch_);
    batches_.start_epoch();
  }
  EpochStats s;
  s.epoch = epoch_;
  while (batches_.next()) {
    ++batch_index_;
    const std::size_t m = batches_.size(), global = batches_.global_size();
    double kl_weight = options_.beta;
    if (options_.warmup_epochs > 0)
      kl_weight *= std::min(1.0, double(step_ + 1) / double(options_.warmup_epochs * per_epoch));
    // loss x rows, rec and kl summed over rows, whether a stop was asked: summed over the ranks,
    // so that every rank sees the same loss and stops after the same step.
    std::array<double, 4> sums = {0, 0, 0, stop && stop->load() ? 1.0 : 0.0};
    tape_.reset();
    adam_.zero_grad();
    if (m > 0) {  // a rank's share of a last batch smaller than the ranks can be empty
      const Objective objective{options_.bound, options_.k, kl_weight, options_.free_bits};
      const std::span<double, 3> step_sums(sums.data(), 3);
      if (shards_.empty()) shard_step(model_, tape_, 0, m, objective, step_sums);
      else sharded_step(m, objective, step_sums);
    }
    reduce_step(m, global, sums);
    if (!std::isfinite(sums[0])) {  // fmt prints a NaN with its sign bit as "-nan": say plainly nan
      const double loss = sums[0] / double(global);
      throw Diverged(fmt::format(
          "training diverged: the loss is {} at epoch {}, batch {} of {}",
          std::isnan(loss) ? "nan" : fmt::format("{}", loss), epoch_, batch_index_, per_epoch));
    }
    if (options_.clip > 0) clip_grad_norm(model_.params(), T(options_.clip));
    // From the step count, which a checkpoint keeps: a resumed run takes the same rates.
    if (options_.lr_schedule != LrSchedule::constant) adam_.options().lr = T(scheduled_lr(options_, step_, per_epoch));
    adam_.step();
    if (!average_.empty()) update_average();
    model_.after_step(m);
    ++step_;

    rec_sum_ += sums[1];
    kl_sum_ += sums[2];
    loss_sum_ += sums[0];
    seen_ += global;
    if (on_batch) on_batch(seen_, total, loss_sum_ / double(seen_));
    // A stop asked on any rank before the sums stops every rank after this step; one process
    // also stops for one asked while on_batch ran, as the step it is in.
    if (sums[3] > 0 || (dist::size() == 1 && stop && stop->load())) {
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
  if (NoiseModel<T>* noise = model_.noise()) noise->restore(summed<T>(noise->epoch_progress()));
  model_.end_epoch();
  in_epoch_ = false;
  s.batch = batch_index_;
  s.loss = loss_sum_ / double(seen_);
  s.rec = rec_sum_ / double(seen_);
  s.kl = kl_sum_ / double(seen_);
  s.seconds = seconds_ + std::chrono::duration<double>(Clock::now() - start).count();
  s.images_per_second = double(seen_) / s.seconds;
  s.reduce_seconds = reduce_seconds_;
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
      {"epoch", epoch_}, {"step", step_}, {"adam_steps", adam_.steps()}, {"in_epoch", in_epoch_},
      {"partial", {{"loss_sum", loss_sum_}, {"rec_sum", rec_sum_}, {"kl_sum", kl_sum_}, {"seconds", seconds_},
                   {"seen", seen_}, {"batch", batch_index_}}},
      {"batches", {{"start", b.start}, {"size", b.size}, {"epoch", b.epoch}, {"in_epoch", b.in_epoch}}}};
  if (const NoiseModel<T>* noise = model_.noise()) {
    const auto p = summed<T>(noise->epoch_progress());
    info["noise"] = {{"squared_error_sum", p.squared_error_sum}, {"rows", p.rows}};
  }
  TrainingState state{std::move(info), {}};
  state.arrays.emplace_back("adam.m", as_floats(adam_.first_moments()));
  state.arrays.emplace_back("adam.v", as_floats(adam_.second_moments()));
  if (!average_.empty()) state.arrays.emplace_back("ema", as_floats(average_));
  return state;
}

template <class T>
void Trainer<T>::restore(const TrainingState& state) {
  try {
    const nlohmann::json& i = state.info;
    if (state.arrays.size() < 2 || state.arrays[0].first != "adam.m" || state.arrays[1].first != "adam.v")
      throw std::invalid_argument("it has no Adam moments (adam.m, adam.v)");
    const bool has_average = state.arrays.size() == 3 && state.arrays[2].first == "ema";
    if (state.arrays.size() != (has_average ? 3 : 2))
      throw std::invalid_argument("it has arrays other than adam.m, adam.v and ema");
    if (has_average != !average_.empty())
      throw std::invalid_argument(has_average ? "it has a moving average of the parameters (ema), which the run's settings do not ask for"
                                              : "it has no moving average of the parameters (ema), which the run's --ema asks for");
    if (has_average && state.arrays[2].second.size() != average_.size())
      throw std::invalid_argument(fmt::format("its moving average has {} values, the model {} parameters",
                                              state.arrays[2].second.size(), average_.size()));
    const std::vector<T> m(state.arrays[0].second.begin(), state.arrays[0].second.end());
    const std::vector<T> v(state.arrays[1].second.begin(), state.arrays[1].second.end());
    const nlohmann::json& b = i.at("batches");
    const nlohmann::json& p = i.at("partial");
    batches_.restore({whole_number<std::size_t>(b.at("start"), "start"), whole_number<std::size_t>(b.at("size"), "size"),
                      whole_number<std::size_t>(b.at("epoch"), "epoch"), b.at("in_epoch")});
    adam_.restore(m, v, whole_number<std::size_t>(i.at("adam_steps"), "adam_steps"));
    if (has_average) average_.assign(state.arrays[2].second.begin(), state.arrays[2].second.end());
    epoch_ = whole_number<std::size_t>(i.at("epoch"), "epoch");
    eps_key_ = key_of(options_.seed ^ kGolden, epoch_);
    step_ = whole_number<std::size_t>(i.at("step"), "step");
    in_epoch_ = i.at("in_epoch");
    loss_sum_ = p.at("loss_sum");
    rec_sum_ = p.at("rec_sum");
    kl_sum_ = p.at("kl_sum");
    seconds_ = p.at("seconds");
    seen_ = whole_number<std::size_t>(p.at("seen"), "seen");
    batch_index_ = whole_number<std::size_t>(p.at("batch"), "batch");
    // The sums so far are the whole job's: rank 0 carries them on, the others start from none.
    if (NoiseModel<T>* noise = model_.noise())
      noise->restore(dist::is_root() ? typename NoiseModel<T>::EpochProgress{i.at("noise").at("squared_error_sum"),
                                                                            whole_number<std::size_t>(i.at("noise").at("rows"), "rows")}
                                     : typename NoiseModel<T>::EpochProgress{});
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("the training state is incomplete: ") + e.what());
  } catch (const IoError& e) {  // the batcher's
    throw std::invalid_argument(e.what());
  }
}

template class Trainer<float>;
template class Trainer<double>;

}  // namespace vk::vae
