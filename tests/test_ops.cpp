// Every op: forward against a direct computation, and gradients against central differences.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "autodiff/simd.hpp"
#include "tests/gradcheck.hpp"

using namespace vk;
using vk::test::gradcheck;
using vk::test::GradInput;
using vk::test::random_matrix;
using V = Var<double>;
using Vs = std::vector<V>;

namespace {

constexpr double kTolerance = 1e-6;

void require_gradients(const std::vector<GradInput>& inputs, const vk::test::Build& f,
                       std::size_t max_elements = 400) {
  auto r = gradcheck(inputs, f, max_elements);
  INFO(r.worst);
  CHECK(r.checked > 0);
  CHECK(r.max_error <= kTolerance);
}

Rng& rng() {
  static Rng r(42);
  return r;
}

GradInput in(std::size_t rows, std::size_t cols, double lo = -1, double hi = 1) {
  return {random_matrix(rng(), rows, cols, lo, hi), true};
}
GradInput kinked(std::size_t rows, std::size_t cols) {
  return {vk::test::away_from_zero(rng(), rows, cols), true};
}

}  // namespace

TEST_CASE("matmul and linear: values and gradients") {
  Tape<double> t;
  Matrix<double> a = {{1, 2, 3}, {4, 5, 6}}, b = {{1, 0}, {0, 1}, {1, 1}}, bias = {{10, 20}};
  V y = linear(t.constant(a), t.constant(b), t.constant(bias));
  CHECK(y.value() == Matrix<double>{{14, 25}, {20, 31}});
  CHECK(matmul(t.constant(a), t.constant(b)).value() == Matrix<double>{{4, 5}, {10, 11}});
  CHECK_THROWS_AS(matmul(t.constant(a), t.constant(a)), std::invalid_argument);

  require_gradients({in(5, 7), in(7, 3)}, [](Tape<double>&, const Vs& v) { return matmul(v[0], v[1]); });
  require_gradients({in(5, 7), in(7, 3), in(1, 3)},
                    [](Tape<double>&, const Vs& v) { return linear(v[0], v[1], v[2]); });
}

TEST_CASE("broadcasting arithmetic: every shape pairing") {
  const std::pair<std::size_t, std::size_t> shapes[] = {{4, 3}, {1, 3}, {4, 1}, {1, 1}};
  for (auto [ra, ca] : shapes)
    for (auto [rb, cb] : shapes) {
      CAPTURE(ra); CAPTURE(ca); CAPTURE(rb); CAPTURE(cb);
      require_gradients({in(ra, ca), in(rb, cb)}, [](Tape<double>&, const Vs& v) { return add(v[0], v[1]); });
      require_gradients({in(ra, ca), in(rb, cb)}, [](Tape<double>&, const Vs& v) { return sub(v[0], v[1]); });
      require_gradients({in(ra, ca), in(rb, cb)}, [](Tape<double>&, const Vs& v) { return mul(v[0], v[1]); });
      require_gradients({in(ra, ca), in(rb, cb, 0.5, 2)},
                        [](Tape<double>&, const Vs& v) { return div(v[0], v[1]); });
    }
  Tape<double> t;
  Matrix<double> a = {{1, 2}, {3, 4}}, row = {{10, 20}}, col = {{1}, {2}};
  CHECK((t.constant(a) + t.constant(row)).value() == Matrix<double>{{11, 22}, {13, 24}});
  CHECK((t.constant(a) * t.constant(col)).value() == Matrix<double>{{1, 2}, {6, 8}});
  CHECK((t.constant(a) - t.constant(col)).value() == Matrix<double>{{0, 1}, {1, 2}});
  CHECK((t.constant(a) / t.constant(row)).value() == Matrix<double>{{0.1, 0.1}, {0.3, 0.2}});
  Matrix<double> wrong = {{1, 2, 3}};
  CHECK_THROWS_AS(add(t.constant(a), t.constant(wrong)), std::invalid_argument);
}

