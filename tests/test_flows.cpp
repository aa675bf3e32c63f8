// The normalizing flows' transforms: inverse(forward(x)) = x, log|det J| against the determinant
// of the Jacobian the tape gives column by column, every parameter's and input's gradient against
// five-point differences, a 2-D flow density that integrates to 1, and the Monte Carlo KL of an
// IAF posterior against quadrature.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "tests/gradcheck.hpp"
#include "vae/flows/iaf.hpp"
#include "vae/flows/transforms.hpp"
#include "vae/registry.hpp"

using namespace vk;
using namespace vk::vae;
using namespace vk::vae::flows;
using vk::test::random_matrix;

namespace {

using Store = ParameterStore<double>;
using Ctx = std::optional<Var<double>>;

// Every parameter moved by up to `by`: checks see a generic map, not the identity a flow starts at.
void perturb(Store& store, Rng& rng, double by = 0.3) {
  for (double& v : store.values()) v += std::uniform_real_distribution<double>(-by, by)(rng);
}

// log|det A| of a small dense matrix by elimination with partial pivoting.
double log_abs_det(std::vector<double> a, std::size_t n) {
  double log_det = 0;
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t pivot = c;
    for (std::size_t r = c + 1; r < n; ++r)
      if (std::abs(a[r * n + c]) > std::abs(a[pivot * n + c])) pivot = r;
    for (std::size_t k = 0; k < n; ++k) std::swap(a[c * n + k], a[pivot * n + k]);
    log_det += std::log(std::abs(a[c * n + c]));
    for (std::size_t r = c + 1; r < n; ++r) {
      const double f = a[r * n + c] / a[c * n + c];
      for (std::size_t k = c; k < n; ++k) a[r * n + k] -= f * a[c * n + k];
    }
  }
  return log_det;
}

// The midpoints of an n x n grid of squares over [-L, L]^2, one point per row: a quadrature rule.
Matrix<double> midpoints(std::size_t n, double L) {
  const double h = 2 * L / double(n);
  Matrix<double> grid = Matrix<double>::from_shape({n * n, 2});
  for (std::size_t a = 0; a < n; ++a)
    for (std::size_t b = 0; b < n; ++b) {
      grid(a * n + b, 0) = -L + (double(a) + 0.5) * h;
      grid(a * n + b, 1) = -L + (double(b) + 0.5) * h;
    }
  return grid;
}

// forward(store, x [rows, d], context) and inverse likewise, for a transform with or without context.
struct Subject {
  std::function<Pushed<double>(Store&, Var<double>)> forward, inverse;
};

template <class F>
Subject subject(const F& f, const Matrix<double>* context = nullptr) {
  if constexpr (requires(Store& s, Var<double> z) { f.forward(s, z, Ctx{}); }) {
    auto ctx = [context](Var<double> z) { return context ? Ctx(z.tape->constant(*context)) : Ctx{}; };
    return {[&f, ctx](Store& s, Var<double> z) { return f.forward(s, z, ctx(z)); },
            [&f, ctx](Store& s, Var<double> z) { return f.inverse(s, z, ctx(z)); }};
  } else {
    return {[&f](Store& s, Var<double> z) { return f.forward(s, z); },
            [&f](Store& s, Var<double> z) { return f.inverse(s, z); }};
  }
}

