// vae-eval: rebuilds a run's model from its folder and evaluates it on the test set.
#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>

#include "autodiff/blas.hpp"
#include "distributed/comm.hpp"
#include "experiments/report/run_report.hpp"
#include "experiments/support/cli.hpp"
#include "experiments/support/files.hpp"
#include "experiments/support/progress.hpp"
#include "experiments/run/sample_quality.hpp"
#include "experiments/run/vae_run.hpp"
#include "vae/evaluate.hpp"

using namespace vk;
using nlohmann::json;

int main(int argc, char** argv) {
  support::Command cmd("vae-eval",
                       "Evaluate a trained run on the test set: negative ELBO and its parts, active units, "
                       "and the importance-weighted estimate of -log p(x).",
                       "Example: vae-eval --run runs/vae --iw 1000 --limit 2000\n"
                       "         vae-eval --run runs/vae --fid 10000 --classifier runs/classifier\n"
                       "Prints the results (and the seconds the evaluation took), writes them to RUN/eval.json and adds\n"
                       "them to RUN/report.html.");
  std::string run, data, write_test, classifier, precision = "float";
  std::size_t iw = 0, limit = 0, fid = 0, sample_steps = 0, bound_images = 0;
  std::uint64_t seed = programs::kEvalSeed;
  int threads = 2;
  cmd.option("--run", run, "run folder written by vae-train").required();
  cmd.option("--iw", iw, "importance samples K (0: skip the estimate)").range(0, 100000);
  cmd.option("--limit", limit, "evaluate the first N test images (0: all)");
  cmd.option("--seed", seed, "seed of the Monte Carlo samples");
  cmd.option("--data", data, "the images (default: what the run was trained on; the forms of vae-train --data)");
  cmd.option("--threads", threads, "OpenBLAS threads").range(1, 256);
  cmd.option("--precision", precision,
             "float | bf16: the products on bfloat16 operands with float sums, through oneDNN (as vae-train's "
             "--precision; the default is float whatever the run trained in)");
  cmd.option("--write-test", write_test,
             "also write the test images evaluated, as evaluated (binarized or dequantized with the fixed seed; "
             "the first --limit), to this folder: images.npy, labels.npy, info.json");
  cmd.option("--fid", fid,
             "also measure N samples against N test images: the Frechet distance in the features of the project's "
             "classifier (FID's method, the classifier standing in for Inception), beside its floor (N held-out real "
             "images against the same test images), and the Laplacian-variance ratio of samples to test images; "
             "into eval.json's sample_quality");
  cmd.option("--classifier", classifier,
             "folder of the classifier --fid measures with: loaded when it holds one trained on these data, trained "
             "(5 epochs) and saved there when it is empty or missing (default: fid-classifier beside the run folder)");
  cmd.option("--sample-steps", sample_steps,
             "--model diffusion: --fid's samples from the chain on S of its T steps, respaced (Nichol & Dhariwal "
             "2021; default: the run's setting, all T)");
  cmd.option("--bound-images", bound_images,
             "--model diffusion: the variational bound over the first N test images (within --limit) instead of the "
             "run's setting (each image costs T network evaluations; 0: all)");
  return support::run_main(cmd, argc, argv, [&] {
    blas::set_threads(threads);
    blas::set_precision(blas::parse_precision(precision));
    std::map<std::string, std::string> overrides = programs::sampler_settings(cmd.given(), sample_steps);
    if (std::ranges::count(cmd.given(), std::string("--bound-images"))) overrides["bound-images"] = std::to_string(bound_images);
    programs::LoadedRun loaded = programs::load_run(run, overrides);
    const json& cfg = loaded.config;
    const std::string dir = data.empty() ? cfg.at("data").at("dir").get<std::string>() : data;
    const auto binarize = programs::parse_binarize(cfg.at("training").at("binarize").get<std::string>());
    const std::vector<std::string> given = cmd.given();
    const bool with_fid = std::find(given.begin(), given.end(), "--fid") != given.end();
    if (!classifier.empty() && !with_fid) throw std::invalid_argument("--classifier is the classifier of --fid; give --fid N too");
    // --fid's classifier trains on the training images; without it they are not needed.
    programs::RunData rd = programs::load_run_data(dir, with_fid ? 0 : 1, binarize);
    if (with_fid) programs::check_fid_count(fid, rd.dataset);
    const std::size_t count = limit ? std::min(limit, rd.test.count) : rd.test.count;
    const bool dequantized = programs::dequantized(cfg);
    vae::EvalOptions options = programs::eval_options(dequantized, iw, limit);
    options.seed = seed;
    const bool root = dist::is_root();  // under mpirun the ranks split the evaluation; rank 0 writes
    if (!write_test.empty() && root) {
      const char* form = binarize != data::Binarize::none ? "binarized" : dequantized ? "dequantized" : "greyscale";
      programs::write_test_set(rd.test, options, form, write_test);
    }
    const auto bar = programs::rank_progress("evaluating", count, "img");
    options.progress = [&](std::size_t done, std::size_t) { bar->update(done); };
    const auto start = std::chrono::steady_clock::now();
    vae::EvalResult r = vae::evaluate(*loaded.model, rd.test, options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bar->finish("done");
    json out = programs::eval_json(r, loaded.model->config().input_dim,
                                   programs::pixel_bits(loaded.model->config(), dequantized));
    out.update({{"seed", seed}, {"seconds", seconds}, {"threads", threads}, {"precision", blas::name(blas::precision())}});
    if (!root) return;
    if (with_fid) {
      std::filesystem::path folder = std::filesystem::absolute(run).lexically_normal();
      if (!folder.has_filename()) folder = folder.parent_path();  // "runs/vae/"
      const std::filesystem::path where =
          classifier.empty() ? folder.parent_path() / "fid-classifier" : std::filesystem::path(classifier);
      out["sample_quality"] = programs::sample_quality(*loaded.model, rd.dataset, {fid, where, seed});
      if (const auto s = loaded.model->config().setting("sample-steps"); s && *s != "0")
        out["sample_quality"]["sample_steps"] = std::stoull(*s);
    }
    support::write_json_atomic(std::filesystem::path(run) / "eval.json", out);
    report::write_run_report(run);  // adds the evaluation to the run's page
    fmt::print("{}\n", out.dump());
  });
}
