// The model interface's parts: the registry of kinds, the distributions and transforms, and the
// bounds over log-weights (free bits).
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include "tests/vae_fixtures.hpp"
#include "vae/distributions.hpp"

namespace {
using namespace vk;
using namespace vk::vae;
using namespace vk::test_vae;

TEST_CASE("registry: every kind builds, says what it is, and an unknown one lists them all") {
  for (const KindInfo& k : kinds()) {
    CAPTURE(k.name);
    ModelConfig c = small_config(k.name);
    auto model = make_model<double>(c, 1);
    CHECK(model->variational() == k.variational);
    CHECK(model->config().conditional() == k.conditional);
    // A latent-variable model draws at least z; an exact density draws nothing to score x.
    CHECK(model->noise_width() >= (k.family == Family::exact ? 0 : c.latent));
    CHECK(model->params().size() > 0);
  }
  ModelConfig c = small_config("vae");
  c.kind = "gan";
  try {
    make_model<float>(c, 1);
    FAIL("no error for an unknown kind");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CHECK(what.find("'gan'") != std::string::npos);
    for (const KindInfo& k : kinds()) CHECK(what.find(k.name) != std::string::npos);
  }
  // A flag of one kind given to another: named with the kinds that read it.
  CHECK_THROWS_WITH_AS(require_kind_reads(kind_info("vae"), "--lambda"), "--lambda is for --model rae", std::invalid_argument);
  CHECK_NOTHROW(require_kind_reads(kind_info("rae"), "--lambda"));
  CHECK_NOTHROW(require_kind_reads(kind_info("vae"), "--epochs"));
}

TEST_CASE("config.json of a run before the registry: objective and latent2 read as kind and latents_above") {
  nlohmann::json j = to_json(small_config("hvae"));
  j.erase("kind");
  j.erase("latents_above");
  j["objective"] = "hvae";
  j["latent2"] = 7;
  const ModelConfig c = model_config_from_json(j);
  CHECK(c.kind == "hvae");
  CHECK(c.latents_above == std::vector<std::size_t>{7});
  j["objective"] = "vae";
  CHECK(model_config_from_json(j).latents_above.empty());
  ModelConfig deep = small_config("hvae");
  deep.latents_above = {5, 4, 3};
  CHECK(model_config_from_json(to_json(deep)).latents_above == deep.latents_above);
}

TEST_CASE("closed-form KLs: against the Monte Carlo mean of log q - log p, and per dimension against the sum") {
  Tape<double> tape;
  Rng rng(5);
  const std::size_t n = 20000, k = 3;
  const Matrix<double> qm = {{0.3, -1.0, 0.5}}, qv = {{-0.4, 0.2, 0.0}}, pm = {{0.1, 0.6, -0.2}}, pv = {{0.5, -0.3, 0.1}};
  const DiagGaussian<double> q{tape.constant(qm), tape.constant(qv)}, p{tape.constant(pm), tape.constant(pv)};
  const double closed = kl_between(q, p).item();
  Var<double> z = q.sample(tape, n, rng);
  Var<double> ratio = sub(q.log_prob(z), p.log_prob(z));
  std::vector<double> r(ratio.node().value, ratio.node().value + n);
  const MeanSe mc = mean_se(r);
  CAPTURE(closed);
  CAPTURE(mc.mean);
  CHECK(std::abs(closed - mc.mean) <= 3 * mc.se);
  const DiagGaussian<double> unit = standard_normal_density(tape, k);
  CHECK(kl_between(q, unit).item() == doctest::Approx(kl_standard_normal(q).item()).epsilon(1e-12));
  Var<double> dims = kl_standard_normal_per_dim(q);
  CHECK(dims.cols() == k);
  CHECK(sum(dims).item() == doctest::Approx(kl_standard_normal(q).item()).epsilon(1e-12));
}

// z' = e^s z + t per column: the simplest invertible map with a log-determinant (sum_j s_j).
struct AffineStep {
  std::vector<double> s, t;
  Pushed<double> forward(ParameterStore<double>&, Var<double> z) const { return apply(z, 1); }
  Pushed<double> inverse(ParameterStore<double>&, Var<double> z) const { return apply(z, -1); }
  Pushed<double> apply(Var<double> z, int dir) const {
    Tape<double>& tape = *z.tape;
    Var<double> scale_row = tape.constant_uninitialized(1, s.size()), shift_row = tape.constant_uninitialized(1, s.size());
    double log_det = 0;
    for (std::size_t j = 0; j < s.size(); ++j) {
      scale_row.node().value[j] = std::exp(dir * s[j]);
      shift_row.node().value[j] = t[j];
      log_det += dir * s[j];
    }
    Var<double> out = dir > 0 ? add(mul(z, scale_row), shift_row) : mul(sub(z, shift_row), scale_row);
    Var<double> ld = tape.constant_uninitialized(z.rows(), 1);
    std::fill_n(ld.node().value, z.rows(), log_det);
    return {out, ld};
  }
};
static_assert(Transform<AffineStep, double>);
static_assert(Transform<Chain<AffineStep, AffineStep>, double>);

TEST_CASE("a chain of transforms: log-determinants add, and inverse undoes forward") {
  ParameterStore<double> store;
  Tape<double> tape;
  Rng rng(3);
  const Chain<AffineStep, AffineStep> chain(AffineStep{{0.5, -0.2}, {1.0, 2.0}}, AffineStep{{-1.0, 0.3}, {0.0, -1.0}});
  const Matrix<double> z0 = vk::test::random_matrix(rng, 4, 2);
  const Pushed<double> f = chain.forward(store, tape.constant(z0));
  const Pushed<double> b = chain.inverse(store, f.z);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(f.log_det.node().value[i] == doctest::Approx(0.5 - 0.2 - 1.0 + 0.3).epsilon(1e-12));
    CHECK(b.log_det.node().value[i] == doctest::Approx(-f.log_det.node().value[i]).epsilon(1e-12));
    for (std::size_t j = 0; j < 2; ++j)
      CHECK(b.z.node().value[i * 2 + j] == doctest::Approx(z0(i, j)).epsilon(1e-12));
  }
  // The second step runs on the first's output: z' = e^{s2} (e^{s1} z + t1) + t2.
  CHECK(f.z.node().value[0] == doctest::Approx(std::exp(-1.0) * (std::exp(0.5) * z0(0, 0) + 1.0)).epsilon(1e-12));
}