// The acceptance list of a transform at the rows of x: round trip, log-determinant, gradients.
void check_transform(Store& store, const Subject& f, const Matrix<double>& x) {
  const std::size_t m = x.shape(0), d = x.shape(1);
  {
    Tape<double> t;
    NoGradGuard guard(t);
    const Pushed<double> y = f.forward(store, t.constant(x));
    const Pushed<double> back = f.inverse(store, y.z);
    double worst = 0, det_sum = 0;
    for (std::size_t e = 0; e < m * d; ++e) worst = std::max(worst, std::abs(back.z.node().value[e] - x.data()[e]));
    for (std::size_t i = 0; i < m; ++i) det_sum = std::max(det_sum, std::abs(y.log_det.node().value[i] + back.log_det.node().value[i]));
    CHECK(worst <= 1e-10);
    CHECK(det_sum <= 1e-10);  // the inverse's log-determinant is minus the forward's
  }
  // Row i's Jacobian, row j of it from the gradient of output column j.
  for (std::size_t i = 0; i < m; ++i) {
    std::vector<double> jacobian(d * d), row(x.data() + i * d, x.data() + (i + 1) * d);
    double log_det = 0;
    for (std::size_t j = 0; j < d; ++j) {
      std::vector<double> grad(d, 0.0), pick(d, 0.0);
      pick[j] = 1;
      Tape<double> t;
      const Pushed<double> y = f.forward(store, t.variable(row.data(), grad.data(), 1, d));
      log_det = y.log_det.item();
      t.backward(sum(mul(y.z, t.constant(pick.data(), 1, d))));
      std::copy(grad.begin(), grad.end(), jacobian.begin() + j * d);
    }
    CHECK(std::abs(log_det - log_abs_det(jacobian, d)) <= 1e-8);
  }
  // Gradients of the output and log-determinant: in the input, then in every parameter.
  auto both = [&](Tape<double>&, const std::vector<Var<double>>& v) {
    const Pushed<double> y = f.forward(store, v[0]);
    return concat_cols(y.z, y.log_det);
  };
  const auto report = vk::test::gradcheck({{x, true}}, both);
  INFO(report.worst);
  CHECK(report.max_error <= 1e-6);
  Rng rng(3);
  const Matrix<double> r = random_matrix(rng, m, d + 1);
  auto loss_on = [&](Tape<double>& t) { return sum(mul(both(t, {t.constant(x)}), t.constant(r))); };
  if (store.size() == 0) return;
  const std::vector<double> analytic = vk::test::added_gradients(store, loss_on, rng);
  std::vector<std::size_t> elements;
  for (std::size_t e = 0; e < store.size(); e += 1 + store.size() / 300) elements.push_back(e);
  const auto worst = vk::test::compare_with_differences(store, analytic, elements, loss_on);
  INFO(worst.where);
  CHECK(worst.error <= 1e-6);
}

}  // namespace

TEST_CASE("each transform: inverse, log-determinant and gradients") {
  Rng rng(7);
  const std::size_t d = 5;
  const Matrix<double> x = random_matrix(rng, 4, d, -1.5, 1.5);
  SUBCASE("permutation") {
    Store s;
    const auto f = Permutation<double>::random(d, rng);
    check_transform(s, subject(f), x);
  }
  SUBCASE("actnorm") {
    Store s;
    ActNorm<double> f(s, "an", d);
    perturb(s, rng);
    check_transform(s, subject(f), x);
  }
  SUBCASE("LU linear") {
    Store s;
    LuLinear<double> f(s, "lu", d, rng);
    perturb(s, rng);
    check_transform(s, subject(f), x);
  }
  SUBCASE("affine coupling, each half conditioning") {
    for (bool second : {false, true}) {
      Store s;
      AffineCoupling<double> f(s, "c", d, second, {6}, Op::tanh, rng);
      perturb(s, rng);
      check_transform(s, subject(f), x);
    }
  }
  SUBCASE("logit") {
    Store s;
    const Logit<double> f(0.05);
    check_transform(s, subject(f), random_matrix(rng, 4, d, 0.01, 0.99));
  }
  SUBCASE("IAF step, with and without a context") {
    for (std::size_t context : {0, 3}) {
      Store s;
      IafStep<double> f(s, "iaf", d, 8, context, context > 0, rng);
      perturb(s, rng);
      const Matrix<double> h = random_matrix(rng, 1, 3);  // one context row, shared by every row
      check_transform(s, subject(f, context ? &h : nullptr), x);
    }
  }
  SUBCASE("a chain of them") {
    Store s;
    const Chain<ActNorm<double>, LuLinear<double>, AffineCoupling<double>> f(
        ActNorm<double>(s, "an", d), LuLinear<double>(s, "lu", d, rng), AffineCoupling<double>(s, "c", d, false, {6}, Op::relu, rng));
    perturb(s, rng);
    check_transform(s, subject(f), x);
  }
}

TEST_CASE("IAF: each output depends only on the inputs before it in the step's order") {
  Rng rng(5);
  for (bool reversed : {false, true}) {
    Store s;
    IafStep<double> f(s, "iaf", 4, 12, 0, reversed, rng);
    perturb(s, rng, 1.0);
    std::vector<double> row = {0.3, -0.7, 1.1, 0.2};
    for (std::size_t out = 0; out < 4; ++out) {
      std::vector<double> grad(4, 0.0), pick(4, 0.0);
      pick[out] = 1;
      Tape<double> t;
      t.backward(sum(mul(f.forward(s, t.variable(row.data(), grad.data(), 1, 4), std::nullopt).z, t.constant(pick.data(), 1, 4))));
      for (std::size_t in = 0; in < 4; ++in) {
        CAPTURE(in); CAPTURE(out);
        if (in != out && !f.connected(in, out)) CHECK(grad[in] == 0.0);
      }
      CHECK(grad[out] != 0.0);  // the diagonal: sigma_j
    }
  }
}

