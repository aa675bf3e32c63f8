#include "experiments/run/vae_run.hpp"

#include <algorithm>
#include <cerrno>  // program_invocation_short_name
#include <cmath>
#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include <sys/resource.h>

#include <fmt/format.h>

#include "distributed/comm.hpp"
#include "io/checkpoint.hpp"
#include "experiments/support/blas_kernels.hpp"
#include "experiments/support/files.hpp"
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

std::vector<std::size_t> parse_widths(const std::string& s, const char* flag) {
  return parse_sizes(s, ',', fmt::format("{} is not a comma list of positive widths", flag).c_str());
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
  RunData r{data::load_dataset(dir), {}};
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

PixelBits pixel_bits(const vae::ModelConfig& model, bool dequantized) {
  if (model.discrete_pixels()) return PixelBits::discrete;
  return dequantized ? PixelBits::dequantized : PixelBits::none;
}

nlohmann::json eval_json(const vae::EvalResult& r, std::size_t dim, PixelBits bits) {
  nlohmann::json j = {{"test_nelbo", r.nelbo}, {"test_rec", r.rec}, {"test_kl", r.kl},
                      {"active_units", r.active_units}, {"test_count", r.count}};
  j["sigma2"] = std::isnan(r.sigma2) ? nlohmann::json(nullptr) : nlohmann::json(r.sigma2);
  j["latent_variance"] = r.latent_variance;  // what active_units counts, drawn by the run's report
  // A diffusion model's bound takes T network passes an image: it says that only the first
  // test_count images were evaluated.
  if (r.limited_by_model) j["bound_images"] = r.count;
  auto in_bits = [&](double nll) {
    return bits == PixelBits::discrete ? vae::discrete_bits_per_dim(nll, dim) : vae::bits_per_dim(nll, dim);
  };
  if (bits != PixelBits::none) j["bits_per_dim"] = in_bits(r.nelbo);
  if (r.iw_samples) {
    j["iw_nll"] = r.iw_nll;
    j["iw_samples"] = r.iw_samples;
    if (bits != PixelBits::none) j["iw_bits_per_dim"] = in_bits(r.iw_nll);
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
  if (!std::filesystem::exists(dir / "config.json"))
    throw std::runtime_error(fmt::format("{}: not a run folder (no config.json)", dir.string()));
  nlohmann::json config = support::read_json_file(dir / "config.json");
  if (!config.is_object() || !config.contains("model") || !config.contains("training") || !config.contains("data"))
    throw std::runtime_error(fmt::format("{}: not a run's config (no model, training and data)", (dir / "config.json").string()));
  return config;
}

nlohmann::json run_config(const vae::ModelConfig& model, nlohmann::json training, const std::filesystem::path& data_dir,
                          const RunData& data, std::size_t limit, std::size_t iw_samples) {
  return {{"model", vae::to_json(model)},
          {"training", std::move(training)},
          {"data", {{"dir", std::filesystem::absolute(data_dir).string()}, {"form", data.dataset.form},
                    {"height", data.dataset.train.height}, {"width", data.dataset.train.width},
                    {"channels", data.dataset.train.channels}, {"train_count", data.dataset.train.count},
                    {"test_count", data.dataset.test.count}, {"limit", limit}}},
          {"eval", {{"seed", kEvalSeed}, {"test_binarize_seed", kTestBinarizeSeed}, {"iw_samples", iw_samples}}},
          {"blas", support::blas_json()}};
}

LoadedRun load_run(const std::filesystem::path& dir, const std::map<std::string, std::string>& settings) {
  nlohmann::json config = read_run_config(dir);
  std::string why;  // what is wrong with checkpoint/ when an earlier one is loaded instead
  const std::filesystem::path checkpoint = find_checkpoint(dir / "checkpoint", &why);
  if (!why.empty() && dist::is_root())
    fmt::print(stderr, "{}: {}; loading {} instead, the newest whole checkpoint beside it\n", program_invocation_short_name, why, checkpoint.string());
  const nlohmann::json manifest = read_checkpoint_manifest(checkpoint);
  if (!manifest.contains("metadata") || !manifest["metadata"].contains("model"))
    throw std::runtime_error(fmt::format("{}: the manifest does not describe the model", checkpoint.string()));
  vae::ModelConfig mc = vae::model_config_from_json(manifest["metadata"]["model"]);
  const std::vector<vae::KindSetting> takes = vae::kind_settings(vae::kind_info(mc.kind));
  for (const auto& given : settings) {
    if (std::none_of(takes.begin(), takes.end(), [&](const vae::KindSetting& s) { return s.name == given.first; }))
      throw std::invalid_argument(fmt::format("--{} is a setting of other kinds: the run in {} is --model {}", given.first,
                                              dir.string(), mc.kind));
    mc.settings[given.first] = given.second;
  }
  auto model = vae::make_model<float>(mc, 0);
  load_checkpoint(checkpoint, model->params());
  // A run trained with --ema is its parameters' moving average, which the training state keeps.
  if (config.at("training").value("ema", 0.0) > 0) {
    const TrainingState state = load_training_state(checkpoint);
    const auto average = std::find_if(state.arrays.begin(), state.arrays.end(), [](const auto& a) { return a.first == "ema"; });
    const std::span<float> p = model->params().values();
    if (average == state.arrays.end() || average->second.size() != p.size())
      throw std::runtime_error(fmt::format("{}: the run has --ema, but its training state holds no moving average of its {} parameters",
                                           checkpoint.string(), p.size()));
    std::copy(average->second.begin(), average->second.end(), p.begin());
  }
  return {std::move(config), std::move(model)};
}

std::map<std::string, std::string> sampler_settings(const std::vector<std::string>& given, std::size_t sample_steps) {
  if (std::find(given.begin(), given.end(), "--sample-steps") == given.end()) return {};
  return {{"sample-steps", std::to_string(sample_steps)}};
}

std::unique_ptr<support::Progress> rank_progress(std::string label, std::size_t total, std::string unit) {
  if (dist::is_root()) return std::make_unique<support::Progress>(std::move(label), total, std::move(unit));
  static std::ostream nowhere(nullptr);  // no buffer: every write is dropped
  return std::make_unique<support::Progress>(std::move(label), total, std::move(unit), nowhere, false);
}

}  // namespace vk::programs
