// The VAE with the discretized logistic of 8-bit pixels (--likelihood logistic): its draws follow
// its masses, its mean image is the masses' mean, and it trains on the 8-bit pixels to a
// log-probability of them (the gradients of every kind with it: test_vae.cpp's variants).
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include "tests/vae_fixtures.hpp"

using namespace vk;
using namespace vk::vae;
using namespace vk::test_vae;

TEST_CASE("a logistic VAE's draws are 8-bit values that follow its masses; its mean image is their mean") {
  for (const std::size_t k : {std::size_t(1), std::size_t(3)}) {
    CAPTURE(k);
    ModelConfig c = small_config("vae", LikelihoodKind::logistic);
    c.logistic_mixture = k;
    auto made = make_model<double>(c, 5);
    Model<double>& model = *made;
    REQUIRE(model.draws_images());
    // The decoder's output bias: locations across [0.2, 0.8] and scales of 5 to 8 bins (e^-3.9 to
    // e^-3.4), so that every pixel has mass on a dozen values and at an open edge bin or not.
    Rng rng(3);
    const auto bias = model.params().find("decoder.2.bias");
    REQUIRE(bias.has_value());
    double* b = model.params().value_data(*bias);
    const std::size_t w = c.decoder_channels();
    for (std::size_t j = 0; j < c.input_dim; ++j)
      for (std::size_t i = 0; i < k; ++i) {
        b[j * w + i] = j % 5 == 0 ? 0.0 : 0.2 + 0.6 * double((j * 7 + i * 3) % 11) / 10;
        b[j * w + k + i] = -3.9 + 0.25 * double(i);
        if (k > 1) b[j * w + 2 * k + i] = std::uniform_real_distribution<double>(-1, 1)(rng);
      }
    Tape<double> tape;
    NoGradGuard guard(tape);
    const Matrix<double> z = {{0.3, -0.8}};
    Var<double> decoded = model.decode(tape.constant(z));
    const std::size_t n = 40000, d = c.input_dim;
    std::vector<double> x(n * d);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(model.draw_image(decoded, rng, std::span(x).subspan(i * d, d)));
    const Var<double> mean = model.mean_image(decoded);
    double worst = 0;
    for (std::size_t j = 0; j < d; j += 7) {
      std::vector<double> count(256, 0.0);
      for (std::size_t i = 0; i < n; ++i) {
        const double s = x[i * d + j] * 255, v = std::round(s);
        REQUIRE(std::abs(s - v) < 1e-9);
        count[std::size_t(v)] += 1;
      }
      // Pixel j's masses: row v puts it at v / 255 and every other pixel at 0, so row v - row 0 is
      // log P_j(v) - log P_j(0), and the 256 masses sum to 1.
      Matrix<double> only = xt::zeros<double>({std::size_t(256), d});
      for (std::size_t v = 0; v < 256; ++v) only(v, j) = double(v) / 255;
      const Var<double> rows = logistic_loglik(tile_rows(decoded, 256), tape.constant(only), {std::uint32_t(k)});
      std::vector<double> prob(256);
      double total = 0, mean_j = 0;
      for (std::size_t v = 0; v < 256; ++v) total += prob[v] = std::exp(rows.node().value[v] - rows.node().value[0]);
      for (std::size_t v = 0; v < 256; ++v) {
        prob[v] /= total;
        mean_j += prob[v] * double(v) / 255;
        const double sd = std::sqrt(prob[v] * (1 - prob[v]) / double(n));
        worst = std::max(worst, std::abs(count[v] / double(n) - prob[v]) / std::max(sd, 1e-4));
      }
      CHECK(mean.node().value[j] == doctest::Approx(mean_j).epsilon(1e-9));
    }
    CHECK(worst < 5);  // every frequency within 5 standard errors of its mass
  }
}

TEST_CASE("a logistic VAE trains on the 8-bit pixels: its NELBO falls and is a log-probability of them") {
  const data::ImageSet set = blobs(400, 4), held_out = blobs(100, 5);
  for (const std::size_t k : {std::size_t(1), std::size_t(2)}) {
    CAPTURE(k);
    ModelConfig c = small_config("vae", LikelihoodKind::logistic);
    c.logistic_mixture = k;
    auto made = make_model<float>(c, 3);
    Model<float>& model = *made;
    CHECK(std::isnan(model.sigma2()));
    Trainer<float> trainer(model, set, {.batch = 32, .lr = 3e-3, .seed = 4});
    const double untrained = evaluate(model, held_out, {}).nelbo;
    for (int e = 0; e < 8; ++e) CHECK(std::isfinite(trainer.run_epoch().loss));
    EvalOptions options;
    options.iw_samples = 50;
    const EvalResult r = evaluate(model, held_out, options);
    CAPTURE(untrained);
    CAPTURE(r.nelbo);
    CHECK(r.nelbo < untrained - 64);  // at least a nat per pixel
    // A discrete log-probability: positive nats, and at most log 256 per pixel for a model no
    // worse than uniform.
    CHECK(r.nelbo > 0);
    CHECK(r.nelbo < 64 * std::log(256.0));
    CHECK(r.iw_nll <= r.nelbo);
    CHECK(discrete_bits_per_dim(r.nelbo, 64) == doctest::Approx(r.nelbo / (64 * std::log(2.0))));
  }
  // Dequantized or binarized pixels are not its data.
  auto model = make_model<float>(small_config("vae", LikelihoodKind::logistic), 1);
  CHECK_THROWS_WITH_AS(Trainer<float>(*model, set, {.dequantize = true}),
                       doctest::Contains("not with --dequantize uniform"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(Trainer<float>(*model, set, {.binarize = data::Binarize::dynamic}),
                       doctest::Contains("not with --binarize"), std::invalid_argument);
}