TEST_CASE("actnorm's first batch leaves every column with mean 0 and variance 1") {
  Rng rng(9);
  Store s;
  ActNorm<double> f(s, "an", 3);
  Matrix<double> x = random_matrix(rng, 64, 3, -2, 5);
  Tape<double> t;
  NoGradGuard guard(t);
  f.initialize(s, t.constant(x));
  const Pushed<double> y = f.forward(s, t.constant(x));
  for (std::size_t j = 0; j < 3; ++j) {
    double sum = 0, sq = 0;
    for (std::size_t i = 0; i < 64; ++i) sum += y.z.node().value[i * 3 + j];
    for (std::size_t i = 0; i < 64; ++i) sq += std::pow(y.z.node().value[i * 3 + j] - sum / 64, 2);
    CHECK(std::abs(sum / 64) < 1e-9);
    CHECK(std::abs(sq / 64 - 1) < 1e-4);
  }
}

TEST_CASE("a 2-D flow density integrates to 1") {
  Rng rng(21);
  Store s;
  const Chain<ActNorm<double>, LuLinear<double>, AffineCoupling<double>, AffineCoupling<double>> f(
      ActNorm<double>(s, "an", 2), LuLinear<double>(s, "lu", 2, rng), AffineCoupling<double>(s, "c0", 2, false, {8}, Op::tanh, rng),
      AffineCoupling<double>(s, "c1", 2, true, {8}, Op::tanh, rng));
  perturb(s, rng, 0.4);
  // log p(x) = log N(f(x); 0, I) + log|det df/dx| on a grid over [-L, L]^2.
  const std::size_t n = 500;
  const double L = 10, h = 2 * L / double(n);
  const Matrix<double> grid = midpoints(n, L);
  Tape<double> t;
  NoGradGuard guard(t);
  const Pushed<double> y = f.forward(s, t.constant(grid));
  const Var<double> log_p = add(gaussian_loglik(zeros(t, 1, 2), y.z, zeros(t, 1, 1)), y.log_det);
  double mass = 0;
  for (std::size_t e = 0; e < n * n; ++e) mass += std::exp(log_p.node().value[e]) * h * h;
  CHECK(mass == doctest::Approx(1.0).epsilon(0.01));
}

TEST_CASE("the Monte Carlo KL of an IAF posterior agrees with quadrature") {
  // q: N(mu, e^lv) pushed through two IAF steps with a context; KL(q || N(0, I)) in 2-D by
  // quadrature over z' (q(z') through the inverse) against the mean of log q - log p at draws.
  Rng rng(33);
  Store s;
  const std::size_t context = 2;
  IafStep<double> f1(s, "iaf.0", 2, 10, context, false, rng), f2(s, "iaf.1", 2, 10, context, true, rng);
  perturb(s, rng, 0.5);
  const std::vector<double> mu = {0.4, -0.3}, lv = {-0.6, -0.2}, h = {0.5, -1.0};
  auto density = [&](Tape<double>& t, std::size_t rows) {
    return DiagGaussian<double>{t.constant(mu.data(), 1, 2), t.constant(lv.data(), 1, 2)}.tiled(rows);
  };
  auto ctx = [&](Tape<double>& t, std::size_t rows) { return Ctx(tile_rows(t.constant(h.data(), 1, context), rows)); };
  const std::size_t draws = 40000;
  Tape<double> t;
  NoGradGuard guard(t);
  const DiagGaussian<double> q0 = density(t, draws);
  const Var<double> z0 = q0.sample(t, draws, rng);
  const Pushed<double> p1 = f1.forward(s, z0, ctx(t, draws)), p2 = f2.forward(s, p1.z, ctx(t, draws));
  const Var<double> log_q = sub(sub(q0.log_prob(z0), p1.log_det), p2.log_det);
  const Var<double> kl_rows = sub(log_q, gaussian_loglik(zeros(t, 1, 2), p2.z, zeros(t, 1, 1)));
  double mean = 0, sq = 0;
  for (std::size_t i = 0; i < draws; ++i) mean += kl_rows.node().value[i] / double(draws);
  for (std::size_t i = 0; i < draws; ++i) sq += std::pow(kl_rows.node().value[i] - mean, 2);
  const double standard_error = std::sqrt(sq / double(draws - 1) / double(draws));

  const std::size_t n = 300;
  const double L = 7, step = 2 * L / double(n);
  const Matrix<double> grid = midpoints(n, L);
  Tape<double> g;
  NoGradGuard grid_guard(g);
  const Pushed<double> b2 = f2.inverse(s, g.constant(grid), ctx(g, n * n));
  const Pushed<double> b1 = f1.inverse(s, b2.z, ctx(g, n * n));
  const Var<double> log_qg = add(add(density(g, n * n).log_prob(b1.z), b1.log_det), b2.log_det);
  const Var<double> log_pg = gaussian_loglik(zeros(g, 1, 2), g.constant(grid), zeros(g, 1, 1));
  double mass = 0, kl = 0;
  for (std::size_t e = 0; e < n * n; ++e) {
    const double qv = std::exp(log_qg.node().value[e]);
    mass += qv * step * step;
    kl += qv * (log_qg.node().value[e] - log_pg.node().value[e]) * step * step;
  }
  CHECK(mass == doctest::Approx(1.0).epsilon(0.01));
  INFO("MC " << mean << " +- " << standard_error << ", quadrature " << kl);
  CHECK(std::abs(mean - kl) <= 4 * standard_error + 1e-3);
}

