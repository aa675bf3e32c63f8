// conv-bench [--threads T] [--rounds R] [--seconds S] [--batch N]: every convolution of the conv
// VAE and of the diffusion U-Net (base width 32, 28x28x1), forward, backward-data,
// backward-weights and the whole backward, through (a) vaekit's op path (im2col or col2im plus
// one GEMM, autodiff/ops_conv.cpp, on the tape as a step runs it) and (b) oneDNN's convolution
// and deconvolution primitives (autodiff/conv_onednn.cpp: nhwc images, weights reordered each
// call into the primitive's format, user scratchpad). The two alternate per measurement, R rounds
// of S seconds each; a line per shape and pass gives GFLOP/s and the ratio b/a (speed), median and
// range over the rounds, then the step of each network (its shapes times their use counts). It
// first checks that the two agree (max |a - b| / max |a| per result). Both split the batch (its
// products) over vaekit's pool of T threads, (b) with one OpenMP thread per part.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "autodiff/blas.hpp"
#include "autodiff/conv_onednn.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/ops_backward.hpp"
#include "autodiff/parallel.hpp"

namespace {

using vk::ConvParams;

struct Shape {
  const char* net;
  const char* what;
  bool transposed;
  ConvParams g;
  int uses;  // in one forward of the network
};

ConvParams conv(std::uint32_t hw, std::uint32_t c, std::uint32_t oc, std::uint32_t k, std::uint32_t s,
                std::uint32_t p) {
  return vk::conv_geometry(hw, hw, c, oc, k, s, p);
}
ConvParams up(std::uint32_t hw, std::uint32_t c, std::uint32_t oc) {
  return vk::conv_transpose_geometry(hw, hw, c, oc, 4, 2, 1);
}

// vae/networks.hpp's ConvNetworks<1, 28, 28> (Bernoulli: one decoder channel) and
// vae/denoisers.hpp's UNet<1, 28, 28, 32>.
const Shape kShapes[] = {
    {"conv VAE", "conv 28x28x1->32 k4s2", false, conv(28, 1, 32, 4, 2, 1), 1},
    {"conv VAE", "conv 14x14x32->64 k4s2", false, conv(14, 32, 64, 4, 2, 1), 1},
    {"conv VAE", "convT 7x7x64->32 k4s2", true, up(7, 64, 32), 1},
    {"conv VAE", "convT 14x14x32->1 k4s2", true, up(14, 32, 1), 1},
    {"U-Net", "conv 28x28x1->32 k3", false, conv(28, 1, 32, 3, 1, 1), 1},
    {"U-Net", "conv 28x28x32->32 k3", false, conv(28, 32, 32, 3, 1, 1), 3},
    {"U-Net", "conv 28x28x32->32 k3s2", false, conv(28, 32, 32, 3, 2, 1), 1},
    {"U-Net", "conv 14x14x32->64 k3", false, conv(14, 32, 64, 3, 1, 1), 1},
    {"U-Net", "conv 14x14x32->64 k1", false, conv(14, 32, 64, 1, 1, 0), 1},
    {"U-Net", "conv 14x14x64->64 k3", false, conv(14, 64, 64, 3, 1, 1), 2},
    {"U-Net", "conv 14x14x64->64 k3s2", false, conv(14, 64, 64, 3, 2, 1), 1},
    {"U-Net", "conv 7x7x64->64 k3", false, conv(7, 64, 64, 3, 1, 1), 2},
    {"U-Net", "convT 7x7x64->64 k4s2", true, up(7, 64, 64), 1},
    {"U-Net", "conv 14x14x128->64 k3", false, conv(14, 128, 64, 3, 1, 1), 1},
    {"U-Net", "conv 14x14x128->64 k1", false, conv(14, 128, 64, 1, 1, 0), 1},
    {"U-Net", "convT 14x14x64->32 k4s2", true, up(14, 64, 32), 1},
    {"U-Net", "conv 28x28x64->32 k3", false, conv(28, 64, 32, 3, 1, 1), 1},
    {"U-Net", "conv 28x28x64->32 k1", false, conv(28, 64, 32, 1, 1, 0), 1},
    {"U-Net", "conv 28x28x32->1 k3", false, conv(28, 32, 1, 3, 1, 1), 1},
};

enum Pass { forward, backward_data, backward_weights, backward, kPasses };
const char* kPassNames[] = {"forward", "backward-data", "backward-weights", "backward (both)"};

// One shape's operands, both paths' results and the tape of path (a).
struct Bench {
  Bench(const Shape& s, std::size_t batch) : s(s), batch(batch) {
    const ConvParams& g = s.g;
    in = s.transposed ? g.small_size() : g.large_size();
    out = s.transposed ? g.large_size() : g.small_size();
    w_rows = s.transposed ? g.out_channels : g.patch();
    w_cols = s.transposed ? g.patch() : g.out_channels;
    bias = s.transposed ? g.channels : g.out_channels;
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (auto* v : {&x, &dy, &w, &b}) {
      v->resize(v == &x ? batch * in : v == &dy ? batch * out : v == &w ? w_rows * w_cols : bias);
      for (float& e : *v) e = u(rng);
    }
    y.resize(batch * out);
    dx.resize(batch * in);
    scratch.resize(batch * in);
    dw.resize(w.size());
    db.resize(bias);
  }

