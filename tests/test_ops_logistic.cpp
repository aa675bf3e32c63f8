// The discretized logistic of 8-bit pixels (logistic_loglik, logistic_mean): log P(v) against the
// logistic CDF's differences in long double, the 256 masses summing to 1 for any parameters, the
// mean against the masses, and every gradient against five-point differences in double.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/gradcheck.hpp"

using namespace vk;
using vk::test::gradcheck;
using vk::test::GradInput;
using V = Var<double>;
using Vs = std::vector<V>;

namespace {

using Real = long double;

// log P(v) of one logistic by its CDF in long double: log(F(x + h) - F(x - h)), or the survival
// function's difference when the whole bin lies above the location, so that the difference does
// not cancel, each CDF value as its log (the deep tails' masses underflow even long double) and
// the difference as log F(hi) + log(1 - e^{log F(lo) - log F(hi)}); where the bin is narrower than
// 1e-6 scales, the density at the bin's middle times its width (relative error below 1e-13).
Real softplus(Real z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }
Real reference_log_mass(int v, Real mu, Real ls) {
  ls = std::max(ls, Real(kLogisticMinLogScale));
  const Real s = std::exp(ls), x = Real(v) / 255, h = Real(0.5) / 255;
  auto log_cdf = [&](Real y) { return -softplus(-(y - mu) / s); };
  auto log_survival = [&](Real y) { return -softplus((y - mu) / s); };
  if (v == 0) return log_cdf(x + h);
  if (v == 255) return log_survival(x - h);
  if (2 * h / s < 1e-6) return log_cdf(x) + log_survival(x) - ls + std::log(2 * h);
  if (x - h > mu) return log_survival(x - h) + std::log(-std::expm1(log_survival(x + h) - log_survival(x - h)));
  return log_cdf(x + h) + std::log(-std::expm1(log_cdf(x - h) - log_cdf(x + h)));
}

// log sum_k pi_k P_k(v) with pi = softmax(logits), in long double.
Real reference_log_mixture(int v, const std::vector<double>& p, std::size_t k) {
  if (k == 1) return reference_log_mass(v, p[0], p[1]);
  Real z = 0, top = -INFINITY, sum = 0;
  std::vector<Real> joint(k);
  for (std::size_t c = 0; c < k; ++c) z += std::exp(Real(p[2 * k + c]));
  for (std::size_t c = 0; c < k; ++c) {
    joint[c] = Real(p[2 * k + c]) - std::log(z) + reference_log_mass(v, p[c], p[k + c]);
    top = std::max(top, joint[c]);
  }
  for (std::size_t c = 0; c < k; ++c) sum += std::exp(joint[c] - top);
  return top + std::log(sum);
}

// One pixel's parameters, and log P(v) for every v: row v of the op's input holds `copies` pixels
// of these parameters, all at v / 255 (9 copies: a SIMD batch or two and a scalar tail).
template <class T>
std::vector<double> log_masses(const std::vector<double>& p, std::size_t k, std::size_t copies = 9) {
  const std::size_t w = p.size();
  Matrix<T> params = Matrix<T>::from_shape({256, copies * w}), x = Matrix<T>::from_shape({256, copies});
  for (std::size_t v = 0; v < 256; ++v)
    for (std::size_t j = 0; j < copies; ++j) {
      for (std::size_t c = 0; c < w; ++c) params(v, j * w + c) = T(p[c]);
      x(v, j) = T(double(v) / 255);
    }
  Tape<T> tape;
  NoGradGuard guard(tape);
  Var<T> y = logistic_loglik(tape.constant(params), tape.constant(x), {std::uint32_t(k)});
  std::vector<double> out(256);
  for (std::size_t v = 0; v < 256; ++v) out[v] = double(y.node().value[v]) / double(copies);
  return out;
}

// Parameters of one pixel: k locations, k log-scales and (k > 1) k logits.
std::vector<double> random_pixel(Rng& rng, std::size_t k, double loc_lo, double loc_hi, double ls_lo, double ls_hi) {
  std::uniform_real_distribution<double> loc(loc_lo, loc_hi), ls(ls_lo, ls_hi), logit(-5, 5);
  std::vector<double> p;
  for (std::size_t c = 0; c < k; ++c) p.push_back(loc(rng));
  for (std::size_t c = 0; c < k; ++c) p.push_back(ls(rng));
  if (k > 1)
    for (std::size_t c = 0; c < k; ++c) p.push_back(logit(rng));
  return p;
}

// (location, log-scale) pairs at the ends of what a decoder could give: scales far below a bin
// (and below the clamp), far above the whole range, locations far outside [0, 1], on a bin's
// edge, and deep tails whose masses underflow any CDF difference in double.
const std::vector<std::pair<double, double>> kExtremes = {
    {0.5, -15},  {0.5, -30},       {0.5, -9},  {0.5, 12},     {0.5, 40},     {-50, 0},  {50, 0},
    {0.2, -9},   {3, -5},          {-2, -6},   {100.5 / 255, -12}, {0.0, 3}, {1.0, -3}, {1e6, 20},
    {-1e3, -2},  {0.999, -7},      {0.5, 1.4}, {0.5, 1.3}};

}  // namespace

