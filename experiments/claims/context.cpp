// The settings of a run, the verdict rules shared by every claim, and the models several claims
// measure (trained once per seed).
#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "datasets/batcher.hpp"
#include "datasets/load.hpp"
#include "experiments/claims/claims.hpp"
#include "experiments/claims/models.hpp"

namespace vk::claims {

Settings make_settings(bool quick, std::size_t seeds) {
  if (seeds < 1) throw std::invalid_argument("--seeds must be at least 1");
  Settings s;
  s.quick = quick;
  s.seeds = seeds;
  if (quick) {
    // Small enough for the test suite, large enough that every figure still compares two
    // things it can tell apart.
    s.train_limit = 4000;
    s.epochs = 3;
    s.hidden = {256};
    s.eval_images = 500;
    s.jacobian_points = 8;
    s.classifier_epochs = 2;
    s.slab_draws = 2'000'000;
  }
  return s;
}

nlohmann::json Settings::to_json() const {
  return {{"quick", quick}, {"seeds", seeds}, {"train_limit", train_limit}, {"epochs", epochs},
          {"hidden", hidden}, {"latent", latent}, {"eval_images", eval_images},
          {"jacobian_points", jacobian_points}, {"classifier_epochs", classifier_epochs},
          {"slab_draws", slab_draws}, {"data", data}};
}

const char* name(Verdict v) {
  switch (v) {
    case Verdict::supported: return "supported";
    case Verdict::not_supported: return "not supported";
    case Verdict::mixed: return "mixed";
  }
  return "?";
}

const Spread& Claim::get(const std::string& figure) const {
  for (const auto& [n, s] : figures)
    if (n == figure) return s;
  throw std::logic_error(fmt::format("claim {} has no figure '{}'", id, figure));
}

Verdict by_seeds(const std::vector<bool>& pass) {
  const auto yes = std::count(pass.begin(), pass.end(), true);
  if (yes == std::ptrdiff_t(pass.size())) return Verdict::supported;
  return yes == 0 ? Verdict::not_supported : Verdict::mixed;
}

report::Series mean_series(const std::string& name, const std::vector<double>& x, const std::vector<Spread>& y) {
  report::Series s{name, x, {}};
  for (const Spread& v : y) s.y.push_back(v.mean);
  return s;
}

Verdict both(Verdict a, Verdict b) { return a == b ? a : Verdict::mixed; }

std::vector<std::uint64_t> Context::seed_list() const {
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i < settings.seeds; ++i) out.push_back(i + 1);
  return out;
}

Context make_context(const Settings& s, bool seed_models) {
  Context ctx{s, data::load_dataset(s.data), {}, {}, {}};
  // The blur claim's Laplacian and the lecture's figures are of grey images.
  if (ctx.data.train.channels != 1)
    throw std::invalid_argument(fmt::format("--data: lecture-claims takes grey images; {} holds {} images", s.data,
                                            ctx.data.train.shape().text()));
  ctx.data.train = data::take_first(ctx.data.train, s.train_limit);
  ctx.test = data::take_first(ctx.data.test, s.eval_images);
  const data::ImageSet& train = ctx.data.train;

  ctx.classifier = std::make_unique<vae::Classifier>(train.dim(), train.classes, std::vector<std::size_t>{256}, 99);
  data::Batcher<float> batches(train, {.batch = 128, .seed = 99});
  for (std::size_t e = 0; e < s.classifier_epochs; ++e) ctx.classifier->train_epoch(batches);
  data::Batcher<float> held_out(ctx.test, {.batch = 500, .shuffle = false});
  fmt::print(stderr, "  classifier: test accuracy {:.3f}\n", ctx.classifier->accuracy(held_out));

  if (!seed_models) return ctx;
  for (const std::uint64_t seed : ctx.seed_list()) {
    vae::ModelConfig mc;
    mc.hidden = s.hidden;
    mc.latent = s.latent;
    mc.input_dim = train.dim();
    mc.image = train.shape();
    SeedModels m{seed, {}, {}, {}};
    const vae::TrainOptions plain{.seed = seed};
    mc.kind = "ae";
    m.ae = train_model(mc, train, plain, s.epochs, fmt::format("seed {} ae", seed));
    mc.kind = "rae";
    m.rae = train_model(mc, train, plain, s.epochs, fmt::format("seed {} rae", seed));
    // As vae-train trains a Gaussian VAE: greyscale pixels dequantized, sigma^2 learned.
    mc.kind = "vae";
    m.vae = train_model(mc, train, {.seed = seed, .dequantize = true}, s.epochs, fmt::format("seed {} vae", seed));
    ctx.seeds.push_back(std::move(m));
  }
  return ctx;
}

}  // namespace vk::claims