  // Path (a): the op on a fresh tape; its backward kernel, as Tape::backward calls it, with only
  // the gradients the pass asks for.
  vk::Var<float> record(bool grad_x, bool grad_w) {
    tape.reset();
    auto x_var = grad_x ? tape.variable(x.data(), dx.data(), batch, in) : tape.constant(x.data(), batch, in);
    auto w_var = grad_w ? tape.variable(w.data(), dw.data(), w_rows, w_cols) : tape.constant(w.data(), w_rows, w_cols);
    auto b_var = grad_w ? tape.variable(b.data(), db.data(), 1, bias) : tape.constant(b.data(), 1, bias);
    vk::Var<float> out_var = s.transposed ? vk::conv_transpose2d(x_var, w_var, b_var, s.g)
                                          : vk::conv2d(x_var, w_var, b_var, s.g);
    if (grad_x || grad_w) std::copy(dy.begin(), dy.end(), out_var.node().grad);
    return out_var;
  }
  void backward_a(vk::Var<float> v) {
    if (s.transposed) vk::detail::backward_conv_transpose2d(tape, v.node());
    else vk::detail::backward_conv2d(tape, v.node());
  }
  // Untimed preparation, then the timed work.
  std::pair<std::function<void()>, std::function<void()>> pass(Pass p, bool onednn) {
    namespace dn = vk::onednn;
    const bool t = s.transposed;
    if (onednn) {
      auto none = [] {};
      switch (p) {
        case forward: return {none, [=, this] { dn::conv_forward(t, s.g, batch, x.data(), w.data(), b.data(), y.data()); }};
        case backward_data:
          return {none, [=, this] { dn::conv_backward_data(t, s.g, batch, dy.data(), w.data(), dx.data(), scratch.data()); }};
        case backward_weights:
          return {none, [=, this] { dn::conv_backward_weights(t, s.g, batch, x.data(), dy.data(), dw.data(), db.data()); }};
        default:
          return {none, [=, this] {
                    dn::conv_backward_data(t, s.g, batch, dy.data(), w.data(), dx.data(), scratch.data());
                    dn::conv_backward_weights(t, s.g, batch, x.data(), dy.data(), dw.data(), db.data());
                  }};
      }
    }
    if (p == forward) return {[] {}, [this] { tape.reset(); record(false, false); }};
    auto recorded = std::make_shared<vk::Var<float>>();
    const bool gx = p != backward_weights, gw = p != backward_data;
    return {[=, this] { *recorded = record(gx, gw); }, [=, this] { backward_a(*recorded); }};
  }
  double flops() const { return 2.0 * double(batch) * double(s.g.positions()) * double(s.g.patch()) * s.g.out_channels; }

  const Shape& s;
  std::size_t batch, in, out, w_rows, w_cols, bias;
  std::vector<float> x, dy, w, b, y, dx, scratch, dw, db;
  vk::Tape<float> tape;
};

double max_relative(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, double(std::abs(a[i] - b[i])));
    scale = std::max(scale, double(std::abs(a[i])));
  }
  return diff / scale;
}

// The largest of the four results' relative differences between the paths.
double agreement(Bench& k) {
  auto results = [&](bool onednn) {
    std::fill(k.dx.begin(), k.dx.end(), 0.f);
    std::fill(k.dw.begin(), k.dw.end(), 0.f);
    std::fill(k.db.begin(), k.db.end(), 0.f);
    for (Pass p : {forward, backward}) {
      auto [prepare, run] = k.pass(p, onednn);
      prepare();
      run();
    }
    if (!onednn) {  // path (a) wrote its output on the tape
      k.tape.reset();
      vk::Var<float> v = k.record(false, false);
      std::copy(v.node().value, v.node().value + k.y.size(), k.y.begin());
    }
    return std::vector<std::vector<float>>{k.y, k.dx, k.dw, k.db};
  };
  const auto a = results(false), b = results(true);
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, max_relative(a[i], b[i]));
  return worst;
}

