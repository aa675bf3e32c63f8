// The training options' names, learning-rate schedule and checks against the model: what a flag
// means before any training starts (vae/train.hpp declares them).
#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include <fmt/format.h>

#include "vae/train.hpp"

namespace vk::vae {

LrSchedule parse_lr_schedule(const std::string& s) {
  if (s == "constant") return LrSchedule::constant;
  if (s == "cosine") return LrSchedule::cosine;
  throw std::invalid_argument(fmt::format("unknown --lr-schedule '{}' (expected constant or cosine)", s));
}

const char* name(LrSchedule s) { return s == LrSchedule::cosine ? "cosine" : "constant"; }

Split parse_split(const std::string& s) {
  if (s == "ops") return Split::ops;
  if (s == "batch") return Split::batch;
  throw std::invalid_argument(fmt::format("unknown --split '{}' (expected ops or batch)", s));
}

const char* name(Split s) { return s == Split::batch ? "batch" : "ops"; }

Split auto_split(const TrainOptions& o, const ModelConfig& model, int threads) {
  const bool whole_batch = o.free_bits > 0 || (model.has_sigma() && model.sigma == Sigma::optimal);
  return threads > 1 && std::size_t(threads) <= kMaxShards && !whole_batch ? Split::batch : Split::ops;
}

double scheduled_lr(const TrainOptions& o, std::size_t step, std::size_t per_epoch) {
  if (o.lr_schedule == LrSchedule::constant) return o.lr;
  const double steps = double(o.schedule_epochs * per_epoch);
  const double t = std::min(1.0, double(step) / steps);
  return o.lr * 0.5 * (1 + std::cos(std::numbers::pi * t));
}

void validate_training(const TrainOptions& o, const ModelConfig& model) {
  if (o.batch == 0) throw std::invalid_argument("--batch must be at least 1");
  if (o.k == 0) throw std::invalid_argument("--k must be at least 1");
  if (o.dequantize && o.binarize != data::Binarize::none)
    throw std::invalid_argument("--dequantize uniform is for greyscale images, not with --binarize");
  if (o.bound == Bound::elbo && o.k != 1)
    throw std::invalid_argument("--k is the sample count of --objective iwae; the ELBO takes one sample");
  if (o.bound == Bound::iwae && !model.variational())
    throw std::invalid_argument("--objective iwae needs a variational model (--model vae, cvae or hvae)");
  if (model.discrete_pixels() && o.binarize != data::Binarize::none)
    throw std::invalid_argument("--likelihood logistic is a distribution over the 8-bit pixels: not with --binarize");
  if (model.discrete_pixels() && o.dequantize)
    throw std::invalid_argument("--likelihood logistic is a distribution over the 8-bit pixels themselves: not with "
                                "--dequantize uniform (its bins are the 256 values)");
  if (model.exact_density() && !o.dequantize)
    throw std::invalid_argument(fmt::format("--model {} is a density over dequantized pixels: it takes --dequantize uniform, "
                                            "not binarized or raw pixels", model.kind));
  if (!(o.free_bits >= 0)) throw std::invalid_argument("--free-bits must be non-negative");
  if (!(o.ema >= 0 && o.ema < 1)) throw std::invalid_argument("--ema must be in [0, 1) (0: no average)");
  if (o.lr_schedule == LrSchedule::cosine && o.schedule_epochs == 0)
    throw std::invalid_argument("--lr-schedule cosine spans the run's epochs: --epochs must be at least 1");
  // Both take figures of the whole batch (the mean KL per dimension, the batch's squared error as
  // sigma^2), which a shard's rows would change.
  if (o.split == Split::batch && o.free_bits > 0)
    throw std::invalid_argument("--split batch takes each shard's mean: not with --free-bits, whose KL floor is the whole batch's");
  if (o.split == Split::batch && model.has_sigma() && model.sigma == Sigma::optimal)
    throw std::invalid_argument("--split batch takes each shard's mean: not with --sigma optimal, whose sigma^2 is the whole batch's squared error");
  if (o.free_bits > 0 && (o.bound != Bound::elbo || !model.variational() || model.hierarchical() || model.learned_prior()))
    throw std::invalid_argument("--free-bits is for the ELBO of a VAE with the prior N(0, I) (its KL per dimension in closed form)");
}

}  // namespace vk::vae