TEST_CASE("element-wise functions: values and gradients") {
  Tape<double> t;
  Matrix<double> x = {{-2.0, -0.5, 0.5, 3.0, -1.25, 0.0, 1.75}};  // a SIMD batch and a tail
  auto close = [](const MatrixView<double>& got, auto f, const Matrix<double>& at) {
    for (std::size_t j = 0; j < at.size(); ++j) CHECK(got(0, j) == doctest::Approx(f(at(0, j))).epsilon(1e-12));
  };
  V c = t.constant(x);
  close(exp(c).value(), [](double u) { return std::exp(u); }, x);
  close(square(c).value(), [](double u) { return u * u; }, x);
  close(softplus(c).value(), [](double u) { return std::log1p(std::exp(u)); }, x);
  close(sigmoid(c).value(), [](double u) { return 1 / (1 + std::exp(-u)); }, x);
  close(tanh(c).value(), [](double u) { return std::tanh(u); }, x);
  close(relu(c).value(), [](double u) { return u > 0 ? u : 0; }, x);
  close(leaky_relu(c, 0.2).value(), [](double u) { return u > 0 ? u : 0.2 * u; }, x);
  close(elu(c, 1.5).value(), [](double u) { return u > 0 ? u : 1.5 * (std::exp(u) - 1); }, x);
  close(scale(c, 3.0).value(), [](double u) { return 3 * u; }, x);
  close(swish(c).value(), [](double u) { return u / (1 + std::exp(-u)); }, x);
  close(softsign(c).value(), [](double u) { return u / (1 + std::abs(u)); }, x);
  Matrix<double> big = {{-800.0, 800.0}};
  auto sp = softplus(t.constant(big)).value();
  CHECK(sp(0, 0) == doctest::Approx(0.0));
  CHECK(sp(0, 1) == doctest::Approx(800.0));

  // One gradient check per element-wise function of the op list, on a range where it is smooth.
  auto f1 = [](auto op) { return [op](Tape<double>&, const Vs& v) { return op(v[0]); }; };
  require_gradients({in(6, 5)}, f1([](V x) { return exp(x); }));
  require_gradients({in(6, 5, 0.2, 3)}, f1([](V x) { return log(x); }));
  require_gradients({in(6, 5)}, f1([](V x) { return square(x); }));
  require_gradients({in(6, 5, 0.2, 3)}, f1([](V x) { return sqrt(x); }));
  require_gradients({in(6, 5, -4, 4)}, f1([](V x) { return softplus(x); }));
  require_gradients({in(6, 5, -4, 4)}, f1([](V x) { return sigmoid(x); }));
  require_gradients({in(6, 5, -2, 2)}, f1([](V x) { return tanh(x); }));
  require_gradients({kinked(6, 5)}, f1([](V x) { return relu(x); }));
  require_gradients({in(6, 5, -4, 4)}, f1([](V x) { return swish(x); }));
  require_gradients({kinked(6, 5)}, f1([](V x) { return softsign(x); }));
  require_gradients({kinked(6, 5)}, [](Tape<double>&, const Vs& v) { return leaky_relu(v[0], 0.1); });
  require_gradients({kinked(6, 5)}, [](Tape<double>&, const Vs& v) { return elu(v[0], 0.7); });
  require_gradients({in(6, 5)}, [](Tape<double>&, const Vs& v) { return scale(v[0], -2.5); });
}

TEST_CASE("element-wise functions in float agree with double over SIMD batches and the tail") {
  Matrix<float> xf = Matrix<float>::from_shape({1, 19});
  Matrix<double> xd = Matrix<double>::from_shape({1, 19});
  for (std::size_t j = 0; j < 19; ++j) xd(0, j) = xf(0, j) = -4.5f + 0.5f * float(j);
  Tape<float> tf;
  Tape<double> td;
  // Each function of the op list, chosen at run time as an activation layer chooses it.
  const Op ops[] = {Op::exp, Op::softplus, Op::sigmoid, Op::tanh, Op::relu, Op::square, Op::swish, Op::elu};
  for (Op op : ops) {
    CAPTURE(op_name(op));
    auto got = apply_unary(op, tf.constant(xf)).value();
    auto want = apply_unary(op, td.constant(xd)).value();
    for (std::size_t j = 0; j < 19; ++j) CHECK(got(0, j) == doctest::Approx(want(0, j)).epsilon(1e-6));
  }
}

