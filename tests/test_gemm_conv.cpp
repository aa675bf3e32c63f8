// conv_gemm::gemm, the convolutions' products, against a plain double product for the three
// kinds the convolutions make (A B, A B^T, A^T B) over shapes with every kind of tail, writing or
// adding to C and leaving C's padding alone; then the same bits on 1, 2 and 3 threads, and gemm_made
// and gemm_made_b (A or B made a block at a time) giving gemm's bits.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "autodiff/blas.hpp"
#include "autodiff/gemm_conv.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/ops_backward.hpp"
#include "autodiff/tape.hpp"

using namespace vk;

namespace {

template <class T>
struct Case {
  bool ta, tb;
  std::size_t m, n, k, lda, ldb, ldc;
  std::vector<T> a, b, c;

  Case(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, unsigned seed)
      : ta(ta), tb(tb), m(m), n(n), k(k), lda((ta ? m : k) + 3), ldb((tb ? k : n) + 1), ldc(n + 2) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-1, 1);
    a.resize((ta ? k : m) * lda);
    b.resize((tb ? n : k) * ldb);
    c.resize(m * ldc);
    for (auto* v : {&a, &b, &c})
      for (T& e : *v) e = T(u(rng));
  }
  double at_a(std::size_t i, std::size_t q) const { return ta ? a[q * lda + i] : a[i * lda + q]; }
  double at_b(std::size_t q, std::size_t j) const { return tb ? b[j * ldb + q] : b[q * ldb + j]; }
  std::vector<T> run(bool accumulate) const {
    std::vector<T> out = c;
    conv_gemm::gemm<T>(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, accumulate, out.data(), ldc);
    return out;
  }
};

template <class T>
void check(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, bool accumulate) {
  CAPTURE(ta);
  CAPTURE(tb);
  CAPTURE(m);
  CAPTURE(n);
  CAPTURE(k);
  CAPTURE(accumulate);
  const Case<T> s(ta, tb, m, n, k, unsigned(m * 7919 + n * 31 + k));
  const std::vector<T> got = s.run(accumulate);
  const double eps = std::numeric_limits<T>::epsilon();
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double want = accumulate ? double(s.c[i * s.ldc + j]) : 0, size = std::abs(want);
      for (std::size_t q = 0; q < k; ++q) {
        want += s.at_a(i, q) * s.at_b(q, j);
        size += std::abs(s.at_a(i, q) * s.at_b(q, j));
      }
      if (!(std::abs(got[i * s.ldc + j] - want) <= 2 * double(k + 2) * eps * size)) ++wrong;
    }
    for (std::size_t j = n; j < s.ldc; ++j)  // the padding between C's rows
      if (got[i * s.ldc + j] != s.c[i * s.ldc + j]) ++wrong;
  }
  CHECK(wrong == 0);
}

template <class T>
void check_shapes() {
  for (const auto& [ta, tb] : {std::pair{false, false}, {false, true}, {true, false}})
    for (const std::size_t m : {1, 2, 5, 13, 37, 130})
      for (const std::size_t n : {1, 3, 16, 32, 33, 64, 100, 1024})
        for (const std::size_t k : {1, 7, 64, 300})
          if (m * n * k <= 3'000'000)
            for (const bool accumulate : {false, true}) check<T>(ta, tb, m, n, k, accumulate);
  // Past the blocks of the outer product's reduction (256) and chunks of C (384 rows, 256 columns).
  for (const bool accumulate : {false, true}) {
    check<T>(true, false, 400, 300, 600, accumulate);
    check<T>(true, false, 9, 33, 1000, accumulate);
    check<T>(true, false, 291, 1, 700, accumulate);
    check<T>(false, false, 500, 70, 300, accumulate);
    check<T>(false, true, 300, 290, 40, accumulate);
  }
  check<T>(false, false, 4, 5, 0, false);  // an empty reduction writes zeros
  check<T>(true, false, 4, 5, 0, false);
}

template <class T>
void check_threads() {
  struct Shape {
    bool ta, tb;
    std::size_t m, n, k;
  };
  // The convolutions' kinds at sizes that split, and the outer product split by rows, by
  // columns and with its operands swapped.
  for (const Shape& p : {Shape{false, false, 5000, 32, 288}, Shape{false, false, 2001, 100, 99},
                         Shape{false, true, 3000, 288, 32}, Shape{false, true, 3001, 64, 1024},
                         Shape{true, false, 288, 32, 5000}, Shape{true, false, 64, 1024, 600},
                         Shape{true, false, 288, 1, 9000}, Shape{true, false, 37, 33, 3000}}) {
    CAPTURE(p.ta);
    CAPTURE(p.m);
    CAPTURE(p.n);
    CAPTURE(p.k);
    const Case<T> s(p.ta, p.tb, p.m, p.n, p.k, 5);
    for (const bool accumulate : {false, true}) {
      const std::vector<T> one = s.run(accumulate);
      for (const int threads : {2, 3}) {
        blas::set_threads(threads);
        const std::vector<T> many = s.run(accumulate);
        blas::set_threads(1);
        CHECK(std::memcmp(one.data(), many.data(), one.size() * sizeof(T)) == 0);
      }
    }
  }
}

}  // namespace

