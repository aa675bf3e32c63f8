// lecture-claims: each claim of the lecture as an experiment whose measured figures decide a
// verdict by a rule that the output states. A claim group (one file each) fills Claim records;
// output.cpp writes them as claims.json, report.md and report.html.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/mnist.hpp"
#include "experiments/claims/stats.hpp"
#include "experiments/draw/charts.hpp"
#include "experiments/draw/html.hpp"
#include "experiments/measure/linalg.hpp"
#include "experiments/measure/sharpness.hpp"
#include "vae/classifier.hpp"
#include "vae/model.hpp"

namespace vk::claims {

// How big every experiment is: --quick shrinks all of them at once.
struct Settings {
  bool quick = false;
  std::size_t seeds = 3;
  std::size_t train_limit = 20000;  // Fashion-MNIST training images the models see
  std::size_t epochs = 5;
  std::vector<std::size_t> hidden = {400};
  std::size_t latent = 20;
  std::size_t eval_images = 2000;   // test images encoded, samples drawn
  std::size_t jacobian_points = 25; // z at which the decoder Jacobian is taken
  std::size_t classifier_epochs = 3;
  std::size_t slab_draws = 10'000'000;
  std::string data = data::default_data_dir;
  nlohmann::json to_json() const;
};
Settings make_settings(bool quick, std::size_t seeds);  // throws when seeds is 0

enum class Verdict { supported, not_supported, mixed };
const char* name(Verdict v);

// A figure of the report: a chart or a picture, with its caption.
struct Figure {
  std::string id, caption;
  report::Svg svg;                  // a chart, or
  std::vector<std::uint8_t> png;    // a picture
};

struct Claim {
  int id = 0;
  // Every member has an initializer, so that Claim{id, slug, statement} leaves none unnamed.
  std::string slug{}, statement{}, rule{};
  nlohmann::json settings = nlohmann::json::object();
  std::vector<std::pair<std::string, Spread>> figures{};  // in the order shown
  Verdict verdict = Verdict::mixed;
  std::string summary{};  // one sentence: what was measured, for report.md and README
  std::vector<Figure> pictures{};

  void add(const std::string& figure, const std::vector<double>& per_seed) { figures.push_back({figure, spread(per_seed)}); }
  const Spread& get(const std::string& figure) const;
};

// All of a rule's per-seed tests true in every seed: supported; none: not supported; else mixed.
Verdict by_seeds(const std::vector<bool>& per_seed_pass);
// Two parts of a claim: both supported -> supported, both not -> not supported, else mixed.
Verdict both(Verdict a, Verdict b);

// A chart's line through the means over seeds of figures taken at x.
report::Series mean_series(const std::string& name, const std::vector<double>& x, const std::vector<Spread>& y);

// The models of one seed on Fashion-MNIST that several claims share.
struct SeedModels {
  std::uint64_t seed;
  std::unique_ptr<vae::Model<float>> ae, rae, vae;
};

// What every claim may read: the data, the shared models per seed, the classifier (trained
// once on the training images: the judge, not a subject).
struct Context {
  Settings settings;
  data::Dataset data;  // train cut to settings.train_limit
  data::ImageSet test; // the first settings.eval_images test images
  std::vector<SeedModels> seeds;  // empty when no claim that reads them runs
  std::unique_ptr<vae::Classifier> classifier;
  std::vector<std::uint64_t> seed_list() const;  // 1, 2, ..., settings.seeds
};

// Loads the data and trains the classifier; with seed_models, also the AE, regularized AE and VAE
// of every seed.
Context make_context(const Settings& s, bool seed_models = true);

// The claims, by group.
std::vector<Claim> geometry_claims(Context& ctx);    // 1 decoder rank, 3 RAE latent, 4 manifold
std::vector<Claim> sample_claims(Context& ctx);      // 2 improper z, 6 prior samples
std::vector<Claim> image_claims(Context& ctx);       // 7 smoothness, 8 blur
Claim slab_claim(const Settings& s);                 // 5 conditioning on slabs
Claim cvae_claim(Context& ctx);                      // 9 CVAE accuracy
Claim posterior_gap_claim(Context& ctx);             // 10 the posterior's share of the gap (IAF)
Claim exact_density_claim(Context& ctx);             // 11 a flow's closed-form density
Claim depth_claim(Context& ctx);                     // 12 a deeper chain of latents, sharper samples

// claims.json, report.md and report.html in dir, each written atomically.
void write_outputs(const std::filesystem::path& dir, const std::vector<Claim>& claims, const Settings& s,
                   double seconds);

}  // namespace vk::claims