TEST_CASE("sum, mean and logsumexp: values and gradients") {
  Tape<double> t;
  Matrix<double> x = {{1, 2, 3}, {4, 5, 6}};
  V c = t.constant(x);
  CHECK(sum(c).item() == 21);
  CHECK(sum(c, 0).value() == Matrix<double>{{5, 7, 9}});
  CHECK(sum(c, 1).value() == Matrix<double>{{6}, {15}});
  CHECK(mean(c).item() == doctest::Approx(3.5));
  CHECK(mean(c, 0).value() == Matrix<double>{{2.5, 3.5, 4.5}});
  CHECK(mean(c, 1).value() == Matrix<double>{{2}, {5}});
  auto l1 = logsumexp(c, 1).value();
  CHECK(l1(0, 0) == doctest::Approx(std::log(std::exp(1) + std::exp(2) + std::exp(3))));
  Matrix<double> huge = {{1000, 1000}};
  CHECK(logsumexp(t.constant(huge), 1).item() == doctest::Approx(1000 + std::log(2.0)));
  CHECK_THROWS_AS(sum(c, 2), std::invalid_argument);

  require_gradients({in(4, 6)}, [](Tape<double>&, const Vs& v) { return sum(v[0]); });
  require_gradients({in(4, 6)}, [](Tape<double>&, const Vs& v) { return mean(v[0]); });
  for (int axis : {0, 1}) {
    CAPTURE(axis);
    require_gradients({in(4, 6)}, [axis](Tape<double>&, const Vs& v) { return sum(v[0], axis); });
    require_gradients({in(4, 6)}, [axis](Tape<double>&, const Vs& v) { return mean(v[0], axis); });
    require_gradients({in(4, 6, -3, 3)}, [axis](Tape<double>&, const Vs& v) { return logsumexp(v[0], axis); });
  }
}

TEST_CASE("concat and split along the feature axis") {
  Tape<double> t;
  Matrix<double> a = {{1, 2}, {3, 4}}, b = {{5}, {6}};
  V ab = concat_cols(t.constant(a), t.constant(b));
  CHECK(ab.value() == Matrix<double>{{1, 2, 5}, {3, 4, 6}});
  auto [left, right] = split_cols(ab, 1);
  CHECK(left.value() == Matrix<double>{{1}, {3}});
  CHECK(right.value() == Matrix<double>{{2, 5}, {4, 6}});
  CHECK_THROWS_AS(slice_cols(ab, 2, 4), std::invalid_argument);
  CHECK_THROWS_AS(concat_cols(t.constant(a), t.constant(Matrix<double>{{1, 2}})), std::invalid_argument);

  require_gradients({in(3, 4), in(3, 2)}, [](Tape<double>&, const Vs& v) { return concat_cols(v[0], v[1]); });
  require_gradients({in(3, 7)}, [](Tape<double>&, const Vs& v) { return slice_cols(v[0], 2, 5); });
  require_gradients({in(3, 7)}, [](Tape<double>&, const Vs& v) {
    auto [l, r] = split_cols(v[0], 3);
    return concat_cols(r, scale(l, 2.0));  // both halves reach the output
  });
}

TEST_CASE("reshape shares storage and passes gradients through") {
  Tape<double> t;
  Matrix<double> a = {{1, 2, 3}, {4, 5, 6}};
  V r = reshape(t.constant(a), 3, 2);
  CHECK(r.value() == Matrix<double>{{1, 2}, {3, 4}, {5, 6}});
  CHECK(r.node().value == t.node(r.node().in[0]).value);
  CHECK_THROWS_AS(reshape(r, 4, 2), std::invalid_argument);
  require_gradients({in(4, 6), in(3, 8)}, [](Tape<double>&, const Vs& v) {
    V x = reshape(v[0], 3, 8);
    return mul(add(x, v[1]), x);  // two paths into the shared gradient
  });
}