TEST_CASE("logistic_loglik against the CDF's differences in long double, for every value") {
  Rng rng(31);
  std::vector<std::pair<std::vector<double>, std::size_t>> cases;
  for (const auto& [mu, ls] : kExtremes) cases.push_back({{mu, ls}, 1});
  for (int i = 0; i < 60; ++i) cases.push_back({random_pixel(rng, 1, -0.3, 1.3, -9, 3), 1});
  for (int i = 0; i < 30; ++i) cases.push_back({random_pixel(rng, 3, -0.3, 1.3, -9, 3), 3});
  double worst = 0, worst_float = 0;
  std::string where;
  for (const auto& [p, k] : cases) {
    // A float tape holds the parameters rounded to float: its reference is of those.
    std::vector<double> p_float(p.size());
    for (std::size_t c = 0; c < p.size(); ++c) p_float[c] = double(float(p[c]));
    const std::vector<double> got = log_masses<double>(p, k), got_float = log_masses<float>(p_float, k);
    for (int v = 0; v < 256; ++v) {
      const double ref = double(reference_log_mixture(v, p, k)), ref_float = double(reference_log_mixture(v, p_float, k));
      REQUIRE(std::isfinite(ref));
      const double err = std::abs(got[v] - ref) / std::max(1.0, std::abs(ref));
      if (err > worst) {
        worst = err;
        where = "v " + std::to_string(v) + " mu " + std::to_string(p[0]) + " ls " + std::to_string(p[k]) + ": " +
                std::to_string(got[v]) + " against " + std::to_string(ref);
      }
      worst_float = std::max(worst_float, std::abs(got_float[v] - ref_float) / std::max(1.0, std::abs(ref_float)));
    }
  }
  CAPTURE(where);
  MESSAGE("largest error of log P against long double, relative to max(1, |log P|): " << worst << " (double), "
          << worst_float << " (float tape)");
  CHECK(worst < 1e-12);
  CHECK(worst_float < 1e-6);  // the result rounded to float: the masses are computed in double
}

TEST_CASE("the 256 masses sum to 1 within 1e-6 for random and extreme parameters, in double and float") {
  Rng rng(7);
  std::vector<std::pair<std::vector<double>, std::size_t>> cases;
  for (const auto& [mu, ls] : kExtremes) cases.push_back({{mu, ls}, 1});
  for (int i = 0; i < 200; ++i) cases.push_back({random_pixel(rng, 1, -2, 3, -16, 8), 1});
  for (int i = 0; i < 100; ++i) cases.push_back({random_pixel(rng, 4, -2, 3, -16, 8), 4});
  // A mixture of extremes: a sharp component, a flat one, one far away.
  cases.push_back({{0.3, 0.7, 80.0, -12, 6, 0, 1, -2, 3}, 3});
  double worst = 0, worst_float = 0;
  for (const auto& [p, k] : cases) {
    double total = 0, total_float = 0;
    for (double l : log_masses<double>(p, k)) total += std::exp(l);
    for (double l : log_masses<float>(p, k)) total_float += std::exp(l);
    worst = std::max(worst, std::abs(total - 1));
    worst_float = std::max(worst_float, std::abs(total_float - 1));
  }
  MESSAGE("largest |sum of the 256 masses - 1|: " << worst << " (double), " << worst_float << " (float tape)");
  CHECK(worst < 1e-12);
  CHECK(worst_float < 1e-6);
}

