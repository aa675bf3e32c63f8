// conv2d and conv_transpose2d: forward against a direct convolution, the transpose as the adjoint
// of the convolution, and gradients against central differences for several geometries.
#include <doctest/doctest.h>

#include "tests/gradcheck.hpp"

using namespace vk;
using vk::test::gradcheck;
using vk::test::GradInput;
using vk::test::random_matrix;
using V = Var<double>;
using Vs = std::vector<V>;

namespace {

// The convolution written out, channels last: y[b, oh, ow, o] = bias[o] +
// sum_{kh, kw, c} x[b, oh s + kh - p, ow s + kw - p, c] w[(kh k + kw) C + c, o].
Matrix<double> direct_conv(const Matrix<double>& x, const Matrix<double>& w, const Matrix<double>& bias,
                           const ConvParams& g) {
  const std::size_t batch = x.shape(0), c = g.channels, k = g.kernel, oc = g.out_channels;
  Matrix<double> y = Matrix<double>::from_shape({batch, g.small_size()});
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t oh = 0; oh < g.out_height; ++oh)
      for (std::size_t ow = 0; ow < g.out_width; ++ow)
        for (std::size_t o = 0; o < oc; ++o) {
          double s = bias(0, o);
          for (std::size_t kh = 0; kh < k; ++kh)
            for (std::size_t kw = 0; kw < k; ++kw) {
              const long ih = long(oh * g.stride + kh) - long(g.padding);
              const long iw = long(ow * g.stride + kw) - long(g.padding);
              if (ih < 0 || iw < 0 || ih >= long(g.height) || iw >= long(g.width)) continue;
              for (std::size_t ch = 0; ch < c; ++ch)
                s += x(b, (std::size_t(ih) * g.width + std::size_t(iw)) * c + ch) * w((kh * k + kw) * c + ch, o);
            }
          y(b, (oh * g.out_width + ow) * oc + o) = s;
        }
  return y;
}

double dot(const MatrixView<double>& a, const MatrixView<double>& b) {
  double s = 0;
  for (std::size_t e = 0; e < a.size(); ++e) s += a.data()[e] * b.data()[e];
  return s;
}

struct Case {
  std::uint32_t h, w, c, oc, k, s, p;
};
// Stride 1 and 2, padding 0 and 1, square and not, one and several channels.
constexpr Case kCases[] = {{5, 5, 1, 2, 3, 1, 0}, {6, 4, 3, 2, 3, 1, 1}, {7, 5, 2, 3, 3, 2, 1},
                           {8, 6, 2, 4, 4, 2, 1}, {6, 7, 3, 2, 2, 2, 0}};

Rng& conv_rng() {
  static Rng r(11);
  return r;
}

}  // namespace

TEST_CASE("conv2d equals the direct convolution, and its transpose is its adjoint") {
  for (const Case& k : kCases) {
    const ConvParams g = conv_geometry(k.h, k.w, k.c, k.oc, k.k, k.s, k.p);
    CAPTURE(k.h); CAPTURE(k.w); CAPTURE(k.c); CAPTURE(k.s); CAPTURE(k.p);
    const std::size_t batch = 3;
    Matrix<double> x = random_matrix(conv_rng(), batch, g.large_size());
    Matrix<double> w = random_matrix(conv_rng(), g.patch(), k.oc), bias = random_matrix(conv_rng(), 1, k.oc);
    Tape<double> t;
    V y = conv2d(t.constant(x), t.constant(w), t.constant(bias), g);
    const Matrix<double> want = direct_conv(x, w, bias, g);
    REQUIRE(y.rows() == batch);
    REQUIRE(y.cols() == g.small_size());
    for (std::size_t e = 0; e < want.size(); ++e) CHECK(y.value().data()[e] == doctest::Approx(want.data()[e]).epsilon(1e-12));

    // <conv(x), u> = <x, conv_transpose(u)> without biases, the transpose weight being w^T.
    Matrix<double> u = random_matrix(conv_rng(), batch, g.small_size());
    Matrix<double> wt = xt::transpose(w);
    Matrix<double> zero_oc = xt::zeros<double>({std::size_t(1), std::size_t(k.oc)});
    Matrix<double> zero_c = xt::zeros<double>({std::size_t(1), std::size_t(k.c)});
    V cx = conv2d(t.constant(x), t.constant(w), t.constant(zero_oc), g);
    V tu = conv_transpose2d(t.constant(u), t.constant(wt), t.constant(zero_c), g);
    CHECK(dot(cx.value(), t.constant(u).value()) == doctest::Approx(dot(t.constant(x).value(), tu.value())).epsilon(1e-12));
  }
}

TEST_CASE("conv2d and conv_transpose2d gradients") {
  for (const Case& k : kCases) {
    CAPTURE(k.h); CAPTURE(k.w); CAPTURE(k.c); CAPTURE(k.s); CAPTURE(k.p);
    const ConvParams g = conv_geometry(k.h, k.w, k.c, k.oc, k.k, k.s, k.p);
    auto r = gradcheck({{random_matrix(conv_rng(), 2, g.large_size()), true},
                        {random_matrix(conv_rng(), g.patch(), k.oc), true},
                        {random_matrix(conv_rng(), 1, k.oc), true}},
                       [g](Tape<double>&, const Vs& v) { return conv2d(v[0], v[1], v[2], g); });
    INFO(r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error <= 1e-6);

    const ConvParams gt = conv_transpose_geometry(k.h, k.w, k.c, k.oc, k.k, k.s, k.p);
    auto rt = gradcheck({{random_matrix(conv_rng(), 2, gt.small_size()), true},
                         {random_matrix(conv_rng(), gt.out_channels, gt.patch()), true},
                         {random_matrix(conv_rng(), 1, gt.channels), true}},
                        [gt](Tape<double>&, const Vs& v) { return conv_transpose2d(v[0], v[1], v[2], gt); });
    INFO(rt.worst);
    CHECK(rt.checked > 0);
    CHECK(rt.max_error <= 1e-6);
  }
}

TEST_CASE("convolution shapes are checked") {
  Tape<double> t;
  const ConvParams g = conv_geometry(28, 28, 1, 32, 4, 2, 1);
  CHECK(g.out_height == 14);
  CHECK(g.out_width == 14);
  CHECK(conv_transpose_geometry(7, 7, 64, 32, 4, 2, 1).height == 14);
  Matrix<double> x = random_matrix(conv_rng(), 2, 28 * 28), w = random_matrix(conv_rng(), 16, 32), b = random_matrix(conv_rng(), 1, 32);
  CHECK_THROWS_AS(conv2d(t.constant(x), t.constant(b), t.constant(b), g), std::invalid_argument);
  ConvParams wrong = g;
  wrong.out_height = 13;
  CHECK_THROWS_AS(conv2d(t.constant(x), t.constant(w), t.constant(b), wrong), std::invalid_argument);
  CHECK(conv_geometry(3, 3, 1, 1, 5, 1, 0).out_height == 0);  // the kernel does not fit
}
