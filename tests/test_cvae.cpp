// The conditional VAE variants (where the label enters; a learned prior p(z|y)) and the
// classifier that judges conditional generation: shapes, every parameter gradient against
// finite differences, the learned-prior KL and IW bound against the N(0, I) ones they reduce to,
// and a classifier on a well-separated synthetic mixture. Tiny random data: runs in seconds.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <xtensor/xview.hpp>
#include <nlohmann/json.hpp>

#include "tests/gradcheck.hpp"
#include "tests/vae_fixtures.hpp"
#include "autodiff/ops.hpp"
#include "datasets/batcher.hpp"
#include "datasets/synthetic.hpp"
#include "vae/classifier.hpp"
#include "vae/evaluate.hpp"
#include "vae/model.hpp"

using namespace vk;
using namespace vk::vae;

namespace {

constexpr std::size_t kCvaeClasses = 3;

ModelConfig cvae_config(Condition condition, LikelihoodKind likelihood) {
  ModelConfig c;
  c.kind = "cvae";
  c.condition = condition;
  c.likelihood = likelihood;
  c.input_dim = 16;
  c.hidden = {8, 6};  // two hidden layers: the embedding meets more than one
  c.latent = 2;
  c.classes = kCvaeClasses;
  c.embedding = 3;
  return c;
}

struct CvaeVariant {
  std::string name;
  ModelConfig config;
};
std::vector<CvaeVariant> cvae_variants() {
  std::vector<CvaeVariant> out;
  for (Condition cond : {Condition::encoder_decoder, Condition::decoder, Condition::embedding, Condition::prior})
    for (LikelihoodKind lik : {LikelihoodKind::gaussian, LikelihoodKind::bernoulli})
      out.push_back({std::string(name(cond)) + " " + name(lik), cvae_config(cond, lik)});
  return out;
}

template <class T>
Matrix<T> uniform(Rng& rng, std::size_t rows, std::size_t cols, double lo, double hi) {
  Matrix<T> m = Matrix<T>::from_shape({rows, cols});
  fill_uniform<T>(rng, std::span<T>(m.data(), m.size()), T(lo), T(hi));
  return m;
}

std::vector<std::uint8_t> cycling_labels(std::size_t n) {
  std::vector<std::uint8_t> labels(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = std::uint8_t(i % kCvaeClasses);
  return labels;
}

}  // namespace

TEST_CASE("every CVAE variant: encode, decode, prior and terms give the documented shapes and values") {
  const std::size_t m = 5;
  for (const CvaeVariant& v : cvae_variants()) {
    CAPTURE(v.name);
    const ModelConfig& c = v.config;
    auto model_made = make_model<float>(c, 1);
    Model<float>& model = *model_made;
    Tape<float> tape;
    Rng rng(3);
    Matrix<float> x = uniform<float>(rng, m, c.input_dim, 0, 1), eps = uniform<float>(rng, m, c.latent, -1, 1);
    const Matrix<float> y = data::one_hot<float>(cycling_labels(m), kCvaeClasses);
    Var<float> yv = tape.constant(y);
    auto code = model.encode(tape.constant(x), yv);
    CHECK(code.mu.rows() == m);
    CHECK(code.mu.cols() == c.latent);
    CHECK(code.logvar.cols() == c.latent);
    Var<float> decoded = model.decode(code.mu, yv);
    CHECK(decoded.rows() == m);
    CHECK(decoded.cols() == c.input_dim);
    const DiagGaussian<float> prior = *prior_of(model, tape, std::optional(yv));  // one row N(0, I) unless learned per class
    const std::size_t prior_rows = c.learned_prior() ? m : 1;
    CHECK(prior.mu.rows() == prior_rows);
    CHECK(prior.mu.cols() == c.latent);
    CHECK(prior.logvar.rows() == prior_rows);
    CHECK(prior.logvar.cols() == c.latent);
    auto t = elbo_terms(model, tape.constant(x), yv, tape.constant(eps), 1.f, true);
    CHECK(t.loss.rows() == 1);
    CHECK(t.rec.rows() == m);
    CHECK(t.kl.rows() == m);
    CHECK(t.kl.cols() == 1);
    CHECK(std::isfinite(t.loss.item()));
    // Values: the fixed prior is N(0, I); a learned one gives rows of one label the same
    // Gaussian (labels cycle, so rows 0 and kCvaeClasses share one); the KL term is the closed
    // form against that prior of the code the encoder gave.
    for (std::size_t e = 0; e < prior.mu.node().size(); ++e)
      if (!c.learned_prior()) CHECK((prior.mu.node().value[e] == 0.f && prior.logvar.node().value[e] == 0.f));
    if (c.learned_prior())
      for (std::size_t j = 0; j < c.latent; ++j)
        CHECK(prior.mu.node().value[j] == prior.mu.node().value[kCvaeClasses * c.latent + j]);
    for (std::size_t i = 0; i < m; ++i)
      CHECK(t.kl.node().value[i] == doctest::Approx(test_vae::closed_form_kl(code.mu, code.logvar, prior.mu, prior.logvar, i)).epsilon(1e-4));
    CHECK(model.params().find("label_embedding.weight").has_value() == (c.condition == Condition::embedding));
    CHECK(model.params().find("prior.mu").has_value() == (c.condition == Condition::prior));
    // The label is required by every variant, and must have `classes` columns.
    CHECK_THROWS_AS(model.decode(code.mu), std::invalid_argument);
    Matrix<float> wide = xt::zeros<float>({m, kCvaeClasses + 1});
    CHECK_THROWS_AS(model.decode(code.mu, tape.constant(wide)), std::invalid_argument);
  }
}

TEST_CASE("the label reaches the encoder only where the variant says, and the decoder always") {
  Rng rng(5);
  const std::size_t m = 3;
  Matrix<float> x = uniform<float>(rng, m, 16, 0, 1), z = uniform<float>(rng, m, 2, -1, 1);
  const Matrix<float> y0 = data::one_hot<float>(std::vector<std::uint8_t>{0, 0, 0}, kCvaeClasses);
  const Matrix<float> y1 = data::one_hot<float>(std::vector<std::uint8_t>{1, 1, 1}, kCvaeClasses);
  for (const CvaeVariant& v : cvae_variants()) {
    CAPTURE(v.name);
    auto model_made = make_model<float>(v.config, 2);
    Model<float>& model = *model_made;
    Tape<float> tape;
    auto differs = [](Var<float> a, Var<float> b) {
      double d = 0;
      for (std::size_t e = 0; e < a.rows() * a.cols(); ++e) d += std::abs(a.node().value[e] - b.node().value[e]);
      return d > 1e-6;
    };
    const bool enc = differs(model.encode(tape.constant(x), tape.constant(y0)).mu,
                             model.encode(tape.constant(x), tape.constant(y1)).mu);
    CHECK(enc == (v.config.condition != Condition::decoder));
    CHECK(differs(model.decode(tape.constant(z), tape.constant(y0)), model.decode(tape.constant(z), tape.constant(y1))));
  }
}

TEST_CASE("every CVAE variant: d loss / d parameter matches five-point central differences") {
  const std::size_t n = 6;
  const double kl_weight = 0.7, h = 1e-4, floor = 1e-3;
  for (CvaeVariant v : cvae_variants()) {
    CAPTURE(v.name);
    v.config.activation = Op::tanh;  // smooth: no kink for a finite difference to straddle
    const ModelConfig& c = v.config;
    auto model_made = make_model<double>(c, 31);
    Model<double>& model = *model_made;
    ParameterStore<double>& ps = model.params();
    Rng rng(77);
    // Off the initial values: the log-variance head and the prior start at exactly zero.
    for (double& p : ps.values()) p += std::uniform_real_distribution<double>(-0.3, 0.3)(rng);
    Matrix<double> x = uniform<double>(rng, n, c.input_dim, 0, 1), eps = uniform<double>(rng, n, c.latent, -2, 2);
    if (c.likelihood == LikelihoodKind::bernoulli)
      for (double& e : x) e = e < 0.5 ? 0.0 : 1.0;
    const Matrix<double> y = data::one_hot<double>(cycling_labels(n), kCvaeClasses);
    auto loss_on = [&](Tape<double>& tape) {
      return elbo_terms(model, tape.constant(x), tape.constant(y), tape.constant(eps), kl_weight, true).loss;
    };
    const std::vector<double> analytic = vk::test::added_gradients(ps, loss_on, rng);
    // Every element of the variant's own parameters, and a sample of the rest.
    std::vector<std::size_t> own, rest;
    for (const auto& entry : ps.entries()) {
      const bool special = entry.name.starts_with("prior.") || entry.name.starts_with("label_embedding");
      for (std::size_t e = entry.offset; e < entry.offset + entry.size(); ++e) (special ? own : rest).push_back(e);
    }
    std::shuffle(rest.begin(), rest.end(), rng);
    rest.resize(std::min<std::size_t>(rest.size(), 120));
    own.insert(own.end(), rest.begin(), rest.end());

    const auto worst = vk::test::compare_with_differences(ps, analytic, own, loss_on, h, floor);
    CAPTURE(worst.where);
    CHECK(worst.error <= 1e-6);
  }
}

TEST_CASE("a learned prior still at N(0, I) gives the KL and the IW bound of the fixed prior") {
  // Both models draw the shared parameters from the same seed in the same order, so with the
  // prior at its zero start they are the same model and must agree term by term.
  for (LikelihoodKind lik : {LikelihoodKind::gaussian, LikelihoodKind::bernoulli}) {
    CAPTURE(name(lik));
    auto fixed_made = make_model<double>(cvae_config(Condition::encoder_decoder, lik), 9);
    Model<double>& fixed = *fixed_made;
    auto learned_made = make_model<double>(cvae_config(Condition::prior, lik), 9);
    Model<double>& learned = *learned_made;
    Rng rng(4);
    const std::size_t n = 4;
    Matrix<double> x = uniform<double>(rng, n, 16, 0, 1), eps = uniform<double>(rng, n, 2, -2, 2);
    if (lik == LikelihoodKind::bernoulli)
      for (double& e : x) e = e < 0.5 ? 0.0 : 1.0;
    const Matrix<double> y = data::one_hot<double>(cycling_labels(n), kCvaeClasses);
    Tape<double> tape;
    auto a = elbo_terms(fixed, tape.constant(x), tape.constant(y), tape.constant(eps), 1.0, false);
    auto b = elbo_terms(learned, tape.constant(x), tape.constant(y), tape.constant(eps), 1.0, false);
    for (std::size_t i = 0; i < n; ++i) CHECK(b.kl.node().value[i] == doctest::Approx(a.kl.node().value[i]).epsilon(1e-12));
    Rng r1(8), r2(8);
    const double iw_a = iw_log_likelihood<double>(fixed, tape, x.data(), y.data(), 50, r1);
    const double iw_b = iw_log_likelihood<double>(learned, tape, x.data(), y.data(), 50, r2);
    CHECK(iw_b == doctest::Approx(iw_a).epsilon(1e-12));
  }
}

TEST_CASE("the learned-prior KL equals KL(N(mu, e^lv) || N(mu_y, e^lv_y)) written out") {
  ModelConfig c = cvae_config(Condition::prior, LikelihoodKind::gaussian);
  auto model_made = make_model<double>(c, 2);
    Model<double>& model = *model_made;
  auto& ps = model.params();
  Rng rng(6);
  for (double& p : ps.values()) p += std::uniform_real_distribution<double>(-0.5, 0.5)(rng);
  const std::size_t n = 3;
  Matrix<double> x = uniform<double>(rng, n, 16, 0, 1), eps = uniform<double>(rng, n, 2, -1, 1);
  const std::vector<std::uint8_t> labels = cycling_labels(n);
  const Matrix<double> y = data::one_hot<double>(labels, kCvaeClasses);
  Tape<double> tape;
  auto t = elbo_terms(model, tape.constant(x), tape.constant(y), tape.constant(eps), 1.0, false);
  auto q = model.encode(tape.constant(x), tape.constant(y));
  const double* pm = ps.value_data(*ps.find("prior.mu"));
  const double* plv = ps.value_data(*ps.find("prior.logvar"));
  for (std::size_t i = 0; i < n; ++i) {
    double kl = 0;
    for (std::size_t j = 0; j < c.latent; ++j) {
      const double mu = q.mu.node().value[i * c.latent + j], lv = q.logvar.node().value[i * c.latent + j];
      const double m2 = pm[labels[i] * c.latent + j], v2 = std::exp(plv[labels[i] * c.latent + j]);
      kl += std::log(std::sqrt(v2) / std::exp(0.5 * lv)) + (std::exp(lv) + (mu - m2) * (mu - m2)) / (2 * v2) - 0.5;
    }
    CHECK(t.kl.node().value[i] == doctest::Approx(kl).epsilon(1e-12));
  }
}

TEST_CASE("Condition names round trip; an unknown one is an invalid_argument listing the valid ones") {
  for (Condition c : {Condition::encoder_decoder, Condition::decoder, Condition::embedding, Condition::prior})
    CHECK(parse_condition(name(c)) == c);
  std::string message;
  try {
    parse_condition("decoder-only");
  } catch (const std::invalid_argument& e) {
    message = e.what();
  }
  CHECK(message.find("decoder-only") != std::string::npos);
  for (const char* n : {"encoder-decoder", "decoder", "embedding", "prior"}) CHECK(message.find(n) != std::string::npos);
}

TEST_CASE("condition and embedding survive the JSON of a run; old runs without them are encoder-decoder") {
  ModelConfig c = cvae_config(Condition::embedding, LikelihoodKind::bernoulli);
  c.embedding = 7;
  const ModelConfig d = model_config_from_json(nlohmann::json::parse(to_json(c).dump()));
  CHECK(d.condition == Condition::embedding);
  CHECK(d.embedding == 7);
  nlohmann::json old = to_json(cvae_config(Condition::prior, LikelihoodKind::gaussian));
  old.erase("condition");
  old.erase("embedding");
  CHECK(model_config_from_json(old).condition == Condition::encoder_decoder);
  ModelConfig unconditional;
  unconditional.condition = Condition::prior;  // a condition without labels is a mistake, not a no-op
  CHECK_THROWS_AS(unconditional.validate(), std::invalid_argument);
  ModelConfig no_width = c;
  no_width.embedding = 0;
  CHECK_THROWS_AS(no_width.validate(), std::invalid_argument);
  nlohmann::json bad = to_json(c);
  bad["condition"] = "everywhere";
  CHECK_THROWS_AS(model_config_from_json(bad), std::invalid_argument);
}

TEST_CASE("the classifier separates a well-separated synthetic mixture") {
  data::MixtureData mix = data::make_mixture({.count = 3000, .classes = 4, .dim = 8, .mean_spread = 4.0,
                                              .component_sigma = 0.5, .seed = 3});
  // Held-out accuracy: train on the first 2,000 points, test on the last 1,000.
  const Matrix<double> train_x = xt::view(mix.x, xt::range(0, 2000), xt::all());
  const Matrix<double> test_x = xt::view(mix.x, xt::range(2000, 3000), xt::all());
  const std::span<const std::uint8_t> labels(mix.labels);
  data::Batcher<float> train(train_x, labels.subspan(0, 2000), 4, {.batch = 64, .seed = 1});
  data::Batcher<float> test(test_x, labels.subspan(2000), 4, {.batch = 250, .shuffle = false});
  Classifier classifier(8, 4, {32}, 1, 3e-3);
  const double first = classifier.train_epoch(train);
  double last = first;
  for (int e = 0; e < 9; ++e) last = classifier.train_epoch(train);
  CAPTURE(first);
  CAPTURE(last);
  CHECK(last < first);
  const double accuracy = classifier.accuracy(test);
  CAPTURE(accuracy);
  CHECK(accuracy > 0.95);
  // predict on the whole test set scores the same as accuracy's batched pass.
  const Matrix<float> all = xt::cast<float>(test_x);
  const std::vector<std::uint8_t> predicted = classifier.predict(all.data(), 1000);
  std::size_t right = 0;
  for (std::size_t i = 0; i < 1000; ++i) right += predicted[i] == labels[2000 + i];
  CHECK(double(right) / 1000.0 == doctest::Approx(accuracy));
}

TEST_CASE("softmax_cross_entropy is log(classes) at equal logits and matches a hand computation") {
  Tape<double> tape;
  Matrix<double> logits = {{0.0, 0.0, 0.0}, {1.0, 2.0, 3.0}};
  const Matrix<double> y = data::one_hot<double>(std::vector<std::uint8_t>{1, 2}, 3);
  const double ce = softmax_cross_entropy(tape.constant(logits), tape.constant(y)).item();
  const double second = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  CHECK(ce == doctest::Approx((std::log(3.0) + second) / 2).epsilon(1e-12));
}

TEST_CASE("mean_pairwise_distance matches the pairs summed by hand") {
  Rng rng(12);
  const std::size_t n = 7, d = 5;
  Matrix<float> x = uniform<float>(rng, n, d, 0, 1);
  double total = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      double s = 0;
      for (std::size_t k = 0; k < d; ++k) s += (double(x(i, k)) - x(j, k)) * (double(x(i, k)) - x(j, k));
      total += std::sqrt(s);
    }
  CHECK(mean_pairwise_distance(x.data(), n, d) == doctest::Approx(total / 21).epsilon(1e-9));
  CHECK(std::isnan(mean_pairwise_distance(x.data(), 1, d)));
  Matrix<float> same = xt::ones<float>({std::size_t(4), d});
  CHECK(mean_pairwise_distance(same.data(), 4, d) == 0.0);
}

