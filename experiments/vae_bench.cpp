// vae-bench: times training steps of a VAE and, beside them, the same step's GEMMs alone (the
// roofline a step could reach if everything but the matrix products were free).
#include <algorithm>
#include <chrono>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "autodiff/blas.hpp"
#include "autodiff/ops.hpp"
#include "experiments/support/cli.hpp"
#include "experiments/vae_run.hpp"
#include "vae/train.hpp"

using namespace vk;
using Clock = std::chrono::steady_clock;

namespace {

struct Gemm {
  bool ta, tb;
  std::size_t m, n, k;
};

// The GEMMs a recorded step runs: each linear/matmul node's forward product and the backward
// products of the inputs that need a gradient.
std::vector<Gemm> gemms_of(const Tape<float>& tape) {
  std::vector<Gemm> out;
  for (std::size_t i = 0; i < tape.size(); ++i) {
    const Node<float>& y = tape.node(std::uint32_t(i));
    if (y.op != Op::linear && y.op != Op::matmul) continue;
    const Node<float>& x = tape.node(y.in[0]);
    const Node<float>& w = tape.node(y.in[1]);
    const std::size_t m = x.rows, k = x.cols, n = w.cols;
    out.push_back({false, false, m, n, k});
    if (y.grad && x.grad) out.push_back({false, true, m, k, n});
    if (y.grad && w.grad) out.push_back({true, false, k, n, m});
  }
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class F>
std::vector<double> time_repeatedly(F&& f, double seconds) {
  std::vector<double> t;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  for (int warm = 0; warm < 3; ++warm) f();
  while (Clock::now() < end || t.size() < 5) {
    const auto s = Clock::now();
    f();
    t.push_back(std::chrono::duration<double>(Clock::now() - s).count());
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time VAE training steps against the GEMM roofline of the same step.", "vae-bench"};
  support::configure_help(app, "Example: vae-bench --hidden 400 --latent 20 --batch 128 --threads 1\n"
                               "Prints one JSON line per measurement.");
  std::string likelihood = "bernoulli", hidden = "400";
  std::size_t latent = 20, batch = 128;
  int threads = 1;
  double seconds = 2;
  app.add_option("--likelihood", likelihood, "bernoulli | gaussian (learned sigma^2)");
  app.add_option("--hidden", hidden, "hidden widths, a comma list");
  app.add_option("--latent", latent, "dimension of z");
  app.add_option("--batch", batch, "images per step");
  app.add_option("--threads", threads, "OpenBLAS threads");
  app.add_option("--seconds", seconds, "time spent on each measurement");
  return support::run_main(app, argc, argv, [&] {
    if (batch == 0 || threads < 1 || !(seconds > 0)) throw std::invalid_argument("--batch, --threads and --seconds must be positive");
    blas::set_threads(threads);
    vae::ModelConfig mc;
    mc.likelihood = vae::parse_likelihood(likelihood);
    mc.hidden = programs::parse_widths(hidden);
    mc.latent = latent;
    vae::Model<float> model(mc, 1);
    Adam<float> adam(model.params(), {});
    Rng rng(2);
    Matrix<float> x = Matrix<float>::from_shape({batch, mc.input_dim});
    fill_uniform<float>(rng, std::span(x.data(), x.size()), 0.f, 1.f);
    if (mc.likelihood == vae::Likelihood::bernoulli)
      for (float& v : x) v = v < 0.5f ? 0.f : 1.f;
    Tape<float> tape;
    std::normal_distribution<float> normal;
    std::vector<Gemm> gemms;
    auto step = [&] {
      tape.reset();
      Var<float> eps = tape.constant_uninitialized(batch, latent);
      for (float& e : eps.value()) e = normal(rng);
      auto terms = model.terms(tape.constant(x), std::nullopt, eps, 1.f, true);
      adam.zero_grad();
      tape.backward(terms.loss);
      adam.step();
      model.clamp_sigma2();
      if (gemms.empty()) gemms = gemms_of(tape);
    };
    const double step_s = median(time_repeatedly(step, seconds));

    // The same GEMMs on buffers of their own.
    std::vector<std::vector<float>> a, b, c;
    double flops = 0;
    for (const Gemm& g : gemms) {
      a.emplace_back(g.m * g.k, 0.5f);
      b.emplace_back(g.k * g.n, 0.25f);
      c.emplace_back(g.m * g.n, 0.f);
      flops += 2.0 * double(g.m) * double(g.n) * double(g.k);
    }
    auto only_gemms = [&] {
      for (std::size_t i = 0; i < gemms.size(); ++i) {
        const Gemm& g = gemms[i];
        blas::gemm<float>(g.ta, g.tb, g.m, g.n, g.k, 1.f, a[i].data(), g.ta ? g.m : g.k, b[i].data(),
                          g.tb ? g.k : g.n, 1.f, c[i].data(), g.n);
      }
    };
    const double gemm_s = median(time_repeatedly(only_gemms, seconds));
    nlohmann::json out = {{"arch", fmt::format("{}-{}-{}", mc.input_dim, hidden, latent)},
                          {"likelihood", likelihood}, {"batch", batch}, {"threads", threads},
                          {"step_ms", step_s * 1e3}, {"gemm_ms", gemm_s * 1e3},
                          {"images_per_second", double(batch) / step_s},
                          {"roofline_images_per_second", double(batch) / gemm_s},
                          {"roofline_fraction", gemm_s / step_s},
                          {"gemms_per_step", gemms.size()},
                          {"gflops", flops / step_s * 1e-9}};
    fmt::print("{}\n", out.dump());
  });
}