TEST_CASE("logistic_mean is the mean of the 256 masses, and stays in [0, 1]") {
  Rng rng(5);
  for (const std::size_t k : {std::size_t(1), std::size_t(3)}) {
    for (int i = 0; i < 40; ++i) {
      const std::vector<double> p = random_pixel(rng, k, -0.5, 1.5, -9, 3);
      const std::vector<double> l = log_masses<double>(p, k);
      double expected = 0;
      for (int v = 0; v < 256; ++v) expected += double(v) / 255 * std::exp(l[v]);
      Tape<double> tape;
      const double mean = logistic_mean(tape.constant(p.data(), 1, p.size()), {std::uint32_t(k)}).item();
      CHECK(mean == doctest::Approx(expected).epsilon(1e-12));
      CHECK((mean >= 0 && mean <= 1));
    }
  }
}

TEST_CASE("a row's SIMD batches and scalar tail agree with each pixel computed alone") {
  // 37 pixels of one component: several batches and a tail, against 37 rows of one pixel (the
  // scalar path), values and gradients; the parameters span both branches of log(1 - e^-t).
  Rng rng(19);
  const std::size_t d = 37;
  Matrix<double> row = Matrix<double>::from_shape({1, 2 * d}), x = Matrix<double>::from_shape({1, d});
  Matrix<double> single = Matrix<double>::from_shape({d, 2}), xs = Matrix<double>::from_shape({d, 1});
  std::uniform_int_distribution<int> value(0, 255);
  for (std::size_t j = 0; j < d; ++j) {
    const std::vector<double> p = random_pixel(rng, 1, -0.3, 1.3, -16, 6);
    row(0, 2 * j) = single(j, 0) = p[0];
    row(0, 2 * j + 1) = single(j, 1) = p[1];
    x(0, j) = xs(j, 0) = j == 0 ? 0.0 : j == 1 ? 1.0 : value(rng) / 255.0;
  }
  Matrix<double> g_row = xt::zeros<double>({std::size_t(1), 2 * d}), g_single = xt::zeros<double>({d, std::size_t(2)});
  Tape<double> t;
  Var<double> a = logistic_loglik(t.variable(row.data(), g_row.data(), 1, 2 * d), t.constant(x));
  Var<double> b = logistic_loglik(t.variable(single.data(), g_single.data(), d, 2), t.constant(xs));
  t.backward(add(a, sum(b)));
  double total = 0;
  for (std::size_t j = 0; j < d; ++j) {
    total += b.node().value[j];
    CHECK(g_row(0, 2 * j) == doctest::Approx(g_single(j, 0)).epsilon(1e-12));
    CHECK(g_row(0, 2 * j + 1) == doctest::Approx(g_single(j, 1)).epsilon(1e-12));
  }
  CHECK(a.item() == doctest::Approx(total).epsilon(1e-13));
}