// gemm_made (gemm_made_b) with A (B) made by copying rows of a stored one: gemm's bits, on any
// thread count.
template <class T>
void check_made() {
  struct Shape {
    std::size_t m, n, k;
  };
  for (const Shape& p : {Shape{288, 32, 5000}, Shape{9, 32, 700}, Shape{291, 1, 3000}, Shape{64, 100, 600},
                         Shape{5, 3, 1}, Shape{1152, 64, 300}}) {
    CAPTURE(p.m);
    CAPTURE(p.n);
    CAPTURE(p.k);
    const Case<T> s(true, false, p.m, p.n, p.k, 9);
    struct Made {
      const T* a;
      std::size_t lda, m;
    } made{s.a.data(), s.lda, p.m};
    auto fill = [](const void* c, std::size_t q0, std::size_t q1, T* rows) {
      const Made& f = *static_cast<const Made*>(c);
      for (std::size_t q = q0; q < q1; ++q) std::memcpy(rows + (q - q0) * f.m, f.a + q * f.lda, f.m * sizeof(T));
    };
    for (const bool accumulate : {false, true}) {
      const std::vector<T> want = s.run(accumulate);
      for (const int threads : {1, 2, 3}) {
        CAPTURE(threads);
        blas::set_threads(threads);
        std::vector<T> got = s.c;
        conv_gemm::gemm_made<T>(p.m, p.n, p.k, fill, &made, s.b.data(), s.ldb, accumulate, got.data(), s.ldc);
        blas::set_threads(1);
        CHECK(std::memcmp(want.data(), got.data(), want.size() * sizeof(T)) == 0);
        // B made instead: B's rows are ldb apart, made n wide.
        const Case<T> sb(true, false, p.m, p.n, p.k, 11);
        std::vector<T> want_b = sb.c, dense_b(p.k * p.n);
        for (std::size_t q = 0; q < p.k; ++q)
          std::memcpy(dense_b.data() + q * p.n, sb.b.data() + q * sb.ldb, p.n * sizeof(T));
        conv_gemm::gemm<T>(true, false, p.m, p.n, p.k, sb.a.data(), sb.lda, dense_b.data(), p.n, accumulate,
                           want_b.data(), sb.ldc);
        const Made made_b{sb.b.data(), sb.ldb, p.n};
        blas::set_threads(threads);
        std::vector<T> got_b = sb.c;
        conv_gemm::gemm_made_b<T>(p.m, p.n, p.k, sb.a.data(), sb.lda, fill, &made_b, accumulate, got_b.data(), sb.ldc);
        blas::set_threads(1);
        CHECK(std::memcmp(want_b.data(), got_b.data(), want_b.size() * sizeof(T)) == 0);
      }
    }
  }
}

TEST_CASE("conv_gemm::gemm_made and gemm_made_b give gemm's bits on 1, 2 and 3 threads") {
  check_made<float>();
  check_made<double>();
}

TEST_CASE("conv_gemm::gemm equals the double product, float and double") {
  check_shapes<float>();
  check_shapes<double>();
}

TEST_CASE("conv_gemm::gemm gives the same bits on 1, 2 and 3 threads") {
  check_threads<float>();
  check_threads<double>();
}

// The ops around the kernel (the column matrices made and consumed a block of rows at a time,
// split by images): value and gradients bit for bit on 1, 2 and 3 threads.
TEST_CASE("conv2d and conv_transpose2d give the same bits on 1, 2 and 3 threads") {
  const std::size_t batch = 8;
  for (const bool transposed : {false, true}) {
    CAPTURE(transposed);
    const ConvParams g = transposed ? conv_transpose_geometry(14, 14, 32, 64, 4, 2, 1) : conv_geometry(14, 14, 32, 32, 3, 1, 1);
    const std::size_t in = transposed ? g.small_size() : g.large_size(), out = transposed ? g.large_size() : g.small_size();
    const std::size_t w_rows = transposed ? g.out_channels : g.patch(), w_cols = transposed ? g.patch() : g.out_channels;
    const std::size_t bias = transposed ? g.channels : g.out_channels;
    std::mt19937 rng(4);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::vector<float> x(batch * in), w(w_rows * w_cols), b(bias), dy(batch * out);
    for (auto* v : {&x, &w, &b, &dy})
      for (float& e : *v) e = u(rng);
    auto run = [&](int threads) {
      blas::set_threads(threads);
      std::vector<float> dx(x.size()), dw(w.size()), db(b.size());
      Tape<float> t;
      auto xv = t.variable(x.data(), dx.data(), batch, in);
      auto wv = t.variable(w.data(), dw.data(), w_rows, w_cols);
      auto bv = t.variable(b.data(), db.data(), 1, bias);
      Var<float> y = transposed ? conv_transpose2d(xv, wv, bv, g) : conv2d(xv, wv, bv, g);
      std::copy(dy.begin(), dy.end(), y.node().grad);
      if (transposed) detail::backward_conv_transpose2d(t, y.node());
      else detail::backward_conv2d(t, y.node());
      std::vector<float> all(y.node().value, y.node().value + y.node().size());
      for (const auto* v : {&dx, &dw, &db}) all.insert(all.end(), v->begin(), v->end());
      blas::set_threads(1);
      return all;
    };
    const std::vector<float> one = run(1);
    for (const int threads : {2, 3}) {
      CAPTURE(threads);
      const std::vector<float> many = run(threads);
      CHECK(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)) == 0);
    }
  }
}
