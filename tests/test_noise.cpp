// The Gaussian noise model: sigma^2 at the optimum of its gradient, the floor, the fixed and
// optimal modes, through training.

#include <doctest/doctest.h>

#include "tests/vae_fixtures.hpp"

using namespace vk;
using namespace vk::vae;
using namespace vk::test_vae;

TEST_CASE("the gradient of the loss wrt log sigma^2 vanishes at sigma^2 = MSE") {
  for (const Sigma mode : {Sigma::learned, Sigma::per_pixel}) {
    CAPTURE(name(mode));
    const ModelConfig c = small_config("vae", LikelihoodKind::gaussian, mode);
    auto model_made = make_model<double>(c, 21);
    Model<double>& model = *model_made;
    const data::ImageSet set = blobs(16, 8);
    const std::size_t m = set.count, d = c.input_dim;
    Matrix<double> x = Matrix<double>::from_shape({m, d}), eps = Matrix<double>::from_shape({m, c.latent});
    for (std::size_t i = 0; i < m; ++i) {
      const std::vector<double> xi = image_values(set, i);
      std::copy(xi.begin(), xi.end(), x.data() + i * d);
    }
    Rng rng(5);
    fill_normal<double>(rng, std::span<double>(eps.data(), eps.size()));

    // The reconstruction D(mu + sigma eps) with this x and eps, and its squared errors.
    std::vector<double> sse_pixel(d, 0.0);
    {
      Tape<double> tape;
      NoGradGuard guard(tape);
      auto code = model.encode(tape.constant(x));
      Var<double> mean = model.decode(reparameterize(code.mu, code.logvar, tape.constant(eps)));
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < d; ++j) {
          const double e = x(i, j) - mean.node().value[i * d + j];
          sse_pixel[j] += e * e;
        }
    }
    const double mse = std::accumulate(sse_pixel.begin(), sse_pixel.end(), 0.0) / double(m * d);
    REQUIRE(mse > 10 * c.min_sigma2);  // set_sigma2 does not clamp it

    const ParamId lv_id = *model.params().find("log_sigma2");
    auto gradient_at = [&](double factor) {
      if (mode == Sigma::learned) {
        model.noise()->set_sigma2(model.params(), factor * mse);
      } else {
        double* lv = model.params().value_data(lv_id);
        for (std::size_t j = 0; j < d; ++j) lv[j] = std::log(factor * sse_pixel[j] / double(m));
      }
      model.params().zero_grad();
      Tape<double> tape;
      auto t = elbo_terms(model, tape.constant(x), std::nullopt, tape.constant(eps), 1.0, true);
      tape.backward(t.loss);
      const double* g = model.params().grad_data(lv_id);
      return std::vector<double>(g, g + model.params().entry(lv_id).size());
    };

    const std::vector<double> at_mse = gradient_at(1.0);
    const std::vector<double> at_twice = gradient_at(2.0);
    const std::vector<double> at_half = gradient_at(0.5);
    if (mode == Sigma::learned) {
      REQUIRE(at_mse.size() == 1);
      CHECK(std::abs(at_mse[0]) < 1e-8 * double(d));
      CHECK(at_twice[0] == doctest::Approx(double(d) / 4).epsilon(1e-9));
      CHECK(at_half[0] == doctest::Approx(-double(d) / 2).epsilon(1e-9));
    } else {
      REQUIRE(at_mse.size() == d);
      for (std::size_t j = 0; j < d; ++j) {
        CAPTURE(j);
        CHECK(std::abs(at_mse[j]) < 1e-8);
        CHECK(at_twice[j] == doctest::Approx(0.25).epsilon(1e-9));
        CHECK(at_half[j] == doctest::Approx(-0.5).epsilon(1e-9));
      }
    }
  }
}

// --- 4. gradients of the whole model -------------------------------------------------------------

TEST_CASE("training lowers the held-out NELBO and keeps a learned sigma^2 finite and above the floor") {
  const data::ImageSet set = blobs(400, 11), held_out = blobs(200, 12);
  auto model_made = make_model<float>(small_config("vae"), 2);
    Model<float>& model = *model_made;
  Trainer<float> trainer(model, set, {.batch = 32, .lr = 3e-3, .seed = 6});
  // The trainer starts sigma^2 at the data's pixel variance.
  CHECK(model.sigma2() == doctest::Approx(pixel_variance(set)).epsilon(1e-5));
  const double untrained = evaluate(model, held_out, {}).nelbo;
  EpochStats last;
  for (int e = 0; e < 5; ++e) last = trainer.run_epoch();
  CHECK(trainer.epochs_done() == 5);
  CHECK(last.epoch == 5);
  const double trained = evaluate(model, held_out, {}).nelbo;
  CAPTURE(untrained);
  CAPTURE(trained);
  // Images the model never saw: better by far more than the Monte Carlo noise of one eps.
  CHECK(trained < untrained - 20);
  CHECK(std::isfinite(model.sigma2()));
  CHECK(model.sigma2() >= float(model.config().min_sigma2));
  CHECK(all_finite(model.params()));
}

TEST_CASE("per-pixel sigma^2 stays at or above the floor, and the floor binds for the dark row") {
  const data::ImageSet set = blobs(400, 12);
  ModelConfig c = small_config("vae", LikelihoodKind::gaussian, Sigma::per_pixel);
  c.min_sigma2 = 0.02;
  auto model_made = make_model<float>(c, 2);
    Model<float>& model = *model_made;
  Trainer<float> trainer(model, set, {.batch = 8, .lr = 1e-2, .seed = 6});
  for (int e = 0; e < 5; ++e) trainer.run_epoch();
  const auto id = *model.params().find("log_sigma2");
  const float* lv = model.params().value_data(id);
  const float floor = std::log(float(c.min_sigma2));
  std::size_t at_floor = 0;
  for (std::size_t j = 0; j < kDim; ++j) {
    CAPTURE(j);
    CHECK(lv[j] >= floor);
    at_floor += lv[j] == floor;
  }
  // The first row is always 0: its error vanishes, so without the floor its sigma^2 would fall.
  for (std::size_t j = 0; j < kSide; ++j) CHECK(lv[j] == floor);
  CHECK(at_floor < kDim);  // the blob pixels stay above it
}

