#include "experiments/report/figures.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "autodiff/ops.hpp"
#include "datasets/batcher.hpp"
#include "experiments/draw/plots.hpp"
#include "experiments/draw/png.hpp"

namespace vk::report {

const std::vector<PictureKind> kRunPictures = {
    {"samples.png", "Samples: decoder means D(z) of z ~ p(z)."},
    {"samples_by_class.png", "Samples by class: z ~ p(z|y) for each label y (an unconditional model's samples "
                             "grouped by the class the classifier sees)."},
    {"reconstructions.png", "Reconstructions: test images (first row) and D(μ(x)) below them."},
    {"interpolations.png", "Interpolations: D(z) along the line from μ(x) of one test image to μ(x) of the next."},
    {"latent.png", "Latent space: μ(x) of test images, coloured by class."},
    {"manifold.png", "Learned manifold: D(z) on a grid over [-3, 3] x [-3, 3]."},
};

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

auto label_cycle(const vae::Model<float>& model) {
  return [classes = std::max<std::size_t>(1, model.config().classes)](std::size_t i) { return i % classes; };
}

}  // namespace

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

std::vector<float> pixels_of(const data::ImageSet& set, std::size_t n) { return set.unit_pixels(0, n); }

std::vector<float> decode_means(vae::Model<float>& model, const float* z, std::size_t n) {
  return decode_means(model, z, n, label_cycle(model));
}

support::Image samples(vae::Model<float>& model, std::size_t n, Shape image, std::uint64_t seed, bool with_noise) {
  const auto& c = model.config();
  Rng rng(seed);
  Tape<float> tape;
  NoGradGuard guard(tape);
  std::optional<Var<float>> y;
  if (c.conditional()) y = vae::one_hot_rows(tape, n, c.classes, label_cycle(model));
  std::vector<float> x(n * c.input_dim);
  model.sample(tape, y, n, rng, x, with_noise);  // z ~ p(z|y), or p(z)
  const std::size_t columns = std::size_t(std::ceil(std::sqrt(double(n))));
  return support::image_grid(x.data(), n, image, columns, 2, 2);  // the grid clamps to [0, 1]
}

support::Image reconstructions(vae::Model<float>& model, const data::ImageSet& test, std::size_t n) {
  n = std::min(n, test.count);
  const std::vector<float> mu = encode_means(model, test, n);
  std::vector<float> pair = pixels_of(test, n);
  const std::vector<float> rec = decode_means(model, mu.data(), n, [&](std::size_t i) { return test.labels[i]; });
  pair.insert(pair.end(), rec.begin(), rec.end());
  return support::image_grid(pair.data(), 2 * n, test.shape(), n, 2, 2);
}

support::Image interpolations(vae::Model<float>& model, const data::ImageSet& test, std::size_t rows,
                              std::size_t steps) {
  rows = std::min(rows, test.count / 2);
  const std::size_t k = model.config().latent;
  const std::vector<float> mu = encode_means(model, test, 2 * rows);
  std::vector<float> z(rows * steps * k);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t s = 0; s < steps; ++s) {
      const float t = float(s) / float(steps - 1);
      for (std::size_t j = 0; j < k; ++j)
        z[(r * steps + s) * k + j] = (1 - t) * mu[2 * r * k + j] + t * mu[(2 * r + 1) * k + j];
    }
  const std::vector<float> x = decode_means(model, z.data(), rows * steps, label_cycle(model));
  return support::image_grid(x.data(), rows * steps, test.shape(), steps, 2, 2);
}

support::Image latent_scatter(vae::Model<float>& model, const data::ImageSet& test,
                              const std::vector<std::string>& class_names, std::size_t n) {
  n = std::min(n, test.count);
  const std::vector<float> means = encode_means(model, test, n);
  return support::scatter_plot(means.data(), n, test.labels.data(), class_names, 640);
}

support::Image manifold(vae::Model<float>& model, Shape image, std::size_t g) {
  std::vector<float> z(g * g * 2);
  for (std::size_t i = 0; i < g; ++i)
    for (std::size_t j = 0; j < g; ++j) {
      z[(i * g + j) * 2] = -3.f + 6.f * float(j) / float(g - 1);
      z[(i * g + j) * 2 + 1] = 3.f - 6.f * float(i) / float(g - 1);
    }
  const std::vector<float> x = decode_means(model, z.data(), g * g, label_cycle(model));
  return support::image_grid(x.data(), g * g, image, g, 0, 1);
}

support::Image labelled_rows(const std::vector<float>& images, std::size_t rows, std::size_t per_row, Shape image,
                             const std::vector<std::string>& row_labels) {
  return support::labelled_rows_grid(images.data(), rows, per_row, image, row_labels, 2, 2);
}

void write_run_pictures(vae::Model<float>& model, const data::ImageSet& test,
                        const std::vector<std::string>& class_names, const std::filesystem::path& dir,
                        std::uint64_t seed) {
  const auto& c = model.config();
  using support::write_png;
  write_png(dir / "samples.png", samples(model, 64, test.shape(), seed, false));
  write_png(dir / "reconstructions.png", reconstructions(model, test));
  if (c.conditional()) return;
  write_png(dir / "interpolations.png", interpolations(model, test));
  if (c.latent != 2) return;
  write_png(dir / "latent.png", latent_scatter(model, test, class_names));
  write_png(dir / "manifold.png", manifold(model, test.shape()));
}

}  // namespace vk::report
