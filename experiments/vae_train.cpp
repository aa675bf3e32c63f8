// vae-train: trains an AE, regularized AE, VAE or CVAE on images (datasets/load.hpp) and leaves a run
// folder with its settings, per-epoch metrics, final numbers, checkpoint and pictures. With
// --resume it continues a run from its latest checkpoint as if it had never stopped.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "autodiff/blas.hpp"
#include "autodiff/layers.hpp"
#include "distributed/comm.hpp"
#include "io/checkpoint.hpp"
#include "experiments/report/figures.hpp"
#include "experiments/report/run_report.hpp"
#include "experiments/run/resume.hpp"
#include "experiments/support/cli.hpp"
#include "experiments/support/files.hpp"
#include "experiments/support/progress.hpp"
#include "experiments/run/vae_run.hpp"
#include "experiments/train_flags.hpp"
#include "vae/evaluate.hpp"
#include "vae/networks.hpp"
#include "vae/registry.hpp"
#include "vae/train.hpp"

using namespace vk;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

using Options = programs::TrainFlags;

bool has(const std::vector<std::string>& given, const char* flag) {
  return std::find(given.begin(), given.end(), flag) != given.end();
}

// The run folder's config.json with what the flags of --resume change, and its latest
// checkpoint's training state, once the checkpoint is in place.
std::pair<json, TrainingState> resumed_run(const Options& o, const std::vector<std::string>& given) {
  programs::check_resume_flags(o, given);
  const fs::path dir = o.resume;
  json config = programs::read_run_config(dir);
  const programs::RunSettings settings = programs::run_settings(config, dir / "config.json");  // refused before taking over
  if (dist::is_root()) programs::take_over_run(dir);
  dist::barrier();
  TrainingState state = load_training_state(dir / "checkpoint");
  json& t = config["training"];
  const std::size_t done = programs::run_progress(state, dir / "checkpoint").epochs_done;
  if (has(given, "--epochs")) {
    if (o.epochs < done)
      throw std::invalid_argument(fmt::format("--epochs {} is fewer than the {} the run has trained", o.epochs, done));
    t["epochs"] = o.epochs;
  }
  if (done >= (has(given, "--epochs") ? o.epochs : settings.epochs) && fs::exists(dir / "final.json"))
    throw std::invalid_argument(fmt::format("{}: the run has finished its {} epochs (give --epochs N > {} to train on)",
                                            dir.string(), done, done));
  if (has(given, "--lr")) {
    if (!(o.lr > 0)) throw std::invalid_argument("--lr must be positive");
    t["lr"] = o.lr;
  }
  if (has(given, "--max-grad-norm")) {
    if (!(o.clip >= 0)) throw std::invalid_argument("--max-grad-norm must be positive (0: no clipping)");
    t["max_grad_norm"] = o.clip;
  }
  if (has(given, "--threads")) t["threads"] = o.threads;
  if (has(given, "--checkpoint-every")) {
    if (o.checkpoint_every == 0) throw std::invalid_argument("--checkpoint-every must be at least 1 (epochs)");
    config["checkpoint_every"] = o.checkpoint_every;
  }
  if (has(given, "--keep-checkpoints")) config["keep_checkpoints"] = o.keep_checkpoints;
  if (has(given, "--data")) config["data"]["dir"] = fs::absolute(o.data).string();
  return {std::move(config), std::move(state)};
}

// The data of a run as its config.json says.
programs::RunData run_data(const json& config, const fs::path& dir) {
  const programs::RunSettings s = programs::run_settings(config, dir / "config.json");
  return programs::load_run_data(s.data_dir, s.limit, s.training.binarize);
}