TEST_CASE("tile_rows repeats the matrix and sums the gradients of its copies") {
  Tape<double> t;
  const Matrix<double> a = {{1, 2}, {3, 4}};
  CHECK(tile_rows(t.constant(a), 3).value() == Matrix<double>{{1, 2}, {3, 4}, {1, 2}, {3, 4}, {1, 2}, {3, 4}});
  CHECK_THROWS_AS(tile_rows(t.constant(a), 0), std::invalid_argument);
  require_gradients({in(3, 4)}, [](Tape<double>&, const Vs& v) { return tile_rows(v[0], 4); });
}

TEST_CASE("permute_cols reorders the columns and sends each gradient back to its column") {
  Tape<double> t;
  const Matrix<double> a = {{1, 2, 3}, {4, 5, 6}};
  const std::vector<std::uint32_t> order = {2, 0, 1};
  CHECK(permute_cols(t.constant(a), std::span<const std::uint32_t>(order)).value() == Matrix<double>{{3, 1, 2}, {6, 4, 5}});
  const std::vector<std::uint32_t> repeated = {0, 0, 1}, short_order = {1, 0};
  CHECK_THROWS_AS(permute_cols(t.constant(a), std::span<const std::uint32_t>(repeated)), std::invalid_argument);
  CHECK_THROWS_AS(permute_cols(t.constant(a), std::span<const std::uint32_t>(short_order)), std::invalid_argument);
  const std::vector<std::uint32_t> seven = {3, 6, 0, 5, 1, 4, 2};
  require_gradients({in(3, 7)}, [&](Tape<double>&, const Vs& v) {
    return mul(permute_cols(v[0], std::span<const std::uint32_t>(seven)), v[0]);  // two paths into each gradient
  });
}

TEST_CASE("reparameterization") {
  Tape<double> t;
  Matrix<double> mu = {{1, -1}}, lv = {{0, std::log(4.0)}}, eps = {{0.5, 0.5}, {-1, 2}};
  CHECK(reparameterize(t.constant(mu), t.constant(lv), t.constant(Matrix<double>{{0.5, 0.5}})).value() ==
        Matrix<double>{{1.5, 0.0}});
  // One row of mu and log-variance shared by several draws, as importance sampling uses it.
  CHECK(reparameterize(t.constant(mu), t.constant(lv), t.constant(eps)).value() ==
        Matrix<double>{{1.5, 0.0}, {0.0, 3.0}});
  CHECK_THROWS_AS(reparameterize(t.constant(mu), t.constant(lv), t.constant(Matrix<double>{{1, 2, 3}})),
                  std::invalid_argument);
  require_gradients({in(5, 3), in(5, 3), in(5, 3)},
                    [](Tape<double>&, const Vs& v) { return reparameterize(v[0], v[1], v[2]); });
  require_gradients({in(1, 3), in(1, 3), in(5, 3)},
                    [](Tape<double>&, const Vs& v) { return reparameterize(v[0], v[1], v[2]); });
}

TEST_CASE("Gaussian KL to N(0, I): closed form and gradients") {
  Tape<double> t;
  Matrix<double> mu = {{0, 0}, {1, 2}}, lv = {{0, 0}, {std::log(2.0), 0}};
  auto kl = gaussian_kl(t.constant(mu), t.constant(lv)).value();
  CHECK(kl(0, 0) == doctest::Approx(0.0));
  CHECK(kl(1, 0) == doctest::Approx(0.5 * (2 + 1 - 1 - std::log(2.0)) + 0.5 * 4));
  require_gradients({in(5, 3), in(5, 3)}, [](Tape<double>&, const Vs& v) { return gaussian_kl(v[0], v[1]); });
}

TEST_CASE("Bernoulli log-likelihood from logits") {
  Tape<double> t;
  Matrix<double> logits = {{0.0, 2.0, -700.0}}, x = {{1, 0, 0}};
  const double expected = std::log(0.5) + std::log(1 - 1 / (1 + std::exp(-2.0))) + 0.0;
  CHECK(bernoulli_loglik(t.constant(logits), t.constant(x)).item() == doctest::Approx(expected));
  require_gradients({in(4, 6, -5, 5), in(4, 6, 0, 1)},
                    [](Tape<double>&, const Vs& v) { return bernoulli_loglik(v[0], v[1]); });
}

