// The VAE library against independent derivations: the closed-form KL against Monte Carlo, every
// parameter gradient of every objective against finite differences, shapes and error messages,
// training and determinism (importance weighting: test_bounds.cpp; sigma^2: test_noise.cpp).
//
// Data: tiny synthetic 8x8 byte images (a Gaussian blob at a random position plus noise, top row
// always dark), so the whole suite runs in seconds and reads no files.
#include <doctest/doctest.h>

#include "tests/vae_fixtures.hpp"

using namespace vk;
using namespace vk::vae;
using namespace vk::test_vae;


// --- 1. KL ---------------------------------------------------------------------------------------

TEST_CASE("closed-form Gaussian KL agrees with a Monte Carlo estimate of E_q[log q(z) - log p(z)]") {
  struct Setting {
    std::vector<double> mu, logvar;
  };
  const std::vector<Setting> settings = {
      {{0.0, 0.0, 0.0}, {0.0, 0.0, 0.0}},       // q = p: KL 0
      {{0.5, -1.0, 2.0}, {0.0, -1.0, 1.0}},
      {{-0.3, 0.1, 0.0}, {-3.0, 2.0, 0.5}},
      {{1.5, 0.0, -0.7}, {-6.0, 0.3, -0.2}},  // a very narrow posterior
  };
  const std::size_t n = 200000, k = 3;
  Rng rng(2024);
  for (const Setting& s : settings) {
    Tape<double> tape;
    NoGradGuard guard(tape);
    Var<double> mu = tape.constant(s.mu.data(), 1, k);
    Var<double> lv = tape.constant(s.logvar.data(), 1, k);
    const double closed = gaussian_kl(mu, lv).item();
    // The same KL written out independently of the op.
    double by_hand = 0;
    for (std::size_t j = 0; j < k; ++j)
      by_hand += 0.5 * (std::exp(s.logvar[j]) + s.mu[j] * s.mu[j] - 1 - s.logvar[j]);
    CHECK(closed == doctest::Approx(by_hand).epsilon(1e-13));

    // z through the reparameterize op (mu and logvar broadcast as rows), then the log densities
    // from z alone: log q(z) - log p(z) = sum_j -1/2 ((z_j - mu_j)^2 / s_j^2 + lv_j) + z_j^2 / 2.
    Var<double> eps = tape.constant_uninitialized(n, k);
    fill_normal<double>(rng, std::span<double>(eps.node().value, n * k));
    Matrix<double> mu_rows = Matrix<double>::from_shape({n, k}), lv_rows = Matrix<double>::from_shape({n, k});
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < k; ++j) {
        mu_rows(i, j) = s.mu[j];
        lv_rows(i, j) = s.logvar[j];
      }
    Var<double> z = reparameterize(tape.constant(mu_rows), tape.constant(lv_rows), eps);
    std::vector<double> log_ratio(n);
    for (std::size_t i = 0; i < n; ++i) {
      double r = 0;
      for (std::size_t j = 0; j < k; ++j) {
        const double zj = z.node().value[i * k + j];
        const double d = zj - s.mu[j];
        r += -0.5 * (d * d * std::exp(-s.logvar[j]) + s.logvar[j]) + 0.5 * zj * zj;
      }
      log_ratio[i] = r;
    }
    const MeanSe mc = mean_se(log_ratio);
    CAPTURE(closed);
    CAPTURE(mc.mean);
    CAPTURE(mc.se);
    CHECK(std::abs(closed - mc.mean) <= 3 * mc.se + 1e-12);
  }
}

// --- 3. the optimum of sigma^2 --------------------------------------------------------------------

