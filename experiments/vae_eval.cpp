// vae-eval: rebuilds a run's model from its folder and evaluates it on the test set.
#include <chrono>

#include <fmt/format.h>

#include "autodiff/blas.hpp"
#include "experiments/support/cli.hpp"
#include "experiments/support/files.hpp"
#include "experiments/support/progress.hpp"
#include "experiments/vae_run.hpp"
#include "vae/evaluate.hpp"

using namespace vk;
using nlohmann::json;

int main(int argc, char** argv) {
  support::Command cmd("vae-eval",
                       "Evaluate a trained run on the test set: negative ELBO and its parts, active units, "
                       "and the importance-weighted estimate of -log p(x).",
                       "Example: vae-eval --run runs/vae --iw 1000 --limit 2000\n"
                       "Prints the results (and the seconds the evaluation took) and writes them to RUN/eval.json.");
  std::string run, data;
  std::size_t iw = 0, limit = 0;
  std::uint64_t seed = programs::kEvalSeed;
  int threads = 2;
  cmd.option("--run", run, "run folder written by vae-train").required();
  cmd.option("--iw", iw, "importance samples K (0: skip the estimate)");
  cmd.option("--limit", limit, "evaluate the first N test images (0: all)");
  cmd.option("--seed", seed, "seed of the Monte Carlo samples");
  cmd.option("--data", data, "data folder (default: the one the run was trained on)");
  cmd.option("--threads", threads, "OpenBLAS threads");
  return support::run_main(cmd, argc, argv, [&] {
    if (threads < 1) throw std::invalid_argument("--threads must be at least 1");
    blas::set_threads(threads);
    programs::LoadedRun loaded = programs::load_run(run);
    const json& cfg = loaded.config;
    const std::string dir = data.empty() ? cfg.at("data").at("dir").get<std::string>() : data;
    const auto binarize = programs::parse_binarize(cfg.at("training").at("binarize").get<std::string>());
    programs::RunData rd = programs::load_run_data(dir, 1, binarize);
    const std::size_t count = limit ? std::min(limit, rd.test.count) : rd.test.count;
    support::Progress bar("evaluating", count, "img");
    const auto start = std::chrono::steady_clock::now();
    vae::EvalResult r = vae::evaluate(loaded.model, rd.test,
                                      {.batch = 500, .seed = seed, .iw_samples = iw, .limit = limit,
                                       .progress = [&](std::size_t done, std::size_t) { bar.update(done); }});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bar.finish("done");
    json out = {{"test_nelbo", r.nelbo}, {"test_rec", r.rec}, {"test_kl", r.kl},
                {"active_units", r.active_units}, {"test_count", r.count}, {"seed", seed},
                {"seconds", seconds}, {"threads", threads}};
    out["sigma2"] = std::isnan(r.sigma2) ? json(nullptr) : json(r.sigma2);
    if (r.iw_samples) {
      out["iw_nll"] = r.iw_nll;
      out["iw_samples"] = r.iw_samples;
    }
    support::write_json_atomic(std::filesystem::path(run) / "eval.json", out);
    fmt::print("{}\n", out.dump());
  });
}