TEST_CASE("Bernoulli log-likelihood of stacked samples reads x's rows again: values and gradients") {
  // Logits of 3 blocks of 2 rows against x [2, d]: as against x tiled 3 times.
  Tape<double> t;
  const Matrix<double> logits = in(6, 5, -5, 5).value, x = in(2, 5, 0, 1).value;
  const Matrix<double> shared = bernoulli_loglik(t.constant(logits), t.constant(x)).value();
  const Matrix<double> tiled = bernoulli_loglik(t.constant(logits), tile_rows(t.constant(x), 3)).value();
  for (std::size_t i = 0; i < 6; ++i) CHECK(shared(i, 0) == doctest::Approx(tiled(i, 0)).epsilon(1e-15));
  CHECK(std::abs(shared(0, 0) - shared(1, 0)) > 1e-3);  // the two rows of x differ
  require_gradients({in(6, 5, -5, 5), in(2, 5, 0, 1)},
                    [](Tape<double>&, const Vs& v) { return bernoulli_loglik(v[0], v[1]); });
  CHECK_THROWS_WITH_AS(bernoulli_loglik(t.constant(in(5, 5).value), t.constant(x)),
                       "bernoulli_loglik: logits [5x5] and x [2x5]: x needs the logits' columns and a number of "
                       "rows that divides theirs",
                       std::invalid_argument);
}

TEST_CASE("softplus in float: its polynomial log1p within float's rounding of the exact value") {
  // Every l in [-90, 90] by steps of 1/1024, through SIMD batches and the scalar path.
  std::vector<float> l, out(184321);
  for (int i = -92160; i <= 92160; ++i) l.push_back(float(i) / 1024.f);
  simd::map(l.data(), out.data(), l.size(), [](auto v) { return simd::softplus(v); });
  double worst = 0;
  for (std::size_t i = 0; i < l.size(); ++i) {
    const double x = l[i], exact = std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x)));
    const double scalar = simd::softplus(l[i]);
    worst = std::max({worst, std::abs(out[i] - exact) - 0x1p-24 * exact, std::abs(scalar - exact) - 0x1p-24 * exact});
  }
  CHECK(worst < 2e-7);  // beyond half an ulp of the result
}

TEST_CASE("Bernoulli log-likelihood in float: SIMD body and scalar tail agree with double") {
  // 37 columns: several SIMD batches and a tail; logits up to +-80 where e^l overflows in float.
  const std::size_t d = 37;
  Matrix<float> logits = Matrix<float>::from_shape({2, d}), x = Matrix<float>::from_shape({2, d});
  for (std::size_t j = 0; j < d; ++j) {
    logits(0, j) = -80.f + 160.f * float(j) / float(d - 1);
    logits(1, j) = 0.37f * float(j) - 6.f;
    x(0, j) = float(j % 2);
    x(1, j) = float(j % 3 == 0);
  }
  Matrix<float> grad = xt::zeros<float>({std::size_t(2), d});
  Tape<float> t;
  Var<float> l = t.variable(logits.data(), grad.data(), 2, d);
  Var<float> y = bernoulli_loglik(l, t.constant(x));
  t.backward(sum(y));
  for (std::size_t i = 0; i < 2; ++i) {
    double expected = 0;
    for (std::size_t j = 0; j < d; ++j) {
      const double lj = logits(i, j), p = 1 / (1 + std::exp(-lj));
      expected += x(i, j) * lj - (std::max(lj, 0.0) + std::log1p(std::exp(-std::abs(lj))));
      CHECK(grad(i, j) == doctest::Approx(x(i, j) - p).epsilon(1e-5));
    }
    CHECK(y.value()(i, 0) == doctest::Approx(expected).epsilon(1e-5));
  }
}

