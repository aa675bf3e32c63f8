// vae-sample: draws z ~ p(z) and writes the decoder's mean images E[x|z] (or, with --noise, draws of
// x ~ p(x|z)) as a grid.
#include <fmt/format.h>

#include "experiments/support/cli.hpp"
#include "experiments/report/figures.hpp"
#include "experiments/draw/png.hpp"
#include "experiments/run/vae_run.hpp"

using namespace vk;

int main(int argc, char** argv) {
  support::Command cmd("vae-sample", "Sample images from a trained run's generative model: z ~ N(0, I), x = D(z).",
                       "Example: vae-sample --run runs/vae --n 64 --out samples.png");
  std::string run, out;
  std::size_t n = 64, sample_steps = 0;
  std::uint64_t seed = 1;
  bool noise = false;
  cmd.option("--run", run, "run folder written by vae-train").required();
  cmd.option("--out", out, "PNG file to write").required();
  cmd.option("--n", n, "number of samples");
  cmd.option("--seed", seed, "seed of z (and of the noise)");
  cmd.option("--sample-steps", sample_steps,
             "--model diffusion: run the chain on S of its T steps, respaced (Nichol & Dhariwal 2021; default: the "
             "run's setting, all T)");
  cmd.flag("--noise", noise,
           "draw x ~ p(x|z) instead of the mean image: D(z) plus the Gaussian noise e ~ N(0, sigma^2 I), or the "
           "discretized logistic's draw rounded to its 8-bit value");
  return support::run_main(cmd, argc, argv, [&] {
    if (n == 0 || n > 10000) throw std::invalid_argument("--n must be between 1 and 10000");
    programs::LoadedRun loaded = programs::load_run(run, programs::sampler_settings(cmd.given(), sample_steps));
    if (noise && !loaded.model->draws_images())
      throw std::invalid_argument(fmt::format("--noise draws x ~ p(x|z) (the Gaussian's noise of sigma^2, the logistic's "
                                              "draw); the run in {} has none (its likelihood is {})", run,
                                              vae::name(loaded.model->config().likelihood)));
    // The images' shape as the model records it (a square grey image in a run folder older than that).
    support::write_png(out, report::samples(*loaded.model, n, loaded.model->config().image_shape(), seed, noise));
    fmt::print(stderr, "wrote {} samples to {}\n", n, out);
  });
}
