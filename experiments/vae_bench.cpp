// vae-bench: times training steps of a VAE and, beside them, the same step's GEMMs alone (the
// roofline a step could reach if everything but the matrix products were free), and both as a share
// of the threads' float FMA peak (bench/fma_peak.hpp).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "autodiff/blas.hpp"
#include "autodiff/layers.hpp"
#include "autodiff/ops.hpp"
#include "bench/fma_peak.hpp"
#include "experiments/support/cli.hpp"
#include "experiments/run/vae_run.hpp"
#include "vae/evaluate.hpp"
#include "vae/networks.hpp"
#include "vae/registry.hpp"
#include "vae/train.hpp"

using namespace vk;
using Clock = std::chrono::steady_clock;

namespace {

struct Gemm {
  bool ta, tb;
  std::size_t m, n, k;
  float beta;  // 1 where the product adds onto what is there (bias, gradient)
};

// The GEMMs a recorded step runs: each linear/matmul/convolution node's forward product and the
// backward products of the inputs that need a gradient, with the shapes ops_conv.cpp uses.
std::vector<Gemm> gemms_of(const Tape<float>& tape) {
  std::vector<Gemm> out;
  for (std::size_t i = 0; i < tape.size(); ++i) {
    const Node<float>& y = tape.node(std::uint32_t(i));
    if (y.op == Op::conv2d || y.op == Op::conv_transpose2d) {
      const ConvParams& g = y.op == Op::conv2d ? params<Op::conv2d>(y) : params<Op::conv_transpose2d>(y);
      const std::size_t rows = y.rows * g.positions(), patch = g.patch(), n = g.out_channels;
      const bool x_grad = y.grad && tape.node(y.in[0]).grad, w_grad = y.grad && tape.node(y.in[1]).grad;
      if (y.op == Op::conv2d) {
        out.push_back({false, false, rows, n, patch, 1.f});
        if (w_grad) out.push_back({true, false, patch, n, rows, 1.f});
        if (x_grad) out.push_back({false, true, rows, patch, n, 0.f});
      } else {
        out.push_back({false, false, rows, patch, n, 0.f});
        if (x_grad) out.push_back({false, true, rows, n, patch, 1.f});
        if (w_grad) out.push_back({true, false, n, patch, rows, 1.f});
      }
      continue;
    }
    if (y.op != Op::linear && y.op != Op::matmul) continue;
    const Node<float>& x = tape.node(y.in[0]);
    const Node<float>& w = tape.node(y.in[1]);
    const std::size_t m = x.rows, k = x.cols, n = w.cols;
    out.push_back({false, false, m, n, k, y.op == Op::linear ? 1.f : 0.f});  // linear adds onto its bias
    if (y.grad && x.grad) out.push_back({false, true, m, k, n, 1.f});
    if (y.grad && w.grad) out.push_back({true, false, k, n, m, 1.f});
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

// The same GEMMs on buffers of their own: the time a step would take if everything else were free.
struct Roofline {
  double seconds = 0, flops = 0;
};
Roofline time_gemms(const std::vector<Gemm>& gemms, double seconds) {
  std::vector<std::vector<float>> a, b, c;
  Roofline r;
  for (const Gemm& g : gemms) {
    a.emplace_back(g.m * g.k, 0.5f);
    b.emplace_back(g.k * g.n, 0.25f);
    c.emplace_back(g.m * g.n, 0.f);
    r.flops += 2.0 * double(g.m) * double(g.n) * double(g.k);
  }
  r.seconds = median(time_repeatedly(
      [&] {
        for (std::size_t i = 0; i < gemms.size(); ++i) {
          const Gemm& g = gemms[i];
          blas::gemm<float>(g.ta, g.tb, g.m, g.n, g.k, 1.f, a[i].data(), g.ta ? g.m : g.k, b[i].data(),
                            g.tb ? g.k : g.n, g.beta, c[i].data(), g.n);
        }
      },
      seconds));
  return r;
}

struct Options {
  std::string arch = "784-400-20", likelihood = "bernoulli", model = "vae", objective = "elbo", posterior = "gaussian",
              split = "auto";
  std::string precision = "float";
  std::size_t batch = 128, iw = 0, k = 1, flow_steps = 0;
  int threads = 1;
  double seconds = 2;
};

nlohmann::json report(const Options& o, const char* mode, std::size_t images, double s, const Roofline& r,
                      std::size_t gemm_count) {
  // The same threads' peak, measured here and now: a share of it compares across machines.
  const double peak = bench::measure_fma_peak(o.threads).float_peak();
  return {{"fma_peak_gflops", peak}, {"peak_fraction", r.flops / s * 1e-9 / peak},
          {"gemm_peak_fraction", r.flops / r.seconds * 1e-9 / peak},
          {"mode", mode}, {"arch", o.arch}, {"likelihood", o.likelihood}, {"threads", o.threads},
          {"ms", s * 1e3}, {"gemm_ms", r.seconds * 1e3},
          {"images_per_second", double(images) / s},
          {"roofline_images_per_second", double(images) / r.seconds},
          {"roofline_fraction", r.seconds / s}, {"gemms", gemm_count}, {"gflops", r.flops / s * 1e-9},
          {"kernels", blas::core_name()},
          {"conv", conv_path() == ConvPath::onednn ? "onednn" : "im2col"},  // VAEKIT_CONV
          {"precision", blas::name(blas::precision())}, {"bf16_implementations", blas::bf16_implementations()}};
}

// Uniform pixels in [0, 1] as the likelihood reads them: binary ones, or 8-bit values v / 255 for
// the discretized logistic.
void pixels_for(const vae::ModelConfig& mc, Matrix<float>& x, bool binary) {
  if (binary)
    for (float& v : x) v = v < 0.5f ? 0.f : 1.f;
  if (mc.discrete_pixels())
    for (float& v : x) v = std::round(v * 255.f) / 255.f;
}

// The GEMMs of one step on the whole batch, recorded on a tape of their own: the roofline's work.
std::vector<Gemm> step_gemms(vae::Model<float>& model, const Options& o, const vae::Objective& objective) {
  const vae::ModelConfig& mc = model.config();
  Matrix<float> x = Matrix<float>::from_shape({o.batch, mc.input_dim});
  Rng rng(2);
  fill_uniform<float>(rng, std::span(x.data(), x.size()), 0.f, 1.f);
  pixels_for(mc, x, mc.likelihood == vae::LikelihoodKind::bernoulli && !mc.exact_density());
  Tape<float> tape;
  Var<float> eps = tape.constant_uninitialized(objective.request(true).k * o.batch, model.noise_width());
  std::fill(eps.node().value, eps.node().value + eps.rows() * eps.cols(), 0.f);
  tape.backward(vae::terms(model, tape.constant(x), std::optional<Var<float>>(), eps, objective, true).loss);
  model.params().zero_grad();
  return gemms_of(tape);
}

// Training steps as vae-train takes them (the trainer's batches, noise, step, Adam and --split) on
// 16 batches of random pixels, each timed from the end of the step before within an epoch.
nlohmann::json bench_step(vae::Model<float>& model, const Options& o) {
  const vae::ModelConfig& mc = model.config();
  const vae::Objective objective{vae::parse_bound(o.objective), o.k};
  const std::vector<Gemm> gemms = step_gemms(model, o, objective);
  data::ImageSet set;
  set.count = o.batch * 16;
  set.height = 1;
  set.width = mc.input_dim;
  Rng rng(2);
  std::uniform_int_distribution<int> byte(0, 255);
  set.pixels.resize(set.count * mc.input_dim);
  for (std::uint8_t& v : set.pixels) v = std::uint8_t(byte(rng));
  set.labels.assign(set.count, 0);
  const bool binary = mc.likelihood == vae::LikelihoodKind::bernoulli && !mc.exact_density();
  vae::Trainer<float> trainer(model, set,
                              {.batch = o.batch, .binarize = binary ? data::Binarize::dynamic : data::Binarize::none,
                               .dequantize = !binary && !mc.discrete_pixels(), .bound = objective.bound, .k = o.k,
                               .split = vae::parse_split(o.split)});
  std::vector<double> times;
  std::atomic<bool> stop{false};
  std::size_t steps = 0;
  Clock::time_point last;
  const auto end = Clock::now() + std::chrono::duration<double>(o.seconds);
  auto on_batch = [&](std::size_t done, std::size_t, double) {
    const Clock::time_point now = Clock::now();
    // Not the first three steps (the tapes' arenas grow), nor an epoch's first (its shuffle and
    // the last epoch's end are in it).
    if (++steps > 3 && done > o.batch) times.push_back(std::chrono::duration<double>(now - last).count());
    last = now;
    if (now >= end && times.size() >= 5) stop = true;
  };
  while (!stop) trainer.run_epoch(on_batch, &stop);
  const double s = median(times);
  nlohmann::json out = report(o, "step", o.batch, s, time_gemms(gemms, o.seconds), gemms.size());
  out.update({{"batch", o.batch}, {"model", o.model}, {"objective", o.objective}, {"k", o.k}, {"split", o.split}});
  if (o.flow_steps) out.update({{"posterior", o.posterior}, {"flow_steps", o.flow_steps}});
  return out;
}

// The importance-weighted estimate of log p(x) with K samples, one image after another.
nlohmann::json bench_iw(vae::Model<float>& model, const Options& o) {
  const vae::ModelConfig& mc = model.config();
  constexpr std::size_t kImages = 16;
  Rng rng(3);
  Matrix<float> x = Matrix<float>::from_shape({kImages, mc.input_dim});
  fill_uniform<float>(rng, std::span(x.data(), x.size()), 0.f, 1.f);
  pixels_for(mc, x, mc.likelihood == vae::LikelihoodKind::bernoulli);
  Tape<float> tape;
  std::size_t next = 0;
  double sink = 0;
  auto one_image = [&] {
    sink += vae::iw_log_likelihood(model, tape, x.data() + (next++ % kImages) * mc.input_dim,
                                   static_cast<const float*>(nullptr), o.iw, rng);
  };
  one_image();
  const std::vector<Gemm> gemms = gemms_of(tape);
  const double s = median(time_repeatedly(one_image, o.seconds));
  nlohmann::json out = report(o, "iw", 1, s, time_gemms(gemms, o.seconds), gemms.size());
  out["iw"] = o.iw;
  out["finite"] = std::isfinite(sink);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  support::Command cmd("vae-bench",
                       "Time VAE training steps, or importance-weighted evaluation, against the GEMM roofline "
                       "of the same work.",
                       "Examples: vae-bench --arch 784-400-20 --batch 128 --threads 1\n"
                               "          vae-bench --arch 784-512-256-32 --likelihood gaussian --batch 512\n"
                               "          vae-bench --iw 1000 --threads 2\n"
                               "Prints one JSON line: images_per_second, gflops, and the same work's GEMMs alone\n"
                               "(roofline_images_per_second, roofline_fraction).");
  Options o;
  cmd.option("--arch", o.arch, "input-hidden...-latent widths of an MLP VAE, or conv (vae-train --arch conv)");
  cmd.option("--likelihood", o.likelihood, "bernoulli | gaussian (learned sigma^2) | logistic (discretized, one component)");
  cmd.option("--batch", o.batch, "images per training step").range(1, 65536);
  cmd.option("--model", o.model, "vae | hvae | flow | diffusion (--arch then gives x-hidden...-z; z2 is 50 wide behind 50,50; "
             "a flow's z is x's width: 784-1024-784; a diffusion model's U-Net reads only x: 784-32-784)");
  cmd.option("--posterior", o.posterior, "vae: gaussian | iaf (q(z|x) through --flow-steps IAF steps)");
  cmd.option("--flow-steps", o.flow_steps, "steps of --model flow or of --posterior iaf").range(0, 1000);
  cmd.option("--objective", o.objective, "elbo | iwae (with --k samples per image)");
  cmd.option("--k", o.k, "samples per image of --objective iwae").range(0, 10000);
  cmd.option("--iw", o.iw, "time importance-weighted evaluation with K samples instead of training (0: train)").range(0, 100000);
  cmd.option("--threads", o.threads, "OpenBLAS threads").range(1, 256);
  cmd.option("--split", o.split, "ops | batch | auto: how a step uses the threads (vae-train --split)");
  cmd.option("--seconds", o.seconds, "time spent on each measurement").range(1e-3, 3600);
  cmd.option("--precision", o.precision,
             "float | bf16 (as vae-train's --precision: bfloat16 operands, float sums, through oneDNN; the roofline's "
             "GEMMs too)");
  return support::run_main(cmd, argc, argv, [&] {
    if (o.batch == 0) throw std::invalid_argument("--batch must be at least 1");
    blas::set_threads(o.threads);
    blas::set_precision(blas::parse_precision(o.precision));
    vae::ModelConfig mc;
    mc.likelihood = vae::parse_likelihood(o.likelihood);
    mc.kind = o.model;
    const vae::KindInfo& kind = vae::kind_info(mc.kind);
    if ((!kind.variational && kind.family != vae::Family::exact) || kind.conditional)
      throw std::invalid_argument("--model must be an unconditional VAE (vae, hvae, ...), a flow or a diffusion model");
    mc.activation = parse_activation(kind.activation);
    if (kind.stacked) mc.latents_above = {50};
    if (o.posterior != "gaussian") mc.settings["posterior"] = o.posterior;
    if (o.flow_steps) mc.settings["flow-steps"] = std::to_string(o.flow_steps);
    vae::TrainOptions training{.dequantize = mc.exact_density(), .bound = vae::parse_bound(o.objective), .k = o.k};
    training.split = o.split == "auto" ? vae::auto_split(training, mc, o.threads) : vae::parse_split(o.split);
    o.split = vae::name(training.split);
    vae::validate_training(training, mc);
    if (o.arch == "conv") {
      mc.architecture = vae::Architecture::conv;
      mc.activation = Op::relu;
      mc.hidden = {};
      mc.latent = vae::conv_default_latent;
    } else {
      const programs::Arch arch = programs::parse_arch(o.arch);
      mc.input_dim = arch.input;
      mc.hidden = arch.hidden;
      mc.latent = arch.latent;
    }
    const std::unique_ptr<vae::Model<float>> model = vae::make_model<float>(mc, 1);
    fmt::print("{}\n", (o.iw ? bench_iw(*model, o) : bench_step(*model, o)).dump());
  });
}
