#include "experiments/claims/models.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "autodiff/ops.hpp"
#include "experiments/report/figures.hpp"
#include "vae/registry.hpp"

namespace vk::claims {

std::unique_ptr<vae::Model<float>> train_model(const vae::ModelConfig& mc, const data::ImageSet& train,
                                               const vae::TrainOptions& options, std::size_t epochs,
                                               const std::string& what) {
  vae::validate_training(options, mc);
  auto model = vae::make_model<float>(mc, options.seed);
  vae::Trainer<float> trainer(*model, train, options);
  double loss = NAN, seconds = 0;
  for (std::size_t e = 0; e < epochs; ++e) {
    const vae::EpochStats s = trainer.run_epoch();
    loss = s.loss;
    seconds += s.seconds;
  }
  fmt::print(stderr, "  {}: {} epochs, loss {:.4g}, {:.1f} s\n", what, epochs, loss, seconds);
  return model;
}

std::vector<float> decode_standard_normal(vae::Model<float>& model, std::size_t n, std::uint64_t seed) {
  std::vector<float> z(n * model.config().latent);
  Rng rng(seed);
  fill_normal<float>(rng, z);
  return report::decode_means(model, z.data(), n);
}

namespace {

// The float model's parameters in a double model: the same config builds the same names in the
// same order, so the flat values line up.
std::unique_ptr<vae::Model<double>> double_copy(const vae::Model<float>& model) {
  auto copy = vae::make_model<double>(model.config(), 0);
  const auto from = model.params().values();
  auto to = copy->params().values();
  std::copy(from.begin(), from.end(), to.begin());
  return copy;
}

// D(z) of one code z [1, latent] in the double model.
std::vector<double> decode_one(vae::Model<double>& model, const double* z) {
  Tape<double> tape;
  NoGradGuard guard(tape);
  Var<double> x = model.mean_image(model.decode(tape.constant(z, 1, model.config().latent)));
  return {x.node().value, x.node().value + model.config().input_dim};
}

}  // namespace

std::vector<std::vector<double>> decoder_jacobians(const vae::Model<float>& model, const std::vector<float>& z,
                                                   std::size_t n) {
  const std::unique_ptr<vae::Model<double>> copy = double_copy(model);
  vae::Model<double>& m = *copy;
  const std::size_t k = m.config().latent, d = m.config().input_dim;
  // Reverse mode gives one output's gradient per backward pass; d copies of z as rows, each
  // row's loss its own output pixel (the diagonal), give all d rows of J in one pass.
  std::vector<double> rows(d * k), grad(d * k), mask(d * d, 0.0);
  for (std::size_t i = 0; i < d; ++i) mask[i * d + i] = 1;
  std::vector<std::vector<double>> out;
  Tape<double> tape;
  for (std::size_t p = 0; p < n; ++p) {
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < k; ++j) rows[i * k + j] = z[p * k + j];
    std::fill(grad.begin(), grad.end(), 0.0);
    tape.reset();
    Var<double> zv = tape.variable(rows.data(), grad.data(), d, k);
    Var<double> x = m.mean_image(m.decode(zv));
    tape.backward(sum(mul(x, tape.constant(mask.data(), d, d))));
    out.push_back(grad);  // row i: dD_i/dz, so J [d, k] row-major
  }
  return out;
}

double jacobian_fd_error(const vae::Model<float>& model, const std::vector<float>& z, std::size_t points,
                         const std::vector<std::vector<double>>& tape_jacobians) {
  const std::unique_ptr<vae::Model<double>> copy = double_copy(model);
  vae::Model<double>& m = *copy;
  const std::size_t k = m.config().latent, d = m.config().input_dim;
  constexpr double h = 1e-5;
  double worst = 0;
  for (std::size_t p = 0; p < points; ++p) {
    std::vector<double> fd(d * k), zp(z.begin() + p * k, z.begin() + (p + 1) * k);
    for (std::size_t j = 0; j < k; ++j) {
      const double z0 = zp[j];
      zp[j] = z0 + h;
      const std::vector<double> up = decode_one(m, zp.data());
      zp[j] = z0 - h;
      const std::vector<double> down = decode_one(m, zp.data());
      zp[j] = z0;
      for (std::size_t i = 0; i < d; ++i) fd[i * k + j] = (up[i] - down[i]) / (2 * h);
    }
    double scale = 0, err = 0;
    for (std::size_t e = 0; e < d * k; ++e) {
      scale = std::max(scale, std::abs(fd[e]));
      err = std::max(err, std::abs(fd[e] - tape_jacobians[p][e]));
    }
    worst = std::max(worst, scale > 0 ? err / scale : err);
  }
  return worst;
}

std::size_t numerical_rank(const std::vector<double>& singular, double tolerance) {
  if (singular.empty() || !(singular[0] > 0)) return 0;
  return std::size_t(std::count_if(singular.begin(), singular.end(),
                                   [&](double s) { return s > tolerance * singular[0]; }));
}

}  // namespace vk::claims
