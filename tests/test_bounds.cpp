// Importance weighting against its theory: the IW estimate nondecreasing in K and above the ELBO,
// the IWAE bound (the one-sample ELBO at k = 1, above the average ELBO at k > 1), and the model
// with two stochastic layers (ancestral draws, its IW estimate over both layers).
#include <doctest/doctest.h>

#include <cstring>

#include "autodiff/blas.hpp"
#include "tests/vae_fixtures.hpp"

using namespace vk;
using namespace vk::vae;
using namespace vk::test_vae;


// --- 2. importance weighting ----------------------------------------------------------------------

TEST_CASE("importance-weighted log p(x): nondecreasing in K and above the ELBO") {
  for (const LikelihoodKind lik : {LikelihoodKind::bernoulli, LikelihoodKind::gaussian, LikelihoodKind::logistic}) {
    CAPTURE(name(lik));
    data::ImageSet set = blobs(400, 1);
    if (lik == LikelihoodKind::bernoulli) data::binarize_static(set, 5);
    auto model_made = make_model<double>(small_config("vae", lik), 3);
    Model<double>& model = *model_made;
    Trainer<double> trainer(model, set, {.batch = 32, .lr = 3e-3, .seed = 4});
    for (int e = 0; e < 5; ++e) trainer.run_epoch();

    // Per example, the mean over R repetitions of log p-hat_K. The repetition r of example i uses
    // the same seed for every K, so the samples of a smaller K are a prefix of a larger K's
    // (common random numbers): differences between K are then far less noisy than the estimates.
    const std::vector<std::size_t> ks = {1, 10, 100, 1000};
    const std::size_t examples = 40, reps = 3;
    std::vector<std::vector<double>> ll(ks.size(), std::vector<double>(examples, 0.0));
    Tape<double> tape;
    for (std::size_t i = 0; i < examples; ++i) {
      const std::vector<double> x = image_values(set, i);
      for (std::size_t r = 0; r < reps; ++r)
        for (std::size_t q = 0; q < ks.size(); ++q) {
          Rng rng(1000 * i + r + 17);
          ll[q][i] += iw_log_likelihood<double>(model, tape, x.data(), nullptr, ks[q], rng) / double(reps);
        }
    }
    for (std::size_t q = 0; q + 1 < ks.size(); ++q) {
      std::vector<double> diff(examples);
      for (std::size_t i = 0; i < examples; ++i) diff[i] = ll[q + 1][i] - ll[q][i];
      const MeanSe d = mean_se(diff);
      CAPTURE(ks[q]);
      CAPTURE(d.mean);
      CAPTURE(d.se);
      CHECK(d.mean >= -3 * d.se);
    }
    // And it clearly improves from K = 1 (a one-sample ELBO) to K = 1000.
    std::vector<double> gain(examples);
    for (std::size_t i = 0; i < examples; ++i) gain[i] = ll.back()[i] - ll.front()[i];
    const MeanSe g = mean_se(gain);
    CAPTURE(g.mean);
    CAPTURE(g.se);
    CHECK(g.mean > 3 * g.se);

    EvalOptions options;
    options.batch = 100;
    options.seed = 9;
    options.iw_samples = 1000;
    options.limit = 200;
    const EvalResult r = evaluate(model, set, options);
    CAPTURE(r.nelbo);
    CAPTURE(r.iw_nll);
    CHECK(r.iw_samples == 1000);
    CHECK(std::isfinite(r.iw_nll));
    CHECK(r.iw_nll <= r.nelbo);
    // Two threads take the images in turn, each with its own tape: one thread's bits.
    blas::set_threads(2);
    const EvalResult two = evaluate(model, set, options);
    blas::set_threads(1);
    CHECK(std::memcmp(&two.iw_nll, &r.iw_nll, sizeof(double)) == 0);
  }
}

