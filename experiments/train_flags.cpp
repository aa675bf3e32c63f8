#include "experiments/train_flags.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "autodiff/blas.hpp"
#include "autodiff/layers.hpp"
#include "datasets/load.hpp"
#include "distributed/comm.hpp"
#include "experiments/run/resume.hpp"
#include "vae/networks.hpp"
#include "vae/registry.hpp"
#include "vae/train.hpp"

namespace vk::programs {

using nlohmann::json;

namespace {

// What a resumed run may change: how long and how fast it trains, not what it is.
const std::vector<std::string> kResumeFlags = {"--resume", "--epochs", "--lr", "--max-grad-norm", "--threads",
                                               "--checkpoint-every", "--keep-checkpoints", "--data"};

bool has(const std::vector<std::string>& given, const char* flag) {
  return std::find(given.begin(), given.end(), flag) != given.end();
}

}  // namespace

void check_new_run_flags(const TrainFlags& o, const std::vector<std::string>& given) {
  if (o.out.empty()) throw std::invalid_argument("--out DIR (a new run) or --resume DIR (continue one) is required");
  if (o.epochs == 0) throw std::invalid_argument("--epochs must be at least 1");
  if (!(o.lr > 0)) throw std::invalid_argument("--lr must be positive");
  if (!(o.clip >= 0)) throw std::invalid_argument("--max-grad-norm must be positive (0: no clipping)");
  if (o.checkpoint_every == 0) throw std::invalid_argument("--checkpoint-every must be at least 1 (epochs)");
  if (!(o.beta >= 0)) throw std::invalid_argument("--beta must be non-negative");
  if (has(given, "--latent") && o.latent == 0) throw std::invalid_argument("--latent must be at least 1");
  const bool logistic = vae::parse_likelihood(o.likelihood) == vae::LikelihoodKind::logistic;
  for (const char* flag : {"--sigma", "--sigma2"})
    if (logistic && has(given, flag))
      throw std::invalid_argument(fmt::format("{} is the Gaussian noise model's; --likelihood logistic has none (each "
                                              "pixel's scale is the decoder's)", flag));
  if (!logistic && has(given, "--logistic-mixture"))
    throw std::invalid_argument("--logistic-mixture is for --likelihood logistic");
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

json new_run_config(const TrainFlags& o, const RunData& rd, const std::vector<std::string>& given) {
  vae::ModelConfig mc;
  mc.kind = o.model;
  const vae::KindInfo& kind = vae::kind_info(mc.kind);
  mc.likelihood = vae::parse_likelihood(o.likelihood);
  mc.sigma = vae::parse_sigma(o.sigma);
  mc.fixed_sigma2 = o.sigma2;
  mc.logistic_mixture = o.logistic_mixture;
  mc.lambda = o.lambda;
  mc.architecture = vae::parse_architecture(o.arch);
  const bool conv = mc.architecture == vae::Architecture::conv;
  if (conv && !o.hidden.empty()) throw std::invalid_argument("--hidden is for --arch mlp; conv has fixed widths");
  // Each kind's defaults (an hvae's are Burda et al.'s networks: 784-100-100-z(100), 100-50-50-z2(50), tanh).
  mc.hidden = conv ? std::vector<std::size_t>{} : parse_widths(!o.hidden.empty() ? o.hidden : kind.hidden);
  mc.latent = o.latent ? o.latent : conv ? vae::conv_default_latent : kind.latent;
  mc.hidden2 = parse_widths(o.hidden2);
  if (!o.latents.empty()) {
    const std::vector<std::size_t> widths = parse_widths(o.latents, "--latents");
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
  const data::Binarize binarize = parse_binarize(o.binarize);
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
  // Greyscale images as a density's data need dequantizing; the AEs' squared error, the
  // Bernoulli likelihood and the discretized logistic take the pixels as they are unless asked.
  const bool dequantize = o.dequantize.empty() ? (mc.has_sigma() || mc.exact_density()) && binarize == data::Binarize::none
                                               : parse_dequantize(o.dequantize);
  // --batch-per-rank B: N ranks step on N B images at once, with Adam's square-root rule
  // lr sqrt(N) (Malladi et al. 2022): --lr is the rate of one rank's batch of B.
  const std::size_t ranks = std::size_t(dist::size());
  const std::size_t batch = o.batch_per_rank ? o.batch_per_rank * ranks : o.batch;
  const double lr = o.batch_per_rank ? o.lr * std::sqrt(double(ranks)) : o.lr;
  if (batch > 65536) throw std::invalid_argument(fmt::format("--batch-per-rank {} on {} ranks is a global batch over 65536", o.batch_per_rank, ranks));
  vae::TrainOptions training{.batch = batch, .lr = lr, .seed = o.seed, .binarize = binarize,
                                   .dequantize = dequantize,
                                   .beta = o.beta, .warmup_epochs = o.warmup, .clip = o.clip,
                                   .bound = vae::parse_bound(o.objective), .k = o.k, .free_bits = o.free_bits,
                                   .lr_schedule = vae::parse_lr_schedule(o.lr_schedule), .schedule_epochs = o.epochs,
                                   .ema = o.ema};
  training.split = o.split == "auto" ? vae::auto_split(training, mc, o.threads) : vae::parse_split(o.split);
  vae::validate_training(training, mc);
  json training_config = training_json(training, o.epochs, o.threads);
  training_config["precision"] = blas::name(blas::parse_precision(o.precision));
  if (o.batch_per_rank)
    training_config.update({{"batch_per_rank", o.batch_per_rank}, {"ranks", ranks}, {"lr_per_rank", o.lr}});
  json config = run_config(mc, training_config, o.data, rd, o.limit, o.iw);
  config["checkpoint_every"] = o.checkpoint_every;
  config["keep_checkpoints"] = o.keep_checkpoints;
  return config;
}

void check_resume_flags(const TrainFlags& o, const std::vector<std::string>& given) {
  for (const std::string& flag : given)
    if (std::find(kResumeFlags.begin(), kResumeFlags.end(), flag) == kResumeFlags.end())
      throw std::invalid_argument(fmt::format(
          "{} cannot be given with --resume: the run continues as {}/config.json says (with --resume only "
          "--epochs, --lr, --max-grad-norm, --threads, --checkpoint-every, --keep-checkpoints and --data)", flag, o.resume));
}

void declare_train_flags(support::Command& cmd, TrainFlags& o) {
  std::string kinds;
  for (const vae::KindInfo& k : vae::kinds()) kinds += fmt::format("\n  {}: {}", k.name, k.help);
  cmd.option("--model", o.model, "the model kind:" + kinds);
  cmd.option("--likelihood", o.likelihood,
             "p(x|z) of a VAE: gaussian | bernoulli | logistic (the discretized logistic of the 8-bit pixels: a "
             "location and a log-scale per pixel; bits/dim of the 8-bit data without dequantizing)");
  cmd.option("--logistic-mixture", o.logistic_mixture,
             "components of --likelihood logistic per pixel (a mixture of K discretized logistics)").range(1, 32);
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
  cmd.option("--lr-schedule", o.lr_schedule, "constant | cosine (from --lr to 0 over the run's --epochs)");
  cmd.option("--ema", o.ema,
             "evaluate and sample with the parameters' exponential moving average of this decay, e.g. 0.999 "
             "(0: the last step's parameters)");
  cmd.option("--objective", o.objective,
             "elbo | iwae (the importance-weighted bound of Burda et al. with --k samples of z per image)");
  cmd.option("--k", o.k, "samples per image of --objective iwae (1: the ELBO)").range(0, 10000);
  cmd.option("--beta", o.beta, "weight of the KL term (of log q - log p in the iwae bound)");
  cmd.option("--warmup", o.warmup, "epochs of linear KL warm-up (0: none)");
  cmd.option("--max-grad-norm,--clip", o.clip, "clip gradients to this global norm (0: none)");
  cmd.option("--seed", o.seed, "seed of initialisation, batch order, noise");
  cmd.option("--threads", o.threads, "OpenBLAS threads").range(1, 256);
  cmd.option("--split", o.split,
             "how a step uses --threads: ops (each op over the threads) | batch (a shard of the batch per thread, "
             "each on a copy of the model; the gradients summed in shard order) | auto (batch on 2 or more threads, "
             "ops with --free-bits or --sigma optimal; config.json records which)");
  cmd.option("--precision", o.precision,
             "float | bf16: the products of linear layers and im2col convolutions on bfloat16 operands with float "
             "sums, through oneDNN (weights, Adam and densities stay float; on CPUs with bf16 instructions; each "
             "product then allocates inside oneDNN, so not the default)");
  cmd.option("--data", o.data, data::data_help);
  cmd.option("--limit", o.limit, "use the first N training images (0: all)");
  cmd.option("--iw", o.iw, "importance samples K for the final -log p(x) estimate (0: skip)").range(0, 100000);
  cmd.option("--checkpoint-every", o.checkpoint_every,
             "write checkpoint/ every N epochs (and before the first, after the last, and when stopped)");
  cmd.option("--keep-checkpoints", o.keep_checkpoints,
             "whole checkpoints to keep: checkpoint/ and the N-1 before it (checkpoint.1, ...), the fallback when one is damaged").range(1, 1000);
  cmd.option("--out", o.out, "run folder to write (a new run)");
  cmd.option("--resume", o.resume, "continue the run in this folder from its latest checkpoint");
}

}  // namespace vk::programs
