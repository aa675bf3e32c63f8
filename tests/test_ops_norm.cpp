// The ops of the diffusion model's U-Net: group_norm against a direct computation, tile_pixels and
// concat_channels against their index formulas, and every gradient against five-point differences
// in double (gradients pre-filled, so a backward that overwrites fails).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "autodiff/blas.hpp"

#include "tests/gradcheck.hpp"

using namespace vk;

namespace norm_tests {

using V = Var<double>;
using Vs = std::vector<V>;

void require_gradients(const std::vector<vk::test::GradInput>& inputs, const vk::test::Build& f) {
  const auto r = vk::test::gradcheck(inputs, f);
  INFO(r.worst);
  CHECK(r.checked > 0);
  CHECK(r.max_error <= 1e-6);
}

vk::test::GradInput in(std::size_t rows, std::size_t cols, std::uint64_t seed, double lo = -1, double hi = 1) {
  Rng rng(seed);
  return {vk::test::random_matrix(rng, rows, cols, lo, hi), true};
}

}  // namespace norm_tests

TEST_CASE("group_norm: each group of each image normalized, then scaled and shifted per channel") {
  using namespace norm_tests;
  const std::size_t m = 3, pixels = 5, c = 6, groups = 3, per = c / groups;
  Rng rng(3);
  Matrix<double> x = vk::test::random_matrix(rng, m, pixels * c, -2, 3);
  Matrix<double> gamma = vk::test::random_matrix(rng, 1, c, 0.5, 2), beta = vk::test::random_matrix(rng, 1, c);
  Tape<double> tape;
  const V y = group_norm(tape.constant(x), tape.constant(gamma), tape.constant(beta), GroupNormParams{c, groups, 1e-5});
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t g = 0; g < groups; ++g) {
      double mean = 0, var = 0;
      for (std::size_t p = 0; p < pixels; ++p)
        for (std::size_t j = g * per; j < (g + 1) * per; ++j) mean += x(i, p * c + j) / double(pixels * per);
      for (std::size_t p = 0; p < pixels; ++p)
        for (std::size_t j = g * per; j < (g + 1) * per; ++j) var += std::pow(x(i, p * c + j) - mean, 2) / double(pixels * per);
      for (std::size_t p = 0; p < pixels; ++p)
        for (std::size_t j = g * per; j < (g + 1) * per; ++j) {
          const double expected = (x(i, p * c + j) - mean) / std::sqrt(var + 1e-5) * gamma(0, j) + beta(0, j);
          CHECK(y.value()(i, p * c + j) == doctest::Approx(expected).epsilon(1e-12));
        }
    }
}

TEST_CASE("group_norm: gradients of the input, the scale and the shift, for one, some and every channel a group") {
  using namespace norm_tests;
  for (const std::uint32_t groups : {1u, 2u, 6u}) {
    CAPTURE(groups);
    require_gradients({in(3, 4 * 6, 1, -2, 2), in(1, 6, 2, 0.5, 2), in(1, 6, 3)}, [groups](Tape<double>&, const Vs& v) {
      return group_norm(v[0], v[1], v[2], GroupNormParams{6, groups, 1e-5});
    });
  }
}