TEST_CASE("the importance-weighted bound: the ELBO at k = 1, and above it at k > 1 for the same model") {
  for (const LikelihoodKind lik : {LikelihoodKind::bernoulli, LikelihoodKind::gaussian, LikelihoodKind::logistic}) {
    CAPTURE(name(lik));
    data::ImageSet set = blobs(64, 2);
    if (lik == LikelihoodKind::bernoulli) data::binarize_static(set, 5);
    auto model_made = make_model<double>(small_config("vae", lik), 3);
    Model<double>& model = *model_made;
    Trainer<double> trainer(model, set, {.batch = 16, .lr = 3e-3, .seed = 4, .bound = Bound::iwae, .k = 4});
    for (int e = 0; e < 3; ++e) CHECK(std::isfinite(trainer.run_epoch().loss));
    const std::size_t m = 64, k = 50;
    Matrix<double> x = Matrix<double>::from_shape({m, kDim});
    for (std::size_t i = 0; i < m; ++i) {
      const std::vector<double> xi = image_values(set, i);
      std::copy(xi.begin(), xi.end(), x.data() + i * kDim);
    }
    Rng rng(8);
    Tape<double> tape;
    NoGradGuard guard(tape);
    Var<double> eps = standard_normal(tape, k * m, model.config().latent, rng);
    const std::size_t latent = model.config().latent;  // rows 0 .. m-1: sample 0 of every example
    Var<double> first = reshape(slice_cols(reshape(eps, 1, k * m * latent), 0, m * latent), m, latent);
    // At k = 1 the bound is the one-sample ELBO: the same reconstruction term, with the KL
    // estimated by log q(z|x) - log p(z) at the sample instead of in closed form.
    const auto one = iwae_terms(model, tape.constant(x), std::nullopt, first, 1, 1.0, false);
    const auto elbo = elbo_terms(model, tape.constant(x), std::nullopt, first, 1.0, false);
    double one_sample = 0;
    for (std::size_t i = 0; i < m; ++i) {
      CHECK(one.rec.value()(i, 0) == doctest::Approx(elbo.rec.value()(i, 0)).epsilon(1e-12));
      one_sample += (one.rec.value()(i, 0) + one.kl.value()(i, 0)) / double(m);
    }
    CHECK(one.loss.item() == doctest::Approx(one_sample).epsilon(1e-12));
    // With k samples the bound is log of a mean of k weights: by Jensen at least the mean of their
    // logs, the k-sample average ELBO, and here it is clearly larger.
    const auto many = iwae_terms(model, tape.constant(x), std::nullopt, eps, k, 1.0, false);
    double average_elbo = 0;
    std::vector<double> kl_error(m);  // the k-sample Monte Carlo KL against the closed form
    for (std::size_t i = 0; i < m; ++i) {
      average_elbo += (many.rec.value()(i, 0) + many.kl.value()(i, 0)) / double(m);
      kl_error[i] = many.kl.value()(i, 0) - elbo.kl.value()(i, 0);
    }
    const MeanSe e = mean_se(kl_error);
    CAPTURE(e.mean);
    CAPTURE(e.se);
    CHECK(std::abs(e.mean) <= 3 * e.se);
    CAPTURE(average_elbo);
    CAPTURE(many.loss.item());
    CHECK(many.loss.item() <= average_elbo);
    CHECK(many.loss.item() < elbo.loss.item());
  }
}

TEST_CASE("two and three stochastic layers: training, ancestral draws and their determinism, an IW estimate below the NELBO") {
  for (const std::vector<std::size_t>& above : {std::vector<std::size_t>{2}, std::vector<std::size_t>{3, 2}}) {
  CAPTURE(above.size() + 1);
  data::ImageSet set = blobs(200, 6);
  data::binarize_static(set, 5);
  ModelConfig c = small_config("hvae", LikelihoodKind::bernoulli);
  c.latents_above = above;
  auto model_made = make_model<double>(c, 3);
  Model<double>& model = *model_made;
  CHECK(model.noise_width() == c.latent + std::accumulate(above.begin(), above.end(), std::size_t(0)));
  CHECK(model.params().find("prior.up.mu.weight").has_value());
  CHECK(model.params().find("prior.down.logvar.bias").has_value());
  // The third layer is the second one's prior: its networks nest in the names.
  CHECK(model.params().find("prior.prior.up.mu.weight").has_value() == (above.size() == 2));
  CHECK(model.params().find("prior.prior.down.mu.bias").has_value() == (above.size() == 2));
  Trainer<double> trainer(model, set, {.batch = 20, .lr = 3e-3, .seed = 4});
  data::ImageSet held_out = blobs(100, 7);
  data::binarize_static(held_out, 5);
  const double untrained = evaluate(model, held_out, {}).nelbo;
  for (int e = 0; e < 5; ++e) trainer.run_epoch();
  const double trained = evaluate(model, held_out, {}).nelbo;
  CAPTURE(untrained);
  CAPTURE(trained);
  CHECK(trained < untrained - 5);  // on images it never saw
  // Ancestral draws: z2 ~ N(0, I), z ~ p(z|z2); the same seed gives the same z.
  auto draws = [&](std::uint64_t seed) {
    Tape<double> tape;
    NoGradGuard guard(tape);
    Rng rng(seed);
    Var<double> z = model.draw_prior(tape, std::nullopt, 9, rng);
    REQUIRE(z.rows() == 9);
    REQUIRE(z.cols() == model.config().latent);
    Var<double> x = model.mean_image(model.decode(z));
    CHECK(x.cols() == kDim);
    return std::vector<double>(z.node().value, z.node().value + z.node().size());
  };
  CHECK(draws(1) == draws(1));
  CHECK(draws(1) != draws(2));
  // The importance-weighted estimate over (z, z2) jointly is above the ELBO, as for one layer.
  EvalOptions options;
  options.iw_samples = 200;
  options.limit = 50;
  const EvalResult r = evaluate(model, set, options);
  CAPTURE(r.nelbo);
  CAPTURE(r.iw_nll);
  CHECK(std::isfinite(r.iw_nll));
  CHECK(r.iw_nll <= r.nelbo);
  }
}

