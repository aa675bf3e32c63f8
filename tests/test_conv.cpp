// conv2d and conv_transpose2d: forward against a direct convolution, the transpose as the adjoint
// of the convolution, gradients against central differences for several geometries, and the
// single-precision oneDNN path against the double im2col one.
#include <doctest/doctest.h>

#include "autodiff/blas.hpp"
#include "autodiff/parallel.hpp"
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

namespace {

// y = the op on random x, w, b and the gradients of <y, r> for x, w and b, on a tape of T.
template <class T>
std::vector<Matrix<double>> conv_results(bool transposed, const ConvParams& g, const std::vector<Matrix<double>>& in) {
  Tape<T> t;
  std::vector<Matrix<T>> values, grads;
  for (const Matrix<double>& m : in) {
    values.push_back(xt::cast<T>(m));
    grads.push_back(xt::zeros<T>(m.shape()));
  }
  auto var = [&](std::size_t i) {
    return t.variable(values[i].data(), grads[i].data(), values[i].shape(0), values[i].shape(1));
  };
  const Var<T> y = transposed ? conv_transpose2d(var(0), var(1), var(2), g) : conv2d(var(0), var(1), var(2), g);
  t.backward(sum(mul(y, t.constant(values[3]))));
  std::vector<Matrix<double>> out{xt::cast<double>(Matrix<T>(y.value()))};
  for (std::size_t i = 0; i < 3; ++i) out.push_back(xt::cast<double>(grads[i]));
  return out;
}

}  // namespace

TEST_CASE("oneDNN's float convolutions match the double im2col path") {
  if (!onednn_convolutions_built()) {
    MESSAGE("skipped: built without oneDNN's convolutions (libdnnl-dev)");
    return;
  }
  // kCases, and a 1-channel image as the models' first convolution and last transposed one have.
  std::vector<Case> cases(std::begin(kCases), std::end(kCases));
  cases.push_back({8, 8, 1, 4, 4, 2, 1});
  cases.push_back({4, 4, 4, 1, 4, 2, 1});
  const ConvPath before = conv_path();
  for (const int threads : {1, 2})  // two: the batch split over the pool
    for (const Case& k : cases)
      for (const bool transposed : {false, true}) {
        CAPTURE(threads); CAPTURE(k.h); CAPTURE(k.w); CAPTURE(k.c); CAPTURE(k.k); CAPTURE(k.s); CAPTURE(k.p);
        CAPTURE(transposed);
        const ConvParams g = transposed ? conv_transpose_geometry(k.h, k.w, k.c, k.oc, k.k, k.s, k.p)
                                        : conv_geometry(k.h, k.w, k.c, k.oc, k.k, k.s, k.p);
        const std::size_t batch = 5, in = transposed ? g.small_size() : g.large_size();
        const std::size_t out = transposed ? g.large_size() : g.small_size();
        const std::vector<Matrix<double>> inputs{
            random_matrix(conv_rng(), batch, in),
            transposed ? random_matrix(conv_rng(), g.out_channels, g.patch()) : random_matrix(conv_rng(), g.patch(), g.out_channels),
            random_matrix(conv_rng(), 1, transposed ? g.channels : g.out_channels), random_matrix(conv_rng(), batch, out)};
        set_conv_path(ConvPath::im2col);
        const auto want = conv_results<double>(transposed, g, inputs);
        set_conv_path(ConvPath::onednn);
        blas::set_threads(threads);
        std::vector<std::vector<Matrix<double>>> runs{conv_results<float>(transposed, g, inputs)};
        if (threads == 2) {  // and two tasks convolving the same shape at once, as IW evaluation's
          std::vector<std::vector<Matrix<double>>> tasks(2);
          auto task = [&](std::size_t i, std::size_t) { tasks[i] = conv_results<float>(transposed, g, inputs); };
          parallel::for_tasks(2, task);
          runs.insert(runs.end(), tasks.begin(), tasks.end());
        }
        blas::set_threads(1);
        for (const auto& got : runs)
          for (std::size_t r = 0; r < want.size(); ++r) {
            CAPTURE(r);  // y, then the gradients of x, w, b
            REQUIRE(got[r].shape() == want[r].shape());
            const double scale = xt::amax(xt::abs(want[r]))(), error = xt::amax(xt::abs(got[r] - want[r]))();
            CHECK(error <= 1e-5 * scale);
          }
      }
  set_conv_path(before);
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