// Median milliseconds of the timed part over at least `seconds` (and 5 repetitions), after two.
double median_ms(const std::function<void()>& prepare, const std::function<void()>& run, double seconds) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> t;
  for (int i = 0; i < 2; ++i) prepare(), run();
  for (auto end = Clock::now() + std::chrono::duration<double>(seconds); Clock::now() < end || t.size() < 5;) {
    prepare();
    const auto start = Clock::now();
    run();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, rounds = 5;
  double seconds = 0.1;
  std::size_t batch = 128;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) batch = std::size_t(std::atoll(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: conv-bench [--threads T] [--rounds R] [--seconds S] [--batch N]\n");
      return 2;
    }
  }
  vk::blas::set_threads(threads);
  vk::set_conv_path(vk::ConvPath::im2col);  // for path (a); (b) calls the primitives itself
  std::printf("batch %zu, %d thread(s), %d rounds; (a) vaekit im2col + GEMM (%s), (b) oneDNN primitives\n\n",
              batch, threads, rounds, vk::blas::config().c_str());

  std::vector<std::unique_ptr<Bench>> benches;
  for (const Shape& s : kShapes) {
    benches.push_back(std::make_unique<Bench>(s, batch));
    std::printf("%-9s %-26s agree to %.1e; oneDNN: %s\n", s.net, s.what, agreement(*benches.back()),
                vk::onednn::implementations(s.transposed, s.g, batch).c_str());
  }

  // ms[shape][pass][path][round]
  const std::size_t n = benches.size();
  std::vector<std::vector<std::vector<std::vector<double>>>> ms(
      n, std::vector<std::vector<std::vector<double>>>(kPasses, std::vector<std::vector<double>>(2)));
  for (int r = 0; r < rounds; ++r)
    for (std::size_t i = 0; i < n; ++i)
      for (int p = 0; p < kPasses; ++p)
        for (int k = 0; k < 2; ++k) {
          const bool onednn = (k + r) % 2 == 1;  // alternate which path goes first
          auto [prepare, run] = benches[i]->pass(Pass(p), onednn);
          ms[i][p][onednn].push_back(median_ms(prepare, run, seconds));
        }

  std::printf("\n| net | convolution | pass | (a) GFLOP/s | (b) GFLOP/s | b/a median | b/a range |\n");
  std::printf("| --- | --- | --- | ---: | ---: | ---: | --- |\n");
  for (std::size_t i = 0; i < n; ++i)
    for (int p = 0; p < kPasses; ++p) {
      std::vector<double> ratios;
      for (int r = 0; r < rounds; ++r) ratios.push_back(ms[i][p][0][r] / ms[i][p][1][r]);
      const double f = benches[i]->flops() * (p == backward ? 2 : 1);
      std::printf("| %s | %s | %s | %.0f | %.0f | %.2f | %.2f-%.2f |\n", kShapes[i].net, kShapes[i].what,
                  kPassNames[p], f / median(ms[i][p][0]) * 1e-6, f / median(ms[i][p][1]) * 1e-6, median(ratios),
                  *std::min_element(ratios.begin(), ratios.end()), *std::max_element(ratios.begin(), ratios.end()));
    }

  // A network's step: forward and the whole backward of every convolution, times its uses.
  std::printf("\n| net | convolutions' step (a) ms | (b) ms | b/a median | b/a range |\n| --- | ---: | ---: | ---: | --- |\n");
  for (const char* net : {"conv VAE", "U-Net"}) {
    std::vector<double> a(rounds), b(rounds), ratios;
    for (int r = 0; r < rounds; ++r)
      for (std::size_t i = 0; i < n; ++i)
        if (!std::strcmp(kShapes[i].net, net))
          for (int p : {forward, backward}) {
            a[r] += kShapes[i].uses * ms[i][p][0][r];
            b[r] += kShapes[i].uses * ms[i][p][1][r];
          }
    for (int r = 0; r < rounds; ++r) ratios.push_back(a[r] / b[r]);
    std::printf("| %s | %.2f | %.2f | %.2f | %.2f-%.2f |\n", net, median(a), median(b), median(ratios),
                *std::min_element(ratios.begin(), ratios.end()), *std::max_element(ratios.begin(), ratios.end()));
  }
}