TEST_CASE("Gaussian log-likelihood with scalar and per-feature log variance") {
  Tape<double> t;
  Matrix<double> mean = {{0, 1}}, x = {{1, 1}}, lv = {{std::log(2.0)}};
  const double expected = -0.5 * (1.0 / 2 + 2 * std::log(2.0) + 2 * std::log(2 * std::numbers::pi));
  CHECK(gaussian_loglik(t.constant(mean), t.constant(x), t.constant(lv)).item() ==
        doctest::Approx(expected));
  CHECK_THROWS_AS(gaussian_loglik(t.constant(mean), t.constant(x), t.constant(Matrix<double>{{1, 2, 3}})),
                  std::invalid_argument);
  require_gradients({in(4, 6), in(4, 6), in(1, 1)},
                    [](Tape<double>&, const Vs& v) { return gaussian_loglik(v[0], v[1], v[2]); });
  require_gradients({in(4, 6), in(4, 6), in(1, 6)},
                    [](Tape<double>&, const Vs& v) { return gaussian_loglik(v[0], v[1], v[2]); });
  require_gradients({in(4, 6), in(4, 6), in(4, 6)},  // a log-variance per element: log q(z|x)
                    [](Tape<double>&, const Vs& v) { return gaussian_loglik(v[0], v[1], v[2]); });
  Matrix<double> lv_rows = {{0.0, std::log(2.0)}};
  CHECK(gaussian_loglik(t.constant(mean), t.constant(x), t.constant(lv_rows)).item() ==
        doctest::Approx(-0.5 * (1.0 + std::log(2.0) + 2 * std::log(2 * std::numbers::pi))));
  require_gradients({in(1, 6), in(4, 6), in(1, 6)},  // one mean row for every x: a density of z
                    [](Tape<double>&, const Vs& v) { return gaussian_loglik(v[0], v[1], v[2]); });
  // Wider than one block of columns, so the blocked inverse variances are exercised.
  require_gradients({in(3, 300), in(3, 300), in(1, 300)},
                    [](Tape<double>&, const Vs& v) { return gaussian_loglik(v[0], v[1], v[2]); }, 300);
}

TEST_CASE("a large input is checked on a seeded sample of its elements") {
  auto r = gradcheck({in(64, 100), in(100, 50)},
                     [](Tape<double>&, const Vs& v) { return tanh(matmul(v[0], v[1])); }, 50);
  INFO(r.worst);
  CHECK(r.checked == 100);
  CHECK(r.max_error <= kTolerance);
}

TEST_CASE("the log-variance gradient of a large float batch matches the closed form") {
  // d/d log s2 of sum_i log N(x_i; m_i, s2 I) = 1/2 (SSE / s2 - n d): float accumulation over
  // 10,000 rows lost 10% of it; the op sums in double.
  const std::size_t n = 10000, d = 784;
  Rng rng(5);
  Matrix<float> mean = Matrix<float>::from_shape({n, d}), x = Matrix<float>::from_shape({n, d});
  fill_uniform<float>(rng, std::span<float>(mean.data(), mean.size()), 0.f, 1.f);
  fill_uniform<float>(rng, std::span<float>(x.data(), x.size()), 0.f, 1.f);
  const double log_s2 = std::log(0.01);
  double sse = 0;
  for (std::size_t e = 0; e < x.size(); ++e) sse += double(x.data()[e] - mean.data()[e]) * (x.data()[e] - mean.data()[e]);
  const double expected = 0.5 * (sse / 0.01 - double(n * d));
  for (std::size_t cols : {std::size_t(1), d}) {
    CAPTURE(cols);
    std::vector<float> lv(cols, float(log_s2)), grad(cols, 0.f);
    Tape<float> t;
    Var<float> ll = gaussian_loglik(t.constant(mean), t.constant(x), t.variable(lv.data(), grad.data(), 1, cols));
    t.backward(sum(ll));
    double total = 0;
    for (float g : grad) total += g;
    CHECK(total == doctest::Approx(expected).epsilon(1e-5));
  }
}

TEST_CASE("an element-wise function named at run time") {
  Tape<double> t;
  const Matrix<double> values = {{-1, 2}};
  V x = t.constant(values);
  V y = apply_unary(Op::relu, x);
  CHECK(y.value()(0, 0) == 0.0);
  CHECK(y.value()(0, 1) == 2.0);
  CHECK(is_unary(Op::swish));
  CHECK_FALSE(is_unary(Op::matmul));
  CHECK_THROWS_AS(apply_unary(Op::matmul, x), std::invalid_argument);
}