TEST_CASE("group_norm: shapes that do not fit stop with one line") {
  Tape<double> tape;
  Matrix<double> x = Matrix<double>::from_shape({2, 12}), row = Matrix<double>::from_shape({1, 4});
  x.fill(1);
  row.fill(1);
  const V a = tape.constant(x), g = tape.constant(row);
  CHECK_THROWS_WITH_AS(group_norm(a, g, g, GroupNormParams{4, 3, 1e-5}), doctest::Contains("groups"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(group_norm(a, g, g, GroupNormParams{5, 1, 1e-5}), doctest::Contains("do not fit"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(group_norm(a, tape.constant(x), g, GroupNormParams{4, 2, 1e-5}), doctest::Contains("gamma"), std::invalid_argument);
}

TEST_CASE("group_norm in float: far-off-centre groups kept, and the same bits on one thread and two") {
  // Images of 196 pixels and 32 channels in 8 groups, at 100 +- 0.01: float sums of the squares
  // would lose the spread entirely; the double reference keeps it.
  const std::size_t m = 9, pixels = 196, c = 32, groups = 8;
  Rng rng(5);
  Matrix<double> xd = vk::test::random_matrix(rng, m, pixels * c, 100 - 0.01, 100 + 0.01);
  Matrix<double> gd = vk::test::random_matrix(rng, 1, c, 0.5, 2), bd = vk::test::random_matrix(rng, 1, c);
  Matrix<double> dyd = vk::test::random_matrix(rng, m, pixels * c);
  for (Matrix<double>* a : {&xd, &gd, &bd, &dyd})  // the double reference gets the float inputs
    for (double& v : *a) v = double(float(v));
  // Leaves with gradients, y's gradient dy (the loss sum(y * dy)): in T, returned as doubles.
  auto run = [&]<class T>(T, int threads) {
    blas::set_threads(threads);
    std::vector<std::vector<T>> v = {{xd.begin(), xd.end()}, {gd.begin(), gd.end()}, {bd.begin(), bd.end()},
                                     {dyd.begin(), dyd.end()}};
    std::vector<std::vector<T>> grads = {std::vector<T>(v[0].size()), std::vector<T>(c), std::vector<T>(c)};
    Tape<T> tape;
    const Var<T> x = tape.variable(v[0].data(), grads[0].data(), m, pixels * c);
    const Var<T> g = tape.variable(v[1].data(), grads[1].data(), 1, c), b = tape.variable(v[2].data(), grads[2].data(), 1, c);
    const Var<T> y = group_norm(x, g, b, GroupNormParams{c, groups, 1e-5});
    tape.backward(sum(mul(y, tape.constant(v[3].data(), m, pixels * c))));
    blas::set_threads(1);
    return std::vector<std::vector<double>>{{y.node().value, y.node().value + m * pixels * c},
                                            {grads[0].begin(), grads[0].end()}, {grads[1].begin(), grads[1].end()},
                                            {grads[2].begin(), grads[2].end()}};
  };
  const auto one = run(float{}, 1), two = run(float{}, 2), reference = run(double{}, 1);
  CHECK(one == two);
  for (std::size_t k = 0; k < 4; ++k) {
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < one[k].size(); ++i) {
      worst = std::max(worst, std::abs(one[k][i] - reference[k][i]));
      scale = std::max(scale, std::abs(reference[k][i]));
    }
    CAPTURE(k);
    INFO("worst " << worst << " of " << scale);
    // The float mean kept for backward is off by up to half an ulp of 100, 6e-4 of the spread.
    CHECK(worst <= 2e-3 * scale);
  }
}

TEST_CASE("tile_pixels: a row of channels at every pixel; its gradient sums over them") {
  using namespace norm_tests;
  Tape<double> tape;
  const Matrix<double> x = {{1, 2, 3}, {4, 5, 6}};
  const V y = tile_pixels(tape.constant(x), 4);
  REQUIRE(y.cols() == 12);
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t p = 0; p < 4; ++p)
      for (std::size_t c = 0; c < 3; ++c) CHECK(y.value()(i, p * 3 + c) == x(i, c));
  require_gradients({in(3, 5, 4)}, [](Tape<double>&, const Vs& v) { return tile_pixels(v[0], 7); });
  CHECK_THROWS_AS(tile_pixels(tape.constant(x), 0), std::invalid_argument);
}

TEST_CASE("concat_channels: a's channels then b's at each pixel; gradients to both") {
  using namespace norm_tests;
  Tape<double> tape;
  const Matrix<double> a = {{1, 2, 3, 4}}, b = {{10, 20, 30, 40, 50, 60}};  // 2 pixels: 2 and 3 channels
  const V y = concat_channels(tape.constant(a), tape.constant(b), 2);
  CHECK(y.value() == Matrix<double>{{1, 2, 10, 20, 30, 3, 4, 40, 50, 60}});
  require_gradients({in(3, 5 * 2, 5), in(3, 5 * 4, 6)}, [](Tape<double>&, const Vs& v) { return concat_channels(v[0], v[1], 5); });
  CHECK_THROWS_WITH_AS(concat_channels(tape.constant(a), tape.constant(b), 4), doctest::Contains("not two batches"),
                       std::invalid_argument);
}