TEST_CASE("Sigma::fixed keeps sigma^2 exactly at fixed_sigma2 through training") {
  const data::ImageSet set = blobs(200, 13);
  ModelConfig c = small_config("vae", LikelihoodKind::gaussian, Sigma::fixed);
  c.fixed_sigma2 = 0.02;
  auto model_made = make_model<float>(c, 2);
    Model<float>& model = *model_made;
  const auto id = *model.params().find("log_sigma2");
  const float before = model.params().value_data(id)[0];
  CHECK(before == std::log(float(c.fixed_sigma2)));
  Trainer<float> trainer(model, set, {.batch = 32, .lr = 1e-2, .seed = 6});
  for (int e = 0; e < 3; ++e) trainer.run_epoch();
  CHECK(model.params().value_data(id)[0] == before);
  CHECK(model.sigma2() == doctest::Approx(c.fixed_sigma2).epsilon(1e-6));
}

TEST_CASE("Sigma::fixed below the learned-sigma floor is still the fixed value") {
  // min_sigma2 documents a floor for *learned* sigma^2; a fixed sigma^2 is a constant by choice.
  ModelConfig c = small_config("vae", LikelihoodKind::gaussian, Sigma::fixed);
  c.fixed_sigma2 = 1e-4;  // below the default min_sigma2 = 1e-3, and validate() accepts it
  REQUIRE_NOTHROW(c.validate());
  auto model_made = make_model<float>(c, 2);
    Model<float>& model = *model_made;
  CHECK(model.sigma2() == doctest::Approx(c.fixed_sigma2).epsilon(1e-6));
  // Nor may the clamp after each optimizer step move it.
  const data::ImageSet set = blobs(64, 16);
  Trainer<float> trainer(model, set, {.batch = 32, .lr = 1e-2, .seed = 6});
  trainer.run_epoch();
  CHECK(model.sigma2() == doctest::Approx(c.fixed_sigma2).epsilon(1e-6));
}

TEST_CASE("Sigma::optimal: after an epoch sigma^2 is the epoch's mean squared reconstruction error") {
  const data::ImageSet set = blobs(400, 14);
  const ModelConfig c = small_config("vae", LikelihoodKind::gaussian, Sigma::optimal);

  // The mean squared error of D(mu + sigma eps) over the whole set, for fresh eps.
  auto set_mse = [&](Model<double>& model) {
    Tape<double> tape;
    NoGradGuard guard(tape);
    Matrix<double> x = Matrix<double>::from_shape({set.count, kDim}), eps = Matrix<double>::from_shape({set.count, c.latent});
    for (std::size_t i = 0; i < set.count; ++i) {
      const std::vector<double> xi = image_values(set, i);
      std::copy(xi.begin(), xi.end(), x.data() + i * kDim);
    }
    Rng rng(99);
    fill_normal<double>(rng, std::span<double>(eps.data(), eps.size()));
    auto code = model.encode(tape.constant(x));
    Var<double> mean = model.decode(reparameterize(code.mu, code.logvar, tape.constant(eps)));
    double sse = 0;
    for (std::size_t e = 0; e < x.size(); ++e) sse += (x.data()[e] - mean.node().value[e]) * (x.data()[e] - mean.node().value[e]);
    return sse / double(x.size());
  };

  SUBCASE("with lr = 0 the parameters stay put: sigma^2 is the set's MSE up to the noise of eps") {
    auto model_made = make_model<double>(c, 2);
    Model<double>& model = *model_made;
    Trainer<double> trainer(model, set, {.batch = 32, .lr = 0, .seed = 6});
    trainer.run_epoch();
    const double expected = set_mse(model);
    CAPTURE(expected);
    CHECK(model.sigma2() == doctest::Approx(expected).epsilon(0.01));
  }
  SUBCASE("while training, it tracks the MSE of the changing model") {
    auto model_made = make_model<double>(c, 2);
    Model<double>& model = *model_made;
    Trainer<double> trainer(model, set, {.batch = 32, .lr = 3e-3, .seed = 6});
    trainer.run_epoch();
    const double first = model.sigma2();
    for (int e = 0; e < 3; ++e) trainer.run_epoch();
    const double after = set_mse(model);
    CAPTURE(first);
    CAPTURE(after);
    // The epoch's batches saw the model before each step, so only roughly the final one.
    CHECK(model.sigma2() == doctest::Approx(after).epsilon(0.25));
    CHECK(model.sigma2() < 0.5 * first);  // and it follows the error down as the model learns
  }
}

// --- 7. determinism ------------------------------------------------------------------------------

TEST_CASE("bits per dimension of dequantized 8-bit data") {
  // (NLL + d ln 256) / (d ln 2): a density of 1 on [0, 1]^d is 8 bits per pixel, and
  // 1000 nats over 784 pixels, computed by hand, is 9.840172246.
  CHECK(bits_per_dim(0.0, 10) == doctest::Approx(8.0).epsilon(1e-12));
  CHECK(bits_per_dim(1000.0, 784) == doctest::Approx(9.840172246031841).epsilon(1e-12));
}