// loss = 1/m sum_i 1/2 sum_j ((x_ij - m_ij)^2 e^{-lv} + lv + log 2 pi) + KL, so
// d loss / d lv = 1/2 (d - SSE / (m sigma^2)) with SSE over batch and pixels: zero at
// sigma^2 = SSE / (m d) = MSE, and d/4 > 0 at sigma^2 = 2 MSE (sigma^2 too large: the loss falls
// as lv falls). Per pixel: d loss / d lv_j = 1/2 (1 - SSE_j / (m sigma_j^2)), zero at MSE_j.
TEST_CASE("every objective: d loss / d parameter matches five-point central differences") {
  const std::size_t n = 5;
  const double kl_weight = 0.7, h = 1e-4, floor = 1e-3;
  // k = 0: the model's own objective; k = 3: the importance-weighted bound with 3 samples.
  for (const std::size_t k : {std::size_t(0), std::size_t(3)})
  for (Variant v : all_variants()) {
    if (k && !v.config.variational()) continue;
    CAPTURE(k);
    CAPTURE(v.name);
    if (v.config.kind != "diffusion") v.config.input_dim = 16;  // 4x4 keeps the sampled entries spread (U-Nets: 8x8 up)
    if (v.config.exact_density()) v.config.latent = v.config.input_dim;
    v.config.activation = Op::tanh;  // smooth: no kink for a finite difference to straddle
    const ModelConfig& c = v.config;
    auto model_made = make_model<double>(c, 31);
    Model<double>& model = *model_made;
    ParameterStore<double>& ps = model.params();
    Rng rng(77);
    // Move every parameter off its initial value (the log-variance head starts at exactly zero).
    for (double& p : ps.values()) p += std::uniform_real_distribution<double>(-0.2, 0.2)(rng);

    Matrix<double> x = Matrix<double>::from_shape({n, c.input_dim});
    Matrix<double> eps = Matrix<double>::from_shape({k ? k * n : n, model.noise_width()});
    fill_pixels(rng, c, x);
    fill_normal<double>(rng, std::span<double>(eps.data(), eps.size()));
    std::vector<std::uint8_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) labels[i] = std::uint8_t(i % kClasses);
    const Matrix<double> y = data::one_hot<double>(labels, kClasses);

    auto loss_on = [&](Tape<double>& tape) {
      std::optional<Var<double>> yv;
      if (c.conditional()) yv = tape.constant(y);
      if (k) return iwae_terms(model, tape.constant(x), yv, tape.constant(eps), k, kl_weight, true).loss;
      return elbo_terms(model, tape.constant(x), yv, tape.constant(eps), kl_weight, true).loss;
    };
    const std::vector<double> analytic = vk::test::added_gradients(ps, loss_on, rng);

    // log sigma^2 of the fixed and optimal modes is read as a constant: no gradient reaches it.
    std::vector<std::size_t> candidates;
    for (const auto& entry : ps.entries()) {
      const bool constant_sigma = entry.name == "log_sigma2" && (c.sigma == Sigma::fixed || c.sigma == Sigma::optimal);
      for (std::size_t e = entry.offset; e < entry.offset + entry.size(); ++e) {
        if (constant_sigma)
          CHECK(analytic[e] == 0.0);
        else
          candidates.push_back(e);
      }
    }
    std::shuffle(candidates.begin(), candidates.end(), rng);
    if (candidates.size() > 100) candidates.resize(100);

    const auto worst = vk::test::compare_with_differences(ps, analytic, candidates, loss_on, h, floor);
    CAPTURE(worst.where);
    CHECK(candidates.size() == std::min<std::size_t>(100, ps.size() - (c.sigma == Sigma::fixed || c.sigma == Sigma::optimal ? 1 : 0)));
    CHECK(worst.error <= 1e-6);
  }
}

// --- 5. shapes and errors ------------------------------------------------------------------------

TEST_CASE("encode, decode and terms give the documented shapes and values for every objective") {
  const std::size_t m = 7;
  for (const Variant& v : all_variants()) {
    CAPTURE(v.name);
    const ModelConfig& c = v.config;
    auto model_made = make_model<float>(c, 1);
    Model<float>& model = *model_made;
    Tape<float> tape;
    Matrix<float> x = Matrix<float>::from_shape({m, c.input_dim}), eps = Matrix<float>::from_shape({m, model.noise_width()});
    Rng rng(3);
    fill_pixels(rng, c, x);
    fill_normal<float>(rng, std::span<float>(eps.data(), eps.size()));
    std::vector<std::uint8_t> labels(m, 1);
    const Matrix<float> y = data::one_hot<float>(labels, kClasses);
    std::optional<Var<float>> yv;
    if (c.conditional()) yv = tape.constant(y);

    auto code = model.encode(tape.constant(x), yv);
    CHECK(code.mu.rows() == m);
    CHECK(code.mu.cols() == c.latent);
    if (c.variational()) {
      CHECK(code.logvar.rows() == m);
      CHECK(code.logvar.cols() == c.latent);
    }
    Var<float> decoded = model.decode(code.mu, yv);
    CHECK(decoded.rows() == m);
    CHECK(decoded.cols() == c.input_dim * c.decoder_channels());
    CHECK(c.decoder_channels() == (c.discrete_pixels() ? (c.logistic_mixture == 1 ? 2 : 3 * c.logistic_mixture) : 1));
    Var<float> image = model.mean_image(decoded);
    CHECK(image.cols() == c.input_dim);
    for (float p : image.value()) CHECK((p >= 0.f && p <= 1.f));

    for (const bool training : {true, false}) {
      CAPTURE(training);
      auto t = elbo_terms(model, tape.constant(x), yv, tape.constant(eps), 1.f, training);
      CHECK(t.loss.rows() == 1);
      CHECK(t.loss.cols() == 1);
      CHECK(std::isfinite(t.loss.item()));
      CHECK(t.rec.rows() == m);
      CHECK(t.rec.cols() == 1);
      CHECK(t.mu.rows() == m);
      CHECK(t.mu.cols() == c.latent);
      // The regularized AE's penalty stands where a VAE's KL does; the plain AE has neither.
      const bool penalty = !model.variational() && std::string(kind_info(c.kind).flags).find("--lambda") != std::string::npos;
      CHECK(t.has_kl == (model.variational() || penalty));
      if (t.has_kl) {
        CHECK(t.kl.rows() == m);
        CHECK(t.kl.cols() == 1);
      }
      // Values, not only shapes: the loss is the batch mean of its parts, the code is the
      // encoder's, and the KL term is the closed form of that code (lambda ||z||^2 for the rae).
      double mean = 0;
      for (std::size_t i = 0; i < m; ++i) mean += (t.rec.node().value[i] + (t.has_kl ? t.kl.node().value[i] : 0.f)) / double(m);
      CHECK(t.loss.item() == doctest::Approx(mean).epsilon(1e-5));
      for (std::size_t e = 0; e < m * c.latent; ++e) CHECK(t.mu.node().value[e] == code.mu.node().value[e]);
      // Against the closed form where the prior is one Gaussian; an hvae's or a mixture's KL is a
      // one-sample estimate.
      const auto prior = prior_of(model, tape, yv);
      if (c.variational() && prior && c.setting("posterior") != "iaf")
        for (std::size_t i = 0; i < m; ++i)
          CHECK(t.kl.node().value[i] == doctest::Approx(closed_form_kl(code.mu, code.logvar, prior->mu, prior->logvar, i)).epsilon(1e-4));
      if (penalty)
        for (std::size_t i = 0; i < m; ++i) {
          double sq = 0;
          for (std::size_t j = 0; j < c.latent; ++j) sq += std::pow(code.mu.node().value[i * c.latent + j], 2);
          CHECK(t.kl.node().value[i] == doctest::Approx(c.lambda * sq).epsilon(1e-5));
        }
      if (c.has_sigma()) {
        const bool per_pixel = c.sigma == Sigma::per_pixel;
        const auto& lv = model.params().entry(*model.params().find("log_sigma2"));
        CHECK(lv.rows == 1);
        CHECK(lv.cols == (per_pixel ? c.input_dim : 1));
      }
    }
    CHECK(model.params().find("log_sigma2").has_value() == c.has_sigma());
    CHECK(std::isnan(model.sigma2()) == !c.has_sigma());
  }
}