TEST_CASE("logistic_loglik and logistic_mean: gradients against five-point differences") {
  Rng rng(11);
  // Pixels of both open edge bins and inner ones; scales from a twentieth of a bin (ls -9 would be
  // too sharp for a step of 1e-4 in the location) to 400 bins (the series branch of log(1 - e^-t)).
  for (const std::size_t k : {std::size_t(1), std::size_t(3)}) {
    CAPTURE(k);
    const std::size_t r = 2, m = 3 * r, d = 7, w = k == 1 ? 2 : 3 * k;
    Matrix<double> params = Matrix<double>::from_shape({m, d * w}), x = Matrix<double>::from_shape({r, d});
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < d; ++j) {
        const std::vector<double> p = random_pixel(rng, k, -0.2, 1.2, j < 2 ? 0.5 : -4.5, j < 2 ? 6.0 : 0.5);
        for (std::size_t c = 0; c < w; ++c) params(i, j * w + c) = p[c];
      }
    std::uniform_int_distribution<int> value(0, 255);
    for (std::size_t i = 0; i < r; ++i)
      for (std::size_t j = 0; j < d; ++j) x(i, j) = j == 2 ? 0.0 : j == 3 ? 1.0 : value(rng) / 255.0;
    const LogisticParams s{std::uint32_t(k)};
    auto report = gradcheck({{params, true}, {x, false}},
                            [s](Tape<double>&, const Vs& v) { return logistic_loglik(v[0], v[1], s); });
    INFO(report.worst);
    CHECK(report.checked == std::min<std::size_t>(400, m * d * w));
    CHECK(report.max_error <= 1e-6);
    auto mean_report = gradcheck({{params, true}}, [s](Tape<double>&, const Vs& v) { return logistic_mean(v[0], s); });
    INFO(mean_report.worst);
    CHECK(mean_report.max_error <= 1e-6);
  }
  // Below the clamp the log-scale has no gradient, and the log-probability does not move.
  Matrix<double> p = {{0.4, -20.0}}, g = {{0.0, 0.0}}, x = {{0.4}};
  Tape<double> tape;
  Var<double> y = logistic_loglik(tape.variable(p.data(), g.data(), 1, 2), tape.constant(x));
  tape.backward(sum(y));
  CHECK(g(0, 1) == 0.0);
  CHECK(y.item() == doctest::Approx(double(reference_log_mass(102, 0.4L, -15))).epsilon(1e-12));
}

TEST_CASE("logistic_loglik reads x's rows for every block of samples, as bernoulli_loglik does") {
  Rng rng(2);
  const std::size_t r = 2, d = 5;
  Matrix<double> params = vk::test::random_matrix(rng, 3 * r, 2 * d, -1, 1), x = Matrix<double>::from_shape({r, d});
  for (std::size_t e = 0; e < x.size(); ++e) x.data()[e] = double(e * 37 % 256) / 255;
  Tape<double> t;
  const Matrix<double> shared = logistic_loglik(t.constant(params), t.constant(x)).value();
  const Matrix<double> tiled = logistic_loglik(t.constant(params), tile_rows(t.constant(x), 3)).value();
  for (std::size_t i = 0; i < 3 * r; ++i) CHECK(shared(i, 0) == tiled(i, 0));
}

TEST_CASE("logistic_loglik refuses pixels that are not 8-bit values and parameters of the wrong width") {
  Tape<double> t;
  const Matrix<double> params = xt::zeros<double>({std::size_t(1), std::size_t(4)});
  const Matrix<double> off = {{0.5, 1.0}}, fine = {{0.0, 1.0}};
  CHECK_THROWS_WITH_AS(logistic_loglik(t.constant(params), t.constant(off)),
                       "logistic_loglik: x[0, 0] = 0.5 is not an 8-bit pixel v / 255 (dequantized or binarized data?)",
                       std::invalid_argument);
  CHECK_NOTHROW(logistic_loglik(t.constant(params), t.constant(fine)));
  CHECK_THROWS_WITH_AS(logistic_loglik(t.constant(params), t.constant(fine), {2}),
                       "logistic_loglik: params [1x4] for 2 pixels: 6 columns per pixel (2 components)", std::invalid_argument);
  CHECK_THROWS_AS(logistic_loglik(t.constant(params), t.constant(fine), {0}), std::invalid_argument);
  CHECK_THROWS_AS(logistic_mean(t.constant(params), {33}), std::invalid_argument);
  const Matrix<double> too_high = {{0.0, 256.0 / 255}};
  CHECK_THROWS_AS(logistic_loglik(t.constant(params), t.constant(too_high)), std::invalid_argument);
}
