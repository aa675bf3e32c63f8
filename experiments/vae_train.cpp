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
#include "vae/evaluate.hpp"
#include "vae/networks.hpp"
#include "vae/registry.hpp"
#include "vae/train.hpp"

using namespace vk;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Options {
  std::string model = "vae", likelihood = "gaussian", sigma = "learned", binarize = "none";
  std::string arch = "mlp", objective = "elbo", dequantize, hidden, hidden2 = "50,50", latents, activation, condition = "encoder-decoder", data = data::default_data_dir, out, resume;
  double sigma2 = 0.01, lambda = 1e-3, lr = 1e-3, beta = 1, clip = 0, free_bits = 0;
  std::size_t k = 1, latent = 0, latent2 = 50, embedding = 16, epochs = 10, batch = 128, limit = 0, warmup = 0, iw = 0;
  std::size_t checkpoint_every = 1, batch_per_rank = 0, keep_checkpoints = 2;
  std::map<std::string, std::string> settings;  // of the kinds' own flags (vae/kinds/kind_list.hpp)
  std::uint64_t seed = 1;
  int threads = 2;
};

// What a resumed run may change: how long and how fast it trains, not what it is.
const std::vector<std::string> kResumeFlags = {"--resume", "--epochs", "--lr", "--max-grad-norm", "--threads",
                                               "--checkpoint-every", "--keep-checkpoints", "--data"};

bool has(const std::vector<std::string>& given, const char* flag) {
  return std::find(given.begin(), given.end(), flag) != given.end();
}

// Flags that only one setting of another flag reads, and counts a flag gives explicitly.
void check_new_run_flags(const Options& o, const std::vector<std::string>& given) {
  if (o.out.empty()) throw std::invalid_argument("--out DIR (a new run) or --resume DIR (continue one) is required");
  if (o.epochs == 0) throw std::invalid_argument("--epochs must be at least 1");
  if (!(o.lr > 0)) throw std::invalid_argument("--lr must be positive");
  if (!(o.clip >= 0)) throw std::invalid_argument("--max-grad-norm must be positive (0: no clipping)");
  if (o.checkpoint_every == 0) throw std::invalid_argument("--checkpoint-every must be at least 1 (epochs)");
  if (!(o.beta >= 0)) throw std::invalid_argument("--beta must be non-negative");
  if (has(given, "--latent") && o.latent == 0) throw std::invalid_argument("--latent must be at least 1");
  const bool fixed = vae::parse_sigma(o.sigma) == vae::Sigma::fixed;
  if (fixed && !has(given, "--sigma2"))
    throw std::invalid_argument("--sigma fixed needs --sigma2 (the fixed noise variance, e.g. 0.01)");
  if (!fixed && has(given, "--sigma2"))
    throw std::invalid_argument("--sigma2 is the variance of --sigma fixed; --sigma is " + o.sigma);
  if (vae::parse_condition(o.condition) != vae::Condition::embedding && has(given, "--embedding"))
    throw std::invalid_argument("--embedding is the label embedding width of --condition embedding");
  const vae::KindInfo& kind = vae::kind_info(o.model);
  for (const std::string& flag : given) vae::require_kind_reads(kind, flag);
  if (has(given, "--latents") && (has(given, "--latent") || has(given, "--latent2")))
    throw std::invalid_argument("--latents gives every latent width: not with --latent or --latent2");
  if (has(given, "--batch-per-rank") && has(given, "--batch"))
    throw std::invalid_argument("--batch (the global batch) and --batch-per-rank (the global batch is ranks x B) exclude each other");
  if (has(given, "--batch-per-rank") && o.batch_per_rank == 0) throw std::invalid_argument("--batch-per-rank must be at least 1");
}

