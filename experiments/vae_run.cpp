#include "experiments/vae_run.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <sys/resource.h>

#include <fmt/format.h>

#include "io/checkpoint.hpp"
#include "autodiff/ops.hpp"
#include "experiments/support/plots.hpp"
#include "experiments/support/files.hpp"
#include "experiments/support/png.hpp"
#include "io/npy.hpp"

namespace vk::programs {

data::Binarize parse_binarize(const std::string& s) {
  if (s == "none") return data::Binarize::none;
  if (s == "static") return data::Binarize::static_;
  if (s == "dynamic") return data::Binarize::dynamic;
  throw std::invalid_argument(fmt::format("unknown binarization '{}' (expected none, static or dynamic)", s));
}

bool parse_dequantize(const std::string& s) {
  if (s == "uniform") return true;
  if (s == "none") return false;
  throw std::invalid_argument(fmt::format("unknown --dequantize '{}' (expected none or uniform)", s));
}

namespace {

std::vector<std::size_t> parse_sizes(const std::string& s, char separator, const char* what) {
  std::vector<std::size_t> sizes;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, separator)) {
    std::size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(part, &used);
    } catch (const std::exception&) {
    }
    if (v <= 0 || used != part.size()) throw std::invalid_argument(fmt::format("{}: '{}'", what, s));
    sizes.push_back(std::size_t(v));
  }
  return sizes;
}

}  // namespace

std::vector<std::size_t> parse_widths(const std::string& s) {
  return parse_sizes(s, ',', "--hidden is not a comma list of positive widths");
}

Arch parse_arch(const std::string& s) {
  const char* what = "--arch is not input-hidden...-latent of positive widths (e.g. 784-400-20)";
  const auto sizes = parse_sizes(s, '-', what);
  if (sizes.size() < 3) throw std::invalid_argument(fmt::format("{}: '{}'", what, s));
  return {sizes.front(), {sizes.begin() + 1, sizes.end() - 1}, sizes.back()};
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

const char* name(data::Binarize b) {
  switch (b) {
    case data::Binarize::none: return "none";
    case data::Binarize::static_: return "static";
    case data::Binarize::dynamic: return "dynamic";
  }
  return "?";
}

RunData load_run_data(const std::filesystem::path& dir, std::size_t limit, data::Binarize binarize) {
  RunData r{data::load_mnist_folder(dir), {}};
  if (limit && limit < r.dataset.train.count) r.dataset.train = data::take_first(r.dataset.train, limit);
  r.test = r.dataset.test;
  if (binarize != data::Binarize::none) data::binarize_static(r.test, kTestBinarizeSeed);
  return r;
}

vae::EvalOptions eval_options(bool dequantize, std::size_t iw_samples, std::size_t limit) {
  vae::EvalOptions o;
  o.batch = 500;
  o.seed = kEvalSeed;
  o.iw_samples = iw_samples;
  o.limit = limit;
  o.dequantize = dequantize;
  o.dequantize_seed = kTestBinarizeSeed;
  return o;
}

bool dequantized(const nlohmann::json& config) {
  return config.at("training").value("dequantize", std::string("none")) == "uniform";
}

nlohmann::json eval_json(const vae::EvalResult& r, std::size_t dim, bool dequantized) {
  nlohmann::json j = {{"test_nelbo", r.nelbo}, {"test_rec", r.rec}, {"test_kl", r.kl},
                      {"active_units", r.active_units}, {"test_count", r.count}};
  j["sigma2"] = std::isnan(r.sigma2) ? nlohmann::json(nullptr) : nlohmann::json(r.sigma2);
  if (dequantized) j["bits_per_dim"] = vae::bits_per_dim(r.nelbo, dim);
  if (r.iw_samples) {
    j["iw_nll"] = r.iw_nll;
    j["iw_samples"] = r.iw_samples;
    if (dequantized) j["iw_bits_per_dim"] = vae::bits_per_dim(r.iw_nll, dim);
  }
  return j;
}

void write_test_set(const data::ImageSet& test, const vae::EvalOptions& options, const char* form,
                    const std::filesystem::path& dir) {
  const std::size_t n = options.limit ? std::min(options.limit, test.count) : test.count;
  const data::ImageSet first = data::take_first(test, n);
  data::BatchOptions bo = vae::eval_batches(options);
  bo.batch = n;
  data::Batcher<float> batch(first, bo);
  batch.next();
  std::filesystem::create_directories(dir);
  const std::array<std::size_t, 2> shape{n, test.dim()}, label_shape{n, 1};
  write_npy(dir / "images.npy", batch.x().data(), shape);
  std::vector<float> labels(first.labels.begin(), first.labels.end());
  write_npy(dir / "labels.npy", labels.data(), label_shape);
  support::write_json_atomic(dir / "info.json", {{"form", form}, {"count", n}, {"seed", kTestBinarizeSeed}});
}

nlohmann::json read_run_config(const std::filesystem::path& dir) {
  const auto config_path = dir / "config.json";
  std::ifstream in(config_path);
  if (!in) throw std::runtime_error(fmt::format("{}: not a run folder (no config.json)", dir.string()));
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: malformed JSON: {}", config_path.string(), e.what()));
  }
  if (!config.is_object() || !config.contains("model") || !config.contains("training") || !config.contains("data"))
    throw std::runtime_error(fmt::format("{}: not a run's config (no model, training and data)", config_path.string()));
  return config;
}