TEST_CASE("free bits: a dimension whose batch-mean KL is below lambda gets no gradient; the bound stands at 0") {
  // log-weights by hand: the KL per dimension a parameter [m, 3] whose column means are 0.2, 1.0 and 3.0.
  ParameterStore<double> store;
  const ParamId kl_id = store.add("kl", 4, 3);
  double* v = store.value_data(kl_id);
  const double means[3] = {0.2, 1.0, 3.0};
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 3; ++j) v[i * 3 + j] = means[j] + (double(i) - 1.5) * 0.05;
  const Matrix<double> log_px = {{-10.0}, {-11.0}, {-12.0}, {-9.0}};
  auto loss = [&](double lambda, Tape<double>& tape) {
    LogWeights<double> lw;
    Var<double> dims = tape.param(store, kl_id);
    lw.log_px = tape.constant(log_px);
    lw.kl_dims = dims;
    lw.kl = sum(dims, 1);
    lw.code = dims;
    return elbo(lw, 0.5, lambda);
  };
  Tape<double> tape;
  const double plain = loss(0, tape).loss.item();  // -mean log p + 0.5 mean KL
  CHECK(plain == doctest::Approx(10.5 + 0.5 * 4.2).epsilon(1e-12));
  // lambda below every dimension's mean: the same bound.
  CHECK(loss(0.1, tape).loss.item() == doctest::Approx(plain).epsilon(1e-12));
  // lambda = 1.5: dimensions 0 and 1 count as 1.5 each and carry no gradient; dimension 2 does.
  tape.reset();
  std::fill(store.grads().begin(), store.grads().end(), 0.0);
  const Terms<double> t = loss(1.5, tape);
  CHECK(t.loss.item() == doctest::Approx(10.5 + 0.5 * (1.5 + 1.5 + 3.0)).epsilon(1e-12));
  tape.backward(t.loss);
  const double* g = store.grad_data(kl_id);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(g[i * 3 + 0] == 0.0);
    CHECK(g[i * 3 + 1] == 0.0);
    CHECK(g[i * 3 + 2] == doctest::Approx(0.5 / 4).epsilon(1e-12));
  }
  // The reported KL is the true one, not the clamped.
  CHECK(t.kl.node().value[0] == doctest::Approx(0.2 + 1.0 + 3.0 - 3 * 0.075).epsilon(1e-12));
}

TEST_CASE("free bits through the trainer: at lambda = 0 training is the plain ELBO's to the bit") {
  data::ImageSet set = blobs(60, 2);
  auto run = [&](double free_bits) {
    auto model = make_model<double>(small_config("vae"), 4);
    Trainer<double> trainer(*model, set, {.batch = 20, .seed = 2, .free_bits = free_bits});
    trainer.run_epoch();
    return std::vector<double>(model->params().values().begin(), model->params().values().end());
  };
  CHECK(run(0) == run(0));
  CHECK(run(0) != run(0.5));
  auto hvae = make_model<double>(small_config("hvae"), 4);
  CHECK_THROWS_AS(Trainer<double>(*hvae, set, {.free_bits = 0.5}), std::invalid_argument);
}

}  // namespace