// A new run's config.json from its (checked) flags; the run then reads only that.
json new_run_config(const Options& o, const programs::RunData& rd, const std::vector<std::string>& given) {
  vae::ModelConfig mc;
  mc.kind = o.model;
  const vae::KindInfo& kind = vae::kind_info(mc.kind);
  mc.likelihood = vae::parse_likelihood(o.likelihood);
  mc.sigma = vae::parse_sigma(o.sigma);
  mc.fixed_sigma2 = o.sigma2;
  mc.lambda = o.lambda;
  mc.architecture = vae::parse_architecture(o.arch);
  const bool conv = mc.architecture == vae::Architecture::conv;
  if (conv && !o.hidden.empty()) throw std::invalid_argument("--hidden is for --arch mlp; conv has fixed widths");
  // Each kind's defaults (an hvae's are Burda et al.'s networks: 784-100-100-z(100), 100-50-50-z2(50), tanh).
  mc.hidden = conv ? std::vector<std::size_t>{} : programs::parse_widths(!o.hidden.empty() ? o.hidden : kind.hidden);
  mc.latent = o.latent ? o.latent : conv ? vae::conv_default_latent : kind.latent;
  mc.hidden2 = programs::parse_widths(o.hidden2);
  if (!o.latents.empty()) {
    const std::vector<std::size_t> widths = programs::parse_widths(o.latents, "--latents");
    mc.latent = widths.front();
    mc.latents_above.assign(widths.begin() + 1, widths.end());
  } else if (kind.stacked) {
    mc.latents_above = {o.latent2};
  }
  mc.activation = parse_activation(!o.activation.empty() ? o.activation : conv ? "relu" : kind.activation);
  for (const vae::KindSetting& s : vae::kind_settings(kind))
    mc.settings[s.name] = has(given, ("--" + s.name).c_str()) ? o.settings.at(s.name) : s.default_value;
  mc.condition = vae::parse_condition(o.condition);
  mc.embedding = o.embedding;
  const data::Binarize binarize = programs::parse_binarize(o.binarize);
  const data::Dataset& dataset = rd.dataset;
  mc.input_dim = dataset.train.dim();
  mc.image = dataset.train.shape();
  if (mc.conditional() && dataset.train.classes < 2)
    throw std::invalid_argument(fmt::format("--model {} needs labels of two classes or more; {} has one class (or no labels)",
                                            mc.kind, o.data));
  if (mc.conditional()) mc.classes = dataset.train.classes;
  // A flow's z is as wide as x, whatever the images.
  if (mc.exact_density() && !o.latent && o.latents.empty()) mc.latent = mc.input_dim;
  mc.validate();
  // Greyscale images as a density's data need dequantizing; the AEs' squared error and the
  // Bernoulli likelihood take the pixels as they are unless asked.
  const bool dequantize = o.dequantize.empty() ? (mc.has_sigma() || mc.exact_density()) && binarize == data::Binarize::none
                                               : programs::parse_dequantize(o.dequantize);
  // --batch-per-rank B: N ranks step on N B images at once, with Adam's square-root rule
  // lr sqrt(N) (Malladi et al. 2022): --lr is the rate of one rank's batch of B.
  const std::size_t ranks = std::size_t(dist::size());
  const std::size_t batch = o.batch_per_rank ? o.batch_per_rank * ranks : o.batch;
  const double lr = o.batch_per_rank ? o.lr * std::sqrt(double(ranks)) : o.lr;
  if (batch > 65536) throw std::invalid_argument(fmt::format("--batch-per-rank {} on {} ranks is a global batch over 65536", o.batch_per_rank, ranks));
  const vae::TrainOptions training{.batch = batch, .lr = lr, .seed = o.seed, .binarize = binarize,
                                   .dequantize = dequantize,
                                   .beta = o.beta, .warmup_epochs = o.warmup, .clip = o.clip,
                                   .bound = vae::parse_bound(o.objective), .k = o.k, .free_bits = o.free_bits};
  vae::validate_training(training, mc);
  json training_config = programs::training_json(training, o.epochs, o.threads);
  if (o.batch_per_rank)
    training_config.update({{"batch_per_rank", o.batch_per_rank}, {"ranks", ranks}, {"lr_per_rank", o.lr}});
  json config = programs::run_config(mc, training_config, o.data, rd, o.limit, o.iw);
  config["checkpoint_every"] = o.checkpoint_every;
  config["keep_checkpoints"] = o.keep_checkpoints;
  return config;
}