TEST_CASE("sample_by_class: classes * per_class mean images in [0, 1], from the class's prior") {
  for (const CvaeVariant& v : cvae_variants()) {
    CAPTURE(v.name);
    auto model_made = make_model<float>(v.config, 3);
    Model<float>& model = *model_made;
    Rng rng(1);
    const std::vector<float> x = sample_by_class(model, kCvaeClasses, 4, rng);
    CHECK(x.size() == kCvaeClasses * 4 * v.config.input_dim);
    for (float p : x) CHECK((p >= 0.f && p <= 1.f));
  }
  // A learned prior moved far from N(0, I) for class 1 moves that class's samples, only.
  ModelConfig c = cvae_config(Condition::prior, LikelihoodKind::gaussian);
  auto a_made = make_model<float>(c, 3), b_made = make_model<float>(c, 3);
  Model<float>&a = *a_made, &b = *b_made;
  auto& ps = b.params();
  float* mu = ps.value_data(*ps.find("prior.mu"));
  for (std::size_t j = 0; j < c.latent; ++j) mu[1 * c.latent + j] = 5.f;
  Rng r1(2), r2(2);
  const std::vector<float> xa = sample_by_class(a, kCvaeClasses, 3, r1), xb = sample_by_class(b, kCvaeClasses, 3, r2);
  const std::size_t block = 3 * c.input_dim;
  CHECK(std::equal(xa.begin(), xa.begin() + block, xb.begin()));
  CHECK(!std::equal(xa.begin() + block, xa.begin() + 2 * block, xb.begin() + block));
  CHECK(std::equal(xa.begin() + 2 * block, xa.end(), xb.begin() + 2 * block));
}