LoadedRun load_run(const std::filesystem::path& dir) {
  nlohmann::json config = read_run_config(dir);
  std::filesystem::path checkpoint;
  try {
    checkpoint = find_checkpoint(dir / "checkpoint");
  } catch (const IoError&) {
    throw std::runtime_error(fmt::format("{}: the run has no checkpoint (no checkpoint/manifest.json)", dir.string()));
  }
  const nlohmann::json manifest = read_checkpoint_manifest(checkpoint);
  if (!manifest.contains("metadata") || !manifest["metadata"].contains("model"))
    throw std::runtime_error(fmt::format("{}: the manifest does not describe the model", checkpoint.string()));
  vae::Model<float> model(vae::model_config_from_json(manifest["metadata"]["model"]), 0);
  load_checkpoint(checkpoint, model.params());
  return {std::move(config), std::move(model)};
}

namespace {

// Decoder means for a batch of latent codes [n, latent], labelled label_of(i) when conditional.
template <class F>
std::vector<float> decode_means(vae::Model<float>& model, const float* z, std::size_t n, F label_of) {
  const auto& c = model.config();
  Tape<float> tape;
  NoGradGuard guard(tape);
  std::optional<Var<float>> y;
  if (c.conditional()) y = vae::one_hot_rows(tape, n, c.classes, label_of);
  Var<float> mean = model.mean_image(model.decode(tape.constant(z, n, c.latent), y));
  return {mean.node().value, mean.node().value + n * c.input_dim};
}

// mu(x) of the first n images of a set, [n, latent].
std::vector<float> encode_means(vae::Model<float>& model, const data::ImageSet& set, std::size_t n) {
  const auto& c = model.config();
  data::ImageSet first = data::take_first(set, n);
  data::Batcher<float> b(first, {.batch = n, .shuffle = false});
  b.next();
  Tape<float> tape;
  NoGradGuard guard(tape);
  std::optional<Var<float>> y;
  if (c.conditional()) y = tape.constant(b.y_onehot());
  Var<float> mu = model.encode(tape.constant(b.x()), y).mu;
  return {mu.node().value, mu.node().value + n * c.latent};
}

std::vector<float> images_of(const data::ImageSet& set, std::size_t n) {
  std::vector<float> out(n * set.dim());
  for (std::size_t e = 0; e < out.size(); ++e) out[e] = set.pixels[e] / 255.f;
  return out;
}

}  // namespace

std::vector<float> sample_images(vae::Model<float>& model, std::size_t n, std::uint64_t seed, bool with_noise) {
  const auto& c = model.config();
  Rng rng(seed);
  Tape<float> tape;
  NoGradGuard guard(tape);
  std::optional<Var<float>> y;
  if (c.conditional()) y = vae::one_hot_rows(tape, n, c.classes, [&](std::size_t i) { return i % c.classes; });
  Var<float> z = model.draw_prior(tape, y, n, rng);  // p(z|y), or p(z)
  Var<float> mean = model.mean_image(model.decode(z, y));
  std::vector<float> x(mean.node().value, mean.node().value + n * c.input_dim);
  if (with_noise && model.noise()) model.noise()->add_noise(model.params(), x, rng);
  for (float& v : x) v = std::clamp(v, 0.f, 1.f);
  return x;
}

void write_pictures(vae::Model<float>& model, const data::ImageSet& test,
                    const std::vector<std::string>& class_names, const std::filesystem::path& dir,
                    std::uint64_t seed) {
  const auto& c = model.config();
  const std::size_t h = test.rows, w = test.cols, k = c.latent;
  auto by_index = [&](std::size_t i) { return i % std::max<std::size_t>(1, c.classes); };
  using support::image_grid;
  using support::write_png;

  write_png(dir / "samples.png", image_grid(sample_images(model, 64, seed, false).data(), 64, h, w, 8, 2, 2));

  // Reconstructions through mu: 16 inputs in the first row, their decodings below.
  const std::size_t n = std::min<std::size_t>(16, test.count);
  std::vector<float> mu = encode_means(model, test, n);
  std::vector<float> pair = images_of(test, n);
  std::vector<float> rec = decode_means(model, mu.data(), n, [&](std::size_t i) { return test.labels[i]; });
  pair.insert(pair.end(), rec.begin(), rec.end());
  write_png(dir / "reconstructions.png", image_grid(pair.data(), 2 * n, h, w, n, 2, 2));

  if (!c.conditional()) {
    // Interpolations: 8 rows, each from test image 2i to 2i+1 in 10 steps through mu.
    const std::size_t rows = std::min<std::size_t>(8, n / 2), steps = 10;
    std::vector<float> z(rows * steps * k);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t s = 0; s < steps; ++s) {
        const float t = float(s) / float(steps - 1);
        for (std::size_t j = 0; j < k; ++j)
          z[(r * steps + s) * k + j] = (1 - t) * mu[2 * r * k + j] + t * mu[(2 * r + 1) * k + j];
      }
    write_png(dir / "interpolations.png",
              image_grid(decode_means(model, z.data(), rows * steps, by_index).data(), rows * steps, h, w, steps, 2, 2));
  }

  if (k == 2 && !c.conditional()) {
    const std::size_t m = std::min<std::size_t>(5000, test.count);
    std::vector<float> means = encode_means(model, test, m);
    write_png(dir / "latent.png", support::scatter_plot(means.data(), m, test.labels.data(), class_names, 640));
    const std::size_t g = 20;
    std::vector<float> z(g * g * 2);
    for (std::size_t i = 0; i < g; ++i)
      for (std::size_t j = 0; j < g; ++j) {
        z[(i * g + j) * 2] = -3.f + 6.f * float(j) / float(g - 1);
        z[(i * g + j) * 2 + 1] = 3.f - 6.f * float(i) / float(g - 1);
      }
    write_png(dir / "manifold.png", image_grid(decode_means(model, z.data(), g * g, by_index).data(), g * g, h, w, g, 0, 1));
  }
}

}  // namespace vk::programs