// Trains the run that config (written to dir/config.json) describes on rd, its data, from
// scratch or on from `resumed`.
int train(const fs::path& dir, const json& config, const programs::RunData& rd, const TrainingState* resumed) {
  const programs::RunSettings settings = programs::run_settings(config, dir / "config.json");
  const vae::ModelConfig& mc = settings.model;
  const vae::TrainOptions& training = settings.training;
  const std::size_t epochs = settings.epochs, every = settings.checkpoint_every;
  const bool dequantize = training.dequantize;
  const programs::PixelBits bits = programs::pixel_bits(mc, dequantize);
  const data::ImageSet& train_set = rd.dataset.train;
  if (settings.train_count && train_set.count != *settings.train_count)
    throw std::invalid_argument(fmt::format("{}: the data folder has other training images than the run's", dir.string()));
  blas::set_threads(settings.threads);
  blas::set_precision(settings.precision);

  const std::unique_ptr<vae::Model<float>> made = vae::make_model<float>(mc, training.seed);
  vae::Model<float>& model = *made;
  vae::Trainer<float> trainer(model, train_set, training);
  // Only now, with everything the flags ask for built, is the run folder written; by rank 0
  // alone, which speaks for every rank.
  const bool root = dist::is_root();
  if (root && !resumed) {
    support::ensure_run_dir(dir);
    support::hold_run_lock(dir);  // before any file of the run is written
  }
  if (root) support::write_json_atomic(dir / "config.json", config);
  const fs::path checkpoint = dir / "checkpoint";
  json metrics_so_far = json::array();
  double train_seconds = 0;
  std::size_t trained = 0;
  if (resumed) {
    load_checkpoint(checkpoint, model.params());
    dist::broadcast(model.params().values());
    const programs::RunProgress progress = programs::run_progress(*resumed, checkpoint);
    metrics_so_far = progress.metrics;
    train_seconds = progress.train_seconds;
    trained = progress.trained;
    try {
      trainer.restore(*resumed);
    } catch (const std::exception& e) {
      fail(checkpoint, e.what());
    }
    std::string lines;
    for (const json& m : metrics_so_far) lines += m.dump() + "\n";
    if (root) support::write_text_atomic(dir / "metrics.jsonl", lines);  // drops epochs after the checkpoint
  }
  std::optional<support::JsonLines> metrics;
  if (root) metrics.emplace(dir / "metrics.jsonl", !resumed);
  const std::string loss_name =
      mc.kind == "diffusion" ? "simple loss: squared error of the predicted noise; bound in evaluation"
      : mc.exact_density() ? "-log p(x)"
      : !mc.variational() ? "squared error"
      : mc.has_sigma()  ? fmt::format("gaussian likelihood, {} sigma^2", vae::name(mc.sigma))
      : mc.discrete_pixels()
          ? (mc.logistic_mixture > 1 ? fmt::format("discretized logistic likelihood, {} components", mc.logistic_mixture)
                                     : std::string("discretized logistic likelihood"))
          : "bernoulli likelihood";
  if (root)
    fmt::print(stderr, "{} ({}) {}-[{}]-{}: {} parameters, {} training images{}{}\n", mc.kind,
               loss_name, mc.input_dim, mc.architecture == vae::Architecture::conv ? "conv 32-64-256" : fmt::format("{}", fmt::join(mc.hidden, ",")),
               mc.latent, model.params().size(), train_set.count,
               resumed ? fmt::format(", resumed after epoch {}", trainer.epochs_done()) : "",
               dist::size() > 1 ? fmt::format(", {} ranks of a global batch of {}", dist::size(), training.batch) : "");

  const json meta = {{"model", vae::to_json(mc)}};
  std::string saved_at = "before training";
  // A new run's first save drops what an earlier run into this folder kept; then --keep-checkpoints.
  std::size_t keep = resumed ? settings.keep_checkpoints : 1;
  auto save = [&](const std::string& where) {
    TrainingState state = trainer.state();
    state.info["run"] = {{"metrics", metrics_so_far}, {"train_seconds", train_seconds}, {"trained", trained}};
    if (root) save_checkpoint(checkpoint, model.params(), meta, &state, keep);
    keep = settings.keep_checkpoints;
    saved_at = where;
  };
  programs::catch_stop_signals();
  if (!resumed) save(saved_at);
  else saved_at = "where it was resumed from";
  const std::atomic<bool>& stop = programs::stop_requested();
  auto stopped = [&] {
    if (root)
      fmt::print(stderr, "vae-train: stopped by {} {}; checkpoint in {} (continue with: vae-train --resume {})\n",
               programs::signal_name(programs::stop_signal()), saved_at, checkpoint.string(), dir.string());
    return 128 + programs::stop_signal();
  };

  while (trainer.epochs_done() < epochs) {
    const std::size_t e = trainer.epochs_done() + 1;
    const auto bar = programs::rank_progress(fmt::format("epoch {}/{}", e, epochs), train_set.count, "img");
    bar->start_at(trainer.seen_in_epoch());
    vae::EpochStats s;
    try {
      s = trainer.run_epoch([&](std::size_t done, std::size_t, double loss) {
        bar->update(done, fmt::format("loss {:.2f}", loss));
        programs::after_step_for_tests();
      }, &stop);
    } catch (const vae::Diverged& d) {
      throw vae::Diverged(fmt::format(
          "{}; the last good checkpoint is {} ({}): continue from it with a smaller learning rate or clipped "
          "gradients, e.g. vae-train --resume {} --lr {:g} (or --max-grad-norm 1)",
          d.what(), checkpoint.string(), saved_at, dir.string(), training.lr / 10));
    }
    if (!s.finished) {
      bar->finish("stopped");
      save(fmt::format("in epoch {} after batch {} of {}", e, s.batch, trainer.batches_per_epoch()));
      return stopped();
    }
    train_seconds += s.seconds;
    trained += train_set.count;
    const vae::EvalResult r = [&] {
      const auto averaged = trainer.averaged();
      return vae::evaluate(model, rd.test, programs::eval_options(dequantize));
    }();
    bar->finish(fmt::format("train {:.2f}  test {:.2f} (rec {:.2f} + kl {:.2f}){}", s.loss, r.nelbo, r.rec,
                           r.kl, mc.has_sigma() ? fmt::format("  sigma^2 {:.4g}", r.sigma2) : ""));
    json line = programs::eval_json(r, mc.input_dim, bits);
    line.update({{"epoch", e}, {"train_loss", s.loss}, {"train_rec", s.rec}, {"train_kl", s.kl},
                 {"images_per_second", s.images_per_second}, {"seconds", s.seconds}});
    if (dist::size() > 1) line.update({{"ranks", dist::size()}, {"allreduce_seconds", s.reduce_seconds}});
    metrics_so_far.push_back(line);
    if (root) metrics->append(line);
    if (e % every == 0 || e == epochs || stop) save(fmt::format("after epoch {}", e));
    if (stop) return stopped();
  }

  // From here on the run is its moving average (with --ema), as vae-eval and vae-sample load it.
  const auto averaged = trainer.averaged();
  vae::EvalResult r = vae::evaluate(model, rd.test, programs::eval_options(dequantize, settings.iw_samples));
  json final = programs::eval_json(r, mc.input_dim, bits);
  final.update({{"train_seconds", train_seconds}, {"images_per_second", double(trained) / train_seconds},
                {"epochs", epochs}, {"peak_rss_mb", programs::peak_rss_mb()}});
  // Every rank took the same steps: its parameters must be rank 0's to the bit.
  const int differing = dist::ranks_differing_from_root(std::as_bytes(model.params().values()));
  if (differing) throw std::runtime_error(fmt::format("the parameters of {} of {} ranks differ from rank 0's after training", differing, dist::size()));
  final["ranks"] = dist::size();
  final["parameter_checksum"] = fmt::format("{:016x}", dist::checksum(std::as_bytes(model.params().values())));
  if (dist::size() > 1 && root)
    fmt::print(stderr, "the parameters of all {} ranks are identical (checksum {})\n", dist::size(),
               final["parameter_checksum"].get<std::string>());
  if (!root) return 0;
  support::write_json_atomic(dir / "final.json", final);
  report::write_run_pictures(model, rd.test, rd.dataset.class_names, dir, training.seed);
  report::write_run_report(dir);
  fmt::print("{}\n", final.dump());
  fmt::print(stderr, "results in {}/ (report.html, final.json, metrics.jsonl, config.json, checkpoint/, *.png)\n",
             dir.string());
  return 0;
}

int run(const Options& o, const std::vector<std::string>& given) {
  if (!o.resume.empty()) {
    auto [config, state] = resumed_run(o, given);
    return train(o.resume, config, run_data(config, o.resume), &state);
  }
  programs::check_new_run_flags(o, given);
  const programs::RunData rd = programs::load_run_data(o.data, o.limit, programs::parse_binarize(o.binarize));
  return train(o.out, programs::new_run_config(o, rd, given), rd, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  support::Command cmd("vae-train",
                       "Train an autoencoder, regularized AE, VAE or conditional VAE on images (--data: MNIST IDX, .npy or CIFAR-10).",
      "Example: vae-train --model vae --likelihood gaussian --sigma learned --epochs 10 --out runs/vae\n"
      "Writes config.json, metrics.jsonl, final.json, checkpoint/, PNG pictures and report.html into --out.\n"
      "SIGINT or SIGTERM stops after the current step with a checkpoint; vae-train --resume DIR continues\n"
      "exactly where it stopped (--epochs N trains on to N epochs).");
  Options o;
  programs::declare_train_flags(cmd, o);
  return support::run_main(cmd, argc, argv, [&] { return run(o, cmd.given()); });
}