// The run folder's config.json with what the flags of --resume change, and its latest
// checkpoint's training state, once the checkpoint is in place.
std::pair<json, TrainingState> resumed_run(const Options& o, const std::vector<std::string>& given) {
  for (const std::string& flag : given)
    if (std::find(kResumeFlags.begin(), kResumeFlags.end(), flag) == kResumeFlags.end())
      throw std::invalid_argument(fmt::format(
          "{} cannot be given with --resume: the run continues as {}/config.json says (with --resume only "
          "--epochs, --lr, --max-grad-norm, --threads, --checkpoint-every, --keep-checkpoints and --data)", flag, o.resume));
  const fs::path dir = o.resume;
  json config = programs::read_run_config(dir);
  if (dist::is_root()) programs::take_over_run(dir);
  dist::barrier();
  TrainingState state = load_training_state(dir / "checkpoint");
  json& t = config["training"];
  const std::size_t done = state.info.at("epoch").get<std::size_t>() - (state.info.at("in_epoch").get<bool>() ? 1 : 0);
  if (has(given, "--epochs")) {
    if (o.epochs < done)
      throw std::invalid_argument(fmt::format("--epochs {} is fewer than the {} the run has trained", o.epochs, done));
    t["epochs"] = o.epochs;
  }
  if (done >= t.at("epochs").get<std::size_t>() && fs::exists(dir / "final.json"))
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
programs::RunData run_data(const json& config) {
  return programs::load_run_data(config.at("data").at("dir").get<std::string>(), config.at("data").at("limit"),
                                 programs::training_options(config.at("training")).binarize);
}

// Trains the run that config (written to dir/config.json) describes on rd, its data, from
// scratch or on from `resumed`.
int train(const fs::path& dir, const json& config, const programs::RunData& rd, const TrainingState* resumed) {
  const vae::ModelConfig mc = vae::model_config_from_json(config.at("model"));
  const json& t = config.at("training");
  const vae::TrainOptions training = programs::training_options(t);
  const std::size_t epochs = t.at("epochs"), every = config.value("checkpoint_every", std::size_t(1));
  const bool dequantize = training.dequantize;
  const data::ImageSet& train_set = rd.dataset.train;
  if (train_set.count != config["data"].value("train_count", train_set.count))
    throw std::invalid_argument(fmt::format("{}: the data folder has other training images than the run's", dir.string()));
  blas::set_threads(t.value("threads", 1));

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
    try {
      trainer.restore(*resumed);
      const json& run = resumed->info.at("run");
      metrics_so_far = run.at("metrics");
      train_seconds = run.at("train_seconds");
      trained = run.at("trained");
    } catch (const std::exception& e) {  // json's or the trainer's
      fail(checkpoint, e.what());
    }
    std::string lines;
    for (const json& m : metrics_so_far) lines += m.dump() + "\n";
    if (root) support::write_text_atomic(dir / "metrics.jsonl", lines);  // drops epochs after the checkpoint
  }
  std::optional<support::JsonLines> metrics;
  if (root) metrics.emplace(dir / "metrics.jsonl", !resumed);
  const std::string loss_name =
      !mc.variational() ? "squared error"
      : mc.has_sigma()  ? fmt::format("gaussian likelihood, {} sigma^2", vae::name(mc.sigma))
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
  std::size_t keep = resumed ? config.value("keep_checkpoints", std::size_t(2)) : 1;
  auto save = [&](const std::string& where) {
    TrainingState state = trainer.state();
    state.info["run"] = {{"metrics", metrics_so_far}, {"train_seconds", train_seconds}, {"trained", trained}};
    if (root) save_checkpoint(checkpoint, model.params(), meta, &state, keep);
    keep = config.value("keep_checkpoints", std::size_t(2));
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
    vae::EvalResult r = vae::evaluate(model, rd.test, programs::eval_options(dequantize));
    bar->finish(fmt::format("train {:.2f}  test {:.2f} (rec {:.2f} + kl {:.2f}){}", s.loss, r.nelbo, r.rec,
                           r.kl, mc.has_sigma() ? fmt::format("  sigma^2 {:.4g}", r.sigma2) : ""));
    json line = programs::eval_json(r, mc.input_dim, dequantize);
    line.update({{"epoch", e}, {"train_loss", s.loss}, {"train_rec", s.rec}, {"train_kl", s.kl},
                 {"images_per_second", s.images_per_second}, {"seconds", s.seconds}});
    if (dist::size() > 1) line.update({{"ranks", dist::size()}, {"allreduce_seconds", s.reduce_seconds}});
    metrics_so_far.push_back(line);
    if (root) metrics->append(line);
    if (e % every == 0 || e == epochs || stop) save(fmt::format("after epoch {}", e));
    if (stop) return stopped();
  }

  vae::EvalResult r = vae::evaluate(model, rd.test, programs::eval_options(dequantize, config.at("eval").value("iw_samples", std::size_t(0))));
  json final = programs::eval_json(r, mc.input_dim, dequantize);
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
    return train(o.resume, config, run_data(config), &state);
  }
  check_new_run_flags(o, given);
  const programs::RunData rd = programs::load_run_data(o.data, o.limit, programs::parse_binarize(o.binarize));
  return train(o.out, new_run_config(o, rd, given), rd, nullptr);
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
  std::string kinds;
  for (const vae::KindInfo& k : vae::kinds()) kinds += fmt::format("\n  {}: {}", k.name, k.help);
  cmd.option("--model", o.model, "the model kind:" + kinds);
  cmd.option("--likelihood", o.likelihood, "p(x|z) of a VAE: gaussian | bernoulli");
  cmd.option("--sigma", o.sigma, "Gaussian noise model: learned | per-pixel | optimal | fixed");
  cmd.option("--sigma2", o.sigma2, "sigma^2 of --sigma fixed");
  cmd.option("--lambda", o.lambda, "weight of ||E(x)||^2 in the regularized AE");
  cmd.option("--condition", o.condition,
                 "where --model cvae sees the label: encoder-decoder | decoder | embedding | prior");
  cmd.option("--embedding", o.embedding, "label embedding width of --condition embedding");
  cmd.option("--dequantize", o.dequantize,
             "none | uniform: x = (v + u) / 256, u ~ U(0, 1) afresh each batch (the test set once, with a fixed "
             "seed); default uniform for a Gaussian likelihood on greyscale images, none otherwise");
  cmd.option("--binarize", o.binarize, "none | static | dynamic (training images; the test set is binarized once)");
  cmd.option("--arch", o.arch,
             "networks: mlp (widths from --hidden) | conv (28x28 images: convolutions 32, 64, then 256; "
             "the decoder mirrors them with transposed convolutions)");
  cmd.option("--hidden", o.hidden, "hidden widths of --arch mlp, a comma list (the decoder mirrors them; default 400)");
  cmd.option("--latent", o.latent, "dimension of z (default: 20 for mlp, 32 for conv, 100 for hvae)");
  cmd.option("--hidden2", o.hidden2, "hvae: hidden widths of q(z2|z), mirrored by p(z|z2)");
  cmd.option("--latent2", o.latent2, "hvae: dimension of z2 (two stochastic layers)");
  cmd.option("--latents", o.latents, "hvae: the widths of z, z2, z3, ... (e.g. 100,50,20: three stochastic layers)");
  for (const vae::KindSetting& s : vae::all_kind_settings())
    cmd.option("--" + s.name, o.settings[s.name], fmt::format("a setting of --model {} (default {})", s.kinds, s.default_value));
  cmd.option("--free-bits", o.free_bits,
             "ELBO: nats of KL per latent dimension that are free (Kingma et al. 2016): a dimension whose batch-mean "
             "KL is below them gets no gradient from it (0: none)");
  cmd.option("--activation", o.activation, "an element-wise op of the list: relu (default; tanh for hvae), tanh, elu, swish, ...");
  cmd.option("--epochs", o.epochs, "passes over the training set (with --resume: the total to reach)");
  cmd.option("--batch", o.batch, "images per step (under mpirun: the global batch, split over the ranks)").range(1, 65536);
  cmd.option("--batch-per-rank", o.batch_per_rank,
             "under mpirun -np N: B images per rank and step (a global batch of N B) at a learning rate of "
             "--lr x sqrt(N) (Adam's square-root rule; --lr is the rate of a batch of B)").range(0, 65536);
  cmd.option("--lr", o.lr, "Adam learning rate");
  cmd.option("--objective", o.objective,
             "elbo | iwae (the importance-weighted bound of Burda et al. with --k samples of z per image)");
  cmd.option("--k", o.k, "samples per image of --objective iwae (1: the ELBO)").range(0, 10000);
  cmd.option("--beta", o.beta, "weight of the KL term (of log q - log p in the iwae bound)");
  cmd.option("--warmup", o.warmup, "epochs of linear KL warm-up (0: none)");
  cmd.option("--max-grad-norm,--clip", o.clip, "clip gradients to this global norm (0: none)");
  cmd.option("--seed", o.seed, "seed of initialisation, batch order, noise");
  cmd.option("--threads", o.threads, "OpenBLAS threads").range(1, 256);
  cmd.option("--data", o.data, data::data_help);
  cmd.option("--limit", o.limit, "use the first N training images (0: all)");
  cmd.option("--iw", o.iw, "importance samples K for the final -log p(x) estimate (0: skip)").range(0, 100000);
  cmd.option("--checkpoint-every", o.checkpoint_every,
             "write checkpoint/ every N epochs (and before the first, after the last, and when stopped)");
  cmd.option("--keep-checkpoints", o.keep_checkpoints,
             "whole checkpoints to keep: checkpoint/ and the N-1 before it (checkpoint.1, ...), the fallback when one is damaged").range(1, 1000);
  cmd.option("--out", o.out, "run folder to write (a new run)");
  cmd.option("--resume", o.resume, "continue the run in this folder from its latest checkpoint");
  return support::run_main(cmd, argc, argv, [&] { return run(o, cmd.given()); });
}