TEST_CASE("in float, every transform's round trip is exact to 1e-5") {
  Rng rng(13);
  const std::size_t d = 16;
  ParameterStore<float> s;
  const Chain<ActNorm<float>, LuLinear<float>, AffineCoupling<float>, Permutation<float>> glow(
      ActNorm<float>(s, "an", d), LuLinear<float>(s, "lu", d, rng), AffineCoupling<float>(s, "c", d, true, {32}, Op::relu, rng),
      Permutation<float>::random(d, rng));
  IafStep<float> iaf(s, "iaf", d, 32, 4, false, rng);
  for (float& v : s.values()) v += std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
  Matrix<float> x = Matrix<float>::from_shape({8, d}), h = Matrix<float>::from_shape({8, 4});
  fill_uniform<float>(rng, std::span<float>(x.data(), x.size()), 0.02f, 0.98f);
  fill_uniform<float>(rng, std::span<float>(h.data(), h.size()), -1.0f, 1.0f);
  Tape<float> t;
  NoGradGuard guard(t);
  const Logit<float> logit;
  const Var<float> in = t.constant(x), ctx = t.constant(h);
  const Var<float> y = iaf.forward(s, glow.forward(s, logit.forward(s, in).z).z, ctx).z;
  const Var<float> back = logit.inverse(s, glow.inverse(s, iaf.inverse(s, y, ctx).z).z).z;
  float worst = 0;
  for (std::size_t e = 0; e < x.size(); ++e) worst = std::max(worst, std::abs(back.node().value[e] - x.data()[e]));
  CHECK(worst <= 1e-5f);
}

TEST_CASE("--posterior iaf: T = 0 is the plain VAE; T > 0 gives the exact log q of the pushed draw") {
  ModelConfig plain;
  plain.input_dim = 12;
  plain.hidden = {8};
  plain.latent = 3;
  ModelConfig none = plain, two = plain;
  none.settings = {{"posterior", "iaf"}, {"flow-steps", "0"}};
  two.settings = {{"posterior", "iaf"}, {"flow-steps", "2"}, {"iaf-hidden", "10"}};
  auto a = make_model<double>(plain, 4), b = make_model<double>(none, 4), c = make_model<double>(two, 4);
  REQUIRE(a->params().size() == b->params().size());
  CHECK(std::equal(a->params().values().begin(), a->params().values().end(), b->params().values().begin()));
  CHECK(c->params().size() > a->params().size());
  Rng rng(8);
  const Matrix<double> x = random_matrix(rng, 5, 12, 0, 1), eps = random_matrix(rng, 3 * 5, 3, -2, 2);
  auto bound_of = [&](Model<double>& m, Bound bound, std::size_t k) {
    Tape<double> t;
    NoGradGuard guard(t);
    return terms(m, t.constant(x), std::optional<Var<double>>{}, t.constant(eps.data(), k * 5, 3), Objective{bound, k}, false).loss.item();
  };
  for (Bound bound : {Bound::elbo, Bound::iwae}) {
    const std::size_t k = bound == Bound::iwae ? 3 : 1;
    CHECK(bound_of(*a, bound, k) == bound_of(*b, bound, k));
  }
  // T = 2: log q(z_T|x) against log q(z_0|x) minus the steps' log-determinants, taken apart.
  Tape<double> t;
  NoGradGuard guard(t);
  const LogWeights<double> lw = c->log_weights(t.constant(x), std::nullopt, t.constant(eps.data(), 5, 3), Request{1, false});
  REQUIRE(lw.log_qz);
  const DiagGaussian<double> q = c->encode(t.constant(x));
  const Var<double> log_q0 = q.log_prob(q.rsample(t.constant(eps.data(), 5, 3)));
  for (std::size_t i = 0; i < 5; ++i) CHECK(lw.log_qz->node().value[i] != doctest::Approx(log_q0.node().value[i]));
  CHECK_THROWS_WITH_AS(make_model<double>([&] { ModelConfig bad = plain; bad.settings = {{"posterior", "planar"}}; return bad; }(), 1),
                       "--posterior must be gaussian or iaf, not 'planar'", std::invalid_argument);
}