TEST_CASE("a label must be given to a conditional model and only to it") {
  const std::size_t m = 3;
  Matrix<float> x = xt::zeros<float>({m, kDim}), z = xt::zeros<float>({m, std::size_t(2)});
  const Matrix<float> y = data::one_hot<float>(std::vector<std::uint8_t>{0, 1, 2}, kClasses);
  {
    auto cvae_made = make_model<float>(small_config("cvae"), 1);
    Model<float>& cvae = *cvae_made;
    Tape<float> tape;
    CHECK_THROWS_AS(cvae.encode(tape.constant(x)), std::invalid_argument);
    CHECK_THROWS_AS(cvae.decode(tape.constant(z)), std::invalid_argument);
    CHECK_THROWS_AS(elbo_terms(cvae, tape.constant(x), std::nullopt, tape.constant(z), 1.f, true), std::invalid_argument);
    CHECK_NOTHROW(cvae.encode(tape.constant(x), tape.constant(y)));
  }
  {
    auto vae_made = make_model<float>(small_config("vae"), 1);
    Model<float>& vae = *vae_made;
    Tape<float> tape;
    CHECK_THROWS_AS(vae.encode(tape.constant(x), tape.constant(y)), std::invalid_argument);
    CHECK_THROWS_AS(vae.decode(tape.constant(z), tape.constant(y)), std::invalid_argument);
    CHECK_THROWS_AS(elbo_terms(vae, tape.constant(x), tape.constant(y), tape.constant(z), 1.f, true), std::invalid_argument);
    // The wrong input width is named, not silently multiplied.
    Matrix<float> narrow = xt::zeros<float>({m, kDim - 1});
    CHECK_THROWS_AS(vae.encode(tape.constant(narrow)), std::invalid_argument);
  }
}

TEST_CASE("a data set of the wrong dimension is rejected by Trainer and evaluate") {
  data::ImageSet set = blobs(20, 2);
  set.height = set.width = 7;  // 49 pixels per image, the model takes 64
  set.pixels.resize(set.count * set.dim());
  auto model_made = make_model<float>(small_config("vae"), 1);
    Model<float>& model = *model_made;
  CHECK_THROWS_AS(Trainer<float>(model, set, {}), std::invalid_argument);
  CHECK_THROWS_AS(evaluate(model, set, {}), std::invalid_argument);
}

// --- 6. training ---------------------------------------------------------------------------------

TEST_CASE("training twice with the same seed gives bit-identical parameters") {
  const data::ImageSet set = blobs(300, 15);
  auto train = [&](std::uint64_t seed) {
    auto model_made = make_model<float>(small_config("vae", LikelihoodKind::bernoulli), 5);
    Model<float>& model = *model_made;
    Trainer<float> trainer(model, set, {.batch = 32, .lr = 3e-3, .seed = seed, .binarize = data::Binarize::dynamic});
    for (int e = 0; e < 2; ++e) trainer.run_epoch();
    const auto v = model.params().values();
    return std::vector<float>(v.begin(), v.end());
  };
  const std::vector<float> a = train(7), b = train(7), other = train(8);
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  CHECK(a != other);  // the seed matters, so the comparison above can fail
}
