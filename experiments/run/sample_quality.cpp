#include "experiments/run/sample_quality.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <fmt/format.h>

#include "experiments/measure/frechet.hpp"
#include "experiments/measure/sharpness.hpp"
#include "experiments/run/classifier_cache.hpp"

namespace vk::programs {

std::vector<float> draw_samples(vae::Model<float>& model, std::size_t n, std::uint64_t seed) {
  const vae::ModelConfig& c = model.config();
  const std::size_t classes = std::max<std::size_t>(1, c.classes);
  std::vector<float> out(n * c.input_dim);
  Rng rng(seed);
  Tape<float> tape;
  constexpr std::size_t kChunk = 500;  // bounds the tape's storage for large n
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t m = std::min(kChunk, n - start);
    tape.reset();
    NoGradGuard guard(tape);
    std::optional<Var<float>> y;
    if (c.conditional()) y = vae::one_hot_rows(tape, m, c.classes, [&](std::size_t i) { return (start + i) % classes; });
    model.sample(tape, y, m, rng, std::span(out).subspan(start * c.input_dim, m * c.input_dim));
  }
  // A Gaussian decoder's means stray outside [0, 1], which no image holds.
  for (float& v : out) v = std::clamp(v, 0.f, 1.f);
  return out;
}

double feature_frechet(vae::Classifier& classifier, const float* a, const float* b, std::size_t n) {
  const std::size_t w = classifier.feature_width();
  return measure::frechet_distance(measure::moments(classifier.features(a, n).data(), n, w),
                                   measure::moments(classifier.features(b, n).data(), n, w));
}

void check_fid_count(std::size_t n, const data::Dataset& data) {
  if (n == 0 || n > data.test.count)
    throw std::invalid_argument(fmt::format("--fid: {} is not between 1 and {} (the test images)", n, data.test.count));
}

nlohmann::json sample_quality(vae::Model<float>& model, const data::Dataset& data, const SampleQualityOptions& o) {
  check_fid_count(o.n, data);
  // As many training images held out as there are test images, whatever N: one classifier serves every N.
  FeatureClassifier fc = cached_classifier(o.classifier_dir, data, data.test.count);
  vae::Classifier& classifier = *fc.classifier;
  const auto start = std::chrono::steady_clock::now();  // the classifier's training, once per data, aside
  const data::ImageSet& test = data.test;
  const std::vector<float> real = test.unit_pixels(0, o.n);
  const std::vector<float> other = data.train.unit_pixels(data.train.count - o.n, o.n);
  const std::vector<float> samples = draw_samples(model, o.n, o.seed);
  const double sharp_real = measure::mean_laplacian_variance(real.data(), o.n, test.height, test.width, test.channels);
  const double sharp_samples =
      measure::mean_laplacian_variance(samples.data(), o.n, test.height, test.width, test.channels);
  return {{"fid", feature_frechet(classifier, samples.data(), real.data(), o.n)},
          {"fid_real", feature_frechet(classifier, other.data(), real.data(), o.n)},
          {"n", o.n},
          {"laplacian_variance_ratio", sharp_samples / sharp_real},
          {"laplacian_variance_samples", sharp_samples},
          {"laplacian_variance_real", sharp_real},
          {"features", fmt::format("the project's classifier, hidden layer of width {}, standing in for Inception "
                                   "(not comparable with published FIDs)", classifier.feature_width())},
          {"samples", "as vae-sample draws them: mean images E[x|z] of z ~ p(z) (a flow's x = f^-1(z)), clamped to [0, 1]"},
          {"classifier", fc.info},
          {"seed", o.seed},
          {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()}};
}

}  // namespace vk::programs
